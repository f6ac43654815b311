//! ls [PATH...]: for each path (default "."), print its name, type, inode
//! number and size; for a directory, those of each entry.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::ffi::CString;
use alloc::vec::Vec;
use core::ffi::CStr;
use ulib::fs::format::DIRSIZ;
use ulib::stat::{Stat, T_DIR};
use ulib::*;

entry!(main);

/// Bytes of a directory entry: inode number (u16) and name.
const DIRENT: usize = 2 + DIRSIZ;

/// One line: the name padded to DIRSIZ, as xv6's ls prints it.
fn show(name: &[u8], st: &Stat) {
    println!(
        "{:<width$} {} {} {}",
        text(name),
        st.kind,
        st.ino,
        st.size,
        width = DIRSIZ
    );
}

/// The last component of a path.
fn base(path: &[u8]) -> &[u8] {
    path.rsplit(|&c| c == b'/')
        .find(|p| !p.is_empty())
        .unwrap_or(path)
}

fn ls(path: &CStr) {
    let fd = open(path, fcntl::O_RDONLY);
    if fd < 0 {
        eprintln!("ls: cannot open {}", text(path.to_bytes()));
        return;
    }
    let Some(st) = fstat(fd) else {
        eprintln!("ls: cannot stat {}", text(path.to_bytes()));
        close(fd);
        return;
    };
    if st.kind != T_DIR as i16 {
        show(base(path.to_bytes()), &st);
        close(fd);
        return;
    }
    let mut de = [0u8; DIRENT];
    while read(fd, &mut de) == DIRENT as i32 {
        if u16::from_le_bytes([de[0], de[1]]) == 0 {
            continue;
        }
        let name = &de[2..];
        let name = &name[..name.iter().position(|&c| c == 0).unwrap_or(DIRSIZ)];
        let mut full = Vec::from(path.to_bytes());
        full.push(b'/');
        full.extend_from_slice(name);
        let Ok(full) = CString::new(full) else {
            continue;
        };
        let efd = open(&full, fcntl::O_RDONLY);
        match (efd >= 0).then(|| fstat(efd)).flatten() {
            Some(est) => show(name, &est),
            None => eprintln!("ls: cannot stat {}", text(full.to_bytes())),
        }
        if efd >= 0 {
            close(efd);
        }
    }
    close(fd);
}

fn main(args: Args) {
    if args.len() < 2 {
        return ls(c".");
    }
    for a in args.rest() {
        ls(a);
    }
}
