//! # rets — ETS (Erlang Term Storage) as a concurrent in-memory table engine
//!
//! rets stores *objects* — MessagePack arrays, ETS's tuples — in tables shared by every thread of
//! a process. A table is a `set`, `ordered_set`, `bag` or `duplicate_bag`; the key of an object is
//! its element at the table's `keypos`. Every table belongs to one [`Owner`]; closing the owner
//! deletes its tables or hands each to its heir.
//!
//! ```
//! use rets_core::{tuple, Owner, TableOptions};
//!
//! let owner = Owner::new();
//! let users = owner.new_table("users", TableOptions::new().set().named())?;
//! users.insert(tuple!("u_123", "Alice", "pro"))?;
//! let found = users.lookup("u_123")?;
//! assert_eq!(found[0].element(2).unwrap().as_str(), Some("Alice"));
//! assert_eq!(users.update_counter("u_123", 1).unwrap_err().to_string(),
//!            "bad counter: the element at position 2 is not an integer");
//! # Ok::<(), rets_core::Error>(())
//! ```
//!
//! # Layers
//! - [`term`]: the term model — canonical MessagePack, Erlang's term order and equality, limits.
//! - [`Object`], [`Key`] ([`ToObject`], [`ToKey`]): terms validated for a table.
//! - [`Table`]: ETS's operations and their semantics, with access checks.
//! - [`Owner`]: ownership, heirs, transfers, names.
//! - [`cache`]: lifetimes, bounds with eviction, stats ([`TableOptions::ttl`],
//!   [`TableOptions::max_size`], [`Table::insert_with`], [`Table::cache_stats`]).
//! - [`query`]: match specifications, for [`Table::select`] and the rest of the family.
//! - [`persist`]: [`Table::tab2file`], [`persist::file2tab`], [`persist::tabfile_info`].
//! - storage (internal): where objects live; replaceable without touching semantics.
//!
//! # Guarantees
//! Every single-object operation is atomic and isolated, and so are [`Table::insert_many`],
//! [`Table::insert_new_many`] and [`Table::delete_all_objects`]. A failed operation changes
//! nothing. Traversals (`first`/`next`, folds) never fail because of concurrent writers and never
//! return a key twice; they are not snapshots.

pub mod cache;
mod error;
mod object;
mod owner;
pub mod persist;
pub mod query;
mod storage;
mod sync;
mod table;
pub mod term;

pub use cache::{CacheStats, Clock, Eviction, InsertOptions, ManualClock, MonotonicClock, OnFull};
pub use error::{Error, Result};
#[cfg(feature = "serde")]
pub use object::Serde;
pub use object::{Key, Msgpack, Object, ObjectCow, ObjectRef, Objects, ToKey, ToObject};
pub use owner::{whereis, Owner, OwnerId, Transfer, TransferReason};
pub use table::{Access, Continuation, CounterOp, Info, Table, TableOptions, TableType};
pub use table::{Claim, IntoLoaded, LoadTicket, Loaded, WaitTicket};
pub use table::{Iter, DEFAULT_CHUNK_KEYS};
pub use table::{OwnedPin, Pinned};
pub use term::Term;
