//! Reference counts of physical pages (JOS lab 2's `struct PageInfo` and its
//! `pp_ref`, Linux 0.01's `mem_map`), the counted page API on top of
//! `kalloc`, and JOS's `boot_alloc`.
//!
//! A page that several page tables map (a page shared copy-on-write after
//! `fork`, say) may be freed only when the last mapping goes. So every
//! physical page below PHYSTOP gets a count of the page-table entries that
//! map it; page `n` (physical address `n * PGSIZE`) has `counts[n]`.
//!
//! # One allocator, one free list, one truth
//!
//! The counts are not a second allocator. `kalloc`/`kfree` keep the one free
//! list, and its free bit per page says whether a page is free. The counted
//! API is a thin layer over them ([`Pages`]):
//!
//! - `page_alloc(flags)` is `kalloc` (zero-filled with [`ALLOC_ZERO`]) and
//!   hands the page out with count 0: the caller's first mapping
//!   (`page_insert`) makes it 1.
//! - `page_free(pa)` refuses a page whose count is not 0 or that is already
//!   free, and otherwise is `kfree`.
//! - `page_decref(pa)` drops one reference and calls `page_free` when the
//!   count reaches 0.
//!
//! So a free page always has count 0, and a counted page goes back to the
//! free list only through `page_decref`/`page_free`. Pages nobody counts
//! (the kernel's own page tables, kernel stacks) keep using `kalloc`/`kfree`
//! directly.
//!
//! # In the kernel
//!
//! JOS puts its `pages` array right after the kernel image with
//! `boot_alloc`; so does this kernel ([`BootAlloc`]): before `kinit1`, it
//! takes one byte per page from `end` (below `P2V(BOOT_MAPPED)`, the memory
//! entrypgdir maps), zeroes them, wraps them in a [`PageInfos`], and starts
//! `kinit1` at [`BootAlloc::next`].
//!
//! A count is one byte ([`Count`]), as in Linux 0.01's `mem_map` (JOS uses
//! two): at the largest PHYSTOP two bytes a page would take 1008 KiB of the
//! 4 MiB that kinit1 frees from, leaving too few pages for the 513 page
//! tables kvmalloc then needs. The counts are atomic: in `kalloc=percpu`
//! mode each CPU's free list has a lock of its own, so no one lock could
//! cover the counts, and an atomic decrement tells exactly one CPU that it
//! dropped the last reference. A [`Pages`] pairs a free list with the
//! counts, so that `page_free`'s checks and its `kfree` happen under that
//! list's lock. Errors are returned here; the kernel panics with their
//! messages.

use core::fmt;
use core::sync::atomic::{AtomicU8, Ordering};

use crate::kalloc::{FreeList, KfreeError, PageMemory};
use crate::memlayout::{KERNBASE, PAddr, PHYSTOP_MAX, VAddr, p2v, v2p};
use crate::mmu::{PGSHIFT, PGSIZE, pgroundup};

/// A broken rule of the page counts or of the counted API, naming the page
/// (by physical address) and the rule. The kernel panics with the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageError {
    /// The address is at or above PHYSTOP: no page has it.
    InvalidPa { pa: PAddr, phystop: PAddr },
    /// The address is below KERNBASE, so it is not a direct-map address.
    NotKernelVa { va: VAddr },
    /// `page_decref` on a page nobody refers to.
    CountZero { pa: PAddr },
    /// `page_incref` on a page whose count cannot grow any more.
    CountFull { pa: PAddr },
    /// `page_free` on a page some mapping still refers to.
    InUse { pa: PAddr, count: Count },
    /// `page_free` on a page that is on the free list.
    AlreadyFree { pa: PAddr },
    /// `kfree` refused the page (outside the pool, not RAM, ...).
    Kfree(KfreeError),
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match *self {
            PageError::InvalidPa { pa, phystop } => write!(
                f,
                "pa2page: invalid physical address {:#010x} (at or above PHYSTOP {:#010x})",
                pa.0, phystop.0
            ),
            PageError::NotKernelVa { va } => write!(
                f,
                "kva2page: {:#010x} is below KERNBASE {:#010x}: not a kernel address",
                va.0, KERNBASE.0
            ),
            PageError::CountZero { pa } => {
                write!(f, "page_decref: page {:#010x} has count 0", pa.0)
            }
            PageError::CountFull { pa } => write!(
                f,
                "page_incref: page {:#010x} has count {}, the most a count holds",
                pa.0,
                Count::MAX
            ),
            PageError::InUse { pa, count } => {
                write!(f, "page_free: page {:#010x} has count {count}", pa.0)
            }
            PageError::AlreadyFree { pa } => {
                write!(f, "page_free: page {:#010x} is already free", pa.0)
            }
            PageError::Kfree(e) => write!(f, "page_free: {e}"),
        }
    }
}

/// A physical page number (JOS's index into `pages`, Linux's `MAP_NR`):
/// the page at physical address `n * PGSIZE`. Only a [`PageInfos`] makes
/// one, so it is always below PHYSTOP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ppn(usize);

impl Ppn {
    /// The index into the counts.
    pub fn index(self) -> usize {
        self.0
    }

    /// Physical address of the page's first byte (JOS's `page2pa`).
    pub fn pa(self) -> PAddr {
        PAddr((self.0 << PGSHIFT) as u32)
    }

    /// Kernel virtual address of the page (JOS's `page2kva`).
    pub fn kva(self) -> VAddr {
        p2v(self.pa())
    }
}

/// A page's reference count: how many page-table entries map it.
pub type Count = u8;

/// The count as stored, shared by every CPU.
pub type AtomicCount = AtomicU8;

/// One reference count per physical page below PHYSTOP.
pub struct PageInfos<'a> {
    counts: &'a [AtomicCount],
}

impl<'a> PageInfos<'a> {
    /// The counts of pages `0..counts.len()`, so PHYSTOP is
    /// `counts.len() * PGSIZE`. Panics if that passes PHYSTOP_MAX (the
    /// pages would have no kernel address).
    pub fn new(counts: &'a [AtomicCount]) -> Self {
        assert!(
            counts.len() <= PHYSTOP_MAX.0 as usize / PGSIZE,
            "PageInfos: {} pages reach past PHYSTOP_MAX {:#010x}",
            counts.len(),
            PHYSTOP_MAX.0
        );
        PageInfos { counts }
    }

    /// Number of pages counted.
    pub fn npages(&self) -> usize {
        self.counts.len()
    }

    /// First physical address with no count.
    pub fn phystop(&self) -> PAddr {
        PAddr((self.counts.len() * PGSIZE) as u32)
    }

    /// The page holding physical address `pa` (JOS's `pa2page`).
    pub fn pa2page(&self, pa: PAddr) -> Result<Ppn, PageError> {
        let n = pa.0 as usize >> PGSHIFT;
        if n < self.counts.len() {
            Ok(Ppn(n))
        } else {
            Err(PageError::InvalidPa {
                pa,
                phystop: self.phystop(),
            })
        }
    }

    /// The page holding kernel virtual address `va` (JOS's `kva2page`).
    pub fn kva2page(&self, va: VAddr) -> Result<Ppn, PageError> {
        if va < KERNBASE {
            return Err(PageError::NotKernelVa { va });
        }
        self.pa2page(v2p(va))
    }

    /// How many mappings refer to the page at `pa`.
    pub fn count(&self, pa: PAddr) -> Result<Count, PageError> {
        Ok(self.cell(pa)?.load(Ordering::Relaxed))
    }

    /// Count one more reference to the page at `pa`; returns the new count.
    pub fn incref(&self, pa: PAddr) -> Result<Count, PageError> {
        let old = self
            .cell(pa)?
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| c.checked_add(1))
            .map_err(|_| PageError::CountFull { pa })?;
        Ok(old + 1)
    }

    /// Drop one reference to the page at `pa`; `true` when none is left,
    /// so that the caller must free the page now. Of several CPUs dropping
    /// references at once, exactly one sees the count reach 0.
    pub fn decref(&self, pa: PAddr) -> Result<bool, PageError> {
        let old = self
            .cell(pa)?
            // AcqRel: whoever frees the page sees every write made through
            // the other, already dropped, mappings.
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |c| c.checked_sub(1))
            .map_err(|_| PageError::CountZero { pa })?;
        Ok(old == 1)
    }

    fn cell(&self, pa: PAddr) -> Result<&AtomicCount, PageError> {
        Ok(&self.counts[self.pa2page(pa)?.0])
    }
}

/// What `page_alloc` does to the page's contents (JOS's `alloc_flags`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllocFlags {
    /// Fill the page with zeroes; otherwise it holds kalloc's junk.
    pub zero: bool,
}

/// Zero-fill the page (JOS's `ALLOC_ZERO`).
pub const ALLOC_ZERO: AllocFlags = AllocFlags { zero: true };

/// The counted page API: the one free list and the counts, together.
pub struct Pages<'a, 'b, M> {
    pub list: &'a mut FreeList<M>,
    pub infos: &'a PageInfos<'b>,
}

// The kernel's own `page_alloc`, `page_incref` and counts are in
// `pageinfo/kernel.rs`: its page_alloc is kalloc, which in percpu mode may
// steal from another CPU's list, something one list cannot do. So the
// kernel uses only `page_free` and `page_decref` from here (the rules that
// need a list and the counts together); the rest is the one-list model the
// host tests drive the page-table code with.
impl<M: PageMemory> Pages<'_, '_, M> {
    /// A page from the free list with count 0 (JOS's `page_alloc`), or
    /// `None` when memory is exhausted.
    #[cfg_attr(kernel, allow(dead_code))]
    pub fn page_alloc(&mut self, flags: AllocFlags) -> Option<PAddr> {
        let va = if flags.zero {
            self.list.alloc_zeroed()
        } else {
            self.list.alloc()
        };
        va.map(v2p)
    }

    /// Give back a page nobody maps (JOS's `page_free`): refuses, changing
    /// nothing, a page whose count is not 0 or that is already free.
    ///
    /// # Safety
    /// Nothing the counts do not see (a kernel pointer into the page) still
    /// uses it.
    pub unsafe fn page_free(&mut self, pa: PAddr) -> Result<(), PageError> {
        let count = self.infos.count(pa)?;
        if count != 0 {
            return Err(PageError::InUse { pa, count });
        }
        let va = p2v(pa);
        match self.list.check_free(va) {
            Err(KfreeError::DoubleFree { .. }) => return Err(PageError::AlreadyFree { pa }),
            Err(e) => return Err(PageError::Kfree(e)),
            Ok(()) => {}
        }
        // SAFETY: no mapping refers to the page (count 0), and the caller
        // vouches for every other use.
        unsafe { self.list.free(va) }.map_err(PageError::Kfree)
    }

    /// Count one more mapping of the page at `pa`; returns the new count.
    #[cfg_attr(kernel, allow(dead_code))]
    pub fn page_incref(&mut self, pa: PAddr) -> Result<Count, PageError> {
        self.infos.incref(pa)
    }

    /// Drop one mapping of the page at `pa` (JOS's `page_decref`), freeing
    /// the page when it was the last; `true` when it was freed.
    ///
    /// # Safety
    /// As for [`Pages::page_free`], should this be the last mapping.
    pub unsafe fn page_decref(&mut self, pa: PAddr) -> Result<bool, PageError> {
        if !self.infos.decref(pa)? {
            return Ok(false);
        }
        // SAFETY: passed on from the caller.
        unsafe { self.page_free(pa) }?;
        Ok(true)
    }

    /// How many mappings refer to the page at `pa`.
    #[cfg_attr(kernel, allow(dead_code))]
    pub fn count(&self, pa: PAddr) -> Result<Count, PageError> {
        self.infos.count(pa)
    }

    /// Number of free pages.
    #[cfg_attr(kernel, allow(dead_code))]
    pub fn nfree(&self) -> usize {
        self.list.nfree()
    }
}

/// `boot_alloc` could not fit a request below its limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootAllocError {
    pub bytes: u32,
    pub next: VAddr,
    pub limit: VAddr,
}

impl fmt::Display for BootAllocError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "boot_alloc: no {:#x} bytes of usable pages in a row from {:#010x} up to the limit {:#010x}",
            self.bytes, self.next.0, self.limit.0
        )
    }
}

/// JOS's `boot_alloc`: before the free list exists, take memory right after
/// the kernel image by moving a pointer up, whole pages at a time. Nothing
/// is ever given back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootAlloc {
    next: VAddr,
    limit: VAddr,
}

impl BootAlloc {
    /// Take memory from the first page boundary at or above `end` (the end
    /// of the kernel image) up to `limit` (the end of what is mapped).
    pub fn new(end: VAddr, limit: VAddr) -> Self {
        BootAlloc {
            next: VAddr(pgroundup(end.0).unwrap_or(limit.0)),
            limit,
        }
    }

    /// `bytes` bytes at the first page boundary at or after the next free
    /// one from which all the pages they need are `usable` (not holding
    /// something the boot loader left, such as its boot information or a
    /// module); the allocator moves on to the page boundary after them, so
    /// the unusable pages skipped are never handed out. `alloc(0, _)` says
    /// where the next allocation would start, taking nothing. Refuses,
    /// changing nothing, when no such pages lie below the limit.
    pub fn alloc(
        &mut self,
        bytes: u32,
        usable: impl Fn(VAddr) -> bool,
    ) -> Result<VAddr, BootAllocError> {
        let refused = BootAllocError {
            bytes,
            next: self.next,
            limit: self.limit,
        };
        let mut at = self.next.0;
        loop {
            let after = at
                .checked_add(bytes)
                .and_then(pgroundup)
                .filter(|&after| after <= self.limit.0)
                .ok_or(refused)?;
            // The last unusable page in the run, if any: start after it.
            match (at..after)
                .step_by(PGSIZE)
                .rev()
                .find(|&p| !usable(VAddr(p)))
            {
                Some(bad) => at = bad + PGSIZE as u32,
                None => {
                    self.next = VAddr(after);
                    return Ok(VAddr(at));
                }
            }
        }
    }

    /// The first page not taken: where `kinit1` may start.
    pub fn next(&self) -> VAddr {
        self.next
    }

    /// Stop allocating, for good, and say where what it handed out ends
    /// ([`BootAlloc::next`]): the caller reserves it, and kinit1 frees the
    /// rest. Consuming the allocator is what keeps it "usable only before
    /// kinit1".
    pub fn finish(self) -> VAddr {
        self.next
    }
}

#[cfg(kernel)]
pub mod kernel;

#[cfg(test)]
pub mod sim;

#[cfg(test)]
mod tests;
