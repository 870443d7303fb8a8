//! Which objects a spec can match, from the keys its heads allow: a fully bound key is one
//! lookup, a partially bound key on an ordered_set is one range, anything else a scan.

use super::compile::{MatchSpec, Pat};
use crate::object::Key;
use crate::term::{self, Term};

/// Where a spec's candidates are.
#[derive(Debug, Clone)]
pub(crate) enum Plan {
    /// Every clause binds the whole key: only these keys (canonical, distinct).
    Keys(Vec<Key>),
    /// ordered_set, every clause's key a tuple of `arity` elements whose first ones are bound to
    /// `prefix`: the keys from `lower` (the least such tuple) on, while they are such tuples.
    Range {
        arity: usize,
        prefix: Vec<Vec<u8>>,
        lower: Key,
    },
    /// Every object.
    Scan,
}

/// What one clause says about the key.
enum KeyShape {
    /// The clause can match no object (its head is shorter than the key position, or its key
    /// cannot be a key).
    Nothing,
    Exact(Key),
    Prefix {
        arity: usize,
        prefix: Vec<Term>,
    },
    Any,
}

fn key_shape(head: &Pat, keypos: usize) -> KeyShape {
    let pat = match head {
        Pat::Tuple(items) => match items.get(keypos - 1) {
            Some(p) => p,
            None => return KeyShape::Nothing,
        },
        Pat::Lit(Term::Array(items)) => match items.get(keypos - 1) {
            Some(t) => return Key::new(t.clone()).map_or(KeyShape::Nothing, KeyShape::Exact),
            None => return KeyShape::Nothing,
        },
        Pat::Lit(_) => return KeyShape::Nothing,
        _ => return KeyShape::Any,
    };
    match pat {
        Pat::Lit(t) => Key::new(t.clone()).map_or(KeyShape::Nothing, KeyShape::Exact),
        Pat::Tuple(items) => {
            let prefix: Vec<Term> = items
                .iter()
                .map_while(|p| match p {
                    Pat::Lit(t) => Some(t.clone()),
                    _ => None,
                })
                .collect();
            KeyShape::Prefix {
                arity: items.len(),
                prefix,
            }
        }
        _ => KeyShape::Any,
    }
}

impl MatchSpec {
    /// The plan for a table whose key is at `keypos`; ranges only on an ordered_set.
    pub(crate) fn plan(&self, keypos: usize, ordered: bool) -> Plan {
        let mut keys: Vec<Key> = Vec::new();
        let mut range: Option<(usize, Vec<Term>)> = None;
        for clause in self.clauses.iter() {
            match key_shape(&clause.head, keypos) {
                KeyShape::Nothing => {}
                KeyShape::Exact(k) => {
                    if !keys.contains(&k) {
                        keys.push(k);
                    }
                }
                KeyShape::Prefix { arity, prefix } if ordered => match &range {
                    None => range = Some((arity, prefix)),
                    Some(r) if *r == (arity, prefix.clone()) => {}
                    Some(_) => return Plan::Scan,
                },
                KeyShape::Prefix { .. } | KeyShape::Any => return Plan::Scan,
            }
        }
        match range {
            None => {
                if ordered {
                    keys.sort_by(|a, b| term::compare(a.as_msgpack(), b.as_msgpack()));
                    keys.dedup_by(|a, b| term::compare(a.as_msgpack(), b.as_msgpack()).is_eq());
                }
                Plan::Keys(keys)
            }
            // Exact keys beside a range: the range alone does not cover them.
            Some(_) if !keys.is_empty() => Plan::Scan,
            Some((arity, prefix)) => {
                let mut lower = prefix.clone();
                lower.resize(arity, Term::Float(f64::NEG_INFINITY));
                match Key::new(Term::Array(lower)) {
                    Ok(lower) => Plan::Range {
                        arity,
                        prefix: prefix
                            .iter()
                            .map(|t| t.to_msgpack().expect("a part of a key encodes"))
                            .collect(),
                        lower,
                    },
                    Err(_) => Plan::Scan,
                }
            }
        }
    }
}

impl Plan {
    /// On a [`Plan::Range`]: whether `key` (canonical) is in the range.
    pub(crate) fn in_range(&self, key: &[u8]) -> bool {
        let Plan::Range { arity, prefix, .. } = self else {
            return true;
        };
        let Some(mut elements) = term::ArrayElements::new(key) else {
            return false;
        };
        elements.len() == *arity
            && prefix
                .iter()
                .all(|p| elements.next().is_some_and(|e| term::compare(p, e).is_eq()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuple;

    fn spec(heads: Vec<Term>) -> MatchSpec {
        MatchSpec::compile(&Term::Array(
            heads
                .into_iter()
                .map(|h| {
                    Term::Array(vec![
                        h,
                        Term::Array(vec![]),
                        Term::Array(vec![Term::atom("$_")]),
                    ])
                })
                .collect(),
        ))
        .unwrap()
    }

    #[test]
    fn bound_keys_are_lookups_and_prefixes_ranges() {
        let v = |n: &str| Term::atom(n);
        let s = spec(vec![tuple!(1, v("_")), tuple!(2, v("$1"))]);
        assert!(matches!(s.plan(1, false), Plan::Keys(k) if k.len() == 2));
        let s = spec(vec![tuple!(tuple!("a", v("_")), v("_"))]);
        assert!(
            matches!(s.plan(1, true), Plan::Range { arity: 2, ref prefix, .. } if prefix.len() == 1)
        );
        assert!(matches!(s.plan(1, false), Plan::Scan));
        assert!(matches!(s.plan(2, true), Plan::Scan));
        let s = spec(vec![tuple!(v("_"))]);
        assert!(matches!(s.plan(2, false), Plan::Keys(k) if k.is_empty()));
        let s = spec(vec![v("$1")]);
        assert!(matches!(s.plan(1, true), Plan::Scan));
    }

    #[test]
    fn in_range_checks_arity_and_prefix_by_compare_equal() {
        let s = spec(vec![tuple!(tuple!(1, Term::atom("_")))]);
        let plan = s.plan(1, true);
        let k = |t: Term| t.to_msgpack().unwrap();
        assert!(plan.in_range(&k(tuple!(1, "z"))));
        assert!(plan.in_range(&k(tuple!(1.0, "z"))));
        assert!(!plan.in_range(&k(tuple!(2, "z"))));
        assert!(!plan.in_range(&k(tuple!(1, "z", 3))));
        assert!(!plan.in_range(&k(Term::Int(1))));
    }
}
