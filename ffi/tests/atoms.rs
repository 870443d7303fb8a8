//! Atoms through the C builder and reader: the builder writes the engine's canonical encoding,
//! the reader reads it back (and reads true/false/nil as the atoms they are), bad names fail.

use rets::*;
use rets_core::Term;

fn ok(status: rets_status) {
    assert_eq!(status, rets_status::Ok);
}

fn build_atom(name: &[u8]) -> Result<Vec<u8>, rets_status> {
    let mut b = std::ptr::null_mut();
    ok(rets_builder_new(&mut b));
    let status = rets_builder_atom(b, name.as_ptr().cast(), name.len());
    let result = if status == rets_status::Ok {
        let (mut data, mut len) = (std::ptr::null(), 0);
        ok(rets_builder_finish(b, &mut data, &mut len));
        // SAFETY: finish returned the builder's bytes, valid until the builder changes.
        Ok(unsafe { std::slice::from_raw_parts(data, len) }.to_vec())
    } else {
        Err(status)
    };
    rets_builder_free(b);
    result
}

fn read_atom(bytes: &[u8]) -> Result<String, rets_status> {
    let mut r = rets_reader {
        data: bytes.as_ptr(),
        len: bytes.len(),
        pos: 0,
    };
    let (mut name, mut len) = (std::ptr::null(), 0usize);
    match rets_reader_atom(&mut r, &mut name, &mut len) {
        rets_status::Ok => {
            // SAFETY: the reader returned a span inside `bytes`.
            let s = unsafe { std::slice::from_raw_parts(name.cast::<u8>(), len) };
            Ok(String::from_utf8(s.to_vec()).unwrap())
        }
        e => Err(e),
    }
}

#[test]
fn builder_writes_the_engine_encoding_and_reader_reads_it_back() {
    for name in [
        "ok",
        "",
        "a",
        "undefined",
        "héllo",
        "$1",
        "_",
        "x".repeat(255).as_str(),
    ] {
        let bytes = build_atom(name.as_bytes()).unwrap();
        assert_eq!(bytes, Term::atom(name).to_msgpack().unwrap(), "{name}");
        assert_eq!(read_atom(&bytes).unwrap(), name);
        let mut r = rets_reader {
            data: bytes.as_ptr(),
            len: bytes.len(),
            pos: 0,
        };
        let mut ty = rets_type::Nil;
        ok(rets_reader_type(&mut r, &mut ty));
        assert_eq!(ty, rets_type::Atom);
    }
    for (name, byte) in [("true", 0xc3), ("false", 0xc2), ("nil", 0xc0)] {
        assert_eq!(build_atom(name.as_bytes()).unwrap(), vec![byte]);
        assert_eq!(read_atom(&[byte]).unwrap(), name);
    }
}

#[test]
fn bad_names_and_wrong_types_are_errors() {
    assert_eq!(build_atom(&[0xff]), Err(rets_status::InvalidArgument));
    assert_eq!(
        build_atom("y".repeat(256).as_bytes()),
        Err(rets_status::LimitExceeded)
    );
    assert_eq!(read_atom(&[0x01]), Err(rets_status::WrongType));
    assert_eq!(read_atom(&[0xa1, b'a']), Err(rets_status::WrongType));
    assert_eq!(
        read_atom(&[0xd5, 97, 0xff, 0xfe]),
        Err(rets_status::Malformed)
    );
    assert_eq!(read_atom(&[0xc7, 9, 97, b'a']), Err(rets_status::Malformed));
}
