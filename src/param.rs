//! Kernel parameters, as xv6's `param.h`.

/// Bytes of stack each kernel stack gets (xv6: one page; Rust's frames are
/// larger, and the boot stack runs all of `main` and the in-kernel tests).
pub const KSTACKSIZE: usize = 16 * 4096;

/// Most CPUs the kernel keeps per-CPU state for (xv6's NCPU).
pub const NCPU: usize = 8;
