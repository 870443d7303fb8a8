//! Chunked select: `Continuation::is_done` says whether the walk has ended (false while chunks
//! remain, true once the next call would give `None`); chunks of a bag split inside a key and
//! end without an empty chunk.

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
