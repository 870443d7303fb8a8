//! Explicit limits on terms. Exceeding one is a clear error ([`super::TermError`]), never a
//! crash, a stack overflow or a partial write.

/// Deepest nesting of arrays and maps, counting the outermost container as level 1.
/// An object (an array) may therefore hold containers nested 127 levels below it.
pub const MAX_DEPTH: usize = 128;

/// Largest encoded size of one stored object, in bytes (64 MiB).
pub const MAX_OBJECT_BYTES: usize = 64 << 20;

/// Largest encoded size of one key, in bytes (64 KiB).
pub const MAX_KEY_BYTES: usize = 64 << 10;

/// Most objects under one key of a bag or duplicate_bag (2^28 - 1): more is
/// [`crate::Error::KeyFull`].
pub const MAX_KEY_OBJECTS: usize = (1 << 28) - 1;

/// Most bytes of the objects under one key of a bag or duplicate_bag, counting 12 bytes of
/// record header for each (4 GiB - 1): more is [`crate::Error::KeyFull`].
pub const MAX_KEY_OBJECT_BYTES: usize = u32::MAX as usize;
