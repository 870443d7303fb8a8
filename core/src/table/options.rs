//! Table options: type, keypos, name, access, heir, concurrency hints.

use std::fmt;

use std::sync::Arc;

use crate::owner::{Owner, OwnerInner};
use crate::term::Term;

/// The four ETS table types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TableType {
    /// One object per key; keys are equal when they match exactly (`1` and `1.0` differ).
    #[default]
    Set,
    /// One object per key, kept in term order; keys are equal when they compare equal
    /// (`1` and `1.0` are the same key).
    OrderedSet,
    /// Many objects per key; an object identical to one already stored is not added again.
    Bag,
    /// Many objects per key; identical copies are kept.
    DuplicateBag,
}

impl TableType {
    /// The ETS name (`set`, `ordered_set`, `bag`, `duplicate_bag`).
    pub fn as_str(self) -> &'static str {
        match self {
            TableType::Set => "set",
            TableType::OrderedSet => "ordered_set",
            TableType::Bag => "bag",
            TableType::DuplicateBag => "duplicate_bag",
        }
    }

    /// Whether a key holds at most one object.
    pub fn is_set(self) -> bool {
        matches!(self, TableType::Set | TableType::OrderedSet)
    }
}

impl fmt::Display for TableType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who may read and write a table. Access follows the handle: a [`crate::Table`] acts for the
/// owner it was obtained through (or for nobody, if obtained with [`crate::whereis`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Access {
    /// Everyone reads and writes.
    Public,
    /// The owner writes; everyone reads (the default).
    #[default]
    Protected,
    /// Only the owner reads or writes.
    Private,
}

impl Access {
    /// The ETS name (`public`, `protected`, `private`).
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Public => "public",
            Access::Protected => "protected",
            Access::Private => "private",
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The options of a new table; a builder. `TableOptions::new()` is ETS's default:
/// `[set, protected, {keypos,1}, {heir,none}]`, unnamed.
///
/// `read_concurrency` and `write_concurrency` are accepted for ETS parity and reported by
/// [`crate::Info`]. They tune nothing today: every table already reads without contention on
/// other keys and stripes its writers (see docs/ARCHITECTURE.md).
#[derive(Clone, Default)]
pub struct TableOptions {
    pub(crate) table_type: TableType,
    pub(crate) keypos: Option<usize>,
    pub(crate) named: bool,
    pub(crate) access: Access,
    pub(crate) heir: Option<(Arc<OwnerInner>, Term)>,
    pub(crate) read_concurrency: bool,
    pub(crate) write_concurrency: bool,
    /// TTL, bounds, clock: see `crate::cache::options`.
    pub(crate) cache: crate::cache::CacheOptions,
}

impl TableOptions {
    /// ETS's defaults: a protected, unnamed set with keypos 1 and no heir.
    pub fn new() -> TableOptions {
        TableOptions::default()
    }

    /// Sets the table type.
    pub fn table_type(mut self, table_type: TableType) -> TableOptions {
        self.table_type = table_type;
        self
    }

    /// Shorthand for `table_type(TableType::Set)`.
    pub fn set(self) -> TableOptions {
        self.table_type(TableType::Set)
    }

    /// Shorthand for `table_type(TableType::OrderedSet)`.
    pub fn ordered_set(self) -> TableOptions {
        self.table_type(TableType::OrderedSet)
    }

    /// Shorthand for `table_type(TableType::Bag)`.
    pub fn bag(self) -> TableOptions {
        self.table_type(TableType::Bag)
    }

    /// Shorthand for `table_type(TableType::DuplicateBag)`.
    pub fn duplicate_bag(self) -> TableOptions {
        self.table_type(TableType::DuplicateBag)
    }

    /// The 1-based position of the key in every object (default 1; 0 is rejected on creation).
    pub fn keypos(mut self, keypos: usize) -> TableOptions {
        self.keypos = Some(keypos);
        self
    }

    /// Registers the table's name so that [`crate::whereis`] finds it.
    pub fn named(mut self) -> TableOptions {
        self.named = true;
        self
    }

    /// Sets the access mode (default protected).
    pub fn access(mut self, access: Access) -> TableOptions {
        self.access = access;
        self
    }

    /// Shorthand for `access(Access::Public)`.
    pub fn public(self) -> TableOptions {
        self.access(Access::Public)
    }

    /// Shorthand for `access(Access::Protected)`.
    pub fn protected(self) -> TableOptions {
        self.access(Access::Protected)
    }

    /// Shorthand for `access(Access::Private)`.
    pub fn private(self) -> TableOptions {
        self.access(Access::Private)
    }

    /// The owner that inherits the table, with `gift`, when its owner closes.
    pub fn heir(mut self, heir: &Owner, gift: impl Into<Term>) -> TableOptions {
        self.heir = Some((heir.inner().clone(), gift.into()));
        self
    }

    /// Accepted for ETS parity (see the type's docs).
    pub fn read_concurrency(mut self, on: bool) -> TableOptions {
        self.read_concurrency = on;
        self
    }

    /// Accepted for ETS parity (see the type's docs).
    pub fn write_concurrency(mut self, on: bool) -> TableOptions {
        self.write_concurrency = on;
        self
    }
}
