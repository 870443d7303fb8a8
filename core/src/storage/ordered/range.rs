//! Range reads of the B+tree: a cursor that descends once to where a range starts and then
//! moves leaf by leaf, so that reading `n` keys costs one descent rather than `n`.
//!
//! The cursor keeps the path from the root (each inner node and the child taken), so moving to
//! the next leaf climbs only as far as the nearest ancestor with a next child and descends its
//! near edge: over a whole range, each inner node on the way is visited once.

use std::mem::MaybeUninit;
use std::ops::ControlFlow;

use super::entry::{read, Entry};
use super::node::{inner, leaf, route, search_leaf, Inner, Leaf};
use super::{OrderedStorage, MAX_DEPTH};
use crate::object::Objects;
use crate::storage::reclaim;
use crate::storage::seqlock::Scratch;
use crate::storage::{Chunk, Direction, Start};
use crate::sync::Ordering;
use crate::term;

/// A position in one tree: the path from the root to a leaf, and a slot of that leaf.
struct Cursor {
    /// `path[..depth]`: each inner node from the root down and the child taken. Left
    /// uninitialised beyond `depth` (not zeroed: a zeroed path cost a 768-byte memset per
    /// search, more than a tenth of a `next`).
    path: [MaybeUninit<(*const Inner, usize)>; MAX_DEPTH],
    depth: usize,
    /// The current leaf (null until the cursor is placed).
    leaf: *const Leaf,
    /// The slot; may be out of the leaf's range (before the first or after the last), meaning
    /// "move to the neighbouring leaf".
    at: isize,
    forward: bool,
}

impl Cursor {
    /// A cursor that has not been placed yet.
    fn new(direction: Direction) -> Self {
        Cursor {
            path: [const { MaybeUninit::uninit() }; MAX_DEPTH],
            depth: 0,
            leaf: std::ptr::null(),
            at: -1,
            forward: direction == Direction::Forward,
        }
    }

    /// Places the cursor at the first key at or after (`At`) or strictly after (`After`) the
    /// start key, or at the first key of the tree, in its direction; `false` if the tree is
    /// empty. (A method rather than a constructor: the cursor is large, and is not moved.)
    ///
    /// # Safety
    /// `root` and every node and object reachable from it stay live while the cursor is used
    /// (a guard).
    unsafe fn seek(&mut self, root: *const Inner, start: Start<'_>) -> bool {
        let forward = self.forward;
        let key = match start {
            Start::First => None,
            Start::After(k) | Start::At(k) => Some((term::order_prefix(k), k)),
        };
        self.depth = 0;
        // SAFETY: the caller's contract covers every node reached from `root`.
        let mut node = unsafe { inner(root.cast()) };
        if node.len == 0 {
            return false;
        }
        // Down to the leaf where the key is (or the first/last leaf).
        let l = loop {
            let i = match key {
                Some((norm, k)) => route(node, norm, k),
                None if forward => 0,
                None => node.len - 1,
            };
            self.path[self.depth] = MaybeUninit::new((node as *const Inner, i));
            self.depth += 1;
            let child = node.children[i].get();
            if node.leaf_children {
                // SAFETY: as above.
                break unsafe { leaf(child) };
            }
            // SAFETY: as above.
            node = unsafe { inner(child) };
        };
        self.leaf = l as *const Leaf;
        self.at = match key {
            None if forward => 0,
            None => l.len as isize - 1,
            Some((norm, k)) => {
                let found = search_leaf(l, norm, k);
                let inclusive = matches!(start, Start::At(_));
                match (found, forward) {
                    (Ok(i), _) if inclusive => i as isize,
                    (Ok(i), true) => i as isize + 1,
                    (Ok(i), false) => i as isize - 1,
                    (Err(i), true) => i as isize,
                    (Err(i), false) => i as isize - 1,
                }
            }
        };
        true
    }

    /// The entry at the cursor, moving to the neighbouring leaf first if the slot is past this
    /// one's end; `None` at the end of the tree.
    ///
    /// # Safety
    /// As for [`Cursor::seek`].
    #[inline]
    unsafe fn entry(&mut self) -> Option<*mut Entry> {
        loop {
            // SAFETY: `seek` placed the cursor on a live leaf (the caller's contract).
            let l = unsafe { &*self.leaf };
            if self.at >= 0 && (self.at as usize) < l.len {
                return Some(l.objs[self.at as usize].load(Ordering::Acquire));
            }
            // SAFETY: the caller's contract.
            if !unsafe { self.next_leaf() } {
                return None;
            }
        }
    }

    /// Moves past the current slot.
    #[inline]
    fn advance(&mut self) {
        self.at += if self.forward { 1 } else { -1 };
    }

    /// Moves to the near end of the next (previous) leaf: up to the nearest ancestor with a
    /// next (previous) child, then down that child's near edge, updating the path. `false` at
    /// the end of the tree.
    ///
    /// # Safety
    /// As for [`Cursor::seek`].
    unsafe fn next_leaf(&mut self) -> bool {
        let forward = self.forward;
        let mut d = self.depth;
        while d > 0 {
            d -= 1;
            // SAFETY: `d < depth`, and `seek` or an earlier move wrote every entry below
            // `depth`.
            let (n, i) = unsafe { self.path[d].assume_init() };
            // SAFETY: `n` is on the path, reached from the root (contract).
            let n = unsafe { &*n };
            let next = if forward {
                (i + 1 < n.len).then_some(i + 1)
            } else {
                i.checked_sub(1)
            };
            let Some(next) = next else { continue };
            self.path[d] = MaybeUninit::new((n as *const Inner, next));
            d += 1;
            let mut child = n.children[next].get();
            let mut leaf_children = n.leaf_children;
            while !leaf_children {
                // SAFETY: as above.
                let c = unsafe { inner(child) };
                let j = if forward { 0 } else { c.len - 1 };
                self.path[d] = MaybeUninit::new((c as *const Inner, j));
                d += 1;
                child = c.children[j].get();
                leaf_children = c.leaf_children;
            }
            self.depth = d;
            // SAFETY: as above.
            let l = unsafe { leaf(child) };
            self.leaf = l as *const Leaf;
            self.at = if forward { 0 } else { l.len as isize - 1 };
            return true;
        }
        false
    }
}

/// The entry of the first key after (before) `from` (the first (last) key if `None`) in the
/// tree at `root`, expired or not.
///
/// # Safety
/// As for [`Cursor::seek`], for as long as the result is used.
pub(super) unsafe fn step(
    root: *const Inner,
    from: Option<(u64, &[u8])>,
    direction: Direction,
) -> Option<*mut Entry> {
    let start = from.map_or(Start::First, |(_, key)| Start::After(key));
    let mut cursor = Cursor::new(direction);
    // SAFETY: the caller's contract.
    unsafe { cursor.seek(root, start).then(|| cursor.entry()).flatten() }
}

impl OrderedStorage {
    /// See `Storage::chunk`: one descent, then leaf by leaf, in the tree loaded at the start,
    /// under one guard.
    pub(crate) fn chunk(
        &self,
        start: Start<'_>,
        direction: Direction,
        max_keys: usize,
        mut visit: impl FnMut(&[u8], Objects<'_>) -> ControlFlow<()>,
    ) -> Chunk {
        let mut keys = 0;
        if max_keys == 0 {
            return Chunk {
                keys,
                exhausted: false,
            };
        }
        let guard = self.collector.enter();
        let root = reclaim::load(&guard, &self.root);
        let mut cursor = Cursor::new(direction);
        // SAFETY: `root` was loaded under `guard`, which outlives the cursor and every entry
        // read through it (nodes and objects are freed only through the collector).
        if !unsafe { cursor.seek(root, start) } {
            return Chunk {
                keys,
                exhausted: true,
            };
        }
        // SAFETY: as above.
        while let Some(p) = unsafe { cursor.entry() } {
            cursor.advance();
            // Expired entries are passed over, as if absent.
            // SAFETY: as above: `p` is a live entry.
            if unsafe { !self.live(p) } {
                continue;
            }
            // SAFETY: as above.
            let mut scratch = Scratch::new();
            let object = unsafe { read(p, &mut scratch) };
            keys += 1;
            let flow = visit(object.key_msgpack(), Objects::from_option(Some(object)));
            if flow.is_break() || keys == max_keys {
                return Chunk {
                    keys,
                    exhausted: false,
                };
            }
        }
        Chunk {
            keys,
            exhausted: true,
        }
    }
}
