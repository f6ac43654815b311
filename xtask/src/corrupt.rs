//! Broken images for the corrupt-image tests (tests/corrupt.rs): each is
//! an image from our mkfs with one thing wrong that a kernel meets at
//! mount or in one system call. The kernel must refuse the image with a
//! line naming the fault, or fail that one call; never panic, never hang.

use crate::fsedit::Editor;
use crate::fsimage::Image;
use crate::mkfs::format::ROOTINO;
use crate::{Result, mkfs};

/// What is broken, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corruption {
    /// The superblock's size is past the image's end.
    SuperblockSize,
    /// README's first block number is past the image's end.
    BlockPastEnd,
    /// /d/e/up names /d again: a directory loop.
    DirectoryLoop,
    /// The log header counts more blocks than the log holds.
    LogCountPastLog,
}

/// How far past the end the broken block number points.
pub const PAST_END_BY: u32 = 4000;

/// `files` (name, bytes) in an image from our mkfs, with `c` done to it;
/// for `DirectoryLoop` the image also holds /d and /d/e.
pub fn image(files: &[(String, Vec<u8>)], c: Corruption) -> Result<Vec<u8>> {
    let mut ed = Editor::new(mkfs::mkfs(files)?);
    match c {
        Corruption::SuperblockSize => {
            ed.sb.size = ed.blocks() + 1;
            ed.write_superblock();
        }
        Corruption::BlockPastEnd => {
            let inum = Image::new(&ed.bytes)
                .and_then(|i| i.lookup("README"))
                .ok_or_else(|| crate::Error::new("the image has no README to break"))?;
            let past = ed.sb.size + PAST_END_BY;
            ed.edit_inode(inum, |d| d.addrs[0] = past);
        }
        Corruption::DirectoryLoop => {
            let d = ed.mkdir(ROOTINO, "d");
            let e = ed.mkdir(d, "e");
            ed.link(e, "up", d);
        }
        Corruption::LogCountPastLog => {
            let head = ed.sb.logstart;
            let n = ed.sb.nlog + 1;
            ed.put_word(head, 0, n);
        }
    }
    Ok(ed.bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsck::{Problem, fsck};

    #[test]
    fn fsck_finds_each_corruption() {
        let files = vec![("README".to_string(), b"readme\n".to_vec())];
        let base = mkfs::mkfs(&files).unwrap();
        let sb = Image::new(&base).unwrap().sb;
        let found = |c| fsck(&image(&files, c).unwrap());
        assert!(matches!(
            &found(Corruption::SuperblockSize)[..],
            [Problem::Superblock(_)]
        ));
        assert!(found(Corruption::BlockPastEnd).iter().any(
            |p| matches!(p, Problem::BlockPastEnd { block, .. } if *block == sb.size + PAST_END_BY)
        ));
        assert!(
            found(Corruption::DirectoryLoop)
                .iter()
                .any(|p| matches!(p, Problem::ReachedTwice { second, .. } if second == "/d/e/up"))
        );
        assert!(
            found(Corruption::LogCountPastLog)
                .iter()
                .any(|p| matches!(p, Problem::LogCountPastLog { .. }))
        );
    }
}
