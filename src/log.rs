//! The log (xv6's `log.c`): file-system operations bracketed by
//! `begin_op`/`end_op`, whose changed blocks `log_write` records.
//!
//! PLACEHOLDER: this version has the final interface but no log: begin_op
//! and end_op do nothing and log_write writes the block straight to the
//! disk, so a crash mid-operation can leave the file system inconsistent.
//! The real log (group commit, recovery at boot) replaces this file.

use crate::bio::Buf;
use crate::fs::format::SuperBlock;

/// Set up the log from the superblock and recover a committed
/// transaction (xv6's `initlog`); nothing to do without a log.
pub fn initlog(_sb: &SuperBlock) {}

/// Start a file-system operation (xv6's `begin_op`).
pub fn begin_op() {}

/// End a file-system operation (xv6's `end_op`).
pub fn end_op() {}

/// Record that the buffer's block changed in this operation (xv6's
/// `log_write`); here it is written through at once. A block past the
/// disk cannot be held in a buffer, so the write cannot fail.
pub fn log_write(b: &Buf) {
    crate::disk::write(b.blockno(), b.data())
        .unwrap_or_else(|e| panic!("log_write: block {}: {e}", b.blockno()));
}
