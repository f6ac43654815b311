//! The kernel's one allocator: the free list over real memory, its lock and
//! xv6's `use_lock` switch, and the two boot stages.

use core::sync::atomic::{AtomicBool, Ordering};

use spin::Once;

use super::{FreeList, Freed, PageMemory, Pool};
use crate::memlayout::{PAddr, PHYSTOP_MAX, VAddr, v2p};
use crate::memmap::Ram;
use crate::mmu::PGSIZE;
use crate::spinlock::Spinlock;

/// Pages up to the largest PHYSTOP, and the words of one bit each.
const MAX_PAGES: usize = PHYSTOP_MAX.0 as usize / PGSIZE;
const FREE_WORDS: usize = MAX_PAGES / 32;

/// Memory reached through the kernel's direct map (a page's kernel virtual
/// address is a pointer to it), and one bit per physical page saying whether
/// it is on the free list: 63 KiB covers every PHYSTOP the layout allows.
pub struct DirectMap {
    free: [u32; FREE_WORDS],
}

impl DirectMap {
    /// Word and bit of the page at `va`.
    fn bit(va: VAddr) -> (usize, u32) {
        let n = v2p(va).0 as usize / PGSIZE;
        (n / 32, 1 << (n % 32))
    }
}

impl PageMemory for DirectMap {
    unsafe fn fill(&mut self, page: VAddr, byte: u8) {
        // SAFETY: the caller owns the whole page, which is mapped (every
        // page in the pool is inside the kernel's direct map).
        unsafe { core::ptr::write_bytes(page.0 as *mut u8, byte, PGSIZE) };
    }

    unsafe fn set_link(&mut self, page: VAddr, next: Option<VAddr>) {
        // 0 stands for "none": VA 0 is never in the pool (it is below end).
        // SAFETY: as for `fill`; the page is 4-byte aligned.
        unsafe { (page.0 as *mut u32).write(next.map_or(0, |v| v.0)) };
    }

    unsafe fn link(&self, page: VAddr) -> Option<VAddr> {
        // SAFETY: the page is on the free list, so `set_link` wrote it.
        let raw = unsafe { (page.0 as *const u32).read() };
        (raw != 0).then_some(VAddr(raw))
    }

    fn mark_free(&mut self, page: VAddr, free: bool) -> bool {
        let (word, mask) = Self::bit(page);
        let was = self.free[word] & mask != 0;
        if free {
            self.free[word] |= mask;
        } else {
            self.free[word] &= !mask;
        }
        was
    }

    fn is_marked(&self, page: VAddr) -> bool {
        let (word, mask) = Self::bit(page);
        self.free[word] & mask != 0
    }

    fn count_marked(&self) -> usize {
        self.free.iter().map(|w| w.count_ones() as usize).sum()
    }
}

/// xv6's `struct kmem`.
struct Kmem {
    /// Off until the end of `kinit2`, as in xv6: until then only the boot
    /// CPU runs, with interrupts off, so there is no one to exclude.
    use_lock: AtomicBool,
    list: Spinlock<FreeList<DirectMap>>,
}

static KMEM: Kmem = Kmem {
    use_lock: AtomicBool::new(false),
    list: Spinlock::new(
        "kmem",
        FreeList::new(
            Pool {
                end: VAddr(0),
                top: VAddr(0),
                ram: None,
            },
            cfg!(feature = "junk"),
            DirectMap {
                free: [0; FREE_WORDS],
            },
        ),
    ),
};

/// Run `f` on the free list, under the lock once `kinit2` has turned it on.
fn with_list<R>(f: impl FnOnce(&mut FreeList<DirectMap>) -> R) -> R {
    if KMEM.use_lock.load(Ordering::Acquire) {
        f(&mut KMEM.list.lock())
    } else {
        // SAFETY: before kinit2 turns the lock on, only the boot CPU runs,
        // with interrupts off, and `f` never re-enters the allocator: no
        // other reference to the list can exist.
        f(unsafe { KMEM.list.get_unchecked() })
    }
}

/// A page of physical memory that its holder owns, named by its kernel
/// virtual address. Only `kalloc` makes one; `kfree` takes it back.
#[derive(Debug, PartialEq, Eq)]
pub struct Page(VAddr);

impl Page {
    /// Kernel virtual address of the page's first byte.
    pub fn va(&self) -> VAddr {
        self.0
    }

    /// Fill the page with zeroes.
    pub fn zero(&mut self) {
        // SAFETY: the holder owns the whole page, which is mapped.
        unsafe { core::ptr::write_bytes(self.0.0 as *mut u8, 0, PGSIZE) };
    }

    /// The page's bytes.
    pub fn bytes(&mut self) -> &mut [u8; PGSIZE] {
        // SAFETY: the holder owns the whole page; the borrow of `self` keeps
        // the reference unique.
        unsafe { &mut *(self.0.0 as *mut [u8; PGSIZE]) }
    }

    /// Give up the handle, keeping the page in use (e.g. as a page table).
    pub fn into_pa(self) -> PAddr {
        v2p(self.0)
    }
}

/// The RAM the allocator may use: the memory map less what the kernel
/// reserves. Set once, by kinit1.
static RAM: Once<Ram> = Once::new();

/// The RAM kinit1 was given.
pub fn ram() -> &'static Ram {
    RAM.get().expect("kalloc::ram before kinit1")
}

/// First boot stage: free the RAM pages of `[vstart, vend)`, the memory
/// entrypgdir maps, without the lock. Sets the pool `kfree` accepts:
/// `[vstart, top)`, RAM pages only.
// Never inlined: a function of its own for breakpoints in GDB and Bochs.
#[inline(never)]
pub fn kinit1(ram: Ram, vstart: VAddr, vend: VAddr, top: VAddr) -> Freed {
    KMEM.use_lock.store(false, Ordering::Release);
    let ram = Some(RAM.call_once(|| ram));
    with_list(|l| {
        l.set_pool(Pool {
            end: vstart,
            top,
            ram,
        })
    });
    freerange(vstart, vend)
}

/// Second boot stage: free `[vstart, vend)` (mapped by now by kvmalloc),
/// then turn the lock on.
// Never inlined: a function of its own for breakpoints in GDB and Bochs.
#[inline(never)]
pub fn kinit2(vstart: VAddr, vend: VAddr) -> Freed {
    let freed = freerange(vstart, vend);
    KMEM.use_lock.store(true, Ordering::Release);
    freed
}

fn freerange(vstart: VAddr, vend: VAddr) -> Freed {
    // SAFETY: boot hands over RAM no one has used: above the kernel image
    // and the boot stack, outside what GRUB left (reserved in the pool's
    // RAM, which free_range skips).
    with_list(|l| unsafe { l.free_range(vstart, vend) }).unwrap_or_else(|e| panic!("{e}"))
}

/// Allocate one 4096-byte page, or `None` if memory is exhausted.
pub fn kalloc() -> Option<Page> {
    with_list(|l| l.alloc()).map(Page)
}

/// Give a page back.
pub fn kfree(page: Page) {
    // SAFETY: `Page` owns its page, and consuming it ends the ownership.
    unsafe { kfree_addr(page.0) }
}

/// Free the page at `va` (xv6's `kfree(char *v)`). Panics, naming the
/// address and the rule, if `va` is not page-aligned, is below the kernel's
/// end, is at or above P2V(PHYSTOP), or is not RAM the kernel may use (a
/// hole or a reserved region, which the message names).
///
/// # Safety
/// The page is not used by anyone any more.
pub unsafe fn kfree_addr(va: VAddr) {
    // SAFETY: the caller gives the page up.
    if let Err(e) = with_list(|l| unsafe { l.free(va) }) {
        panic!("{e}");
    }
}

/// Number of free pages, in O(1).
pub fn nfree() -> usize {
    with_list(|l| l.nfree())
}

/// Whether `kfree`/`kalloc` take the lock (true once `kinit2` is done).
pub fn uses_lock() -> bool {
    KMEM.use_lock.load(Ordering::Acquire)
}

/// Walk the free list and check every page on it: aligned, in the pool,
/// RAM the kernel may use (so not in its image, the boot information or a
/// module), marked free, listed once; and the walk, the O(1) counter and
/// the free bits agree. Returns the number of free pages, or panics naming
/// the first thing wrong.
pub fn audit() -> usize {
    with_list(|l| l.audit()).unwrap_or_else(|e| panic!("{e}"))
}

/// Whether `kfree` would take the page at `va`, or which rule it would
/// panic on (a double free included); changes nothing.
pub fn check_free(va: VAddr) -> Result<(), super::KfreeError> {
    with_list(|l| l.check_free(va))
}

/// Call `f(nfree, i, va)` on the first `n` free pages, head first, holding
/// the allocator so the list cannot change meanwhile (`f` must not allocate
/// or free).
pub fn first_free(n: usize, mut f: impl FnMut(usize, usize, VAddr)) {
    with_list(|l| {
        let nfree = l.nfree();
        l.iter()
            .take(n)
            .enumerate()
            .for_each(|(i, va)| f(nfree, i, va));
    });
}

/// Call `f` on every free page, head first, holding the allocator (`f` must
/// not allocate or free).
pub fn for_each_free(mut f: impl FnMut(VAddr)) {
    first_free(usize::MAX, |_, _, va| f(va));
}
