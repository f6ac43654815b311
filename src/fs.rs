//! The file system (xv6's `fs.c`); the on-disk format (`fs.h`) is in
//! `format`.

pub mod format;
