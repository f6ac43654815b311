//! `mkfs` (xv6's `mkfs.c`, in Rust): an image in xv6's on-disk format
//! holding a root directory of files. The layout comes from the kernel's
//! own `src/fs/format.rs`, so the kernel reads what this writes, and the
//! peer's kernel reads it too.

use std::path::Path;

use crate::{Error, Result};

/// The on-disk format, shared with the kernel.
#[path = "../../src/fs/format.rs"]
pub mod format;

use format::{
    BPB, BSIZE, DIRENT_SIZE, Dinode, Dirent, FSSIZE, IPB, LOGSIZE, MAXFILE, MKFS_FREE_BLOCKS,
    NDIRECT, NINODES, ROOTINO, SUPERBLOCK, SuperBlock, T_DIR, T_FILE, put_word,
};

/// An image being made: its blocks and the next free inode and block.
struct Image {
    blocks: Vec<[u8; BSIZE]>,
    sb: SuperBlock,
    next_inum: u32,
    next_block: u32,
}

impl Image {
    /// An empty file system of `size` blocks (xv6's layout: boot block,
    /// superblock, log, inodes, bitmap, data).
    fn new(size: u32) -> Image {
        let nbitmap = size / BPB as u32 + 1;
        let ninodeblocks = NINODES / IPB as u32 + 1;
        let nmeta = 2 + LOGSIZE + ninodeblocks + nbitmap;
        let sb = SuperBlock {
            size,
            nblocks: size - nmeta,
            ninodes: NINODES,
            nlog: LOGSIZE,
            logstart: 2,
            inodestart: 2 + LOGSIZE,
            bmapstart: 2 + LOGSIZE + ninodeblocks,
        };
        let mut blocks = vec![[0u8; BSIZE]; size as usize];
        sb.write(&mut blocks[SUPERBLOCK as usize]);
        Image {
            blocks,
            sb,
            next_inum: ROOTINO,
            next_block: nmeta,
        }
    }

    fn ialloc(&mut self, kind: u16) -> Result<u32> {
        let inum = self.next_inum;
        if inum >= self.sb.ninodes {
            return Err(Error::new(format!(
                "mkfs: more than {} files",
                self.sb.ninodes - 1
            )));
        }
        self.next_inum += 1;
        let d = Dinode {
            kind,
            nlink: 1,
            ..Dinode::default()
        };
        self.winode(inum, &d);
        Ok(inum)
    }

    fn rinode(&self, inum: u32) -> Dinode {
        Dinode::read(&self.blocks[self.sb.iblock(inum) as usize], inum)
    }

    fn winode(&mut self, inum: u32, d: &Dinode) {
        let b = self.sb.iblock(inum) as usize;
        d.write(&mut self.blocks[b], inum);
    }

    fn balloc(&mut self) -> Result<u32> {
        let b = self.next_block;
        if b >= self.sb.size {
            return Err(Error::new(format!(
                "mkfs: the files do not fit in {} blocks",
                self.sb.size
            )));
        }
        self.next_block += 1;
        Ok(b)
    }

    /// Append `data` to inode `inum` (xv6's `iappend`).
    fn iappend(&mut self, inum: u32, mut data: &[u8]) -> Result<()> {
        let mut d = self.rinode(inum);
        while !data.is_empty() {
            let off = d.size as usize;
            let bn = off / BSIZE;
            if bn >= MAXFILE {
                return Err(Error::new(format!(
                    "mkfs: inode {inum} would pass {MAXFILE} blocks ({} bytes), the most a file holds",
                    MAXFILE * BSIZE
                )));
            }
            let block = if bn < NDIRECT {
                if d.addrs[bn] == 0 {
                    d.addrs[bn] = self.balloc()?;
                }
                d.addrs[bn]
            } else {
                if d.addrs[NDIRECT] == 0 {
                    d.addrs[NDIRECT] = self.balloc()?;
                }
                let ind = d.addrs[NDIRECT] as usize;
                let slot = 4 * (bn - NDIRECT);
                let mut b = format::word(&self.blocks[ind], slot);
                if b == 0 {
                    b = self.balloc()?;
                    put_word(&mut self.blocks[ind], slot, b);
                }
                b
            };
            let within = off % BSIZE;
            let n = (BSIZE - within).min(data.len());
            self.blocks[block as usize][within..within + n].copy_from_slice(&data[..n]);
            d.size += n as u32;
            data = &data[n..];
        }
        self.winode(inum, &d);
        Ok(())
    }

    fn link(&mut self, dir: u32, inum: u32, name: &str) -> Result<()> {
        self.iappend(dir, &Dirent::new(inum as u16, name.as_bytes()).bytes())
    }

    /// Mark every block used so far in the bitmap.
    fn balloc_done(&mut self) {
        for b in 0..self.next_block {
            let block = self.sb.bblock(b) as usize;
            let bit = b as usize % BPB;
            self.blocks[block][bit / 8] |= 1 << (bit % 8);
        }
    }
}

/// An image holding `files` (name, contents) in its root directory.
/// Names must be 1..=DIRSIZ bytes without '/', each file at most MAXFILE
/// blocks; the image is FSSIZE blocks, or larger if the files need it
/// and MKFS_FREE_BLOCKS free ones.
pub fn mkfs(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    for (name, data) in files {
        if name.is_empty()
            || name.len() > format::DIRSIZ
            || name.contains('/')
            || name == "."
            || name == ".."
        {
            return Err(Error::new(format!(
                "mkfs: file name {name:?}: a name is 1 to {} bytes, without '/', and not . or ..",
                format::DIRSIZ
            )));
        }
        if data.len() > MAXFILE * BSIZE {
            return Err(Error::new(format!(
                "mkfs: {name} is {} bytes; a file holds at most {} ({MAXFILE} blocks)",
                data.len(),
                MAXFILE * BSIZE
            )));
        }
    }
    let data_blocks: usize = files
        .iter()
        .map(|(_, d)| d.len().div_ceil(BSIZE) + usize::from(d.len() > NDIRECT * BSIZE))
        .sum();
    let dir_blocks = (files.len() + 2) * DIRENT_SIZE / BSIZE + 2;
    let meta = 2 + LOGSIZE as usize + NINODES as usize / IPB + 1 + 1;
    let size = FSSIZE.max((meta + data_blocks + dir_blocks + 1) as u32 + MKFS_FREE_BLOCKS);
    let mut img = Image::new(size);
    let root = img.ialloc(T_DIR)?;
    assert_eq!(root, ROOTINO, "the first inode is the root");
    img.link(root, root, ".")?;
    img.link(root, root, "..")?;
    for (name, data) in files {
        let inum = img.ialloc(T_FILE)?;
        img.link(root, inum, name)?;
        img.iappend(inum, data)?;
    }
    // The root directory's size, rounded up to whole blocks as xv6's mkfs
    // leaves it (entries past the last are unused: inode 0).
    let mut d = img.rinode(root);
    d.size = d.size.div_ceil(BSIZE as u32) * BSIZE as u32;
    img.winode(root, &d);
    img.balloc_done();
    Ok(img.blocks.concat())
}

/// Make an image from files on disk, each named by its file name (a
/// leading `_` dropped, as xv6's Makefile names its programs), and write
/// it to `out`.
pub fn mkfs_files(out: &Path, paths: &[&Path]) -> Result<()> {
    let mut files = Vec::new();
    for p in paths {
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| Error::new(format!("mkfs: {} has no file name", p.display())))?;
        let data = std::fs::read(p)
            .map_err(|e| Error::new(format!("mkfs: cannot read {}: {e}", p.display())))?;
        files.push((name.trim_start_matches('_').to_string(), data));
    }
    let img = mkfs(&files)?;
    std::fs::write(out, img)
        .map_err(|e| Error::new(format!("mkfs: cannot write {}: {e}", out.display())))
}

/// The project's own image, which a plain `./run-qemu.sh` boots: README
/// and the user programs (`user/`), made fresh at each boot into
/// `DEFAULT_IMAGE` (under the root); its path.
pub fn default_image() -> Result<std::path::PathBuf> {
    let mut files = vec![("README".to_string(), crate::paths::at(DEFAULT_README))];
    files.extend(crate::user::build()?);
    let mut contents = Vec::new();
    for (name, path) in files {
        let data = std::fs::read(&path)
            .map_err(|e| Error::new(format!("mkfs: cannot read {}: {e}", path.display())))?;
        contents.push((name, data));
    }
    let img = mkfs(&contents)?;
    let out = crate::paths::at(DEFAULT_IMAGE);
    crate::kernel::replace(&out, &img)?;
    Ok(out)
}

/// The file the default image's README is (the project's own).
pub const DEFAULT_README: &str = "README.md";
/// Where the default image is written, relative to the root.
pub const DEFAULT_IMAGE: &str = "target/fs.img";
