//! A file system image in memory ([`Fs`]): the algorithms of [`DiskFs`]
//! over a byte vector, with the mount checks the kernel makes. The tests
//! and tools read and change images with it on the host, through the
//! same code the kernel runs. (Host only: the kernel has no heap.)

use std::cell::RefCell;

use super::format::{BSIZE, Dirent, ROOTINO, SUPERBLOCK, SuperBlock, T_DIR};
use super::{DiskFs, DiskInode, FsError, check_superblock, skipelem};

/// A mounted image: its blocks and its superblock.
pub struct Fs {
    img: RefCell<Vec<u8>>,
    sb: SuperBlock,
}

impl Fs {
    /// Check a copy of the image's superblock and root directory, and
    /// mount it.
    pub fn mount(img: &[u8]) -> Result<Fs, FsError> {
        if img.len() < 2 * BSIZE {
            return Err(FsError::TooSmall { bytes: img.len() });
        }
        let start = SUPERBLOCK as usize * BSIZE;
        let sb = SuperBlock::read(&img[start..start + BSIZE]);
        check_superblock(&sb, (img.len() / BSIZE) as u32)?;
        let fs = Fs {
            img: RefCell::new(img.to_vec()),
            sb,
        };
        let root = fs.iget(ROOTINO)?;
        if root.kind() != T_DIR {
            return Err(FsError::RootNotDir { kind: root.kind() });
        }
        Ok(fs)
    }

    pub fn superblock(&self) -> &SuperBlock {
        &self.sb
    }

    /// The image's bytes as they are now.
    pub fn bytes(&self) -> Vec<u8> {
        self.img.borrow().clone()
    }

    /// Inode `inum` as it is on disk.
    pub fn iget(&self, inum: u32) -> Result<DiskInode, FsError> {
        self.rinode(inum)
    }

    pub fn root(&self) -> DiskInode {
        self.iget(ROOTINO).expect("mount checked the root inode")
    }

    /// Every entry of directory `dp`, in order.
    pub fn entries(&self, dp: &DiskInode) -> impl Iterator<Item = Dirent> {
        let mut all = Vec::new();
        let _ = self.each_dirent(dp, |_, de| {
            all.push(de);
            false
        });
        all.into_iter()
    }

    /// The inode `path` names, from `cwd` unless it starts with '/'
    /// (xv6's `namei`). None if an element is missing or a non-final one
    /// is not a directory.
    pub fn namei(&self, path: &[u8], cwd: &DiskInode) -> Result<Option<DiskInode>, FsError> {
        let mut ip = if path.first() == Some(&b'/') {
            self.root()
        } else {
            *cwd
        };
        let mut rest = path;
        while let Some((name, next)) = skipelem(rest) {
            if ip.kind() != T_DIR {
                return Ok(None);
            }
            match self.dirlookup(&ip, name)? {
                Some((inum, _)) => ip = self.iget(inum)?,
                None => return Ok(None),
            }
            rest = next;
        }
        Ok(Some(ip))
    }
}

impl DiskFs for Fs {
    fn sb(&self) -> &SuperBlock {
        &self.sb
    }

    fn read_block<R>(&self, b: u32, f: impl FnOnce(&[u8; BSIZE]) -> R) -> Result<R, FsError> {
        let img = self.img.borrow();
        let at = b as usize * BSIZE;
        let block = img
            .get(at..at + BSIZE)
            .and_then(|s| <&[u8; BSIZE]>::try_from(s).ok())
            .ok_or(FsError::BadBlock {
                inum: 0,
                block: b,
                size: self.sb.size,
            })?;
        Ok(f(block))
    }

    fn write_block<R>(&self, b: u32, f: impl FnOnce(&mut [u8; BSIZE]) -> R) -> Result<R, FsError> {
        let mut img = self.img.borrow_mut();
        let at = b as usize * BSIZE;
        let size = self.sb.size;
        let block = img
            .get_mut(at..at + BSIZE)
            .and_then(|s| <&mut [u8; BSIZE]>::try_from(s).ok())
            .ok_or(FsError::BadBlock {
                inum: 0,
                block: b,
                size,
            })?;
        Ok(f(block))
    }
}
