//! A builder that reads well for match specifications; it writes the same term a spec written
//! by hand would be, so [`Spec::to_term`] is what ETS would take.
//!
//! ```
//! use rets_core::query::{Expr, Pat, Spec};
//! // ETS: [{{'$1', '_', '$2'}, [{'andalso', {is_integer, '$2'}, {'>=', '$2', 18}}], ['$1']}]
//! let adults = Spec::new()
//!     .clause(Pat::tuple([Pat::var(1), Pat::any(), Pat::var(2)]))
//!     .guard(Expr::andalso([Expr::is_integer(Expr::var(2)), Expr::ge(Expr::var(2), 18)]))
//!     .body(Expr::var(1))
//!     .compile()?;
//! # Ok::<(), rets_core::Error>(())
//! ```

use super::compile::MatchSpec;
use crate::error::Result;
use crate::term::Term;

/// A head pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pat(Term);

impl Pat {
    /// `'_'`: matches anything.
    pub fn any() -> Pat {
        Pat(Term::atom("_"))
    }

    /// `'$n'`: binds on its first occurrence, must be equal on the next.
    pub fn var(n: u32) -> Pat {
        Pat(Term::atom(&format!("${n}")))
    }

    /// A literal term (matched exactly). Atoms `'_'` and `'$N'` inside it are still variables,
    /// as in ETS.
    pub fn lit(term: impl Into<Term>) -> Pat {
        Pat(term.into())
    }

    /// A tuple (array) of patterns.
    pub fn tuple(items: impl IntoIterator<Item = Pat>) -> Pat {
        Pat(Term::Array(items.into_iter().map(|p| p.0).collect()))
    }

    /// A map that has at least these keys, whose values match these patterns.
    pub fn map(entries: impl IntoIterator<Item = (Term, Pat)>) -> Pat {
        Pat(Term::Map(
            entries.into_iter().map(|(k, p)| (k, p.0)).collect(),
        ))
    }

    /// The pattern as a term.
    pub fn into_term(self) -> Term {
        self.0
    }
}

/// A guard or body expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr(Term);

impl<T: Into<Term>> From<T> for Expr {
    /// A constant.
    fn from(value: T) -> Expr {
        Expr::constant(value)
    }
}

macro_rules! unary {
    ($($(#[$doc:meta])* $name:ident => $erl:literal),* $(,)?) => {$(
        $(#[$doc])*
        pub fn $name(a: impl Into<Expr>) -> Expr {
            Expr::call($erl, [a.into()])
        }
    )*};
}

macro_rules! binary {
    ($($(#[$doc:meta])* $name:ident => $erl:literal),* $(,)?) => {$(
        $(#[$doc])*
        pub fn $name(a: impl Into<Expr>, b: impl Into<Expr>) -> Expr {
            Expr::call($erl, [a.into(), b.into()])
        }
    )*};
}

impl Expr {
    /// `'$_'`: the whole object.
    pub fn object() -> Expr {
        Expr(Term::atom("$_"))
    }

    /// `'$$'`: the head's variables, in variable order, as an array.
    pub fn bindings() -> Expr {
        Expr(Term::atom("$$"))
    }

    /// `'$n'`.
    pub fn var(n: u32) -> Expr {
        Expr(Term::atom(&format!("${n}")))
    }

    /// A constant: written `{const, X}` when X would otherwise be read as an expression (an
    /// array, a map, or an atom that names a variable).
    pub fn constant(value: impl Into<Term>) -> Expr {
        let value = value.into();
        let plain = match &value {
            Term::Array(_) | Term::Map(_) => false,
            Term::Atom(a) => !(a.starts_with('$') || a == "_"),
            _ => true,
        };
        if plain {
            Expr(value)
        } else {
            Expr(Term::Array(vec![Term::atom("const"), value]))
        }
    }

    /// `{{E1, ..., En}}`: builds a tuple (array).
    pub fn tuple(items: impl IntoIterator<Item = Expr>) -> Expr {
        Expr(Term::Array(vec![Term::Array(
            items.into_iter().map(|e| e.0).collect(),
        )]))
    }

    /// `{Name, Args...}`: calls a guard function by its ETS name (see
    /// [`crate::query::functions`]).
    pub fn call(name: &str, args: impl IntoIterator<Item = Expr>) -> Expr {
        let mut items = vec![Term::atom(name)];
        items.extend(args.into_iter().map(|e| e.0));
        Expr(Term::Array(items))
    }

    /// `{'andalso', ...}`.
    pub fn andalso(args: impl IntoIterator<Item = Expr>) -> Expr {
        Expr::call("andalso", args)
    }

    /// `{'orelse', ...}`.
    pub fn orelse(args: impl IntoIterator<Item = Expr>) -> Expr {
        Expr::call("orelse", args)
    }

    unary! {
        /// `{'not', A}`.
        not => "not",
        /// `{is_integer, A}`.
        is_integer => "is_integer",
        /// `{is_float, A}`.
        is_float => "is_float",
        /// `{is_number, A}`.
        is_number => "is_number",
        /// `{is_atom, A}`.
        is_atom => "is_atom",
        /// `{is_tuple, A}`.
        is_tuple => "is_tuple",
        /// `{is_binary, A}`.
        is_binary => "is_binary",
        /// `{is_map, A}`.
        is_map => "is_map",
        /// `{abs, A}`.
        abs => "abs",
        /// `{size, A}`.
        size => "size",
    }

    binary! {
        /// `{'=:=', A, B}`.
        exact_eq => "=:=",
        /// `{'=/=', A, B}`.
        exact_ne => "=/=",
        /// `{'==', A, B}`.
        eq => "==",
        /// `{'/=', A, B}`.
        ne => "/=",
        /// `{'<', A, B}`.
        lt => "<",
        /// `{'=<', A, B}`.
        le => "=<",
        /// `{'>', A, B}`.
        gt => ">",
        /// `{'>=', A, B}`.
        ge => ">=",
        /// `{'+', A, B}`.
        add => "+",
        /// `{'-', A, B}`.
        sub => "-",
        /// `{'*', A, B}`.
        mul => "*",
        /// `{'and', A, B}`.
        and => "and",
        /// `{'or', A, B}`.
        or => "or",
        /// `{element, N, T}`.
        element => "element",
    }

    /// The expression as a term.
    pub fn into_term(self) -> Term {
        self.0
    }
}

/// A match specification under construction: [`Spec::clause`] starts a clause, then
/// [`Spec::guard`] and [`Spec::body`] add to it.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    clauses: Vec<(Term, Vec<Term>, Vec<Term>)>,
}

impl Spec {
    /// An empty spec (matches nothing).
    pub fn new() -> Spec {
        Spec::default()
    }

    /// Starts a clause with this head.
    pub fn clause(mut self, head: Pat) -> Spec {
        self.clauses.push((head.0, Vec::new(), Vec::new()));
        self
    }

    /// Adds a guard to the current clause (all guards must give `true`). Before any clause,
    /// starts one with head `'_'`.
    pub fn guard(mut self, guard: impl Into<Expr>) -> Spec {
        self.current().1.push(guard.into().0);
        self
    }

    /// Adds a body expression to the current clause (the last one gives the result). Before
    /// any clause, starts one with head `'_'`.
    pub fn body(mut self, expr: impl Into<Expr>) -> Spec {
        self.current().2.push(expr.into().0);
        self
    }

    fn current(&mut self) -> &mut (Term, Vec<Term>, Vec<Term>) {
        if self.clauses.is_empty() {
            self.clauses.push((Term::atom("_"), Vec::new(), Vec::new()));
        }
        self.clauses.last_mut().expect("one clause at least")
    }

    /// The spec as a term: `[{Head, [Guard], [Body]}]`.
    pub fn to_term(&self) -> Term {
        Term::Array(
            self.clauses
                .iter()
                .map(|(head, guards, body)| {
                    Term::Array(vec![
                        head.clone(),
                        Term::Array(guards.clone()),
                        Term::Array(body.clone()),
                    ])
                })
                .collect(),
        )
    }

    /// Compiles the spec.
    pub fn compile(&self) -> Result<MatchSpec> {
        MatchSpec::compile(&self.to_term())
    }
}
