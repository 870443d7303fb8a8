//! select_replace's rule: a replacement keeps the key.

use super::compile::{Expr, MatchSpec, Pat};
use super::eval::exact_eq;
use crate::error::{Error, Result};
use crate::term::Term;

/// Whether `expr` always builds the same term as `pat` matched (variables for variables,
/// equal constants for literals, tuples element by element).
fn builds_same(pat: &Pat, expr: &Expr) -> bool {
    match (pat, expr) {
        (Pat::Bind(n) | Pat::Check(n), Expr::Var(m)) => n == m,
        (Pat::Lit(t), Expr::Const(c)) => exact_eq(t, c),
        (Pat::Lit(Term::Array(items)), Expr::Tuple(exprs)) => {
            items.len() == exprs.len()
                && items
                    .iter()
                    .zip(exprs)
                    .all(|(t, e)| builds_same(&Pat::Lit(t.clone()), e))
        }
        (Pat::Tuple(pats), Expr::Tuple(exprs)) => {
            pats.len() == exprs.len() && pats.iter().zip(exprs).all(|(p, e)| builds_same(p, e))
        }
        _ => false,
    }
}

impl MatchSpec {
    /// Checks, before anything changes, that every clause keeps the key at `keypos` (as ETS's
    /// select_replace requires): its body is one expression, `'$_'` or a tuple construction
    /// whose element at `keypos` rebuilds the head's key exactly.
    pub(crate) fn check_keeps_key(&self, keypos: usize) -> Result<()> {
        for (i, clause) in self.clauses.iter().enumerate() {
            let keeps = match clause.body.as_slice() {
                [Expr::Object] => true,
                [Expr::Tuple(items)] => match &clause.head {
                    Pat::Tuple(pats) => match (pats.get(keypos - 1), items.get(keypos - 1)) {
                        (Some(p), Some(e)) => builds_same(p, e),
                        _ => false,
                    },
                    Pat::Lit(Term::Array(terms)) => {
                        match (terms.get(keypos - 1), items.get(keypos - 1)) {
                            (Some(t), Some(e)) => builds_same(&Pat::Lit(t.clone()), e),
                            _ => false,
                        }
                    }
                    _ => false,
                },
                _ => false,
            };
            if !keeps {
                return Err(Error::BadMatchSpec(format!(
                    "clause {}: select_replace needs a body that keeps the key at position \
                     {keypos} ('$_', or a tuple with the head's key there)",
                    i + 1
                )));
            }
        }
        Ok(())
    }
}
