//! Reading an xv6 image on the host: its superblock, inodes, the blocks
//! a file maps, a file's bytes and a directory's entries, path look-up.
//! The checker (`fsck`) and the crash sweep (`crash`) read images through
//! this; the layout is the kernel's own `src/fs/format.rs`.
//!
//! Nothing here trusts the image: a block number past the end reads as
//! missing, never as a panic.

use crate::mkfs::format::{
    BSIZE, DIRENT_SIZE, Dinode, Dirent, MAXFILE, NDIRECT, NINDIRECT, ROOTINO, SUPERBLOCK,
    SuperBlock, T_DIR, word,
};

/// An image's bytes, read as blocks.
#[derive(Clone, Copy)]
pub struct Image<'a> {
    pub bytes: &'a [u8],
    pub sb: SuperBlock,
}

/// Where a block number sits in an inode: one of the direct slots, the
/// indirect block itself, or a slot of the indirect block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Direct(usize),
    Indirect,
    InIndirect(usize),
}

impl Slot {
    /// The file block this slot maps (None for the indirect block).
    pub fn file_block(self) -> Option<usize> {
        match self {
            Slot::Direct(i) => Some(i),
            Slot::Indirect => None,
            Slot::InIndirect(i) => Some(NDIRECT + i),
        }
    }
}

impl std::fmt::Display for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Slot::Direct(i) => write!(f, "addrs[{i}]"),
            Slot::Indirect => write!(f, "addrs[{NDIRECT}] (the indirect block)"),
            Slot::InIndirect(i) => write!(f, "indirect slot {i}"),
        }
    }
}

impl<'a> Image<'a> {
    /// The image in `bytes`, its superblock read (not checked: see
    /// `fsck::check_superblock`). None if it has no superblock block.
    pub fn new(bytes: &'a [u8]) -> Option<Image<'a>> {
        let sb = SuperBlock::read(block_at(bytes, SUPERBLOCK)?);
        Some(Image { bytes, sb })
    }

    /// Blocks the bytes hold.
    pub fn blocks(&self) -> u32 {
        (self.bytes.len() / BSIZE) as u32
    }

    /// Block `b`, if the image holds it.
    pub fn block(&self, b: u32) -> Option<&'a [u8]> {
        block_at(self.bytes, b)
    }

    /// Inode `inum`, if its block is in the image.
    pub fn inode(&self, inum: u32) -> Option<Dinode> {
        Some(Dinode::read(self.block(self.sb.iblock(inum))?, inum))
    }

    /// Every non-zero block number `d` holds, with its slot: the direct
    /// ones, the indirect block, then the indirect block's (read only if
    /// the image holds it).
    pub fn slots(&self, d: &Dinode) -> Vec<(Slot, u32)> {
        let mut out: Vec<(Slot, u32)> = (0..NDIRECT)
            .filter(|&i| d.addrs[i] != 0)
            .map(|i| (Slot::Direct(i), d.addrs[i]))
            .collect();
        let ind = d.addrs[NDIRECT];
        if ind != 0 {
            out.push((Slot::Indirect, ind));
            if let Some(b) = self.block(ind).filter(|_| ind < self.sb.size) {
                for i in 0..NINDIRECT {
                    let a = word(b, 4 * i);
                    if a != 0 {
                        out.push((Slot::InIndirect(i), a));
                    }
                }
            }
        }
        out
    }

    /// The block holding file block `bn` of `d`, if mapped and inside the
    /// image (xv6's `bmap` without allocation).
    pub fn bmap(&self, d: &Dinode, bn: usize) -> Option<u32> {
        let b = if bn < NDIRECT {
            d.addrs[bn]
        } else if bn < MAXFILE {
            let ind = self
                .block(d.addrs[NDIRECT])
                .filter(|_| d.addrs[NDIRECT] != 0)?;
            word(ind, 4 * (bn - NDIRECT))
        } else {
            0
        };
        (b != 0 && b < self.sb.size).then_some(b)
    }

    /// The first `d.size` bytes of the file, or None if a block below the
    /// size is missing or outside the image.
    pub fn read(&self, d: &Dinode) -> Option<Vec<u8>> {
        let size = d.size as usize;
        if size > MAXFILE * BSIZE {
            return None;
        }
        let mut out = Vec::with_capacity(size);
        for bn in 0..size.div_ceil(BSIZE) {
            let block = self.block(self.bmap(d, bn)?)?;
            let n = (size - bn * BSIZE).min(BSIZE);
            out.extend_from_slice(&block[..n]);
        }
        Some(out)
    }

    /// The entries of directory `d` in order, slot index first, unused
    /// slots (inode 0) left out; None if its data cannot be read.
    pub fn entries(&self, d: &Dinode) -> Option<Vec<(usize, Dirent)>> {
        let data = self.read(d)?;
        Some(
            data.chunks_exact(DIRENT_SIZE)
                .enumerate()
                .map(|(i, c)| (i, Dirent::read(c)))
                .filter(|(_, e)| e.inum != 0)
                .collect(),
        )
    }

    /// The inode `path` names, from the root (`/a/b`, or `a/b`): each
    /// component looked up as xv6's `namei` does. None if a component is
    /// missing or not a directory.
    pub fn lookup(&self, path: &str) -> Option<u32> {
        let mut inum = ROOTINO;
        for name in path.split('/').filter(|n| !n.is_empty()) {
            let d = self.inode(inum)?;
            if d.kind != T_DIR {
                return None;
            }
            let (_, e) = self
                .entries(&d)?
                .into_iter()
                .find(|(_, e)| e.is(name.as_bytes()))?;
            inum = u32::from(e.inum);
            if inum >= self.sb.ninodes {
                return None;
            }
        }
        Some(inum)
    }
}

/// Block `b` of `bytes`, if there.
fn block_at(bytes: &[u8], b: u32) -> Option<&[u8]> {
    let at = (b as usize).checked_mul(BSIZE)?;
    bytes.get(at..at.checked_add(BSIZE)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mkfs::{format::T_FILE, mkfs};

    #[test]
    fn files_mkfs_wrote_read_back_whole_through_the_indirect_block() {
        let big: Vec<u8> = (0..(NDIRECT + 3) * BSIZE + 7).map(|i| i as u8).collect();
        let files = vec![
            ("small".to_string(), b"hello".to_vec()),
            ("big".to_string(), big.clone()),
        ];
        let bytes = mkfs(&files).unwrap();
        let img = Image::new(&bytes).unwrap();
        let inum = img.lookup("/big").unwrap();
        let d = img.inode(inum).unwrap();
        assert_eq!(d.kind, T_FILE);
        assert_eq!(img.read(&d).unwrap(), big);
        assert!(img.slots(&d).contains(&(Slot::Indirect, d.addrs[NDIRECT])));
        let small = img.inode(img.lookup("small").unwrap()).unwrap();
        assert_eq!(img.read(&small).unwrap(), b"hello");
        assert_eq!(img.lookup("/"), Some(ROOTINO));
        assert_eq!(img.lookup("/nothere"), None);
        assert_eq!(img.lookup("/small/x"), None, "small is not a directory");
    }
}
