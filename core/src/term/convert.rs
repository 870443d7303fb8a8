//! `From` conversions into [`Term`] and the [`crate::tuple!`] macro, and `TryFrom` conversions
//! out of it.

use super::Term;

impl From<bool> for Term {
    fn from(v: bool) -> Term {
        Term::Bool(v)
    }
}

macro_rules! from_small_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Term {
            fn from(v: $t) -> Term {
                Term::Int(i64::from(v))
            }
        }
    )*};
}
from_small_int!(i8, i16, i32, i64, u8, u16, u32);

impl From<isize> for Term {
    fn from(v: isize) -> Term {
        // isize is at most 64 bits on every supported target.
        Term::Int(v as i64)
    }
}

impl From<u64> for Term {
    fn from(v: u64) -> Term {
        match i64::try_from(v) {
            Ok(i) => Term::Int(i),
            Err(_) => Term::UInt(v),
        }
    }
}

impl From<usize> for Term {
    fn from(v: usize) -> Term {
        // usize is at most 64 bits on every supported target.
        Term::from(v as u64)
    }
}

impl From<f32> for Term {
    fn from(v: f32) -> Term {
        Term::Float(f64::from(v))
    }
}

impl From<f64> for Term {
    fn from(v: f64) -> Term {
        Term::Float(v)
    }
}

impl From<&str> for Term {
    fn from(v: &str) -> Term {
        Term::Str(v.to_owned())
    }
}

impl From<String> for Term {
    fn from(v: String) -> Term {
        Term::Str(v)
    }
}

impl From<&String> for Term {
    fn from(v: &String) -> Term {
        Term::Str(v.clone())
    }
}

impl From<Vec<Term>> for Term {
    /// An array (tuple).
    fn from(v: Vec<Term>) -> Term {
        Term::Array(v)
    }
}

impl<T: Into<Term>> From<Option<T>> for Term {
    /// `None` is nil.
    fn from(v: Option<T>) -> Term {
        v.map_or(Term::Nil, Into::into)
    }
}

impl From<()> for Term {
    /// Nil.
    fn from(_: ()) -> Term {
        Term::Nil
    }
}

macro_rules! from_tuple {
    ($($name:ident),+) => {
        impl<$($name: Into<Term>),+> From<($($name,)+)> for Term {
            /// An array (tuple) of the elements, in order.
            #[allow(non_snake_case)]
            fn from(($($name,)+): ($($name,)+)) -> Term {
                Term::Array(vec![$($name.into()),+])
            }
        }
    };
}
from_tuple!(A);
from_tuple!(A, B);
from_tuple!(A, B, C);
from_tuple!(A, B, C, D);
from_tuple!(A, B, C, D, E);
from_tuple!(A, B, C, D, E, F);
from_tuple!(A, B, C, D, E, F, G);
from_tuple!(A, B, C, D, E, F, G, H);

impl Term {
    /// A bin (binary) term.
    pub fn bin(bytes: impl Into<Vec<u8>>) -> Term {
        Term::Bin(bytes.into())
    }

    /// A map term from key/value pairs (in any order; encoding sorts them, and fails on two
    /// exactly equal keys).
    pub fn map<K: Into<Term>, V: Into<Term>>(pairs: impl IntoIterator<Item = (K, V)>) -> Term {
        Term::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// The name of this term's kind, for messages: `"nil"`, `"bool"`, `"int"`, `"float"`,
    /// `"str"`, `"bin"`, `"atom"`, `"array"` or `"map"`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Term::Nil => "nil",
            Term::Bool(_) => "bool",
            Term::Int(_) | Term::UInt(_) => "int",
            Term::Float(_) => "float",
            Term::Str(_) => "str",
            Term::Bin(_) => "bin",
            Term::Atom(_) => "atom",
            Term::Array(_) => "array",
            Term::Map(_) => "map",
        }
    }
}

/// Builds an array term (an Erlang tuple) from expressions that each convert into a
/// [`Term`](crate::term::Term): `tuple!(1, "a", 2.5)` is
/// `Term::Array(vec![1.into(), "a".into(), 2.5.into()])`.
#[macro_export]
macro_rules! tuple {
    ($($elem:expr),* $(,)?) => {
        $crate::term::Term::Array(::std::vec![$($crate::term::Term::from($elem)),*])
    };
}

/// A [`Term`] was not of the kind (or range) a conversion out of it needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}, found {found}")]
pub struct TermTypeError {
    /// What the conversion needs, e.g. `"int in i64 range"`.
    pub expected: &'static str,
    /// The kind found (see [`Term::kind_name`]).
    pub found: &'static str,
}

macro_rules! try_from_term {
    ($t:ty, $expected:literal, |$term:ident| $get:expr) => {
        impl TryFrom<&Term> for $t {
            type Error = TermTypeError;
            fn try_from($term: &Term) -> Result<$t, TermTypeError> {
                $get.ok_or(TermTypeError {
                    expected: $expected,
                    found: $term.kind_name(),
                })
            }
        }

        impl TryFrom<Term> for $t {
            type Error = TermTypeError;
            fn try_from(term: Term) -> Result<$t, TermTypeError> {
                <$t>::try_from(&term)
            }
        }
    };
}
try_from_term!(i64, "int in i64 range", |t| t.as_i64());
try_from_term!(u64, "int in u64 range", |t| t.as_u64());
try_from_term!(f64, "float", |t| t.as_f64());
try_from_term!(bool, "bool", |t| t.as_bool());

impl TryFrom<&Term> for String {
    type Error = TermTypeError;
    fn try_from(term: &Term) -> Result<String, TermTypeError> {
        term.as_str().map(str::to_owned).ok_or(TermTypeError {
            expected: "str",
            found: term.kind_name(),
        })
    }
}

impl TryFrom<Term> for String {
    type Error = TermTypeError;
    fn try_from(term: Term) -> Result<String, TermTypeError> {
        match term {
            Term::Str(s) => Ok(s),
            other => Err(TermTypeError {
                expected: "str",
                found: other.kind_name(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_convert_into_terms() {
        assert_eq!(Term::from(true), Term::Bool(true));
        assert_eq!(Term::from(-5i8), Term::Int(-5));
        assert_eq!(Term::from(-5i16), Term::Int(-5));
        assert_eq!(Term::from(-5i32), Term::Int(-5));
        assert_eq!(Term::from(i64::MIN), Term::Int(i64::MIN));
        assert_eq!(Term::from(-5isize), Term::Int(-5));
        assert_eq!(Term::from(200u8), Term::Int(200));
        assert_eq!(Term::from(60000u16), Term::Int(60000));
        assert_eq!(Term::from(u32::MAX), Term::Int(i64::from(u32::MAX)));
        assert_eq!(Term::from(i64::MAX as u64), Term::Int(i64::MAX));
        assert_eq!(Term::from(u64::MAX), Term::UInt(u64::MAX));
        assert_eq!(Term::from(7usize), Term::Int(7));
        assert_eq!(Term::from(0.5f32), Term::Float(0.5));
        assert_eq!(Term::from(0.1f64), Term::Float(0.1));
        assert_eq!(Term::from("x"), Term::Str("x".to_owned()));
        assert_eq!(Term::from("y".to_owned()), Term::Str("y".to_owned()));
        assert_eq!(Term::from(&"z".to_owned()), Term::Str("z".to_owned()));
        assert_eq!(Term::from(()), Term::Nil);
        assert_eq!(Term::from(None::<i32>), Term::Nil);
        assert_eq!(Term::from(Some(3)), Term::Int(3));
        assert_eq!(Term::bin(b"ab"), Term::Bin(vec![b'a', b'b']));
        assert_eq!(Term::bin(vec![1u8]), Term::Bin(vec![1]));
        assert_eq!(Term::from(vec![Term::Nil]), Term::Array(vec![Term::Nil]));
    }

    #[test]
    fn tuples_and_the_macro_build_arrays() {
        assert_eq!(Term::from((1,)), Term::Array(vec![Term::Int(1)]));
        assert_eq!(
            Term::from((1, "a", 2.5)),
            Term::Array(vec![Term::Int(1), Term::from("a"), Term::Float(2.5)])
        );
        let eight = Term::from((1u8, 2i16, 3u32, 4i64, "5", 6.0f32, true, None::<u8>));
        assert_eq!(eight.as_array().unwrap().len(), 8);
        assert_eq!(eight.as_array().unwrap()[7], Term::Nil);
        assert_eq!(
            crate::tuple!(1, "a", 2.5),
            Term::Array(vec![1.into(), "a".into(), 2.5.into()])
        );
        assert_eq!(crate::tuple!(), Term::Array(vec![]));
        assert_eq!(
            crate::tuple!("k", crate::tuple!(1, 2),),
            Term::from(("k", (1, 2)))
        );
    }

    #[test]
    fn map_constructor_converts_both_sides() {
        assert_eq!(
            Term::map([("a", 1), ("b", 2)]),
            Term::Map(vec![
                (Term::from("a"), Term::Int(1)),
                (Term::from("b"), Term::Int(2)),
            ])
        );
        assert_eq!(Term::map(Vec::<(i32, i32)>::new()), Term::Map(vec![]));
    }

    #[test]
    fn try_from_reads_values_back() {
        assert_eq!(i64::try_from(&Term::Int(-3)), Ok(-3));
        assert_eq!(i64::try_from(Term::UInt(5)), Ok(5));
        assert_eq!(
            i64::try_from(Term::UInt(u64::MAX)),
            Err(TermTypeError {
                expected: "int in i64 range",
                found: "int"
            })
        );
        assert_eq!(u64::try_from(&Term::UInt(u64::MAX)), Ok(u64::MAX));
        assert!(u64::try_from(&Term::Int(-1)).is_err());
        assert_eq!(f64::try_from(Term::Float(0.5)), Ok(0.5));
        assert_eq!(
            f64::try_from(Term::Int(1)),
            Err(TermTypeError {
                expected: "float",
                found: "int"
            })
        );
        assert_eq!(bool::try_from(&Term::Bool(true)), Ok(true));
        assert!(bool::try_from(&Term::Nil).is_err());
        assert_eq!(String::try_from(Term::from("s")), Ok("s".to_owned()));
        assert_eq!(String::try_from(&Term::from("s")), Ok("s".to_owned()));
        let err = String::try_from(Term::bin(vec![])).unwrap_err();
        assert_eq!(err.to_string(), "expected str, found bin");
    }
}
