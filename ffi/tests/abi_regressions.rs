//! Regression tests of C ABI defects, one test each: a list insert larger than one object may be,
//! the status of a deleted table's handles after its owner closed, the message of position 0,
//! and an array header that claims more elements than its bytes could hold.

use std::ffi::CStr;
use std::ptr;

use rets::*;

fn ok(status: rets_status) {
    assert_eq!(status, rets_status::Ok, "{}", last_message());
}

fn last_message() -> String {
    // SAFETY: rets_last_error_message returns a valid NUL-terminated string owned by rets.
    unsafe { CStr::from_ptr(rets_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

fn owner() -> *mut rets_owner {
    let mut owner = ptr::null_mut();
    ok(rets_owner_new(&mut owner));
    owner
}

fn table(owner: *mut rets_owner, options: Option<&rets_table_options>) -> *mut rets_table {
    let mut table = ptr::null_mut();
    ok(rets_table_new(
        owner,
        c"regression".as_ptr(),
        options.map_or(ptr::null(), |o| o as *const _),
        &mut table,
    ));
    table
}

/// `{k, <<len bytes>>}` as MessagePack (bin 32).
fn big_object(k: u8, len: usize) -> Vec<u8> {
    let mut o = vec![0x92, k, 0xc6];
    o.extend_from_slice(&(len as u32).to_be_bytes());
    o.resize(o.len() + len, k);
    o
}

#[test]
fn a_list_insert_may_total_more_than_one_object_may_weigh() {
    // Three objects of 30 MiB each: each is within the 64 MiB object limit, the list is not.
    let objects: Vec<Vec<u8>> = (1..=3).map(|k| big_object(k, 30 << 20)).collect();
    let mut list = vec![0x93];
    for o in &objects {
        list.extend_from_slice(o);
    }
    let o = owner();
    let t = table(o, None);
    ok(rets_table_insert_many(t, list.as_ptr(), list.len()));
    let mut info = std::mem::MaybeUninit::<rets_info>::uninit();
    ok(rets_table_info(t, info.as_mut_ptr()));
    // SAFETY: rets_table_info returned OK, so it filled `info`.
    assert_eq!(unsafe { info.assume_init() }.size, 3);
    // insert_new_many: the same keys are present, so nothing is inserted, and no size error.
    let mut inserted = true;
    ok(rets_table_insert_new_many(
        t,
        list.as_ptr(),
        list.len(),
        &mut inserted,
    ));
    assert!(!inserted);
    // One object over the limit inside a list is still refused, by itself.
    let mut list = vec![0x91];
    list.extend_from_slice(&big_object(4, 65 << 20));
    assert_eq!(
        rets_table_insert_many(t, list.as_ptr(), list.len()),
        rets_status::LimitExceeded
    );
    // Bytes after the list are malformed, as before.
    let trailing = [0x91, 0x91, 0x05, 0xc0];
    assert_eq!(
        rets_table_insert_many(t, trailing.as_ptr(), trailing.len()),
        rets_status::Malformed
    );
    rets_table_free(t);
    rets_owner_close(o);
}

#[test]
fn after_the_owner_closes_a_deleted_tables_handles_get_no_table_and_others_owner_closed() {
    let o = owner();
    let heir = owner();
    let deleted = table(o, None);
    let options = rets_table_options {
        table_type: 0,
        access: 0,
        keypos: 0,
        named: false,
        read_concurrency: false,
        write_concurrency: false,
        heir,
        heir_data: ptr::null(),
        heir_data_len: 0,
    };
    let inherited = table(o, Some(&options));
    let key = [0x01u8];
    let mut found = false;
    rets_owner_close(o);
    // The close deleted `deleted`: the table's existence is checked first.
    assert_eq!(
        rets_table_member(deleted, key.as_ptr(), 1, &mut found),
        rets_status::NoTable
    );
    // `inherited` went to the heir: the old owner's handle finds its owner closed.
    assert_eq!(
        rets_table_member(inherited, key.as_ptr(), 1, &mut found),
        rets_status::OwnerClosed
    );
    rets_table_free(deleted);
    rets_table_free(inherited);
    rets_owner_close(heir);
}

#[test]
fn lookup_element_at_position_0_says_positions_start_at_1() {
    let o = owner();
    let t = table(o, None);
    let object = [0x94, 0x01, 0x02, 0x03, 0x04];
    ok(rets_table_insert(t, object.as_ptr(), object.len()));
    let mut out = ptr::null_mut();
    ok(rets_buf_new(&mut out));
    let key = [0x01u8];
    assert_eq!(
        rets_table_lookup_element(t, key.as_ptr(), 1, 0, ptr::null(), 0, out),
        rets_status::BadPosition
    );
    let message = last_message();
    assert!(message.contains("0 is not a position"), "{message}");
    assert!(!message.contains("arity 0"), "{message}");
    // Past the end, the message gives the object's real arity.
    assert_eq!(
        rets_table_lookup_element(t, key.as_ptr(), 1, 5, ptr::null(), 0, out),
        rets_status::BadPosition
    );
    assert!(last_message().contains("arity 4"), "{}", last_message());
    rets_buf_free(out);
    rets_table_free(t);
    rets_owner_close(o);
}

#[test]
fn an_array_header_claiming_more_elements_than_bytes_left_is_malformed() {
    for bytes in [
        &[0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02][..], // array32 of 4294967295
        &[0xdc, 0x00, 0x03, 0x01, 0x02],                 // array16 of 3 with 2 bytes
        &[0xdf, 0x00, 0x00, 0x00, 0x02, 0x01, 0x02],     // map32 of 2 entries with 2 bytes
    ] {
        let mut r = rets_reader {
            data: ptr::null(),
            len: 0,
            pos: 0,
        };
        ok(rets_reader_init(&mut r, bytes.as_ptr(), bytes.len()));
        let mut count = 12345usize;
        let status = if bytes[0] == 0xdf {
            rets_reader_map(&mut r, &mut count)
        } else {
            rets_reader_array(&mut r, &mut count)
        };
        assert_eq!(status, rets_status::Malformed, "{bytes:x?}");
        assert_eq!(count, 12345, "no output on failure");
        assert_eq!(r.pos, 0, "the reader does not move on failure");
    }
    // An honest header still reads.
    let bytes = [0xdc, 0x00, 0x02, 0x01, 0x02];
    let mut r = rets_reader {
        data: ptr::null(),
        len: 0,
        pos: 0,
    };
    ok(rets_reader_init(&mut r, bytes.as_ptr(), bytes.len()));
    let mut count = 0usize;
    ok(rets_reader_array(&mut r, &mut count));
    assert_eq!(count, 2);
}
