//! The user library (xv6's ulib, usys, printf and umalloc in one crate):
//! system calls, formatted output to a file descriptor, the arguments exec
//! passed, a heap over `sbrk`, and the start of every program.
//!
//! A program is a `src/bin/NAME.rs` that calls `entry!(main)` with a
//! `fn main(args: Args)`; returning from `main` exits.

#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]

extern crate alloc;

pub mod args;
pub mod count;
pub mod heap;
pub mod parse;
pub mod print;
pub mod regex;
pub mod syscall;
pub mod workload;

#[path = "../../src/fcntl.rs"]
pub mod fcntl;
/// The on-disk format (for `DIRSIZ` and the directory entry's size).
#[path = "../../src/fs/format.rs"]
pub mod format;
/// The definitions shared with the kernel, read from its sources so that
/// both sides of the ABI agree.
#[path = "../../src/syscall/number.rs"]
pub mod number;
#[path = "../../src/param.rs"]
pub mod param;
#[path = "../../src/stat.rs"]
pub mod stat;
pub mod fs {
    //! Where stat.rs looks for the on-disk format.
    pub use super::format;
}
pub mod mmu {
    //! The one paging fact param.rs needs: the x86 page size.
    pub const PGSIZE: usize = 4096;
}

pub use args::Args;
pub use syscall::*;

/// Where exec enters: xv6's exec leaves a fake return PC, `argc` and `argv`
/// on the stack, which is what a cdecl call of this function finds.
/// Runs the program's `main` and exits when it returns.
///
/// # Safety
/// Only exec calls it, with `argv` holding `argc` NUL-terminated strings.
#[unsafe(no_mangle)]
#[unsafe(link_section = ".text.start")]
pub unsafe extern "C" fn _start(argc: i32, argv: *const *const u8) -> ! {
    unsafe extern "Rust" {
        fn __user_main(args: Args);
    }
    // SAFETY: exec built argv as this function's contract says.
    let args = unsafe { Args::new(argc, argv) };
    // SAFETY: every program defines __user_main through `entry!`.
    unsafe { __user_main(args) };
    exit()
}

/// Names the program's `fn main(args: Args)`, called by `_start`.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[unsafe(no_mangle)]
        fn __user_main(args: $crate::Args) {
            $main(args)
        }
    };
}

/// A panic prints its message on standard error and exits.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    eprintln!("panic: {}", info);
    exit()
}

/// Print `msg` and its arguments on standard error and exit (xv6's
/// programs' `printf(2, ...); exit();`).
#[macro_export]
macro_rules! die {
    ($($arg:tt)*) => {{
        $crate::eprintln!($($arg)*);
        $crate::exit()
    }};
}

/// Write `args`, formatted, to descriptor `fd`.
pub fn fprint(fd: i32, args: core::fmt::Arguments) {
    print::format_to(
        |b| {
            write(fd, b);
        },
        args,
    );
}

/// `fprint!(fd, "fmt", args...)`: formatted output to a descriptor.
#[macro_export]
macro_rules! fprint {
    ($fd:expr, $($arg:tt)*) => { $crate::fprint($fd, format_args!($($arg)*)) };
}

/// Formatted output to standard output.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::fprint(1, format_args!($($arg)*)) };
}

/// Formatted output to standard output, and a newline.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => { $crate::fprint(1, format_args!("{}\n", format_args!($($arg)*))) };
}

/// Formatted output to standard error, and a newline.
#[macro_export]
macro_rules! eprintln {
    ($($arg:tt)*) => { $crate::fprint(2, format_args!("{}\n", format_args!($($arg)*))) };
}

/// Bytes as text for messages (a non-UTF-8 name shows as "?").
pub fn text(b: &[u8]) -> &str {
    core::str::from_utf8(b).unwrap_or("?")
}
