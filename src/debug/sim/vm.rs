//! vm's allocation policy on the simulated memory, for the tests of `vm`
//! and of the monitor's descriptions: page-table pages handed out from a
//! fixed physical address upwards, at most `limit` at a time (to run out).

use super::SimRam;
use crate::memlayout::PAddr;
use crate::mmu::{PD, PT, PageStep};
use crate::vm::PageTableMemory;

/// Page-table pages on the simulated memory, which holds only them: a
/// freed table is forgotten, so that reading it again fails the test.
pub(crate) struct SimTables {
    next: PAddr,
    limit: usize,
    pub(crate) ram: SimRam,
}

impl SimTables {
    pub(crate) fn new(limit: usize) -> Self {
        SimTables {
            next: PAddr(0x0030_0000),
            limit,
            ram: SimRam::default(),
        }
    }
}

impl PageTableMemory for SimTables {
    fn alloc_table(&mut self) -> Option<PAddr> {
        if self.ram.npages() == self.limit {
            return None;
        }
        let pa = self.next;
        self.next = pa.add_pages(1);
        self.ram.fill_with(pa, 0);
        Some(pa)
    }
    unsafe fn free_table(&mut self, pa: PAddr) {
        assert!(
            self.ram.forget(pa),
            "free of {:#x}, never allocated or freed twice",
            pa.0
        );
    }
    unsafe fn pd(&mut self, pa: PAddr) -> &mut PD {
        self.ram.pd(pa)
    }
    unsafe fn pt(&mut self, pa: PAddr) -> &mut PT {
        self.ram.pt(pa)
    }
}
