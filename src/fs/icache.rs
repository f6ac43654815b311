//! The kernel's half of the file system (xv6's `fs.c` from `iinit` on):
//! the mounted root device, the inode cache and path names.
//!
//! The cache holds NINODE inodes. Its spin lock guards which inode each
//! slot holds and how many references it has (`iget`, `idup`, `iput`);
//! each slot's sleep lock guards the inode's fields, read from the disk
//! by the first `ilock` after the slot was taken for it. An [`Inode`] is
//! one reference: dropping it is `iput`, which frees the inode on disk
//! when the last reference goes and no directory names it, so it must be
//! dropped inside a file-system operation (`begin_op`..`end_op`). An
//! [`ILocked`] is a held sleep lock (`ilock`), and dropping it `iunlock`.

use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicU32, Ordering};

use spin::Once;

use super::format::{BSIZE, ROOTINO, SUPERBLOCK, SuperBlock, T_DIR};
use super::{DiskFs, DiskInode, FsError, check_superblock, skipelem};
use crate::bio::bread;
use crate::param::{NINODE, ROOTDEV};
use crate::println;
use crate::sleeplock::{SleepGuard, SleepLock};
use crate::spinlock::Spinlock;
use crate::stat::Stat;

/// The root device through the buffer cache and the log.
pub struct Root {
    sb: SuperBlock,
}

static ROOT: Once<Option<Root>> = Once::new();

impl DiskFs for Root {
    fn sb(&self) -> &SuperBlock {
        &self.sb
    }

    fn read_block<R>(&self, b: u32, f: impl FnOnce(&[u8; BSIZE]) -> R) -> Result<R, FsError> {
        let buf = bread(b).map_err(FsError::Disk)?;
        Ok(f(buf.data()))
    }

    fn write_block<R>(&self, b: u32, f: impl FnOnce(&mut [u8; BSIZE]) -> R) -> Result<R, FsError> {
        let mut buf = bread(b).map_err(FsError::Disk)?;
        let r = f(buf.data_mut());
        crate::log::log_write(&buf);
        Ok(r)
    }
}

/// The mounted file system, if any.
pub fn mounted() -> Option<&'static Root> {
    ROOT.get().and_then(Option::as_ref)
}

fn root_fs() -> &'static Root {
    mounted().expect("an inode exists only on a mounted file system")
}

/// Check the disk's superblock and root directory (xv6's `readsb`).
fn mount(blocks: u32) -> Result<Root, FsError> {
    if blocks < 2 {
        return Err(FsError::TooSmall {
            bytes: blocks as usize * BSIZE,
        });
    }
    let sb = bread(SUPERBLOCK)
        .map(|b| SuperBlock::read(b.data()))
        .map_err(FsError::Disk)?;
    check_superblock(&sb, blocks)?;
    let fs = Root { sb };
    let root = fs.rinode(ROOTINO)?;
    if root.kind() != T_DIR {
        return Err(FsError::RootNotDir { kind: root.kind() });
    }
    Ok(fs)
}

/// Find the root device and mount it, if the boot loader gave a disk
/// (xv6's `iinit`, `readsb` and `initlog`). Must come after kvmalloc,
/// which maps the RAM disk.
pub fn fsinit(boot: &crate::bootinfo::BootInfo, phystop: crate::memlayout::PAddr) {
    ROOT.call_once(|| {
        let blocks = crate::disk::diskinit(boot, phystop)?;
        crate::bio::binit();
        match mount(blocks) {
            Ok(fs) => {
                let sb = fs.sb;
                // The log: recover what a crash left, or refuse the mount.
                if let Err(e) = crate::log::initlog(&sb) {
                    println!("fs: not mounted: {e}");
                    return None;
                }
                println!(
                    "fs: {} blocks, {} inodes, data from block {}",
                    sb.size,
                    sb.ninodes,
                    sb.bmapstart + 1
                );
                Some(fs)
            }
            Err(e) => {
                println!("fs: not mounted: {e}");
                None
            }
        }
    });
}

/// `r`'s value, or None after a line saying why when the disk is at
/// fault (a full disk or a bad request fails quietly, as in xv6).
pub fn report<T>(r: Result<T, FsError>) -> Option<T> {
    r.map_err(|e| {
        if e.is_corruption() {
            println!("fs: {e}")
        }
    })
    .ok()
}

/// Which inode a cache slot holds and its references.
#[derive(Clone, Copy)]
struct Slot {
    inum: u32,
    refs: u32,
    /// Counts the times the slot was taken for an inode: the fields under
    /// the sleep lock are of this taking only if they carry its number.
    taking: u32,
}

static ICACHE: Spinlock<[Slot; NINODE]> = Spinlock::new(
    crate::lockorder::ICACHE,
    [Slot {
        inum: 0,
        refs: 0,
        taking: 0,
    }; NINODE],
);

/// An inode's fields, under its sleep lock: the taking they were read
/// for (None until read).
struct IData {
    read_for: Option<u32>,
    di: DiskInode,
}

static INODES: [SleepLock<IData>; NINODE] = [const {
    SleepLock::new(
        "inode",
        IData {
            read_for: None,
            di: DiskInode {
                inum: 0,
                d: super::format::Dinode {
                    kind: 0,
                    major: 0,
                    minor: 0,
                    nlink: 0,
                    size: 0,
                    addrs: [0; super::format::NDIRECT + 1],
                },
            },
        },
    )
}; NINODE];

static TAKINGS: AtomicU32 = AtomicU32::new(1);

/// A reference to a cached inode (one of its `refs`). Dropping it is
/// `iput`: do so inside a file-system operation.
#[must_use = "dropping an inode is iput"]
pub struct Inode {
    slot: usize,
    inum: u32,
    taking: u32,
}

/// A name for an inode that some [`Inode`] keeps cached (an open file's,
/// while the caller holds the file): it can be locked, but does not
/// count as a reference.
#[derive(Clone, Copy)]
pub struct InodeRef {
    slot: usize,
    inum: u32,
    taking: u32,
}

/// The inode `inum` of the root device, referenced but not locked or read
/// (xv6's `iget`). Fails for a number outside the inode table, and when
/// all NINODE slots are referenced (xv6 panics).
pub fn iget(inum: u32) -> Result<Inode, FsError> {
    let ninodes = root_fs().sb.ninodes;
    if inum == 0 || inum >= ninodes {
        return Err(FsError::BadInum { inum, ninodes });
    }
    let mut c = ICACHE.lock();
    if let Some(i) = c.iter().position(|s| s.refs > 0 && s.inum == inum) {
        c[i].refs += 1;
        return Ok(Inode {
            slot: i,
            inum,
            taking: c[i].taking,
        });
    }
    let Some(i) = c.iter().position(|s| s.refs == 0) else {
        return Err(FsError::Full {
            what: "inode cache slot",
        });
    };
    let taking = TAKINGS.fetch_add(1, Ordering::Relaxed);
    c[i] = Slot {
        inum,
        refs: 1,
        taking,
    };
    Ok(Inode {
        slot: i,
        inum,
        taking,
    })
}

/// A free inode of type `kind` on the root device (xv6's `ialloc`),
/// referenced.
pub fn ialloc(kind: u16) -> Result<Inode, FsError> {
    iget(root_fs().ialloc(kind)?)
}

/// The root directory, or None when no file system is mounted.
pub fn root() -> Option<Inode> {
    mounted()?;
    report(iget(ROOTINO))
}

impl Inode {
    pub fn inum(&self) -> u32 {
        self.inum
    }

    /// One more reference (xv6's `idup`).
    pub fn idup(&self) -> Inode {
        ICACHE.lock()[self.slot].refs += 1;
        Inode { ..*self }
    }

    /// A non-counting name for it, valid while this reference lives.
    pub fn share(&self) -> InodeRef {
        InodeRef {
            slot: self.slot,
            inum: self.inum,
            taking: self.taking,
        }
    }

    /// Lock it, reading its fields from the disk if not yet read (xv6's
    /// `ilock`). Fails if the disk says the inode is free.
    pub fn ilock(&self) -> Result<ILocked<'_>, FsError> {
        self.share().ilock_ref().map(|l| ILocked {
            _owner: Some(self),
            ..l
        })
    }

    /// Read up to `dst.len()` bytes at `off` under the inode's lock; the
    /// bytes read (0 at the end, or when the disk is broken, with a line).
    pub fn readi(&self, dst: &mut [u8], off: u32) -> usize {
        report(self.ilock().and_then(|l| l.readi(dst, off))).unwrap_or(0)
    }
}

impl InodeRef {
    /// Lock it (as [`Inode::ilock`]).
    pub fn ilock(self) -> Result<ILocked<'static>, FsError> {
        self.ilock_ref()
    }

    fn ilock_ref<'a>(self) -> Result<ILocked<'a>, FsError> {
        let mut guard = INODES[self.slot].acquiresleep();
        if guard.read_for != Some(self.taking) {
            let di = root_fs().rinode(self.inum)?;
            if di.kind() == 0 {
                return Err(FsError::FreeInode { inum: self.inum });
            }
            guard.di = di;
            guard.read_for = Some(self.taking);
        }
        Ok(ILocked {
            guard,
            _owner: None,
        })
    }
}

/// Drop the reference (xv6's `iput`): the last one to an inode that no
/// directory names truncates and frees it on disk.
pub fn iput(ip: Inode) {
    drop(ip);
}

impl Drop for Inode {
    fn drop(&mut self) {
        let mut guard = INODES[self.slot].acquiresleep();
        if guard.read_for == Some(self.taking) && guard.di.d.nlink == 0 {
            let last = ICACHE.lock()[self.slot].refs == 1;
            if last {
                // Nobody else can reach the inode: free it.
                let fs = root_fs();
                let di = &mut guard.di;
                let freed = fs.itrunc(di).and_then(|()| {
                    di.d.kind = 0;
                    fs.iupdate(di)
                });
                report(freed);
                guard.read_for = None;
            }
        }
        drop(guard);
        let mut c = ICACHE.lock();
        let s = &mut c[self.slot];
        assert!(
            s.refs > 0 && s.inum == self.inum,
            "iput: inode {} in slot {} has {} references",
            self.inum,
            self.slot,
            s.refs
        );
        s.refs -= 1;
    }
}

/// A locked inode: its fields, to read and change. Dropping it is
/// `iunlock`.
pub struct ILocked<'a> {
    guard: SleepGuard<'static, IData>,
    /// The reference it was locked through, which outlives the lock.
    _owner: Option<&'a Inode>,
}

/// Unlock (xv6's `iunlock`): the same as dropping the guard.
pub fn iunlock(l: ILocked) {
    drop(l);
}

impl Deref for ILocked<'_> {
    type Target = DiskInode;
    fn deref(&self) -> &DiskInode {
        &self.guard.di
    }
}

impl DerefMut for ILocked<'_> {
    fn deref_mut(&mut self) -> &mut DiskInode {
        &mut self.guard.di
    }
}

impl ILocked<'_> {
    /// Write its fields to the disk (xv6's `iupdate`).
    pub fn iupdate(&self) -> Result<(), FsError> {
        root_fs().iupdate(self)
    }

    /// Free its blocks and make it empty (xv6's `itrunc`).
    pub fn itrunc(&mut self) -> Result<(), FsError> {
        root_fs().itrunc(&mut self.guard.di)
    }

    /// Read up to `dst.len()` bytes at `off` (xv6's `readi`).
    pub fn readi(&self, dst: &mut [u8], off: u32) -> Result<usize, FsError> {
        root_fs().readi(self, dst, off)
    }

    /// Write `src` at `off` (xv6's `writei`).
    pub fn writei(&mut self, src: &[u8], off: u32) -> Result<usize, FsError> {
        root_fs().writei(&mut self.guard.di, src, off)
    }

    /// Its status for `fstat` (xv6's `stati`).
    pub fn stati(&self) -> Stat {
        self.stat_on(ROOTDEV)
    }

    /// The inode `name` names in this directory, referenced, and the
    /// entry's offset (xv6's `dirlookup`).
    pub fn dirlookup(&self, name: &[u8]) -> Result<Option<(Inode, u32)>, FsError> {
        match root_fs().dirlookup(self, name)? {
            Some((inum, off)) => Ok(Some((iget(inum)?, off))),
            None => Ok(None),
        }
    }

    /// Add `name` -> `inum` to this directory (xv6's `dirlink`);
    /// `Ok(false)` if the name is taken.
    pub fn dirlink(&mut self, name: &[u8], inum: u32) -> Result<bool, FsError> {
        root_fs().dirlink(&mut self.guard.di, name, inum)
    }

    /// Clear the directory entry at `off`.
    pub fn dirclear(&mut self, off: u32) -> Result<(), FsError> {
        root_fs().dirclear(&mut self.guard.di, off)
    }

    /// Whether this directory holds only "." and "..".
    pub fn isdirempty(&self) -> Result<bool, FsError> {
        root_fs().isdirempty(self)
    }
}

/// Walk `path` from `cwd` (or the root, if it starts with '/'); with
/// `parent`, stop one element short (xv6's `namex`). The inode and, for
/// `parent`, the last element's name.
fn namex<'p>(
    path: &'p [u8],
    cwd: &Inode,
    parent: bool,
) -> Result<Option<(Inode, &'p [u8])>, FsError> {
    let mut ip = match path.first() {
        Some(b'/') => iget(ROOTINO)?,
        _ => cwd.idup(),
    };
    let mut rest = path;
    while let Some((name, next)) = skipelem(rest) {
        let l = ip.ilock()?;
        if l.kind() != T_DIR {
            return Ok(None);
        }
        if parent && next.is_empty() {
            drop(l);
            return Ok(Some((ip, name)));
        }
        let Some((child, _)) = l.dirlookup(name)? else {
            return Ok(None);
        };
        drop(l);
        ip = child;
        rest = next;
    }
    if parent {
        return Ok(None);
    }
    Ok(Some((ip, &[])))
}

/// The inode `path` names, from `cwd` unless absolute (xv6's `namei`);
/// None if it does not exist, or the disk is broken (with a line).
pub fn namei(path: &[u8], cwd: &Inode) -> Option<Inode> {
    report(namex(path, cwd, false)).flatten().map(|(ip, _)| ip)
}

/// The directory holding `path`'s last element, and that element (xv6's
/// `nameiparent`); None for a path without elements ("/").
pub fn nameiparent<'p>(path: &'p [u8], cwd: &Inode) -> Option<(Inode, &'p [u8])> {
    report(namex(path, cwd, true)).flatten()
}

/// One file-system operation: `begin_op` now, `end_op` when dropped.
/// Declare it before the inodes of the operation, so that they are
/// dropped (`iput`) first.
#[must_use = "the operation ends when this is dropped"]
pub struct Op(());

impl Op {
    pub fn begin() -> Op {
        crate::log::begin_op();
        Op(())
    }
}

impl Drop for Op {
    fn drop(&mut self) {
        crate::log::end_op();
    }
}
