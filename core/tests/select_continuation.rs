//! Chunked select: `Continuation::is_done` says whether the walk has ended (false while chunks
//! remain, true once the next call would give `None`); chunks of a bag split inside a key and
//! end without an empty chunk; a key whose objects a chunk finished is not visited again.

use rets_core::query::MatchSpec;
use rets_core::{tuple, Owner, TableOptions, TableType, Term};

#[test]
fn is_done_only_when_the_next_chunk_is_none() {
    let owner = Owner::new();
    let tab = owner
        .new_table("c", TableOptions::new().table_type(TableType::OrderedSet))
        .unwrap();
    for k in 0..5i64 {
        tab.insert(tuple!(k, k)).unwrap();
    }
    let all = MatchSpec::from_object_pattern(&Term::atom("_")).unwrap();
    let (first, mut cont) = tab.select_limit(&all, 2).unwrap().expect("a first chunk");
    assert_eq!(first.len(), 2);
    let mut seen = first.len();
    while !cont.is_done() {
        let chunk = cont
            .next_chunk()
            .unwrap()
            .expect("not done: a chunk remains");
        seen += chunk.len();
    }
    assert_eq!(seen, 5);
    assert!(
        cont.next_chunk().unwrap().is_none(),
        "done: nothing remains"
    );
    assert!(cont.is_done());
}

#[test]
fn chunks_of_a_bag_split_inside_a_key_and_end_without_an_empty_chunk() {
    let owner = Owner::new();
    for ty in [TableType::Bag, TableType::DuplicateBag] {
        let tab = owner
            .new_table("b", TableOptions::new().table_type(ty))
            .unwrap();
        for v in 0..4i64 {
            tab.insert(tuple!("k", v)).unwrap();
        }
        let all = MatchSpec::from_object_pattern(&Term::atom("_")).unwrap();
        let mut sizes = Vec::new();
        let mut chunk = tab.select_limit(&all, 3).unwrap();
        while let Some((results, cont)) = chunk {
            sizes.push(results.len());
            chunk = cont.next().unwrap();
        }
        assert_eq!(sizes, [3, 1], "{ty}: chunk sizes");
    }
}

/// A chunk that ends on a key's last object leaves that key: the next chunk starts after it, so
/// an object added to the key meanwhile is not returned (the key would be visited twice),
/// whether the walk is a whole scan or the bound key of the spec. (A chunk that ends inside a
/// key goes on with that key's remaining objects, above.)
#[test]
fn a_key_finished_by_a_chunk_is_not_visited_again() {
    let owner = Owner::new();
    for ty in [TableType::Bag, TableType::DuplicateBag] {
        for pattern in [Term::atom("_"), tuple!("k", Term::atom("_"))] {
            let tab = owner
                .new_table("b", TableOptions::new().table_type(ty))
                .unwrap();
            tab.insert_many([tuple!("k", 0), tuple!("k", 1)]).unwrap();
            let spec = MatchSpec::from_object_pattern(&pattern).unwrap();
            let (first, mut cont) = tab.select_limit(&spec, 2).unwrap().expect("a chunk");
            assert_eq!(
                first.len(),
                2,
                "{ty} {pattern}: the first chunk is the whole key"
            );
            tab.insert(tuple!("k", 2)).unwrap();
            let rest = cont.next_chunk().unwrap();
            assert!(
                rest.is_none(),
                "{ty} {pattern}: the finished key was visited again: {rest:?}"
            );
            tab.delete_table().unwrap();
        }
    }
}
