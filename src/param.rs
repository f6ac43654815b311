//! Kernel parameters, as xv6's `param.h`.

/// Bytes of stack each kernel stack gets (xv6: one page; Rust's frames are
/// larger, and the boot stack runs all of `main` and the in-kernel tests).
pub const KSTACKSIZE: usize = 16 * crate::mmu::PGSIZE;

/// Bytes of kernel stack each other CPU gets: one page from kalloc, as in
/// xv6 (they run only short jobs; the boot CPU keeps its large stack).
pub const APSTACKSIZE: usize = crate::mmu::PGSIZE;

/// Most CPUs the kernel keeps per-CPU state for (xv6's NCPU).
pub const NCPU: usize = 8;
