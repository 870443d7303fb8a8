//! A cache table's options are checked one by one: each bound of 0 and each lifetime of 0 is
//! refused on its own (not only together with another), and the smallest valid values are
//! accepted.

use std::time::Duration;

use rets_core::{Error, Owner, TableOptions};

fn refused(options: TableOptions, what: &str) {
    let owner = Owner::new();
    assert!(
        matches!(owner.new_table("c", options), Err(Error::BadArgument(_))),
        "{what} must be refused"
    );
}

#[test]
fn each_zero_bound_or_lifetime_is_refused_alone() {
    refused(TableOptions::new().max_size(0), "max_size 0");
    refused(TableOptions::new().max_memory(0), "max_memory 0");
    refused(TableOptions::new().ttl(Duration::ZERO), "ttl 0");
    refused(
        TableOptions::new().time_to_idle(Duration::ZERO),
        "time_to_idle 0",
    );
}

#[test]
fn the_smallest_bounds_and_lifetimes_are_accepted() {
    let owner = Owner::new();
    for options in [
        TableOptions::new().max_size(1),
        TableOptions::new().max_memory(1),
        TableOptions::new().ttl(Duration::from_nanos(1)),
        TableOptions::new().time_to_idle(Duration::from_nanos(1)),
    ] {
        owner.new_table("c", options).unwrap();
    }
}
