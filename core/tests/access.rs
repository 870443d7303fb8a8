//! The access matrix: every table operation × public / protected / private × a handle acting for
//! the owner, for another owner, or for nobody (found with `whereis`). Written once, as a table:
//! each operation says what it needs (read, write, ownership or nothing), and every cell is run
//! on a fresh table, so removing or weakening any single access check fails a cell.
//! (ffi/tests/c/test_access.c runs the same matrix through the C ABI.)

use std::ops::Bound;
use std::sync::atomic::{AtomicUsize, Ordering};

use rets_core::{
    tuple, whereis, Access, CounterOp, Error, Owner, OwnerId, Table, TableOptions, TableType, Term,
};

/// What an operation needs from the handle's owner.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Need {
    /// Public and protected tables: anyone; private: the owner.
    Read,
    /// Public tables: anyone; protected and private: the owner.
    Write,
    /// The owner only, whatever the access mode (give_away, setopts heir).
    Owner,
    /// Anyone (info, size, memory, name).
    Nothing,
}

/// Who the handle acts for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Caller {
    TheOwner,
    AnotherOwner,
    Nobody,
}

type Op = fn(&Table, &Owner) -> Result<(), Error>;

/// Every operation of `Table`, with what it needs. Each runs against a table holding
/// `{1, 10, 20}` (a set unless the operation needs a bag) and discards its value.
fn operations() -> Vec<(&'static str, Need, Op)> {
    vec![
        ("insert", Need::Write, |t, _| t.insert(tuple!(2, 1, 1))),
        ("insert_many", Need::Write, |t, _| {
            t.insert_many([tuple!(2, 1, 1), tuple!(3, 1, 1)])
        }),
        ("insert_new", Need::Write, |t, _| {
            t.insert_new(tuple!(2, 1, 1)).map(drop)
        }),
        ("insert_new_many", Need::Write, |t, _| {
            t.insert_new_many([tuple!(2, 1, 1)]).map(drop)
        }),
        ("lookup", Need::Read, |t, _| t.lookup(1).map(drop)),
        ("lookup_with", Need::Read, |t, _| t.lookup_with(1, |_| ())),
        ("member", Need::Read, |t, _| t.member(1).map(drop)),
        ("lookup_element", Need::Read, |t, _| {
            t.lookup_element(1, 2).map(drop)
        }),
        ("lookup_element_or", Need::Read, |t, _| {
            t.lookup_element_or(9, 2, 0).map(drop)
        }),
        ("take", Need::Write, |t, _| t.take(1).map(drop)),
        ("delete", Need::Write, |t, _| t.delete(1)),
        ("delete_object", Need::Write, |t, _| {
            t.delete_object(tuple!(1, 10, 20))
        }),
        ("delete_all_objects", Need::Write, |t, _| {
            t.delete_all_objects()
        }),
        ("update_counter", Need::Write, |t, _| {
            t.update_counter(1, 1).map(drop)
        }),
        ("update_counters", Need::Write, |t, _| {
            t.update_counters(1, &[CounterOp::new(3, 1)]).map(drop)
        }),
        ("update_counters_or", Need::Write, |t, _| {
            t.update_counters_or(9, &[CounterOp::new(2, 1)], tuple!(9, 0))
                .map(drop)
        }),
        ("update_element", Need::Write, |t, _| {
            t.update_element(1, &[(2, Term::from(0))]).map(drop)
        }),
        ("update_element_or", Need::Write, |t, _| {
            t.update_element_or(9, &[(2, Term::from(0))], tuple!(9, 0))
                .map(drop)
        }),
        ("first", Need::Read, |t, _| t.first().map(drop)),
        ("next", Need::Read, |t, _| t.next(1).map(drop)),
        ("last", Need::Read, |t, _| t.last().map(drop)),
        ("prev", Need::Read, |t, _| t.prev(1).map(drop)),
        ("first_lookup", Need::Read, |t, _| {
            t.first_lookup().map(drop)
        }),
        ("next_lookup", Need::Read, |t, _| t.next_lookup(1).map(drop)),
        ("last_lookup", Need::Read, |t, _| t.last_lookup().map(drop)),
        ("prev_lookup", Need::Read, |t, _| t.prev_lookup(1).map(drop)),
        ("tab2list", Need::Read, |t, _| t.tab2list().map(drop)),
        ("foldl", Need::Read, |t, _| t.foldl((), |(), _| ())),
        ("foldr", Need::Read, |t, _| t.foldr((), |(), _| ())),
        ("iter", Need::Read, |t, _| {
            t.iter().next().transpose().map(drop)
        }),
        ("iter_rev", Need::Read, |t, _| {
            t.iter_rev().next().transpose().map(drop)
        }),
        ("chunk_with", Need::Read, |t, _| {
            t.chunk_with(Bound::Excluded(0), 8, false, |_, _| ())
                .map(drop)
        }),
        ("info", Need::Nothing, |t, _| t.info().map(drop)),
        ("size", Need::Nothing, |t, _| t.size().map(drop)),
        ("memory", Need::Nothing, |t, _| t.memory().map(drop)),
        ("name", Need::Nothing, |t, _| t.name().map(drop)),
        ("rename", Need::Write, |t, _| t.rename(&unique_name())),
        ("delete_table", Need::Write, |t, _| t.delete_table()),
        ("give_away", Need::Owner, |t, to| t.give_away(to, "gift")),
        ("set_heir", Need::Owner, |t, heir| {
            t.set_heir(Some((heir, Term::Nil)))
        }),
        ("clear_heir", Need::Owner, |t, _| t.set_heir(None)),
    ]
}

fn unique_name() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("access-matrix-{}", N.fetch_add(1, Ordering::Relaxed))
}

fn allowed(need: Need, access: Access, caller: Caller) -> bool {
    caller == Caller::TheOwner
        || match need {
            Need::Nothing => true,
            Need::Owner => false,
            Need::Read => access != Access::Private,
            Need::Write => access == Access::Public,
        }
}

#[test]
fn every_operation_checks_access_for_every_mode_and_caller() {
    let mut cells = 0;
    for (op, need, run) in operations() {
        for access in [Access::Public, Access::Protected, Access::Private] {
            for caller in [Caller::TheOwner, Caller::AnotherOwner, Caller::Nobody] {
                let owner = Owner::new();
                let other = Owner::new();
                let name = unique_name();
                let table = owner
                    .new_table(&name, TableOptions::new().access(access).named())
                    .unwrap();
                table.insert(tuple!(1, 10, 20)).unwrap();
                let handle = match caller {
                    Caller::TheOwner => table.clone(),
                    Caller::AnotherOwner => table.with_caller(&other),
                    Caller::Nobody => whereis(&name).unwrap(),
                };
                assert_eq!(handle.caller() == OwnerId::NOBODY, caller == Caller::Nobody);
                // The receiving owner of give_away and the heir of set_heir: a third owner.
                let third = Owner::new();
                let before = table.tab2list().unwrap();
                let result = run(&handle, &third);
                let cell = format!("{op} on a {access} table by {caller:?}");
                if allowed(need, access, caller) {
                    assert!(result.is_ok(), "{cell}: {:?}", result.unwrap_err());
                } else {
                    let err = result.expect_err(&format!("{cell} must be refused"));
                    match need {
                        Need::Owner => assert!(
                            matches!(err, Error::NotOwner { op: o, .. } if o == op_name(op)),
                            "{cell}: {err}"
                        ),
                        Need::Read | Need::Write => {
                            let want = if need == Need::Read { "read" } else { "write" };
                            assert!(
                                matches!(err, Error::Access { need: n, access: a, .. }
                                    if n == want && a == access),
                                "{cell}: {err}"
                            );
                        }
                        Need::Nothing => unreachable!(),
                    }
                    // A refused call changes nothing.
                    assert_eq!(table.tab2list().unwrap(), before, "{cell}");
                    assert_eq!(table.info().unwrap().owner, owner.id(), "{cell}");
                }
                cells += 1;
            }
        }
    }
    assert_eq!(cells, operations().len() * 9);
}

/// The operation name a `NotOwner` error reports.
fn op_name(op: &str) -> &'static str {
    match op {
        "give_away" => "give_away",
        _ => "set the heir of",
    }
}

/// The checks do not depend on the table type (each has its own storage and traversal): a
/// private table of every type refuses a foreign handle.
#[test]
fn reads_and_writes_are_checked_on_every_table_type() {
    for table_type in [
        TableType::Set,
        TableType::OrderedSet,
        TableType::Bag,
        TableType::DuplicateBag,
    ] {
        let owner = Owner::new();
        let other = Owner::new();
        let table = owner
            .new_table(
                "typed",
                TableOptions::new().table_type(table_type).private(),
            )
            .unwrap();
        table.insert(tuple!(1, 10)).unwrap();
        let foreign = table.with_caller(&other);
        assert!(matches!(
            foreign.lookup(1),
            Err(Error::Access { need: "read", .. })
        ));
        assert!(matches!(
            foreign.tab2list(),
            Err(Error::Access { need: "read", .. })
        ));
        assert!(matches!(
            foreign.last(),
            Err(Error::Access { need: "read", .. })
        ));
        assert!(matches!(
            foreign.insert(tuple!(2, 1)),
            Err(Error::Access { need: "write", .. })
        ));
        assert!(matches!(
            foreign.take(1),
            Err(Error::Access { need: "write", .. })
        ));
        assert_eq!(table.lookup(1).unwrap().len(), 1, "{table_type}");
    }
}
