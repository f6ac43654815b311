//! The buffer cache (xv6's `bio.c`): NBUF copies of disk blocks in
//! memory, at most one per block, so that every process sees one version
//! of a block and the sleep lock on that copy orders their changes.
//! `bread` gives a locked buffer holding the block's contents, `bwrite`
//! sends it to the disk, and dropping the [`Buf`] handle is `brelse`:
//! the lock goes and the buffer becomes the most recently used. When a
//! block is not cached, the least recently used buffer nobody holds is
//! taken for it.
//!
//! Two locks, as in xv6: the cache's spin lock guards which block each
//! buffer holds, its reference count and its age; each buffer's sleep
//! lock guards its bytes. A buffer's reference count keeps it from being
//! taken for another block while anyone has it, or while the log has it
//! pinned (`bpin`). There is no `binit`: the cache is a static table
//! built at compile time, every buffer free and holding no block.

use crate::disk::{self, error::DiskError};
use crate::fs::format::BSIZE;
use crate::param::NBUF;
use crate::sleeplock::{SleepGuard, SleepLock};
use crate::spinlock::Spinlock;

/// Which block a buffer is for, who has it, and when it was last let go.
#[derive(Clone, Copy)]
struct Meta {
    blockno: Option<u32>,
    refcnt: u32,
    /// `brelse`'s clock when it was last released: the smallest is the
    /// least recently used.
    used: u64,
}

struct Cache {
    meta: [Meta; NBUF],
    clock: u64,
    /// Someone sleeps in `bget` for a free buffer.
    waiting: bool,
}

static BCACHE: Spinlock<Cache> = Spinlock::new(
    crate::lockorder::BCACHE,
    Cache {
        meta: [Meta {
            blockno: None,
            refcnt: 0,
            used: 0,
        }; NBUF],
        clock: 0,
        waiting: false,
    },
);

/// A buffer's contents, under its sleep lock: the block they are a copy
/// of (None until read from the disk) and the bytes.
pub struct BufData {
    holds: Option<u32>,
    data: [u8; BSIZE],
}

static BUFS: [SleepLock<BufData>; NBUF] = [const {
    SleepLock::new(
        "buffer",
        BufData {
            holds: None,
            data: [0; BSIZE],
        },
    )
}; NBUF];

/// A locked buffer holding one disk block. Dropping it is `brelse`.
#[must_use = "a buffer is held until dropped"]
pub struct Buf {
    index: usize,
    blockno: u32,
    guard: Option<SleepGuard<'static, BufData>>,
}

/// The buffer for block `blockno`, referenced (xv6's `bget`): the cached
/// one, or the least recently used free one relabelled. When every buffer
/// is held, waits for one to be let go (xv6 panics); before any process
/// exists nobody could let one go, and that panics.
fn bget(blockno: u32) -> usize {
    let mut c = BCACHE.lock();
    loop {
        if let Some(i) = c.meta.iter().position(|m| m.blockno == Some(blockno)) {
            c.meta[i].refcnt += 1;
            return i;
        }
        if let Some(i) = (0..NBUF)
            .filter(|&i| c.meta[i].refcnt == 0)
            .min_by_key(|&i| c.meta[i].used)
        {
            c.meta[i] = Meta {
                blockno: Some(blockno),
                refcnt: 1,
                used: c.meta[i].used,
            };
            return i;
        }
        assert!(
            crate::proc::myproc().is_some(),
            "bget: all {NBUF} buffers are held at boot (wanted block {blockno})"
        );
        c.waiting = true;
        c = crate::proc::sleep(free_chan(), &BCACHE, c);
    }
}

/// What `bget` sleeps on while every buffer is held.
fn free_chan() -> usize {
    &BCACHE as *const _ as usize
}

/// A locked buffer with block `blockno`'s contents (xv6's `bread`), read
/// from the disk unless cached; `Err` if the disk has no such block.
pub fn bread(blockno: u32) -> Result<Buf, DiskError> {
    let index = bget(blockno);
    let mut b = Buf {
        index,
        blockno,
        guard: Some(BUFS[index].acquiresleep()),
    };
    let g = b.guard.as_mut().expect("just taken");
    if g.holds != Some(blockno) {
        g.holds = None;
        disk::read(blockno, &mut g.data)?; // dropping b releases it
        g.holds = Some(blockno);
    }
    Ok(b)
}

/// Write the buffer's bytes to its block on the disk (xv6's `bwrite`).
pub fn bwrite(b: &mut Buf) -> Result<(), DiskError> {
    disk::write(b.blockno, b.data())
}

/// Keep the buffer's block cached after its holder lets go (the log pins
/// a block until its transaction is installed).
pub fn bpin(b: &Buf) {
    BCACHE.lock().meta[b.index].refcnt += 1;
}

/// Undo one `bpin`.
pub fn bunpin(b: &Buf) {
    let mut c = BCACHE.lock();
    let m = &mut c.meta[b.index];
    assert!(
        m.refcnt > 1,
        "bunpin: block {} is not pinned (refcnt {})",
        b.blockno,
        m.refcnt
    );
    m.refcnt -= 1;
}

/// Let the buffer go (xv6's `brelse`): its sleep lock is released, and it
/// becomes the most recently used.
pub fn brelse(b: Buf) {
    drop(b);
}

impl Buf {
    /// The block's bytes.
    pub fn data(&self) -> &[u8; BSIZE] {
        &self.guard.as_ref().expect("a held buffer").data
    }

    /// The block's bytes, to change (then `log_write` it).
    pub fn data_mut(&mut self) -> &mut [u8; BSIZE] {
        &mut self.guard.as_mut().expect("a held buffer").data
    }

    pub fn blockno(&self) -> u32 {
        self.blockno
    }
}

impl Drop for Buf {
    fn drop(&mut self) {
        drop(self.guard.take()); // releasesleep
        let mut c = BCACHE.lock();
        c.clock += 1;
        let now = c.clock;
        let m = &mut c.meta[self.index];
        assert!(
            m.refcnt > 0 && m.blockno == Some(self.blockno),
            "brelse: buffer {} of block {} has refcnt {}",
            self.index,
            self.blockno,
            m.refcnt
        );
        m.refcnt -= 1;
        if m.refcnt == 0 {
            m.used = now;
            if core::mem::take(&mut c.waiting) {
                drop(c);
                crate::proc::wakeup(free_chan());
            }
        }
    }
}
