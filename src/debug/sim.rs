//! The one simulated physical memory of the host tests: pages by physical
//! address, created on first write (reading a page nobody wrote fails the
//! test), the free list's free bits, and views of a page as bytes, words, a
//! page directory or a page table. The free list's [`PageMemory`] and the
//! page-allocation [`PageSource`] run on it; vm's and pmap's tests wrap it
//! with their own allocation policies (`vm/sim.rs`, `pmap/sim.rs`).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use crate::jos::pageinfo::{AtomicCount, PageSource};
use crate::kalloc::{FreeList, PageMemory, Pool};
use crate::memlayout::{PAddr, VAddr, p2v, v2p};
use crate::mmu::{PD, PGSIZE, PT, PageStep};

/// 32-bit words in a page: pages are stored as words so that they can be
/// read as page directories and tables (arrays of 32-bit entries).
pub const WORDS: usize = PGSIZE / 4;

/// What a page holds once made, before its first write fills it.
const UNWRITTEN: u32 = 0xEEEE_EEEE;

/// Pages by physical address, and the free bits.
#[derive(Default)]
pub struct SimRam {
    pages: BTreeMap<u32, Box<[u32; WORDS]>>,
    free: BTreeSet<u32>,
}

impl SimRam {
    /// The words of the page at `pa`; a page nobody has written is a test
    /// failure.
    pub fn words(&mut self, pa: PAddr) -> &mut [u32; WORDS] {
        self.pages
            .get_mut(&pa.0)
            .unwrap_or_else(|| panic!("simulated access to page {:#x}, never written", pa.0))
    }

    /// The page at `pa` as bytes (as for [`SimRam::words`]).
    pub fn bytes(&mut self, pa: PAddr) -> &mut [u8; PGSIZE] {
        let words: *mut [u32; WORDS] = self.words(pa);
        // SAFETY: a live array of PGSIZE bytes; u8 needs no alignment and
        // every byte pattern is a valid u32 and u8. The `&mut self` borrow
        // keeps it unique.
        unsafe { &mut *words.cast::<[u8; PGSIZE]>() }
    }

    /// The page at `pa` as a page directory (as for [`SimRam::words`]).
    pub fn pd(&mut self, pa: PAddr) -> &mut PD {
        let words: *mut [u32; WORDS] = self.words(pa);
        // SAFETY: a live, 4-byte aligned array of 1024 u32s, and PDEntry is a
        // repr(transparent) u32; the `&mut self` borrow keeps it unique.
        unsafe { &mut *words.cast::<PD>() }
    }

    /// The page at `pa` as a page table (as for [`SimRam::words`]).
    pub fn pt(&mut self, pa: PAddr) -> &mut PT {
        let words: *mut [u32; WORDS] = self.words(pa);
        // SAFETY: as for `pd` (PTEntry is a repr(transparent) u32).
        unsafe { &mut *words.cast::<PT>() }
    }

    /// Write `byte` over the whole page at `pa`, making the page if nobody
    /// wrote it before.
    pub fn fill_with(&mut self, pa: PAddr, byte: u8) {
        self.made(pa).fill(u32::from_ne_bytes([byte; 4]));
    }

    /// Copy the page at `from` over the page at `to`.
    pub fn copy(&mut self, from: PAddr, to: PAddr) {
        let contents = *self.words(from);
        *self.made(to) = contents;
    }

    /// Forget the page at `pa`, so that reading it fails again; `false` if
    /// nobody wrote it (never made, or forgotten already).
    pub fn forget(&mut self, pa: PAddr) -> bool {
        self.pages.remove(&pa.0).is_some()
    }

    /// How many pages have been written (and not forgotten).
    pub fn npages(&self) -> usize {
        self.pages.len()
    }

    /// The page at `pa`, made on first use.
    fn made(&mut self, pa: PAddr) -> &mut [u32; WORDS] {
        assert!(
            pa.is_page_start(),
            "simulated access to unaligned {:#x}",
            pa.0
        );
        self.pages
            .entry(pa.0)
            .or_insert_with(|| Box::new([UNWRITTEN; WORDS]))
    }
}

impl PageMemory for SimRam {
    unsafe fn fill(&mut self, page: VAddr, byte: u8) {
        self.fill_with(v2p(page), byte);
    }
    unsafe fn set_link(&mut self, page: VAddr, next: Option<VAddr>) {
        self.made(v2p(page))[0] = next.map_or(0, |v| v.0);
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
    fn highest_marked(&self, lo: VAddr, below: VAddr) -> Option<VAddr> {
        // As the kernel's word scan: the page holding `lo` counts, and an
        // empty range has none.
        let (lo, below) = (v2p(lo).page_down().0, v2p(below).0);
        let pa = self.free.range(lo..below.max(lo)).next_back()?;
        Some(p2v(PAddr(*pa)))
    }
}

/// One simulated memory under several free lists, as the per-CPU lists
/// share the kernel's direct map and free bits.
pub type SharedRam = Rc<RefCell<SimRam>>;

impl PageMemory for SharedRam {
    unsafe fn fill(&mut self, page: VAddr, byte: u8) {
        // SAFETY: passed on from the caller.
        unsafe { self.borrow_mut().fill(page, byte) }
    }
    unsafe fn set_link(&mut self, page: VAddr, next: Option<VAddr>) {
        // SAFETY: passed on from the caller.
        unsafe { self.borrow_mut().set_link(page, next) }
    }
    unsafe fn link(&self, page: VAddr) -> Option<VAddr> {
        // SAFETY: passed on from the caller.
        unsafe { self.borrow().link(page) }
    }
    fn mark_free(&mut self, page: VAddr, free: bool) -> bool {
        self.borrow_mut().mark_free(page, free)
    }
    fn is_marked(&self, page: VAddr) -> bool {
        self.borrow().is_marked(page)
    }
    fn count_marked(&self) -> usize {
        self.borrow().count_marked()
    }
    fn highest_marked(&self, lo: VAddr, below: VAddr) -> Option<VAddr> {
        self.borrow().highest_marked(lo, below)
    }
}

/// Where `page_alloc_from` takes pages on the host: one free list of
/// simulated pages (its junk fill included), zeroing through the memory.
impl PageSource for FreeList<SimRam> {
    type Page = VAddr;
    fn take(&mut self) -> Option<VAddr> {
        self.alloc()
    }
    fn zero(&mut self, page: &mut VAddr) {
        self.mem_mut().fill_with(v2p(*page), 0);
    }
    fn into_pa(page: VAddr) -> PAddr {
        v2p(page)
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
    // SAFETY: simulated pages are heap data nothing else refers to.
    let freed =
        unsafe { list.free_range(start, start.add_pages(npages)) }.expect("inside the pool");
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

/// vm's page-table pages on this memory.
pub(crate) mod vm;

/// Counted pages on this memory, for pmap's and memory's tests.
pub(crate) mod pmap;
