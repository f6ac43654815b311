//! `kalloc=scan` in the kernel: the free bits and count, under one lock
//! (Linux 0.01 had none: it ran on one CPU).

use super::super::{
    Allocator, AuditError, DirectMap, Freed, JUNK, KfreeError, Mode, Pool, acquire,
    report::report_first,
};
use super::Scan;
use crate::memlayout::VAddr;
use crate::spinlock::{LockStats, Spinlock};

/// Linux 0.01's `mem_map`, one bit a page, under the lock `kmem`.
pub struct Linux {
    bits: Spinlock<Scan<DirectMap>>,
}

pub static LINUX: Linux = Linux {
    bits: Spinlock::new(
        crate::lockorder::KMEM,
        Scan::new(Pool::NOWHERE, JUNK, DirectMap),
    ),
};

impl Allocator for Linux {
    fn mode(&self) -> Mode {
        Mode::Scan
    }

    fn set_pool(&self, pool: Pool) {
        acquire(&self.bits, None).list.set_pool(pool)
    }

    unsafe fn free_range(&self, _: usize, start: VAddr, end: VAddr) -> Result<Freed, KfreeError> {
        // SAFETY: passed on from the caller.
        unsafe { acquire(&self.bits, None).list.free_range(start, end) }
    }

    /// Linux's `free_page`: set the page's bit.
    #[inline]
    unsafe fn push(&self, va: VAddr) -> Result<(), KfreeError> {
        // SAFETY: passed on from the caller.
        unsafe { acquire(&self.bits, None).list.put(va) }
    }

    /// Linux's `get_free_page`: the highest free page.
    #[inline]
    fn pop(&self) -> Option<VAddr> {
        acquire(&self.bits, None).list.alloc()
    }

    fn nfree(&self) -> usize {
        acquire(&self.bits, None).list.nfree
    }

    fn audit(&self) -> Result<usize, AuditError> {
        acquire(&self.bits, None).list.audit()
    }

    /// The first `n` pages the scan finds, highest first.
    fn first_free(&self, n: usize, f: &mut dyn FnMut(&'static str, usize, usize, VAddr)) {
        let bits = acquire(&self.bits, None);
        report_first(n, self.bits.name(), bits.list.nfree, bits.list.iter(), f);
    }

    fn lock_stats(&self, f: &mut dyn FnMut(LockStats)) {
        f(self.bits.stats())
    }
}
