//! What it costs the host to move one cache line between two threads (no rets code): two
//! threads take turns incrementing one atomic counter, each waiting until the other's increment
//! is visible, so every increment moves the line from one core to the other. Prints the time of
//! one hand-over in nanoseconds, for each of several rounds (BENCHMARKS.md, *Two-thread
//! figures on this host come in two modes*):
//!
//! ```sh
//! cargo run --release -p rets-core --example line_pingpong -- [ROUNDS] [HAND-OVERS]
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The counter, alone on its line (and the next, against the adjacent-line prefetcher).
#[repr(align(128))]
struct Line(AtomicU64);

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args
        .next()
        .map_or(10, |a| a.parse().expect("a round count"));
    let hand_overs: u64 = args
        .next()
        .map_or(2_000_000, |a| a.parse().expect("a count of hand-overs"));
    for _ in 0..rounds {
        let line = Line(AtomicU64::new(0));
        let start = Instant::now();
        std::thread::scope(|s| {
            for parity in 0..2 {
                let line = &line;
                s.spawn(move || {
                    // Thread `parity` moves the counter from each value of its parity to the next.
                    let mut next = parity;
                    while next < hand_overs {
                        while line.0.load(Ordering::Acquire) != next {
                            std::hint::spin_loop();
                        }
                        line.0.store(next + 1, Ordering::Release);
                        next += 2;
                    }
                });
            }
        });
        let ns = start.elapsed().as_nanos() as f64 / hand_overs as f64;
        println!("{ns:.1} ns a hand-over");
    }
}
