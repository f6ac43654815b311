//! Editing an xv6 image on the host as xv6's kernel would change it
//! (`mkdir`, a file created and written, `link`), and poking single
//! fields to break it: the checker's tests and the corrupt-image tests
//! (tests/corrupt.rs) build their images with this.

use crate::fsimage::Image;
use crate::mkfs::format::{
    BPB, BSIZE, DIRENT_SIZE, Dinode, Dirent, MAXFILE, NDIRECT, ROOTINO, SUPERBLOCK, SuperBlock,
    T_DIR, T_FILE, put_word, word,
};

/// An image being edited.
#[derive(Clone)]
pub struct Editor {
    pub bytes: Vec<u8>,
    pub sb: SuperBlock,
}

impl Editor {
    /// Edit `bytes`, which must hold a superblock.
    pub fn new(bytes: Vec<u8>) -> Editor {
        let sb = Image::new(&bytes).expect("an image with a superblock").sb;
        Editor { bytes, sb }
    }

    /// Blocks the image holds.
    pub fn blocks(&self) -> u32 {
        (self.bytes.len() / BSIZE) as u32
    }

    /// Block `b`'s bytes.
    pub fn block_mut(&mut self, b: u32) -> &mut [u8] {
        let at = b as usize * BSIZE;
        &mut self.bytes[at..at + BSIZE]
    }

    /// The word at byte `off` of block `b`.
    pub fn word(&self, b: u32, off: usize) -> u32 {
        word(&self.bytes[b as usize * BSIZE..], off)
    }

    /// Store `w` at byte `off` of block `b`.
    pub fn put_word(&mut self, b: u32, off: usize, w: u32) {
        put_word(self.block_mut(b), off, w);
    }

    /// Write the superblock back after changing `sb`.
    pub fn write_superblock(&mut self) {
        let sb = self.sb;
        sb.write(self.block_mut(SUPERBLOCK));
    }

    pub fn inode(&self, inum: u32) -> Dinode {
        Image::new(&self.bytes)
            .and_then(|i| i.inode(inum))
            .expect("an inode inside the image")
    }

    pub fn set_inode(&mut self, inum: u32, d: &Dinode) {
        let b = self.sb.iblock(inum);
        d.write(self.block_mut(b), inum);
    }

    /// Change inode `inum` with `f`.
    pub fn edit_inode(&mut self, inum: u32, f: impl FnOnce(&mut Dinode)) {
        let mut d = self.inode(inum);
        f(&mut d);
        self.set_inode(inum, &d);
    }

    /// Is block `b` marked in use?
    pub fn marked(&self, b: u32) -> bool {
        let bit = b as usize % BPB;
        self.bytes[self.sb.bblock(b) as usize * BSIZE + bit / 8] & (1 << (bit % 8)) != 0
    }

    /// Mark block `b` in use (`on`) or free.
    pub fn mark(&mut self, b: u32, on: bool) {
        let bit = b as usize % BPB;
        let at = self.sb.bblock(b) as usize * BSIZE + bit / 8;
        match on {
            true => self.bytes[at] |= 1 << (bit % 8),
            false => self.bytes[at] &= !(1 << (bit % 8)),
        }
    }

    /// A free data block, marked and zeroed (xv6's `balloc`).
    pub fn balloc(&mut self) -> u32 {
        let start = self.sb.size - self.sb.nblocks;
        let b = (start..self.sb.size)
            .find(|&b| !self.marked(b))
            .expect("a free block");
        self.mark(b, true);
        self.block_mut(b).fill(0);
        b
    }

    /// A free inode of type `kind`, nlink 0 (xv6's `ialloc`).
    pub fn ialloc(&mut self, kind: u16) -> u32 {
        let inum = (ROOTINO + 1..self.sb.ninodes)
            .find(|&i| self.inode(i).kind == 0)
            .expect("a free inode");
        self.set_inode(
            inum,
            &Dinode {
                kind,
                ..Dinode::default()
            },
        );
        inum
    }

    /// Append `data` to inode `inum` (xv6's `writei` at its end).
    pub fn append(&mut self, inum: u32, data: &[u8]) {
        let mut d = self.inode(inum);
        for &byte in data {
            let off = d.size as usize;
            let bn = off / BSIZE;
            assert!(bn < MAXFILE, "a file holds at most {MAXFILE} blocks");
            let block = if bn < NDIRECT {
                if d.addrs[bn] == 0 {
                    d.addrs[bn] = self.balloc();
                }
                d.addrs[bn]
            } else {
                if d.addrs[NDIRECT] == 0 {
                    d.addrs[NDIRECT] = self.balloc();
                }
                let ind = d.addrs[NDIRECT];
                let slot = 4 * (bn - NDIRECT);
                if self.word(ind, slot) == 0 {
                    let b = self.balloc();
                    self.put_word(ind, slot, b);
                }
                self.word(ind, slot)
            };
            self.block_mut(block)[off % BSIZE] = byte;
            d.size += 1;
        }
        self.set_inode(inum, &d);
    }

    /// Add the entry `name` → `inum` to directory `dir`, in its first
    /// unused slot or at its end (xv6's `dirlink`; nlink untouched).
    pub fn dirlink(&mut self, dir: u32, name: &str, inum: u32) {
        let d = self.inode(dir);
        let bytes = Dirent::new(inum as u16, name.as_bytes()).bytes();
        let img = Image::new(&self.bytes).expect("an image");
        let data = img.read(&d).expect("a readable directory");
        let free = data
            .chunks_exact(DIRENT_SIZE)
            .position(|c| Dirent::read(c).inum == 0);
        match free {
            Some(slot) => {
                let off = slot * DIRENT_SIZE;
                let b = img.bmap(&d, off / BSIZE).expect("a mapped block");
                let at = off % BSIZE;
                self.block_mut(b)[at..at + DIRENT_SIZE].copy_from_slice(&bytes);
            }
            None => self.append(dir, &bytes),
        }
    }

    /// A new directory `name` in `parent`, as xv6's `mkdir` makes it: nlink
    /// 1, `.` and `..`, and the parent's nlink one more for that `..`.
    pub fn mkdir(&mut self, parent: u32, name: &str) -> u32 {
        let inum = self.ialloc(T_DIR);
        self.edit_inode(inum, |d| d.nlink = 1);
        self.edit_inode(parent, |d| d.nlink += 1);
        self.dirlink(inum, ".", inum);
        self.dirlink(inum, "..", parent);
        self.dirlink(parent, name, inum);
        inum
    }

    /// A new file `name` in `dir` holding `data`.
    pub fn create(&mut self, dir: u32, name: &str, data: &[u8]) -> u32 {
        let inum = self.ialloc(T_FILE);
        self.edit_inode(inum, |d| d.nlink = 1);
        self.dirlink(dir, name, inum);
        self.append(inum, data);
        inum
    }

    /// A second name for `inum` (xv6's `link`).
    pub fn link(&mut self, dir: u32, name: &str, inum: u32) {
        self.edit_inode(inum, |d| d.nlink += 1);
        self.dirlink(dir, name, inum);
    }

    /// Overwrite slot `slot` of directory `dir` with `name` → `inum`.
    pub fn set_entry(&mut self, dir: u32, slot: usize, name: &str, inum: u32) {
        let d = self.inode(dir);
        let off = slot * DIRENT_SIZE;
        let b = Image::new(&self.bytes)
            .and_then(|i| i.bmap(&d, off / BSIZE))
            .expect("a mapped directory block");
        let bytes = Dirent::new(inum as u16, name.as_bytes()).bytes();
        let at = off % BSIZE;
        self.block_mut(b)[at..at + DIRENT_SIZE].copy_from_slice(&bytes);
    }
}
