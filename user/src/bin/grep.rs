//! grep PATTERN [FILE...]: print the lines that match (see ulib::regex).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use ulib::regex::matches;
use ulib::*;

entry!(main);

fn grep(pattern: &[u8], fd: i32) {
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let n = read(fd, &mut buf);
        if n < 0 {
            die!("grep: read error");
        }
        if n == 0 {
            break;
        }
        pending.extend_from_slice(&buf[..n as usize]);
        // Print the whole lines that match; keep the unfinished one.
        let mut start = 0;
        while let Some(nl) = pending[start..].iter().position(|&c| c == b'\n') {
            let line = &pending[start..start + nl + 1];
            if matches(pattern, &line[..nl]) {
                write(1, line);
            }
            start += nl + 1;
        }
        pending.drain(..start);
    }
    if !pending.is_empty() && matches(pattern, &pending) {
        pending.push(b'\n');
        write(1, &pending);
    }
}

fn main(args: Args) {
    if args.len() < 2 {
        die!("usage: grep pattern [file ...]");
    }
    let pattern = args.bytes(1);
    if args.len() == 2 {
        return grep(pattern, 0);
    }
    for name in args.rest().skip(1) {
        let fd = open(name, fcntl::O_RDONLY);
        if fd < 0 {
            die!("grep: cannot open {}", text(name.to_bytes()));
        }
        grep(pattern, fd);
        close(fd);
    }
}
