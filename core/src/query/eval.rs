//! Running a compiled match specification on one object: head matching, guards, bodies.

use std::cmp::Ordering;

use super::compile::{Clause, Expr, Filter, MatchSpec, Pat};
use super::functions::Fun;
use crate::term::{self, ArrayElements, Term};

/// What a spec made of one object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// No clause matched.
    NoMatch,
    /// A clause matched; its body gave this term.
    Matched(Term),
}

/// A guard or body function failed on its arguments (ETS's badarg).
#[derive(Debug)]
struct Badarg;

type Eval<T> = Result<T, Badarg>;

impl MatchSpec {
    /// Runs the spec on `object`: the first clause whose head matches and whose guards all give
    /// `true` gives the result of its body.
    pub(crate) fn run(&self, object: &Term) -> Outcome {
        let mut slots: Vec<Option<&Term>> = Vec::new();
        for clause in self.clauses.iter() {
            slots.clear();
            slots.resize(clause.slots, None);
            if !matches(&clause.head, object, &mut slots) {
                continue;
            }
            let guard_env = Env {
                object,
                slots: &slots,
                in_body: false,
            };
            if !guards_pass(clause, &guard_env) {
                continue;
            }
            let env = Env {
                in_body: true,
                ..guard_env
            };
            let mut result = Term::atom("EXIT");
            for expr in &clause.body {
                result = env.eval(expr).unwrap_or_else(|Badarg| Term::atom("EXIT"));
            }
            return Outcome::Matched(result);
        }
        Outcome::NoMatch
    }

    /// Whether the spec's head and guards accept `object`, without evaluating a body (for
    /// specs whose bodies are `'$_'`).
    pub(crate) fn accepts(&self, object: &Term) -> bool {
        let mut slots: Vec<Option<&Term>> = Vec::new();
        self.clauses.iter().any(|clause| {
            slots.clear();
            slots.resize(clause.slots, None);
            matches(&clause.head, object, &mut slots)
                && guards_pass(
                    clause,
                    &Env {
                        object,
                        slots: &slots,
                        in_body: false,
                    },
                )
        })
    }

    /// Whether some clause's head may match the object whose canonical encoding is `bytes`,
    /// judged from the encoding alone (array arities and literals without maps): `false` only
    /// if none can, so that a walk need not decode the object to find out.
    pub(crate) fn may_match(&self, bytes: &[u8]) -> bool {
        self.clauses.iter().any(|c| passes(&c.filter, bytes))
    }
}

fn passes(filter: &Filter, bytes: &[u8]) -> bool {
    match filter {
        Filter::Any => true,
        Filter::Bytes(literal) => **literal == *bytes,
        Filter::Tuple(filters) => ArrayElements::new(bytes).is_some_and(|elements| {
            elements.len() == filters.len()
                && filters.iter().zip(elements).all(|(f, e)| passes(f, e))
        }),
    }
}

fn guards_pass(clause: &Clause, env: &Env<'_>) -> bool {
    clause
        .guards
        .iter()
        .all(|g| matches!(env.eval(g), Ok(Term::Bool(true))))
}

/// Exact equality (Erlang's `=:=`): integers and floats differ, `0.0` and `-0.0` differ.
pub(crate) fn exact_eq(a: &Term, b: &Term) -> bool {
    match (a, b) {
        (Term::Float(x), Term::Float(y)) => x.to_bits() == y.to_bits(),
        (Term::Int(x), Term::UInt(y)) | (Term::UInt(y), Term::Int(x)) => {
            i128::from(*x) == i128::from(*y)
        }
        (Term::Array(x), Term::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| exact_eq(p, q))
        }
        (Term::Map(x), Term::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.iter().any(|(k2, v2)| exact_eq(k, k2) && exact_eq(v, v2)))
        }
        _ => a == b,
    }
}

/// Matches `term` against `pat`, binding `slots`.
fn matches<'a>(pat: &Pat, term: &'a Term, slots: &mut [Option<&'a Term>]) -> bool {
    match pat {
        Pat::Any => true,
        Pat::Bind(n) => {
            slots[*n] = Some(term);
            true
        }
        Pat::Check(n) => slots[*n].is_some_and(|bound| exact_eq(bound, term)),
        Pat::Lit(lit) => exact_eq(lit, term),
        Pat::Tuple(pats) => match term {
            Term::Array(items) if items.len() == pats.len() => pats
                .iter()
                .zip(items)
                .all(|(p, item)| matches(p, item, slots)),
            _ => false,
        },
        Pat::Map(pats) => match term {
            Term::Map(pairs) => pats.iter().all(|(key, p)| {
                pairs
                    .iter()
                    .find(|(k, _)| exact_eq(k, key))
                    .is_some_and(|(_, v)| matches(p, v, slots))
            }),
            _ => false,
        },
    }
}

/// Term order (Erlang's `<`, `==`...) on decoded terms.
pub(crate) fn compare_terms(a: &Term, b: &Term) -> Ordering {
    match (a.to_msgpack(), b.to_msgpack()) {
        (Ok(x), Ok(y)) => term::compare(&x, &y),
        // Terms here come from stored objects or from checked arithmetic: always encodable.
        _ => Ordering::Equal,
    }
}

/// A number, for arithmetic.
#[derive(Clone, Copy)]
enum Num {
    Int(i128),
    Float(f64),
}

fn num(t: &Term) -> Eval<Num> {
    match *t {
        Term::Int(i) => Ok(Num::Int(i128::from(i))),
        Term::UInt(u) => Ok(Num::Int(i128::from(u))),
        Term::Float(f) => Ok(Num::Float(f)),
        _ => Err(Badarg),
    }
}

fn int(t: &Term) -> Eval<i128> {
    match *t {
        Term::Int(i) => Ok(i128::from(i)),
        Term::UInt(u) => Ok(i128::from(u)),
        _ => Err(Badarg),
    }
}

/// An integer result, if the term model can hold it (`i64::MIN..=u64::MAX`).
fn int_term(v: i128) -> Eval<Term> {
    if let Ok(i) = i64::try_from(v) {
        Ok(Term::Int(i))
    } else if let Ok(u) = u64::try_from(v) {
        Ok(Term::UInt(u))
    } else {
        Err(Badarg)
    }
}

/// A float result, if finite (Erlang raises badarith otherwise).
fn float_term(v: f64) -> Eval<Term> {
    if v.is_finite() {
        Ok(Term::Float(v))
    } else {
        Err(Badarg)
    }
}

fn as_f64(n: Num) -> f64 {
    match n {
        Num::Int(i) => i as f64,
        Num::Float(f) => f,
    }
}

fn arith(
    a: &Term,
    b: &Term,
    int_op: fn(i128, i128) -> Option<i128>,
    float_op: fn(f64, f64) -> f64,
) -> Eval<Term> {
    match (num(a)?, num(b)?) {
        (Num::Int(x), Num::Int(y)) => int_term(int_op(x, y).ok_or(Badarg)?),
        (x, y) => float_term(float_op(as_f64(x), as_f64(y))),
    }
}

fn boolean(t: &Term) -> Eval<bool> {
    match t {
        Term::Bool(b) => Ok(*b),
        _ => Err(Badarg),
    }
}

fn shift_left(x: i128, n: i128) -> Option<i128> {
    if n < 0 {
        return Some(shift_right(x, n.checked_neg()?));
    }
    if x == 0 {
        return Some(0);
    }
    let n = u32::try_from(n).ok().filter(|n| *n < 127)?;
    let r = x.checked_shl(n)?;
    (r >> n == x).then_some(r)
}

fn shift_right(x: i128, n: i128) -> i128 {
    if n < 0 {
        return shift_left(x, -n).unwrap_or(if x < 0 { i128::MIN } else { i128::MAX });
    }
    x >> n.min(127) as u32
}

struct Env<'a> {
    object: &'a Term,
    slots: &'a [Option<&'a Term>],
    /// In a body, a call that fails gives the atom 'EXIT' in its place and evaluation goes on
    /// (as in ETS: `{{'$1', {'+', a, 1}}}` gives `{X, 'EXIT'}`); in a guard it fails the guard.
    in_body: bool,
}

impl Env<'_> {
    fn eval(&self, expr: &Expr) -> Eval<Term> {
        Ok(match expr {
            Expr::Const(t) => t.clone(),
            Expr::Var(n) => self.slots[*n].ok_or(Badarg)?.clone(),
            Expr::Object => self.object.clone(),
            Expr::Bindings => Term::Array(
                self.slots
                    .iter()
                    .map(|s| s.cloned().ok_or(Badarg))
                    .collect::<Eval<_>>()?,
            ),
            Expr::Tuple(items) => {
                Term::Array(items.iter().map(|e| self.eval(e)).collect::<Eval<_>>()?)
            }
            Expr::Map(pairs) => Term::Map(
                pairs
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), self.eval(v)?)))
                    .collect::<Eval<_>>()?,
            ),
            Expr::Call(fun, args) => match self.call(*fun, args) {
                Err(Badarg) if self.in_body => Term::atom("EXIT"),
                result => result?,
            },
        })
    }

    fn call(&self, fun: Fun, args: &[Expr]) -> Eval<Term> {
        use Fun::*;
        // Short-circuit operators evaluate their arguments lazily.
        match fun {
            AndAlso | OrElse => {
                let stop = fun == OrElse;
                for (i, arg) in args.iter().enumerate() {
                    let value = self.eval(arg)?;
                    if i + 1 == args.len() {
                        return Ok(value);
                    }
                    if boolean(&value)? == stop {
                        return Ok(Term::Bool(stop));
                    }
                }
                unreachable!("andalso/orelse have at least one argument")
            }
            _ => {}
        }
        let values = args
            .iter()
            .map(|a| self.eval(a))
            .collect::<Eval<Vec<Term>>>()?;
        let v = |i: usize| &values[i];
        let b = Term::Bool;
        Ok(match fun {
            IsAtom => b(v(0).as_atom().is_some()),
            IsFloat => b(matches!(v(0), Term::Float(_))),
            IsInteger => b(matches!(v(0), Term::Int(_) | Term::UInt(_))),
            IsNumber => b(matches!(
                v(0),
                Term::Int(_) | Term::UInt(_) | Term::Float(_)
            )),
            IsBoolean => b(matches!(v(0), Term::Bool(_))),
            IsTuple => b(matches!(v(0), Term::Array(_))),
            IsMap => b(matches!(v(0), Term::Map(_))),
            IsBinary => b(matches!(v(0), Term::Str(_) | Term::Bin(_))),
            AlwaysFalse => b(false),
            IsMapKey => match v(1) {
                Term::Map(pairs) => b(pairs.iter().any(|(k, _)| exact_eq(k, v(0)))),
                _ => return Err(Badarg),
            },
            And => b(boolean(v(0))? & boolean(v(1))?),
            Or => b(boolean(v(0))? | boolean(v(1))?),
            Xor => b(boolean(v(0))? ^ boolean(v(1))?),
            Not => b(!boolean(v(0))?),
            ExactEq => b(exact_eq(v(0), v(1))),
            ExactNe => b(!exact_eq(v(0), v(1))),
            Eq => b(compare_terms(v(0), v(1)).is_eq()),
            Ne => b(compare_terms(v(0), v(1)).is_ne()),
            Lt => b(compare_terms(v(0), v(1)).is_lt()),
            Le => b(compare_terms(v(0), v(1)).is_le()),
            Gt => b(compare_terms(v(0), v(1)).is_gt()),
            Ge => b(compare_terms(v(0), v(1)).is_ge()),
            Add => arith(v(0), v(1), i128::checked_add, |x, y| x + y)?,
            Sub => arith(v(0), v(1), i128::checked_sub, |x, y| x - y)?,
            Mul => arith(v(0), v(1), i128::checked_mul, |x, y| x * y)?,
            Neg => match num(v(0))? {
                Num::Int(i) => int_term(-i)?,
                Num::Float(f) => Term::Float(-f),
            },
            Plus => {
                num(v(0))?;
                v(0).clone()
            }
            FDiv => {
                let (x, y) = (as_f64(num(v(0))?), as_f64(num(v(1))?));
                if y == 0.0 {
                    return Err(Badarg);
                }
                float_term(x / y)?
            }
            Div => {
                let (x, y) = (int(v(0))?, int(v(1))?);
                int_term(x.checked_div(y).ok_or(Badarg)?)?
            }
            Rem => {
                let (x, y) = (int(v(0))?, int(v(1))?);
                int_term(x.checked_rem(y).ok_or(Badarg)?)?
            }
            Band => int_term(int(v(0))? & int(v(1))?)?,
            Bor => int_term(int(v(0))? | int(v(1))?)?,
            Bxor => int_term(int(v(0))? ^ int(v(1))?)?,
            Bsl => int_term(shift_left(int(v(0))?, int(v(1))?).ok_or(Badarg)?)?,
            Bsr => int_term(shift_right(int(v(0))?, int(v(1))?))?,
            Bnot => int_term(!int(v(0))?)?,
            Abs => match num(v(0))? {
                Num::Int(i) => int_term(i.abs())?,
                Num::Float(f) => Term::Float(f.abs()),
            },
            Float => float_term(as_f64(num(v(0))?))?,
            Trunc | Round => match num(v(0))? {
                Num::Int(i) => int_term(i)?,
                Num::Float(f) => {
                    let r = if fun == Trunc { f.trunc() } else { f.round() };
                    // Every float of magnitude below 2^100 converts to i128 exactly.
                    if r.abs() >= 1e30 {
                        return Err(Badarg);
                    }
                    int_term(r as i128)?
                }
            },
            Element => {
                let n = int(v(0))?;
                match v(1) {
                    Term::Array(items) if n >= 1 && n <= items.len() as i128 => {
                        items[n as usize - 1].clone()
                    }
                    _ => return Err(Badarg),
                }
            }
            Size => match v(0) {
                Term::Array(items) => Term::from(items.len()),
                Term::Str(s) => Term::from(s.len()),
                Term::Bin(bytes) => Term::from(bytes.len()),
                _ => return Err(Badarg),
            },
            TupleSize => match v(0) {
                Term::Array(items) => Term::from(items.len()),
                _ => return Err(Badarg),
            },
            ByteSize | BitSize => {
                let len = match v(0) {
                    Term::Str(s) => s.len(),
                    Term::Bin(bytes) => bytes.len(),
                    _ => return Err(Badarg),
                };
                Term::from(if fun == BitSize { len * 8 } else { len })
            }
            MapSize => match v(0) {
                Term::Map(pairs) => Term::from(pairs.len()),
                _ => return Err(Badarg),
            },
            MapGet => match v(1) {
                Term::Map(pairs) => pairs
                    .iter()
                    .find(|(k, _)| exact_eq(k, v(0)))
                    .map(|(_, value)| value.clone())
                    .ok_or(Badarg)?,
                _ => return Err(Badarg),
            },
            Max => {
                if compare_terms(v(0), v(1)).is_lt() {
                    v(1).clone()
                } else {
                    v(0).clone()
                }
            }
            Min => {
                if compare_terms(v(1), v(0)).is_lt() {
                    v(1).clone()
                } else {
                    v(0).clone()
                }
            }
            ListOnly => return Err(Badarg),
            AndAlso | OrElse => unreachable!("handled above"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuple;

    fn a(x: &str) -> Term {
        Term::atom(x)
    }

    fn arr(items: Vec<Term>) -> Term {
        Term::Array(items)
    }

    fn spec(head: Term, guards: Vec<Term>, body: Vec<Term>) -> MatchSpec {
        MatchSpec::compile(&arr(vec![arr(vec![head, arr(guards), arr(body)])])).unwrap()
    }

    fn call(name: &str, args: Vec<Term>) -> Term {
        let mut items = vec![a(name)];
        items.extend(args);
        arr(items)
    }

    /// The filter on encodings never turns away an object a head matches, and turns away the
    /// objects whose arity or literals differ: every head of a small set of patterns (literals
    /// of every kind, nested tuples, maps, variables, `'_'`) against every object of a small
    /// set (the same values, integers and floats that compare equal, signed zeros, other
    /// arities).
    #[test]
    fn the_encoding_filter_is_never_stricter_than_the_head() {
        let map = |k: &str, v: Term| Term::Map(vec![(Term::from(k), v)]);
        let values = vec![
            Term::from(1),
            Term::UInt(1),
            Term::Float(1.0),
            Term::Float(0.0),
            Term::Float(-0.0),
            Term::from(-5),
            Term::from(300),
            Term::from("x"),
            a("x"),
            Term::Bin(vec![1, 2]),
            tuple!(1, "x"),
            tuple!(1.0, "x"),
            map("k", Term::from(1)),
            map("k", Term::Float(1.0)),
            Term::Nil,
            Term::Bool(true),
        ];
        let mut objects = Vec::new();
        for v in &values {
            objects.push(tuple!(v.clone()));
            for w in &values {
                objects.push(tuple!(v.clone(), w.clone()));
                objects.push(tuple!(v.clone(), tuple!(w.clone(), 7)));
            }
        }
        let mut heads = vec![a("_"), tuple!(a("_")), tuple!(a("$1"), a("$1"))];
        for v in &values {
            heads.push(tuple!(v.clone()));
            heads.push(tuple!(v.clone(), a("_")));
            heads.push(tuple!(a("$1"), v.clone()));
            heads.push(tuple!(a("_"), tuple!(v.clone(), a("$2"))));
            heads.push(tuple!(a("_"), tuple!(a("_"), 7)));
            heads.push(tuple!(a("_"), map("k", a("$3"))));
        }
        let (mut turned_away, mut matched) = (0, 0);
        for head in &heads {
            let s = spec(head.clone(), vec![], vec![a("$_")]);
            for object in &objects {
                let bytes = object.to_msgpack().unwrap();
                let may = s.may_match(&bytes);
                if s.run(object) != Outcome::NoMatch {
                    matched += 1;
                    assert!(
                        may,
                        "{head} matches {object}, but its filter turned it away"
                    );
                } else if !may {
                    turned_away += 1;
                }
            }
        }
        // The filter does turn objects away (most pairs here cannot match).
        assert!(matched > 0 && turned_away > objects.len() * heads.len() / 2);
    }

    #[test]
    fn repeated_variables_must_be_exactly_equal() {
        let s = spec(tuple!(a("$1"), a("$1")), vec![], vec![a("$1")]);
        assert_eq!(s.run(&tuple!(1, 1)), Outcome::Matched(Term::Int(1)));
        assert_eq!(s.run(&tuple!(1, 1.0)), Outcome::NoMatch);
        assert_eq!(s.run(&tuple!(0.0, -0.0)), Outcome::NoMatch);
        assert_eq!(s.run(&tuple!(1, 1, 1)), Outcome::NoMatch);
    }

    #[test]
    fn nested_patterns_and_bindings_in_variable_order() {
        let s = spec(
            tuple!(a("$2"), tuple!(a("_"), a("$1")), "x"),
            vec![],
            vec![a("$$")],
        );
        assert_eq!(
            s.run(&tuple!(5, tuple!(6, 7), "x")),
            Outcome::Matched(tuple!(7, 5))
        );
        assert_eq!(s.run(&tuple!(5, tuple!(6, 7), "y")), Outcome::NoMatch);
    }

    #[test]
    fn a_failing_guard_means_no_match_and_the_next_clause_is_tried() {
        let clause = |guard: Term, result: i64| {
            arr(vec![
                a("$1"),
                arr(vec![guard]),
                arr(vec![Term::Int(result)]),
            ])
        };
        let s = MatchSpec::compile(&arr(vec![
            clause(
                call(
                    ">",
                    vec![call("element", vec![Term::Int(9), a("$1")]), Term::Int(0)],
                ),
                1,
            ),
            clause(call("is_tuple", vec![a("$1")]), 2),
        ]))
        .unwrap();
        assert_eq!(s.run(&tuple!(1, 2)), Outcome::Matched(Term::Int(2)));
    }

    #[test]
    fn bodies_construct_terms_and_a_failing_body_gives_exit() {
        let s = spec(
            tuple!(a("$1"), a("$2")),
            vec![],
            vec![arr(vec![tuple!(
                a("$2"),
                call("const", vec![tuple!(1, 2)]),
                call("+", vec![a("$1"), Term::Int(1)]),
                a("$_")
            )])],
        );
        assert_eq!(
            s.run(&tuple!(1, "k")),
            Outcome::Matched(tuple!("k", tuple!(1, 2), 2, tuple!(1, "k")))
        );
        // A failing call in a body gives 'EXIT' in its place.
        assert_eq!(
            s.run(&tuple!("x", "k")),
            Outcome::Matched(tuple!("k", tuple!(1, 2), a("EXIT"), tuple!("x", "k")))
        );
    }

    #[test]
    fn guard_functions_follow_erlang() {
        let eval = |expr: Term| match spec(a("$1"), vec![], vec![expr]).run(&tuple!(7, -2.5, "ab"))
        {
            Outcome::Matched(t) => t,
            Outcome::NoMatch => panic!("no match"),
        };
        let e1 = || call("element", vec![Term::Int(1), a("$1")]);
        let e2 = || call("element", vec![Term::Int(2), a("$1")]);
        assert_eq!(eval(call("+", vec![e1(), e2()])), Term::Float(4.5));
        assert_eq!(eval(call("div", vec![e1(), Term::Int(2)])), Term::Int(3));
        assert_eq!(
            eval(call("rem", vec![Term::Int(-7), Term::Int(2)])),
            Term::Int(-1)
        );
        assert_eq!(eval(call("div", vec![e1(), Term::Int(0)])), a("EXIT"));
        assert_eq!(eval(call("abs", vec![e2()])), Term::Float(2.5));
        assert_eq!(eval(call("round", vec![e2()])), Term::Int(-3));
        assert_eq!(eval(call("trunc", vec![e2()])), Term::Int(-2));
        assert_eq!(eval(call("size", vec![a("$1")])), Term::Int(3));
        assert_eq!(
            eval(call(
                "byte_size",
                vec![call("element", vec![Term::Int(3), a("$1")])]
            )),
            Term::Int(2)
        );
        assert_eq!(
            eval(call("==", vec![Term::Int(1), Term::Float(1.0)])),
            Term::Bool(true)
        );
        assert_eq!(
            eval(call("=:=", vec![Term::Int(1), Term::Float(1.0)])),
            Term::Bool(false)
        );
        assert_eq!(
            eval(call("<", vec![Term::Int(1), a("a")])),
            Term::Bool(true)
        );
        assert_eq!(
            eval(call("max", vec![Term::Int(1), Term::Float(1.0)])),
            Term::Int(1)
        );
        assert_eq!(
            eval(call("bsl", vec![Term::Int(1), Term::Int(62)])),
            Term::Int(1 << 62)
        );
        assert_eq!(
            eval(call("bsl", vec![Term::Int(1), Term::Int(64)])),
            a("EXIT")
        );
        assert_eq!(
            eval(call("*", vec![Term::Int(i64::MAX), Term::Int(2)])),
            Term::UInt(u64::MAX - 1)
        );
        assert_eq!(eval(call("hd", vec![a("$1")])), a("EXIT"));
        assert_eq!(
            eval(call(
                "andalso",
                vec![Term::Bool(false), call("hd", vec![a("$1")])]
            )),
            Term::Bool(false)
        );
        assert_eq!(
            eval(call("andalso", vec![Term::Int(1), Term::Bool(true)])),
            a("EXIT")
        );
        assert_eq!(eval(call("is_atom", vec![Term::Nil])), Term::Bool(true));
        assert_eq!(
            eval(call("is_binary", vec![Term::from("s")])),
            Term::Bool(true)
        );
        assert_eq!(eval(call("not", vec![Term::Int(1)])), a("EXIT"));
    }
}
