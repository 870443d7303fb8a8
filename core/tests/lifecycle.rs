//! Lifecycle details that mutation testing found unchecked: the owner list after a give_away and
//! a delete, the error of a closed owner's handle, and rename of unnamed tables or to the same
//! name.

use rets_core::{tuple, whereis, Error, Owner, TableOptions, Term};

#[test]
fn a_table_given_away_then_deleted_leaves_no_owner_listing_it() {
    let a = Owner::new();
    let b = Owner::new();
    let t = a.new_table("given", TableOptions::new()).unwrap();
    t.insert(tuple!(1, 1)).unwrap();
    t.give_away(&b, Term::Nil).unwrap();
    let for_b = b.try_recv_transfer().unwrap().table;
    assert_eq!(b.tables().len(), 1);
    for_b.delete_table().unwrap();
    assert!(a.tables().is_empty());
    assert!(
        b.tables().is_empty(),
        "the new owner still lists the deleted table"
    );
}

#[test]
fn a_closed_owners_handle_is_told_its_owner_is_closed() {
    let owner = Owner::new();
    let closed = Owner::new();
    closed.close();
    let t = owner
        .new_table("other", TableOptions::new().public())
        .unwrap();
    let through_closed = t.with_caller(&closed);
    for result in [
        through_closed.give_away(&Owner::new(), 0),
        through_closed.set_heir(None),
        through_closed.insert(tuple!(1)),
    ] {
        assert!(
            matches!(result, Err(Error::OwnerClosed { owner }) if owner == closed.id().0),
            "{result:?}"
        );
    }
}

#[test]
fn rename_registers_only_named_tables_and_may_keep_the_name() {
    let owner = Owner::new();
    let unnamed = owner
        .new_table("lifecycle::unnamed", TableOptions::new())
        .unwrap();
    unnamed.rename("lifecycle::renamed-unnamed").unwrap();
    assert_eq!(unnamed.name().unwrap(), "lifecycle::renamed-unnamed");
    assert!(whereis("lifecycle::renamed-unnamed").is_none());
    let named = owner
        .new_table("lifecycle::named", TableOptions::new().named())
        .unwrap();
    named.rename("lifecycle::named").unwrap();
    assert!(whereis("lifecycle::named").unwrap().same_table(&named));
}
