//! The file system (xv6's `fs.c`), read-only for now: inodes, block maps,
//! directories and path names over an image in xv6's on-disk format
//! (`format`, xv6's `fs.h`). The image is a RAM disk (`memide`, a GRUB
//! module); nothing here writes it, so an inode is a copy of its on-disk
//! entry and needs no lock. A broken image never panics the kernel: mount
//! refuses it with a line naming what is wrong, and a read that meets a
//! bad block number fails.

pub mod format;

use core::fmt;

use format::{
    BSIZE, DIRENT_SIZE, DIRSIZ, Dinode, Dirent, NDIRECT, NINDIRECT, ROOTINO, SUPERBLOCK,
    SuperBlock, T_DIR, word,
};

use crate::stat::Stat;

/// What makes an image unusable, or one read impossible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsError {
    /// The image is smaller than a boot block and a superblock.
    TooSmall { bytes: usize },
    /// A superblock field breaks the layout's rules.
    BadSuperBlock {
        field: &'static str,
        value: u32,
        rule: &'static str,
    },
    /// The root inode is not a directory.
    RootNotDir { kind: u16 },
    /// An inode number outside the inode table.
    BadInum { inum: u32, ninodes: u32 },
    /// A block number past the end of the image (in inode `inum`).
    BadBlock { inum: u32, block: u32, size: u32 },
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match *self {
            FsError::TooSmall { bytes } => write!(
                f,
                "the image is {bytes} bytes: smaller than a boot block and a superblock ({} bytes)",
                2 * BSIZE
            ),
            FsError::BadSuperBlock { field, value, rule } => {
                write!(f, "superblock {field} = {value}: {rule}")
            }
            FsError::RootNotDir { kind } => {
                write!(
                    f,
                    "root inode {ROOTINO} has type {kind}, not a directory ({T_DIR})"
                )
            }
            FsError::BadInum { inum, ninodes } => {
                write!(f, "inode {inum} is outside the inode table (1..{ninodes})")
            }
            FsError::BadBlock { inum, block, size } => write!(
                f,
                "inode {inum} names block {block}, past the image's end ({size} blocks)"
            ),
        }
    }
}

/// An in-memory inode: its number and a copy of its on-disk entry. Clone,
/// not Copy: a handle is taken and given back (the writable file system
/// will count them, as xv6's `idup`/`iput`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inode {
    inum: u32,
    d: Dinode,
}

impl Inode {
    pub fn inum(&self) -> u32 {
        self.inum
    }
    /// T_DIR, T_FILE or T_DEV.
    pub fn kind(&self) -> u16 {
        self.d.kind
    }
    pub fn major(&self) -> u16 {
        self.d.major
    }
    pub fn size(&self) -> u32 {
        self.d.size
    }
    /// Its status as `fstat` reports it (xv6's `stati`), on device `dev`.
    pub fn stat_on(&self, dev: u32) -> Stat {
        Stat {
            kind: self.d.kind as i16,
            dev: dev as i32,
            ino: self.inum,
            nlink: self.d.nlink as i16,
            size: self.d.size,
        }
    }
}

/// A mounted image: its bytes and its superblock.
pub struct Fs<'a> {
    img: &'a [u8],
    sb: SuperBlock,
}

impl<'a> Fs<'a> {
    /// Check the image's superblock and root directory, and mount it.
    pub fn mount(img: &'a [u8]) -> Result<Fs<'a>, FsError> {
        if img.len() < 2 * BSIZE {
            return Err(FsError::TooSmall { bytes: img.len() });
        }
        let start = SUPERBLOCK as usize * BSIZE;
        let sb = SuperBlock::read(&img[start..start + BSIZE]);
        check_superblock(&sb, (img.len() / BSIZE) as u32)?;
        let fs = Fs { img, sb };
        let root = fs.iget(ROOTINO)?;
        if root.kind() != T_DIR {
            return Err(FsError::RootNotDir { kind: root.kind() });
        }
        Ok(fs)
    }

    pub fn superblock(&self) -> &SuperBlock {
        &self.sb
    }

    /// Block `b` of the image (xv6's `bread`, without a cache: the image
    /// is in memory). `inum` is the inode that named it, for the error.
    fn block(&self, inum: u32, b: u32) -> Result<&'a [u8], FsError> {
        if b >= self.sb.size {
            return Err(FsError::BadBlock {
                inum,
                block: b,
                size: self.sb.size,
            });
        }
        let at = b as usize * BSIZE;
        Ok(&self.img[at..at + BSIZE])
    }

    /// Inode `inum`, read from the inode table (xv6's `iget` + `ilock`).
    pub fn iget(&self, inum: u32) -> Result<Inode, FsError> {
        if inum == 0 || inum >= self.sb.ninodes {
            return Err(FsError::BadInum {
                inum,
                ninodes: self.sb.ninodes,
            });
        }
        let block = self.block(inum, self.sb.iblock(inum))?;
        Ok(Inode {
            inum,
            d: Dinode::read(block, inum),
        })
    }

    pub fn root(&self) -> Inode {
        self.iget(ROOTINO).expect("mount checked the root inode")
    }

    /// The disk block holding the file's `bn`th block (xv6's `bmap`), or
    /// None for a hole (block number 0).
    fn bmap(&self, ip: &Inode, bn: usize) -> Result<Option<u32>, FsError> {
        let b = if bn < NDIRECT {
            ip.d.addrs[bn]
        } else if bn < NDIRECT + NINDIRECT {
            match ip.d.addrs[NDIRECT] {
                0 => 0,
                ind => word(self.block(ip.inum, ind)?, 4 * (bn - NDIRECT)),
            }
        } else {
            0
        };
        Ok((b != 0).then_some(b))
    }

    /// Read up to `dst.len()` bytes at `off` (xv6's `readi`): the bytes
    /// read, 0 at or past the end. A hole reads as zeros.
    pub fn readi(&self, ip: &Inode, dst: &mut [u8], off: u32) -> Result<usize, FsError> {
        let size = ip.size();
        if off >= size {
            return Ok(0);
        }
        let n = dst.len().min((size - off) as usize);
        let mut done = 0;
        while done < n {
            let pos = off as usize + done;
            let (bn, within) = (pos / BSIZE, pos % BSIZE);
            let m = (BSIZE - within).min(n - done);
            let out = &mut dst[done..done + m];
            match self.bmap(ip, bn)? {
                Some(b) => out.copy_from_slice(&self.block(ip.inum, b)?[within..within + m]),
                None => out.fill(0),
            }
            done += m;
        }
        Ok(n)
    }

    /// The inode `name` names in directory `dp` (xv6's `dirlookup`).
    pub fn dirlookup(&self, dp: &Inode, name: &[u8]) -> Result<Option<Inode>, FsError> {
        let mut off = 0;
        let mut raw = [0u8; DIRENT_SIZE];
        while off < dp.size() {
            if self.readi(dp, &mut raw, off)? < DIRENT_SIZE {
                break;
            }
            let de = Dirent::read(&raw);
            if de.inum != 0 && de.is(name) {
                return self.iget(u32::from(de.inum)).map(Some);
            }
            off += DIRENT_SIZE as u32;
        }
        Ok(None)
    }

    /// Every entry of directory `dp`, in order (for tests and `ls`-like
    /// reports).
    pub fn entries(&self, dp: &Inode) -> impl Iterator<Item = Dirent> + '_ {
        let dp = dp.clone();
        (0..dp.size() / DIRENT_SIZE as u32).filter_map(move |i| {
            let mut raw = [0u8; DIRENT_SIZE];
            let n = self.readi(&dp, &mut raw, i * DIRENT_SIZE as u32).ok()?;
            (n == DIRENT_SIZE).then(|| Dirent::read(&raw))
        })
    }

    /// The inode `path` names, from `cwd` unless it starts with '/'
    /// (xv6's `namei`). None if an element is missing or a non-final one
    /// is not a directory.
    pub fn namei(&self, path: &[u8], cwd: &Inode) -> Result<Option<Inode>, FsError> {
        let mut ip = if path.first() == Some(&b'/') {
            self.root()
        } else {
            cwd.clone()
        };
        for name in elements(path) {
            if ip.kind() != T_DIR {
                return Ok(None);
            }
            match self.dirlookup(&ip, name)? {
                Some(next) => ip = next,
                None => return Ok(None),
            }
        }
        Ok(Some(ip))
    }
}

/// The path's elements, each cut to DIRSIZ bytes as xv6's `skipelem` does.
pub fn elements(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    path.split(|&c| c == b'/')
        .filter(|e| !e.is_empty())
        .map(|e| &e[..e.len().min(DIRSIZ)])
}

/// The layout's rules for a superblock on an image of `blocks` blocks.
fn check_superblock(sb: &SuperBlock, blocks: u32) -> Result<(), FsError> {
    let bad = |field, value, rule| Err(FsError::BadSuperBlock { field, value, rule });
    if sb.size == 0 || sb.size > blocks {
        return bad(
            "size",
            sb.size,
            "must be at least 1 and no more than the image's blocks",
        );
    }
    if sb.ninodes < 2 {
        return bad(
            "ninodes",
            sb.ninodes,
            "must leave room for the root inode (1)",
        );
    }
    let inode_blocks = sb.ninodes.div_ceil(format::IPB as u32);
    match sb.inodestart.checked_add(inode_blocks) {
        Some(end) if sb.inodestart > SUPERBLOCK && end <= sb.size => {}
        _ => {
            return bad(
                "inodestart",
                sb.inodestart,
                "the inode table must fit after the superblock",
            );
        }
    }
    if sb.bmapstart <= SUPERBLOCK || sb.bmapstart >= sb.size {
        return bad(
            "bmapstart",
            sb.bmapstart,
            "the bitmap must lie inside the image",
        );
    }
    if sb.nlog > 0 && (sb.logstart <= SUPERBLOCK || sb.logstart.saturating_add(sb.nlog) > sb.size) {
        return bad("logstart", sb.logstart, "the log must lie inside the image");
    }
    Ok(())
}

#[cfg(kernel)]
pub use kernel::{fsinit, namei, root};

/// The kernel's one mounted file system, on the RAM disk.
#[cfg(kernel)]
mod kernel {
    use spin::Once;

    use super::{Fs, Inode};
    use crate::param::ROOTDEV;
    use crate::println;
    use crate::stat::Stat;

    static FS: Once<Option<Fs<'static>>> = Once::new();

    fn fs() -> Option<&'static Fs<'static>> {
        FS.get().and_then(Option::as_ref)
    }

    /// Mount the RAM disk, if the boot loader gave one (xv6's `iinit` and
    /// `readsb`). Must come after kvmalloc, which maps the module.
    pub fn fsinit(boot: &crate::bootinfo::BootInfo, phystop: crate::memlayout::PAddr) {
        FS.call_once(|| {
            let blocks = crate::disk::diskinit(boot, phystop)?;
            // Until the inode layer goes through the buffer cache, the
            // reader sees the RAM disk's bytes in place.
            let img = crate::memide::bytes(blocks);
            match Fs::mount(img) {
                Ok(fs) => {
                    let sb = fs.superblock();
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

    /// The root directory, or None when no file system is mounted.
    pub fn root() -> Option<Inode> {
        fs().map(Fs::root)
    }

    /// `path`'s inode, from `cwd` unless absolute. A broken image makes
    /// the lookup fail, with a line saying why.
    pub fn namei(path: &[u8], cwd: &Inode) -> Option<Inode> {
        report(fs()?.namei(path, cwd)).flatten()
    }

    fn report<T>(r: Result<T, super::FsError>) -> Option<T> {
        r.map_err(|e| println!("fs: {e}")).ok()
    }

    fn mounted() -> &'static Fs<'static> {
        fs().expect("an inode exists only on a mounted file system")
    }

    impl Inode {
        /// Read up to `dst.len()` bytes at `off`; the bytes read, 0 at or
        /// past the end or when the image is broken (with a line saying why).
        pub fn readi(&self, dst: &mut [u8], off: u32) -> usize {
            report(mounted().readi(self, dst, off)).unwrap_or(0)
        }

        /// Its status for `fstat` (xv6's `stati`).
        pub fn stati(&self) -> Stat {
            self.stat_on(ROOTDEV)
        }

        /// The inode `name` names in this directory.
        pub fn dirlookup(&self, name: &[u8]) -> Option<Inode> {
            report(mounted().dirlookup(self, name)).flatten()
        }
    }
}
