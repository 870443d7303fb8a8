//! A sequence lock: how a writer changes an object's bytes in place while readers, which take no
//! lock, still never see a torn object.
//!
//! Writers of the bytes are serialized by the version itself ([`Version::lock`]: a writer makes
//! it odd with a compare-and-swap, which fails while another writer holds it, changes the bytes
//! and makes it even again: a hash node's counter or an ordered_set entry's, changed without the
//! shard's mutex or the leaf's stripe). A reader reads the version, copies the bytes out, and
//! reads the version again: if it was odd, or changed, the copy may be torn, and the reader
//! copies again. Bytes are read and written with relaxed atomic accesses, since a plain copy
//! racing a write would be a data race (undefined behaviour even when the copy is thrown away);
//! the fences order them against the version (the protocol of Boehm, *Can seqlocks get along
//! with programming language memory models?*, 2012).
//!
//! The loom model below fails if the reader's second look, or either fence, is removed (see
//! docs/ARCHITECTURE.md, *Verification*).

use std::mem::MaybeUninit;
use std::sync::atomic::AtomicU8;

use crate::sync::{fence, spin_wait, AtomicU64, Ordering};

/// The version of bytes that change in place: even when no write is under way.
pub(crate) struct Version(AtomicU64);

impl Version {
    pub(crate) fn new() -> Version {
        Version(AtomicU64::new(0))
    }

    /// Runs `copy` until one run saw no write, and returns that run's result. `copy` reads the
    /// protected bytes with relaxed atomic loads only, and must not act on what it read: a run
    /// that overlapped a write is thrown away.
    #[inline]
    pub(crate) fn read<R>(&self, mut copy: impl FnMut() -> R) -> R {
        loop {
            let before = self.0.load(Ordering::Acquire);
            if before & 1 == 0 {
                let result = copy();
                fence(Ordering::Acquire);
                if self.0.load(Ordering::Relaxed) == before {
                    return result;
                }
            }
            spin_wait();
        }
    }

    /// Takes the version as a writer's lock: waits while another writer holds it (the version
    /// is odd), then makes it odd. Until [`Version::unlock`] the caller is the bytes' only
    /// writer and may read them in place; readers that copy them meanwhile retry.
    #[inline]
    pub(crate) fn lock(&self) {
        // A compare-and-swap from a guess: a failed one returns the latest version (a plain
        // load could return an older one, over and over, while another writer holds it; loom
        // explores exactly that), from which the next guess follows: the version that writer
        // will unlock to.
        let mut version = self.0.load(Ordering::Relaxed) & !1;
        loop {
            match self.0.compare_exchange(
                version,
                version + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    // A reader that sees a store made after this sees the version odd or
                    // changed on its second look.
                    fence(Ordering::Release);
                    return;
                }
                Err(now) if now & 1 == 0 => version = now,
                Err(now) => {
                    spin_wait();
                    version = now + 1;
                }
            }
        }
    }

    /// Releases the lock the caller took with [`Version::lock`], after its stores. (No other
    /// thread writes the version meanwhile, so the caller finds the odd value it stored.)
    #[inline]
    pub(crate) fn unlock(&self) {
        let version = self.0.load(Ordering::Relaxed);
        debug_assert!(version & 1 == 1, "unlocking a version not locked");
        self.0.store(version + 1, Ordering::Release);
    }

    /// [`Version::unlock`], marking the bytes retired: their holder took them out of use while
    /// it held the lock (an ordered_set entry replaced or removed by a transaction), and a
    /// writer that locks the version later must not change them ([`Version::is_retired`]).
    /// Readers are unaffected: the mark is a bit of its own, kept by every later lock and
    /// unlock, which neither makes the version odd nor repeats an earlier value.
    #[inline]
    pub(crate) fn unlock_retired(&self) {
        let version = self.0.load(Ordering::Relaxed);
        debug_assert!(version & 1 == 1, "unlocking a version not locked");
        self.0.store((version + 1) | RETIRED, Ordering::Release);
    }

    /// Whether a holder of the lock marked the bytes retired ([`Version::unlock_retired`]).
    /// Exact for a caller that holds the lock: the lock's acquisition saw the mark.
    #[inline]
    pub(crate) fn is_retired(&self) -> bool {
        self.0.load(Ordering::Relaxed) & RETIRED != 0
    }
}

/// The bit of a version that [`Version::unlock_retired`] sets: the top one, which a version
/// counting two per write would reach after 2^62 writes.
const RETIRED: u64 = 1 << 63;

/// Where a reader copies bytes that may change in place: on its stack, uninitialized until a
/// copy fills it.
pub(crate) struct Scratch([MaybeUninit<u8>; Scratch::CAPACITY]);

impl Scratch {
    /// The most bytes a scratch holds: objects longer than this are never changed in place.
    pub(crate) const CAPACITY: usize = 256;

    #[inline]
    pub(crate) fn new() -> Scratch {
        Scratch([MaybeUninit::uninit(); Scratch::CAPACITY])
    }

    /// Copies `len` bytes from `src` under `version` (see [`Version::read`]) and returns them.
    ///
    /// # Safety
    /// `src..src + len` is live memory, `len` at most [`Scratch::CAPACITY`], and every write of
    /// it while this runs goes through [`store_bytes`] by a holder of `version`'s lock.
    #[inline]
    pub(crate) unsafe fn copy_from(
        &mut self,
        version: &Version,
        src: *const u8,
        len: usize,
    ) -> &[u8] {
        assert!(
            len <= Scratch::CAPACITY,
            "a scratch holds {} bytes",
            Scratch::CAPACITY
        );
        let dst = self.0.as_mut_ptr().cast::<u8>();
        version.read(|| {
            for i in 0..len {
                // SAFETY: `src + i` is in bounds and live (contract), and `AtomicU8` has the
                // layout of `u8`: the load is atomic, as every concurrent write (contract).
                let byte =
                    unsafe { AtomicU8::from_ptr(src.add(i).cast_mut()) }.load(Ordering::Relaxed);
                // SAFETY: `i < len <= CAPACITY`.
                unsafe { dst.add(i).write(byte) };
            }
        });
        // SAFETY: the first `len` bytes were written by the copy just made.
        unsafe { std::slice::from_raw_parts(dst, len) }
    }
}

/// Changes an object's bytes in place, by a writer that holds the object's version
/// ([`Version::lock`]): each `(offset, bytes)` of `edits` overwrites the object's bytes from
/// `offset`, and readers see all of the edits or none, once the writer unlocks. Each edit is
/// checked to lie within the object's `len` bytes and outside its key (`key`, a byte range),
/// which readers borrow without the version.
///
/// # Safety
/// `data..data + len` is a live object whose version the caller holds, that readers read only
/// through [`Scratch::copy_from`] under that version (or, its key, as plain bytes), and that no
/// reference covers.
pub(crate) unsafe fn overwrite_locked(
    data: *mut u8,
    len: usize,
    key: (usize, usize),
    edits: &[(usize, &[u8])],
) {
    for (offset, bytes) in edits {
        let end = offset + bytes.len();
        assert!(
            end <= len && (end <= key.0 || *offset >= key.1),
            "an in-place edit stays within the object and off its key"
        );
    }
    for (offset, bytes) in edits {
        // SAFETY: the edit lies within the object (checked above), which the caller's contract
        // makes live, unreferenced and read atomically meanwhile.
        unsafe { store_bytes(data.add(*offset), bytes) };
    }
}

/// Writes `src` to `dst` with relaxed atomic stores (by a holder of the version's lock).
///
/// # Safety
/// `dst..dst + src.len()` is live memory that readers read only through [`Scratch::copy_from`]
/// (or not at all) while this runs, and that no reference covers.
#[inline]
unsafe fn store_bytes(dst: *mut u8, src: &[u8]) {
    for (i, byte) in src.iter().enumerate() {
        // SAFETY: in bounds and live (contract); `AtomicU8` has the layout of `u8`, and the
        // concurrent reads are atomic (contract).
        unsafe { AtomicU8::from_ptr(dst.add(i)) }.store(*byte, Ordering::Relaxed);
    }
}

#[cfg(all(test, rets_loom))]
mod loom_tests {
    use loom::sync::atomic::AtomicU64;
    use loom::sync::Arc;
    use loom::thread;

    use super::Version;
    use crate::sync::Ordering;

    /// Two words that every write sets to the same value, and their version.
    struct Pair {
        version: Version,
        words: [AtomicU64; 2],
    }

    /// A reader copying while a writer changes the pair in place, twice, never sees the two
    /// words differ, and sees the values in the order they were written.
    #[test]
    fn a_reader_never_sees_a_torn_write() {
        loom::model(|| {
            let pair = Arc::new(Pair {
                version: Version::new(),
                words: [AtomicU64::new(0), AtomicU64::new(0)],
            });
            let reader = {
                let pair = pair.clone();
                thread::spawn(move || {
                    let read = || {
                        pair.version.read(|| {
                            [
                                pair.words[0].load(Ordering::Relaxed),
                                pair.words[1].load(Ordering::Relaxed),
                            ]
                        })
                    };
                    let first = read();
                    assert_eq!(first[0], first[1], "a torn copy");
                    let second = read();
                    assert_eq!(second[0], second[1], "a torn copy");
                    assert!(second[0] >= first[0], "a later read saw an older write");
                })
            };
            for value in 1..=2 {
                pair.version.lock();
                for word in &pair.words {
                    word.store(value, Ordering::Relaxed);
                }
                pair.version.unlock();
            }
            reader.join().unwrap();
        });
    }

    /// Two writers that each lock the version, read both words in place and add one to them:
    /// no increment is lost (the lock excludes the other writer between its read and its
    /// stores). With the compare-and-swap replaced by a load and a store, both writers can hold
    /// the lock at once and one increment is lost. (Readers against a writer: the model above;
    /// with a reader here as well, loom's exploration of its stale loads while it waits passes
    /// its branch bound.)
    #[test]
    fn writers_holding_the_version_lose_no_increment() {
        loom::model(|| {
            let pair = Arc::new(Pair {
                version: Version::new(),
                words: [AtomicU64::new(0), AtomicU64::new(0)],
            });
            let add_one = |pair: &Pair| {
                pair.version.lock();
                for word in &pair.words {
                    let v = word.load(Ordering::Relaxed);
                    word.store(v + 1, Ordering::Relaxed);
                }
                pair.version.unlock();
            };
            let writer = {
                let pair = pair.clone();
                thread::spawn(move || add_one(&pair))
            };
            add_one(&pair);
            writer.join().unwrap();
            let words = pair.words.each_ref().map(|w| w.load(Ordering::Relaxed));
            assert_eq!(words, [2, 2], "an increment was lost");
            let copy = pair.version.read(|| words);
            assert_eq!(copy, [2, 2]);
        });
    }
}
