//! The system calls. Each stub (as xv6's usys.S) puts its number in `eax`
//! and traps with `int $T_SYSCALL`; the arguments stay where the C calling
//! convention put them, on the stack above the return address, where the
//! kernel reads them. The result comes back in `eax`.
//!
//! `raw` has the stubs themselves (tests pass them wild arguments); the
//! safe wrappers below take slices and C strings.

use core::ffi::CStr;

use crate::number::*;
use crate::param::MAXARG;
use crate::stat::Stat;

/// One stub per call: `sys_NAME` loads `number` and traps.
macro_rules! stubs {
    ($($name:ident = $number:ident;)*) => {
        $(
            core::arch::global_asm!(
                concat!(".globl sys_", stringify!($name)),
                concat!("sys_", stringify!($name), ":"),
                "mov eax, {n}",
                "int {t}",
                "ret",
                n = const $number,
                t = const T_SYSCALL,
            );
        )*
    };
}

stubs! {
    fork = SYS_FORK; exit = SYS_EXIT; wait = SYS_WAIT; pipe = SYS_PIPE;
    read = SYS_READ; kill = SYS_KILL; exec = SYS_EXEC; fstat = SYS_FSTAT;
    chdir = SYS_CHDIR; dup = SYS_DUP; getpid = SYS_GETPID; sbrk = SYS_SBRK;
    sleep = SYS_SLEEP; uptime = SYS_UPTIME; open = SYS_OPEN; write = SYS_WRITE;
    mknod = SYS_MKNOD; unlink = SYS_UNLINK; link = SYS_LINK; mkdir = SYS_MKDIR;
    close = SYS_CLOSE; freepages = SYS_FREEPAGES;
}

/// The stubs, with xv6's C signatures: pointers are not checked here
/// (the kernel must check them).
pub mod raw {
    unsafe extern "C" {
        pub fn sys_fork() -> i32;
        pub fn sys_exit() -> !;
        pub fn sys_wait() -> i32;
        pub fn sys_pipe(fds: *mut i32) -> i32;
        pub fn sys_read(fd: i32, buf: *mut u8, n: i32) -> i32;
        pub fn sys_kill(pid: i32) -> i32;
        pub fn sys_exec(path: *const u8, argv: *const *const u8) -> i32;
        pub fn sys_fstat(fd: i32, st: *mut u8) -> i32;
        pub fn sys_chdir(path: *const u8) -> i32;
        pub fn sys_dup(fd: i32) -> i32;
        pub fn sys_getpid() -> i32;
        pub fn sys_sbrk(n: i32) -> i32;
        pub fn sys_sleep(ticks: i32) -> i32;
        pub fn sys_uptime() -> i32;
        pub fn sys_open(path: *const u8, mode: i32) -> i32;
        pub fn sys_write(fd: i32, buf: *const u8, n: i32) -> i32;
        pub fn sys_mknod(path: *const u8, major: i16, minor: i16) -> i32;
        pub fn sys_unlink(path: *const u8) -> i32;
        pub fn sys_link(old: *const u8, new: *const u8) -> i32;
        pub fn sys_mkdir(path: *const u8) -> i32;
        pub fn sys_close(fd: i32) -> i32;
        pub fn sys_freepages() -> i32;
    }
}

/// A length as the kernel takes it (an `int`): longer slices are cut.
fn len(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Make a copy of this process: the child's pid in the parent, 0 in the
/// child, -1 if there is no room.
pub fn fork() -> i32 {
    // SAFETY: no arguments.
    unsafe { raw::sys_fork() }
}

/// End this process.
pub fn exit() -> ! {
    // SAFETY: no arguments; it does not return.
    unsafe { raw::sys_exit() }
}

/// Wait for a child to exit: its pid, or -1 if there is none.
pub fn wait() -> i32 {
    // SAFETY: no arguments.
    unsafe { raw::sys_wait() }
}

/// A pipe: `[read end, write end]`, or None.
pub fn pipe() -> Option<[i32; 2]> {
    let mut fds = [0i32; 2];
    // SAFETY: fds has room for the two descriptors the kernel writes.
    let r = unsafe { raw::sys_pipe(fds.as_mut_ptr()) };
    (r == 0).then_some(fds)
}

/// Read into `buf`: the bytes read (0 at the end), or -1.
pub fn read(fd: i32, buf: &mut [u8]) -> i32 {
    // SAFETY: the kernel writes at most buf.len() bytes into buf.
    unsafe { raw::sys_read(fd, buf.as_mut_ptr(), len(buf.len())) }
}

/// Write `buf`: the bytes written, or -1.
pub fn write(fd: i32, buf: &[u8]) -> i32 {
    // SAFETY: the kernel reads at most buf.len() bytes of buf.
    unsafe { raw::sys_write(fd, buf.as_ptr(), len(buf.len())) }
}

/// Close a descriptor: 0, or -1.
pub fn close(fd: i32) -> i32 {
    // SAFETY: no pointers.
    unsafe { raw::sys_close(fd) }
}

/// A second descriptor for `fd`'s file (the lowest free), or -1.
pub fn dup(fd: i32) -> i32 {
    // SAFETY: no pointers.
    unsafe { raw::sys_dup(fd) }
}

/// Ask process `pid` to die: 0, or -1 if there is no such process.
pub fn kill(pid: i32) -> i32 {
    // SAFETY: no pointers.
    unsafe { raw::sys_kill(pid) }
}

/// Replace this program by `path` with arguments `argv` (at most MAXARG);
/// returns -1 only if that failed.
pub fn exec(path: &CStr, argv: &[&CStr]) -> i32 {
    let mut ptrs = [core::ptr::null::<u8>(); MAXARG + 1];
    if argv.len() > MAXARG {
        return -1;
    }
    for (p, a) in ptrs.iter_mut().zip(argv) {
        *p = a.as_ptr().cast();
    }
    // SAFETY: path and each argument are NUL-terminated; ptrs ends with null.
    unsafe { raw::sys_exec(path.as_ptr().cast(), ptrs.as_ptr()) }
}

/// Open `path` with `fcntl` flags `mode`: a descriptor, or -1.
pub fn open(path: &CStr, mode: i32) -> i32 {
    // SAFETY: path is NUL-terminated.
    unsafe { raw::sys_open(path.as_ptr().cast(), mode) }
}

/// Make a device file.
pub fn mknod(path: &CStr, major: i16, minor: i16) -> i32 {
    // SAFETY: path is NUL-terminated.
    unsafe { raw::sys_mknod(path.as_ptr().cast(), major, minor) }
}

/// Remove the directory entry `path` (the file goes with its last link
/// and its last open descriptor): 0, or -1.
pub fn unlink(path: &CStr) -> i32 {
    // SAFETY: path is NUL-terminated.
    unsafe { raw::sys_unlink(path.as_ptr().cast()) }
}

/// Make `new` a second name for the file `old`: 0, or -1.
pub fn link(old: &CStr, new: &CStr) -> i32 {
    // SAFETY: both paths are NUL-terminated.
    unsafe { raw::sys_link(old.as_ptr().cast(), new.as_ptr().cast()) }
}

/// Make the directory `path`: 0, or -1.
pub fn mkdir(path: &CStr) -> i32 {
    // SAFETY: path is NUL-terminated.
    unsafe { raw::sys_mkdir(path.as_ptr().cast()) }
}

/// Change the working directory: 0, or -1.
pub fn chdir(path: &CStr) -> i32 {
    // SAFETY: path is NUL-terminated.
    unsafe { raw::sys_chdir(path.as_ptr().cast()) }
}

/// The status of `fd`'s file, or None.
pub fn fstat(fd: i32) -> Option<Stat> {
    let mut st = Stat::default();
    // SAFETY: Stat is laid out as xv6's struct stat, which the kernel fills.
    let r = unsafe { raw::sys_fstat(fd, (&raw mut st).cast()) };
    (r == 0).then_some(st)
}

/// This process's id.
pub fn getpid() -> i32 {
    // SAFETY: no arguments.
    unsafe { raw::sys_getpid() }
}

/// Grow (or with a negative `n`, shrink) memory by `n` bytes: the old end,
/// or None if that failed.
pub fn sbrk(n: i32) -> Option<usize> {
    // SAFETY: no pointers.
    let r = unsafe { raw::sys_sbrk(n) };
    (r != -1).then_some(r as u32 as usize)
}

/// Sleep for `ticks` timer ticks.
pub fn sleep(ticks: i32) -> i32 {
    // SAFETY: no pointers.
    unsafe { raw::sys_sleep(ticks) }
}

/// Timer ticks since boot.
pub fn uptime() -> i32 {
    // SAFETY: no arguments.
    unsafe { raw::sys_uptime() }
}

/// Free physical pages (this kernel's own call; -1 on xv6).
pub fn freepages() -> i32 {
    // SAFETY: no arguments.
    unsafe { raw::sys_freepages() }
}
