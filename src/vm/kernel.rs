//! The kernel page directory on the real machine: built from `kalloc`
//! pages, installed in CR3.

use spin::Once;

use super::{OutOfMemory, PageTableMemory, freevm, setupkvm};
use crate::image;
use crate::kalloc::{kalloc, kfree_addr};
use crate::memlayout::{PAddr, p2v};
use crate::mmu::{PD, PT};

/// Page-table pages from `kalloc`, reached through the direct map; counts
/// the pages taken.
struct KallocTables {
    allocated: usize,
}

impl PageTableMemory for KallocTables {
    fn alloc_table(&mut self) -> Option<PAddr> {
        let mut page = kalloc()?;
        page.zero();
        self.allocated += 1;
        Some(page.into_pa())
    }

    unsafe fn free_table(&mut self, pa: PAddr) {
        // SAFETY: the caller no longer refers to the page, which came from
        // kalloc through `alloc_table`.
        unsafe { kfree_addr(p2v(pa)) };
    }

    unsafe fn pd(&mut self, pa: PAddr) -> &mut PD {
        // SAFETY: `pa` is a page from `alloc_table`, used only as this
        // directory.
        unsafe { direct_pd(pa) }
    }

    unsafe fn pt(&mut self, pa: PAddr) -> &mut PT {
        // SAFETY: as for `pd`.
        unsafe { direct_pt(pa) }
    }
}

/// The page directory at `pa`, through the direct map.
///
/// # Safety
/// `pa` is a page-aligned page below PHYSTOP holding a directory, and the
/// caller keeps the reference unique while it lives.
pub unsafe fn direct_pd<'a>(pa: PAddr) -> &'a mut PD {
    // SAFETY: the direct map maps every page below PHYSTOP at P2V(pa);
    // the rest is the caller's promise.
    unsafe { &mut *(p2v(pa).0 as *mut PD) }
}

/// The page table at `pa`, through the direct map.
///
/// # Safety
/// As for [`direct_pd`], for a page table.
pub unsafe fn direct_pt<'a>(pa: PAddr) -> &'a mut PT {
    // SAFETY: as for `direct_pd`.
    unsafe { &mut *(p2v(pa).0 as *mut PT) }
}

/// What `kvmalloc` built.
#[derive(Clone, Copy, Debug)]
pub struct Kvm {
    /// Physical address of the kernel page directory.
    pub pgdir: PAddr,
    /// Page-table pages taken from kalloc, the directory included.
    pub pages: usize,
}

static KVM: Once<Kvm> = Once::new();

/// Build the kernel page directory, mapping physical memory up to
/// `phystop`, and switch to it (xv6's `kvmalloc`). Runs between kinit1 and
/// kinit2, so every page-table page comes from the first 4 MiB.
// Never inlined: a function of its own for breakpoints in GDB and Bochs.
#[inline(never)]
pub fn kvmalloc(phystop: PAddr) -> Kvm {
    let kvm = KVM.call_once(|| {
        let free = crate::kalloc::nfree();
        let (pgdir, pages) = setupkvm_kalloc(phystop).unwrap_or_else(|e| {
            panic!(
                "kvmalloc: {e}: the page tables for PHYSTOP {:#x} come from the {free} pages \
                 kinit1 freed below 4 MiB (it gave back what it had taken)",
                phystop.0
            )
        });
        Kvm { pgdir, pages }
    });
    switchkvm();
    *kvm
}

/// Build a directory holding the kernel's map from kalloc pages, without
/// installing it (kvmalloc installs the one it builds; the tests build
/// extra ones to run out of memory). Returns the directory and the pages it
/// took.
pub fn setupkvm_kalloc(phystop: PAddr) -> Result<(PAddr, usize), OutOfMemory> {
    let mut mem = KallocTables { allocated: 0 };
    setupkvm(&mut mem, image::data_addr(), phystop).map(|pgdir| (pgdir, mem.allocated))
}

/// Free a directory built by [`setupkvm_kalloc`].
///
/// # Safety
/// The directory is not in use (not in CR3).
pub unsafe fn freekvm(pgdir: PAddr) {
    // SAFETY: the caller guarantees the directory is unused.
    unsafe { freevm(&mut KallocTables { allocated: 0 }, pgdir) };
}

/// The kernel page directory, once `kvmalloc` has built it.
pub fn kpgdir() -> Option<PAddr> {
    KVM.get().map(|k| k.pgdir)
}

/// Load the kernel page directory into CR3 (xv6's `switchkvm`).
pub fn switchkvm() {
    let pgdir = kpgdir().expect("switchkvm before kvmalloc");
    // SAFETY: the directory maps the kernel's text, data, stack and every
    // page in use exactly where entrypgdir did (KERNBASE + pa), so the code
    // running now keeps running; only the low identity mapping goes away.
    unsafe { x86::controlregs::cr3_write(u64::from(pgdir.0)) };
}

/// A snapshot of the kernel page directory's entries.
pub fn kpgdir_entries() -> PD {
    let pa = kpgdir().expect("kpgdir_entries before kvmalloc");
    // SAFETY: the kernel page directory is mapped and only written by
    // kvmalloc, which has finished.
    unsafe { core::ptr::read(p2v(pa).0 as *const PD) }
}

/// A snapshot of the page table at `pa` (from a present kernel PDE).
pub fn page_table(pa: PAddr) -> PT {
    // SAFETY: `pa` is a page table of the kernel page directory, mapped and
    // no longer written.
    unsafe { core::ptr::read(p2v(pa).0 as *const PT) }
}
