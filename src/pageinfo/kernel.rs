//! The page counts on the machine: one byte per page below PHYSTOP, taken by
//! `boot_alloc` right after the kernel image before kinit1 runs (and
//! reserved, so kinit1 frees around them), and the counted page API over
//! kalloc's free lists. A broken rule is a kernel bug: these functions
//! panic with [`PageError`]'s message.

use spin::Once;

use super::{AllocFlags, AtomicCount, BootAlloc, Count, PageError, PageInfos, Pages};
use crate::kalloc::{self, kalloc};
use crate::memlayout::{PAddr, VAddr};
use crate::mmu::PGSIZE;

/// What `pageinit` took from `boot_alloc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountsArea {
    /// Kernel virtual address of the first count (page 0's).
    pub start: VAddr,
    /// The page boundary after the last count.
    pub end: VAddr,
}

/// What the RAM map calls the counts' pages once `main` has reserved them
/// (kfree's message for one of them names it).
pub const RESERVED_AS: &str = "the page counts";

static INFOS: Once<PageInfos<'static>> = Once::new();
static AREA: Once<CountsArea> = Once::new();

/// Take zeroed counts for every page below `phystop` from `boot`, on
/// pages that `usable` says hold nothing the boot loader left. Runs once,
/// before kinit1 (main reserves them in the RAM map, so kinit1 frees around
/// them); panics if they do not fit below the end of the memory entrypgdir
/// maps.
pub fn pageinit(
    boot: &mut BootAlloc,
    phystop: PAddr,
    usable: impl Fn(VAddr) -> bool,
) -> CountsArea {
    let npages = phystop.0 as usize / PGSIZE;
    let bytes = (npages * size_of::<AtomicCount>()) as u32;
    let start = boot.alloc(bytes, usable).unwrap_or_else(|e| {
        panic!(
            "pageinit: counts for {npages} pages: {e} (what entrypgdir maps; \
                 the boot information and module lines above say what GRUB put there)"
        )
    });
    // SAFETY: boot_alloc handed these bytes to us alone; they are mapped
    // (below the limit entrypgdir maps) and aligned for single bytes.
    // Zeroing them makes valid atomics holding count 0, and nothing frees
    // them (main reserves them before kinit1), so the slice lives for ever.
    let counts = unsafe {
        core::ptr::write_bytes(start.0 as *mut u8, 0, bytes as usize);
        core::slice::from_raw_parts(start.0 as *const AtomicCount, npages)
    };
    INFOS.call_once(|| PageInfos::new(counts));
    *AREA.call_once(|| CountsArea {
        start,
        end: boot.next(),
    })
}

/// The counts, once `pageinit` has made them.
pub fn infos() -> &'static PageInfos<'static> {
    INFOS.get().expect("page counts used before pageinit")
}

/// Where the counts are, once `pageinit` has made them.
pub fn area() -> Option<CountsArea> {
    AREA.get().copied()
}

fn or_panic<T>(r: Result<T, PageError>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

/// How many mappings refer to the page at `pa`; panics naming an address
/// at or above PHYSTOP.
pub fn count(pa: PAddr) -> Count {
    or_panic(infos().count(pa))
}

/// The count of the page at `pa`, or `None` if there are no counts yet or
/// no page has that address.
pub fn try_count(pa: PAddr) -> Option<Count> {
    INFOS.get()?.count(pa).ok()
}

/// A page off the free list with count 0 (JOS's `page_alloc`), zeroed with
/// `ALLOC_ZERO`; `None` when memory is exhausted. In `percpu` mode this is
/// `kalloc`, stealing included.
pub fn page_alloc(flags: AllocFlags) -> Option<PAddr> {
    let mut page = kalloc()?;
    if flags.zero {
        page.zero();
    }
    Some(page.into_pa())
}

/// Give back a page nobody maps (JOS's `page_free`). Panics if its count is
/// not 0, or if it is free already.
///
/// # Safety
/// Nothing the counts do not see (a kernel pointer into the page) uses it.
pub unsafe fn page_free(pa: PAddr) {
    // SAFETY: passed on from the caller.
    or_panic(kalloc::with_home_list(|list| unsafe {
        Pages {
            list,
            infos: infos(),
        }
        .page_free(pa)
    }))
}

/// Count one more mapping of the page at `pa`; returns the new count.
pub fn page_incref(pa: PAddr) -> Count {
    or_panic(infos().incref(pa))
}

/// Drop one mapping of the page at `pa`, freeing it when that was the last
/// (JOS's `page_decref`); `true` when it was freed. Panics at count 0.
///
/// # Safety
/// As for [`page_free`], should this be the last mapping.
pub unsafe fn page_decref(pa: PAddr) -> bool {
    // SAFETY: passed on from the caller.
    or_panic(kalloc::with_home_list(|list| unsafe {
        Pages {
            list,
            infos: infos(),
        }
        .page_decref(pa)
    }))
}
