//! Kernel parameters, as xv6's `param.h`.

/// Bytes of stack each kernel stack gets (xv6: one page; Rust's frames are
/// larger, and the boot stack runs all of `main` and the in-kernel tests).
pub const KSTACKSIZE: usize = 16 * crate::mmu::PGSIZE;

/// Bytes of kernel stack each other CPU gets: one page from kalloc, as in
/// xv6 (they run only short jobs; the boot CPU keeps its large stack).
pub const APSTACKSIZE: usize = crate::mmu::PGSIZE;

/// Most CPUs the kernel keeps per-CPU state for (xv6's NCPU).
pub const NCPU: usize = 8;

/// Most processes at once (xv6's NPROC; `fork` fails past it, and xv6's
/// forktest counts on that).
pub const NPROC: usize = 64;
/// Open files per process.
pub const NOFILE: usize = 16;
/// Open files in the whole system.
pub const NFILE: usize = 100;
/// In-memory inodes at once.
pub const NINODE: usize = 50;
/// Device numbers (`devsw` entries).
pub const NDEV: usize = 10;
/// The device the root file system is on.
pub const ROOTDEV: u32 = 1;
/// Most arguments `exec` takes.
pub const MAXARG: usize = 32;
/// The console's device number (its major, as in xv6's `file.h`).
pub const CONSOLE: u16 = 1;
/// Pages in a process's kernel stack (below it, in the kernel-stacks
/// window, an unmapped guard page).
pub const KSTACK_PAGES: usize = 4;
/// Bytes a pipe buffers (xv6's `PIPESIZE`).
pub const PIPESIZE: usize = 512;
/// Most blocks one file-system operation writes (xv6's MAXOPBLOCKS): the
/// log reserves this much room for each operation in progress.
pub const MAXOPBLOCKS: usize = 10;
/// Buffers in the block cache (xv6's NBUF).
pub const NBUF: usize = MAXOPBLOCKS * 3;
