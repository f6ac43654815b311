//! Physical memory allocator (xv6's `kalloc.c`), for page tables, kernel
//! stacks and the monitor's pages: whole 4096-byte pages. `kinit1` and
//! `kinit2` free the boot stages' ranges through `freerange`, `kalloc` and
//! `kfree` take and give back one page.
//!
//! The free pages are kept one of three ways, chosen once, by kinit1, from
//! the `kalloc=` option ([`Mode`]): xv6's one list and lock (`kmem`, below),
//! a list per CPU with stealing (`kalloc/percpu.rs`), or Linux 0.01's free
//! bits, scanned from the top (`kalloc/scan.rs`). Each is an [`Allocator`]. The
//! list itself, threaded through the free pages, is [`FreeList`]
//! (`kalloc/freelist.rs`), pure logic the host's unit tests run on
//! simulated pages.

mod freelist;
mod mode;
mod page;
mod scan;
mod steal;

pub use freelist::{
    AuditError, FreeList, FreePages, Freed, JUNK_ALLOC, JUNK_FREE, KfreeError, PageMemory, Pool,
    audit_lists,
};
pub use mode::{BadMode, Mode};
pub use page::Page;
pub use scan::{LinuxSays, Scan, highest_set};
pub use steal::{STEAL_MAX, pick_victim, steal_batch};

// The kernel's own (each file is kernel-only, empty on the host): the pages' memory,
// the interface kinit1 chooses a way through, the per-CPU lists, and what
// the monitor and the tests ask.
mod directmap;
mod kmem;
pub mod percpu;
mod report;
#[cfg(kernel)]
pub use {directmap::*, kmem::*, report::*};

// Below, xv6's kalloc.c, in the kernel only.
#[cfg(kernel)]
use {
    crate::memlayout::VAddr,
    crate::memmap::Ram,
    crate::mmu::PageStep,
    crate::spinlock::{LockStats, Spinlock},
    core::sync::atomic::{AtomicBool, AtomicU8, Ordering},
};

/// Whether kfree and kalloc fill pages with junk (the `junk` feature).
pub const JUNK: bool = cfg!(feature = "junk");

/// xv6's `struct kmem`: the lock, `use_lock`, and the free list of
/// `global` mode (every CPU's). `use_lock` is off until the end of kinit2,
/// as in xv6 (until then only the boot CPU allocates, interrupts off, so
/// there is no one to exclude), for the locks of every mode.
#[cfg(kernel)]
struct Kmem {
    lock: Spinlock<FreeList<DirectMap>>,
    use_lock: AtomicBool,
}

/// kinit1's range, which kinit2's must not overlap.
#[cfg(kernel)]
static KINIT1: spin::Once<(VAddr, VAddr)> = spin::Once::new();

#[cfg(kernel)]
static KMEM: Kmem = Kmem {
    lock: Spinlock::new(
        crate::lockorder::KMEM,
        FreeList::new(Pool::NOWHERE, JUNK, DirectMap),
    ),
    use_lock: AtomicBool::new(false),
};

/// `global` mode: each call takes the one lock ([`acquire`]: if
/// `use_lock`), does its work on the one list, and releases the lock.
#[cfg(kernel)]
impl Allocator for Kmem {
    fn mode(&self) -> Mode {
        Mode::Global
    }
    fn set_pool(&self, pool: Pool) {
        acquire(&self.lock, None).list.set_pool(pool)
    }
    unsafe fn free_range(&self, _: usize, start: VAddr, end: VAddr) -> Result<Freed, KfreeError> {
        // SAFETY: passed on from the caller.
        unsafe { acquire(&self.lock, None).list.free_range(start, end) }
    }
    // Inlined into kfree_addr, as before the lock-order check made the
    // lock's code longer (an out-of-line push cost the pair 30-40
    // instructions: docs/benchmarks.md).
    #[inline(always)]
    unsafe fn push(&self, va: VAddr) -> Result<(), KfreeError> {
        // SAFETY: passed on from the caller.
        unsafe { acquire(&self.lock, None).list.push(va) }
    }
    #[inline]
    fn pop(&self) -> Option<VAddr> {
        acquire(&self.lock, None).list.alloc()
    }
    fn nfree(&self) -> usize {
        acquire(&self.lock, None).list.nfree()
    }
    fn audit(&self) -> Result<usize, AuditError> {
        audit_lists(&mut [acquire(&self.lock, None).list])
    }
    fn first_free(&self, n: usize, f: &mut dyn FnMut(&'static str, usize, usize, VAddr)) {
        let kmem = acquire(&self.lock, None);
        report_first(n, self.lock.name(), kmem.list.nfree(), kmem.list.iter(), f);
    }
    fn lock_stats(&self, f: &mut dyn FnMut(LockStats)) {
        f(self.lock.stats())
    }
}

/// First boot stage: choose how to keep the free pages (`mode`), then free
/// the RAM pages of `[vstart, vend)`, what entrypgdir maps, without locks.
/// kfree then accepts `[vstart, top)`: RAM pages only, none that `counts`
/// (the page counts) says a page table maps.
// Never inlined: a function of its own for breakpoints in GDB and Bochs.
#[cfg(kernel)]
#[inline(never)]
pub fn kinit1(
    ram: Ram,
    counts: &'static [AtomicU8],
    vstart: VAddr,
    vend: VAddr,
    top: VAddr,
    mode: Mode,
) -> Freed {
    KMEM.use_lock.store(false, Ordering::Release);
    CHOSEN.store(mode as u8, Ordering::Relaxed);
    KINIT1.call_once(|| (vstart, vend));
    let ram = Some(RAM.call_once(|| ram));
    let pool = *POOL.call_once(|| Pool::new(vstart, top, ram, counts));
    allocator(|a| a.set_pool(pool));
    Freed {
        stage: "kinit1",
        ..freerange(0, vstart, vend)
    }
}

/// Second boot stage: free `[vstart, vend)`, which `kpgdir` (kvmalloc's
/// page directory; `None` before kvmalloc) maps, then turn the locks on.
/// In `percpu` mode each started CPU gets an equal slice.
// Never inlined: a function of its own for breakpoints in GDB and Bochs.
#[cfg(kernel)]
#[inline(never)]
pub fn kinit2(vstart: VAddr, vend: VAddr, kpgdir: Option<crate::memlayout::PAddr>) -> Freed {
    assert!(
        kpgdir.is_some(),
        "kinit2 before kvmalloc: [{:#010x}, {:#010x}) is not mapped yet (entrypgdir maps \
         only the first 4 MiB); main must call kvmalloc first",
        vstart.0,
        vend.0
    );
    if let Some(&(start1, end1)) = KINIT1.get()
        && vstart < end1
        && start1 < vend
    {
        panic!(
            "kinit2: its range [{:#010x}, {:#010x}) overlaps kinit1's [{:#010x}, {:#010x}): \
             expected kinit2 to start at or above kinit1's end, or pages in use would be \
             freed again (exercise boot/kinit: kinit_bounds)",
            vstart.0, vend.0, start1.0, end1.0
        );
    }
    let (n, pages) = (allocator(|a| a.shares()), vstart.pages_to(vend));
    let bound = |i: usize| match i == n {
        true => vend,
        false => vstart.add_pages(pages * i / n),
    };
    let mut freed = freerange(0, bound(0), bound(1));
    for i in 1..n {
        let slice = freerange(i, bound(i), bound(i + 1));
        (freed.end, freed.pages) = (slice.end, freed.pages + slice.pages);
    }
    KMEM.use_lock.store(true, Ordering::Release);
    if let Some(dir) = kpgdir.map(crate::memlayout::p2v)
        && let Err(KfreeError::DoubleFree { .. }) = check_free(dir)
    {
        panic!(
            "kinit2: kvmalloc's page directory {:#010x}, in CR3, is on a free list: expected \
             kinit2's range to leave the pages kvmalloc took alone (exercise boot/kinit: \
             kinit_bounds)",
            dir.0
        );
    }
    Freed {
        stage: "kinit2",
        ..freed
    }
}

/// Free the RAM pages of `[vstart, vend)` onto list `i` (xv6's
/// `freerange`); any broken rule is a kernel bug.
#[cfg(kernel)]
pub(crate) fn freerange(i: usize, vstart: VAddr, vend: VAddr) -> Freed {
    // SAFETY: boot hands over RAM no one has used: above the kernel image
    // and the boot stack, outside what GRUB left (reserved in the pool's
    // RAM, which free_range skips).
    let freed = unsafe { allocator(|a| a.free_range(i, vstart, vend)) };
    freed.unwrap_or_else(|e| panic!("{e}"))
}

/// Allocate one 4096-byte page, or `None` if memory is exhausted.
#[cfg(kernel)]
#[must_use = "a page dropped without kfree is lost for good"]
pub fn kalloc() -> Option<Page> {
    allocator(|a| a.pop()).map(Page::new)
}

/// Give a page back.
#[cfg(kernel)]
pub fn kfree(page: Page) {
    // SAFETY: `Page` owns its page, and giving it up ends the ownership.
    unsafe { kfree_addr(page.into_va()) }
}

/// Free the page at `va` (xv6's `kfree(char *v)`). Panics, naming the
/// address and the rule, if a page table maps it still (its count is not
/// 0: `page_decref` frees such a page), if `va` is not page-aligned, is
/// below the kernel's end, is at or above P2V(PHYSTOP), is not RAM the
/// kernel may use (a hole or a reserved region, which the message names),
/// or is free already; in `scan` mode in Linux 0.01's words where it has
/// some ([`LinuxSays`]).
///
/// # Safety
/// The page is not used by anyone any more.
#[cfg(kernel)]
pub unsafe fn kfree_addr(va: VAddr) {
    let pool = POOL.get().expect("kfree before kinit1");
    let rules = pool.check_unmapped(va).and_then(|()| pool.check(va));
    // SAFETY: the caller gives the page up; it passed kfree's rules.
    let pushed = rules.and_then(|()| unsafe { allocator(|a| a.push(va)) });
    if let Err(e) = pushed {
        match mode() {
            Mode::Scan => panic!("{}", LinuxSays(e)),
            _ => panic!("{e}"),
        }
    }
}
