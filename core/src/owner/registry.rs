//! The named-table registry: a map swapped whole through `arc-swap`, so that `whereis` reads it
//! without a lock. Changes happen only under the lifecycle lock (see `lifecycle`).
//!
//! An empty registry holds no map at all (`None`), so a process that has deleted all its named
//! tables holds no registry memory (leak checkers such as valgrind see nothing left behind).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use arc_swap::ArcSwapOption;

use crate::error::{Error, Result};
use crate::table::{Table, TableInner};

type Names = HashMap<String, Arc<TableInner>>;

static REGISTRY: LazyLock<ArcSwapOption<Names>> = LazyLock::new(ArcSwapOption::empty);

/// The named table `name`, through a handle that acts for no owner: it may read public and
/// protected tables and write public ones. Use [`crate::Owner::whereis`] to act for an owner.
///
/// As in ETS, a handle keeps referring to the table it found: if that table is deleted and
/// another takes its name, the old handle fails with [`Error::NoTable`].
pub fn whereis(name: &str) -> Option<Table> {
    lookup(name).map(|t| Table::new(t, None))
}

pub(crate) fn lookup(name: &str) -> Option<Arc<TableInner>> {
    REGISTRY.load().as_ref()?.get(name).cloned()
}

/// Registers `table` under `name`. Call with the lifecycle lock held.
pub(super) fn register(name: &str, table: &Arc<TableInner>) -> Result<()> {
    let names = REGISTRY.load();
    if names.as_ref().is_some_and(|n| n.contains_key(name)) {
        return Err(Error::NameTaken { name: name.into() });
    }
    let mut names = names.as_deref().cloned().unwrap_or_default();
    names.insert(name.into(), table.clone());
    REGISTRY.store(Some(Arc::new(names)));
    Ok(())
}

/// Removes `name` if it refers to `table`. Call with the lifecycle lock held.
pub(super) fn unregister(name: &str, table: &Arc<TableInner>) {
    let names = REGISTRY.load();
    let Some(names) = names.as_deref() else {
        return;
    };
    if names.get(name).is_some_and(|t| Arc::ptr_eq(t, table)) {
        let mut names = names.clone();
        names.remove(name);
        REGISTRY.store((!names.is_empty()).then(|| Arc::new(names)));
    }
}
