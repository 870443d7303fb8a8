//! The small accessors of owners and handles, and what they print: each returns what it says
//! (mutation testing found every one of these could return a constant and leave the other
//! tests green).

use rets_core::{tuple, Error, Owner, TableOptions, TableType};

#[test]
fn owner_ids_print_as_hash_number_and_is_closed_follows_close() {
    let owner = Owner::new();
    assert_eq!(owner.id().to_string(), format!("#{}", owner.id().0));
    assert!(!owner.is_closed());
    let debug = format!("{owner:?}");
    assert!(debug.contains(&format!("{:?}", owner.id())), "{debug}");
    assert!(debug.contains("closed: false"), "{debug}");
    owner.close();
    assert!(owner.is_closed());
    assert!(format!("{owner:?}").contains("closed: true"));
}

#[test]
fn giving_to_a_closed_owner_names_it() {
    let owner = Owner::new();
    let closed = Owner::new();
    closed.close();
    let t = owner.new_table("gift", TableOptions::new()).unwrap();
    let err = t.give_away(&closed, 0).unwrap_err();
    assert_eq!(
        err,
        Error::BadArgument(format!(
            "give_away: the receiving owner #{} is closed",
            closed.id().0
        ))
    );
}

#[test]
fn owner_whereis_finds_a_named_table_acting_for_that_owner() {
    let owner = Owner::new();
    let other = Owner::new();
    owner
        .new_table("accessors::whereis", TableOptions::new().named().private())
        .unwrap()
        .insert(tuple!(1, 2))
        .unwrap();
    let mine = owner.whereis("accessors::whereis").expect("found");
    assert_eq!(mine.caller(), owner.id());
    assert_eq!(mine.lookup(1).unwrap().len(), 1);
    let theirs = other.whereis("accessors::whereis").expect("found");
    assert_eq!(theirs.caller(), other.id());
    assert!(matches!(theirs.lookup(1), Err(Error::Access { .. })));
    assert!(owner.whereis("accessors::absent").is_none());
}

#[test]
fn table_type_and_keypos_are_the_options_given() {
    let owner = Owner::new();
    for (table_type, keypos) in [
        (TableType::Set, 1),
        (TableType::OrderedSet, 2),
        (TableType::Bag, 3),
        (TableType::DuplicateBag, 4),
    ] {
        let t = owner
            .new_table(
                "typed",
                TableOptions::new().table_type(table_type).keypos(keypos),
            )
            .unwrap();
        assert_eq!(t.table_type(), table_type);
        assert_eq!(t.keypos(), keypos);
        let debug = format!("{t:?}");
        assert!(debug.contains("\"typed\""), "{debug}");
        assert!(debug.contains(&format!("{table_type:?}")), "{debug}");
    }
}

#[test]
fn memory_grows_by_about_what_an_object_takes() {
    let owner = Owner::new();
    for table_type in [TableType::Set, TableType::OrderedSet] {
        let t = owner
            .new_table("memory", TableOptions::new().table_type(table_type))
            .unwrap();
        let empty = t.memory().unwrap();
        assert!(empty > 0);
        t.insert(tuple!(1, 2)).unwrap();
        let one = t.memory().unwrap();
        // One three-byte object: its node or entry and its share of the structure, not
        // thousands of bytes (and never less than before).
        assert!(one > empty, "{table_type}: {empty} -> {one}");
        assert!(one - empty < 4096, "{table_type}: {empty} -> {one}");
    }
}

#[test]
fn lookup_steps_return_the_neighbouring_key_and_its_objects() {
    let owner = Owner::new();
    let t = owner
        .new_table("steps", TableOptions::new().ordered_set())
        .unwrap();
    for k in 1..=3 {
        t.insert(tuple!(k, k * 10)).unwrap();
    }
    let (key, objects) = t.prev_lookup(3).unwrap().expect("2 is before 3");
    assert_eq!(key.to_term(), 2.into());
    assert_eq!(objects[0].to_term(), tuple!(2, 20));
    let (key, objects) = t.next_lookup(1).unwrap().expect("2 is after 1");
    assert_eq!(key.to_term(), 2.into());
    assert_eq!(objects[0].to_term(), tuple!(2, 20));
    let (key, _) = t.last_lookup().unwrap().expect("not empty");
    assert_eq!(key.to_term(), 3.into());
    let (key, _) = t.first_lookup().unwrap().expect("not empty");
    assert_eq!(key.to_term(), 1.into());
    assert!(t.prev_lookup(1).unwrap().is_none());
    assert!(t.next_lookup(3).unwrap().is_none());
}

#[test]
fn table_types_print_their_ets_names_in_messages() {
    for (table_type, name) in [
        (TableType::Set, "set"),
        (TableType::OrderedSet, "ordered_set"),
        (TableType::Bag, "bag"),
        (TableType::DuplicateBag, "duplicate_bag"),
    ] {
        assert_eq!(table_type.as_str(), name);
        assert_eq!(table_type.to_string(), name);
    }
    let owner = Owner::new();
    let bag = owner
        .new_table("bag", TableOptions::new().table_type(TableType::Bag))
        .unwrap();
    bag.insert(tuple!(1, 1)).unwrap();
    assert_eq!(
        bag.update_counter(1, 1).unwrap_err().to_string(),
        "update_counter is not supported on a bag table"
    );
}

#[test]
fn every_option_shorthand_sets_its_option_and_keeps_the_others() {
    use rets_core::Access;
    let owner = Owner::new();
    let heir = Owner::new();
    // Each shorthand applied last, to options that differ from the defaults everywhere else.
    let types: [(Shorthand, TableType); 4] = [
        (TableOptions::set, TableType::Set),
        (TableOptions::ordered_set, TableType::OrderedSet),
        (TableOptions::bag, TableType::Bag),
        (TableOptions::duplicate_bag, TableType::DuplicateBag),
    ];
    for (shorthand, table_type) in types {
        let base = TableOptions::new()
            .table_type(TableType::DuplicateBag)
            .public()
            .keypos(2)
            .read_concurrency(true)
            .write_concurrency(true)
            .heir(&heir, 0);
        let info = owner
            .new_table("options", shorthand(base))
            .unwrap()
            .info()
            .unwrap();
        assert_eq!(info.table_type, table_type);
        assert_eq!(
            (
                info.access,
                info.keypos,
                info.read_concurrency,
                info.write_concurrency
            ),
            (Access::Public, 2, true, true)
        );
        assert_eq!(info.heir, Some(heir.id()));
    }
    let accesses: [(Shorthand, Access); 3] = [
        (TableOptions::public, Access::Public),
        (TableOptions::protected, Access::Protected),
        (TableOptions::private, Access::Private),
    ];
    for (shorthand, access) in accesses {
        let base = TableOptions::new()
            .bag()
            .access(if access == Access::Private {
                Access::Public
            } else {
                Access::Private
            })
            .keypos(3);
        let info = owner
            .new_table("options", shorthand(base))
            .unwrap()
            .info()
            .unwrap();
        assert_eq!(
            (info.access, info.table_type, info.keypos),
            (access, TableType::Bag, 3)
        );
    }
    let named = owner
        .new_table(
            "accessors::named-option",
            TableOptions::new().private().named(),
        )
        .unwrap();
    let info = named.info().unwrap();
    assert!(info.named);
    assert_eq!(info.access, Access::Private);
    assert!(whereis_is_some("accessors::named-option"));
    let plain = owner
        .new_table("options", TableOptions::new())
        .unwrap()
        .info()
        .unwrap();
    assert!(!plain.named && !plain.read_concurrency && !plain.write_concurrency);
    assert_eq!(
        (plain.access, plain.table_type, plain.keypos),
        (Access::Protected, TableType::Set, 1)
    );
}

/// A `TableOptions` shorthand such as `TableOptions::bag`.
type Shorthand = fn(TableOptions) -> TableOptions;

fn whereis_is_some(name: &str) -> bool {
    rets_core::whereis(name).is_some()
}

#[test]
fn the_type_shorthands_keep_the_other_options() {
    let owner = Owner::new();
    let t = owner
        .new_table("shorthand", TableOptions::new().public().keypos(2).set())
        .unwrap();
    let info = t.info().unwrap();
    assert_eq!(info.table_type, TableType::Set);
    assert_eq!(info.access, rets_core::Access::Public);
    assert_eq!(info.keypos, 2);
}
