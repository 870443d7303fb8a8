//! The table file format (docs/FILE-FORMAT.md): constants, the header, blocks and the trailer,
//! and a reader that checks each part as it goes.
//!
//! ```text
//! magic      8 bytes   89 52 45 54 53 0d 0a 1a   ("\x89RETS\r\n\x1a")
//! version    u32 LE    1
//! header_len u32 LE    bytes of the header map (at most 64 KiB)
//! header     MessagePack map: access, keypos, name, named, read_concurrency, type,
//!            write_concurrency
//! header_crc u32 LE    CRC-32 of every byte before it
//! blocks     each: 'B', count u32 LE (>= 1), len u32 LE, `count` canonical objects in `len`
//!            bytes, crc u32 LE (CRC-32 of the block from 'B' to the end of its objects)
//! trailer    'E', object_count u64 LE, file_crc u32 LE (CRC-32 of every byte before it)
//! ```

use std::io::{self, Read, Write};

use crate::table::{Access, TableType};
use crate::term::{self, limits, Term};

/// The first bytes of every table file (non-ASCII first byte, CR LF and ^Z, as PNG does, so that
/// a text-mode transfer or a truncation to 7 bits is detected).
pub(crate) const MAGIC: [u8; 8] = *b"\x89RETS\r\n\x1a";
/// The format version this library writes and the newest it reads.
pub const VERSION: u32 = 1;
/// The largest header map.
pub(crate) const MAX_HEADER_BYTES: u32 = 64 << 10;
/// Objects are grouped into blocks of about this many bytes.
pub(crate) const BLOCK_TARGET_BYTES: usize = 64 << 10;
/// The largest block a reader accepts: one largest object plus a block's worth before it.
pub(crate) const MAX_BLOCK_BYTES: usize = limits::MAX_OBJECT_BYTES + BLOCK_TARGET_BYTES;
pub(crate) const BLOCK_TAG: u8 = b'B';
pub(crate) const END_TAG: u8 = b'E';
/// Bytes of the trailer: tag, count, file CRC.
pub(crate) const TRAILER_BYTES: u64 = 1 + 8 + 4;

/// The options and name a file records: what file2tab recreates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHeader {
    /// The table's name.
    pub name: String,
    /// The table type.
    pub table_type: TableType,
    /// The access mode.
    pub access: Access,
    /// The 1-based key position.
    pub keypos: usize,
    /// Whether the name was registered.
    pub named: bool,
    /// As given at creation.
    pub read_concurrency: bool,
    /// As given at creation.
    pub write_concurrency: bool,
}

/// Why a file could not be read: damaged or foreign (`Bad`), or an I/O failure (`Io`).
#[derive(Debug)]
pub(crate) enum ReadError {
    Bad(String),
    Io(io::Error),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> ReadError {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            ReadError::Bad("truncated: the file ends in the middle of its data".into())
        } else {
            ReadError::Io(e)
        }
    }
}

fn bad(reason: impl Into<String>) -> ReadError {
    ReadError::Bad(reason.into())
}

impl FileHeader {
    /// The header map, canonical.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let entry = |k: &str, v: Term| (Term::from(k), v);
        Term::Map(vec![
            entry("name", Term::from(self.name.as_str())),
            entry("type", Term::from(self.table_type.as_str())),
            entry("access", Term::from(self.access.as_str())),
            entry("keypos", Term::from(self.keypos)),
            entry("named", Term::Bool(self.named)),
            entry("read_concurrency", Term::Bool(self.read_concurrency)),
            entry("write_concurrency", Term::Bool(self.write_concurrency)),
        ])
        .to_msgpack()
        .expect("a header map encodes")
    }

    /// Reads the header map. Unknown entries are ignored (a later minor revision may add some);
    /// every entry above must be present and well typed.
    fn decode(bytes: &[u8]) -> Result<FileHeader, ReadError> {
        let map = term::decode(bytes).map_err(|e| bad(format!("bad header: {e}")))?;
        let Term::Map(entries) = map else {
            return Err(bad("bad header: not a map"));
        };
        let get = |k: &str| {
            entries
                .iter()
                .find(|(key, _)| key.as_str() == Some(k))
                .map(|(_, v)| v)
                .ok_or_else(|| bad(format!("bad header: no {k:?} entry")))
        };
        let text = |k: &str| {
            get(k)?
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| bad(format!("bad header: {k:?} is not a string")))
        };
        let flag = |k: &str| {
            get(k)?
                .as_bool()
                .ok_or_else(|| bad(format!("bad header: {k:?} is not a boolean")))
        };
        let table_type = match text("type")?.as_str() {
            "set" => TableType::Set,
            "ordered_set" => TableType::OrderedSet,
            "bag" => TableType::Bag,
            "duplicate_bag" => TableType::DuplicateBag,
            other => return Err(bad(format!("bad header: unknown table type {other:?}"))),
        };
        let access = match text("access")?.as_str() {
            "public" => Access::Public,
            "protected" => Access::Protected,
            "private" => Access::Private,
            other => return Err(bad(format!("bad header: unknown access {other:?}"))),
        };
        let keypos = get("keypos")?
            .as_u64()
            .filter(|k| (1..=u64::from(u32::MAX)).contains(k))
            .ok_or_else(|| bad("bad header: keypos is not a positive integer"))?;
        Ok(FileHeader {
            name: text("name")?,
            table_type,
            access,
            keypos: keypos as usize,
            named: flag("named")?,
            read_concurrency: flag("read_concurrency")?,
            write_concurrency: flag("write_concurrency")?,
        })
    }
}

/// A writer that keeps the CRC-32 of everything written through it.
pub(crate) struct CrcWriter<W: Write> {
    pub(crate) inner: W,
    pub(crate) crc: crc32fast::Hasher,
}

impl<W: Write> CrcWriter<W> {
    pub(crate) fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.crc.update(bytes);
        self.inner.write_all(bytes)
    }
}

/// Writes the magic, version and header.
pub(crate) fn write_header<W: Write>(
    out: &mut CrcWriter<W>,
    header: &FileHeader,
) -> io::Result<()> {
    let map = header.encode();
    out.put(&MAGIC)?;
    out.put(&VERSION.to_le_bytes())?;
    out.put(&(map.len() as u32).to_le_bytes())?;
    out.put(&map)?;
    let crc = out.crc.clone().finalize();
    out.put(&crc.to_le_bytes())
}

/// Writes one block of `count` objects whose canonical bytes are `payload`.
pub(crate) fn write_block<W: Write>(
    out: &mut CrcWriter<W>,
    count: u32,
    payload: &[u8],
) -> io::Result<()> {
    let mut head = [0u8; 9];
    head[0] = BLOCK_TAG;
    head[1..5].copy_from_slice(&count.to_le_bytes());
    head[5..9].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    let mut block_crc = crc32fast::Hasher::new();
    block_crc.update(&head);
    block_crc.update(payload);
    out.put(&head)?;
    out.put(payload)?;
    out.put(&block_crc.finalize().to_le_bytes())
}

/// Writes the trailer.
pub(crate) fn write_trailer<W: Write>(out: &mut CrcWriter<W>, count: u64) -> io::Result<()> {
    out.put(&[END_TAG])?;
    out.put(&count.to_le_bytes())?;
    let crc = out.crc.clone().finalize();
    out.put(&crc.to_le_bytes())
}

/// A reader that keeps the CRC-32 of everything read through it.
pub(crate) struct CrcReader<R: Read> {
    inner: R,
    crc: crc32fast::Hasher,
}

impl<R: Read> CrcReader<R> {
    pub(crate) fn new(inner: R) -> CrcReader<R> {
        CrcReader {
            inner,
            crc: crc32fast::Hasher::new(),
        }
    }

    fn exact<const N: usize>(&mut self) -> Result<[u8; N], ReadError> {
        let mut buf = [0u8; N];
        self.inner.read_exact(&mut buf)?;
        self.crc.update(&buf);
        Ok(buf)
    }

    fn u32(&mut self) -> Result<u32, ReadError> {
        Ok(u32::from_le_bytes(self.exact()?))
    }

    /// `len` bytes, read as they come (a length claimed by a damaged file allocates nothing
    /// that the file does not hold).
    fn bytes(&mut self, len: usize) -> Result<Vec<u8>, ReadError> {
        let mut buf = Vec::with_capacity(len.min(BLOCK_TARGET_BYTES));
        (&mut self.inner).take(len as u64).read_to_end(&mut buf)?;
        if buf.len() != len {
            return Err(bad("truncated: the file ends in the middle of its data"));
        }
        self.crc.update(&buf);
        Ok(buf)
    }

    fn sum(&self) -> u32 {
        self.crc.clone().finalize()
    }

    /// Reads and checks the magic, the version and the header.
    pub(crate) fn header(&mut self) -> Result<(u32, FileHeader), ReadError> {
        let mut magic = [0u8; 8];
        let got = read_up_to(&mut self.inner, &mut magic)?;
        self.crc.update(&magic[..got]);
        if got < MAGIC.len() || magic != MAGIC {
            if got > 0 && MAGIC.starts_with(&magic[..got]) {
                return Err(bad("truncated: the file ends inside its magic number"));
            }
            return Err(bad("not a rets table file (wrong magic number)"));
        }
        let version = self.u32()?;
        if version != VERSION {
            return Err(bad(format!(
                "unsupported file version {version}: this library reads version {VERSION}"
            )));
        }
        let len = self.u32()?;
        if len > MAX_HEADER_BYTES {
            return Err(bad(format!(
                "bad header: {len} bytes, over the limit of {MAX_HEADER_BYTES}"
            )));
        }
        let map = self.bytes(len as usize)?;
        let expected = self.sum();
        let stored = u32::from_le_bytes(self.exact()?);
        if stored != expected {
            return Err(bad("header checksum mismatch: the header is damaged"));
        }
        Ok((version, FileHeader::decode(&map)?))
    }

    /// The next block's objects (canonical bytes, not yet validated), or the trailer's object
    /// count and whether the whole-file checksum matched.
    pub(crate) fn next(&mut self) -> Result<Part, ReadError> {
        let [tag] = self.exact::<1>()?;
        match tag {
            BLOCK_TAG => {
                let mut block = crc32fast::Hasher::new();
                block.update(&[tag]);
                let count_bytes = self.exact::<4>()?;
                let len_bytes = self.exact::<4>()?;
                block.update(&count_bytes);
                block.update(&len_bytes);
                let (count, len) = (
                    u32::from_le_bytes(count_bytes),
                    u32::from_le_bytes(len_bytes) as usize,
                );
                if count == 0 || len > MAX_BLOCK_BYTES || (count as usize) > len {
                    return Err(bad(format!(
                        "damaged block: {count} object(s) in {len} bytes"
                    )));
                }
                let payload = self.bytes(len)?;
                block.update(&payload);
                let stored = u32::from_le_bytes(self.exact()?);
                if stored != block.finalize() {
                    return Err(bad(
                        "block checksum mismatch: a block of objects is damaged",
                    ));
                }
                Ok(Part::Block { count, payload })
            }
            END_TAG => {
                let count = u64::from_le_bytes(self.exact()?);
                let expected = self.sum();
                let stored = u32::from_le_bytes(self.exact()?);
                let mut rest = [0u8; 1];
                if read_up_to(&mut self.inner, &mut rest)? != 0 {
                    return Err(bad("unexpected bytes after the trailer"));
                }
                Ok(Part::End {
                    count,
                    checksum_ok: stored == expected,
                })
            }
            other => Err(bad(format!(
                "damaged file: expected a block or the trailer, found byte 0x{other:02x}"
            ))),
        }
    }
}

/// One part of the file after the header.
pub(crate) enum Part {
    Block { count: u32, payload: Vec<u8> },
    End { count: u64, checksum_ok: bool },
}

/// Reads into `buf` until it is full or the input ends; returns how many bytes were read.
fn read_up_to<R: Read>(r: &mut R, buf: &mut [u8]) -> Result<usize, ReadError> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReadError::Io(e)),
        }
    }
    Ok(got)
}

/// Splits a block's payload into its `count` objects (each one MessagePack value); a payload
/// that does not hold exactly that many values is a damaged block.
pub(crate) fn split_objects(count: u32, payload: &[u8]) -> Result<Vec<&[u8]>, ReadError> {
    let mut objects = Vec::with_capacity(count as usize);
    let mut rest = payload;
    for _ in 0..count {
        let end = term::value_end(rest)
            .ok_or_else(|| bad("damaged block: an object is cut short or malformed"))?;
        let (object, tail) = rest.split_at(end);
        objects.push(object);
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(bad("damaged block: bytes after its last object"));
    }
    Ok(objects)
}
