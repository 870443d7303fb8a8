//! Match specifications: ETS's query language, compiled once and run per object.
//!
//! A match specification is a list of clauses `[{Head, [Guard], [Body]}]`. In the term model
//! lists and tuples are both MessagePack arrays, so a spec is an array of clauses, each clause
//! an array of three: the head (a pattern), an array of guards, an array of body expressions.
//! `'_'`, `'$1'`, `'$_'`, `'$$'` and the guard functions' names are atoms
//! ([`crate::term::atom`]), so a spec written for ETS translates one for one:
//!
//! ```
//! use rets_core::query::{MatchSpec, Spec, Pat, Expr};
//! use rets_core::Term;
//!
//! // ETS: [{{'$1', '$2', '_'}, [{'>', '$2', 10}], [{{'$1', '$2'}}]}]
//! let raw = Term::Array(vec![Term::Array(vec![
//!     Term::Array(vec![Term::atom("$1"), Term::atom("$2"), Term::atom("_")]),
//!     Term::Array(vec![Term::Array(vec![Term::atom(">"), Term::atom("$2"), Term::Int(10)])]),
//!     Term::Array(vec![Term::Array(vec![Term::Array(vec![Term::atom("$1"), Term::atom("$2")])])]),
//! ])]);
//! let from_term = MatchSpec::compile(&raw)?;
//!
//! // The same with the builder.
//! let built = Spec::new()
//!     .clause(Pat::tuple([Pat::var(1), Pat::var(2), Pat::any()]))
//!     .guard(Expr::gt(Expr::var(2), 10))
//!     .body(Expr::tuple([Expr::var(1), Expr::var(2)]))
//!     .compile()?;
//! assert_eq!(from_term.to_term(), built.to_term());
//! # Ok::<(), rets_core::Error>(())
//! ```
//!
//! # Semantics
//! - Heads: `'_'` matches anything; `'$N'` (N in 0..=[`limits::MAX_VARIABLE`]) binds on its
//!   first occurrence and must be *exactly* equal (`=:=`) on the next ones; anything else is a
//!   literal compared exactly; arrays and maps match element by element (a map pattern matches a
//!   map that has at least its keys; its keys are literals). A head must be an array, `'_'` or a
//!   variable.
//! - Guards are expressions that must all evaluate to the atom `true`. A guard that fails on an
//!   object (ETS's badarg: `element` out of range, arithmetic on a non-number, ...) makes that
//!   clause not match, and the next clause is tried.
//! - Bodies: the value of the last expression is the clause's result. A function call that
//!   fails in a body gives the atom `'EXIT'` in its place, as in ETS (`{{'$1', {'+', a, 1}}}`
//!   gives `{X, 'EXIT'}`).
//! - Expressions: `'$_'` (the object), `'$$'` (the bound variables, in variable order, as an
//!   array), `'$N'`, `{const, X}`, `{{E1, ..., En}}` (tuple construction), maps (values are
//!   expressions), `{Fun, Args...}` with the functions listed in [`functions`], and any other
//!   term as itself (except arrays, which must be one of the forms above).
//! - Errors found when compiling are [`crate::Error::BadMatchSpec`]: a clause that is not a
//!   3-array, an unknown function or one called with the wrong number of arguments, a variable
//!   used but not bound by the head, an empty body, a spec over the limits.
//!
//! # Differences from ETS (documented limits)
//! - Integers are 64-bit: arithmetic whose result leaves `i64` (ETS would make a bignum) fails
//!   like a badarg.
//! - There are no lists: `hd`, `tl` and `length` always fail (badarg) and `is_list` is false;
//!   `'$$'` and match/2 bindings are arrays where ETS has lists.
//! - `self`, `node`, `is_record`, `binary_part`, `get_tcw` and the tracing functions are
//!   rejected when compiling.
//! - str and bin are both binaries (`is_binary`, `byte_size`, `size`).
//!
//! # Limits
//! See [`limits`].

mod builder;
mod compile;
mod eval;
pub mod functions;
mod plan;
mod replace;

pub use builder::{Expr, Pat, Spec};
pub use compile::MatchSpec;

pub(crate) use eval::Outcome;
pub(crate) use plan::Plan;

/// Explicit limits on match specifications; exceeding one is
/// [`crate::Error::BadMatchSpec`] when compiling.
pub mod limits {
    /// The most clauses in one spec.
    pub const MAX_CLAUSES: usize = 4096;
    /// The largest `N` in a variable `'$N'` (ETS's limit as well).
    pub const MAX_VARIABLE: u32 = 100_000_000;
    /// The most distinct variables in one clause's head.
    pub const MAX_VARIABLES_PER_CLAUSE: usize = 65_536;
    /// Nesting depth of a spec is the term model's ([`crate::term::limits::MAX_DEPTH`], 128),
    /// so every spec that encodes can be compiled and evaluated without deep recursion.
    pub const MAX_DEPTH: usize = crate::term::limits::MAX_DEPTH;
}
