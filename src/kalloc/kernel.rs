//! The kernel's allocator: the free lists over real memory, their locks
//! and xv6's `use_lock` switch, the two boot stages, and the two modes.
//!
//! In `global` mode every CPU uses one list under one lock, `kmem`, as the
//! design card (and xv6) has it. In `percpu` mode each CPU has a list and a
//! lock of its own, `kmem.<cpu>`: `kfree` pushes onto the running CPU's
//! list and `kalloc` pops from it, so CPUs do not contend; a CPU whose list
//! is empty steals a batch from the fullest other list.
//!
//! Where the boot stages put the pages in `percpu` mode: `kinit1` runs
//! before the other CPUs exist, so its pages go to cpu0's list (cpu0 then
//! gives the other CPUs their stacks from it). `kinit2` runs once every CPU
//! has started and deals its range out in equal slices, one per CPU: each
//! CPU starts with its share, so none has to steal (holding another CPU's
//! lock) until it has used it up.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use spin::Once;

use super::{FreeList, Freed, Mode, PageMemory, Pool, audit_lists, pick_victim};
use crate::memlayout::{PAddr, PHYSTOP_MAX, VAddr, v2p};
use crate::memmap::Ram;
use crate::mmu::PGSIZE;
use crate::param::NCPU;
use crate::spinlock::{LockStats, NoInterrupts, Spinlock};

/// Pages up to the largest PHYSTOP, and the words of one bit each.
const MAX_PAGES: usize = PHYSTOP_MAX.0 as usize / PGSIZE;
const FREE_WORDS: usize = MAX_PAGES / 32;

/// One bit per physical page saying whether it is on a free list (63 KiB
/// covers every PHYSTOP the layout allows). One set for all the lists, so
/// a double free is caught whichever CPU's list holds the page. Atomic,
/// because CPUs holding different lists' locks update it at once.
static FREE_BITS: [AtomicU32; FREE_WORDS] = [const { AtomicU32::new(0) }; FREE_WORDS];

/// Memory reached through the kernel's direct map (a page's kernel virtual
/// address is a pointer to it), with the free bits in `FREE_BITS`.
pub struct DirectMap;

impl DirectMap {
    /// Word and bit of the page at `va`.
    fn bit(va: VAddr) -> (&'static AtomicU32, u32) {
        let n = v2p(va).0 as usize / PGSIZE;
        (&FREE_BITS[n / 32], 1 << (n % 32))
    }
}

impl PageMemory for DirectMap {
    unsafe fn fill(&mut self, page: VAddr, byte: u8) {
        /// Four copies of a byte make a 32-bit word.
        const BYTE_TO_WORD: u32 = 0x0101_0101;
        // One `rep stosl`, as xv6's memset does for aligned sizes: the CPU
        // stores EAX at [EDI] ECX times, 1024 words for a page. (The
        // generic `write_bytes` is a loop of several instructions a word.)
        // SAFETY: the caller owns the whole page, which is mapped (every
        // page in the pool is inside the kernel's direct map); the string
        // instruction runs upwards (DF is clear in Rust code, as the ABI
        // requires) and writes only the page.
        unsafe {
            core::arch::asm!(
                "rep stosd",
                inout("edi") page.0 => _,
                inout("ecx") PGSIZE / 4 => _,
                in("eax") u32::from(byte) * BYTE_TO_WORD,
                options(nostack, preserves_flags)
            )
        };
    }

    unsafe fn set_link(&mut self, page: VAddr, next: Option<VAddr>) {
        // 0 stands for "none": VA 0 is never in the pool (it is below end).
        // SAFETY: as for `fill`; the page is 4-byte aligned.
        unsafe { (page.0 as *mut u32).write(next.map_or(0, |v| v.0)) };
    }

    unsafe fn link(&self, page: VAddr) -> Option<VAddr> {
        // SAFETY: the page is on a free list, so `set_link` wrote it.
        let raw = unsafe { (page.0 as *const u32).read() };
        (raw != 0).then_some(VAddr(raw))
    }

    fn mark_free(&mut self, page: VAddr, free: bool) -> bool {
        let (word, mask) = Self::bit(page);
        let old = if free {
            word.fetch_or(mask, Ordering::Relaxed)
        } else {
            word.fetch_and(!mask, Ordering::Relaxed)
        };
        old & mask != 0
    }

    fn is_marked(&self, page: VAddr) -> bool {
        let (word, mask) = Self::bit(page);
        word.load(Ordering::Relaxed) & mask != 0
    }

    fn count_marked(&self) -> usize {
        FREE_BITS
            .iter()
            .map(|w| w.load(Ordering::Relaxed).count_ones() as usize)
            .sum()
    }
}

type List = Spinlock<FreeList<DirectMap>>;

const fn list(name: &'static str) -> List {
    let nowhere = Pool {
        end: VAddr(0),
        top: VAddr(0),
        ram: None,
    };
    Spinlock::new(
        name,
        FreeList::new(nowhere, cfg!(feature = "junk"), DirectMap),
    )
}

/// xv6's `struct kmem`, for both modes.
struct Kmem {
    /// Off until the end of `kinit2`, as in xv6: until then only the boot
    /// CPU allocates (the others, once started, wait for work), with
    /// interrupts off, so there is no one to exclude.
    use_lock: AtomicBool,
    /// Set by kinit1 from the `kalloc=` option.
    percpu: AtomicBool,
    /// `global` mode's list.
    global: List,
    /// `percpu` mode's lists, one per CPU.
    percpu_lists: [List; NCPU],
    /// Each per-CPU list's count as of its last change, read without the
    /// locks to choose whom to steal from (a stale value only makes a
    /// thief look at the wrong list first).
    counts: [AtomicUsize; NCPU],
}

static KMEM: Kmem = Kmem {
    use_lock: AtomicBool::new(false),
    percpu: AtomicBool::new(false),
    global: list("kmem"),
    percpu_lists: [
        list("kmem.0"),
        list("kmem.1"),
        list("kmem.2"),
        list("kmem.3"),
        list("kmem.4"),
        list("kmem.5"),
        list("kmem.6"),
        list("kmem.7"),
    ],
    counts: [const { AtomicUsize::new(0) }; NCPU],
};

/// The mode kinit1 set.
pub fn mode() -> Mode {
    if KMEM.percpu.load(Ordering::Relaxed) {
        Mode::PerCpu
    } else {
        Mode::Global
    }
}

/// The lists in use: the one global list, or one per CPU.
fn lists() -> &'static [List] {
    match mode() {
        Mode::Global => core::slice::from_ref(&KMEM.global),
        Mode::PerCpu => &KMEM.percpu_lists,
    }
}

/// The running CPU's list (its own in `percpu` mode), and what keeps the
/// caller on that CPU while it uses the list (interrupts off, in `percpu`
/// mode only).
fn home() -> (Option<NoInterrupts>, usize) {
    match mode() {
        Mode::Global => (None, 0),
        Mode::PerCpu => {
            let pinned = NoInterrupts::new();
            let cpu = pinned.cpu();
            (Some(pinned), cpu)
        }
    }
}

/// Run `f` on list `i`, under its lock once `kinit2` has turned the locks
/// on, and note its new count for thieves.
fn with_list<R>(i: usize, f: impl FnOnce(&mut FreeList<DirectMap>) -> R) -> R {
    with_list_on(i, None, f)
}

/// `with_list` for a caller that keeps this CPU pinned (`pinned`, from
/// `home`): the lock then takes no second `pushcli`.
fn with_list_on<R>(
    i: usize,
    pinned: Option<&NoInterrupts>,
    f: impl FnOnce(&mut FreeList<DirectMap>) -> R,
) -> R {
    let run = |l: &mut FreeList<DirectMap>| {
        let r = f(l);
        if mode() == Mode::PerCpu {
            KMEM.counts[i].store(l.nfree(), Ordering::Relaxed);
        }
        r
    };
    if KMEM.use_lock.load(Ordering::Acquire) {
        let list = &lists()[i];
        match pinned {
            Some(p) => run(&mut list.lock_pinned(p)),
            None => run(&mut list.lock()),
        }
    } else {
        // SAFETY: before kinit2 turns the locks on, only the boot CPU uses
        // the allocator, with interrupts off, and `f` never re-enters it:
        // no other reference to the list can exist.
        run(unsafe { lists()[i].get_unchecked() })
    }
}

/// Run `f` on lists `mine` and `theirs` (different), both locked: always
/// the lower-numbered first, so two CPUs stealing from each other cannot
/// each hold one lock and wait for the other.
fn with_two<R>(
    mine: usize,
    theirs: usize,
    f: impl FnOnce(&mut FreeList<DirectMap>, &mut FreeList<DirectMap>) -> R,
) -> R {
    assert_ne!(mine, theirs, "kalloc: a CPU cannot steal from itself");
    let (lo, hi) = (mine.min(theirs), mine.max(theirs));
    with_list(lo, |a| {
        with_list(hi, |b| if lo == mine { f(a, b) } else { f(b, a) })
    })
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
/// entrypgdir maps, without the lock, onto the boot CPU's list. Sets the
/// mode and the pool `kfree` accepts: `[vstart, top)`, RAM pages only.
// Never inlined: a function of its own for breakpoints in GDB and Bochs.
#[inline(never)]
pub fn kinit1(ram: Ram, vstart: VAddr, vend: VAddr, top: VAddr, mode: Mode) -> Freed {
    KMEM.use_lock.store(false, Ordering::Release);
    KMEM.percpu.store(mode == Mode::PerCpu, Ordering::Relaxed);
    let ram = Some(RAM.call_once(|| ram));
    for i in 0..lists().len() {
        with_list(i, |l| {
            l.set_pool(Pool {
                end: vstart,
                top,
                ram,
            })
        });
    }
    freerange(0, vstart, vend)
}

/// Second boot stage: free `[vstart, vend)` (mapped by now by kvmalloc),
/// in `percpu` mode in one equal slice per started CPU, then turn the
/// locks on.
// Never inlined: a function of its own for breakpoints in GDB and Bochs.
#[inline(never)]
pub fn kinit2(vstart: VAddr, vend: VAddr) -> Freed {
    let freed = match mode() {
        Mode::Global => freerange(0, vstart, vend),
        Mode::PerCpu => {
            let n = crate::cpu::ncpu();
            let pages = (vend.0 - vstart.0) as usize / PGSIZE;
            let bound = |i: usize| VAddr(vstart.0 + (pages * i / n * PGSIZE) as u32);
            let mut total = Freed {
                start: vstart,
                end: vstart,
                pages: 0,
            };
            for i in 0..n {
                let f = freerange(i, bound(i), if i + 1 == n { vend } else { bound(i + 1) });
                total.end = f.end;
                total.pages += f.pages;
            }
            total
        }
    };
    KMEM.use_lock.store(true, Ordering::Release);
    freed
}

fn freerange(i: usize, vstart: VAddr, vend: VAddr) -> Freed {
    // SAFETY: boot hands over RAM no one has used: above the kernel image
    // and the boot stack, outside what GRUB left (reserved in the pool's
    // RAM, which free_range skips).
    with_list(i, |l| unsafe { l.free_range(vstart, vend) }).unwrap_or_else(|e| panic!("{e}"))
}

/// Allocate one 4096-byte page, or `None` if memory is exhausted: in
/// `percpu` mode from the running CPU's list, stealing a batch from the
/// fullest other list when it is empty.
pub fn kalloc() -> Option<Page> {
    let (pinned, me) = home();
    if let Some(va) = with_list_on(me, pinned.as_ref(), |l| l.alloc()) {
        return Some(Page(va));
    }
    if mode() == Mode::Global {
        return None;
    }
    // A victim may be emptied by its owner between the look and the lock:
    // then look again. No victim left means every list is empty.
    while let Some(victim) = pick_victim(me, NCPU, |i| KMEM.counts[i].load(Ordering::Relaxed)) {
        if let Some(va) = with_two(me, victim, |mine, theirs| {
            mine.steal_from(theirs);
            mine.alloc()
        }) {
            return Some(Page(va));
        }
    }
    None
}

/// Run `f` on the running CPU's list (the one list in `global` mode), for
/// the counted page API, whose `page_free` checks and frees under the lock.
pub fn with_home_list<R>(f: impl FnOnce(&mut FreeList<DirectMap>) -> R) -> R {
    let (pinned, me) = home();
    with_list_on(me, pinned.as_ref(), f)
}

/// Give a page back.
pub fn kfree(page: Page) {
    // SAFETY: `Page` owns its page, and consuming it ends the ownership.
    unsafe { kfree_addr(page.0) }
}

/// Free the page at `va` (xv6's `kfree(char *v)`), onto the running CPU's
/// list in `percpu` mode. Panics, naming the address and the rule, if `va`
/// is not page-aligned, is below the kernel's end, is at or above
/// P2V(PHYSTOP), is not RAM the kernel may use (a hole or a reserved
/// region, which the message names), or is free already; and if a page
/// table maps it still (its count is not 0: `page_decref` frees such a
/// page when its last mapping goes).
///
/// # Safety
/// The page is not used by anyone any more.
pub unsafe fn kfree_addr(va: VAddr) {
    if let Some(n) = crate::pageinfo::kernel::try_count(v2p(va)).filter(|&n| n != 0) {
        panic!(
            "kfree: page {:#010x} has count {n}: a page table maps it (page_decref frees it)",
            v2p(va).0
        );
    }
    let (pinned, me) = home();
    // SAFETY: the caller gives the page up.
    if let Err(e) = with_list_on(me, pinned.as_ref(), |l| unsafe { l.free(va) }) {
        panic!("{e}");
    }
}

/// Number of free pages, on all lists.
pub fn nfree() -> usize {
    (0..lists().len())
        .map(|i| with_list(i, |l| l.nfree()))
        .sum()
}

/// Pages on CPU `cpu`'s list in `percpu` mode; `None` in `global` mode.
pub fn cpu_nfree(cpu: usize) -> Option<usize> {
    (mode() == Mode::PerCpu).then(|| with_list(cpu, |l| l.nfree()))
}

/// Whether `kfree`/`kalloc` take the locks (true once `kinit2` is done).
pub fn uses_lock() -> bool {
    KMEM.use_lock.load(Ordering::Acquire)
}

/// Run `f` on every list in use, all locked at once (in order), so that
/// nothing moves between them meanwhile.
fn with_all_lists<R>(f: impl FnOnce(&mut [&mut FreeList<DirectMap>]) -> R) -> R {
    match mode() {
        Mode::Global => with_list(0, |l| f(&mut [l])),
        Mode::PerCpu if uses_lock() => {
            let mut guards: [_; NCPU] = core::array::from_fn(|i| KMEM.percpu_lists[i].lock());
            f(&mut guards.each_mut().map(|g| &mut **g))
        }
        Mode::PerCpu => {
            // SAFETY: before kinit2 only the boot CPU uses the allocator
            // (see `with_list`), and each list is taken once.
            f(&mut core::array::from_fn::<_, NCPU, _>(|i| unsafe {
                KMEM.percpu_lists[i].get_unchecked()
            }))
        }
    }
}

/// Walk the free lists and check every page on them: aligned, in the pool,
/// RAM the kernel may use (so not in its image, the boot information or a
/// module), marked free, listed once (on one list); and the walks, the O(1)
/// counters and the free bits agree. Returns the number of free pages, or
/// panics naming the first thing wrong.
pub fn audit() -> usize {
    with_all_lists(audit_lists).unwrap_or_else(|e| panic!("{e}"))
}

/// Whether `kfree` would take the page at `va`, or which rule it would
/// panic on (a double free included); changes nothing.
pub fn check_free(va: VAddr) -> Result<(), super::KfreeError> {
    with_list(0, |l| l.check_free(va))
}

/// For each list in use: call `f(name, nfree, i, va)` on its first `n`
/// free pages, head first, holding that list's lock so it cannot change
/// meanwhile (`f` must not allocate or free).
pub fn first_free(n: usize, mut f: impl FnMut(&'static str, usize, usize, VAddr)) {
    for (i, lock) in lists().iter().enumerate() {
        with_list(i, |l| {
            let nfree = l.nfree();
            l.iter()
                .take(n)
                .enumerate()
                .for_each(|(k, va)| f(lock.name(), nfree, k, va));
        });
    }
}

/// The statistics of the allocator's locks in use (in `percpu` mode, the
/// started CPUs').
pub fn lock_stats(mut f: impl FnMut(LockStats)) {
    let n = match mode() {
        Mode::Global => 1,
        Mode::PerCpu => crate::cpu::ncpu(),
    };
    lists().iter().take(n).for_each(|l| f(l.stats()));
}
