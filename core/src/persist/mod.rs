//! Saving a table to a file and loading it back: [`crate::Table::tab2file`], [`file2tab`],
//! [`tabfile_info`] (ETS's functions of the same names). The format is documented in
//! docs/FILE-FORMAT.md and [`format`].
//!
//! Writing streams the table in batches under first/next's traversal guarantee while writers
//! run (memory bounded by a batch, not by the table), into a temporary file in the target's
//! directory that is synced, renamed over the target and followed by a sync of the directory:
//! a writer killed at any moment leaves the previous file intact.
//!
//! Reading checks everything: the magic number, the version, the header's checksum, every
//! block's checksum, every object (as any inserted object is checked), the object count and
//! the whole-file checksum. A file that fails a check is a clear [`Error::BadFile`] naming
//! what is wrong, and the table being loaded is deleted: never a partial table.

pub mod format;

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::{Error, Result};
use crate::object::Msgpack;
use crate::owner::Owner;
use crate::table::{Table, TableOptions};
use crate::term;

use format::{CrcReader, Part, ReadError};
pub use format::{FileHeader, VERSION};

/// What [`tabfile_info`] reports: the header and the trailer's object count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// The format version of the file.
    pub version: u32,
    /// The table's options and name.
    pub header: FileHeader,
    /// The number of objects the file holds (from its trailer).
    pub object_count: u64,
}

/// How [`file2tab`] checks a file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// ETS's `{verify, true}`: also check that every object is stored in canonical form and
    /// that the loaded table has exactly the file's object count (a set file with a key twice
    /// fails). Without it every checksum, every object's validity and the count of objects read
    /// are still checked.
    pub verify: bool,
}

pub(crate) fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

fn read_error(path: &Path, e: ReadError) -> Error {
    match e {
        ReadError::Bad(reason) => Error::BadFile {
            path: path.display().to_string(),
            reason,
        },
        ReadError::Io(e) => io_error(path, e),
    }
}

/// The header and object count of the table file at `path` (ETS `tabfile_info/1`). Reads the
/// header (checking its checksum) and the trailer; the objects are not read.
pub fn tabfile_info(path: impl AsRef<Path>) -> Result<FileInfo> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let mut reader = BufReader::new(file);
    let (version, header) = CrcReader::new(&mut reader)
        .header()
        .map_err(|e| read_error(path, e))?;
    let mut file = reader.into_inner();
    let trailer = (|| -> std::result::Result<u64, ReadError> {
        let end = file.seek(SeekFrom::End(0))?;
        if end < format::TRAILER_BYTES {
            return Err(ReadError::Bad("truncated: no trailer".into()));
        }
        file.seek(SeekFrom::End(-(format::TRAILER_BYTES as i64)))?;
        let mut t = [0u8; format::TRAILER_BYTES as usize];
        file.read_exact(&mut t)?;
        if t[0] != format::END_TAG {
            return Err(ReadError::Bad(
                "truncated or damaged: the file does not end with a trailer".into(),
            ));
        }
        Ok(u64::from_le_bytes(t[1..9].try_into().expect("eight bytes")))
    })();
    Ok(FileInfo {
        version,
        header,
        object_count: trailer.map_err(|e| read_error(path, e))?,
    })
}

/// Recreates the table saved in the file at `path` (ETS `file2tab/2`), owned by `owner`, with
/// the saved type, access, keypos, name and options. On any error nothing is left: the table
/// being loaded is deleted.
pub fn file2tab(owner: &Owner, path: impl AsRef<Path>, options: LoadOptions) -> Result<Table> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    read_table(
        BufReader::new(file),
        owner,
        options,
        &path.display().to_string(),
    )
}

/// [`file2tab`] from any reader; `source` names it in errors.
pub fn read_table(
    reader: impl Read,
    owner: &Owner,
    options: LoadOptions,
    source: &str,
) -> Result<Table> {
    let bad = |e: ReadError| read_error(Path::new(source), e);
    let mut reader = CrcReader::new(reader);
    let (_, header) = reader.header().map_err(bad)?;
    let mut table_options = TableOptions::new()
        .table_type(header.table_type)
        .access(header.access)
        .keypos(header.keypos)
        .read_concurrency(header.read_concurrency)
        .write_concurrency(header.write_concurrency);
    if header.named {
        table_options = table_options.named();
    }
    let table = owner.new_table(&header.name, table_options)?;
    match fill(&table, &mut reader, options, source) {
        Ok(()) => Ok(table),
        Err(e) => {
            // Never a partial table.
            let _ = table.delete_table();
            Err(e)
        }
    }
}

fn fill<R: Read>(
    table: &Table,
    reader: &mut CrcReader<R>,
    options: LoadOptions,
    source: &str,
) -> Result<()> {
    let bad = |reason: String| Error::BadFile {
        path: source.to_owned(),
        reason,
    };
    let mut read: u64 = 0;
    loop {
        match reader
            .next()
            .map_err(|e| read_error(Path::new(source), e))?
        {
            Part::Block { count, payload } => {
                let objects = format::split_objects(count, &payload)
                    .map_err(|e| read_error(Path::new(source), e))?;
                for object in objects {
                    if options.verify
                        && !matches!(
                            term::to_canonical(object),
                            Ok(std::borrow::Cow::Borrowed(_))
                        )
                    {
                        return Err(bad(format!(
                            "object {} is not stored in canonical form",
                            read + 1
                        )));
                    }
                    table
                        .insert(Msgpack(object))
                        .map_err(|e| bad(format!("object {} is invalid: {e}", read + 1)))?;
                    read += 1;
                }
            }
            Part::End { count, checksum_ok } => {
                if !checksum_ok {
                    return Err(bad("file checksum mismatch: the file is damaged".into()));
                }
                if count != read {
                    return Err(bad(format!(
                        "object count mismatch: the trailer says {count}, the blocks hold {read}"
                    )));
                }
                if options.verify && table.size()? as u64 != count {
                    return Err(bad(format!(
                        "verify: the file holds {count} objects but the table has {} (a key or \
                         object stored twice)",
                        table.size()?
                    )));
                }
                return Ok(());
            }
        }
    }
}

/// Where a file being written lives until it is complete: beside the target, so that the final
/// rename stays on one file system.
fn temporary_path(path: &Path) -> Result<std::path::PathBuf> {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| {
        Error::BadArgument(format!("tab2file: {} is not a file path", path.display()))
    })?;
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = format!(
        ".{}.rets-tmp-{}-{n}",
        name.to_string_lossy(),
        std::process::id()
    );
    Ok(path.with_file_name(tmp))
}

/// Writes `table` to `path` (see [`crate::Table::tab2file`]).
pub(crate) fn write_table(
    header: &FileHeader,
    path: &Path,
    mut next_batch: impl FnMut() -> Vec<crate::Object>,
) -> Result<()> {
    let tmp = temporary_path(path)?;
    let result = (|| -> std::io::Result<()> {
        let file = File::options().write(true).create_new(true).open(&tmp)?;
        let mut out = format::CrcWriter {
            inner: BufWriter::with_capacity(256 << 10, file),
            crc: crc32fast::Hasher::new(),
        };
        format::write_header(&mut out, header)?;
        let mut payload = Vec::with_capacity(format::BLOCK_TARGET_BYTES * 2);
        let (mut in_block, mut total) = (0u32, 0u64);
        loop {
            let batch = next_batch();
            if batch.is_empty() {
                break;
            }
            for object in &batch {
                payload.extend_from_slice(object.as_msgpack());
                in_block += 1;
                total += 1;
                if payload.len() >= format::BLOCK_TARGET_BYTES {
                    format::write_block(&mut out, in_block, &payload)?;
                    payload.clear();
                    in_block = 0;
                }
            }
        }
        if in_block > 0 {
            format::write_block(&mut out, in_block, &payload)?;
        }
        format::write_trailer(&mut out, total)?;
        let file = out.inner.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        // The rename is durable once the directory is synced.
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_error(path, e)
    })?;
    Ok(())
}
