//! The counted page-table API on the machine: [`KernelPages`] reaches pages
//! through the direct map, takes them from kalloc's free lists, counts
//! them in the page counts, and tells this CPU's TLB; [`cow_fault`] is the
//! page-fault handler's copy-on-write path.

use core::sync::atomic::{AtomicUsize, Ordering};

use super::{CowError, CowStep, PhysPages, alloc_counted_table, un_wp_page};
use crate::memlayout::{KERNBASE, PAddr, VAddr, p2v};
use crate::mmu::{PD, PDE_USER_TABLE_FLAGS, PDFlags, PGSIZE, PT};
use crate::pageinfo::{AllocFlags, Count};
use crate::pageinfo::{count, page_alloc, page_decref, page_incref};
use crate::spinlock::Spinlock;
use crate::traps::PageFaultCode;
use crate::vm::{PageTableMemory, direct_pd, direct_pt};

/// Counted pages of physical memory, as [`PhysPages`] describes them. It
/// holds nothing: the counts are atomic and kalloc locks its own lists, so
/// any number of `KernelPages` may be in use at once (on different
/// directories: one directory is changed by one CPU at a time).
pub struct KernelPages;

/// The directory in this CPU's CR3.
pub fn rcr3() -> PAddr {
    // SAFETY: reading CR3 has no side effects.
    PAddr(unsafe { x86::controlregs::cr3() } as u32)
}

impl PageTableMemory for KernelPages {
    const PDE_FLAGS: PDFlags = PDE_USER_TABLE_FLAGS;

    fn alloc_table(&mut self) -> Option<PAddr> {
        alloc_counted_table(self)
    }

    unsafe fn free_table(&mut self, pa: PAddr) {
        // SAFETY: passed on from the caller: nothing refers to the table.
        unsafe { self.decref(pa) };
    }

    unsafe fn pd(&mut self, pa: PAddr) -> &mut PD {
        // SAFETY: passed on from the caller (a directory of ours, unique).
        unsafe { direct_pd(pa) }
    }

    unsafe fn pt(&mut self, pa: PAddr) -> &mut PT {
        // SAFETY: as for `pd`.
        unsafe { direct_pt(pa) }
    }
}

impl PhysPages for KernelPages {
    fn alloc_page(&mut self, flags: AllocFlags) -> Option<PAddr> {
        page_alloc(flags)
    }

    fn count(&self, pa: PAddr) -> Count {
        count(pa)
    }

    fn incref(&mut self, pa: PAddr) {
        page_incref(pa);
    }

    unsafe fn decref(&mut self, pa: PAddr) -> bool {
        // SAFETY: passed on from the caller.
        unsafe { page_decref(pa) }
    }

    unsafe fn copy_page(&mut self, from: PAddr, to: PAddr) {
        // SAFETY: both pages are in the direct map; the caller owns `to`,
        // which is not `from` (it was just allocated).
        unsafe {
            core::ptr::copy_nonoverlapping(p2v(from).0 as *const u8, p2v(to).0 as *mut u8, PGSIZE)
        };
    }

    fn invlpg(&mut self, pgdir: PAddr, va: VAddr) {
        if rcr3() == pgdir {
            // SAFETY: forgetting a translation only costs a walk later.
            unsafe { x86::tlb::flush(va.0 as usize) };
        }
    }

    fn flush_tlb(&mut self, pgdir: PAddr) {
        if rcr3() == pgdir {
            // SAFETY: reloading CR3 with its own value keeps every mapping.
            unsafe { x86::tlb::flush_all() };
        }
    }
}

/// Copy-on-write faults resolved since boot.
static COW_FAULTS: AtomicUsize = AtomicUsize::new(0);

/// The last copy-on-write fault: where, and what `un_wp_page` did.
static LAST_COW: Spinlock<Option<(VAddr, CowStep)>> = Spinlock::new("cow", None);

/// How many copy-on-write faults were resolved, and the last one.
pub fn cow_faults() -> (usize, Option<(VAddr, CowStep)>) {
    (COW_FAULTS.load(Ordering::Relaxed), *LAST_COW.lock())
}

/// The page-fault handler's first question (Linux 0.01's `do_wp_page`):
/// was this a write to a present copy-on-write page below KERNBASE in the
/// directory in CR3? If so, `un_wp_page` resolves it and the faulting write
/// may run again: `true`. Otherwise `false`, and the fault is a bug to
/// report. Panics if the page is copy-on-write but cannot be resolved (no
/// memory for the copy).
pub fn cow_fault(err: u32, va: VAddr) -> bool {
    let code = PageFaultCode::decode(err);
    if !(code.write && code.present) || va >= KERNBASE {
        return false;
    }
    let pgdir = rcr3();
    let mut mem = KernelPages;
    // Only directories with 4 KiB tables below KERNBASE get here: the
    // kernel's and those built on it; entrypgdir has no user half.
    // SAFETY: CR3 holds a page directory, which is in the direct map.
    let pde = unsafe { mem.pd(pgdir) }[crate::mmu::pdx(va)];
    if !pde.is_present() || pde.flags().contains(PDFlags::PS) {
        return false;
    }
    let step = match un_wp_page(&mut mem, pgdir, va) {
        Ok(step) => step,
        Err(CowError::NotMapped { .. } | CowError::NotCopyOnWrite { .. }) => return false,
        Err(e @ CowError::OutOfMemory { .. }) => panic!("{e}"),
    };
    COW_FAULTS.fetch_add(1, Ordering::Relaxed);
    *LAST_COW.lock() = Some((va, step));
    true
}

/// Linux 0.01's `free_page_tables` on the machine: panics, naming the
/// value and the rule, on a span that is not whole page tables of user
/// space (Linux: "free_page_tables called with wrong alignment").
///
/// # Safety
/// As for [`super::free_page_tables`].
pub unsafe fn free_page_tables(pgdir: PAddr, from: VAddr, size: u32) {
    // SAFETY: passed on from the caller.
    unsafe { super::free_page_tables(&mut KernelPages, pgdir, from, size) }
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Linux 0.01's `copy_page_tables` on the machine: shares the span
/// copy-on-write; running out of memory for a page table is an error
/// (everything copied is undone), a bad span or a destination that
/// already has tables there is a bug and panics with its rule.
pub fn copy_page_tables(
    from_pgdir: PAddr,
    to_pgdir: PAddr,
    from: VAddr,
    size: u32,
) -> Result<(), crate::vm::OutOfMemory> {
    match super::copy_page_tables(&mut KernelPages, from_pgdir, to_pgdir, from, size) {
        Ok(()) => Ok(()),
        Err(super::CopyError::OutOfMemory) => Err(crate::vm::OutOfMemory),
        Err(e) => panic!("{e}"),
    }
}
