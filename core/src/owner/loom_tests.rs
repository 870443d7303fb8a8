//! loom models of the lifecycle layer: table deletion, owner close, give_away and heir transfer
//! racing readers and writers, through the public API. Run by `ci/loom`.
//!
//! Under `--cfg rets_loom` the table's `deleted` flag and owner id, the owner's `closed` flag,
//! its table list and inbox, and the process-wide lifecycle lock are loom's (see
//! `crate::sync`), so loom explores every interleaving of the close/delete protocol with the
//! readers' and writers' checks; the storage underneath is loom's too.
//!
//! What a racing reader may see (documented in rets.h for rets_owner_close and
//! rets_table_delete):
//! - through a handle acting for the owner that closes: the objects, `OwnerClosed`, or (when
//!   the table is deleted by the close) `NoTable`: `closed` is set before `deleted`, and a
//!   call checks `deleted` first, so either error may win;
//! - through a handle acting for another owner or nobody: the objects or `NoTable`, never
//!   `OwnerClosed` (its own owner is open);
//! - when the table goes to an heir instead, never `NoTable`.
//!
//! Readers run in spawned threads and the lifecycle change in the model's main thread (see
//! storage/hash/loom_tests.rs for why).

use loom::thread;

use crate::{Error, Owner, Table, TableOptions, TableType, Term};

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(f);
}

/// The second elements of the objects with key 1, read while the storage keeps them alive.
fn values(t: &Table) -> Result<Vec<i64>, Error> {
    t.lookup_with(1, |objects| {
        objects
            .map(|o| o.element(2).unwrap().as_i64().unwrap())
            .collect()
    })
}

fn pair(k: i64, v: i64) -> Term {
    Term::Array(vec![Term::from(k), Term::from(v)])
}

#[test]
fn loom_delete_table_while_a_reader_holds_a_guard() {
    model(|| {
        let owner = Owner::new();
        let bag = owner
            .new_table(
                "bag",
                TableOptions::new().table_type(TableType::Bag).public(),
            )
            .unwrap();
        bag.insert_many([pair(1, 1), pair(1, 2)]).unwrap();
        let stranger = Owner::new();
        let view = bag.with_caller(&stranger);
        let reader = thread::spawn(move || values(&view));
        bag.delete_table().unwrap();
        // Both objects, in order, or the deletion: never one of them (a torn read) and never a
        // freed object (the poisoned memory would not read as [1, 2]).
        match reader.join().unwrap() {
            Ok(v) => assert_eq!(v, [1, 2]),
            Err(e) => assert!(matches!(e, Error::NoTable { .. }), "{e}"),
        }
        assert!(matches!(bag.lookup(1), Err(Error::NoTable { .. })));
    });
}

#[test]
fn loom_owner_close_deletes_while_its_own_and_foreign_handles_read() {
    model(|| {
        let owner = Owner::new();
        let table = owner.new_table("t", TableOptions::new().public()).unwrap();
        table.insert(pair(1, 7)).unwrap();
        let stranger = Owner::new();
        let foreign = table.with_caller(&stranger);
        let own = table.clone();
        let own_reader = thread::spawn(move || values(&own));
        let foreign_reader = thread::spawn(move || values(&foreign));
        owner.close();
        match own_reader.join().unwrap() {
            Ok(v) => assert_eq!(v, [7]),
            Err(e) => assert!(
                matches!(e, Error::OwnerClosed { .. } | Error::NoTable { .. }),
                "{e}"
            ),
        }
        match foreign_reader.join().unwrap() {
            Ok(v) => assert_eq!(v, [7]),
            Err(e) => assert!(matches!(e, Error::NoTable { .. }), "{e}"),
        }
        let after = table.with_caller(&stranger);
        assert!(matches!(after.lookup(1), Err(Error::NoTable { .. })));
        // The close deleted the table, and existence is checked first.
        assert!(matches!(table.lookup(1), Err(Error::NoTable { .. })));
    });
}

#[test]
fn loom_owner_close_against_a_foreign_writer() {
    model(|| {
        let owner = Owner::new();
        let table = owner.new_table("t", TableOptions::new().public()).unwrap();
        let stranger = Owner::new();
        let foreign = table.with_caller(&stranger);
        let writer = thread::spawn(move || foreign.insert(pair(2, 2)));
        owner.close();
        // The write lands before the deletion or fails with it; nothing is left either way
        // (a write after the clear would leave an object in a deleted table).
        match writer.join().unwrap() {
            Ok(()) => {}
            Err(e) => assert!(matches!(e, Error::NoTable { .. }), "{e}"),
        }
        assert_eq!(table.inner().storage.size(), 0);
    });
}

#[test]
fn loom_heir_transfer_while_the_heir_and_the_old_owner_read() {
    model(|| {
        let owner = Owner::new();
        let heir = Owner::new();
        let table = owner
            .new_table("t", TableOptions::new().private().heir(&heir, "gift"))
            .unwrap();
        table.insert(pair(1, 7)).unwrap();
        let for_heir = table.with_caller(&heir);
        let old = table.clone();
        let heir_reader = thread::spawn(move || values(&for_heir));
        let old_reader = thread::spawn(move || values(&old));
        owner.close();
        // The heir reads a private table only once it owns it: before, access is denied.
        match heir_reader.join().unwrap() {
            Ok(v) => assert_eq!(v, [7]),
            Err(e) => assert!(matches!(e, Error::Access { need: "read", .. }), "{e}"),
        }
        // The table is inherited, never deleted: the old owner's handle reads it or finds its
        // owner closed (or, already transferred, no longer its own).
        match old_reader.join().unwrap() {
            Ok(v) => assert_eq!(v, [7]),
            Err(e) => assert!(
                matches!(e, Error::OwnerClosed { .. } | Error::Access { .. }),
                "{e}"
            ),
        }
        let transfer = heir.try_recv_transfer().expect("the heir got the table");
        assert_eq!(values(&transfer.table).unwrap(), [7]);
    });
}

#[test]
fn loom_give_away_while_old_and_new_owner_write() {
    model(|| {
        let from = Owner::new();
        let to = Owner::new();
        let table = from.new_table("t", TableOptions::new()).unwrap();
        let for_to = table.with_caller(&to);
        let old = table.clone();
        let new_writer = thread::spawn(move || for_to.insert(pair(2, 2)));
        let old_writer = thread::spawn(move || old.insert(pair(3, 3)));
        table.give_away(&to, "here").unwrap();
        let new_result = new_writer.join().unwrap();
        let old_result = old_writer.join().unwrap();
        for r in [&new_result, &old_result] {
            if let Err(e) = r {
                assert!(matches!(e, Error::Access { need: "write", .. }), "{e}");
            }
        }
        // Exactly the writes that succeeded are in the table.
        let transfer = to.try_recv_transfer().expect("given away");
        let t = transfer.table;
        assert_eq!(t.member(2).unwrap(), new_result.is_ok());
        assert_eq!(t.member(3).unwrap(), old_result.is_ok());
        assert_eq!(t.info().unwrap().owner, to.id());
    });
}
