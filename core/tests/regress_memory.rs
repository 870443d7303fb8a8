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
