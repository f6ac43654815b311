//! usertests: the project's own tests of processes, memory and pipes, of
//! hostile programs (each must fail or kill only itself), and of the file
//! system (`fs`). Every test runs in a child; it passes if the child
//! reports success through a pipe before exiting (a killed child reports
//! nothing); a failure prints what went wrong, with the values. The last
//! line is `usertests: ALL TESTS PASSED` or says how many failed.
#![no_std]
#![no_main]

extern crate alloc;

#[path = "usertests/fs.rs"]
mod fs;

use alloc::format;
use alloc::string::String;
use core::fmt::Debug;
use ulib::param::MAXARG;
use ulib::raw::*;
use ulib::*;

entry!(main);

/// Bytes in a page.
const PG: usize = 4096;
/// Where the kernel's half of every address space starts (xv6's KERNBASE).
const KERNBASE: usize = 0x8000_0000;
/// Bytes a pipe holds (xv6's PIPESIZE).
const PIPESIZE: usize = 512;
/// A number no kernel gives a system call.
const NO_SUCH_CALL: u32 = 999;

/// How a test ends: Err says what went wrong, with the values.
type Outcome = Result<(), String>;

/// Fail with `why` unless `ok`.
fn check(ok: bool, why: &str) -> Outcome {
    if ok { Ok(()) } else { Err(why.into()) }
}

/// Fail unless `got` is `want`, saying `what` and both values.
fn expect<T: PartialEq + Debug>(got: T, want: T, what: &str) -> Outcome {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}"))
    }
}

/// A test: its name and its body.
type Test = (&'static str, fn() -> Outcome);

const TESTS: &[Test] = &[
    ("fork_wait", fork_wait),
    ("fork_bounded", fork_bounded),
    ("kill_running", kill_running),
    ("orphans_are_not_ours", orphans_are_not_ours),
    ("fd_table", fd_table),
    ("sleep_ticks", sleep_ticks),
    ("sbrk_grow_shrink", sbrk_grow_shrink),
    ("fork_big_memory", fork_big_memory),
    ("kernel_read_kills", || dies(|| touch(KERNBASE, false))),
    ("kernel_write_kills", || {
        dies(|| touch(KERNBASE + 0x10_0000, true))
    }),
    ("past_end_kills", || {
        dies(|| touch(beyond() + 4 * PG, false))
    }),
    ("pipe_data", pipe_data),
    ("pipe_eof_and_broken", pipe_eof_and_broken),
    ("wild_arguments", wild_arguments),
    ("int_3_kills", || dies(int_vector::<3>)),
    ("int_65_kills", || dies(int_vector::<65>)),
    ("int_0x80_kills", || dies(int_vector::<0x80>)),
    ("int_255_kills", || dies(int_vector::<255>)),
    ("port_in_kills", || dies(port_in)),
    ("port_out_kills", || dies(port_out)),
    ("exec_garbage", exec_garbage),
    ("fork_bomb", fork_bomb),
    ("sbrk_until_out", sbrk_until_out),
    ("ten_hogs", ten_hogs),
    ("fs_files", fs::files),
    ("fs_open_modes", fs::open_modes),
    ("fs_dirs", fs::dirs),
    ("fs_links", fs::links),
    ("fs_big_file", fs::big_file),
    ("fs_open_after_unlink", fs::open_after_unlink),
    ("fs_full_disk", fs::full_disk),
];

/// Tests only this kernel runs (the C xv6 panics instead of failing the
/// call), each with why.
const OURS_ONLY: &[(&str, &str)] =
    &[("fs_full_disk", "xv6 panics in balloc when the disk is full")];

fn main(_: Args) {
    println!("usertests starting");
    let free = freepages();
    let mut failed = 0;
    for (name, test) in TESTS {
        // freepages is this kernel's own call: -1 says it is xv6.
        if let Some((_, why)) = OURS_ONLY.iter().find(|t| t.0 == *name && free < 0) {
            println!("{name}: skipped ({why})");
            continue;
        }
        if run(name, *test) {
            println!("{name}: ok");
        } else {
            println!("{name}: FAILED");
            failed += 1;
        }
    }
    // This kernel's own call (-1 on xv6): every page comes back.
    if free >= 0 && freepages() != free {
        println!("free pages: {} before, {} after: FAILED", free, freepages());
        failed += 1;
    }
    if failed == 0 {
        println!("usertests: ALL TESTS PASSED");
    } else {
        println!("usertests: {failed} FAILED");
    }
}

/// Run `test` in a child: whether it reported success.
fn run(name: &str, test: fn() -> Outcome) -> bool {
    let Some([r, w]) = pipe() else {
        die!("{name}: pipe failed");
    };
    let pid = fork();
    if pid < 0 {
        die!("{name}: fork failed");
    }
    if pid == 0 {
        close(r);
        match test() {
            Ok(()) => {
                write(w, b"y");
            }
            Err(why) => println!("{name}: {why}"),
        }
        exit();
    }
    close(w);
    let reaped = wait();
    let mut b = [0u8];
    let ok = read(r, &mut b) == 1;
    close(r);
    ok && reaped == pid
}

/// Whether `f`, run in a child, kills it (it must not come back).
fn dies(f: fn()) -> Outcome {
    let Some([r, w]) = pipe() else {
        return Err("pipe failed".into());
    };
    let pid = fork();
    if pid == 0 {
        close(r);
        f();
        write(w, b"survived");
        exit();
    }
    close(w);
    check(pid > 0, "fork failed")?;
    check(wait() == pid, "wait did not return the child")?;
    let mut b = [0u8];
    check(read(r, &mut b) == 0, "the child survived")
}

/// Read or write the byte at `addr`.
fn touch(addr: usize, write: bool) {
    let p = addr as *mut u8;
    // SAFETY: not safe at all: the point is that the kernel kills us.
    unsafe {
        if write {
            p.write_volatile(1);
        } else {
            p.read_volatile();
        }
    }
}

/// The end of this process's memory.
fn top() -> usize {
    sbrk(0).unwrap_or(0)
}

/// The first page boundary at or above the end: nothing is mapped there.
fn beyond() -> usize {
    top().next_multiple_of(PG)
}

fn fork_wait() -> Outcome {
    let me = getpid();
    let mut pids = [0i32; 10];
    for p in pids.iter_mut() {
        *p = fork();
        if *p == 0 {
            if getpid() == me {
                println!("child has its parent's pid");
                // Stay alive: the parent sees no exit and fails.
            }
            exit();
        }
        check(*p > 0 && *p != me, "fork failed")?;
    }
    for _ in pids {
        let w = wait();
        check(pids.contains(&w), "wait returned a stranger")?;
    }
    check(wait() == -1, "wait without children did not fail")
}

fn fork_bounded() -> Outcome {
    let mut n = 0;
    loop {
        match fork() {
            0 => {
                sleep(1);
                exit();
            }
            pid if pid < 0 => break,
            _ => n += 1,
        }
        check(n < 1000, "fork never fails: the process table is unbounded")?;
    }
    for _ in 0..n {
        check(wait() > 0, "a child went missing")?;
    }
    check(n > 0, "not one fork succeeded")?;
    let pid = fork();
    if pid == 0 {
        exit();
    }
    check(
        pid > 0 && wait() == pid,
        "fork fails after the table emptied",
    )
}

fn kill_running() -> Outcome {
    let pid = fork();
    if pid == 0 {
        #[allow(clippy::empty_loop)]
        loop {}
    }
    check(pid > 0, "fork failed")?;
    sleep(1);
    check(kill(pid) == 0, "kill failed")?;
    check(wait() == pid, "the killed child was not reaped")?;
    check(kill(pid) == -1, "kill of a dead process succeeded")
}

/// A grandchild left behind when its parent exits goes to init: our
/// wait does not return it.
fn orphans_are_not_ours() -> Outcome {
    let pid = fork();
    if pid == 0 {
        if fork() == 0 {
            sleep(5);
        }
        exit();
    }
    check(pid > 0, "fork failed")?;
    check(wait() == pid, "wait did not return the child")?;
    check(wait() == -1, "wait returned a grandchild")
}

/// Descriptors: dup takes the lowest free one, up to NOFILE; close frees
/// it, and closing it again fails; the console is a device.
fn fd_table() -> Outcome {
    use ulib::param::NOFILE;
    use ulib::stat::T_DEV;
    // Lowest free first: each dup above the last, the last at the top
    // of the table, then failure.
    let (mut prev, mut dups) = (1, 0);
    loop {
        let fd = dup(1);
        if fd < 0 {
            break;
        }
        check(fd > prev, "dup did not take the lowest free descriptor")?;
        prev = fd;
        dups += 1;
        check(dups <= NOFILE, "dup never fails")?;
    }
    check(prev == NOFILE as i32 - 1, "the table does not hold NOFILE")?;
    let last = NOFILE as i32 - 1;
    check(close(last) == 0, "close of a dup failed")?;
    check(close(last) == -1, "a second close succeeded")?;
    check(
        dup(1) == last,
        "dup did not take the lowest free descriptor",
    )?;
    // A console that fstat describes is a device (a kernel may give init
    // a console that is no inode, which fstat cannot describe).
    match fstat(1) {
        Some(st) => check(st.kind == T_DEV as i16, "the console is not a device"),
        None => Ok(()),
    }
}

fn sleep_ticks() -> Outcome {
    let t0 = uptime();
    sleep(3);
    check(uptime() - t0 >= 3, "sleep(3) slept less than 3 ticks")
}

fn sbrk_grow_shrink() -> Outcome {
    const N: usize = 64 * PG;
    let base = sbrk(N as i32).ok_or("sbrk failed")?;
    check(base == top() - N, "sbrk returned the wrong old end")?;
    let mem = base as *mut u8;
    for i in (0..N).step_by(PG / 4) {
        // SAFETY: base..base+N was just given to us.
        unsafe {
            check(mem.add(i).read_volatile() == 0, "new memory is not zeroed")?;
            mem.add(i).write_volatile(0xa5);
        }
    }
    check(sbrk(-(N as i32)) == Some(base + N), "shrinking failed")?;
    check(top() == base, "the end did not move back")?;
    check(sbrk(N as i32) == Some(base), "regrowing failed")?;
    for i in (0..N).step_by(PG / 4) {
        // SAFETY: regrown just now.
        let b = unsafe { mem.add(i).read_volatile() };
        check(b == 0, "regrown memory kept old data")?;
    }
    sbrk(-(N as i32));
    // Wild sizes change nothing (xv6 refuses the growth and ignores the
    // shrink below zero).
    let end = top();
    check(sbrk(i32::MAX).is_none(), "sbrk of 2 GiB succeeded")?;
    sbrk(i32::MIN);
    check(top() == end, "a wild sbrk moved the end")?;
    dies(|| touch(beyond() + PG / 2, false))
}

fn fork_big_memory() -> Outcome {
    const N: usize = 4 * 1024 * 1024;
    let base = sbrk(N as i32).ok_or("sbrk 4 MiB failed")?;
    let mem = base as *mut u32;
    let word = |i: usize| (i * 2654435761) as u32;
    for i in (0..N / 4).step_by(64) {
        // SAFETY: ours since the sbrk.
        unsafe { mem.add(i).write_volatile(word(i)) };
    }
    let Some([r, w]) = pipe() else {
        return Err("pipe failed".into());
    };
    let pid = fork();
    if pid == 0 {
        // The child sees the parent's data, then overwrites its copy.
        let mut same = true;
        for i in (0..N / 4).step_by(64) {
            // SAFETY: the child's copy of the parent's memory.
            unsafe {
                same &= mem.add(i).read_volatile() == word(i);
                mem.add(i).write_volatile(0);
            }
        }
        write(w, if same { b"y" } else { b"n" });
        exit();
    }
    check(pid > 0, "fork of 4 MiB failed")?;
    close(w);
    let mut b = [0u8];
    let said = read(r, &mut b);
    // Reap the child before any check: in the least memory the kernel may
    // kill it for want of a private copy, and until it is reaped its pages
    // are not free, so even a failure's message could find no heap.
    let reaped = wait();
    check(said == 1 && b[0] == b'y', "the child saw other data")?;
    check(reaped == pid, "wait failed")?;
    for i in (0..N / 4).step_by(64) {
        // SAFETY: ours.
        let v = unsafe { mem.add(i).read_volatile() };
        check(v == word(i), "the child's writes reached the parent")?;
    }
    Ok(())
}

fn pipe_data() -> Outcome {
    const TOTAL: usize = 5 * 1033;
    let Some([r, w]) = pipe() else {
        return Err("pipe failed".into());
    };
    let pid = fork();
    if pid == 0 {
        close(r);
        let mut seq = 0u8;
        let mut sent = 0;
        let mut chunk = [0u8; 1033];
        while sent < TOTAL {
            for b in chunk.iter_mut() {
                *b = seq;
                seq = seq.wrapping_add(1);
            }
            write(w, &chunk);
            sent += chunk.len();
        }
        exit();
    }
    check(pid > 0, "fork failed")?;
    close(w);
    let (mut got, mut seq, mut buf) = (0, 0u8, [0u8; 300]);
    loop {
        let n = read(r, &mut buf[..(got % 297) + 1]);
        if n <= 0 {
            break;
        }
        for &b in &buf[..n as usize] {
            check(b == seq, "pipe data out of order")?;
            seq = seq.wrapping_add(1);
        }
        got += n as usize;
    }
    check(got == TOTAL, "pipe lost or made up bytes")?;
    check(wait() == pid, "wait failed")
}

fn pipe_eof_and_broken() -> Outcome {
    let [r, w] = pipe().ok_or("pipe failed")?;
    check(write(w, b"abc") == 3, "write to a pipe failed")?;
    close(w);
    let mut buf = [0u8; 8];
    check(read(r, &mut buf) == 3, "read did not return what was there")?;
    check(
        read(r, &mut buf) == 0,
        "no end of file after the writer closed",
    )?;
    close(r);
    // A writer with no reader fails once the buffer is full (as in xv6:
    // a write that fits the buffer may still succeed).
    let [r, w] = pipe().ok_or("pipe failed")?;
    close(r);
    check(
        write(w, &[0u8; 2 * PIPESIZE]) == -1,
        "write without a reader succeeded",
    )?;
    close(w);
    Ok(())
}

/// A system call with a number no kernel has.
fn bad_number() -> i32 {
    let r: i32;
    // SAFETY: the trap only returns -1 in eax (other registers preserved).
    unsafe {
        core::arch::asm!("int 64", inlateout("eax") NO_SUCH_CALL as i32 => r);
    }
    r
}

fn wild_arguments() -> Outcome {
    let kern = KERNBASE as *mut u8;
    let past = (beyond() + 16 * PG) as *mut u8;
    let mut buf = [0u8; 8];
    // SAFETY: each pointer is wild on purpose; the kernel must refuse it.
    unsafe {
        check(sys_write(1, kern, 8) == -1, "write from a kernel address")?;
        check(sys_write(1, past, 8) == -1, "write from past the end")?;
        check(sys_write(1, buf.as_ptr(), -1) == -1, "write of -1 bytes")?;
        check(sys_write(1, buf.as_ptr(), 1 << 30) == -1, "write of 1 GiB")?;
        check(sys_read(0, kern, 8) == -1, "read into a kernel address")?;
        check(
            sys_read(0, buf.as_mut_ptr(), 1 << 30) == -1,
            "read of 1 GiB",
        )?;
        check(sys_pipe(kern.cast()) == -1, "pipe into a kernel address")?;
        check(sys_fstat(1, kern) == -1, "fstat into a kernel address")?;
        check(sys_open(kern, 0) == -1, "open of a kernel address")?;
        check(sys_open(past, 0) == -1, "open of an address past the end")?;
        check(
            sys_exec(kern, core::ptr::null()) == -1,
            "exec of a kernel path",
        )?;
        check(sys_chdir(past) == -1, "chdir to an address past the end")?;
        check(sys_write(99, buf.as_mut_ptr(), 1) == -1, "write to fd 99")?;
        check(sys_close(-1) == -1, "close of fd -1")?;
    }
    check(bad_number() == -1, "system call 999 did not fail")?;
    check(read(0, &mut buf[..0]) >= 0, "a read of 0 bytes failed")
}

/// `int N` for a vector other than the system call's.
fn int_vector<const N: u8>() {
    // SAFETY: a trap user code may not make (or one it may, the
    // breakpoint, that a user program has no handler for): the kernel
    // must kill this process.
    unsafe { core::arch::asm!("int {n}", n = const N) };
}

/// The serial port's data register: a port the kernel drives, which user
/// code may not touch.
const COM1: u16 = 0x3F8;

/// `in` from ring 3 (I/O privilege level 0): the kernel must kill this
/// process.
fn port_in() {
    let byte: u8;
    // SAFETY: an instruction user mode may not run; it faults.
    unsafe { core::arch::asm!("in al, dx", in("dx") COM1, out("al") byte) };
    let _ = byte;
}

/// `out` from ring 3: likewise.
fn port_out() {
    // SAFETY: as for `port_in`.
    unsafe { core::arch::asm!("out dx, al", in("dx") COM1, in("al") b'!') };
}

fn exec_garbage() -> Outcome {
    check(exec(c"README", &[c"README"]) == -1, "exec of a text file")?;
    check(exec(c"no-such-program", &[c"x"]) == -1, "exec of nothing")?;
    check(exec(c".", &[c"."]) == -1, "exec of a directory")?;
    let mut many = [c"echo".as_ptr().cast::<u8>(); MAXARG + 2];
    many[MAXARG + 1] = core::ptr::null();
    // SAFETY: MAXARG+1 arguments, one too many, null-terminated.
    let r = unsafe { sys_exec(c"echo".as_ptr().cast(), many.as_ptr()) };
    check(r == -1, "exec with more than MAXARG arguments")?;
    // SAFETY: argv pointing into the kernel.
    let r = unsafe { sys_exec(c"echo".as_ptr().cast(), KERNBASE as *const *const u8) };
    check(r == -1, "exec with argv in the kernel")
}

/// Fork until the table is full, in every process; then everyone reaps
/// its own children and exits.
fn fork_bomb() -> Outcome {
    let mut children = 0;
    let root = getpid();
    while fork_or_stop(&mut children) {}
    while children > 0 && wait() > 0 {
        children -= 1;
    }
    if getpid() != root {
        exit();
    }
    let pid = fork();
    if pid == 0 {
        exit();
    }
    check(pid > 0 && wait() == pid, "fork fails after the bomb")
}

/// One fork of the bomb: whether to go on (the child goes on too, with no
/// children of its own yet).
fn fork_or_stop(children: &mut usize) -> bool {
    match fork() {
        0 => {
            *children = 0;
            true
        }
        pid if pid < 0 => false,
        _ => {
            *children += 1;
            true
        }
    }
}

/// Grow by a MiB at a time, touching each page, until sbrk fails (or the
/// kernel kills us for lack of memory).
fn hog() {
    const STEP: usize = 1 << 20;
    while let Some(base) = sbrk(STEP as i32) {
        for off in (0..STEP).step_by(PG) {
            // SAFETY: just given to us.
            unsafe { ((base + off) as *mut u8).write_volatile(1) };
        }
    }
}

fn sbrk_until_out() -> Outcome {
    let pid = fork();
    if pid == 0 {
        hog();
        exit();
    }
    check(pid > 0 && wait() == pid, "the hog was not reaped")?;
    let base = sbrk(1 << 20).ok_or("no memory after the hog ended")?;
    check(base > 0, "sbrk returned 0")
}

fn ten_hogs() -> Outcome {
    for _ in 0..10 {
        if fork() == 0 {
            hog();
            exit();
        }
    }
    for _ in 0..10 {
        check(wait() > 0, "a hog went missing")?;
    }
    check(sbrk(1 << 20).is_some(), "no memory after the hogs ended")
}
