//! What `fstat` fills in, as xv6's `stat.h`: laid out as the C structure
//! (with its padding), since xv6's user programs read it.

pub use crate::fs::format::{T_DEV, T_DIR, T_FILE};

/// A file's status (xv6's `struct stat`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Stat {
    /// T_DIR, T_FILE or T_DEV.
    pub kind: i16,
    /// The file system's disk device.
    pub dev: i32,
    /// Inode number.
    pub ino: u32,
    /// Links to the file.
    pub nlink: i16,
    /// Bytes in the file.
    pub size: u32,
}

/// Bytes of a `Stat` as user programs see it.
pub const STAT_SIZE: usize = core::mem::size_of::<Stat>();
const _: () = assert!(STAT_SIZE == 20);
