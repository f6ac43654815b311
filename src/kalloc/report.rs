//! What the boot report, the monitor and the tests ask of the allocator,
//! whichever way it keeps the free pages: counts, the first free pages, an
//! audit, the locks' statistics, and kfree's rules asked without freeing.
#![cfg(kernel)]

use core::fmt;
use core::sync::atomic::Ordering;

use super::{AuditError, DirectMap, FreePages, KMEM, KfreeError, Mode, POOL, RAM, allocator};
use crate::memlayout::VAddr;
use crate::memmap::Ram;
use crate::spinlock::LockStats;

/// The free pages and the mode, as the boot report's `kalloc:` line says.
#[derive(Clone, Copy, Debug)]
pub struct Free {
    pub pages: usize,
    pub mode: Mode,
}

impl fmt::Display for Free {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "kalloc: {} pages free ({} mode)", self.pages, self.mode)
    }
}

/// The free pages now, and the mode.
pub fn free() -> Free {
    Free {
        pages: nfree(),
        mode: allocator(|a| a.mode()),
    }
}

/// Number of free pages, on all lists (or marked free, in `scan` mode).
pub fn nfree() -> usize {
    allocator(|a| a.nfree())
}

/// Pages on CPU `cpu`'s list in `percpu` mode; `None` in the other modes.
pub fn cpu_nfree(cpu: usize) -> Option<usize> {
    allocator(|a| a.cpu_nfree(cpu))
}

/// Whether `kfree`/`kalloc` take the locks (true once `kinit2` is done).
pub fn uses_lock() -> bool {
    KMEM.use_lock.load(Ordering::Acquire)
}

/// The RAM kinit1 was given.
pub fn ram() -> &'static Ram {
    RAM.get().expect("kalloc::ram before kinit1")
}

/// Walk the free lists, all held at once (in order) so that nothing moves
/// between them, and check every page on them: aligned, in the pool, RAM
/// the kernel may use (so not in its image, the boot information or a
/// module), marked free, listed once (on one list); and the walks, the
/// O(1) counters and the free bits agree. In `scan` mode, with no list,
/// every page marked free gets the same checks and the marks and the
/// count must agree ([`Scan::audit`](super::Scan::audit)). Returns the
/// number of free pages, or panics naming the first thing wrong.
pub fn audit() -> usize {
    try_audit().unwrap_or_else(|e| panic!("{e}"))
}

/// What [`audit`] checks, the failure returned rather than a panic (for
/// a test that reports it as the test's own failure).
pub fn try_audit() -> Result<usize, AuditError> {
    allocator(|a| a.audit())
}

/// Whether `kfree` would take the page at `va`, or which of the pool's
/// rules it would panic on (a double free included); changes nothing.
pub fn check_free(va: VAddr) -> Result<(), KfreeError> {
    POOL.get()
        .expect("kalloc: check_free before kinit1")
        .check_free(&DirectMap, va)
}

/// For each list in use: call `f(name, nfree, i, va)` on its first `n`
/// free pages, head first, holding that list so it cannot change
/// meanwhile (`f` must not allocate or free). In `scan` mode, which has
/// no list, the first `n` pages its scan finds, highest first, named by
/// the scan's lock.
pub fn first_free(n: usize, mut f: impl FnMut(&'static str, usize, usize, VAddr)) {
    allocator(|a| a.first_free(n, &mut f))
}

/// [`first_free`]'s report of one list (or of the scan): its first `n`
/// pages of `pages`, with their place `k`.
pub(super) fn report_first(
    n: usize,
    name: &'static str,
    nfree: usize,
    pages: impl Iterator<Item = VAddr>,
    f: &mut dyn FnMut(&'static str, usize, usize, VAddr),
) {
    pages
        .take(n)
        .enumerate()
        .for_each(|(k, va)| f(name, nfree, k, va));
}

/// The statistics of the allocator's locks in use (in `percpu` mode, the
/// started CPUs').
pub fn lock_stats(mut f: impl FnMut(LockStats)) {
    allocator(|a| a.lock_stats(&mut f))
}

/// The free pages as the counted page API (`pageinfo::Pages`) sees them:
/// kfree's rules asked first ([`check_free`]), then `kfree`.
pub struct Kfree;

impl FreePages for Kfree {
    fn nfree(&self) -> usize {
        nfree()
    }

    fn check_free(&self, va: VAddr) -> Result<(), KfreeError> {
        check_free(va)
    }

    unsafe fn free(&mut self, va: VAddr) -> Result<(), KfreeError> {
        check_free(va)?;
        // SAFETY: passed on from the caller; the page passed the rules.
        unsafe { super::kfree_addr(va) };
        Ok(())
    }
}

/// Run `f` on the free pages ([`Kfree`]): the counted page API's
/// `page_free` checks and frees through it.
pub fn with_my_list<R>(f: impl FnOnce(&mut dyn FreePages) -> R) -> R {
    f(&mut Kfree)
}
