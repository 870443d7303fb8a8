//! The select family through the C ABI gives what the Rust API gives on the same table, and its
//! errors are the documented statuses.

use rets::*;
use rets_core::query::MatchSpec;
use rets_core::{tuple, Owner, TableOptions, TableType, Term};

fn ok(status: rets_status) {
    assert_eq!(status, rets_status::Ok, "{status:?}");
}

fn buf_bytes(buf: *const rets_buf) -> Vec<u8> {
    // SAFETY: the buffer's data is valid for rets_buf_len bytes until it is next written.
    unsafe { std::slice::from_raw_parts(rets_buf_data(buf), rets_buf_len(buf)) }.to_vec()
}

fn compile(spec: &Term) -> *mut rets_matchspec {
    let bytes = spec.to_msgpack().unwrap();
    let mut out = std::ptr::null_mut();
    ok(rets_matchspec_compile(
        bytes.as_ptr(),
        bytes.len(),
        &mut out,
    ));
    out
}

#[test]
fn select_through_the_c_abi_matches_the_rust_api() {
    let owner = Owner::new();
    for t in [
        TableType::Set,
        TableType::OrderedSet,
        TableType::Bag,
        TableType::DuplicateBag,
    ] {
        let table = owner
            .new_table("s", TableOptions::new().table_type(t).public())
            .unwrap();
        for k in 0..50i64 {
            table.insert(tuple!(k % 17, k, Term::atom("x"))).unwrap();
        }
        let spec_term = Term::Array(vec![Term::Array(vec![
            tuple!(Term::atom("$1"), Term::atom("$2"), Term::atom("_")),
            Term::Array(vec![Term::Array(vec![
                Term::atom("<"),
                Term::atom("$1"),
                Term::Int(5),
            ])]),
            Term::Array(vec![Term::Array(vec![tuple!(Term::atom("$2"))])]),
        ])]);
        let rust = table
            .select(&MatchSpec::compile(&spec_term).unwrap())
            .unwrap();
        let handle = rets_table::from_table(table.clone());
        let spec = compile(&spec_term);
        let mut out = std::ptr::null_mut();
        ok(rets_buf_new(&mut out));
        ok(rets_table_select(&*handle, spec, out));
        assert_eq!(
            Term::from_msgpack(&buf_bytes(out)).unwrap(),
            Term::Array(rust.clone())
        );

        // Chunks of 4 give the same results, in the same order on an ordered_set.
        let mut cont = std::ptr::null_mut();
        ok(rets_table_select_limit(&*handle, spec, 4, out, &mut cont));
        let mut chunked = Vec::new();
        loop {
            let Term::Array(chunk) = Term::from_msgpack(&buf_bytes(out)).unwrap() else {
                panic!("not an array")
            };
            assert!(chunk.len() <= 4);
            chunked.extend(chunk);
            match rets_select_cont_next(cont, out) {
                rets_status::EndOfTable => break,
                s => ok(s),
            }
        }
        rets_select_cont_free(cont);
        if t == TableType::OrderedSet {
            assert_eq!(chunked, rust);
        } else {
            assert_eq!(chunked.len(), rust.len());
        }

        let mut count = 0usize;
        ok(rets_table_select_count(&*handle, spec, &mut count));
        assert_eq!(count, 0, "the body gives tuples, never true");
        rets_matchspec_free(spec);
        rets_buf_free(out);
        table.delete_table().unwrap();
    }
}

#[test]
fn bad_specs_and_limits_are_statuses() {
    let bad = Term::Array(vec![Term::Int(1)]).to_msgpack().unwrap();
    let mut spec = std::ptr::null_mut();
    assert_eq!(
        rets_matchspec_compile(bad.as_ptr(), bad.len(), &mut spec),
        rets_status::BadMatchSpec
    );
    assert!(spec.is_null());
    let owner = Owner::new();
    let table = owner.new_table("b", TableOptions::new().bag()).unwrap();
    let handle = rets_table::from_table(table);
    let all = compile(&Term::Array(vec![Term::Array(vec![
        Term::atom("_"),
        Term::Array(vec![]),
        Term::Array(vec![Term::atom("$_")]),
    ])]));
    let mut out = std::ptr::null_mut();
    ok(rets_buf_new(&mut out));
    let mut cont = std::ptr::null_mut();
    assert_eq!(
        rets_table_select_limit(&*handle, all, 0, out, &mut cont),
        rets_status::InvalidArgument
    );
    assert_eq!(
        rets_table_select_limit(&*handle, all, 1, out, &mut cont),
        rets_status::EndOfTable
    );
    assert!(cont.is_null());
    let mut n = 0usize;
    assert_eq!(
        rets_table_select_replace(&*handle, all, &mut n),
        rets_status::WrongTableType
    );
    rets_matchspec_free(all);
    rets_buf_free(out);
}
