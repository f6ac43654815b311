//! echo: print the arguments, separated by blanks, and a newline.
#![no_std]
#![no_main]

use ulib::*;

entry!(main);

fn main(args: Args) {
    let mut line = alloc::vec::Vec::new();
    for (i, a) in args.rest().enumerate() {
        if i > 0 {
            line.push(b' ');
        }
        line.extend_from_slice(a.to_bytes());
    }
    line.push(b'\n');
    write(1, &line);
}

extern crate alloc;
