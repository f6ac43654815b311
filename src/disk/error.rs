//! What can go wrong moving a block: the disk layer's errors and the IDE
//! driver's, in a file of their own so that the file system above can
//! name them without reaching the drivers.

use core::fmt;

/// Why a transfer failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskError {
    /// No disk was found at boot.
    NoDisk,
    /// A block number at or past the disk's end.
    PastEnd { blockno: u32, blocks: u32 },
    /// The IDE disk failed the transfer.
    Ide(IdeError),
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
            DiskError::Ide(e) => e.fmt(f),
        }
    }
}

/// What went wrong talking to the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdeError {
    /// No drive answers as disk 1 of the primary channel.
    NoDisk,
    /// Disk 1 is a CD-ROM or another packet device, not a disk.
    NotAta,
    /// The drive stayed busy (or never offered data) for WAIT_SPINS reads.
    Timeout { what: &'static str, status: u8 },
    /// The drive reported an error (ERR or DF) for a block.
    Device { blockno: u32, status: u8, error: u8 },
    /// A block past the disk's end.
    PastEnd { blockno: u32, blocks: u32 },
}

impl fmt::Display for IdeError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match *self {
            IdeError::NoDisk => write!(
                f,
                "no disk 1 on the primary IDE channel (./run-qemu.sh --disk FILE attaches one)"
            ),
            IdeError::NotAta => write!(f, "disk 1 of the primary IDE channel is not an ATA disk"),
            IdeError::Timeout { what, status } => write!(
                f,
                "the IDE disk did not answer while {what} (status {status:#04x})"
            ),
            IdeError::Device {
                blockno,
                status,
                error,
            } => write!(
                f,
                "the IDE disk failed block {blockno} (status {status:#04x}, error {error:#04x})"
            ),
            IdeError::PastEnd { blockno, blocks } => {
                write!(
                    f,
                    "block {blockno} is past the IDE disk's end ({blocks} blocks)"
                )
            }
        }
    }
}
