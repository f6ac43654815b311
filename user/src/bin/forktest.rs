//! forktest: fork until the process table is full, then reap every child.
//! A kernel whose fork never fails (no bound on processes) fails this.
#![no_std]
#![no_main]

use ulib::*;

entry!(main);

/// More forks than any process table holds (xv6 gives up at NPROC).
const N: usize = 1000;

fn main(_: Args) {
    println!("fork test");
    let mut n = 0;
    while n < N {
        let pid = fork();
        if pid < 0 {
            break;
        }
        if pid == 0 {
            exit();
        }
        n += 1;
    }
    if n == N {
        die!("fork claimed to work {N} times!");
    }
    for _ in 0..n {
        if wait() < 0 {
            die!("wait stopped early");
        }
    }
    if wait() != -1 {
        die!("wait got too many");
    }
    println!("fork test OK");
}
