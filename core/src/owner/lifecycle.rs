//! Everything that changes who owns a table or what it is called: creation, deletion, close,
//! give_away, heir, rename. These are rare, so they all run under one process-wide lock, which
//! keeps owner lists, table metadata and the registry consistent with each other. Transfer
//! notices are delivered after the lock is released.

use std::sync::Arc;

use super::{registry, OwnerInner, Transfer, TransferReason};
use crate::error::{Error, Result};
use crate::sync::{Mutex, Ordering};
use crate::table::{Meta, Table, TableInner, TableOptions};
use crate::term::Term;

#[cfg(not(rets_loom))]
static LIFECYCLE: Mutex<()> = Mutex::new(());

// Under loom, one lock per model execution (loom's objects live in one execution).
#[cfg(rets_loom)]
loom::lazy_static! {
    static ref LIFECYCLE: Mutex<()> = Mutex::new(());
}

pub(super) fn create_table(
    owner: &Arc<OwnerInner>,
    name: &str,
    options: TableOptions,
) -> Result<Table> {
    let _lock = LIFECYCLE.lock();
    if owner.is_closed() {
        return Err(Error::OwnerClosed { owner: owner.id.0 });
    }
    let table = Arc::new(TableInner::new(owner, name, options)?);
    if table.meta.load().named {
        registry::register(name, &table)?;
    }
    owner.tables.lock().push(table.clone());
    Ok(Table::new(table, Some(owner.clone())))
}

/// Marks the table deleted, unregisters its name, drops it from its owner and frees its
/// objects. Call with the lifecycle lock held.
fn delete_locked(table: &Arc<TableInner>) {
    table.deleted.store(true, Ordering::Release);
    let meta = table.meta.load();
    if meta.named {
        registry::unregister(&meta.name, table);
    }
    if let Some(owner) = meta.owner.upgrade() {
        owner.tables.lock().retain(|t| !Arc::ptr_eq(t, table));
    }
    // Writers check `deleted` under their shard lock, so nothing is added after this.
    table.storage.clear();
}

pub(crate) fn delete_table(table: &Arc<TableInner>) -> Result<()> {
    let _lock = LIFECYCLE.lock();
    table.check_alive()?;
    delete_locked(table);
    Ok(())
}

pub(super) fn close_owner(owner: &Arc<OwnerInner>) {
    let mut notices = Vec::new();
    {
        let _lock = LIFECYCLE.lock();
        if owner.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let tables = std::mem::take(&mut *owner.tables.lock());
        for table in tables {
            let meta = table.meta.load_full();
            let heir = meta
                .heir
                .as_ref()
                .and_then(|(heir, gift)| Some((heir.upgrade()?, gift)))
                .filter(|(heir, _)| !heir.is_closed() && heir.id != owner.id);
            match heir {
                Some((heir, gift)) => {
                    // As in ETS, the heir becomes the owner and the table has no heir after.
                    move_table(&table, &heir, None);
                    notices.push((
                        heir.clone(),
                        Transfer {
                            table: Table::new(table.clone(), Some(heir)),
                            from: owner.id,
                            gift: gift.clone(),
                            reason: TransferReason::Inherited,
                        },
                    ));
                }
                None => delete_locked(&table),
            }
        }
    }
    // Its own inbox: the tables of the transfers it had not taken were among its tables
    // (deleted or inherited above); `closed` is set, so `deliver` adds nothing after this.
    owner.drop_transfers();
    for (heir, notice) in notices {
        heir.deliver(notice);
    }
}

/// Makes `to` the owner of `table` (lifecycle lock held). `heir`: `None` clears it,
/// `Some(h)` keeps `h`.
fn move_table(
    table: &Arc<TableInner>,
    to: &Arc<OwnerInner>,
    heir: Option<(super::WeakOwner, Term)>,
) {
    let meta = table.meta.load();
    if let Some(old) = meta.owner.upgrade() {
        old.tables.lock().retain(|t| !Arc::ptr_eq(t, table));
    }
    to.tables.lock().push(table.clone());
    table.meta.store(Arc::new(Meta {
        owner: Arc::downgrade(to),
        heir,
        ..Meta::clone(&meta)
    }));
    table.owner.store(to.id.0, Ordering::Release);
}

/// Checks that `caller` owns `table` (lifecycle lock held).
fn check_owner(
    table: &TableInner,
    caller: Option<&Arc<OwnerInner>>,
    op: &'static str,
) -> Result<()> {
    table.check_alive()?;
    match caller {
        Some(c) if c.is_closed() => Err(Error::OwnerClosed { owner: c.id.0 }),
        Some(c) if c.id.0 == table.owner.load(Ordering::Acquire) => Ok(()),
        _ => Err(Error::NotOwner {
            op,
            name: table.meta.load().name.clone(),
        }),
    }
}

pub(crate) fn give_away(
    table: &Arc<TableInner>,
    caller: Option<&Arc<OwnerInner>>,
    to: &Arc<OwnerInner>,
    gift: Term,
) -> Result<()> {
    let notice = {
        let _lock = LIFECYCLE.lock();
        check_owner(table, caller, "give_away")?;
        let from = caller.expect("checked by check_owner");
        if to.is_closed() {
            return Err(Error::BadArgument(format!(
                "give_away: the receiving owner {} is closed",
                to.id
            )));
        }
        if to.id == from.id {
            return Err(Error::BadArgument(
                "give_away: the receiving owner already owns the table".into(),
            ));
        }
        let heir = table.meta.load().heir.clone();
        move_table(table, to, heir);
        Transfer {
            table: Table::new(table.clone(), Some(to.clone())),
            from: from.id,
            gift,
            reason: TransferReason::GivenAway,
        }
    };
    to.deliver(notice);
    Ok(())
}

pub(crate) fn set_heir(
    table: &Arc<TableInner>,
    caller: Option<&Arc<OwnerInner>>,
    heir: Option<(&Arc<OwnerInner>, Term)>,
) -> Result<()> {
    let _lock = LIFECYCLE.lock();
    check_owner(table, caller, "set the heir of")?;
    let meta = table.meta.load();
    table.meta.store(Arc::new(Meta {
        heir: heir.map(|(h, gift)| (Arc::downgrade(h), gift)),
        ..Meta::clone(&meta)
    }));
    Ok(())
}

pub(crate) fn rename(table: &Arc<TableInner>, new_name: &str) -> Result<()> {
    let _lock = LIFECYCLE.lock();
    table.check_alive()?;
    let meta = table.meta.load();
    if meta.named && meta.name != new_name {
        registry::register(new_name, table)?;
        registry::unregister(&meta.name, table);
    }
    table.meta.store(Arc::new(Meta {
        name: new_name.into(),
        ..Meta::clone(&meta)
    }));
    Ok(())
}
