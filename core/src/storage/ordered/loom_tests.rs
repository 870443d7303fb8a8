//! loom models of the ordered storage's lock-free protocols (run by `ci/loom-ordered`).
//!
//! Under `--cfg rets_loom` the storage's atomics and locks are loom's (`crate::sync`) and
//! its reclaimer is loom-visible (`storage::reclaim`), nodes hold at most 4 keys (so two or three
//! keys are enough to split or merge), and every node a reader visits checks with loom that its
//! creation happened before the visit.
//! Each model races readers against writers and checks what the readers see.

use loom::thread;

use super::*;
use crate::object::ToObject;
use crate::term::Term;

fn key(i: i64) -> Vec<u8> {
    let mut out = Vec::new();
    term::encode(&Term::Int(i), &mut out).unwrap();
    out
}

fn obj(i: i64, v: i64) -> Object {
    Term::Array(vec![Term::Int(i), Term::Int(v)])
        .to_object(1)
        .unwrap()
}

fn put(s: &OrderedStorage, i: i64, v: i64) {
    let k = key(i);
    s.write(&[&k], |mut t| t.update(&k, |o| *o = vec![obj(i, v)]));
}

fn put_many(s: &OrderedStorage, items: &[(i64, i64)]) {
    let keys: Vec<Vec<u8>> = items.iter().map(|&(i, _)| key(i)).collect();
    let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    s.write(&refs, |mut t| {
        for (&(i, v), k) in items.iter().zip(&keys) {
            t.update(k, |o| *o = vec![obj(i, v)]);
        }
    });
}

fn del(s: &OrderedStorage, i: i64) {
    let k = key(i);
    s.write(&[&k], |mut t| t.update(&k, Vec::clear));
}

/// The value stored under `i`, checking that the object is whole.
fn get(s: &OrderedStorage, i: i64) -> Option<i64> {
    s.read(&key(i), |mut objects| {
        let o = objects.next()?;
        assert!(objects.next().is_none());
        assert_eq!(o.key().as_i64(), Some(i));
        o.element(2).and_then(|v| v.as_i64())
    })
}

/// Keys by `step` from the first, in `direction`.
fn traverse(s: &OrderedStorage, direction: Direction) -> Vec<i64> {
    let mut out = Vec::new();
    let mut at: Option<Key> = None;
    while let Some((k, ())) = s.step(at.as_ref().map(Key::as_msgpack), direction, |_| ()) {
        out.push(k.to_term().as_i64().unwrap());
        at = Some(k);
    }
    out
}

fn prefilled(keys: impl IntoIterator<Item = i64>) -> Arc<OrderedStorage> {
    let s = Arc::new(OrderedStorage::new());
    for i in keys {
        put(&s, i, i);
    }
    s
}

use loom::sync::Arc;

/// A leaf splits (and the root grows) while a reader looks keys up.
#[test]
fn split_during_lookups() {
    loom::model(|| {
        let s = prefilled(1..=4);
        let w = {
            let s = s.clone();
            thread::spawn(move || put(&s, 5, 5))
        };
        for i in 1..=4 {
            assert_eq!(get(&s, i), Some(i));
        }
        let five = get(&s, 5);
        assert!(five.is_none() || five == Some(5));
        w.join().unwrap();
        assert_eq!(get(&s, 5), Some(5));
        assert_eq!(s.size(), 5);
    });
}

/// Two writers (an in-place replacement and a delete) race a reader.
#[test]
fn replace_and_delete_during_lookups() {
    loom::model(|| {
        let s = prefilled(1..=2);
        let w1 = {
            let s = s.clone();
            thread::spawn(move || put(&s, 1, 10))
        };
        let w2 = {
            let s = s.clone();
            thread::spawn(move || del(&s, 2))
        };
        let first = get(&s, 1);
        let second = get(&s, 1);
        assert!(matches!(first, Some(1) | Some(10)));
        // Once the new value is seen, the old one never comes back.
        assert!(!(first == Some(10) && second == Some(1)));
        assert!(matches!(get(&s, 2), None | Some(2)));
        w1.join().unwrap();
        w2.join().unwrap();
        assert_eq!(get(&s, 1), Some(10));
        assert_eq!(get(&s, 2), None);
        assert_eq!(s.size(), 1);
    });
}

/// A multi-key write (which also splits a leaf) is never seen in part: by a reader that looks
/// the keys up in reverse order, nor by a traversal.
#[test]
fn multi_key_write_is_atomic_for_readers() {
    loom::model(|| {
        let s = prefilled(1..=3);
        let w = {
            let s = s.clone();
            thread::spawn(move || put_many(&s, &[(10, 10), (11, 11)]))
        };
        let late = get(&s, 11);
        let early = get(&s, 10);
        if late.is_some() {
            assert_eq!(early, Some(10), "saw key 11 of the write but not key 10");
        }
        let mut seen = Vec::new();
        s.for_each(Direction::Forward, |o| seen.push(o.key().as_i64().unwrap()));
        assert!(
            seen == [1, 2, 3] || seen == [1, 2, 3, 10, 11],
            "for_each saw {seen:?}"
        );
        w.join().unwrap();
        assert_eq!(traverse(&s, Direction::Forward), [1, 2, 3, 10, 11]);
    });
}

/// A traversal by `step` while keys are deleted (leaves merge and empty): strictly ordered, no
/// key twice, every key that stays is seen.
#[test]
fn traversal_during_deletes() {
    loom::model(|| {
        let s = prefilled(1..=6);
        let w = {
            let s = s.clone();
            thread::spawn(move || {
                del(&s, 3);
                del(&s, 4);
            })
        };
        for direction in [Direction::Forward, Direction::Backward] {
            let mut seen = traverse(&s, direction);
            if direction == Direction::Backward {
                seen.reverse();
            }
            assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
            for stable in [1, 2, 5, 6] {
                assert!(seen.contains(&stable), "{seen:?} misses {stable}");
            }
        }
        w.join().unwrap();
        assert_eq!(traverse(&s, Direction::Forward), [1, 2, 5, 6]);
    });
}

/// `clear` while a reader holds objects (inside its callback) and walks the tree.
#[test]
fn clear_while_readers_hold_guards() {
    loom::model(|| {
        let s = prefilled(1..=5);
        let w = {
            let s = s.clone();
            thread::spawn(move || s.clear())
        };
        let whole = s.read(&key(4), |objects| {
            let v = objects.clone().next().map(|o| o.to_object());
            thread::yield_now();
            // Still readable after the clear may have happened.
            assert_eq!(objects.clone().next().map(|o| o.to_object()), v);
            v
        });
        assert!(whole.is_none() || whole == Some(obj(4, 4)));
        let mut seen = 0;
        s.for_each(Direction::Forward, |_| seen += 1);
        assert!(
            seen == 0 || seen == 5,
            "a clear is seen whole or not at all"
        );
        w.join().unwrap();
        assert_eq!(s.size(), 0);
        assert_eq!(traverse(&s, Direction::Forward), Vec::<i64>::new());
    });
}

/// Two multi-key writers that share a key, and a reader's snapshot: each write is seen whole,
/// and the shared key holds the value of the last write the snapshot includes.
#[test]
fn overlapping_multi_key_writes() {
    loom::model(|| {
        let s = prefilled(1..=2);
        let w1 = {
            let s = s.clone();
            thread::spawn(move || put_many(&s, &[(4, 4), (5, 5)]))
        };
        let w2 = {
            let s = s.clone();
            thread::spawn(move || put_many(&s, &[(5, 50), (6, 6)]))
        };
        let mut seen = BTreeMap::new();
        s.for_each(Direction::Forward, |o| {
            seen.insert(
                o.key().as_i64().unwrap(),
                o.element(2).unwrap().as_i64().unwrap(),
            );
        });
        let (four, six) = (seen.contains_key(&4), seen.contains_key(&6));
        match (four, six) {
            (false, false) => assert!(!seen.contains_key(&5)),
            (true, false) => assert_eq!(seen.get(&5), Some(&5)),
            (false, true) => assert_eq!(seen.get(&5), Some(&50)),
            (true, true) => assert!(matches!(seen.get(&5), Some(5) | Some(50))),
        }
        w1.join().unwrap();
        w2.join().unwrap();
        assert_eq!(traverse(&s, Direction::Forward), [1, 2, 4, 5, 6]);
        assert_eq!(s.size(), 5);
    });
}

/// A forward traversal while one multi-key write adds a key at each end (a split at the
/// front): strictly ordered, every stable key seen.
#[test]
fn traversal_during_a_multi_key_insert() {
    loom::model(|| {
        let s = prefilled(1..=4);
        let w = {
            let s = s.clone();
            thread::spawn(move || put_many(&s, &[(0, 0), (10, 10)]))
        };
        let seen = traverse(&s, Direction::Forward);
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
        assert!((1..=4).all(|k| seen.contains(&k)), "{seen:?}");
        w.join().unwrap();
        assert_eq!(traverse(&s, Direction::Forward), [0, 1, 2, 3, 4, 10]);
    });
}

/// A chunk over several leaves (one descent, then leaf by leaf under one guard) during a
/// multi-key insert that splits a leaf: it reads one tree, so it holds both new keys or
/// neither, and every stable key once, in order.
#[test]
fn chunk_during_a_multi_key_insert() {
    loom::model(|| {
        let s = prefilled(1..=6);
        let w = {
            let s = s.clone();
            thread::spawn(move || put_many(&s, &[(0, 0), (10, 10)]))
        };
        let mut seen = Vec::new();
        let chunk = s.chunk(Start::First, Direction::Forward, 100, |k, _| {
            seen.push(Key::from_canonical(k).to_term().as_i64().unwrap());
            ControlFlow::Continue(())
        });
        assert!(chunk.exhausted && chunk.keys == seen.len());
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
        assert!((1..=6).all(|k| seen.contains(&k)), "{seen:?}");
        assert_eq!(
            seen.contains(&0),
            seen.contains(&10),
            "half a write: {seen:?}"
        );
        w.join().unwrap();
    });
}

/// Adds `by` to the value of `i` (present) through an in-place write.
fn add_in_place(s: &OrderedStorage, i: i64, by: i64) {
    let k = key(i);
    s.write_in_place(&k, |mut t| {
        let now = t.get(&k).next().and_then(|o| o.element(2)?.as_i64());
        let now = now.expect("the key is present");
        t.replace(&k, obj(i, now + by));
    });
}

/// In-place writers of one key and of a neighbour in its leaf run beside each other: no update
/// is lost (the slot's stripe serialises the first two), and a reader sees whole objects with
/// values that only grow.
#[test]
fn in_place_writers_lose_no_update() {
    loom::model(|| {
        let s = prefilled(1..=2);
        let w1 = {
            let s = s.clone();
            thread::spawn(move || add_in_place(&s, 1, 10))
        };
        let w2 = {
            let s = s.clone();
            thread::spawn(move || {
                add_in_place(&s, 1, 100);
                add_in_place(&s, 2, 1000);
            })
        };
        let first = get(&s, 1).unwrap();
        let second = get(&s, 1).unwrap();
        assert!([1, 11, 101, 111].contains(&first), "{first}");
        assert!(second >= first);
        w1.join().unwrap();
        w2.join().unwrap();
        assert_eq!(get(&s, 1), Some(111));
        assert_eq!(get(&s, 2), Some(1002));
        assert_eq!(s.size(), 2);
    });
}

/// An in-place writer races a writer that splits the key's leaf (copying its slots): the
/// in-place replacement is never lost in the copy, and the new key arrives.
#[test]
fn in_place_write_survives_a_split() {
    loom::model(|| {
        let s = prefilled(1..=4);
        let w = {
            let s = s.clone();
            thread::spawn(move || add_in_place(&s, 1, 10))
        };
        put(&s, 5, 5);
        let seen = get(&s, 1).unwrap();
        assert!(seen == 1 || seen == 11, "{seen}");
        w.join().unwrap();
        assert_eq!(get(&s, 1), Some(11));
        assert_eq!(get(&s, 5), Some(5));
        assert_eq!(s.size(), 5);
    });
}

/// Adds `i` with value `v` through a one-key write that never removes it (`Table::insert`'s
/// path): a leaf writer when the key's leaf has room.
fn add_one(s: &OrderedStorage, i: i64, v: i64) {
    let k = key(i);
    s.write_in_place(&k, |mut t| t.replace(&k, obj(i, v)));
}

/// Removes `i` through a one-key write (`Table::delete`'s path): a leaf writer when the leaf
/// keeps more than a quarter of its keys.
fn remove_one(s: &OrderedStorage, i: i64) {
    let k = key(i);
    s.write_one(&k, true, |mut t| t.update(&k, Vec::clear));
}

/// Two leaf writers add keys to one leaf (each copies the leaf and stores the copy into the
/// parent) while a reader looks up and walks it: the leaf's stripe serialises them, so neither
/// key is lost, and the reader sees every old key, in order.
#[test]
fn leaf_writers_of_one_leaf_lose_no_key() {
    loom::model(|| {
        let s = prefilled(1..=2);
        let w1 = {
            let s = s.clone();
            thread::spawn(move || add_one(&s, 3, 3))
        };
        let w2 = {
            let s = s.clone();
            thread::spawn(move || add_one(&s, 4, 4))
        };
        assert_eq!(get(&s, 1), Some(1));
        let seen = traverse(&s, Direction::Forward);
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
        assert!(seen.starts_with(&[1, 2]), "{seen:?}");
        w1.join().unwrap();
        w2.join().unwrap();
        assert_eq!(traverse(&s, Direction::Forward), [1, 2, 3, 4]);
        assert_eq!(s.size(), 4);
    });
}

/// A leaf writer adds a key to the leaf of a key that an in-place writer is updating: the leaf
/// copy carries the update or comes before it, never drops it (both hold the leaf's stripe; the
/// in-place writer finds its slot in the leaf it reads under the stripe).
#[test]
fn a_leaf_write_keeps_an_in_place_update() {
    loom::model(|| {
        let s = prefilled(1..=2);
        let w1 = {
            let s = s.clone();
            thread::spawn(move || add_in_place(&s, 1, 10))
        };
        let w2 = {
            let s = s.clone();
            thread::spawn(move || add_one(&s, 3, 3))
        };
        let seen = get(&s, 1).unwrap();
        assert!(seen == 1 || seen == 11, "{seen}");
        w1.join().unwrap();
        w2.join().unwrap();
        assert_eq!(get(&s, 1), Some(11));
        assert_eq!(get(&s, 3), Some(3));
        assert_eq!(s.size(), 3);
    });
}

/// A leaf writer removes a key while another adds one to the same leaf and a reader reads it:
/// the removed key, once seen gone, stays gone; the stable keys are always there.
#[test]
fn leaf_removal_beside_a_leaf_insert() {
    loom::model(|| {
        let s = prefilled(1..=3);
        let w1 = {
            let s = s.clone();
            thread::spawn(move || remove_one(&s, 2))
        };
        let w2 = {
            let s = s.clone();
            thread::spawn(move || add_one(&s, 4, 4))
        };
        let first = get(&s, 2);
        let second = get(&s, 2);
        assert!(
            !(first.is_none() && second.is_some()),
            "a removed key came back"
        );
        assert_eq!(get(&s, 3), Some(3));
        w1.join().unwrap();
        w2.join().unwrap();
        assert_eq!(traverse(&s, Direction::Forward), [1, 3, 4]);
        assert_eq!(s.size(), 3);
    });
}

/// A leaf writer races a writer that splits the same leaf (exclusive: it copies the leaf and
/// its parent): whichever goes first, the other sees its key, and no key is lost.
#[test]
fn a_leaf_write_races_a_split() {
    loom::model(|| {
        let s = prefilled(1..=3);
        let w = {
            let s = s.clone();
            thread::spawn(move || add_one(&s, 4, 4))
        };
        put_many(&s, &[(5, 5), (6, 6)]);
        w.join().unwrap();
        assert_eq!(traverse(&s, Direction::Forward), [1, 2, 3, 4, 5, 6]);
        assert_eq!(traverse(&s, Direction::Backward), [6, 5, 4, 3, 2, 1]);
        assert_eq!(s.size(), 6);
    });
}

/// A tree whose root has two inner children, the second the parent of two leaves: a full one
/// (170 to 200) and one with room (300), so that a key added to the full leaf splits it within
/// that parent (which is not the root), and one added after 300 is a leaf write beside it.
fn two_level_tree() -> Arc<OrderedStorage> {
    let s = prefilled((1..=20).map(|i| i * 10).chain([300]));
    // SAFETY: no writer runs; the storage keeps its tree alive.
    unsafe {
        let root = &*s.root.load(Ordering::Acquire);
        assert!(
            !root.leaf_children && root.len == 2,
            "the shape the models need"
        );
        let parent = &*root.children[1].get().cast::<Inner>();
        assert!(parent.leaf_children && parent.len == 2);
        assert_eq!((*parent.children[0].get().cast::<node::Leaf>()).len, CAP);
    }
    s
}

/// A split within its parent (a copy of the parent stored into the root's child pointer)
/// races a leaf writer of the other leaf of that parent, which may have found the old parent:
/// it waits for the parent's stripe, sees the parent replaced and searches again, so neither
/// key is lost; a reader always sees the stable keys, in order. Fails if `write_one` does not
/// check `replaced` (the leaf writer stores into the old parent, which nothing reads).
#[test]
fn a_split_in_its_parent_races_a_write_to_a_sibling_leaf() {
    loom::model(|| {
        let s = two_level_tree();
        let w = {
            let s = s.clone();
            thread::spawn(move || add_one(&s, 175, 175))
        };
        add_one(&s, 310, 310);
        assert_eq!(get(&s, 200), Some(200));
        w.join().unwrap();
        assert_eq!(get(&s, 175), Some(175));
        assert_eq!(get(&s, 310), Some(310));
        assert_eq!(get(&s, 300), Some(300));
        assert_eq!(s.size(), 23);
    });
}

/// A split within its parent races a reader that looks up and walks that part of the tree:
/// the reader sees the old parent or its copy, each whole: every stable key, in order, and
/// the new key whole or not at all.
#[test]
fn a_split_in_its_parent_during_reads() {
    loom::model(|| {
        let s = two_level_tree();
        let w = {
            let s = s.clone();
            thread::spawn(move || add_one(&s, 185, 185))
        };
        let new = get(&s, 185);
        assert!(new.is_none() || new == Some(185));
        assert_eq!(get(&s, 190), Some(190));
        // Back from 300 to 170, across the split leaf (a whole traversal is too long a
        // model).
        let mut keys = Vec::new();
        let mut at = key(300);
        while let Some((k, ())) = s.step(Some(&at), Direction::Backward, |_| ()) {
            let i = k.to_term().as_i64().unwrap();
            keys.push(i);
            if i <= 170 {
                break;
            }
            at = k.as_msgpack().to_vec();
        }
        let stable = [200, 190, 180, 170];
        let with_new = [200, 190, 185, 180, 170];
        assert!(keys == stable || keys == with_new, "{keys:?}");
        w.join().unwrap();
        assert_eq!(get(&s, 185), Some(185));
        assert_eq!(s.size(), 22);
    });
}

/// Two splits of the root's leaves within the root (each stores a new root) race: each
/// writer holds the root's stripe, the second sees the root replaced and searches again, so
/// neither key is lost.
#[test]
fn two_splits_in_the_root_lose_no_key() {
    loom::model(|| {
        // Two full leaves (1 to 4, 5 to 8) under the root.
        let s = prefilled(1..=8);
        let w = {
            let s = s.clone();
            thread::spawn(move || add_one(&s, 0, 0))
        };
        add_one(&s, 9, 9);
        w.join().unwrap();
        assert_eq!(
            traverse(&s, Direction::Forward),
            [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
        );
        assert_eq!(s.size(), 10);
    });
}

/// Stores `[i, v]` as a counter (an entry that later counter updates change in place).
fn put_counter(s: &OrderedStorage, i: i64, v: i64) {
    let k = key(i);
    s.write_in_place(&k, |mut t| t.replace_changeable(&k, obj(i, v)));
}

/// Overwrites bytes of counter `i`'s object from `at` in place; returns whether the storage
/// took the edit.
fn overwrite(s: &OrderedStorage, i: i64, at: usize, bytes: &[u8]) -> bool {
    let k = key(i);
    s.write_in_place(&k, |mut t| t.overwrite(&k, &[(at, bytes)]))
}

/// A counter changed in place, then rebuilt (a wider value: a new entry, the old one retired
/// while a reader may be copying it), changed in place again, then deleted: the reader sees
/// the values in write order, each whole, and never a freed entry. (The object bytes are
/// copied with std atomics, which loom does not see; the seqlock's own model is in
/// `storage::seqlock`.)
#[test]
fn counter_changed_in_place_then_replaced_races_with_lookup() {
    loom::model(|| {
        let s = prefilled([2]);
        put_counter(&s, 1, 10);
        let reader = {
            let s = s.clone();
            thread::spawn(move || (get(&s, 1), get(&s, 1)))
        };
        // `[1, 10]` is 0x92 0x01 0x0a: the value is the third byte.
        assert!(
            overwrite(&s, 1, 2, &[11]),
            "a stored counter changes in place"
        );
        put_counter(&s, 1, 1000);
        // `[1, 1000]` is 0x92 0x01 0xcd 0x03 0xe8: the value's two bytes from the fourth.
        assert!(overwrite(&s, 1, 3, &1001u16.to_be_bytes()));
        del(&s, 1);
        let (a, b) = reader.join().unwrap();
        let order = [Some(10), Some(11), Some(1000), Some(1001), None];
        let at = |v| {
            order
                .iter()
                .position(|o| *o == v)
                .expect("a value that was written")
        };
        assert!(at(a) <= at(b), "{a:?} then {b:?}");
        assert_eq!(get(&s, 1), None);
    });
}

/// A counter changed in place races a writer that splits its leaf (copying the entry's pointer
/// into a new leaf): the change is never lost, the entry stays changeable in place in the new
/// leaf, and a reader sees the old value or the new one.
#[test]
fn counter_changed_in_place_survives_a_split() {
    loom::model(|| {
        let s = prefilled(2..=4);
        put_counter(&s, 1, 10);
        let w = {
            let s = s.clone();
            thread::spawn(move || assert!(overwrite(&s, 1, 2, &[11])))
        };
        put(&s, 5, 5);
        let seen = get(&s, 1).unwrap();
        assert!(seen == 10 || seen == 11, "{seen}");
        w.join().unwrap();
        assert!(overwrite(&s, 1, 2, &[12]), "still in place after the split");
        assert_eq!(get(&s, 1), Some(12));
        assert_eq!(get(&s, 5), Some(5));
        assert_eq!(s.size(), 5);
    });
}

/// Adds one to counter `i` in place, as `update_counter` does: reads the value and writes the
/// new byte in one transaction (values below 127 are one byte, the object's third).
fn add_one_in_place(s: &OrderedStorage, i: i64) {
    let k = key(i);
    s.write_in_place(&k, |mut t| {
        let now = t.get(&k).next().and_then(|o| o.element(2)?.as_i64());
        let now = u8::try_from(now.expect("the key is present")).unwrap();
        assert!(t.overwrite(&k, &[(2, &[now + 1])]), "changed in place");
    });
}

/// Two writers change one counter in place at once: the entry's lock (taken by each
/// transaction when it finds the entry) serialises them, so no update is lost.
#[test]
fn counter_writers_in_place_lose_no_update() {
    loom::model(|| {
        let s = prefilled([2]);
        put_counter(&s, 1, 10);
        let w = {
            let s = s.clone();
            thread::spawn(move || add_one_in_place(&s, 1))
        };
        add_one_in_place(&s, 1);
        w.join().unwrap();
        assert_eq!(get(&s, 1), Some(12));
    });
}

/// Adds one to counter `i` without a transaction, as `update_counter` does when the counter
/// keeps its width (`OrderedStorage::change_in_place`): reads the value, then writes the new
/// byte, both under the entry's lock (and no stripe).
fn add_one_directly(s: &OrderedStorage, i: i64) {
    assert!(try_add_one_directly(s, i), "changed in place");
}

/// [`add_one_directly`]; whether it found the counter (in the tree) and changed it.
fn try_add_one_directly(s: &OrderedStorage, i: i64) -> bool {
    let k = key(i);
    let done = s.change_in_place(
        &k,
        &mut 0u8,
        |now, current| {
            let value = current.element(2).and_then(|v| v.as_i64());
            *now = u8::try_from(value.expect("the key is present")).unwrap();
            InPlace::Write(())
        },
        |now, write| write(&[(2, &[*now + 1])]),
    );
    done.is_some()
}

/// Two writers change one counter without a transaction at once, and one does beside a
/// transaction's in-place change: the entry's lock serialises them all, so no update is lost.
/// With the lock taken by a load and a store instead of a compare-and-swap, or not at all by
/// the writer without a transaction, an update is lost.
#[test]
fn counter_writers_without_a_transaction_lose_no_update() {
    loom::model(|| {
        let s = prefilled([2]);
        put_counter(&s, 1, 10);
        let w = {
            let s = s.clone();
            thread::spawn(move || add_one_directly(&s, 1))
        };
        add_one_directly(&s, 1);
        w.join().unwrap();
        assert_eq!(get(&s, 1), Some(12));
    });
    loom::model(|| {
        let s = prefilled([2]);
        put_counter(&s, 1, 10);
        let w = {
            let s = s.clone();
            thread::spawn(move || add_one_directly(&s, 1))
        };
        add_one_in_place(&s, 1);
        w.join().unwrap();
        assert_eq!(get(&s, 1), Some(12));
    });
}

/// A counter changed without a transaction races a writer that splits its leaf: the change
/// lands in the entry the tree keeps (the split copies the entry's pointer), and a reader sees
/// the old value or the new one.
#[test]
fn a_counter_changed_without_a_transaction_survives_a_split() {
    loom::model(|| {
        let s = prefilled(2..=4);
        put_counter(&s, 1, 10);
        let w = {
            let s = s.clone();
            thread::spawn(move || add_one_directly(&s, 1))
        };
        put(&s, 5, 5);
        let seen = get(&s, 1).unwrap();
        assert!(seen == 10 || seen == 11, "{seen}");
        w.join().unwrap();
        assert_eq!(get(&s, 1), Some(11));
        assert_eq!(get(&s, 5), Some(5));
        assert_eq!(s.size(), 5);
    });
}

/// Adds one to counter `i` in a transaction that replaces its entry (as `update_counter` does
/// when the value changes width, or `update_element`): reads the value, stores a new counter
/// object; `exclusive`: through the writer that holds every stripe.
fn add_one_by_a_new_entry(s: &OrderedStorage, i: i64, exclusive: bool) {
    let k = key(i);
    let txn = |mut t: Txn<'_, '_>| {
        let now = t.get(&k).next().and_then(|o| o.element(2)?.as_i64());
        t.replace_changeable(&k, obj(i, now.expect("the key is present") + 1));
    };
    if exclusive {
        s.write(&[&k], txn);
    } else {
        s.write_in_place(&k, txn);
    }
}

/// A writer without a transaction (no stripe: it finds the entry as a reader does, then locks
/// it) races a transaction that reads the counter and replaces its entry with a new one: no
/// update is lost. The transaction holds the entry's lock from its search to its published
/// commit and marks the entry retired; without the lock held that long, the transaction
/// replaces the entry with a value that misses the other change, and without the retired
/// mark, the writer changes the old entry after the commit, out of the tree.
#[test]
fn a_counter_replaced_by_a_transaction_beside_a_writer_without_one_loses_no_update() {
    for exclusive in [false, true] {
        loom::model(move || {
            let s = prefilled([2]);
            put_counter(&s, 1, 10);
            let w = {
                let s = s.clone();
                thread::spawn(move || {
                    // A writer that finds the entry retired leaves it to a transaction, as
                    // `Table::update_counter` does.
                    if !try_add_one_directly(&s, 1) {
                        add_one_in_place(&s, 1);
                    }
                })
            };
            add_one_by_a_new_entry(&s, 1, exclusive);
            w.join().unwrap();
            assert_eq!(get(&s, 1), Some(12));
        });
    }
}

/// A writer without a transaction races one that takes the counter out (reads it, removes the
/// key: `take`), through a copy of the leaf or the exclusive path's merge: either the change
/// comes first and the taken object carries it, or the writer finds the key gone; never a
/// change that succeeds on the taken entry after the take read it.
#[test]
fn a_counter_taken_beside_a_writer_without_a_transaction() {
    // Three keys: the removal fits the leaf (a copy of it); two: it is the exclusive path's.
    for others in [vec![2, 3], vec![2]] {
        loom::model(move || {
            let s = prefilled(others.clone());
            put_counter(&s, 1, 10);
            let w = {
                let s = s.clone();
                thread::spawn(move || try_add_one_directly(&s, 1))
            };
            let k = key(1);
            let taken = s.write_one(&k, true, |mut t| {
                let now = t.get(&k).next().and_then(|o| o.element(2)?.as_i64());
                t.update(&k, Vec::clear);
                now
            });
            let changed = w.join().unwrap();
            let expected = if changed { 11 } else { 10 };
            assert_eq!(taken, Some(expected), "changed: {changed}");
            assert_eq!(get(&s, 1), None);
        });
    }
}

/// A purge that finds nothing to remove still returns only once the count includes every
/// removal its walk could see: a multi-key writer (the sweeper's purge) stores its new tree
/// before it counts the change, so a walk can see the keys gone while `size` still counts
/// them, and a rejecting write that purged and looked again refused with room
/// (`Bounds::make_room`; found by the `table_cache` fuzz target).
#[test]
fn a_purge_returns_with_the_count_of_what_its_walk_saw() {
    loom::model(|| {
        let s = prefilled([1, 2]);
        let w = {
            let s = s.clone();
            thread::spawn(move || {
                let keys = [key(1), key(2)];
                s.write(&[&keys[0], &keys[1]], |mut t| {
                    for k in &keys {
                        t.update(k, Vec::clear);
                    }
                });
            })
        };
        let gone = traverse(&s, Direction::Forward).is_empty();
        s.purge_expired();
        if gone {
            assert_eq!(s.size(), 0, "the keys were gone but still counted");
        }
        w.join().unwrap();
        assert_eq!(s.size(), 0);
    });
}
