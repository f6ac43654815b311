//! System-call numbers, as xv6's `syscall.h`: a user program puts one in
//! `eax` before `int $T_SYSCALL`. The kernel, the `user/` library and the
//! tests take them from here.

/// The trap vector of a system call (`traps.h`'s T_SYSCALL).
pub const T_SYSCALL: u32 = 64;

pub const SYS_FORK: u32 = 1;
pub const SYS_EXIT: u32 = 2;
pub const SYS_WAIT: u32 = 3;
pub const SYS_PIPE: u32 = 4;
pub const SYS_READ: u32 = 5;
pub const SYS_KILL: u32 = 6;
pub const SYS_EXEC: u32 = 7;
pub const SYS_FSTAT: u32 = 8;
pub const SYS_CHDIR: u32 = 9;
pub const SYS_DUP: u32 = 10;
pub const SYS_GETPID: u32 = 11;
pub const SYS_SBRK: u32 = 12;
pub const SYS_SLEEP: u32 = 13;
pub const SYS_UPTIME: u32 = 14;
pub const SYS_OPEN: u32 = 15;
pub const SYS_WRITE: u32 = 16;
pub const SYS_MKNOD: u32 = 17;
pub const SYS_UNLINK: u32 = 18;
pub const SYS_LINK: u32 = 19;
pub const SYS_MKDIR: u32 = 20;
pub const SYS_CLOSE: u32 = 21;
/// The last of xv6's numbers; ours start after it, so xv6's programs
/// never reach them.
pub const SYS_LAST_XV6: u32 = SYS_CLOSE;
/// This kernel's own: the free page count (what tests check for leaks).
pub const SYS_FREEPAGES: u32 = 22;
