//! Storage of ordered_sets. Today: the striped baseline with one shard in term order.

pub(crate) type OrderedStorage = super::striped::Striped;
pub(crate) type Txn<'a> = super::striped::Txn<'a>;

pub(crate) fn new() -> OrderedStorage {
    OrderedStorage::ordered()
}
