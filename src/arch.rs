//! The x86 descriptor tables and CPU features the kernel sets up besides
//! paging (which is `mmu`'s and `vm`'s): the GDT, the task-state segments
//! and the double-fault task, and the features `boot/entry.S` checks.

pub mod cpufeature;
pub mod doublefault;
#[cfg(kernel)]
pub mod gdt;
#[cfg(kernel)]
pub mod tss;
