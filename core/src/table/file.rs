//! [`Table::tab2file`]: saving a table to a file (the format and the loader are in
//! [`crate::persist`]).

use std::path::Path;

use super::select::Batches;
use super::{Need, Table};
use crate::error::Result;
use crate::persist::{self, FileHeader};

/// Objects read per batch while writing (whole keys; bounds the writer's memory).
const FILE_BATCH: usize = 1024;

impl Table {
    /// Saves the table to the file at `path` (ETS `tab2file/2`), in the format of
    /// docs/FILE-FORMAT.md; read it back with [`crate::persist::file2tab`]. Needs read access.
    ///
    /// The table is streamed in batches with first/next's guarantee while other threads write
    /// (an object written meanwhile may or may not be saved; no key is saved twice). The file is
    /// written crash-safe: into a temporary file in the same directory, synced, renamed over
    /// `path`, then the directory is synced; a writer killed at any moment leaves the previous
    /// file at `path` intact. Errors: [`crate::Error::Io`] when the system refuses (the
    /// temporary file is removed).
    pub fn tab2file(&self, path: impl AsRef<Path>) -> Result<()> {
        self.check("tab2file", Need::Read)?;
        let meta = self.inner.meta.load();
        let header = FileHeader {
            name: meta.name.clone(),
            table_type: self.inner.table_type,
            access: self.inner.access,
            keypos: self.inner.keypos,
            named: meta.named,
            read_concurrency: self.inner.read_concurrency,
            write_concurrency: self.inner.write_concurrency,
        };
        let mut batches = Batches::new(self);
        persist::write_table(&header, path.as_ref(), || batches.next_batch(FILE_BATCH))?;
        // A table deleted while it was written would be saved partly: report it.
        self.inner.check_alive()
    }
}
