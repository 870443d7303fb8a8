//! [`Term`]: an owned, decoded term, for building and reading values in Rust.

/// A decoded term. Build one with `From` conversions (`Term::from(5)`, `Term::from("x")`,
/// `Term::from((1, "a"))` for a tuple) or the [`crate::tuple!`] macro, and read one with the
/// `as_*` accessors.
///
/// Integers: [`Term::Int`] holds every value that fits an `i64`; [`Term::UInt`] is used only for
/// values above `i64::MAX` (decoding never produces `UInt(n)` with `n <= i64::MAX`, and encoding
/// treats such a value as the same integer).
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// MessagePack nil (sorts between `false` and `true`, like the atom `nil`).
    Nil,
    /// MessagePack true/false (the atoms `true` and `false`).
    Bool(bool),
    /// An integer in `i64` range.
    Int(i64),
    /// An integer above `i64::MAX`.
    UInt(u64),
    /// A float (never NaN in a stored term).
    Float(f64),
    /// A MessagePack str (UTF-8).
    Str(String),
    /// A MessagePack bin.
    Bin(Vec<u8>),
    /// An atom, by name (see [`super::atom`]). `Atom("true")` encodes as MessagePack `true`, so
    /// build atoms with [`Term::atom`], which returns `Bool`/`Nil` for those three names, as
    /// decoding does.
    Atom(String),
    /// A MessagePack array: an Erlang tuple.
    Array(Vec<Term>),
    /// A MessagePack map, as key/value pairs (any order; encoding sorts them).
    Map(Vec<(Term, Term)>),
}

impl Term {
    /// The integer value, if this is an integer that fits an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Term::Int(i) => Some(i),
            Term::UInt(u) => i64::try_from(u).ok(),
            _ => None,
        }
    }

    /// The integer value, if this is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Term::Int(i) => u64::try_from(i).ok(),
            Term::UInt(u) => Some(u),
            _ => None,
        }
    }

    /// The float value, if this is a float.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Term::Float(f) => Some(f),
            _ => None,
        }
    }

    /// The string, if this is a str.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Term::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes, if this is a bin.
    pub fn as_bin(&self) -> Option<&[u8]> {
        match self {
            Term::Bin(b) => Some(b),
            _ => None,
        }
    }

    /// The boolean, if this is true or false.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Term::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The elements, if this is an array (tuple).
    pub fn as_array(&self) -> Option<&[Term]> {
        match self {
            Term::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The entries, if this is a map.
    pub fn as_map(&self) -> Option<&[(Term, Term)]> {
        match self {
            Term::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The atom `name`: [`Term::Bool`] for `true`/`false`, [`Term::Nil`] for `nil`, else
    /// [`Term::Atom`].
    pub fn atom(name: &str) -> Term {
        match name {
            "true" => Term::Bool(true),
            "false" => Term::Bool(false),
            "nil" => Term::Nil,
            _ => Term::Atom(name.to_owned()),
        }
    }

    /// The atom's name, if this is an atom (including `true`, `false` and `nil`).
    pub fn as_atom(&self) -> Option<&str> {
        match self {
            Term::Atom(a) => Some(a),
            Term::Bool(true) => Some("true"),
            Term::Bool(false) => Some("false"),
            Term::Nil => Some("nil"),
            _ => None,
        }
    }

    /// Whether this is nil.
    pub fn is_nil(&self) -> bool {
        matches!(self, Term::Nil)
    }

    /// The canonical MessagePack encoding of this term (see the module docs).
    ///
    /// Fails on NaN, nesting deeper than [`super::limits::MAX_DEPTH`], or a map with two
    /// exactly equal keys.
    pub fn to_msgpack(&self) -> Result<Vec<u8>, super::TermError> {
        let mut out = Vec::new();
        super::encode(self, &mut out)?;
        Ok(out)
    }

    /// Decodes one MessagePack value (any conforming encoding).
    pub fn from_msgpack(bytes: &[u8]) -> Result<Term, super::TermError> {
        super::decode(bytes)
    }
}

/// Erlang-like notation: arrays as tuples `{1, "a"}`, maps as `#{"k" => v}`, bins as `<<1,2>>`
/// (or `<<"text">>` when printable), nil/true/false as atoms.
impl std::fmt::Display for Term {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn seq<'a>(
            f: &mut std::fmt::Formatter<'_>,
            items: impl Iterator<Item = &'a Term>,
        ) -> std::fmt::Result {
            for (i, item) in items.enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{item}")?;
            }
            Ok(())
        }
        match self {
            Term::Nil => f.write_str("nil"),
            Term::Bool(b) => write!(f, "{b}"),
            Term::Int(i) => write!(f, "{i}"),
            Term::UInt(u) => write!(f, "{u}"),
            Term::Float(x) => write!(f, "{x:?}"),
            Term::Str(s) => write!(f, "{s:?}"),
            Term::Atom(a) => write_atom(f, a),
            Term::Bin(b)
                if !b.is_empty() && b.iter().all(|c| c.is_ascii_graphic() || *c == b' ') =>
            {
                write!(f, "<<{:?}>>", String::from_utf8_lossy(b))
            }
            Term::Bin(b) => {
                f.write_str("<<")?;
                for (i, byte) in b.iter().enumerate() {
                    write!(f, "{}{byte}", if i > 0 { "," } else { "" })?;
                }
                f.write_str(">>")
            }
            Term::Array(items) => {
                f.write_str("{")?;
                seq(f, items.iter())?;
                f.write_str("}")
            }
            Term::Map(entries) => {
                f.write_str("#{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    write!(f, "{}{k} => {v}", if i > 0 { ", " } else { "" })?;
                }
                f.write_str("}")
            }
        }
    }
}

/// An atom as Erlang prints it: bare when it is a lowercase word, else in single quotes.
fn write_atom(f: &mut std::fmt::Formatter<'_>, name: &str) -> std::fmt::Result {
    let mut chars = name.chars();
    let bare = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@');
    if bare {
        return f.write_str(name);
    }
    f.write_str("'")?;
    for c in name.chars() {
        match c {
            '\'' => f.write_str("\\'")?,
            '\\' => f.write_str("\\\\")?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("'")
}
