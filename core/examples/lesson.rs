//! The ETS lesson, in rets: an owner, a named protected set and a bag, lookups and counters, a
//! second owner denied a write, and what happens to the tables when their owner closes.
//!
//! Run: `cargo run -p rets-core --example lesson`

use std::time::Duration;

use rets_core::{tuple, CounterOp, Error, Owner, TableOptions, Term};

fn main() -> Result<(), Error> {
    // The owner plays the part of the supervised process that creates the tables.
    let supervisor = Owner::new();
    let standby = Owner::new();

    // :ets.new(:user_cache, [:named_table, :set, :protected, read_concurrency: true])
    let users = supervisor.new_table(
        "user_cache",
        TableOptions::new()
            .set()
            .named()
            .protected()
            .read_concurrency(true),
    )?;
    // A bag of login events, which `standby` inherits (with a gift) if `supervisor` goes away.
    let logins = supervisor.new_table(
        "logins",
        TableOptions::new()
            .bag()
            .public()
            .heir(&standby, "logins-handover"),
    )?;

    users.insert(tuple!(
        "u_123",
        Term::map([("name", "Alice"), ("tier", "pro")]),
        0
    ))?;
    logins.insert_many([tuple!("u_123", "web"), tuple!("u_123", "mobile")])?;

    // Lookup always returns a list.
    match users.lookup("u_123")?.as_slice() {
        [user] => println!("lookup u_123        -> {user}"),
        [] => println!("lookup u_123        -> not found"),
        _ => unreachable!("a set holds one object per key"),
    }
    println!("logins for u_123    -> {:?}", logins.lookup("u_123")?);

    // Atomic counter on the third element: :ets.update_counter(:user_cache, "u_123", {3, 1})
    for _ in 0..3 {
        users.update_counters("u_123", &[CounterOp::new(3, 1)])?;
    }
    println!(
        "visits of u_123     -> {}",
        users.lookup_element("u_123", 3)?
    );

    // Another owner can read the protected table by name, but not write it.
    let reader = Owner::new();
    let seen_by_reader = reader.whereis("user_cache").expect("the table is named");
    println!(
        "reader lookup       -> {} object(s)",
        seen_by_reader.lookup("u_123")?.len()
    );
    let denied = seen_by_reader.insert(tuple!("u_999", "Mallory", 0));
    println!("reader insert       -> {}", denied.unwrap_err());

    // The owner goes away: the set dies with it, the bag passes to its heir with the gift.
    supervisor.close();
    println!(
        "after close: users  -> {}",
        users.lookup("u_123").unwrap_err()
    );
    println!(
        "after close: whereis(\"user_cache\") is {:?}",
        rets_core::whereis("user_cache").map(|t| t.name())
    );
    let transfer = standby
        .recv_transfer(Duration::from_secs(1))
        .expect("the heir is told of the handover");
    println!(
        "heir received       -> table {:?} from owner {} with gift {} ({:?})",
        transfer.table.name()?,
        transfer.from,
        transfer.gift,
        transfer.reason
    );
    println!(
        "heir now owns it    -> owner {} == heir {}, {} login(s) kept",
        transfer.table.info()?.owner,
        standby.id(),
        transfer.table.info()?.size
    );
    Ok(())
}
