//! The file system (xv6's `fs.c`): blocks, inodes, directories and path
//! names over a disk in xv6's on-disk format (`format`, xv6's `fs.h`).
//!
//! Two halves. The algorithms (bitmap allocation, `bmap`, `readi`,
//! `writei`, `itrunc`, `ialloc`, `dirlookup`, `dirlink`, `skipelem`) are
//! written once, in [`DiskFs`], against any store of blocks: the kernel's
//! goes through the buffer cache and the log (`bio`, `log`), and the
//! host's ([`Fs`], `fs/image.rs`) is an image in memory, so they are unit
//! tested on the host. The kernel half (`fs/icache.rs`) adds the inode
//! cache: `iget`/`idup`/`iput` count references, `ilock`/`iunlock` take an
//! inode's sleep lock, and `namei`/`nameiparent` walk paths with them.
//!
//! A broken disk never panics the kernel: mount refuses it with a line
//! naming what is wrong, and an operation that meets a bad block number,
//! inode number or directory fails with the reason ([`FsError`]).

pub mod format;
#[cfg(not(kernel))]
mod image;

use core::fmt;

use format::{
    BPB, BSIZE, DIRENT_SIZE, DIRSIZ, Dinode, Dirent, MAXFILE, NDIRECT, NINDIRECT, ROOTINO,
    SUPERBLOCK, SuperBlock, T_DIR, put_word, word,
};

#[cfg(not(kernel))]
pub use image::Fs;

use crate::stat::Stat;

/// What makes a disk unusable, or one operation impossible.
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
    /// An inode in use (a directory names it, a file is open) is free on
    /// disk.
    FreeInode { inum: u32 },
    /// A block to free is already free in the bitmap.
    FreeBlock { block: u32 },
    /// A directory whose size is not whole entries.
    BadDir { inum: u32, size: u32 },
    /// The disk has no free block, or no free inode.
    Full { what: &'static str },
    /// A write outside what a file may hold: starting past its end, or
    /// ending past MAXFILE blocks.
    Range { inum: u32, off: u32, len: usize },
    /// The disk refused a block (the device's own reason).
    #[cfg(kernel)]
    Disk(crate::disk::error::DiskError),
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
            FsError::FreeInode { inum } => {
                write!(f, "inode {inum} is in use but free on disk (type 0)")
            }
            FsError::FreeBlock { block } => {
                write!(f, "block {block} is freed but the bitmap says it is free")
            }
            FsError::BadDir { inum, size } => write!(
                f,
                "directory inode {inum} has size {size}, not a multiple of {DIRENT_SIZE}"
            ),
            FsError::Full { what } => write!(f, "no free {what}"),
            FsError::Range { inum, off, len } => write!(
                f,
                "a write of {len} bytes at {off} does not fit inode {inum} (from its end, up to {MAXFILE_BYTES} bytes)"
            ),
            #[cfg(kernel)]
            FsError::Disk(e) => write!(f, "disk: {e}"),
        }
    }
}

impl FsError {
    /// Whether the disk's contents are at fault (worth a console line),
    /// rather than the request (a full disk, a write out of range).
    pub fn is_corruption(&self) -> bool {
        !matches!(self, FsError::Full { .. } | FsError::Range { .. })
    }
}

/// An inode's number and its on-disk fields (xv6's `struct inode` without
/// the cache's bookkeeping).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskInode {
    pub inum: u32,
    pub d: Dinode,
}

impl DiskInode {
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

/// The next path element and the rest after it (xv6's `skipelem`):
/// slashes before and after the element are skipped, and the element is
/// cut to DIRSIZ bytes. None when no element is left.
pub fn skipelem(path: &[u8]) -> Option<(&[u8], &[u8])> {
    let start = path.iter().position(|&c| c != b'/')?;
    let p = &path[start..];
    let end = p.iter().position(|&c| c == b'/').unwrap_or(p.len());
    let rest = &p[end..];
    let rest_at = rest.iter().position(|&c| c != b'/').unwrap_or(rest.len());
    Some((&p[..end.min(DIRSIZ)], &rest[rest_at..]))
}

/// The path's elements, each cut to DIRSIZ bytes.
pub fn elements(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = path;
    core::iter::from_fn(move || {
        let (name, next) = skipelem(rest)?;
        rest = next;
        Some(name)
    })
}

/// The most bytes one `writei` may end at.
pub const MAXFILE_BYTES: u32 = (MAXFILE * BSIZE) as u32;

/// The file system's algorithms over a store of blocks. An implementor
/// gives the superblock and block access; every block change goes
/// through `write_block`, which records it (the kernel's `log_write`).
pub trait DiskFs {
    fn sb(&self) -> &SuperBlock;
    /// Run `f` on block `b`'s bytes.
    fn read_block<R>(&self, b: u32, f: impl FnOnce(&[u8; BSIZE]) -> R) -> Result<R, FsError>;
    /// Run `f` on block `b`'s bytes to change them, and record the change.
    fn write_block<R>(&self, b: u32, f: impl FnOnce(&mut [u8; BSIZE]) -> R) -> Result<R, FsError>;

    /// `b`, a block number `inum` holds, if it lies inside the disk.
    fn check_block(&self, inum: u32, b: u32) -> Result<u32, FsError> {
        let size = self.sb().size;
        if b >= size {
            return Err(FsError::BadBlock {
                inum,
                block: b,
                size,
            });
        }
        Ok(b)
    }

    /// Inode `inum` as it is on disk.
    fn rinode(&self, inum: u32) -> Result<DiskInode, FsError> {
        let ninodes = self.sb().ninodes;
        if inum == 0 || inum >= ninodes {
            return Err(FsError::BadInum { inum, ninodes });
        }
        let d = self.read_block(self.sb().iblock(inum), |b| Dinode::read(b, inum))?;
        Ok(DiskInode { inum, d })
    }

    /// Write the inode's fields to its slot on disk (xv6's `iupdate`).
    fn iupdate(&self, ip: &DiskInode) -> Result<(), FsError> {
        self.write_block(self.sb().iblock(ip.inum), |b| ip.d.write(b, ip.inum))
    }

    /// A free inode made type `kind` on disk (xv6's `ialloc`): its number.
    fn ialloc(&self, kind: u16) -> Result<u32, FsError> {
        for inum in 1..self.sb().ninodes {
            let free =
                self.read_block(self.sb().iblock(inum), |b| Dinode::read(b, inum).kind == 0)?;
            if free {
                let ip = DiskInode {
                    inum,
                    d: Dinode {
                        kind,
                        ..Dinode::default()
                    },
                };
                self.iupdate(&ip)?;
                return Ok(inum);
            }
        }
        Err(FsError::Full { what: "inode" })
    }

    /// Zero block `b` (xv6's `bzero`).
    fn bzero(&self, b: u32) -> Result<(), FsError> {
        self.write_block(b, |d| d.fill(0))
    }

    /// A free block, marked in use and zeroed (xv6's `balloc`).
    fn balloc(&self) -> Result<u32, FsError> {
        let size = self.sb().size;
        let mut base = 0;
        while base < size {
            let bblock = self.sb().bblock(base);
            let found = self.write_block(bblock, |bits| {
                for bi in 0..(BPB as u32).min(size - base) {
                    let mask = 1u8 << (bi % 8);
                    let byte = &mut bits[(bi / 8) as usize];
                    if *byte & mask == 0 {
                        *byte |= mask;
                        return Some(base + bi);
                    }
                }
                None
            })?;
            if let Some(b) = found {
                self.bzero(b)?;
                return Ok(b);
            }
            base += BPB as u32;
        }
        Err(FsError::Full { what: "block" })
    }

    /// Mark block `b` free (xv6's `bfree`).
    fn bfree(&self, b: u32) -> Result<(), FsError> {
        let bi = b as usize % BPB;
        let was = self.write_block(self.sb().bblock(b), |bits| {
            let mask = 1u8 << (bi % 8);
            let was = bits[bi / 8] & mask != 0;
            bits[bi / 8] &= !mask;
            was
        })?;
        if !was {
            return Err(FsError::FreeBlock { block: b });
        }
        Ok(())
    }

    /// The disk block holding the file's `bn`th block, or None for a hole
    /// (a lookup: nothing is allocated).
    fn bmap_lookup(&self, ip: &DiskInode, bn: usize) -> Result<Option<u32>, FsError> {
        let b = if bn < NDIRECT {
            ip.d.addrs[bn]
        } else if bn < MAXFILE {
            match ip.d.addrs[NDIRECT] {
                0 => 0,
                ind => {
                    let ind = self.check_block(ip.inum, ind)?;
                    self.read_block(ind, |d| word(d, 4 * (bn - NDIRECT)))?
                }
            }
        } else {
            0
        };
        if b == 0 {
            return Ok(None);
        }
        self.check_block(ip.inum, b).map(Some)
    }

    /// The disk block holding the file's `bn`th block, allocated if it
    /// was a hole (xv6's `bmap`): the indirect block too when needed. The
    /// caller writes the inode back (`iupdate`).
    fn bmap(&self, ip: &mut DiskInode, bn: usize) -> Result<u32, FsError> {
        if bn < NDIRECT {
            if ip.d.addrs[bn] == 0 {
                ip.d.addrs[bn] = self.balloc()?;
            }
            return self.check_block(ip.inum, ip.d.addrs[bn]);
        }
        assert!(bn < MAXFILE, "bmap: block {bn} is past MAXFILE ({MAXFILE})");
        if ip.d.addrs[NDIRECT] == 0 {
            ip.d.addrs[NDIRECT] = self.balloc()?;
        }
        let ind = self.check_block(ip.inum, ip.d.addrs[NDIRECT])?;
        let at = 4 * (bn - NDIRECT);
        let b = self.read_block(ind, |d| word(d, at))?;
        if b != 0 {
            return self.check_block(ip.inum, b);
        }
        let b = self.balloc()?;
        self.write_block(ind, |d| put_word(d, at, b))?;
        Ok(b)
    }

    /// Free every block of the file and make it empty (xv6's `itrunc`).
    fn itrunc(&self, ip: &mut DiskInode) -> Result<(), FsError> {
        for i in 0..NDIRECT {
            if ip.d.addrs[i] != 0 {
                self.bfree(self.check_block(ip.inum, ip.d.addrs[i])?)?;
                ip.d.addrs[i] = 0;
            }
        }
        if ip.d.addrs[NDIRECT] != 0 {
            let ind = self.check_block(ip.inum, ip.d.addrs[NDIRECT])?;
            let mut addrs = [0u32; NINDIRECT];
            self.read_block(ind, |d| {
                for (j, a) in addrs.iter_mut().enumerate() {
                    *a = word(d, 4 * j);
                }
            })?;
            for a in addrs.into_iter().filter(|&a| a != 0) {
                self.bfree(self.check_block(ip.inum, a)?)?;
            }
            self.bfree(ind)?;
            ip.d.addrs[NDIRECT] = 0;
        }
        ip.d.size = 0;
        self.iupdate(ip)
    }

    /// Read up to `dst.len()` bytes at `off` (xv6's `readi`): the bytes
    /// read, 0 at or past the end. A hole reads as zeros.
    fn readi(&self, ip: &DiskInode, dst: &mut [u8], off: u32) -> Result<usize, FsError> {
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
            match self.bmap_lookup(ip, bn)? {
                Some(b) => self.read_block(b, |d| out.copy_from_slice(&d[within..within + m]))?,
                None => out.fill(0),
            }
            done += m;
        }
        Ok(n)
    }

    /// Write `src` at `off` (xv6's `writei`), growing the file: the bytes
    /// written, fewer than asked when the disk fills. Fails for an offset
    /// past the end or a write past MAXFILE blocks.
    fn writei(&self, ip: &mut DiskInode, src: &[u8], off: u32) -> Result<usize, FsError> {
        let n = src.len();
        let end = off.checked_add(n as u32).filter(|&e| e <= MAXFILE_BYTES);
        if off > ip.size() || end.is_none() {
            return Err(FsError::Range {
                inum: ip.inum,
                off,
                len: n,
            });
        }
        let mut done = 0;
        let mut full = None;
        while done < n {
            let pos = off as usize + done;
            let (bn, within) = (pos / BSIZE, pos % BSIZE);
            let m = (BSIZE - within).min(n - done);
            let b = match self.bmap(ip, bn) {
                Ok(b) => b,
                Err(e @ FsError::Full { .. }) => {
                    full = Some(e);
                    break;
                }
                Err(e) => return Err(e),
            };
            let piece = &src[done..done + m];
            self.write_block(b, |d| d[within..within + m].copy_from_slice(piece))?;
            done += m;
        }
        let pos = off + done as u32;
        if pos > ip.d.size {
            ip.d.size = pos;
        }
        // bmap may have changed the block list even without growth.
        self.iupdate(ip)?;
        match full {
            Some(e) if done == 0 => Err(e),
            _ => Ok(done),
        }
    }

    /// The entry named `name` in directory `dp` (xv6's `dirlookup`): its
    /// inode number and byte offset.
    fn dirlookup(&self, dp: &DiskInode, name: &[u8]) -> Result<Option<(u32, u32)>, FsError> {
        let mut found = None;
        self.each_dirent(dp, |off, de| {
            if de.inum != 0 && de.is(name) {
                found = Some((u32::from(de.inum), off));
                true
            } else {
                false
            }
        })?;
        Ok(found)
    }

    /// Call `f(offset, entry)` for each entry of directory `dp` until it
    /// returns true.
    fn each_dirent(
        &self,
        dp: &DiskInode,
        mut f: impl FnMut(u32, Dirent) -> bool,
    ) -> Result<(), FsError> {
        if dp.kind() != T_DIR || !dp.size().is_multiple_of(DIRENT_SIZE as u32) {
            return Err(FsError::BadDir {
                inum: dp.inum,
                size: dp.size(),
            });
        }
        let mut off = 0;
        let mut raw = [0u8; DIRENT_SIZE];
        while off < dp.size() {
            self.readi(dp, &mut raw, off)?;
            if f(off, Dirent::read(&raw)) {
                break;
            }
            off += DIRENT_SIZE as u32;
        }
        Ok(())
    }

    /// Whether directory `dp` holds nothing but "." and ".." (xv6's
    /// `isdirempty`).
    fn isdirempty(&self, dp: &DiskInode) -> Result<bool, FsError> {
        let mut empty = true;
        self.each_dirent(dp, |off, de| {
            if off >= 2 * DIRENT_SIZE as u32 && de.inum != 0 {
                empty = false;
            }
            !empty
        })?;
        Ok(empty)
    }

    /// Add the entry `name` -> `inum` to directory `dp` (xv6's
    /// `dirlink`), in the first free slot or at the end. `Ok(false)` if
    /// the name is taken.
    fn dirlink(&self, dp: &mut DiskInode, name: &[u8], inum: u32) -> Result<bool, FsError> {
        if self.dirlookup(dp, name)?.is_some() {
            return Ok(false);
        }
        let mut slot = dp.size();
        self.each_dirent(dp, |off, de| {
            if de.inum == 0 {
                slot = off;
                true
            } else {
                false
            }
        })?;
        let inum16 = u16::try_from(inum).map_err(|_| FsError::BadInum {
            inum,
            ninodes: self.sb().ninodes,
        })?;
        let de = Dirent::new(inum16, name);
        if self.writei(dp, &de.bytes(), slot)? != DIRENT_SIZE {
            return Err(FsError::Full { what: "block" });
        }
        Ok(true)
    }

    /// Clear the entry at byte `off` of directory `dp` (unlink's part).
    fn dirclear(&self, dp: &mut DiskInode, off: u32) -> Result<(), FsError> {
        let empty = [0u8; DIRENT_SIZE];
        match self.writei(dp, &empty, off)? {
            DIRENT_SIZE => Ok(()),
            _ => Err(FsError::BadDir {
                inum: dp.inum,
                size: dp.size(),
            }),
        }
    }
}

/// The layout's rules for a superblock on a disk of `blocks` blocks.
pub fn check_superblock(sb: &SuperBlock, blocks: u32) -> Result<(), FsError> {
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
    if sb.bmapstart <= SUPERBLOCK
        || sb.bmapstart >= sb.size
        || sb.size.div_ceil(BPB as u32) > sb.size - sb.bmapstart
    {
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
mod icache;
#[cfg(kernel)]
pub use icache::*;

#[cfg(test)]
mod tests {
    use super::format::{IPB, LOGSIZE, T_FILE};
    use super::*;

    /// An empty file system of `size` blocks and `ninodes` inodes, made
    /// with the algorithms themselves: the root directory holds "." and
    /// "..", and every metadata block is marked in use.
    fn fresh(size: u32, ninodes: u32) -> Fs {
        let inodestart = 2 + LOGSIZE;
        let bmapstart = inodestart + ninodes.div_ceil(IPB as u32);
        let meta = bmapstart + size.div_ceil(BPB as u32);
        let sb = SuperBlock {
            size,
            nblocks: size - meta,
            ninodes,
            nlog: LOGSIZE,
            logstart: 2,
            inodestart,
            bmapstart,
        };
        let mut img = vec![0u8; size as usize * BSIZE];
        sb.write(&mut img[BSIZE..2 * BSIZE]);
        for b in 0..meta as usize {
            img[bmapstart as usize * BSIZE + b / 8] |= 1 << (b % 8);
        }
        // The root inode by hand: mount checks it is a directory.
        let root = DiskInode {
            inum: ROOTINO,
            d: Dinode {
                kind: T_DIR,
                nlink: 1,
                ..Dinode::default()
            },
        };
        let at = sb.iblock(ROOTINO) as usize * BSIZE;
        root.d.write(&mut img[at..at + BSIZE], ROOTINO);
        let fs = Fs::mount(&img).unwrap();
        let mut root = fs.root();
        assert!(fs.dirlink(&mut root, b".", ROOTINO).unwrap());
        assert!(fs.dirlink(&mut root, b"..", ROOTINO).unwrap());
        fs
    }

    /// Blocks marked in use in the bitmap.
    fn used(fs: &Fs) -> u32 {
        let sb = *fs.superblock();
        (0..sb.size)
            .filter(|&b| {
                fs.read_block(sb.bblock(b), |bits| {
                    bits[(b as usize % BPB) / 8] & (1 << (b % 8)) != 0
                })
                .unwrap()
            })
            .count() as u32
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 511) as u8).collect()
    }

    #[test]
    fn a_file_written_past_the_direct_blocks_reads_back_and_itrunc_frees_every_block() {
        let fs = fresh(400, 16);
        let base = used(&fs);
        let inum = fs.ialloc(T_FILE).unwrap();
        let mut ip = fs.rinode(inum).unwrap();
        assert_eq!(ip.kind(), T_FILE);
        let data = pattern((NDIRECT + 5) * BSIZE + 100);
        // Unaligned pieces, as a program's writes come.
        let mut off = 0;
        for piece in data.chunks(777) {
            assert_eq!(fs.writei(&mut ip, piece, off).unwrap(), piece.len());
            off += piece.len() as u32;
        }
        assert_eq!(ip.size() as usize, data.len());
        assert_eq!(fs.rinode(inum).unwrap(), ip, "writei wrote the inode back");
        let blocks = data.len().div_ceil(BSIZE) as u32;
        assert_eq!(
            used(&fs),
            base + blocks + 1,
            "data blocks and the indirect one"
        );
        let mut back = vec![0u8; data.len() + 10];
        assert_eq!(fs.readi(&ip, &mut back, 0).unwrap(), data.len());
        assert!(back[..data.len()] == data[..]);
        fs.itrunc(&mut ip).unwrap();
        assert_eq!((used(&fs), ip.size()), (base, 0));
        assert_eq!(fs.rinode(inum).unwrap().d.addrs, [0; NDIRECT + 1]);
    }

    #[test]
    fn writes_outside_a_file_fail_and_a_full_disk_fails_part_way_keeping_the_bitmap_whole() {
        let fs = fresh(80, 16);
        let inum = fs.ialloc(T_FILE).unwrap();
        let mut ip = fs.rinode(inum).unwrap();
        assert!(matches!(
            fs.writei(&mut ip, b"x", 1),
            Err(FsError::Range { .. })
        ));
        let over = MAXFILE_BYTES;
        ip.d.size = over;
        assert!(matches!(
            fs.writei(&mut ip, b"x", over),
            Err(FsError::Range { .. })
        ));
        ip.d.size = 0;
        let free = fs.superblock().size - used(&fs);
        let big = pattern(MAXFILE * BSIZE);
        let wrote = fs.writei(&mut ip, &big, 0).unwrap();
        // Every free block went to the file: the data and the indirect.
        assert_eq!(used(&fs), fs.superblock().size);
        assert_eq!(wrote, (free as usize - 1) * BSIZE);
        assert_eq!(
            fs.writei(&mut ip, b"more", wrote as u32),
            Err(FsError::Full { what: "block" })
        );
        assert_eq!(fs.ialloc(T_FILE).map(|_| ()), Ok(()));
        fs.itrunc(&mut ip).unwrap();
        assert_eq!(fs.superblock().size - used(&fs), free);
    }

    #[test]
    fn directories_link_look_up_clear_and_reuse_slots() {
        let fs = fresh(200, 32);
        let mut root = fs.root();
        assert!(fs.isdirempty(&root).unwrap());
        let a = fs.ialloc(T_FILE).unwrap();
        let b = fs.ialloc(T_FILE).unwrap();
        assert!(fs.dirlink(&mut root, b"a", a).unwrap());
        assert!(
            !fs.dirlink(&mut root, b"a", b).unwrap(),
            "the name is taken"
        );
        assert!(fs.dirlink(&mut root, b"b", b).unwrap());
        assert!(!fs.isdirempty(&root).unwrap());
        let (inum, off) = fs.dirlookup(&root, b"a").unwrap().unwrap();
        assert_eq!((inum, off), (a, 2 * DIRENT_SIZE as u32));
        fs.dirclear(&mut root, off).unwrap();
        assert_eq!(fs.dirlookup(&root, b"a").unwrap(), None);
        let size = root.size();
        assert!(fs.dirlink(&mut root, b"c", a).unwrap());
        assert_eq!(root.size(), size, "the cleared slot is reused");
        assert_eq!(fs.dirlookup(&root, b"c").unwrap(), Some((a, off)));
        let mut names: Vec<Vec<u8>> = fs
            .entries(&root)
            .filter(|d| d.inum != 0)
            .map(|d| d.name().to_vec())
            .collect();
        names.sort();
        assert_eq!(names, [&b"."[..], b"..", b"b", b"c"]);
    }

    #[test]
    fn corrupt_block_numbers_and_directories_fail_the_call_naming_them() {
        let fs = fresh(200, 16);
        let inum = fs.ialloc(T_FILE).unwrap();
        let mut ip = fs.rinode(inum).unwrap();
        fs.writei(&mut ip, &pattern(100), 0).unwrap();
        ip.d.addrs[0] = 5000;
        let e = fs.readi(&ip, &mut [0; 4], 0).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("inode {inum} names block 5000, past the image's end (200 blocks)")
        );
        assert_eq!(fs.writei(&mut ip, b"x", 0).unwrap_err(), e);
        assert_eq!(fs.itrunc(&mut ip).unwrap_err(), e);
        // A block freed twice.
        let b = fs.balloc().unwrap();
        fs.bfree(b).unwrap();
        assert_eq!(fs.bfree(b), Err(FsError::FreeBlock { block: b }));
        // A directory of a size that is not whole entries.
        let mut root = fs.root();
        root.d.size += 3;
        let e = fs.dirlookup(&root, b"x").unwrap_err();
        assert!(matches!(e, FsError::BadDir { inum: ROOTINO, .. }), "{e}");
        assert!(e.to_string().contains("not a multiple of 16"), "{e}");
        assert!(matches!(
            fs.rinode(16),
            Err(FsError::BadInum {
                inum: 16,
                ninodes: 16
            })
        ));
    }

    #[test]
    fn skipelem_splits_paths_as_xv6_does() {
        assert_eq!(skipelem(b"a/bb/c"), Some((&b"a"[..], &b"bb/c"[..])));
        assert_eq!(skipelem(b"///a//bb"), Some((&b"a"[..], &b"bb"[..])));
        assert_eq!(skipelem(b"a"), Some((&b"a"[..], &b""[..])));
        assert_eq!(
            skipelem(b"a///"),
            Some((&b"a"[..], &b""[..])),
            "the last element"
        );
        assert_eq!(skipelem(b""), None);
        assert_eq!(skipelem(b"////"), None);
        assert_eq!(
            skipelem(b"abcdefghijklmnopq/r"),
            Some((&b"abcdefghijklmn"[..], &b"r"[..])),
            "cut to DIRSIZ"
        );
        let all: Vec<&[u8]> = elements(b"/x/./y/").collect();
        assert_eq!(all, [&b"x"[..], b".", b"y"]);
    }
}
