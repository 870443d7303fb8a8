//! The table's own rules that integration tests cannot reach: what one key of a bag may hold
//! (its limits lowered here, see `KEY_LIMITS`) and that a failed write changes nothing.

use super::*;
use crate::tuple;

fn table(options: TableOptions) -> (Owner, Table) {
    let owner = Owner::new();
    let table = owner.new_table("t", options.public()).unwrap();
    (owner, table)
}

fn key_full(result: Result<impl fmt::Debug>) -> (usize, usize) {
    match result {
        Err(Error::KeyFull { objects, bytes, .. }) => (objects, bytes),
        other => panic!("expected KeyFull, got {other:?}"),
    }
}

#[test]
fn a_bag_key_holds_up_to_its_object_limit_and_a_refused_insert_changes_nothing() {
    let (max_objects, _) = KEY_LIMITS;
    for options in [
        TableOptions::new().bag(),
        TableOptions::new().duplicate_bag(),
    ] {
        let (_owner, t) = table(options);
        for i in 0..max_objects {
            t.insert(tuple!(1, i)).unwrap();
        }
        let (objects, _) = key_full(t.insert(tuple!(1, "one more")));
        assert_eq!(objects, max_objects + 1);
        assert_eq!(t.lookup(1).unwrap().len(), max_objects);
        assert_eq!(t.info().unwrap().size, max_objects);
        // Other keys are not limited by it.
        t.insert(tuple!(2, 0)).unwrap();
        assert_eq!(t.info().unwrap().size, max_objects + 1);
    }
    // A bag adds nothing for an object it already holds: no room needed.
    let (_owner, t) = table(TableOptions::new().bag());
    for i in 0..max_objects {
        t.insert(tuple!(1, i)).unwrap();
    }
    t.insert(tuple!(1, 0)).unwrap();
    assert_eq!(t.lookup(1).unwrap().len(), max_objects);
}

#[test]
fn a_bag_key_holds_up_to_its_byte_limit() {
    let (_, max_bytes) = KEY_LIMITS;
    let (_owner, t) = table(TableOptions::new().duplicate_bag());
    let pad = "x".repeat(500);
    let mut stored = 0;
    let mut bytes = 0;
    loop {
        let object = tuple!(1, stored, pad.as_str()).to_object(1).unwrap();
        let next = bytes + object::PACKED_HEADER + object.as_msgpack().len();
        let result = t.insert(tuple!(1, stored, pad.as_str()));
        if next > max_bytes {
            assert_eq!(key_full(result), (stored + 1, next));
            break;
        }
        result.unwrap();
        stored += 1;
        bytes = next;
    }
    assert!(stored >= 2, "the limit holds several such objects");
    assert_eq!(t.lookup(1).unwrap().len(), stored);
}

#[test]
fn a_list_insert_that_would_overfill_a_key_inserts_none_of_the_list() {
    let (max_objects, _) = KEY_LIMITS;
    let (_owner, t) = table(TableOptions::new().duplicate_bag());
    for i in 0..max_objects - 1 {
        t.insert(tuple!(1, i)).unwrap();
    }
    // The new key's object and the key's last free place are staged before the object that
    // overfills the key: all of it is dropped.
    key_full(t.insert_many([tuple!(2, "new"), tuple!(1, "last"), tuple!(1, "over")]));
    assert_eq!(t.lookup(2).unwrap().len(), 0);
    assert_eq!(t.lookup(1).unwrap().len(), max_objects - 1);
    assert_eq!(t.info().unwrap().size, max_objects - 1);
    // insert_new of a list: the same.
    let too_many: Vec<Term> = (0..=max_objects).map(|i| tuple!(3, i)).collect();
    key_full(t.insert_new_many(too_many));
    assert_eq!(t.lookup(3).unwrap().len(), 0);
    // Up to the limit, the list goes in.
    t.insert_many([tuple!(2, "new"), tuple!(1, "last")])
        .unwrap();
    assert_eq!(t.lookup(1).unwrap().len(), max_objects);
    assert_eq!(t.info().unwrap().size, max_objects + 1);
}

/// Each write path, on each engine: a closure that stages changes and then fails publishes
/// none of them.
#[test]
fn a_write_that_fails_after_staging_changes_nothing() {
    for options in [
        TableOptions::new().set(),
        TableOptions::new().ordered_set(),
        TableOptions::new().bag(),
    ] {
        let (_owner, t) = table(options);
        t.insert_many([tuple!(1, "a"), tuple!(2, "b")]).unwrap();
        let before = t.tab2list().unwrap();
        let (k1, k2, k3) = (
            Key::new(1).unwrap(),
            Key::new(2).unwrap(),
            Key::new(3).unwrap(),
        );
        let (k1, k2, k3) = (k1.as_msgpack(), k2.as_msgpack(), k3.as_msgpack());
        let object = |k: i64| tuple!(k, "changed").to_object(1).unwrap();
        let failed = t.write(&[k1, k2, k3], |txn| {
            txn.replace(k1, object(1));
            txn.remove(k2);
            txn.update(k3, |slot| slot.push(object(3)));
            Err::<(), _>(Error::KeyNotFound)
        });
        assert!(matches!(failed, Err(Error::KeyNotFound)));
        let failed = t.write_one(k1, |txn| {
            txn.remove(k1);
            Err::<(), _>(Error::KeyNotFound)
        });
        assert!(matches!(failed, Err(Error::KeyNotFound)));
        for key in [k1, k3] {
            let failed = t.write_in_place(key, |txn| {
                txn.replace(key, object(if key == k1 { 1 } else { 3 }));
                Err::<(), _>(Error::KeyNotFound)
            });
            assert!(matches!(failed, Err(Error::KeyNotFound)));
        }
        assert_eq!(
            t.tab2list().unwrap(),
            before,
            "{:?}",
            t.info().unwrap().table_type
        );
        assert_eq!(t.info().unwrap().size, 2);
        // The same writes succeed when they do not fail.
        t.write_in_place(k3, |txn| {
            txn.replace(k3, object(3));
            Ok(())
        })
        .unwrap();
        assert_eq!(t.info().unwrap().size, 3);
    }
}

#[test]
fn a_dropped_table_leaves_the_sweepers_registry_at_once() {
    let (owner, t) = table(TableOptions::new().ttl(std::time::Duration::from_secs(60)));
    t.insert(tuple!(1, 2)).unwrap();
    let at = Arc::as_ptr(&t.inner).cast::<()>();
    t.delete_table().unwrap();
    drop(t);
    drop(owner);
    // Without the table's own `forget_dropped`, the registry would hold it until the
    // sweeper's next round, a second away.
    assert!(!crate::cache::sweeper::holds_dropped(at));
}
