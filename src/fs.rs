//! The file system (xv6's `fs.c`); the on-disk format (`fs.h`) is in
//! `format`.

pub mod format;

// A stand-in for the read-only reader (branch r27-fs), with its interface:
// no file system is ever present here, so the kernel boots into the
// monitor. Replaced whole when r27-fs is merged.
#[cfg(kernel)]
mod standin {
    /// An in-memory inode of the (read-only) file system.
    #[derive(Clone)]
    pub struct Inode {
        _none: core::convert::Infallible,
    }

    impl Inode {
        pub fn inum(&self) -> u32 {
            match self._none {}
        }
        pub fn kind(&self) -> u16 {
            match self._none {}
        }
        pub fn major(&self) -> u16 {
            match self._none {}
        }
        pub fn size(&self) -> u32 {
            match self._none {}
        }
        /// Read up to `dst.len()` bytes at `off`; the bytes read.
        pub fn readi(&self, _dst: &mut [u8], _off: u32) -> usize {
            match self._none {}
        }
        pub fn stati(&self) -> crate::stat::Stat {
            match self._none {}
        }
    }

    /// The root directory, if a file system was given.
    pub fn root() -> Option<Inode> {
        None
    }

    /// The inode `path` names, from `cwd` unless it starts with '/'.
    pub fn namei(_path: &[u8], _cwd: &Inode) -> Option<Inode> {
        None
    }
}
#[cfg(kernel)]
pub use standin::{Inode, namei, root};
