//! Cache tables: their options are checked one by one (each bound of 0 and each lifetime of 0
//! is refused on its own, not only together with another; the smallest valid values are
//! accepted); a memory bound is filled, not wasted; load and wait tickets name themselves in
//! debug output.

use std::time::Duration;

use rets_core::{tuple, Claim, Error, Owner, TableOptions, TableType};

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

#[test]
fn a_memory_bound_is_filled_not_wasted() {
    // Objects of about 2 KiB against a 256 KiB bound: evicting makes room for the incoming
    // object as its size estimates it, so the table stays near the bound (an estimate far
    // above the object's real size would keep it well below).
    let owner = Owner::new();
    for ty in [TableType::Set, TableType::OrderedSet] {
        let limit = 256 * 1024;
        let t = owner
            .new_table("m", TableOptions::new().table_type(ty).max_memory(limit))
            .unwrap();
        let payload = "x".repeat(2000);
        for i in 0..1000 {
            t.insert(tuple!(i, payload.as_str())).unwrap();
        }
        let memory = t.memory().unwrap();
        assert!(
            memory >= limit * 8 / 10,
            "{ty}: {memory} bytes of a {limit} byte bound after 1000 inserts"
        );
    }
}

#[test]
fn load_and_wait_tickets_name_themselves_in_debug_output() {
    let owner = Owner::new();
    let t = owner.new_table("l", TableOptions::new()).unwrap();
    let Claim::Load(load) = t.claim_load("k").unwrap() else {
        panic!("the first claim loads")
    };
    let Claim::Wait(wait) = t.claim_load("k").unwrap() else {
        panic!("the second claim waits")
    };
    assert!(format!("{load:?}").starts_with("LoadTicket"), "{load:?}");
    assert_eq!(format!("{wait:?}"), "WaitTicket");
}
