//! Guarded kernel stacks: below each CPU's kernel stack lies a page the
//! kernel page directory leaves unmapped, so that an overflow faults (and
//! the double-fault task reports it, `src/arch/doublefault.rs`) instead of
//! silently writing over whatever lies below.
//!
//! The boot CPU's guard is the page below the boot stack in `.bss`
//! (`entry::BootStack`), whose entry `kvmalloc` clears. Every other CPU
//! starts on its kalloc'd page at P2V(pa) (all entrypgdir can map), and
//! once `mpenter` has switched to the kernel page directory it moves onto
//! an alias of that page in the kernel-stacks window (`memlayout::KSTACKS`),
//! where the page below is never mapped.

use core::ops::Range;

use crate::memlayout::{PAddr, VAddr, kstack};
use crate::mmu::{PTEntry, PTFlags, PageStep};
use crate::vm::{KallocTables, walkpgdir};

/// CPU `cpu`'s guard page.
pub fn guard_page(cpu: usize) -> VAddr {
    if cpu == 0 {
        crate::entry::boot_stack_guard()
    } else {
        kstack(cpu).guard
    }
}

/// Run `f` on the page-table entry for `va` in the directory `pgdir`,
/// whose table must exist (kvmalloc made every table the kernel map needs,
/// the window's included).
fn with_pte<R>(pgdir: PAddr, va: VAddr, f: impl FnOnce(&mut PTEntry) -> R) -> R {
    let mut mem = KallocTables::default();
    let entry = walkpgdir(&mut mem, pgdir, va, false)
        .expect("a walk without allocation cannot run out")
        .unwrap_or_else(|| panic!("kstack: no page table for {:#010x}", va.0));
    f(entry)
}

/// Map CPU `cpu`'s stack page (at `pa`) into the kernel-stacks window of
/// the directory `pgdir`, with the guard page below it left unmapped, and
/// return the alias's addresses. The window's table exists since
/// `kvmalloc`, so no page is taken.
pub fn map_stack(pgdir: PAddr, cpu: usize, pa: PAddr) -> Range<u32> {
    let k = kstack(cpu);
    with_pte(pgdir, k.guard, |guard| {
        assert!(
            !guard.is_present(),
            "kstack: cpu{cpu}'s guard page {:#010x} is mapped",
            k.guard.0
        );
    });
    with_pte(pgdir, k.stack, |entry| {
        assert!(
            !entry.is_present(),
            "kstack: cpu{cpu}'s stack slot {:#010x} is taken",
            k.stack.0
        );
        *entry = PTEntry::new(pa, PTFlags::P | PTFlags::RW);
    });
    k.stack.0..k.stack.add_pages(1).0
}

core::arch::global_asm!(include_str!("kstack.S"), options(att_syntax));

unsafe extern "C" {
    /// Continue on the stack whose top is `top` by calling `next`, which
    /// never returns; the new stack starts with a copy of the caller's
    /// frame record, so a backtrace still walks through the caller.
    ///
    /// # Safety
    /// `top` is the 16-byte-aligned end of a mapped stack nothing else
    /// uses, and the caller's stack is never used again.
    pub fn switch_stack(top: u32, next: extern "C" fn() -> !) -> !;
}
