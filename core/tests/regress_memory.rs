//! Regression: a hash table emptied by delete_object reports the memory of an empty table.

use rets_core::{tuple, Owner, TableOptions, TableType, Term};

#[test]
fn memory_returns_to_empty_after_delete_object() {
    let owner = Owner::new();
    for t in [
        TableType::Set,
        TableType::Bag,
        TableType::DuplicateBag,
        TableType::OrderedSet,
    ] {
        let tab = owner
            .new_table("mem", TableOptions::new().table_type(t).public())
            .unwrap();
        let empty = tab.info().unwrap().memory;
        let obj = Term::Array(vec![(-3).into(), (-3).into(), 1.0.into(), (-3).into()]);
        tab.insert(obj.clone()).unwrap();
        tab.insert(tuple!(-3, 1)).unwrap();
        tab.delete_object(tuple!(-3, 1)).unwrap();
        tab.delete_object(obj).unwrap();
        assert_eq!(tab.info().unwrap().size, 0, "{t}");
        assert_eq!(tab.info().unwrap().memory, empty, "{t}");
    }
}

/// Deleting a key and inserting it again, over and over, takes back the key's own tombstone
/// each time: the hash table's slot arrays neither grow nor get rebuilt, so its memory is
/// what it was before the churn (a reused tombstone was once counted as one more slot in use,
/// and churn over a steady set of keys rebuilt every array, at twice its size, again and
/// again).
#[test]
fn churn_over_the_same_keys_keeps_the_memory_of_the_filled_table() {
    let owner = Owner::new();
    for t in [TableType::Set, TableType::Bag, TableType::DuplicateBag] {
        let tab = owner
            .new_table("churn", TableOptions::new().table_type(t).public())
            .unwrap();
        for k in 0..2_000 {
            tab.insert(tuple!(k, 0)).unwrap();
        }
        let filled = tab.info().unwrap().memory;
        for round in 0..20 {
            for k in 0..2_000 {
                tab.delete(k).unwrap();
                tab.insert(tuple!(k, 0)).unwrap();
            }
            let info = tab.info().unwrap();
            assert_eq!(info.size, 2_000, "{t}");
            assert_eq!(info.memory, filled, "{t}: after round {round}");
        }
    }
}
