//! The file-system figures: a small file's life (create, write 4 KiB,
//! close, unlink), a MiB written and read back, and listing a directory of
//! 100 entries as `ls` does (read the entries, open and fstat each).
//!
//! A 1 MiB file cannot exist in xv6's format (MAXFILE blocks, 70 KiB) nor
//! fit its 1,000-block disk, so the MiB goes through files of 64 KiB
//! written one after the other, each read back and removed.

use alloc::ffi::CString;
use alloc::format;
use alloc::vec::Vec;
use core::ffi::CStr;
use ulib::fcntl::{O_CREATE, O_RDONLY, O_RDWR, O_WRONLY};
use ulib::format::{DIRENT_SIZE, Dirent};
use ulib::*;

use super::{FEW, per, report};

/// The figures, in their order.
pub const NAMES: [&str; 3] = ["create4k_unlink", "write1m_read1m", "ls_dir100"];
/// Bytes a write (and a read) moves.
const CHUNK: usize = 4096;
/// Bytes in the MiB.
const MIB: usize = 1 << 20;
/// Bytes of each file the MiB goes through.
const PIECE: usize = 64 * 1024;
/// Entries of the listed directory (besides `.` and `..`).
const ENTRIES: usize = 100;
/// The listed directory.
const DIR: &CStr = c"benchdir";
/// The file the first two figures make.
const FILE: &CStr = c"benchfile";

/// Run and print each figure, or skip them all (one line each) when this
/// root cannot be written.
pub fn figures() {
    if let Err(why) = writable() {
        for name in NAMES {
            println!("bench-skip: {name} ({why})");
        }
        return;
    }
    // On the heap: xv6 gives a program one page of stack.
    let block = alloc::vec![0x5au8; CHUNK];
    report(
        NAMES[0],
        per(FEW, || {
            let fd = open(FILE, O_CREATE | O_RDWR);
            if fd < 0 || write(fd, &block) != CHUNK as i32 {
                die!("bench: {}: cannot create and write {FILE:?}", NAMES[0]);
            }
            close(fd);
            unlink(FILE);
        }),
    );
    report(NAMES[1], per(1, || write_read_mib(&block)));
    make_dir();
    report(NAMES[2], per(FEW, list_dir));
    remove_dir();
}

/// Whether a file can be made and written here; Err says why not.
fn writable() -> Result<(), &'static str> {
    let fd = open(FILE, O_CREATE | O_RDWR);
    if fd < 0 {
        return Err("cannot create a file here");
    }
    let n = write(fd, b"x");
    close(fd);
    unlink(FILE);
    if n == 1 {
        Ok(())
    } else {
        Err("cannot write a file here")
    }
}

/// A MiB written, then read back, through files of PIECE bytes.
fn write_read_mib(block: &[u8]) {
    let mut buf = alloc::vec![0u8; CHUNK];
    for _ in 0..MIB / PIECE {
        let fd = open(FILE, O_CREATE | O_WRONLY);
        for _ in 0..PIECE / CHUNK {
            if write(fd, block) != CHUNK as i32 {
                die!("bench: {}: a write failed", NAMES[1]);
            }
        }
        close(fd);
        let fd = open(FILE, O_RDONLY);
        for _ in 0..PIECE / CHUNK {
            if read(fd, &mut buf) != CHUNK as i32 {
                die!("bench: {}: a read came short", NAMES[1]);
            }
        }
        close(fd);
        unlink(FILE);
    }
}

/// The path of entry `i` of DIR.
fn entry(i: usize) -> CString {
    CString::new(format!("{}/f{i}", DIR.to_str().unwrap_or("?"))).unwrap_or_default()
}

/// DIR with ENTRIES empty files.
fn make_dir() {
    if mkdir(DIR) < 0 {
        die!("bench: {}: cannot make {DIR:?}", NAMES[2]);
    }
    for i in 0..ENTRIES {
        let fd = open(&entry(i), O_CREATE | O_RDWR);
        if fd < 0 {
            die!("bench: {}: cannot create entry {i}", NAMES[2]);
        }
        close(fd);
    }
}

/// Remove DIR and its entries.
fn remove_dir() {
    for i in 0..ENTRIES {
        unlink(&entry(i));
    }
    unlink(DIR);
}

/// List DIR as `ls` does: read each entry, then open, fstat and close
/// what it names.
fn list_dir() {
    let fd = open(DIR, O_RDONLY);
    let mut de = [0u8; DIRENT_SIZE];
    let mut seen = 0;
    let mut path: Vec<u8> = Vec::new();
    while read(fd, &mut de) == DIRENT_SIZE as i32 {
        let d = Dirent::read(&de);
        if d.inum == 0 {
            continue;
        }
        path.clear();
        path.extend_from_slice(DIR.to_bytes());
        path.push(b'/');
        path.extend_from_slice(d.name());
        path.push(0);
        let Ok(name) = CStr::from_bytes_with_nul(&path) else {
            continue;
        };
        let efd = open(name, O_RDONLY);
        if efd >= 0 && fstat(efd).is_some() {
            seen += 1;
        }
        close(efd);
    }
    close(fd);
    // The entries, `.` and `..`.
    if seen != ENTRIES + 2 {
        die!(
            "bench: {}: listed {seen} entries, want {}",
            NAMES[2],
            ENTRIES + 2
        );
    }
}
