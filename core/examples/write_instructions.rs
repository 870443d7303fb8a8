//! A fixed number of writes on one thread, for counting instructions per write with callgrind
//! (valid on a loaded machine, unlike wall-clock time). Run it twice with different counts and
//! divide the difference, which cancels the setup:
//!
//! ```sh
//! cargo build --release -p rets-core --example write_instructions
//! for n in 100000 200000; do
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/write_instructions insert ordered_set $n 2>&1 | grep refs
//! done   # instructions per write = (refs(200000) - refs(100000)) / 100000
//! ```
//!
//! Modes, on a public `set` or `ordered_set` with the objects of `benches/maps.rs`'s `ets`
//! section (`[K, 0, ["v", K]]`, integer keys, inserted as MessagePack):
//! - `insert`: fills fresh tables of 10k keys in a scattered order, as that section's insert
//!   does (one table per 10k writes, created and deleted in the count); an optional last
//!   argument splits each fill among that many threads (for a profiler);
//! - `exchange`: on a table of 10k keys, deletes a key and inserts it again, in a scattered
//!   order (each is one write): the key-set churn of the Exchange mix without its reads; an
//!   optional last argument splits the keys among that many threads;
//! - `read-beside` (for wall clock, not instructions): one thread's pinned lookups while
//!   another deletes and inserts again keys of the same table; prints the reader's time;
//! - `update`: on a table of 10k keys, sets each object's second element to 0 or 1 in turn by
//!   `update_element`, in a scattered order (each object updated many times);
//! - `update-fresh`: on a table of 10k keys, inserts a key's object again and then updates it
//!   once by `update_element` (each is one write): as in the Exchange mix, where an update
//!   mostly finds an object inserted since its key's last update;
//! - `insert-new`, `delete-object`: on a table of 10k keys, writes that find their key and
//!   change nothing: `insert_new` of an object whose key is present, `delete_object` of an
//!   object other than the key's.

use std::hint::black_box;

use rets_core::{Msgpack, Owner, Table, TableOptions, Term};

const KEYS: u64 = 10_000;

fn encode(buf: &mut Vec<u8>, k: u64) {
    buf.clear();
    rmp::encode::write_array_len(buf, 3).unwrap();
    rmp::encode::write_uint(buf, k).unwrap();
    rmp::encode::write_uint(buf, 0).unwrap();
    rmp::encode::write_array_len(buf, 2).unwrap();
    rmp::encode::write_str(buf, "v").unwrap();
    rmp::encode::write_uint(buf, k).unwrap();
}

fn table(owner: &Owner, ordered: bool) -> Table {
    let options = TableOptions::new().public();
    let options = if ordered {
        options.ordered_set()
    } else {
        options.set()
    };
    owner.new_table("t", options).unwrap()
}

/// A scattered order over `0..KEYS` (a stride coprime with it).
fn key(i: u64) -> u64 {
    (i * 7_919) % KEYS
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "insert".into());
    let ordered = match args.next().as_deref() {
        Some("set") | None => false,
        Some("ordered_set") => true,
        Some(other) => panic!("unknown table type {other:?}: set or ordered_set"),
    };
    let n: u64 = args.next().map_or(100_000, |a| a.parse().expect("a count"));
    let threads: u64 = args
        .next()
        .map_or(1, |a| a.parse().expect("a thread count"));
    let owner = Owner::new();
    let mut buf = Vec::with_capacity(32);
    match mode.as_str() {
        "insert" => {
            let mut done = 0;
            while done < n {
                let t = table(&owner, ordered);
                let count = KEYS.min(n - done);
                // Thread `w` of `threads` inserts every `threads`th key of the order.
                std::thread::scope(|s| {
                    for w in 0..threads {
                        let t = &t;
                        s.spawn(move || {
                            let mut buf = Vec::with_capacity(32);
                            for i in (w..count).step_by(threads as usize) {
                                encode(&mut buf, key(i));
                                t.insert(Msgpack(&buf)).unwrap();
                            }
                        });
                    }
                });
                done += count;
                black_box(t.info().unwrap().size);
                t.delete_table().unwrap();
            }
        }
        "exchange" => {
            let t = table(&owner, ordered);
            for i in 0..KEYS {
                encode(&mut buf, i);
                t.insert(Msgpack(&buf)).unwrap();
            }
            // Thread `w` of `threads` churns the keys `k` with `k % threads == w` (its own
            // keys, so that each delete and insert of a key stay a pair).
            std::thread::scope(|s| {
                for w in 0..threads {
                    let t = &t;
                    s.spawn(move || {
                        let mut buf = Vec::with_capacity(32);
                        for i in 0..n / 2 {
                            let k = key(i);
                            if k % threads != w {
                                continue;
                            }
                            t.delete(k).unwrap();
                            encode(&mut buf, k);
                            t.insert(Msgpack(&buf)).unwrap();
                        }
                    });
                }
            });
            assert_eq!(black_box(t.info().unwrap().size), KEYS as usize);
        }
        "read-beside" => {
            // One thread makes `n` pinned lookups while another deletes and inserts again
            // keys of the same table, as fast as it can, until the reader is done;
            // prints the reader's seconds (how much its reads pay for the writer's lines).
            let t = table(&owner, ordered);
            for i in 0..KEYS {
                encode(&mut buf, i);
                t.insert(Msgpack(&buf)).unwrap();
            }
            let done = std::sync::atomic::AtomicBool::new(false);
            let seconds = std::thread::scope(|s| {
                let (t, done) = (&t, &done);
                let reader = s.spawn(move || {
                    let start = std::time::Instant::now();
                    let pin = t.pin().unwrap();
                    let mut found = 0u64;
                    for i in 0..n {
                        found += u64::from(pin.member(key(i)).unwrap());
                    }
                    black_box(found);
                    done.store(true, std::sync::atomic::Ordering::Relaxed);
                    start.elapsed().as_secs_f64()
                });
                s.spawn(move || {
                    let mut buf = Vec::with_capacity(32);
                    let mut i = 0;
                    while !done.load(std::sync::atomic::Ordering::Relaxed) {
                        let k = key(i);
                        t.delete(k).unwrap();
                        encode(&mut buf, k);
                        t.insert(Msgpack(&buf)).unwrap();
                        i += 1;
                    }
                });
                reader.join().unwrap()
            });
            println!("reader: {seconds:.3} s");
        }
        "update" => {
            let t = table(&owner, ordered);
            for i in 0..KEYS {
                encode(&mut buf, i);
                t.insert(Msgpack(&buf)).unwrap();
            }
            let updates: Vec<(usize, Term)> = (0..2).map(|v| (2, Term::from(v))).collect();
            for i in 0..n {
                let update = &updates[(i % 2) as usize..][..1];
                assert!(t.update_element(key(i), update).unwrap());
            }
            assert_eq!(black_box(t.info().unwrap().size), KEYS as usize);
        }
        "update-fresh" => {
            let t = table(&owner, ordered);
            for i in 0..KEYS {
                encode(&mut buf, i);
                t.insert(Msgpack(&buf)).unwrap();
            }
            let update = [(2, Term::from(1))];
            for i in 0..n / 2 {
                let k = key(i);
                encode(&mut buf, k);
                t.insert(Msgpack(&buf)).unwrap();
                assert!(t.update_element(k, &update).unwrap());
            }
            assert_eq!(black_box(t.info().unwrap().size), KEYS as usize);
        }
        "insert-new" | "delete-object" => {
            // Writes that find their key and change nothing: insert_new of a key present, and
            // delete_object of an object other than the key's.
            let t = table(&owner, ordered);
            for i in 0..KEYS {
                encode(&mut buf, i);
                t.insert(Msgpack(&buf)).unwrap();
            }
            for i in 0..n {
                let k = key(i);
                encode(&mut buf, k);
                if mode == "insert-new" {
                    assert!(!t.insert_new(Msgpack(&buf)).unwrap());
                } else {
                    // The object's last byte is the key again (a fixint below 128): another
                    // object of the same key.
                    let last = buf.len() - 1;
                    buf[last] ^= 1;
                    t.delete_object(Msgpack(&buf)).unwrap();
                }
            }
            assert_eq!(black_box(t.info().unwrap().size), KEYS as usize);
        }
        other => panic!(
            "unknown mode {other:?}: insert, exchange, read-beside, update, update-fresh, \
             insert-new or delete-object"
        ),
    }
}
