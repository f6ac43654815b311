//! bench: what the basic operations cost, read from the time-stamp counter
//! (under QEMU's `-icount shift=0`, guest instructions). The same binary
//! runs on this kernel and on xv6. One line per figure:
//! `bench: NAME COUNT` (COUNT per operation), then `bench: done`. The
//! file-system figures (`fs`) need a writable root; where it is not, each
//! gets a line `bench-skip: NAME (why)` instead.
#![no_std]
#![no_main]

extern crate alloc;

#[path = "bench/fs.rs"]
mod fs;

use ulib::*;

entry!(main);

/// Bytes in a page.
const PG: usize = 4096;
/// Repetitions of the cheap operations.
const MANY: u64 = 1000;
/// Repetitions of the ones that fork (and of the file-system ones).
pub const FEW: u64 = 20;

/// The time-stamp counter.
fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: rdtsc only reads the counter (user mode may, with CR4.TSD clear).
    unsafe { core::arch::asm!("rdtsc", out("eax") lo, out("edx") hi) };
    (u64::from(hi) << 32) | u64::from(lo)
}

/// Counter ticks per run of `f`, over `n` runs.
pub fn per(n: u64, mut f: impl FnMut()) -> u64 {
    let t0 = rdtsc();
    for _ in 0..n {
        f();
    }
    (rdtsc() - t0) / n
}

/// Print one figure.
pub fn report(name: &str, count: u64) {
    println!("bench: {name} {count}");
}

/// Fork a child that runs `child` and exits; wait for it.
fn fork_wait(child: impl FnOnce()) {
    let pid = fork();
    if pid < 0 {
        die!("bench: fork failed");
    }
    if pid == 0 {
        child();
        exit();
    }
    wait();
}

fn main(_: Args) {
    report(
        "getpid",
        per(MANY, || {
            getpid();
        }),
    );
    report("fork_exit_wait", per(FEW, || fork_wait(|| ())));

    // A 16 MiB process, every page written, forked.
    const BIG: usize = 16 << 20;
    let Some(base) = sbrk(BIG as i32) else {
        die!("bench: sbrk of 16 MiB failed");
    };
    for off in (0..BIG).step_by(PG) {
        // SAFETY: just given to us.
        unsafe { ((base + off) as *mut u8).write_volatile(1) };
    }
    report("fork16m_exit_wait", per(FEW, || fork_wait(|| ())));
    sbrk(-(BIG as i32));

    report(
        "fork_exec_echo_wait",
        per(FEW, || {
            fork_wait(|| {
                // echo with no arguments prints an empty line; put it away.
                close(1);
                open(c"/", fcntl::O_RDONLY);
                exec(c"echo", &[c"echo"]);
                exec(c"/echo", &[c"echo"]);
            })
        }),
    );

    report("pipe512_round_trip", pipe_round_trip());

    report(
        "sbrk1m_touch",
        per(FEW, || {
            const M: usize = 1 << 20;
            let Some(base) = sbrk(M as i32) else {
                die!("bench: sbrk of 1 MiB failed");
            };
            for off in (0..M).step_by(PG) {
                // SAFETY: just given to us.
                unsafe { ((base + off) as *mut u8).write_volatile(1) };
            }
            sbrk(-(M as i32));
        }),
    );
    fs::figures();
    println!("bench: done");
}

/// 512 bytes to a child and back, through two pipes.
fn pipe_round_trip() -> u64 {
    const N: usize = 512;
    let (Some([r1, w1]), Some([r2, w2])) = (pipe(), pipe()) else {
        die!("bench: pipe failed");
    };
    let mut buf = [0u8; N];
    let pid = fork();
    if pid == 0 {
        // Echo every block back until the parent closes its end.
        close(w1);
        close(r2);
        loop {
            if !read_full(r1, &mut buf) {
                exit();
            }
            write(w2, &buf);
        }
    }
    let cost = per(MANY / 10, || {
        write(w1, &buf);
        read_full(r2, &mut buf);
    });
    close(w1);
    wait();
    for fd in [r1, r2, w2] {
        close(fd);
    }
    cost
}

/// Fill `buf` from `fd`: false at the end of input.
fn read_full(fd: i32, buf: &mut [u8]) -> bool {
    let mut got = 0;
    while got < buf.len() {
        let n = read(fd, &mut buf[got..]);
        if n <= 0 {
            return false;
        }
        got += n as usize;
    }
    true
}
