//! Owners: every table has exactly one, and closing it deletes the table or hands it to its heir.
//!
//! An [`Owner`] stands where an Erlang process stands in ETS. Tables are created through it, it
//! is the only one that may write a protected table or touch a private one, and when it closes
//! (explicitly with [`Owner::close`], or when its last clone is dropped) each of its tables is
//! either given to the table's heir — which then finds a [`Transfer`] in its inbox — or deleted.

mod lifecycle;
#[cfg(all(test, rets_loom))]
mod loom_tests;
mod registry;

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::sync::{AtomicBool, Condvar, Mutex, Ordering};

use crate::error::Result;
use crate::table::{Table, TableInner, TableOptions};
use crate::term::Term;

pub(crate) use lifecycle::{delete_table, give_away, rename, set_heir};
pub use registry::whereis;

/// The identity of an owner, unique for the life of the process. `OwnerId(0)` is nobody.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OwnerId(pub u64);

impl OwnerId {
    /// The identity of a handle that acts for no owner (see [`crate::whereis`]).
    pub const NOBODY: OwnerId = OwnerId(0);
}

impl fmt::Display for OwnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Why a table changed owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferReason {
    /// The previous owner closed and this owner was the table's heir.
    Inherited,
    /// The previous owner called `give_away`.
    GivenAway,
}

/// A table arriving at an owner: ETS's `{'ETS-TRANSFER', Table, FromPid, GiftData}`.
#[derive(Debug, Clone)]
pub struct Transfer {
    /// The table, through a handle acting for the receiving owner.
    pub table: Table,
    /// The owner it came from.
    pub from: OwnerId,
    /// The heir's gift data (on inheritance) or the gift of `give_away`.
    pub gift: Term,
    /// Inherited or given away.
    pub reason: TransferReason,
}

/// The state shared by an owner and every handle acting for it.
pub(crate) struct OwnerInner {
    pub(crate) id: OwnerId,
    pub(crate) closed: AtomicBool,
    /// The tables this owner owns. Changed only under the lifecycle lock.
    pub(crate) tables: Mutex<Vec<Arc<TableInner>>>,
    inbox: Mutex<VecDeque<Transfer>>,
    arrived: Condvar,
}

impl OwnerInner {
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Queues a transfer and wakes the waiters. A closed owner takes none: a queued transfer
    /// holds a handle acting for this owner, so one left in a closed owner's inbox would keep
    /// the owner (and the transfer) alive forever.
    pub(crate) fn deliver(&self, transfer: Transfer) {
        let mut inbox = self.inbox.lock();
        if self.is_closed() {
            return;
        }
        inbox.push_back(transfer);
        drop(inbox);
        self.arrived.notify_all();
    }

    /// Drops the transfers still queued (on close; see [`OwnerInner::deliver`]).
    fn drop_transfers(&self) {
        let transfers = std::mem::take(&mut *self.inbox.lock());
        drop(transfers);
    }
}

impl fmt::Debug for OwnerInner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Owner")
            .field("id", &self.id)
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Closes the owner when the last [`Owner`] clone is dropped.
struct CloseOnDrop(Arc<OwnerInner>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        lifecycle::close_owner(&self.0);
    }
}

/// An owner of tables. Clones share one owner; it closes when [`Owner::close`] is called or the
/// last clone is dropped. `Owner` is `Send + Sync`: any thread may act for it.
#[derive(Clone)]
pub struct Owner {
    handle: Arc<CloseOnDrop>,
}

impl fmt::Debug for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.handle.0, f)
    }
}

impl Default for Owner {
    fn default() -> Self {
        Owner::new()
    }
}

impl Owner {
    /// A new owner, owning nothing yet.
    pub fn new() -> Owner {
        // An id counter, not part of any protocol (std's atomic: loom's cannot be a static).
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let inner = Arc::new(OwnerInner {
            id: OwnerId(NEXT_ID.fetch_add(1, Ordering::Relaxed)),
            closed: AtomicBool::new(false),
            tables: Mutex::new(Vec::new()),
            inbox: Mutex::new(VecDeque::new()),
            arrived: Condvar::new(),
        });
        Owner {
            handle: Arc::new(CloseOnDrop(inner)),
        }
    }

    pub(crate) fn inner(&self) -> &Arc<OwnerInner> {
        &self.handle.0
    }

    /// This owner's identity.
    pub fn id(&self) -> OwnerId {
        self.inner().id
    }

    /// Whether [`Owner::close`] has run.
    pub fn is_closed(&self) -> bool {
        self.inner().is_closed()
    }

    /// Creates a table owned by this owner. `name` is the table's name; with
    /// [`TableOptions::named`] it is also registered, and creation fails with
    /// [`crate::Error::NameTaken`] if a named table already has it.
    pub fn new_table(&self, name: &str, options: TableOptions) -> Result<Table> {
        lifecycle::create_table(self.inner(), name, options)
    }

    /// The named table `name`, through a handle acting for this owner.
    pub fn whereis(&self, name: &str) -> Option<Table> {
        registry::lookup(name).map(|t| Table::new(t, Some(self.inner().clone())))
    }

    /// Handles (acting for this owner) to every table it owns now.
    pub fn tables(&self) -> Vec<Table> {
        let tables = self.inner().tables.lock().clone();
        tables
            .into_iter()
            .map(|t| Table::new(t, Some(self.inner().clone())))
            .collect()
    }

    /// Closes the owner: each of its tables goes to its heir (if the heir is set, open and not
    /// this owner) or is deleted. Handles acting for a closed owner fail with
    /// [`crate::Error::OwnerClosed`]. Closing twice does nothing.
    pub fn close(&self) {
        lifecycle::close_owner(self.inner());
    }

    /// The next table transfer to this owner, if one has arrived.
    pub fn try_recv_transfer(&self) -> Option<Transfer> {
        self.inner().inbox.lock().pop_front()
    }

    /// Waits up to `timeout` for the next table transfer to this owner.
    pub fn recv_transfer(&self, timeout: Duration) -> Option<Transfer> {
        let deadline = Instant::now() + timeout;
        let inner = self.inner();
        let mut inbox = inner.inbox.lock();
        loop {
            if let Some(transfer) = inbox.pop_front() {
                return Some(transfer);
            }
            let (guard, timed_out) = inner.arrived.wait_until(inbox, deadline);
            inbox = guard;
            if timed_out {
                return inbox.pop_front();
            }
        }
    }
}

/// A weak reference to an owner, as a table's heir holds it.
pub(crate) type WeakOwner = Weak<OwnerInner>;
