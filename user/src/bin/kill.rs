//! kill PID...: ask each process to die.
#![no_std]
#![no_main]

use ulib::args::atoi;
use ulib::*;

entry!(main);

fn main(args: Args) {
    if args.len() < 2 {
        die!("usage: kill pid...");
    }
    for a in args.rest() {
        let Some(pid) = atoi(a.to_bytes()) else {
            die!("kill: {} is not a pid", text(a.to_bytes()));
        };
        if kill(pid) < 0 {
            eprintln!("kill: no process {pid}");
        }
    }
}
