//! Owners, access modes, names, heirs, give_away, deletion.

use std::time::Duration;

use rets_core::{
    tuple, whereis, Access, Error, Owner, OwnerId, TableOptions, Term, TransferReason,
};

/// Names are process-wide: every test uses its own.
fn name(test: &str) -> String {
    format!("ownership::{test}")
}

#[test]
fn access_modes_follow_the_handle() {
    let owner = Owner::new();
    let other = Owner::new();
    for access in [Access::Public, Access::Protected, Access::Private] {
        let mine = owner
            .new_table(
                &name(&format!("access-{access}")),
                TableOptions::new().access(access).named(),
            )
            .unwrap();
        mine.insert(tuple!("k", 1)).unwrap();
        let theirs = mine.with_caller(&other);
        let nobody = whereis(&mine.name().unwrap()).unwrap();
        assert_eq!(nobody.caller(), OwnerId::NOBODY);
        for handle in [&theirs, &nobody] {
            let read = handle.lookup("k");
            let write = handle.insert(tuple!("k", 2));
            match access {
                Access::Public => {
                    assert!(read.is_ok() && write.is_ok());
                }
                Access::Protected => {
                    assert_eq!(read.unwrap().len(), 1);
                    assert!(matches!(write, Err(Error::Access { need: "write", .. })));
                }
                Access::Private => {
                    assert!(matches!(read, Err(Error::Access { need: "read", .. })));
                    assert!(matches!(write, Err(Error::Access { .. })));
                }
            }
            // Every writing operation is checked, not only insert.
            if access != Access::Public {
                let denied = |r: Result<(), Error>| {
                    assert!(
                        matches!(r, Err(Error::Access { need: "write", .. })),
                        "{access}: {r:?}"
                    )
                };
                denied(handle.delete("k"));
                denied(handle.update_element("k", &[(2, 0.into())]).map(drop));
                denied(handle.delete_all_objects());
                denied(handle.delete_table());
                denied(handle.rename("x"));
            }
            // Info is for everyone.
            assert_eq!(handle.info().unwrap().access, access);
        }
        // give_away and set_heir need the owner even on a public table.
        assert!(matches!(
            theirs.give_away(&other, Term::Nil),
            Err(Error::NotOwner { .. })
        ));
        assert!(matches!(theirs.set_heir(None), Err(Error::NotOwner { .. })));
        assert_eq!(mine.lookup("k").unwrap().len(), 1, "owner still reads");
        mine.delete_table().unwrap();
    }
}

#[test]
fn access_check_message_is_readable() {
    let owner = Owner::new();
    let other = Owner::new();
    let tab = owner.new_table("readable", TableOptions::new()).unwrap();
    let err = tab.with_caller(&other).insert(tuple!(1)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "access denied: insert on protected table \"readable\" needs write access, which only its owner has"
    );
}

#[test]
fn named_tables_whereis_rename_and_reuse() {
    let owner = Owner::new();
    let n = name("names");
    let tab = owner.new_table(&n, TableOptions::new().named()).unwrap();
    assert!(whereis(&n).unwrap().same_table(&tab));
    assert!(matches!(
        owner.new_table(&n, TableOptions::new().named()),
        Err(Error::NameTaken { .. })
    ));
    // An unnamed table may share the name: it is not registered.
    let unnamed = owner.new_table(&n, TableOptions::new()).unwrap();
    assert!(!whereis(&n).unwrap().same_table(&unnamed));

    let renamed = name("names-renamed");
    tab.rename(&renamed).unwrap();
    assert!(whereis(&n).is_none());
    assert!(whereis(&renamed).unwrap().same_table(&tab));
    assert_eq!(tab.info().unwrap().name, renamed);
    // Renaming onto a taken name fails and changes nothing.
    let other = owner
        .new_table(&name("names-other"), TableOptions::new().named())
        .unwrap();
    assert!(matches!(
        other.rename(&renamed),
        Err(Error::NameTaken { .. })
    ));
    assert!(whereis(&name("names-other")).unwrap().same_table(&other));

    // A deleted name can be taken again; the old handle stays dead.
    tab.delete_table().unwrap();
    assert!(whereis(&renamed).is_none());
    let again = owner
        .new_table(&renamed, TableOptions::new().named())
        .unwrap();
    assert!(matches!(tab.lookup("x"), Err(Error::NoTable { .. })));
    assert!(matches!(tab.info(), Err(Error::NoTable { .. })));
    assert!(again.lookup("x").unwrap().is_empty());
}

#[test]
fn closing_an_owner_deletes_or_hands_over() {
    let owner = Owner::new();
    let heir = Owner::new();
    let doomed = owner
        .new_table(&name("close-doomed"), TableOptions::new().named())
        .unwrap();
    let kept = owner
        .new_table(
            &name("close-kept"),
            TableOptions::new()
                .bag()
                .named()
                .heir(&heir, tuple!("gift", 42)),
        )
        .unwrap();
    kept.insert(tuple!("k", 1)).unwrap();
    assert_eq!(kept.info().unwrap().heir, Some(heir.id()));
    assert_eq!(owner.tables().len(), 2);

    owner.close();
    assert!(owner.is_closed());
    assert!(matches!(doomed.lookup("k"), Err(Error::NoTable { .. })));
    assert!(whereis(&name("close-doomed")).is_none());
    // The old owner's handle can no longer act.
    assert!(matches!(kept.lookup("k"), Err(Error::OwnerClosed { .. })));
    assert!(matches!(
        owner.new_table("x", TableOptions::new()),
        Err(Error::OwnerClosed { .. })
    ));

    let transfer = heir.try_recv_transfer().expect("the heir is notified");
    assert_eq!(transfer.from, owner.id());
    assert_eq!(transfer.gift, tuple!("gift", 42));
    assert_eq!(transfer.reason, TransferReason::Inherited);
    let inherited = transfer.table;
    let info = inherited.info().unwrap();
    assert_eq!((info.owner, info.heir, info.size), (heir.id(), None, 1));
    // The heir may now write the protected table.
    inherited.insert(tuple!("k", 2)).unwrap();
    assert_eq!(heir.tables().len(), 1);
    assert!(heir.try_recv_transfer().is_none());
    owner.close(); // closing twice is harmless

    // The heir has no heir: closing it deletes the table.
    heir.close();
    assert!(whereis(&name("close-kept")).is_none());
}

#[test]
fn dropping_the_last_owner_clone_closes_it() {
    let heir = Owner::new();
    let n = name("drop");
    {
        let owner = Owner::new();
        let clone = owner.clone();
        owner
            .new_table(&n, TableOptions::new().named().heir(&heir, "g"))
            .unwrap();
        drop(owner);
        assert!(whereis(&n).is_some(), "a clone still holds the owner open");
        drop(clone);
    }
    let transfer = heir.recv_transfer(Duration::from_secs(1)).unwrap();
    assert_eq!(transfer.gift, Term::from("g"));
    assert_eq!(whereis(&n).unwrap().info().unwrap().owner, heir.id());
}

#[test]
fn a_closed_heir_does_not_inherit() {
    let owner = Owner::new();
    let heir = Owner::new();
    let n = name("closed-heir");
    owner
        .new_table(&n, TableOptions::new().named().heir(&heir, 1))
        .unwrap();
    heir.close();
    assert_eq!(whereis(&n).unwrap().info().unwrap().heir, None);
    owner.close();
    assert!(whereis(&n).is_none());
    assert!(heir.try_recv_transfer().is_none());
}

#[test]
fn give_away_and_set_heir() {
    let a = Owner::new();
    let b = Owner::new();
    let c = Owner::new();
    let tab = a
        .new_table(&name("give"), TableOptions::new().heir(&c, "from-a"))
        .unwrap();
    tab.insert(tuple!(1, 1)).unwrap();
    tab.give_away(&b, "here").unwrap();
    let transfer = b.try_recv_transfer().unwrap();
    assert_eq!(
        (transfer.from, transfer.gift.clone(), transfer.reason),
        (a.id(), Term::from("here"), TransferReason::GivenAway)
    );
    let for_b = transfer.table;
    // a no longer owns it; b does; the heir is unchanged.
    assert!(matches!(
        tab.insert(tuple!(2, 2)),
        Err(Error::Access { .. })
    ));
    for_b.insert(tuple!(2, 2)).unwrap();
    assert_eq!(for_b.info().unwrap().heir, Some(c.id()));
    assert!(a.tables().is_empty());
    assert_eq!(b.tables().len(), 1);
    // Giving to oneself or to a closed owner fails.
    assert!(matches!(for_b.give_away(&b, 0), Err(Error::BadArgument(_))));
    let closed = Owner::new();
    closed.close();
    assert!(matches!(
        for_b.give_away(&closed, 0),
        Err(Error::BadArgument(_))
    ));
    // set_heir: change, clear.
    for_b.set_heir(Some((&a, "back-to-a".into()))).unwrap();
    assert_eq!(for_b.info().unwrap().heir, Some(a.id()));
    for_b.set_heir(None).unwrap();
    assert_eq!(for_b.info().unwrap().heir, None);
    for_b.set_heir(Some((&a, "back-to-a".into()))).unwrap();
    b.close();
    let back = a.try_recv_transfer().unwrap();
    assert_eq!(back.gift, Term::from("back-to-a"));
    assert_eq!(back.table.lookup(2).unwrap().len(), 1);
    assert!(c.try_recv_transfer().is_none());
}

#[test]
fn deleted_table_errors_everywhere_and_leaves_its_owner() {
    let owner = Owner::new();
    let tab = owner
        .new_table("deleted", TableOptions::new().public())
        .unwrap();
    tab.insert_many((0..100).map(|i| tuple!(i))).unwrap();
    let stranger = Owner::new();
    tab.with_caller(&stranger).delete_table().unwrap(); // public: anyone with write access may delete
    for result in [
        tab.insert(tuple!(1)).map(drop),
        tab.lookup(1).map(drop),
        tab.first().map(drop),
        tab.info().map(drop),
        tab.delete_table(),
        tab.rename("x"),
        tab.give_away(&Owner::new(), 0),
        tab.update_counter(1, 1).map(drop),
    ] {
        let err = result.unwrap_err();
        assert!(matches!(err, Error::NoTable { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            "no such table: table \"deleted\" was deleted"
        );
    }
    assert!(owner.tables().is_empty());
}

/// A waiter already blocked in `recv_transfer` is woken by the transfer (give_away, then an
/// inheritance): it does not sit out its timeout. The waiter's timeout is an hour and the test
/// gives it 30 s to report, so only a missing wake-up fails it; the waiter starts waiting well
/// before the transfer (it signals, then the test sleeps before transferring).
#[test]
fn a_blocked_waiter_is_woken_by_the_transfer() {
    use std::sync::mpsc;
    for inherit in [false, true] {
        let owner = Owner::new();
        let receiver = Owner::new();
        let options = if inherit {
            TableOptions::new().heir(&receiver, "inherited")
        } else {
            TableOptions::new()
        };
        let tab = owner.new_table(&name("woken"), options).unwrap();
        let (ready_tx, ready_rx) = mpsc::channel();
        let (got_tx, got_rx) = mpsc::channel();
        let waiter = receiver.clone();
        std::thread::spawn(move || {
            ready_tx.send(()).unwrap();
            let transfer = waiter.recv_transfer(Duration::from_secs(3600));
            let _ = got_tx.send(transfer.map(|t| (t.reason, t.gift)));
        });
        ready_rx.recv().unwrap();
        std::thread::sleep(Duration::from_millis(200));
        if inherit {
            owner.close();
        } else {
            tab.give_away(&receiver, "given").unwrap();
        }
        let got = got_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the blocked waiter was not woken by the transfer");
        let expected = if inherit {
            (TransferReason::Inherited, Term::from("inherited"))
        } else {
            (TransferReason::GivenAway, Term::from("given"))
        };
        assert_eq!(got, Some(expected));
    }
}
