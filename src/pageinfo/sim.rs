//! Simulated physical memory for host tests: the pages the free list links
//! through (a [`PageMemory`]), which the page-table tests also read as
//! directories, tables and data.

use std::collections::{BTreeMap, BTreeSet};

use crate::kalloc::{FreeList, PageMemory, Pool};
use crate::memlayout::{PAddr, VAddr, p2v, v2p};
use crate::mmu::{PD, PGSIZE, PT, is_page_aligned};
use crate::pageinfo::AtomicCount;

/// 32-bit words in a page: pages are stored as words so that they can be
/// read as page directories and tables (arrays of 32-bit entries).
pub const WORDS: usize = PGSIZE / 4;

/// What a page holds before anyone writes it.
const UNWRITTEN: u32 = 0xEEEE_EEEE;

/// Pages by physical address, and the free bits.
#[derive(Default)]
pub struct SimRam {
    pages: BTreeMap<u32, Box<[u32; WORDS]>>,
    free: BTreeSet<u32>,
}

impl SimRam {
    /// The words of the page at `pa`; a page nobody has written (the free
    /// list writes every page it is given) is a test failure.
    pub fn words(&mut self, pa: PAddr) -> &mut [u32; WORDS] {
        self.pages
            .get_mut(&pa.0)
            .unwrap_or_else(|| panic!("simulated access to page {:#x}, never given", pa.0))
    }

    /// The page at kernel address `va`, created on first use.
    fn page(&mut self, va: VAddr) -> &mut [u32; WORDS] {
        assert!(
            is_page_aligned(va.0),
            "simulated access to unaligned {:#x}",
            va.0
        );
        self.pages
            .entry(v2p(va).0)
            .or_insert_with(|| Box::new([UNWRITTEN; WORDS]))
    }

    /// The page at `pa` as a page directory.
    pub fn pd(&mut self, pa: PAddr) -> &mut PD {
        let words: *mut [u32; WORDS] = self.words(pa);
        // SAFETY: a live, 4-byte aligned array of 1024 u32s, and PDEntry is a
        // repr(transparent) u32; the `&mut self` borrow keeps it unique.
        unsafe { &mut *words.cast::<PD>() }
    }

    /// The page at `pa` as a page table.
    pub fn pt(&mut self, pa: PAddr) -> &mut PT {
        let words: *mut [u32; WORDS] = self.words(pa);
        // SAFETY: as for `pd` (PTEntry is a repr(transparent) u32).
        unsafe { &mut *words.cast::<PT>() }
    }

    /// Copy the page at `from` over the page at `to`.
    pub fn copy(&mut self, from: PAddr, to: PAddr) {
        let contents = *self.words(from);
        *self.words(to) = contents;
    }
}

impl PageMemory for SimRam {
    unsafe fn fill(&mut self, page: VAddr, byte: u8) {
        self.page(page).fill(u32::from_ne_bytes([byte; 4]));
    }
    unsafe fn set_link(&mut self, page: VAddr, next: Option<VAddr>) {
        self.page(page)[0] = next.map_or(0, |v| v.0);
    }
    unsafe fn link(&self, page: VAddr) -> Option<VAddr> {
        let raw = self.pages[&v2p(page).0][0];
        (raw != 0).then_some(VAddr(raw))
    }
    fn mark_free(&mut self, page: VAddr, free: bool) -> bool {
        let pa = v2p(page).0;
        if free {
            !self.free.insert(pa)
        } else {
            self.free.remove(&pa)
        }
    }
    fn is_marked(&self, page: VAddr) -> bool {
        self.free.contains(&v2p(page).0)
    }
    fn count_marked(&self) -> usize {
        self.free.len()
    }
}

/// Physical memory the simulations count pages in: 4 MiB.
pub const SIM_PHYSTOP: PAddr = PAddr(0x0040_0000);
/// First physical page the simulated free list may take back.
pub const SIM_END: PAddr = PAddr(0x0010_0000);
/// First physical page a simulation frees.
pub const SIM_FIRST_FREE: PAddr = PAddr(0x0020_0000);

/// A free list (with junk fills) holding `npages` pages from
/// [`SIM_FIRST_FREE`] up, in a pool of `[SIM_END, SIM_PHYSTOP)`.
pub fn free_list(npages: usize) -> FreeList<SimRam> {
    let pool = Pool {
        end: p2v(SIM_END),
        top: p2v(SIM_PHYSTOP),
        ram: None,
        counts: &[],
    };
    let mut list = FreeList::new(pool, true, SimRam::default());
    let start = p2v(SIM_FIRST_FREE);
    let end = VAddr(start.0 + (npages * PGSIZE) as u32);
    // SAFETY: simulated pages are heap data nothing else refers to.
    let freed = unsafe { list.free_range(start, end) }.expect("inside the pool");
    assert_eq!(freed.pages, npages);
    list
}

/// Zeroed counts for every page below [`SIM_PHYSTOP`], for the life of the
/// test.
pub fn counts() -> &'static [AtomicCount] {
    zeroed_counts(SIM_PHYSTOP)
}

/// Zeroed counts for every page below `phystop`, for the life of the test.
pub fn zeroed_counts(phystop: PAddr) -> &'static [AtomicCount] {
    let n = phystop.0 as usize / PGSIZE;
    Box::leak((0..n).map(|_| AtomicCount::new(0)).collect())
}
