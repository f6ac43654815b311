//! The on-disk format, as xv6's `fs.h` (and the sizes `mkfs.c` and
//! `param.h` fix): the kernel's reader, the runner's `mkfs` and the tests
//! all take the layout from here, so an image made by either `mkfs` reads
//! the same in both kernels.
//!
//! ```text
//! block  0      1      2 .. 2+nlog  inodestart ..  bmapstart  data ..
//!      [boot][super][   log    ][   inodes   ][bitmap][  data blocks  ]
//! ```
//!
//! Every number on disk is little-endian; structures are read and written
//! through byte slices, never by casting a pointer.

/// Bytes per block.
pub const BSIZE: usize = 512;
/// The block holding the superblock (block 0 is left for a boot sector).
pub const SUPERBLOCK: u32 = 1;
/// Blocks in an image the runner's `mkfs` makes, at least (`param.h`'s
/// FSSIZE, as xv6's: the RAM disk is a GRUB module, and a larger one no
/// longer loads in the least memory the runner boots with).
pub const FSSIZE: u32 = 1000;
/// Free blocks the runner's `mkfs` leaves at least, growing the image
/// past FSSIZE if the files need it: room for what programs write (two
/// files of MAXFILE blocks and more).
pub const MKFS_FREE_BLOCKS: u32 = 300;
const _: () = assert!(
    FSSIZE as usize <= BPB,
    "one bitmap block covers an FSSIZE image"
);
/// Blocks in the log (`param.h`'s LOGSIZE; kernel and mkfs must agree).
pub const LOGSIZE: u32 = 30;

/// Inodes in an image `mkfs` makes (as xv6's).
pub const NINODES: u32 = 200;
/// The root directory's inode number.
pub const ROOTINO: u32 = 1;
/// Block numbers held in the inode itself.
pub const NDIRECT: usize = 12;
/// Block numbers held in the one indirect block.
pub const NINDIRECT: usize = BSIZE / 4;
/// The most blocks one file can have.
pub const MAXFILE: usize = NDIRECT + NINDIRECT;
/// Bytes of a name in a directory entry (not NUL-terminated when full).
pub const DIRSIZ: usize = 14;

/// Inode types (`stat.h`'s T_DIR, T_FILE, T_DEV); 0 is a free inode.
pub const T_DIR: u16 = 1;
pub const T_FILE: u16 = 2;
pub const T_DEV: u16 = 3;

/// The superblock: where each region of the image starts and how big it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SuperBlock {
    /// Blocks in the whole image.
    pub size: u32,
    /// Data blocks.
    pub nblocks: u32,
    /// Inodes.
    pub ninodes: u32,
    /// Log blocks.
    pub nlog: u32,
    /// First log block.
    pub logstart: u32,
    /// First inode block.
    pub inodestart: u32,
    /// First free-bitmap block.
    pub bmapstart: u32,
}

/// Bytes of a superblock on disk (seven words).
pub const SUPERBLOCK_SIZE: usize = 7 * 4;

impl SuperBlock {
    /// The superblock at the start of `block`.
    pub fn read(block: &[u8]) -> SuperBlock {
        let w = |i: usize| word(block, 4 * i);
        SuperBlock {
            size: w(0),
            nblocks: w(1),
            ninodes: w(2),
            nlog: w(3),
            logstart: w(4),
            inodestart: w(5),
            bmapstart: w(6),
        }
    }

    /// Write it at the start of `block`.
    pub fn write(&self, block: &mut [u8]) {
        let words = [
            self.size,
            self.nblocks,
            self.ninodes,
            self.nlog,
            self.logstart,
            self.inodestart,
            self.bmapstart,
        ];
        for (i, w) in words.into_iter().enumerate() {
            put_word(block, 4 * i, w);
        }
    }

    /// The block holding inode `inum` (xv6's IBLOCK).
    pub fn iblock(&self, inum: u32) -> u32 {
        inum / IPB as u32 + self.inodestart
    }

    /// The bitmap block holding block `b`'s bit (xv6's BBLOCK).
    pub fn bblock(&self, b: u32) -> u32 {
        b / BPB as u32 + self.bmapstart
    }
}

/// An inode on disk (xv6's `struct dinode`, 64 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dinode {
    /// T_DIR, T_FILE, T_DEV, or 0 if free.
    pub kind: u16,
    /// Device numbers (T_DEV only).
    pub major: u16,
    pub minor: u16,
    /// Directory entries naming it.
    pub nlink: u16,
    /// Bytes of data.
    pub size: u32,
    /// NDIRECT data block numbers, then the indirect block's.
    pub addrs: [u32; NDIRECT + 1],
}

/// Bytes of a `Dinode` on disk.
pub const DINODE_SIZE: usize = 64;
/// Inodes per block.
pub const IPB: usize = BSIZE / DINODE_SIZE;
/// Bitmap bits per block.
pub const BPB: usize = BSIZE * 8;

impl Dinode {
    /// Inode `inum`, from the block that holds it (`SuperBlock::iblock`).
    pub fn read(block: &[u8], inum: u32) -> Dinode {
        let at = (inum as usize % IPB) * DINODE_SIZE;
        let d = &block[at..at + DINODE_SIZE];
        let mut addrs = [0; NDIRECT + 1];
        for (i, a) in addrs.iter_mut().enumerate() {
            *a = word(d, 12 + 4 * i);
        }
        Dinode {
            kind: half(d, 0),
            major: half(d, 2),
            minor: half(d, 4),
            nlink: half(d, 6),
            size: word(d, 8),
            addrs,
        }
    }

    /// Write inode `inum` into the block that holds it.
    pub fn write(&self, block: &mut [u8], inum: u32) {
        let at = (inum as usize % IPB) * DINODE_SIZE;
        let d = &mut block[at..at + DINODE_SIZE];
        put_half(d, 0, self.kind);
        put_half(d, 2, self.major);
        put_half(d, 4, self.minor);
        put_half(d, 6, self.nlink);
        put_word(d, 8, self.size);
        for (i, a) in self.addrs.iter().enumerate() {
            put_word(d, 12 + 4 * i, *a);
        }
    }
}

/// A directory entry (xv6's `struct dirent`): an inode number (0: unused
/// slot) and a name of up to DIRSIZ bytes, NUL-padded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dirent {
    pub inum: u16,
    pub name: [u8; DIRSIZ],
}

/// Bytes of a `Dirent` on disk.
pub const DIRENT_SIZE: usize = 2 + DIRSIZ;

impl Dirent {
    /// An entry naming `inum` as `name` (cut to DIRSIZ bytes, as xv6 does).
    pub fn new(inum: u16, name: &[u8]) -> Dirent {
        let mut d = Dirent {
            inum,
            name: [0; DIRSIZ],
        };
        let n = name.len().min(DIRSIZ);
        d.name[..n].copy_from_slice(&name[..n]);
        d
    }

    /// The entry in the DIRENT_SIZE bytes `b`.
    pub fn read(b: &[u8]) -> Dirent {
        let mut name = [0; DIRSIZ];
        name.copy_from_slice(&b[2..DIRENT_SIZE]);
        Dirent {
            inum: half(b, 0),
            name,
        }
    }

    /// Its DIRENT_SIZE bytes.
    pub fn bytes(&self) -> [u8; DIRENT_SIZE] {
        let mut b = [0; DIRENT_SIZE];
        put_half(&mut b, 0, self.inum);
        b[2..].copy_from_slice(&self.name);
        b
    }

    /// The name without its NUL padding.
    pub fn name(&self) -> &[u8] {
        let n = self.name.iter().position(|&c| c == 0).unwrap_or(DIRSIZ);
        &self.name[..n]
    }

    /// Does it name `name`? Compared as xv6's `namecmp`: the first DIRSIZ
    /// bytes only.
    pub fn is(&self, name: &[u8]) -> bool {
        self.name() == &name[..name.len().min(DIRSIZ)]
    }
}

/// The little-endian word at byte `at`.
pub fn word(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn half(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

/// Store `w` little-endian at byte `at`.
pub fn put_word(b: &mut [u8], at: usize, w: u32) {
    b[at..at + 4].copy_from_slice(&w.to_le_bytes());
}

fn put_half(b: &mut [u8], at: usize, h: u16) {
    b[at..at + 2].copy_from_slice(&h.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dinode_round_trips_through_its_block_slot() {
        let mut block = [0u8; BSIZE];
        let mut d = Dinode {
            kind: T_FILE,
            major: 0,
            minor: 0,
            nlink: 1,
            size: 1234,
            addrs: [0; NDIRECT + 1],
        };
        d.addrs[0] = 59;
        d.addrs[NDIRECT] = 77;
        d.write(&mut block, 9); // inode 9 is the second in its block
        assert_eq!(Dinode::read(&block, 9), d);
        assert_eq!(
            word(&block, DINODE_SIZE + 8),
            1234,
            "size at byte 8 of slot 1"
        );
        assert_eq!(
            Dinode::read(&block, 8),
            Dinode::default(),
            "slot 0 untouched"
        );
    }

    #[test]
    fn a_dirent_compares_names_as_xv6_does() {
        let d = Dirent::new(3, b"averyverylongname");
        assert_eq!(d.name(), b"averyverylongn");
        assert!(
            d.is(b"averyverylongname"),
            "only the first DIRSIZ bytes count"
        );
        assert!(!Dirent::new(3, b"ls").is(b"l"));
        assert_eq!(Dirent::read(&d.bytes()), d);
    }

    #[test]
    fn the_superblock_locates_inodes_and_bitmap_bits() {
        let sb = SuperBlock {
            size: FSSIZE,
            nblocks: 941,
            ninodes: NINODES,
            nlog: LOGSIZE,
            logstart: 2,
            inodestart: 32,
            bmapstart: 58,
        };
        let mut block = [0u8; BSIZE];
        sb.write(&mut block);
        assert_eq!(SuperBlock::read(&block), sb);
        assert_eq!(sb.iblock(1), 32);
        assert_eq!(sb.iblock(17), 34);
        assert_eq!(sb.bblock(999), 58);
    }
}
