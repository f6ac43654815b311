//! The write-ahead log (xv6's `log.c`): every system call that changes the
//! file system does so inside a transaction (`begin_op` .. `end_op`); its
//! block changes stay in the buffer cache, pinned, and are named in the
//! log's header (`log_write`). When the last outstanding transaction ends,
//! all of them are committed together (group commit): the blocks are copied
//! into the log, the header is written (the commit point), then the blocks
//! are installed at home and the header cleared. A power cut anywhere in
//! that leaves either no trace or a header that `recover_from_log` installs
//! at the next mount: each system call's changes reach the disk all or none.
//!
//! The header and the order of the writes are pure code (`header`,
//! `commit`), tested on the host with a disk that loses power after any
//! write; this file adds the lock, the waiting and the buffer cache.

pub mod commit;
pub mod header;

#[cfg(kernel)]
pub use kernel::{begin_op, end_op, initlog, log_write, recover_from_log};

#[cfg(kernel)]
mod kernel {
    use super::commit::{self, LogDisk};
    use super::header::{LogArea, LogError, LogHeader};
    use crate::bio::{self, Buf};
    use crate::fs::format::{BSIZE, SuperBlock};
    use crate::spinlock::Spinlock;

    /// Most blocks one operation writes, as the log counts them.
    const MAXOPBLOCKS: u32 = crate::param::MAXOPBLOCKS as u32;

    /// The log's state (xv6's `struct log`).
    struct Log {
        /// Where the log lies; None before `initlog`.
        area: Option<LogArea>,
        /// Transactions begun and not yet ended.
        outstanding: u32,
        /// A commit is writing: no transaction may begin.
        committing: bool,
        /// The blocks the running transactions changed.
        lh: LogHeader,
    }

    static LOG: Spinlock<Log> = Spinlock::new(
        crate::lockorder::LOG,
        Log {
            area: None,
            outstanding: 0,
            committing: false,
            lh: LogHeader::EMPTY,
        },
    );

    /// What begin_op and end_op sleep and wake on.
    fn chan() -> usize {
        &LOG as *const _ as usize
    }

    /// The log's blocks through the buffer cache. Every block it names is
    /// checked to lie inside the disk (`initlog`, `LogHeader::decode`), so
    /// a failed transfer is the disk failing: a panic naming it.
    struct Cache;

    fn bread(blockno: u32) -> Buf {
        bio::bread(blockno).unwrap_or_else(|e| panic!("log: reading block {blockno}: {e}"))
    }

    fn bwrite(b: &mut Buf) {
        let blockno = b.blockno();
        bio::bwrite(b).unwrap_or_else(|e| panic!("log: writing block {blockno}: {e}"))
    }

    impl LogDisk for Cache {
        fn read(&mut self, blockno: u32, out: &mut [u8; BSIZE]) {
            out.copy_from_slice(bread(blockno).data());
        }
        fn write(&mut self, blockno: u32, data: &[u8; BSIZE]) {
            let mut b = bread(blockno);
            b.data_mut().copy_from_slice(data);
            bwrite(&mut b);
        }
        fn copy(&mut self, from: u32, to: u32) {
            let src = bread(from);
            let mut dst = bread(to);
            dst.data_mut().copy_from_slice(src.data());
            bwrite(&mut dst);
        }
    }

    /// Find the log the superblock describes and install what a crash left
    /// in it (xv6's `initlog`). A log that does not fit the image, or a
    /// header that breaks its rules, refuses the mount.
    pub fn initlog(sb: &SuperBlock) -> Result<(), LogError> {
        let area = LogArea::new(sb)?;
        let disk = crate::disk::blocks();
        if area.fs_size > disk {
            return Err(LogError::BadArea {
                field: "size",
                value: area.fs_size,
                rule: "the image's blocks, the log's included, lie on the disk",
            });
        }
        recover_from_log(&area)?;
        let mut log = LOG.lock();
        log.area = Some(area);
        log.lh = LogHeader::EMPTY;
        drop(log);
        crate::powercut::mounted();
        Ok(())
    }

    /// Install a committed transaction the log still holds, then clear it;
    /// say how many blocks that was, if any.
    pub fn recover_from_log(area: &LogArea) -> Result<usize, LogError> {
        let n = commit::recover(&mut Cache, area)?;
        if n > 0 {
            crate::println!("log: recovered {n} blocks");
        }
        Ok(n)
    }

    /// Start a file-system system call's transaction (xv6's `begin_op`):
    /// wait while a commit runs, or while this one could overflow the log
    /// if every outstanding one wrote MAXOPBLOCKS blocks.
    pub fn begin_op() {
        let mut log = LOG.lock();
        loop {
            let area = log.area.expect("begin_op before initlog");
            let reserved = log.lh.len() as u32 + (log.outstanding + 1) * MAXOPBLOCKS;
            if log.committing || reserved > area.capacity {
                log = crate::proc::sleep(chan(), &LOG, log);
            } else {
                log.outstanding += 1;
                return;
            }
        }
    }

    /// End a transaction (xv6's `end_op`); the last one to end commits them
    /// all.
    pub fn end_op() {
        let mut log = LOG.lock();
        assert!(
            log.outstanding >= 1 && !log.committing,
            "end_op: {} transactions outstanding, committing {}",
            log.outstanding,
            log.committing
        );
        log.outstanding -= 1;
        if log.outstanding > 0 {
            // Space this one reserved may let a waiting begin_op in.
            crate::proc::wakeup(chan());
            return;
        }
        log.committing = true;
        let (area, lh) = (log.area.expect("end_op before initlog"), log.lh);
        drop(log);
        // No transaction runs now (committing keeps them out): write
        // without the lock, since the disk sleeps.
        commit::commit(&mut Cache, &area, &lh);
        for &home in lh.blocks() {
            bio::bunpin(&bread(home));
        }
        let mut log = LOG.lock();
        log.lh = LogHeader::EMPTY;
        log.committing = false;
        crate::proc::wakeup(chan());
    }

    /// Record that the running transaction changed `b` (xv6's `log_write`,
    /// which callers use instead of `bwrite`): the block joins the header,
    /// once however often it is changed, and stays in the cache (pinned)
    /// until the commit has written it.
    pub fn log_write(b: &Buf) {
        let blockno = b.blockno();
        let new_slot = {
            let mut log = LOG.lock();
            let area = log.area.expect("log_write before initlog");
            assert!(
                log.outstanding >= 1,
                "log_write of block {blockno} outside a transaction"
            );
            let logged = log.lh.len();
            log.lh.add(blockno, area.capacity).unwrap_or_else(|| {
                panic!(
                    "log_write of block {blockno}: the transactions already logged {logged} \
                     blocks, all the log holds ({}); begin_op reserves MAXOPBLOCKS ({MAXOPBLOCKS}) \
                     per call",
                    area.capacity
                )
            })
        };
        // Only this transaction's holder of b's lock logs b, and the commit
        // waits for this transaction to end: pinning after the lock is safe.
        if new_slot {
            bio::bpin(b);
        }
    }
}
