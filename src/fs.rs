//! The file system (xv6's `fs.c`); the on-disk format (`fs.h`) is in
//! `format`.

pub mod format;

// A stand-in for the read-only reader (branch r27-fs), with its interface,
// so that processes can be tried before it lands: it reads an xv6 image
// given as the first GRUB module (`--module IMG`). Replaced whole when
// r27-fs is merged.
#[cfg(kernel)]
mod standin {
    use super::format::{
        BSIZE, DINODE_SIZE, DIRENT_SIZE, Dinode, Dirent, NDIRECT, ROOTINO, SUPERBLOCK, SuperBlock,
        T_DIR,
    };
    use spin::Once;

    static DISK: Once<&'static [u8]> = Once::new();

    /// Take the first GRUB module as the disk image.
    pub fn fsinit(boot: &crate::bootinfo::BootInfo) {
        if let Some((start, end)) = boot.modules().next() {
            let va = crate::memlayout::p2v(crate::memlayout::PAddr(start));
            // SAFETY: the module's pages are reserved RAM in the direct map,
            // never freed or written.
            DISK.call_once(|| unsafe {
                core::slice::from_raw_parts(va.0 as *const u8, (end - start) as usize)
            });
        }
    }

    fn block(b: u32) -> &'static [u8] {
        let d = DISK.get().expect("a disk");
        let at = b as usize * BSIZE;
        d.get(at..at + BSIZE).unwrap_or(&[0; BSIZE])
    }

    /// An in-memory inode of the (read-only) file system.
    #[derive(Clone)]
    pub struct Inode {
        inum: u32,
        d: Dinode,
    }

    fn iget(inum: u32) -> Inode {
        let sb = SuperBlock::read(block(SUPERBLOCK));
        Inode {
            inum,
            d: Dinode::read(block(sb.iblock(inum)), inum),
        }
    }

    impl Inode {
        pub fn inum(&self) -> u32 {
            self.inum
        }
        pub fn kind(&self) -> u16 {
            self.d.kind
        }
        pub fn major(&self) -> u16 {
            self.d.major
        }
        pub fn size(&self) -> u32 {
            self.d.size
        }
        fn bmap(&self, bn: usize) -> u32 {
            if bn < NDIRECT {
                return self.d.addrs[bn];
            }
            super::format::word(block(self.d.addrs[NDIRECT]), (bn - NDIRECT) * 4)
        }
        /// Read up to `dst.len()` bytes at `off`; the bytes read.
        pub fn readi(&self, dst: &mut [u8], off: u32) -> usize {
            let size = self.d.size as usize;
            let off = off as usize;
            if off >= size {
                return 0;
            }
            let n = dst.len().min(size - off);
            let mut done = 0;
            while done < n {
                let at = off + done;
                let b = block(self.bmap(at / BSIZE));
                let m = (BSIZE - at % BSIZE).min(n - done);
                dst[done..done + m].copy_from_slice(&b[at % BSIZE..at % BSIZE + m]);
                done += m;
            }
            n
        }
        pub fn stati(&self) -> crate::stat::Stat {
            crate::stat::Stat {
                kind: self.d.kind as i16,
                dev: 1,
                ino: self.inum,
                nlink: self.d.nlink as i16,
                size: self.d.size,
            }
        }
        fn lookup(&self, name: &[u8]) -> Option<Inode> {
            let mut e = [0u8; DIRENT_SIZE];
            let mut off = 0;
            while self.readi(&mut e, off) == DIRENT_SIZE {
                let d = Dirent::read(&e);
                if d.inum != 0 && d.is(name) {
                    return Some(iget(u32::from(d.inum)));
                }
                off += DIRENT_SIZE as u32;
            }
            None
        }
    }

    /// The root directory, if a file system was given.
    pub fn root() -> Option<Inode> {
        DISK.get().map(|_| iget(ROOTINO))
    }

    /// The inode `path` names, from `cwd` unless it starts with '/'.
    pub fn namei(path: &[u8], cwd: &Inode) -> Option<Inode> {
        let mut ip = if path.first() == Some(&b'/') {
            root()?
        } else {
            cwd.clone()
        };
        for name in path.split(|&b| b == b'/').filter(|n| !n.is_empty()) {
            if ip.kind() != T_DIR {
                return None;
            }
            ip = ip.lookup(name)?;
        }
        let _ = DINODE_SIZE;
        Some(ip)
    }
}
#[cfg(kernel)]
pub use standin::{Inode, fsinit, namei, root};
