//! crashload: the crash sweep's workload (`ulib::workload::SCRIPT`):
//! directories, files written block by block (one through its indirect
//! block), links and unlinks, one call at a time. After each call
//! returns it prints its line, so every line on the console is a call
//! the file system has committed; the host checks a recovered image
//! against the lines it saw before the power went.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::ffi::CString;
use alloc::vec::Vec;

use ulib::workload::{DONE, Op, SCRIPT, WRITE_MAX, pattern};
use ulib::*;

entry!(main);

fn c(path: &str) -> CString {
    CString::new(path).unwrap_or_else(|_| die!("crashload: {path} holds a NUL"))
}

fn main(_args: Args) {
    // The descriptor of each file created and not closed yet (a single
    // process: each call's commit ends before it returns).
    let mut open_files: Vec<(&str, i32)> = Vec::new();
    let mut buf = [0u8; WRITE_MAX as usize];
    for op in SCRIPT {
        let ok = match op {
            Op::Mkdir(p) => mkdir(&c(p)) == 0,
            Op::Create(p) => {
                let fd = open(&c(p), fcntl::O_CREATE | fcntl::O_RDWR);
                open_files.push((p, fd));
                fd >= 0
            }
            Op::Write { path, off, len } => {
                let fd = open_files
                    .iter()
                    .find(|(p, _)| *p == path)
                    .map_or(-1, |&(_, fd)| fd);
                let data = &mut buf[..len as usize];
                for (i, b) in data.iter_mut().enumerate() {
                    *b = pattern(path, off + i as u32);
                }
                write(fd, data) == len as i32
            }
            Op::Close(path) => match open_files.iter().position(|(p, _)| *p == path) {
                Some(i) => close(open_files.swap_remove(i).1) == 0,
                None => false,
            },
            Op::Link { old, new } => link(&c(old), &c(new)) == 0,
            Op::Unlink(p) => unlink(&c(p)) == 0,
        };
        if !ok {
            die!("crashload: this call failed: {}", op);
        }
        println!("{}", op);
    }
    println!("{}", DONE);
}
