//! The cost of a partially bound key on an ordered_set: selecting the 100 objects of one key
//! prefix `{G, '_'}` out of 1M objects, against 100 lookups of the same objects and against
//! the same 100 objects found by a whole-table scan (a spec whose key is not bound). Run by
//! `ci/bench`, or alone: `cargo bench -p rets-core --bench range_select -- [--quick]`.
//!
//! Output: one `R\trange\t<workload>\trets\t<objects>\t1\t<microseconds per call>` line per
//! figure, and the ratio of the range select to the lookups on stderr.

use std::hint::black_box;
use std::time::Instant;

use rets_core::query::{Expr, MatchSpec, Pat, Spec};
use rets_core::{tuple, Owner, TableOptions, Term};

const PER_GROUP: i64 = 100;

fn median_micros(reps: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[reps / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let groups: i64 = if quick { 1_000 } else { 10_000 };
    let objects = groups * PER_GROUP;
    let owner = Owner::new();
    let tab = owner
        .new_table("range", TableOptions::new().ordered_set())
        .unwrap();
    for g in 0..groups {
        for i in 0..PER_GROUP {
            tab.insert(tuple!(tuple!(g, i), i)).unwrap();
        }
    }
    let probes: Vec<i64> = (0..64).map(|n| (n * 7919) % groups).collect();
    let range_spec = |g: i64| {
        Spec::new()
            .clause(Pat::tuple([
                Pat::tuple([Pat::lit(g), Pat::any()]),
                Pat::any(),
            ]))
            .body(Expr::object())
            .compile()
            .unwrap()
    };
    let specs: Vec<MatchSpec> = probes.iter().map(|&g| range_spec(g)).collect();
    let scan_specs: Vec<MatchSpec> = probes
        .iter()
        .map(|&g| {
            Spec::new()
                .clause(Pat::tuple([Pat::var(1), Pat::any()]))
                .guard(Expr::exact_eq(Expr::element(1, Expr::var(1)), g))
                .body(Expr::object())
                .compile()
                .unwrap()
        })
        .collect();
    let keys: Vec<Vec<Term>> = probes
        .iter()
        .map(|&g| (0..PER_GROUP).map(|i| tuple!(g, i)).collect())
        .collect();
    for spec in &specs {
        assert_eq!(tab.select(spec).unwrap().len(), PER_GROUP as usize);
    }

    let reps = if quick { 5 } else { 15 };
    let mut n = 0;
    let range = median_micros(reps, || {
        for spec in &specs {
            n += black_box(tab.select(spec).unwrap()).len();
        }
    }) / specs.len() as f64;
    let lookups = median_micros(reps, || {
        for group in &keys {
            for key in group {
                n += black_box(tab.lookup(key).unwrap()).len();
            }
        }
    }) / keys.len() as f64;
    let scan = median_micros(3, || {
        n += black_box(tab.select(&scan_specs[0]).unwrap()).len();
    });
    black_box(n);
    println!("R\trange\tselect {{G,'_'}} (100 objects)\trets\t{objects}\t1\t{range:.1}");
    println!("R\trange\t100 lookups of the same objects\trets\t{objects}\t1\t{lookups:.1}");
    println!(
        "R\trange\tselect with the key unbound (whole-table scan)\trets\t{objects}\t1\t{scan:.1}"
    );
    eprintln!(
        "range select of 100 objects in {objects}: {range:.1} us; 100 lookups: {lookups:.1} us \
         (ratio {:.2}); whole-table scan: {scan:.0} us ({:.0}x the range)",
        range / lookups,
        scan / range
    );
}
