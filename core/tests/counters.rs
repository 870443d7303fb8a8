//! update_counter's threshold at its boundaries (ETS: with `Incr >= 0` the counter is set to
//! `SetValue` when the result would be greater than `Threshold`; with `Incr < 0`, when it would
//! be less): equal to the threshold is not past it, and no threshold is crossed without passing.

use rets_core::{tuple, CounterOp, Owner, TableOptions};

#[test]
fn the_threshold_resets_only_past_it_in_the_direction_of_the_increment() {
    let owner = Owner::new();
    let t = owner.new_table("counters", TableOptions::new()).unwrap();
    // (start, incr, threshold, expected): set_value is always -1000.
    for (start, incr, threshold, expected) in [
        (9, 1, 10, 10),      // reaches the threshold: not past it
        (10, 1, 10, -1000),  // past it: reset
        (1, 1, 100, 2),      // far below: a plain increment
        (0, 0, 0, 0),        // incr 0 counts as not negative; equal is not past
        (0, 0, 5, 0),        // incr 0 is not negative: being below the threshold is no reset
        (6, -1, 5, 5),       // reaches the threshold going down: not past it
        (5, -1, 5, -1000),   // past it going down: reset
        (50, -1, 5, 49),     // far above going down: a plain decrement
        (-50, -1, 5, -1000), // already below, going down: past it
        (50, 1, 5, -1000),   // already above, going up: past it
    ] {
        t.insert(tuple!("c", start)).unwrap();
        let got = t
            .update_counters("c", &[CounterOp::with_threshold(2, incr, threshold, -1000)])
            .unwrap();
        assert_eq!(
            got,
            vec![expected],
            "{start} {incr:+} threshold {threshold}"
        );
    }
}
