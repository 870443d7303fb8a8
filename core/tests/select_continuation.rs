//! `Continuation::is_done` says whether the walk has ended: false while chunks remain, true
//! once the next call would give `None`.

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
