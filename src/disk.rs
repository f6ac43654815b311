//! The root device: the one place the file system reaches a disk. It
//! moves whole blocks (`BSIZE` bytes) by block number; `diskinit` picks
//! the backend at boot. Today that is the RAM disk (`memide`, the GRUB
//! module `fs`).

use core::fmt;

use crate::fs::format::BSIZE;

/// Why a transfer failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskError {
    /// No disk was found at boot.
    NoDisk,
    /// A block number at or past the disk's end.
    PastEnd { blockno: u32, blocks: u32 },
}

impl fmt::Display for DiskError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match *self {
            DiskError::NoDisk => write!(f, "no disk"),
            DiskError::PastEnd { blockno, blocks } => {
                write!(
                    f,
                    "block {blockno} is past the disk's end ({blocks} blocks)"
                )
            }
        }
    }
}

/// Find the root device (the RAM disk the boot loader gave): its size in
/// blocks, or None (with a line saying why) when there is none.
pub fn diskinit(boot: &crate::bootinfo::BootInfo, top: crate::memlayout::PAddr) -> Option<u32> {
    crate::memide::ideinit(boot, top)
}

/// Blocks on the root device (0 before `diskinit` found one).
pub fn blocks() -> u32 {
    crate::memide::blocks()
}

/// Read block `blockno` into `data`.
pub fn read(blockno: u32, data: &mut [u8; BSIZE]) -> Result<(), DiskError> {
    crate::memide::read(blockno, data)
}

/// Write `data` to block `blockno`.
pub fn write(blockno: u32, data: &[u8; BSIZE]) -> Result<(), DiskError> {
    crate::memide::write(blockno, data)
}
