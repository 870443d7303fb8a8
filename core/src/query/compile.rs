//! Compiling a match specification term into clauses ready to run.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::functions::{self, Fun};
use super::limits;
use crate::error::{Error, Result};
use crate::term::{self, Term};

/// A pattern: a head or part of one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Pat {
    /// `'_'`.
    Any,
    /// The first occurrence of a variable: binds slot `n`.
    Bind(usize),
    /// A later occurrence: must equal slot `n` exactly.
    Check(usize),
    /// A term with no variable, compared exactly.
    Lit(Term),
    /// An array whose elements match these patterns.
    Tuple(Vec<Pat>),
    /// A map that has these keys, with values matching these patterns.
    Map(Vec<(Term, Pat)>),
}

/// What a head requires of an object's encoding, checked on the stored bytes before the object
/// is decoded (`MatchSpec::may_match`): never stricter than the head, so an object it turns
/// away cannot match.
#[derive(Debug, Clone)]
pub(crate) enum Filter {
    /// Anything: a variable, `'_'`, a map pattern, or a literal holding a map.
    Any,
    /// These bytes exactly: a literal without a map, whose canonical encoding is the only one
    /// of every term exactly equal to it (integers have one form whatever their type, floats
    /// keep their bits, as exact equality does).
    Bytes(Box<[u8]>),
    /// An array of as many elements, each passing its filter.
    Tuple(Vec<Filter>),
}

impl Filter {
    pub(crate) fn of(pat: &Pat) -> Filter {
        match pat {
            Pat::Any | Pat::Bind(_) | Pat::Check(_) | Pat::Map(_) => Filter::Any,
            Pat::Lit(t) if !has_map(t) => t
                .to_msgpack()
                .map_or(Filter::Any, |bytes| Filter::Bytes(bytes.into())),
            Pat::Lit(_) => Filter::Any,
            Pat::Tuple(pats) => Filter::Tuple(pats.iter().map(Filter::of).collect()),
        }
    }
}

fn has_map(t: &Term) -> bool {
    match t {
        Term::Map(_) => true,
        Term::Array(items) => items.iter().any(has_map),
        _ => false,
    }
}

/// An expression of a guard or body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Const(Term),
    Var(usize),
    /// `'$_'`.
    Object,
    /// `'$$'`.
    Bindings,
    Tuple(Vec<Expr>),
    Map(Vec<(Term, Expr)>),
    Call(Fun, Vec<Expr>),
}

/// One compiled clause.
#[derive(Debug, Clone)]
pub(crate) struct Clause {
    pub(crate) head: Pat,
    /// What the head requires of an object's encoding, checked before decoding it.
    pub(crate) filter: Filter,
    /// Number of variable slots the head binds.
    pub(crate) slots: usize,
    pub(crate) guards: Vec<Expr>,
    pub(crate) body: Vec<Expr>,
}

/// A compiled match specification: compile once ([`MatchSpec::compile`],
/// [`MatchSpec::from_msgpack`], [`crate::query::Spec::compile`]), run on any table many times.
/// Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct MatchSpec {
    pub(crate) clauses: Arc<[Clause]>,
    source: Arc<Term>,
}

fn bad(message: impl Into<String>) -> Error {
    Error::BadMatchSpec(message.into())
}

/// `'$N'` → N.
fn variable(name: &str) -> Option<u32> {
    let digits = name.strip_prefix('$')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return None;
    }
    digits.parse().ok()
}

impl MatchSpec {
    /// Compiles a match specification given as a term (see [`crate::query`]).
    pub fn compile(spec: &Term) -> Result<MatchSpec> {
        // A round trip through the canonical encoding normalises integers, atoms and maps, and
        // applies the term model's limits (depth, size).
        let bytes = spec.to_msgpack()?;
        Self::from_canonical(&bytes)
    }

    /// Compiles a match specification encoded as MessagePack (any conforming encoding).
    pub fn from_msgpack(bytes: &[u8]) -> Result<MatchSpec> {
        let canonical = term::to_canonical(bytes)?;
        Self::from_canonical(&canonical)
    }

    fn from_canonical(bytes: &[u8]) -> Result<MatchSpec> {
        let spec = term::decode(bytes)?;
        let Term::Array(clauses) = &spec else {
            return Err(bad(format!(
                "a match specification is an array of clauses, not {}",
                spec.kind_name()
            )));
        };
        if clauses.len() > limits::MAX_CLAUSES {
            return Err(bad(format!(
                "{} clauses, over the limit of {}",
                clauses.len(),
                limits::MAX_CLAUSES
            )));
        }
        let compiled = clauses
            .iter()
            .enumerate()
            .map(|(i, c)| compile_clause(c).map_err(|e| bad(format!("clause {}: {e}", i + 1))))
            .collect::<Result<Vec<_>>>()?;
        Ok(MatchSpec {
            clauses: compiled.into(),
            source: Arc::new(spec),
        })
    }

    /// The spec for ETS `match/2`'s `pattern`: `[{Pattern, [], ['$$']}]`.
    pub fn from_pattern(pattern: &Term) -> Result<MatchSpec> {
        Self::compile(&Term::Array(vec![Term::Array(vec![
            pattern.clone(),
            Term::Array(vec![]),
            Term::Array(vec![Term::atom("$$")]),
        ])]))
    }

    /// The spec for ETS `match_object/2` and `match_delete/2`: `[{Pattern, [], ['$_']}]`.
    pub fn from_object_pattern(pattern: &Term) -> Result<MatchSpec> {
        Self::compile(&Term::Array(vec![Term::Array(vec![
            pattern.clone(),
            Term::Array(vec![]),
            Term::Array(vec![Term::atom("$_")]),
        ])]))
    }

    /// The specification as a term (canonical: integers, atoms and maps normalised).
    pub fn to_term(&self) -> Term {
        (*self.source).clone()
    }
}

fn compile_clause(clause: &Term) -> std::result::Result<Clause, String> {
    let parts = match clause {
        Term::Array(parts) if parts.len() == 3 => parts,
        other => {
            return Err(format!(
                "a clause is an array of three (head, guards, body), not {}",
                describe(other)
            ))
        }
    };
    // Variables get slots in ascending order of their numbers, which is the order of '$$'.
    let mut numbers = BTreeMap::new();
    collect_variables(&parts[0], &mut numbers);
    if numbers.len() > limits::MAX_VARIABLES_PER_CLAUSE {
        return Err(format!(
            "{} variables, over the limit of {}",
            numbers.len(),
            limits::MAX_VARIABLES_PER_CLAUSE
        ));
    }
    for n in numbers.keys() {
        if *n > limits::MAX_VARIABLE {
            return Err(format!(
                "variable '${n}' is over the limit of '${}'",
                limits::MAX_VARIABLE
            ));
        }
    }
    for (slot, value) in numbers.values_mut().enumerate() {
        *value = slot;
    }
    let head = match &parts[0] {
        Term::Array(_) => {
            let mut seen = vec![false; numbers.len()];
            pattern(&parts[0], &numbers, &mut seen)
        }
        Term::Atom(a) if a == "_" || variable(a).is_some() => {
            let mut seen = vec![false; numbers.len()];
            pattern(&parts[0], &numbers, &mut seen)
        }
        other => {
            return Err(format!(
                "the head must be an array (tuple), '_' or a variable, not {}",
                describe(other)
            ))
        }
    };
    let Term::Array(guards) = &parts[1] else {
        return Err(format!(
            "the guards must be an array, not {}",
            describe(&parts[1])
        ));
    };
    let Term::Array(body) = &parts[2] else {
        return Err(format!(
            "the body must be an array, not {}",
            describe(&parts[2])
        ));
    };
    if body.is_empty() {
        return Err("the body is empty".into());
    }
    let guards = guards
        .iter()
        .map(|g| expression(g, &numbers))
        .collect::<std::result::Result<_, _>>()?;
    let body = body
        .iter()
        .map(|b| expression(b, &numbers))
        .collect::<std::result::Result<_, _>>()?;
    Ok(Clause {
        filter: Filter::of(&head),
        head,
        slots: numbers.len(),
        guards,
        body,
    })
}

fn describe(t: &Term) -> String {
    let text = t.to_string();
    if text.chars().count() > 60 {
        format!("{}...", text.chars().take(57).collect::<String>())
    } else {
        text
    }
}

fn collect_variables(t: &Term, into: &mut BTreeMap<u32, usize>) {
    match t {
        Term::Atom(a) => {
            if let Some(n) = variable(a) {
                into.insert(n, 0);
            }
        }
        Term::Array(items) => items.iter().for_each(|i| collect_variables(i, into)),
        Term::Map(pairs) => pairs.iter().for_each(|(_, v)| collect_variables(v, into)),
        _ => {}
    }
}

fn has_variables(t: &Term) -> bool {
    match t {
        Term::Atom(a) => a == "_" || variable(a).is_some(),
        Term::Array(items) => items.iter().any(has_variables),
        Term::Map(pairs) => pairs.iter().any(|(_, v)| has_variables(v)),
        _ => false,
    }
}

fn pattern(t: &Term, slots: &BTreeMap<u32, usize>, seen: &mut [bool]) -> Pat {
    if !has_variables(t) {
        return Pat::Lit(t.clone());
    }
    match t {
        Term::Atom(a) if a == "_" => Pat::Any,
        Term::Atom(a) => {
            let slot = slots[&variable(a).expect("has_variables said so")];
            if std::mem::replace(&mut seen[slot], true) {
                Pat::Check(slot)
            } else {
                Pat::Bind(slot)
            }
        }
        Term::Array(items) => Pat::Tuple(items.iter().map(|i| pattern(i, slots, seen)).collect()),
        Term::Map(pairs) => Pat::Map(
            pairs
                .iter()
                .map(|(k, v)| (k.clone(), pattern(v, slots, seen)))
                .collect(),
        ),
        _ => unreachable!("has_variables is false for scalars"),
    }
}

fn expression(t: &Term, slots: &BTreeMap<u32, usize>) -> std::result::Result<Expr, String> {
    Ok(match t {
        Term::Atom(a) if a == "$_" => Expr::Object,
        Term::Atom(a) if a == "$$" => Expr::Bindings,
        Term::Atom(a) if a == "_" => {
            return Err("'_' is not allowed in a guard or body".into());
        }
        Term::Atom(a) => match variable(a) {
            Some(n) => match slots.get(&n) {
                Some(&slot) => Expr::Var(slot),
                None => return Err(format!("variable '${n}' is not bound by the head")),
            },
            None => Expr::Const(t.clone()),
        },
        Term::Array(items) => match items.as_slice() {
            [] => return Err("an empty array is not an expression (write {const, {}})".into()),
            [Term::Array(elements)] => Expr::Tuple(
                elements
                    .iter()
                    .map(|e| expression(e, slots))
                    .collect::<std::result::Result<_, _>>()?,
            ),
            [Term::Atom(c), value] if c == "const" => Expr::Const(value.clone()),
            [Term::Atom(name), args @ ..] => {
                let fun = functions::lookup(name, args.len())?;
                Expr::Call(
                    fun,
                    args.iter()
                        .map(|a| expression(a, slots))
                        .collect::<std::result::Result<_, _>>()?,
                )
            }
            _ => {
                return Err(format!(
                    "{} is not an expression: an array must be {{const, X}}, {{{{...}}}} or \
                     {{Function, Args...}}",
                    describe(t)
                ))
            }
        },
        Term::Map(pairs) => Expr::Map(
            pairs
                .iter()
                .map(|(k, v)| Ok((k.clone(), expression(v, slots)?)))
                .collect::<std::result::Result<_, String>>()?,
        ),
        other => Expr::Const(other.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(x: &str) -> Term {
        Term::atom(x)
    }

    fn arr(items: Vec<Term>) -> Term {
        Term::Array(items)
    }

    #[test]
    fn variables_get_slots_in_number_order_and_repeats_are_checks() {
        let spec = arr(vec![arr(vec![
            arr(vec![a("$3"), a("$1"), a("$3"), a("_"), Term::Int(7)]),
            arr(vec![]),
            arr(vec![a("$$")]),
        ])]);
        let ms = MatchSpec::compile(&spec).unwrap();
        assert_eq!(
            ms.clauses[0].head,
            Pat::Tuple(vec![
                Pat::Bind(1),
                Pat::Bind(0),
                Pat::Check(1),
                Pat::Any,
                Pat::Lit(Term::Int(7))
            ])
        );
    }

    #[test]
    fn invalid_specs_are_clear_errors() {
        let cases: Vec<(Term, &str)> = vec![
            (Term::Int(1), "array of clauses"),
            (
                arr(vec![Term::Int(1)]),
                "clause 1: a clause is an array of three",
            ),
            (
                arr(vec![arr(vec![
                    Term::Int(1),
                    arr(vec![]),
                    arr(vec![a("$_")]),
                ])]),
                "the head must be",
            ),
            (
                arr(vec![arr(vec![a("_"), arr(vec![]), arr(vec![])])]),
                "the body is empty",
            ),
            (
                arr(vec![arr(vec![a("_"), arr(vec![]), arr(vec![a("$1")])])]),
                "variable '$1' is not bound",
            ),
            (
                arr(vec![arr(vec![
                    a("$1"),
                    arr(vec![arr(vec![a("frobnicate"), a("$1")])]),
                    arr(vec![a("$_")]),
                ])]),
                "unknown function 'frobnicate'/1",
            ),
            (
                arr(vec![arr(vec![
                    a("$1"),
                    arr(vec![arr(vec![a("element"), a("$1")])]),
                    arr(vec![a("$_")]),
                ])]),
                "'element' takes 2 argument(s), not 1",
            ),
            (
                arr(vec![arr(vec![
                    a("$1"),
                    arr(vec![]),
                    arr(vec![arr(vec![Term::Int(1), Term::Int(2)])]),
                ])]),
                "is not an expression",
            ),
            (
                arr(vec![arr(vec![
                    a("$1"),
                    arr(vec![]),
                    arr(vec![arr(vec![a("self")])]),
                ])]),
                "not supported",
            ),
        ];
        for (spec, want) in cases {
            let err = MatchSpec::compile(&spec).unwrap_err().to_string();
            assert!(err.contains(want), "{spec}: {err}");
            assert!(err.starts_with("bad match specification"), "{err}");
        }
    }

    #[test]
    fn variable_names_are_strict() {
        assert_eq!(variable("$0"), Some(0));
        assert_eq!(variable("$12"), Some(12));
        assert_eq!(variable("$012"), None);
        assert_eq!(variable("$"), None);
        assert_eq!(variable("$1a"), None);
        assert_eq!(variable("$99999999999"), None);
    }
}
