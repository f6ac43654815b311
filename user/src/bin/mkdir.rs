//! mkdir DIR...: make each directory; a line names each one that could
//! not be made (its parent missing, the name taken, the disk full).
#![no_std]
#![no_main]

use ulib::*;

entry!(main);

fn main(args: Args) {
    if args.len() < 2 {
        die!("usage: mkdir dir...");
    }
    for dir in args.rest() {
        if mkdir(dir) < 0 {
            eprintln!("mkdir: cannot create {}", text(dir.to_bytes()));
        }
    }
}
