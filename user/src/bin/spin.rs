//! spin: print `spin: pid N`, then compute forever without a system call:
//! only a timer interrupt takes the CPU from it, and only at such an
//! interrupt does `kill` end it (the kernel's preemption tests).
#![no_std]
#![no_main]

use ulib::*;

entry!(main);

fn main(_args: Args) {
    println!("spin: pid {}", getpid());
    let mut n: u32 = 0;
    loop {
        n = core::hint::black_box(n.wrapping_add(1));
    }
}
