//! Counted pages on the simulated memory (kalloc's free list over it and
//! the page counts, as the kernel uses them) for the host tests of `pmap`
//! and `memory`, with the TLB operations they ask for recorded.

use super::{SimRam, WORDS, counts, free_list};
use crate::jos::pageinfo::{AllocFlags, Count, PageInfos, Pages, page_alloc_from};
use crate::jos::pmap::{
    PhysPages, alloc_counted_table, page_insert, page_lookup, page_remove, pgdir_walk,
};
use crate::kalloc::FreeList;
use crate::linux::memory::{CowStep, un_wp_page};
use crate::memlayout::{PAddr, VAddr};
use crate::mmu::{PD, PDE_USER_TABLE_FLAGS, PDEntry, PDFlags, PGSIZE, PT, PTFlags, pdx};
use crate::vm::{OutOfMemory, PageTableMemory};

/// A TLB operation the code asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tlb {
    Invlpg(PAddr, VAddr),
    Flush(PAddr),
}

/// Counted pages on simulated memory, recording what the TLB was told.
pub(crate) struct Sim {
    pub(crate) list: FreeList<SimRam>,
    pub(crate) infos: PageInfos<'static>,
    pub(crate) tlb: Vec<Tlb>,
}

impl PageTableMemory for Sim {
    const PDE_FLAGS: PDFlags = PDE_USER_TABLE_FLAGS;

    fn alloc_table(&mut self) -> Option<PAddr> {
        alloc_counted_table(self)
    }
    unsafe fn free_table(&mut self, pa: PAddr) {
        // SAFETY: passed on from the caller.
        unsafe { self.decref(pa) };
    }
    unsafe fn pd(&mut self, pa: PAddr) -> &mut PD {
        self.list.mem_mut().pd(pa)
    }
    unsafe fn pt(&mut self, pa: PAddr) -> &mut PT {
        self.list.mem_mut().pt(pa)
    }
}

impl PhysPages for Sim {
    fn alloc_page(&mut self, flags: AllocFlags) -> Option<PAddr> {
        page_alloc_from(&mut self.list, flags)
    }
    fn count(&self, pa: PAddr) -> Count {
        self.infos.count(pa).unwrap_or_else(|e| panic!("{e}"))
    }
    fn incref(&mut self, pa: PAddr) {
        self.infos.incref(pa).unwrap_or_else(|e| panic!("{e}"));
    }
    unsafe fn decref(&mut self, pa: PAddr) -> bool {
        // SAFETY: passed on from the caller.
        unsafe { self.pages().page_decref(pa) }.unwrap_or_else(|e| panic!("{e}"))
    }
    unsafe fn copy_page(&mut self, from: PAddr, to: PAddr) {
        self.list.mem_mut().copy(from, to);
    }
    fn invlpg(&mut self, pgdir: PAddr, va: VAddr) {
        self.tlb.push(Tlb::Invlpg(pgdir, va));
    }
    fn flush_tlb(&mut self, pgdir: PAddr) {
        self.tlb.push(Tlb::Flush(pgdir));
    }
}

/// Free pages in most tests: more than any of them maps.
pub(crate) const NPAGES: usize = 64;

/// Word `va` addresses within its page.
pub(crate) fn word(va: VAddr) -> usize {
    va.0 as usize % PGSIZE / 4
}

impl Sim {
    pub(crate) fn new(npages: usize) -> Self {
        Sim {
            list: free_list(npages),
            infos: PageInfos::new(counts()),
            tlb: Vec::new(),
        }
    }

    pub(crate) fn pages(&mut self) -> Pages<'_, 'static, FreeList<SimRam>> {
        Pages {
            list: &mut self.list,
            infos: &self.infos,
        }
    }

    pub(crate) fn nfree(&self) -> usize {
        self.list.nfree()
    }

    /// A new, empty page directory.
    pub(crate) fn pgdir(&mut self) -> PAddr {
        self.alloc_table().expect("a page for the directory")
    }

    /// An unmapped page holding `value` in every word.
    pub(crate) fn page_with(&mut self, value: u32) -> PAddr {
        let pa = self.alloc_page(AllocFlags::default()).expect("a free page");
        *self.list.mem_mut().words(pa) = [value; WORDS];
        pa
    }

    /// Take every free page but `keep`, so that the next allocations fail.
    pub(crate) fn drain_to(&mut self, keep: usize) {
        while self.nfree() > keep {
            self.alloc_page(AllocFlags::default());
        }
    }

    /// Entry `pdx(va)` of the directory.
    pub(crate) fn pde(&mut self, pgdir: PAddr, va: VAddr) -> PDEntry {
        // SAFETY: every directory in these tests comes from alloc_table.
        let pd = unsafe { self.pd(pgdir) };
        pd[pdx(va)]
    }

    /// The raw entry mapping `va` (software bits included).
    pub(crate) fn pte(&mut self, pgdir: PAddr, va: VAddr) -> u32 {
        pgdir_walk(self, pgdir, va, false)
            .unwrap()
            .expect("a table")
            .0
    }

    /// What a user read of the word at `va` sees through the page tables.
    pub(crate) fn read(&mut self, pgdir: PAddr, va: VAddr) -> u32 {
        let (pa, _) = page_lookup(self, pgdir, va).expect("mapped");
        self.list.mem_mut().words(pa)[word(va)]
    }

    /// A user write of the word at `va`: on a read-only page the write
    /// faults first into un_wp_page (as the page-fault handler will), which
    /// must make it writable. Returns what the fault did, if there was one.
    pub(crate) fn write(&mut self, pgdir: PAddr, va: VAddr, value: u32) -> Option<CowStep> {
        let (_, flags) = page_lookup(self, pgdir, va).expect("mapped");
        let step = (!flags.contains(PTFlags::RW))
            .then(|| un_wp_page(self, pgdir, va).unwrap_or_else(|e| panic!("{e}")));
        let (pa, flags) = page_lookup(self, pgdir, va).unwrap();
        assert!(flags.contains(PTFlags::RW), "writable after the fault");
        self.list.mem_mut().words(pa)[word(va)] = value;
        step
    }
}

/// `page_insert` on simulated pages.
pub(crate) fn insert(
    m: &mut Sim,
    pgdir: PAddr,
    pa: PAddr,
    va: VAddr,
    perm: PTFlags,
) -> Result<(), OutOfMemory> {
    // SAFETY: nothing outside the simulated page tables refers to the pages.
    unsafe { page_insert(m, pgdir, pa, va, perm) }
}

/// `page_remove` on simulated pages.
pub(crate) fn remove(m: &mut Sim, pgdir: PAddr, va: VAddr) {
    // SAFETY: as for `insert`.
    unsafe { page_remove(m, pgdir, va) }
}

/// `pde` points at a table with exactly the user-table flags (a table
/// entry's bit 12 is address, which `flags()` would read as PAT).
pub(crate) fn assert_user_table(pde: PDEntry) {
    assert_eq!(pde.0, PDEntry::new(pde.address(), PDE_USER_TABLE_FLAGS).0);
}

pub(crate) const USER_RW: PTFlags =
    PTFlags::from_bits_truncate(PTFlags::US.bits() | PTFlags::RW.bits());
pub(crate) const VA: VAddr = VAddr(0x0040_3000);

/// The page after [`VA`], in the same page table.
pub(crate) const OTHER: VAddr = VAddr(0x0040_4000);

/// A directory mapping one page holding `value`, writable at [`VA`]:
/// (memory, directory, page).
pub(crate) fn one_page(value: u32) -> (Sim, PAddr, PAddr) {
    let mut m = Sim::new(NPAGES);
    let pgdir = m.pgdir();
    let pa = m.page_with(value);
    insert(&mut m, pgdir, pa, VA, USER_RW).unwrap();
    (m, pgdir, pa)
}
