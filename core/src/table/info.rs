//! [`Info`]: what `info/1` reports.

use super::{Access, TableType};
use crate::owner::OwnerId;

/// Facts about a table at one moment (ETS `info/1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// A process-unique table id.
    pub id: u64,
    /// The table's name.
    pub name: String,
    /// Whether the name is registered (`named_table`).
    pub named: bool,
    /// The table type.
    pub table_type: TableType,
    /// The 1-based key position.
    pub keypos: usize,
    /// The access mode.
    pub access: Access,
    /// The current owner.
    pub owner: OwnerId,
    /// The heir, if one is set and still open.
    pub heir: Option<OwnerId>,
    /// The number of objects.
    pub size: usize,
    /// Bytes held by the table: its objects, their storage, and the table itself.
    pub memory: usize,
    /// As given at creation.
    pub read_concurrency: bool,
    /// As given at creation.
    pub write_concurrency: bool,
}
