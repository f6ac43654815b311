//! cat: copy each named file (or standard input) to standard output.
#![no_std]
#![no_main]

use ulib::*;

entry!(main);

fn cat(fd: i32) {
    let mut buf = [0u8; 512];
    loop {
        let n = read(fd, &mut buf);
        if n == 0 {
            return;
        }
        if n < 0 {
            die!("cat: read error");
        }
        if write(1, &buf[..n as usize]) != n {
            die!("cat: write error");
        }
    }
}

fn main(args: Args) {
    if args.len() <= 1 {
        return cat(0);
    }
    for name in args.rest() {
        let fd = open(name, fcntl::O_RDONLY);
        if fd < 0 {
            die!("cat: cannot open {}", text(name.to_bytes()));
        }
        cat(fd);
        close(fd);
    }
}
