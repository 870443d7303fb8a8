//! loom models of pinned readers. Run by `ci/loom`.
//!
//! A pin holds one reclamation guard over several reads, and the storage's reads through it
//! enter none of their own; under loom the reclaimer frees a retired pointer as soon as no
//! guard is active (see `storage::reclaim`), so if a pin's reads were not covered by its
//! guard, a writer's retirement racing them would free what they read and the models would
//! read poisoned memory. They also check what a pinned reader may see of a deletion: each read
//! returns the whole objects or `NoTable`, and once one read has seen `NoTable`, every later one
//! does (the deletion is never undone for a pin).

use loom::thread;

use crate::{Error, Owner, Pinned, TableOptions, TableType, Term};

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(f);
}

fn pair(k: i64, v: i64) -> Term {
    Term::Array(vec![Term::from(k), Term::from(v)])
}

/// The second elements of the objects with key 1.
fn values(pin: &Pinned<'_>) -> Result<Vec<i64>, Error> {
    pin.lookup_with(1, |objects| {
        objects
            .map(|o| o.element(2).unwrap().as_i64().unwrap())
            .collect()
    })
}

#[test]
fn loom_delete_table_while_a_pinned_reader_reads_twice() {
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
        let reader = thread::spawn(move || {
            let pin = match view.pin() {
                Ok(pin) => pin,
                Err(e) => return vec![Err(e)],
            };
            vec![values(&pin), values(&pin)]
        });
        bag.delete_table().unwrap();
        let mut gone = false;
        for result in reader.join().unwrap() {
            match result {
                Ok(v) => {
                    assert!(!gone, "a read after NoTable found objects: {v:?}");
                    assert_eq!(v, [1, 2]);
                }
                Err(e) => {
                    assert!(matches!(e, Error::NoTable { .. }), "{e}");
                    gone = true;
                }
            }
        }
    });
}

#[test]
fn loom_pinned_reads_while_a_writer_replaces_the_object() {
    model(|| {
        let owner = Owner::new();
        let set = owner
            .new_table("set", TableOptions::new().set().public())
            .unwrap();
        set.insert(pair(1, 1)).unwrap();
        let view = set.clone();
        let reader = thread::spawn(move || {
            let pin = view.pin().unwrap();
            let first = values(&pin).unwrap();
            let second = values(&pin).unwrap();
            (first, second)
        });
        set.insert(pair(1, 2)).unwrap();
        let (first, second) = reader.join().unwrap();
        // Whole objects, in the order they were written: never the new one then the old one.
        assert!(first == [1] || first == [2], "{first:?}");
        assert!(second == [1] || second == [2], "{second:?}");
        assert!(
            !(first == [2] && second == [1]),
            "went back: {first:?} {second:?}"
        );
    });
}
