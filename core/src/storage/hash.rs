//! Storage of hash tables (set, bag, duplicate_bag). Today: the striped baseline.

pub(crate) type HashStorage = super::striped::Striped;
pub(crate) type Txn<'a> = super::striped::Txn<'a>;

pub(crate) fn new() -> HashStorage {
    HashStorage::hash()
}
