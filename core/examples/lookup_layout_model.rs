//! A model of two hash slot layouts, outside rets, to weigh the one-miss layout before building
//! it: lookups of random present keys in a table of `n` keys, one thread, wall clock.
//!
//! - *slot + node* (the layout rets has): 16-byte slots `{hash, node}` probed linearly, each
//!   key's object in a block of its own (allocated in a scattered order, as after churn), so a
//!   lookup that finds its slot then loads the node: two dependent accesses.
//! - *inline*: 64-byte slots `{version, hash, len, bytes}` probed linearly, the object copied out
//!   of the slot under its version (as a sequence-lock reader would): one access.
//!
//! Both copy the object out (19 bytes, a two-integer MessagePack array). `pad` adds the same
//! fixed work to every lookup of both (four independent chains of `pad` rotate-xor steps), a
//! stand-in for the rest of a real lookup (rets's pinned lookup runs about 175 instructions):
//! the more work per lookup, the fewer lookups' misses the core keeps in flight at once.
//!
//! ```sh
//! cargo run --release -p rets-core --example lookup_layout_model -- 1000000 0.75 10
//! ```
//! Arguments: keys (default 1,000,000), load factor (0.75), pad (0). Prints three rounds of
//! ns per lookup for each layout, and the pad's own cost without any lookup.

use std::hint::black_box;
use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::time::Instant;

const LOOKUPS: u64 = 5_000_000;
const OBJECT: usize = 19;

fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The object of key `k`: `[k, 3k]` as MessagePack with 64-bit integers.
fn object(k: u64) -> [u8; OBJECT] {
    let mut o = [0u8; OBJECT];
    o[0] = 0x92;
    o[1] = 0xcf;
    o[2..10].copy_from_slice(&k.to_be_bytes());
    o[10] = 0xcf;
    o[11..19].copy_from_slice(&(k * 3).to_be_bytes());
    o
}

/// The fixed per-lookup work, folded into the result so that it is not optimised away.
#[inline(always)]
fn pad(q: u64, k: u64, steps: u64) -> u64 {
    let (mut a, mut b, mut c, mut d) = (q, q ^ 1, q ^ 2, q ^ 3);
    for _ in 0..steps {
        a = a.rotate_left(5) ^ k;
        b = b.rotate_left(7) ^ k;
        c = c.rotate_left(11) ^ k;
        d = d.rotate_left(13) ^ k;
    }
    (a ^ b ^ c ^ d) & 1
}

#[derive(Clone, Copy, Default)]
struct Slot16 {
    hash: u64,
    /// Index of the node in `nodes` (its block is reached through it: the second access).
    node: usize,
}

#[repr(C, align(64))]
struct Slot64 {
    version: AtomicU64,
    hash: u64,
    len: usize,
    bytes: [u8; 40],
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().map_or(1_000_000, |s| s.parse().expect("keys"));
    let load: f64 = args
        .next()
        .map_or(0.75, |s| s.parse().expect("load factor"));
    let steps: u64 = args.next().map_or(0, |s| s.parse().expect("pad"));
    let capacity = ((n as f64 / load) as usize).next_power_of_two();
    let mask = capacity as u64 - 1;
    // A tail after the last home slot, as rets's arrays have: probes never wrap around.
    let tail = 64;

    let mut order: Vec<u64> = (0..n).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, (mix(i as u64) % (i as u64 + 1)) as usize);
    }
    let mut slots16 = vec![Slot16::default(); capacity + tail];
    let mut nodes: Vec<Box<[u8]>> = Vec::with_capacity(n as usize);
    for &k in &order {
        let hash = mix(k) | 1;
        let mut i = (hash & mask) as usize;
        while slots16[i].hash != 0 {
            i += 1;
        }
        // A 12-byte header before the object, as a rets node has.
        let mut node = vec![0u8; 12];
        node.extend_from_slice(&object(k));
        slots16[i] = Slot16 {
            hash,
            node: nodes.len(),
        };
        nodes.push(node.into_boxed_slice());
    }
    let mut slots64: Vec<Slot64> = (0..capacity + tail)
        .map(|_| Slot64 {
            version: AtomicU64::new(0),
            hash: 0,
            len: 0,
            bytes: [0; 40],
        })
        .collect();
    for k in 0..n {
        let hash = mix(k) | 1;
        let mut i = (hash & mask) as usize;
        while slots64[i].hash != 0 {
            i += 1;
        }
        slots64[i].hash = hash;
        slots64[i].len = OBJECT;
        slots64[i].bytes[..OBJECT].copy_from_slice(&object(k));
    }

    for round in 0..3 {
        let key = |q: u64| mix(q + round * 7919) % n;
        let mut sum = 0u64;
        let start = Instant::now();
        for q in 0..LOOKUPS {
            sum += pad(q, key(q), steps);
        }
        let alone = start.elapsed().as_nanos() as f64 / LOOKUPS as f64;

        let start = Instant::now();
        for q in 0..LOOKUPS {
            let k = key(q);
            let hash = mix(k) | 1;
            sum += pad(q, k, steps);
            let mut i = (hash & mask) as usize;
            while slots16[i].hash != hash {
                i += 1;
            }
            let node = &nodes[slots16[i].node];
            let mut out = [0u8; 40];
            out[..OBJECT].copy_from_slice(&node[12..12 + OBJECT]);
            sum += u64::from(black_box(out)[9]);
        }
        let split = start.elapsed().as_nanos() as f64 / LOOKUPS as f64;

        let start = Instant::now();
        for q in 0..LOOKUPS {
            let k = key(q);
            let hash = mix(k) | 1;
            sum += pad(q, k, steps);
            let mut i = (hash & mask) as usize;
            while slots64[i].hash != hash {
                i += 1;
            }
            let slot = &slots64[i];
            let mut out = [0u8; 40];
            loop {
                let v = slot.version.load(Ordering::Acquire);
                let len = slot.len;
                out[..len].copy_from_slice(&slot.bytes[..len]);
                fence(Ordering::Acquire);
                if v & 1 == 0 && slot.version.load(Ordering::Relaxed) == v {
                    break;
                }
            }
            sum += u64::from(black_box(out)[9]);
        }
        let inline = start.elapsed().as_nanos() as f64 / LOOKUPS as f64;
        println!(
            "keys {n} load {load} pad {steps} ({alone:.1} ns alone): slot + node {split:.1} ns, \
             inline {inline:.1} ns, slot + node / inline {:.2} (checksum {sum})",
            split / inline
        );
    }
}
