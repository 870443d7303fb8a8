//! Raw bytes into the term decoder and validator: never a panic, an abort or a huge
//! allocation; and on success the canonical form is stable and faithful.

use std::cmp::Ordering;

use rets_core::term::{canonicalize, compare, decode, encode, limits};
use rets_core::{Key, Msgpack, ToObject};

/// Checks everything that must hold for one input.
pub fn check_one(data: &[u8]) {
    let mut canonical = Vec::new();
    let canon = canonicalize(data, &mut canonical);
    let decoded = decode(data);
    assert_eq!(
        canon.is_ok(),
        decoded.is_ok(),
        "canonicalize and decode disagree: {canon:?} vs {decoded:?}"
    );
    let key = Key::from_msgpack(data);
    let object = Msgpack(data).to_object(1);
    let Ok(term) = decoded else {
        assert!(
            key.is_err() && object.is_err(),
            "a key or object from invalid input"
        );
        return;
    };

    // The canonical form is a fixed point, decodes to the same term and re-encodes to itself.
    let mut again = Vec::new();
    canonicalize(&canonical, &mut again).expect("canonical output is valid");
    assert_eq!(again, canonical, "canonicalize is not idempotent");
    let mut encoded = Vec::new();
    encode(&term, &mut encoded).expect("a decoded term encodes");
    assert_eq!(
        encoded, canonical,
        "encode(decode(x)) differs from canonicalize(x)"
    );
    let redecoded = decode(&canonical).expect("canonical output decodes");
    let mut reencoded = Vec::new();
    encode(&redecoded, &mut reencoded).unwrap();
    assert_eq!(
        reencoded, canonical,
        "decode(canonical) does not round-trip"
    );

    // MessagePack is prefix-free: no proper prefix of a value is a value.
    for cut in [0, canonical.len() / 2, canonical.len() - 1] {
        if cut < canonical.len() {
            assert!(
                decode(&canonical[..cut]).is_err(),
                "a proper prefix ({cut} bytes) decoded"
            );
        }
    }

    // Key and object validation agree with the canonical form.
    assert_eq!(key.is_ok(), canonical.len() <= limits::MAX_KEY_BYTES);
    if let Ok(key) = key {
        assert_eq!(key.as_msgpack(), canonical.as_slice());
    }
    match (&object, term.as_array()) {
        (Ok(o), Some(elements)) => {
            assert!(!elements.is_empty());
            assert_eq!(o.as_msgpack(), canonical.as_slice());
            assert_eq!(o.arity(), elements.len());
        }
        (Err(_), Some(elements)) => {
            assert!(elements.is_empty(), "a valid object rejected: {object:?}")
        }
        (Ok(o), None) => panic!("a non-array became an object: {o:?}"),
        (Err(_), None) => {}
    }

    // Term order is reflexive on what decodes.
    assert_eq!(compare(&canonical, &canonical), Ordering::Equal);
}

/// The target: the whole input, then (if the first byte says so) two halves compared.
pub fn run(data: &[u8]) {
    check_one(data);
    if let Some((&split, rest)) = data.split_first() {
        let at = usize::from(split).min(rest.len());
        let (a, b) = rest.split_at(at);
        let (mut ca, mut cb) = (Vec::new(), Vec::new());
        if canonicalize(a, &mut ca).is_ok() && canonicalize(b, &mut cb).is_ok() {
            let ab = compare(&ca, &cb);
            assert_eq!(
                ab,
                compare(&cb, &ca).reverse(),
                "term order is not antisymmetric"
            );
            if ca == cb {
                assert_eq!(ab, Ordering::Equal);
            }
        }
    }
}
