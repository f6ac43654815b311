//! Page-table pages on the host, for the tests of `vm` and of the monitor's
//! descriptions: a map from physical address to contents.

use std::collections::BTreeMap;

use super::PageTableMemory;
use crate::memlayout::PAddr;
use crate::mmu::{NPDENTRIES, PD, PT, PageStep};

/// Page-table pages in a map from physical address to contents, handed out
/// from a fake physical address upwards, at most `limit` of them.
pub(crate) struct SimTables {
    next: PAddr,
    limit: usize,
    pub(crate) pages: BTreeMap<u32, Box<[u32; NPDENTRIES]>>,
}

impl SimTables {
    pub(crate) fn new(limit: usize) -> Self {
        SimTables {
            next: PAddr(0x0030_0000),
            limit,
            pages: BTreeMap::new(),
        }
    }
    fn page(&mut self, pa: PAddr) -> *mut [u32; NPDENTRIES] {
        self.pages
            .get_mut(&pa.0)
            .expect("access to a page never allocated")
            .as_mut()
    }
}

impl PageTableMemory for SimTables {
    fn alloc_table(&mut self) -> Option<PAddr> {
        if self.pages.len() == self.limit {
            return None;
        }
        let pa = self.next;
        self.next = pa.add_pages(1);
        self.pages.insert(pa.0, Box::new([0; NPDENTRIES]));
        Some(pa)
    }
    unsafe fn free_table(&mut self, pa: PAddr) {
        assert!(
            self.pages.remove(&pa.0).is_some(),
            "free of {:#x}, never allocated or freed twice",
            pa.0
        );
    }
    unsafe fn pd(&mut self, pa: PAddr) -> &mut PD {
        // SAFETY: the page is a live boxed array of 1024 u32s, and PDEntry
        // is a repr(transparent) u32; `&mut self` keeps the borrow unique.
        unsafe { &mut *self.page(pa).cast::<PD>() }
    }
    unsafe fn pt(&mut self, pa: PAddr) -> &mut PT {
        // SAFETY: as for `pd` (PTEntry is a repr(transparent) u32).
        unsafe { &mut *self.page(pa).cast::<PT>() }
    }
}
