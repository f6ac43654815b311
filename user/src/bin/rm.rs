//! rm FILE...: remove each name (a file goes once its last name and its
//! last open descriptor are gone); a line names each one that could not be
//! removed (missing, `.` or `..`, a directory that is not empty).
#![no_std]
#![no_main]

use ulib::*;

entry!(main);

fn main(args: Args) {
    if args.len() < 2 {
        die!("usage: rm file...");
    }
    for name in args.rest() {
        if unlink(name) < 0 {
            eprintln!("rm: cannot remove {}", text(name.to_bytes()));
        }
    }
}
