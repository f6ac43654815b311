//! Reference counts of physical pages (JOS lab 2's `struct PageInfo` and its
//! `pp_ref`, Linux 0.01's `mem_map`): a byte per page below PHYSTOP, taken
//! by JOS's `boot_alloc` before kinit1, and the counted page API on top of
//! `kalloc` (`page_alloc`, `page_free`, `page_decref`). docs/pages.md says
//! why and how.

use core::fmt;
use core::sync::atomic::{AtomicU8, Ordering};

use crate::kalloc::{FreePages, KfreeError};
use crate::memlayout::{KERNBASE, PAddr, PHYSTOP_MAX, VAddr, p2v, v2p};
use crate::mmu::{PGSHIFT, PGSIZE};
#[cfg(kernel)]
use {
    crate::kalloc::with_my_list, crate::memlayout::BOOT_MAPPED, crate::memmap::Ram,
    crate::mmu::PageStep, spin::Once,
};

mod boot_alloc;

pub use boot_alloc::{BootAlloc, BootAllocError};

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
        // LAB cow/counts BEGIN
        let counter = self.cell(pa)?;
        // AcqRel: whoever frees the page sees every write made through the
        // other, already dropped, mappings.
        let old = counter
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |c| c.checked_sub(1))
            .map_err(|_| PageError::CountZero { pa })?;
        Ok(old == 1)
        // LAB cow/counts END
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

/// Where [`page_alloc_from`] takes its pages: kalloc in the kernel (the
/// running CPU's list, stealing included in `percpu` mode), one free list
/// of simulated pages in the host's tests.
pub trait PageSource {
    /// A page its holder owns (the kernel's `kalloc::Page` handle).
    type Page;

    /// One page off the free lists, holding their junk; `None` when memory
    /// is exhausted.
    fn take(&mut self) -> Option<Self::Page>;

    /// Fill the page with zeroes.
    fn zero(&mut self, page: &mut Self::Page);

    /// Keep the page in use, giving up the handle.
    fn into_pa(page: Self::Page) -> PAddr;
}

/// A page with count 0 (JOS's `page_alloc`), zeroed with [`ALLOC_ZERO`];
/// `None` when memory is exhausted. The one allocation of the counted API:
/// the kernel's `page_alloc` runs it on kalloc, the host's tests on a
/// simulated free list. A free page's count is 0 already (`kfree` refuses a
/// counted page), so the count is left as it is.
#[must_use = "a page dropped without page_free is lost for good"]
pub fn page_alloc_from<S: PageSource>(source: &mut S, flags: AllocFlags) -> Option<PAddr> {
    // LAB pages/page_alloc BEGIN
    let mut page = source.take()?;
    if flags.zero {
        source.zero(&mut page);
    }
    Some(S::into_pa(page))
    // LAB pages/page_alloc END
}

/// The counted page API's rules that need a free list and the counts
/// together: the kernel runs them on the running CPU's list
/// (`kalloc::with_my_list`), the host's tests on a simulated one.
pub struct Pages<'a, 'b, L: ?Sized> {
    pub list: &'a mut L,
    pub infos: &'a PageInfos<'b>,
}

impl<L: FreePages + ?Sized> Pages<'_, '_, L> {
    /// Give back a page nobody maps (JOS's `page_free`): refuses, changing
    /// nothing, a page whose count is not 0 or that is already free.
    ///
    /// # Safety
    /// Nothing the counts do not see (a kernel pointer into the page) still
    /// uses it.
    pub unsafe fn page_free(&mut self, pa: PAddr) -> Result<(), PageError> {
        // LAB pages/page_free BEGIN
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
        // LAB pages/page_free END
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
        // LAB cow/counts BEGIN
        if !self.infos.decref(pa)? {
            return Ok(false);
        }
        // SAFETY: passed on from the caller.
        unsafe { self.page_free(pa) }?;
        Ok(true)
        // LAB cow/counts END
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

/// What the RAM map calls the counts' pages once `pageinit` has reserved
/// them (kfree's message for one of them names it).
pub const RESERVED_AS: &str = "the page counts";

/// What `pageinit` took from `boot_alloc`.
#[cfg(kernel)]
#[derive(Clone, Copy, Debug)]
pub struct CountsArea {
    /// Kernel virtual address of the first count (page 0's).
    pub start: VAddr,
    /// The page boundary after the last count.
    pub end: VAddr,
    /// The counts, one per page below PHYSTOP.
    pub counts: &'static [AtomicCount],
}

#[cfg(kernel)]
impl fmt::Display for CountsArea {
    /// The boot report's line.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "boot_alloc: {} pages [{:#010x}, {:#010x}) for the counts of {} pages",
            self.start.pages_to(self.end),
            self.start.0,
            self.end.0,
            self.counts.len()
        )
    }
}

#[cfg(kernel)]
static INFOS: Once<PageInfos<'static>> = Once::new();
#[cfg(kernel)]
static AREA: Once<CountsArea> = Once::new();

/// Take zeroed counts for every page below `phystop` from a `boot_alloc`
/// that starts at the kernel image's end, on the first pages in a row that
/// `ram` says hold nothing the boot loader left, and reserve them in `ram`
/// so that kinit1 frees around them. Runs once, before kinit1; panics if
/// they do not fit in the memory entrypgdir maps.
#[cfg(kernel)]
pub fn pageinit(ram: &mut Ram, phystop: PAddr) -> CountsArea {
    let mut boot = BootAlloc::new(crate::image::end_addr(), p2v(BOOT_MAPPED));
    let npages = phystop.0 as usize / PGSIZE;
    let bytes = (npages * size_of::<AtomicCount>()) as u32;
    let start = boot.alloc(bytes).unwrap_or_else(|e| {
        panic!("pageinit: counts for {npages} pages: {e} (what entrypgdir maps)")
    });
    // The counts must lie in RAM nobody else holds: linker.ld keeps GRUB's
    // data out of the image's 4 MiB, and the firmware leaves them be.
    let end = boot.next();
    for va in start.pages_until(end) {
        if let Err(why) = ram.check_page(u64::from(v2p(va).0)) {
            panic!("pageinit: the page counts' page {va:#010x} is not free RAM: {why}");
        }
    }
    // SAFETY: boot_alloc handed these bytes to us alone; they are mapped
    // (below the limit entrypgdir maps) and aligned for single bytes.
    // Zeroing them makes valid atomics holding count 0, and nothing frees
    // them (they are reserved below, before kinit1), so the slice lives for
    // ever.
    let counts = unsafe {
        core::ptr::write_bytes(start.0 as *mut u8, 0, bytes as usize);
        core::slice::from_raw_parts(start.0 as *const AtomicCount, npages)
    };
    let end = boot.finish();
    let pa = |va| u64::from(v2p(va).0);
    ram.reserve(pa(start), pa(end), RESERVED_AS);
    INFOS.call_once(|| PageInfos::new(counts));
    *AREA.call_once(|| CountsArea { start, end, counts })
}

/// The counts, once `pageinit` has made them.
#[cfg(kernel)]
pub fn infos() -> &'static PageInfos<'static> {
    INFOS.get().expect("page counts used before pageinit")
}

/// Where the counts are, once `pageinit` has made them.
#[cfg(kernel)]
pub fn area() -> Option<CountsArea> {
    AREA.get().copied()
}

/// The kernel panics on a broken rule of the counts: a kernel bug.
#[cfg(kernel)]
fn or_panic<T>(r: Result<T, PageError>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

/// How many mappings refer to the page at `pa`; panics naming an address
/// at or above PHYSTOP.
#[cfg(kernel)]
pub fn count(pa: PAddr) -> Count {
    or_panic(infos().count(pa))
}

/// A page off the free list with count 0 (JOS's `page_alloc`), zeroed with
/// `ALLOC_ZERO`; `None` when memory is exhausted: [`page_alloc_from`] on
/// `kalloc`, so in `percpu` mode stealing included.
#[cfg(kernel)]
#[must_use = "a page dropped without page_free is lost for good"]
pub fn page_alloc(flags: AllocFlags) -> Option<PAddr> {
    page_alloc_from(&mut Kalloc, flags)
}

/// kalloc as the kernel's [`PageSource`].
#[cfg(kernel)]
struct Kalloc;

#[cfg(kernel)]
impl PageSource for Kalloc {
    type Page = crate::kalloc::Page;

    fn take(&mut self) -> Option<Self::Page> {
        crate::kalloc::kalloc()
    }

    fn zero(&mut self, page: &mut Self::Page) {
        page.zero();
    }

    fn into_pa(page: Self::Page) -> PAddr {
        page.into_pa()
    }
}

/// Give back a page nobody maps (JOS's `page_free`). Panics if its count is
/// not 0, or if it is free already.
///
/// # Safety
/// Nothing the counts do not see (a kernel pointer into the page) uses it.
#[cfg(kernel)]
pub unsafe fn page_free(pa: PAddr) {
    // SAFETY: passed on from the caller.
    or_panic(with_my_list(|list| unsafe {
        Pages {
            list,
            infos: infos(),
        }
        .page_free(pa)
    }))
}

/// Count one more mapping of the page at `pa`; returns the new count.
#[cfg(kernel)]
pub fn page_incref(pa: PAddr) -> Count {
    or_panic(infos().incref(pa))
}

/// Drop one mapping of the page at `pa`, freeing it when that was the last
/// (JOS's `page_decref`); `true` when it was freed. Panics at count 0.
///
/// # Safety
/// As for [`page_free`], should this be the last mapping.
#[cfg(kernel)]
pub unsafe fn page_decref(pa: PAddr) -> bool {
    // SAFETY: passed on from the caller.
    or_panic(with_my_list(|list| unsafe {
        Pages {
            list,
            infos: infos(),
        }
        .page_decref(pa)
    }))
}

#[cfg(test)]
mod tests;
