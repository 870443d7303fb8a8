//! Raw bytes as a table file into the loader (`rets_core::persist::read_table`): never a panic,
//! an abort or a huge allocation; a file that fails leaves no table; a file that loads gives a
//! table of exactly the objects its trailer counts (with `verify`), whose every object is valid.

use rets_core::persist::{read_table, LoadOptions};
use rets_core::{Error, Owner};

/// Checks one input, loaded without and with `verify`.
pub fn run(data: &[u8]) {
    for verify in [false, true] {
        let owner = Owner::new();
        match read_table(data, &owner, LoadOptions { verify }, "fuzz input") {
            Ok(table) => {
                let objects = table.tab2list().expect("a loaded table lists");
                assert_eq!(objects.len(), table.size().unwrap());
                for o in &objects {
                    assert!(o.arity() >= table.keypos(), "an object shorter than keypos");
                }
                table.delete_table().unwrap();
            }
            Err(Error::BadFile { .. } | Error::NameTaken { .. }) => {}
            Err(e) => panic!("the loader failed with an unexpected error: {e:?}"),
        }
        assert!(owner.tables().is_empty(), "a table was left behind");
        owner.close();
    }
}
