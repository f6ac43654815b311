//! Processes' kernel stacks: KSTACK_PAGES pages from kalloc each, mapped
//! into the kernel-stacks window (`memlayout::KSTACKS`, whose page table
//! every user page directory shares) above an unmapped guard page, in the
//! slot of the process's table index. An overflow hits the guard and the
//! double-fault task reports it.

use crate::kalloc::{kalloc, kfree_addr};
use crate::memlayout::{PAddr, VAddr, p2v, process_kstack};
use crate::mmu::{PTEntry, PTFlags, PageStep};
use crate::param::KSTACK_PAGES;
use crate::vm::{KallocTables, kpgdir, walkpgdir};

/// A process's kernel stack; dropping it unmaps and frees its pages.
pub struct KernelStack {
    /// The lowest mapped page.
    base: VAddr,
    pages: [PAddr; KSTACK_PAGES],
}

/// The kernel page directory's entry for `va` in the window.
fn window_pte(va: VAddr) -> &'static mut PTEntry {
    let pgdir = kpgdir().expect("kernel stacks before kvmalloc");
    let mut mem = KallocTables::default();
    let pte = walkpgdir(&mut mem, pgdir, va, false)
        .expect("a walk without allocation cannot run out")
        .unwrap_or_else(|| panic!("kstack: no window table for {:#010x}", va.0));
    // SAFETY: the window's table lives as long as the kernel; each slot's
    // entries are touched only by the owner of that slot.
    unsafe { &mut *(pte as *mut PTEntry) }
}

impl KernelStack {
    /// Map fresh pages as the kernel stack of table slot `slot`; `None`
    /// (nothing taken) if memory runs out.
    pub fn alloc(slot: usize) -> Option<KernelStack> {
        let k = process_kstack(slot);
        assert!(
            !window_pte(k.guard).is_present(),
            "kstack: guard of slot {slot} mapped"
        );
        let mut pages = [PAddr(0); KSTACK_PAGES];
        for n in 0..KSTACK_PAGES {
            match kalloc() {
                Some(page) => pages[n] = page.into_pa(),
                None => {
                    for &pa in &pages[..n] {
                        // SAFETY: taken just above, never mapped.
                        unsafe { kfree_addr(p2v(pa)) };
                    }
                    return None;
                }
            }
        }
        for (n, &pa) in pages.iter().enumerate() {
            let pte = window_pte(k.stack.add_pages(n));
            assert!(!pte.is_present(), "kstack: slot {slot} is taken");
            *pte = PTEntry::new(pa, PTFlags::P | PTFlags::RW);
        }
        Some(KernelStack {
            base: k.stack,
            pages,
        })
    }

    /// One past the stack's highest byte.
    pub fn top(&self) -> u32 {
        self.base.add_pages(KSTACK_PAGES).0
    }
}

impl Drop for KernelStack {
    fn drop(&mut self) {
        for (n, &pa) in self.pages.iter().enumerate() {
            let va = self.base.add_pages(n);
            *window_pte(va) = PTEntry(0);
            // SAFETY: forgetting a translation only costs a walk later.
            unsafe { x86::tlb::flush(va.0 as usize) };
            // SAFETY: the stack's owner is gone (a reaped zombie, or an
            // embryo that never ran), and the page is unmapped.
            unsafe { kfree_addr(p2v(pa)) };
        }
    }
}
