//! Objects and keys from serde values (feature `serde`).
#![cfg(feature = "serde")]

use rets_core::{tuple, Owner, Serde, TableOptions};

#[derive(serde::Serialize)]
struct Profile<'a>(&'a str, &'a str, u32);

#[test]
fn serde_values_are_objects_and_keys() {
    let owner = Owner::new();
    let tab = owner.new_table("serde", TableOptions::new()).unwrap();
    tab.insert(Serde(&Profile("u_1", "Alice", 3))).unwrap();
    tab.insert(Serde(&("u_2", "Bob", 4))).unwrap();
    let found = tab.lookup(Serde("u_1")).unwrap();
    assert_eq!(found[0].to_term(), tuple!("u_1", "Alice", 3));
    assert_eq!(tab.lookup_element("u_2", 3).unwrap().as_i64(), Some(4));
    // A value that is not an array is not an object.
    assert!(matches!(
        tab.insert(Serde(&5)),
        Err(rets_core::Error::NotAnArray { .. })
    ));
}
