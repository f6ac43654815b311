//! wc: count lines, words and bytes of each named file (or standard input).
#![no_std]
#![no_main]

use ulib::count::Counts;
use ulib::*;

entry!(main);

fn wc(fd: i32, name: &str) {
    let mut counts = Counts::default();
    let mut buf = [0u8; 512];
    loop {
        let n = read(fd, &mut buf);
        if n == 0 {
            break;
        }
        if n < 0 {
            die!("wc: read error");
        }
        counts.feed(&buf[..n as usize]);
    }
    println!(
        "{} {} {} {}",
        counts.lines, counts.words, counts.bytes, name
    );
}

fn main(args: Args) {
    if args.len() <= 1 {
        return wc(0, "");
    }
    for name in args.rest() {
        let fd = open(name, fcntl::O_RDONLY);
        if fd < 0 {
            die!("wc: cannot open {}", text(name.to_bytes()));
        }
        wc(fd, text(name.to_bytes()));
        close(fd);
    }
}
