//! Physical memory allocator (xv6's `kalloc.c`): `kinit1` and `kinit2`
//! free the boot stages' ranges, `kalloc` and `kfree` take and give back one
//! 4096-byte page. `kalloc=global` keeps xv6's one list and lock, `kmem`;
//! `kalloc=percpu` gives each CPU its own, with stealing (README, "SMP and
//! the per-CPU allocator"); `kalloc=scan` keeps no list, as Linux 0.01 did,
//! and scans the free bits from the top ([`Scan`], in `kalloc/scan.rs`). The
//! lists' bookkeeping is [`FreeList`], in `kalloc/freelist.rs`, where the
//! kalloc lab's exercises are (labs/kalloc/README.md).

use core::fmt;

use crate::memlayout::VAddr;
use crate::protocol::KALLOC_MODES;

mod freelist;
mod scan;
mod steal;

pub use freelist::{
    AuditError, FreeList, Freed, JUNK_ALLOC, JUNK_FREE, KfreeError, PageMemory, Pool, audit_lists,
};
pub use scan::{LinuxSays, Scan, highest_set};
pub use steal::{STEAL_MAX, pick_victim, steal_batch};

/// What the counted page API (`pageinfo::Pages`) needs of the free pages,
/// whether a list ([`FreeList`]) or the scan's bits ([`Scan`]) keeps them.
pub trait FreePages {
    /// Number of free pages.
    fn nfree(&self) -> usize;

    /// Whether `free` would take the page at `va`, or which rule it would
    /// refuse it on (a double free included); changes nothing.
    fn check_free(&self, va: VAddr) -> Result<(), KfreeError>;

    /// Give the page at `va` back, or refuse it, touching nothing.
    ///
    /// # Safety
    /// The page is no longer used by anyone.
    unsafe fn free(&mut self, va: VAddr) -> Result<(), KfreeError>;
}

/// How the free pages are kept, chosen by the `kalloc=` boot option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// One list and one lock for every CPU (xv6's `kmem`), the default.
    Global,
    /// A list and a lock per CPU; a CPU whose list is empty steals a batch
    /// from another's (the lock lab's cure for a contended `kmem`).
    PerCpu,
    /// No list: the highest free page, found by scanning the free bits from
    /// the top, under one lock (Linux 0.01's `get_free_page`).
    Scan,
}

/// A `kalloc=` value that names no mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadMode<'a>(pub &'a str);

impl fmt::Display for BadMode<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let [modes @ .., last] = KALLOC_MODES;
        write!(f, "kalloc={}: the allocator mode is ", self.0)?;
        modes.iter().try_for_each(|m| write!(f, "{m}, "))?;
        write!(f, "or {last}")
    }
}

impl Mode {
    /// Every mode, in the order of [`KALLOC_MODES`] (the names the host
    /// side boots them by).
    pub const ALL: [Mode; 3] = [Mode::Global, Mode::PerCpu, Mode::Scan];

    /// The mode the `kalloc=` option's value names (`None`: no option).
    pub fn parse(value: Option<&str>) -> Result<Mode, BadMode<'_>> {
        let Some(name) = value else {
            return Ok(Mode::Global);
        };
        Mode::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or(BadMode(name))
    }

    pub fn name(self) -> &'static str {
        KALLOC_MODES[self as usize]
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(kernel)]
mod directmap;

#[cfg(kernel)]
pub use directmap::DirectMap;

#[cfg(kernel)]
use {
    crate::memlayout::{PAddr, v2p},
    crate::memmap::Ram,
    crate::mmu::{PGSIZE, PageStep},
    crate::param::NCPU,
    crate::println,
    crate::spinlock::{LockStats, NoInterrupts, Spinlock, SpinlockGuard},
    core::ops::{Deref, DerefMut},
    core::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering},
    spin::Once,
};

#[cfg(kernel)]
impl Mode {
    /// The mode the command line's `kalloc=` option names; a value that
    /// names none is refused, saying why, and `global` kept.
    pub fn from_cmdline(cmdline: &str) -> Mode {
        Mode::parse(crate::cmdline::value(cmdline, crate::cmdline::KALLOC)).unwrap_or_else(|e| {
            println!("kalloc: refusing {e}; keeping global");
            Mode::Global
        })
    }
}

#[cfg(kernel)]
type List = Spinlock<FreeList<DirectMap>>;

/// The pool before kinit1 sets it: no page is accepted.
#[cfg(kernel)]
const NOWHERE: Pool = Pool {
    end: VAddr(0),
    top: VAddr(0),
    ram: None,
    counts: &[],
};

/// An empty list under a lock called `name`; kinit1 sets its pool.
#[cfg(kernel)]
const fn list(name: &'static str) -> List {
    Spinlock::new(
        name,
        FreeList::new(NOWHERE, cfg!(feature = "junk"), DirectMap),
    )
}

/// What every per-CPU lock's name starts with; the CPU's number follows.
#[cfg(kernel)]
const PREFIX: &[u8] = b"kmem.";
/// Bytes of the longest per-CPU lock name: the prefix and two digits.
#[cfg(kernel)]
const NAME_MAX: usize = PREFIX.len() + 2;
#[cfg(kernel)]
const _: () = assert!(NCPU <= 100, "per-CPU lock names have at most two digits");

/// Bytes of CPU `i`'s lock name.
#[cfg(kernel)]
const fn name_len(i: usize) -> usize {
    PREFIX.len() + if i < 10 { 1 } else { 2 }
}

/// The per-CPU locks' names, `kmem.0` up to `kmem.<NCPU - 1>`, spelled out
/// from NCPU at compile time (NUL-padded to NAME_MAX bytes).
#[cfg(kernel)]
static PERCPU_NAMES: [[u8; NAME_MAX]; NCPU] = {
    let mut names = [[0; NAME_MAX]; NCPU];
    let mut i = 0;
    while i < NCPU {
        names[i]
            .split_at_mut(PREFIX.len())
            .0
            .copy_from_slice(PREFIX);
        if i >= 10 {
            names[i][PREFIX.len()] = b'0' + (i / 10) as u8;
        }
        names[i][name_len(i) - 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    names
};

/// The per-CPU lists, each under the lock `kmem.<cpu>`.
#[cfg(kernel)]
const fn percpu_lists() -> [List; NCPU] {
    let mut lists = [const { list("") }; NCPU];
    let mut i = 0;
    while i < NCPU {
        let Ok(name) = core::str::from_utf8(PERCPU_NAMES[i].split_at(name_len(i)).0) else {
            panic!("a lock name is ASCII");
        };
        lists[i] = list(name);
        i += 1;
    }
    lists
}

/// `scan` mode's free bits and count, under its one lock.
#[cfg(kernel)]
type Bits = Spinlock<Scan<DirectMap>>;

/// xv6's `struct kmem`, for every mode.
#[cfg(kernel)]
struct Kmem {
    /// Off until the end of `kinit2`, as in xv6: until then only the boot
    /// CPU allocates (the others, once started, wait for work), with
    /// interrupts off, so there is no one to exclude.
    use_lock: AtomicBool,
    /// The [`Mode`], as its number; set by kinit1 from the `kalloc=` option.
    mode: AtomicU8,
    /// `global` mode's list.
    global: List,
    /// `scan` mode's bits (Linux 0.01 had no lock: it ran on one CPU).
    scan: Bits,
    /// `percpu` mode's lists, one per CPU.
    percpu_lists: [List; NCPU],
    /// Each per-CPU list's count as of its last use, read without the
    /// locks to choose whom to steal from (a stale value only makes a
    /// thief look at the wrong list first).
    counts: [AtomicUsize; NCPU],
}

#[cfg(kernel)]
static KMEM: Kmem = Kmem {
    use_lock: AtomicBool::new(false),
    mode: AtomicU8::new(Mode::Global as u8),
    global: list("kmem"),
    scan: Spinlock::new(
        "kmem",
        Scan::new(NOWHERE, cfg!(feature = "junk"), DirectMap),
    ),
    percpu_lists: percpu_lists(),
    counts: [const { AtomicUsize::new(0) }; NCPU],
};

/// The mode kinit1 set.
#[cfg(kernel)]
#[inline(always)]
pub fn mode() -> Mode {
    match KMEM.mode.load(Ordering::Relaxed) {
        n if n == Mode::Global as u8 => Mode::Global,
        n if n == Mode::PerCpu as u8 => Mode::PerCpu,
        _ => Mode::Scan,
    }
}

/// The lists in use: the one global list, one per CPU, or none (`scan`).
#[cfg(kernel)]
#[inline(always)]
fn lists() -> &'static [List] {
    match mode() {
        Mode::Global => core::slice::from_ref(&KMEM.global),
        Mode::PerCpu => &KMEM.percpu_lists,
        Mode::Scan => &[],
    }
}

/// A free list (or `scan` mode's bits) in use, from [`hold`] (or
/// [`hold_scan`]). Dropping it notes the list's count for thieves (in
/// `percpu` mode), then lets the lock go.
#[cfg(kernel)]
struct Held<'a, T: FreePages = FreeList<DirectMap>> {
    list: &'a mut T,
    /// The lock, once kinit2 has turned `use_lock` on (its guard is only
    /// held, never read through: `list` is the way to what it guards).
    _lock: Option<SpinlockGuard<'a, T>>,
    /// Where thieves read the list's count (`percpu` mode only).
    count: Option<&'static AtomicUsize>,
}

/// List `i` (in `global` mode the one list), the one way to a free list:
/// under its lock if `use_lock` is on (xv6's `if(kmem.use_lock)
/// acquire(&kmem.lock)`), as it is before. `pinned` is the caller's own
/// interrupts-off guard when it keeps this CPU pinned ([`pin`]): the lock
/// then takes no second `pushcli`. This module never holds one list twice
/// at a time. `scan` mode has no list: its callers take [`hold_scan`]
/// instead, and asking for a list there is a kernel bug (a panic).
#[cfg(kernel)]
#[inline(always)]
fn hold(i: usize, pinned: Option<&NoInterrupts>) -> Held<'_> {
    match mode() {
        Mode::Global => lock_held(&KMEM.global, pinned, None),
        Mode::PerCpu => lock_held(&KMEM.percpu_lists[i], pinned, Some(&KMEM.counts[i])),
        Mode::Scan => panic!("kalloc: list {i} asked for in scan mode, which keeps no list"),
    }
}

/// `scan` mode's bits, under their lock once `use_lock` is on, as [`hold`]
/// holds a list.
#[cfg(kernel)]
#[inline(always)]
fn hold_scan() -> Held<'static, Scan<DirectMap>> {
    lock_held(&KMEM.scan, None, None)
}

/// What `lock` guards, under it if `use_lock` is on (without a second
/// `pushcli` when `pinned`), noting its count in `count` when dropped.
#[cfg(kernel)]
#[inline(always)]
fn lock_held<'a, T: FreePages>(
    lock: &'a Spinlock<T>,
    pinned: Option<&'a NoInterrupts>,
    count: Option<&'static AtomicUsize>,
) -> Held<'a, T> {
    let guard = match (KMEM.use_lock.load(Ordering::Acquire), pinned) {
        (false, _) => None,
        (true, Some(p)) => Some(lock.lock_pinned(p)),
        (true, None) => Some(lock.lock()),
    };
    // SAFETY: with the lock held, this is the one reference to what it
    // guards (the guard is never read through). Before kinit2 turns the
    // locks on only the boot CPU uses the allocator, with interrupts off,
    // and this module holds a lock's data once at a time, so it is the one
    // reference too.
    let list = unsafe { lock.get_unchecked() };
    Held {
        list,
        _lock: guard,
        count,
    }
}

#[cfg(kernel)]
impl<T: FreePages> Deref for Held<'_, T> {
    type Target = T;
    #[inline(always)]
    fn deref(&self) -> &Self::Target {
        self.list
    }
}

#[cfg(kernel)]
impl<T: FreePages> DerefMut for Held<'_, T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.list
    }
}

#[cfg(kernel)]
impl<T: FreePages> Drop for Held<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        // Runs before `_lock` drops, so still under the lock.
        if let Some(count) = self.count {
            count.store(self.list.nfree(), Ordering::Relaxed);
        }
    }
}

/// In `percpu` mode, interrupts off for as long as the caller uses its own
/// CPU's list, so that it stays on that CPU; `None` in the other modes.
#[cfg(kernel)]
#[inline(always)]
fn pin() -> Option<NoInterrupts> {
    (mode() == Mode::PerCpu).then(NoInterrupts::new)
}

/// The list of the CPU `pin` keeps the caller on (the one list in `global`
/// mode).
#[cfg(kernel)]
#[inline(always)]
fn mine(pin: &Option<NoInterrupts>) -> usize {
    // LAB percpu/mine BEGIN
    pin.as_ref().map_or(0, NoInterrupts::cpu)
    // LAB percpu/mine END
}

/// Run `f` on the running CPU's list (the one list in `global` mode, the
/// free bits in `scan` mode): the counted page API's `page_free` checks
/// and frees under its lock.
#[cfg(kernel)]
pub fn with_my_list<R>(f: impl FnOnce(&mut dyn FreePages) -> R) -> R {
    if mode() == Mode::Scan {
        return f(&mut *hold_scan());
    }
    // LAB percpu/kfree BEGIN
    let pin = pin();
    f(&mut *hold(mine(&pin), pin.as_ref()))
    // LAB percpu/kfree END
}

/// A page of physical memory that its holder owns, named by its kernel
/// virtual address. Only `kalloc` makes one; `kfree` takes it back.
#[cfg(kernel)]
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a page dropped without kfree is lost for good"]
pub struct Page(VAddr);

#[cfg(kernel)]
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
    #[must_use = "the page is lost unless its address is kept"]
    pub fn into_pa(self) -> PAddr {
        v2p(self.0)
    }
}

/// The RAM the allocator may use: the memory map less what the kernel
/// reserves. Set once, by kinit1.
#[cfg(kernel)]
static RAM: Once<Ram> = Once::new();

/// The RAM kinit1 was given.
#[cfg(kernel)]
pub fn ram() -> &'static Ram {
    RAM.get().expect("kalloc::ram before kinit1")
}

/// First boot stage: free the RAM pages of `[vstart, vend)`, the memory
/// entrypgdir maps, without the lock, onto the boot CPU's list. Sets the
/// mode and the pool `kfree` accepts: `[vstart, top)`, RAM pages only, and
/// none that `counts` (the page counts) says a page table maps.
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
    KMEM.mode.store(mode as u8, Ordering::Relaxed);
    let pool = Pool {
        end: vstart,
        top,
        ram: Some(RAM.call_once(|| ram)),
        counts,
    };
    match mode {
        Mode::Scan => hold_scan().set_pool(pool),
        _ => (0..lists().len()).for_each(|i| hold(i, None).set_pool(pool)),
    }
    Freed {
        stage: "kinit1",
        ..freerange(0, vstart, vend)
    }
}

/// Second boot stage: free `[vstart, vend)` (mapped by now by kvmalloc),
/// in `percpu` mode in one equal slice per started CPU (each starts with
/// its share and steals only once it has used it up), then turn the locks
/// on.
// Never inlined: a function of its own for breakpoints in GDB and Bochs.
#[cfg(kernel)]
#[inline(never)]
pub fn kinit2(vstart: VAddr, vend: VAddr) -> Freed {
    assert!(
        crate::vm::kpgdir().is_some(),
        "kinit2 before kvmalloc: [{:#010x}, {:#010x}) is not mapped yet (entrypgdir maps \
         only the first 4 MiB); main must call kvmalloc first",
        vstart.0,
        vend.0
    );
    let n = match mode() {
        Mode::Global | Mode::Scan => 1,
        Mode::PerCpu => crate::cpu::ncpu(),
    };
    let pages = vstart.pages_to(vend);
    let bound = |i: usize| match i == n {
        true => vend,
        false => vstart.add_pages(pages * i / n),
    };
    let mut freed = Freed {
        stage: "kinit2",
        ..freerange(0, bound(0), bound(1))
    };
    for i in 1..n {
        let slice = freerange(i, bound(i), bound(i + 1));
        freed.end = slice.end;
        freed.pages += slice.pages;
    }
    KMEM.use_lock.store(true, Ordering::Release);
    freed
}

/// Free the RAM pages of `[vstart, vend)` onto list `i` (xv6's
/// `freerange`; in `scan` mode, mark them free); any other broken rule is
/// a kernel bug.
#[cfg(kernel)]
pub(crate) fn freerange(i: usize, vstart: VAddr, vend: VAddr) -> Freed {
    // SAFETY: boot hands over RAM no one has used: above the kernel image
    // and the boot stack, outside what GRUB left (reserved in the pool's
    // RAM, which free_range skips).
    let freed = unsafe {
        match mode() {
            Mode::Scan => hold_scan().free_range(vstart, vend),
            _ => hold(i, None).free_range(vstart, vend),
        }
    };
    freed.unwrap_or_else(|e| panic!("{e}"))
}

/// Allocate one 4096-byte page, or `None` if memory is exhausted: in
/// `percpu` mode from the running CPU's list, stealing a batch from the
/// fullest other list when it is empty; in `scan` mode the highest free
/// page.
#[cfg(kernel)]
#[must_use = "a page dropped without kfree is lost for good"]
pub fn kalloc() -> Option<Page> {
    if mode() == Mode::Scan {
        return hold_scan().alloc().map(Page);
    }
    // LAB percpu/kalloc BEGIN
    let pinned = pin();
    let me = mine(&pinned);
    let own = hold(me, pinned.as_ref()).alloc();
    own.or_else(|| steal(me)).map(Page)
    // LAB percpu/kalloc END
}

/// A page for CPU `me`, whose list is empty, taken with a batch from the
/// fullest other list (`percpu` mode; `None` in the other modes).
#[cfg(kernel)]
fn steal(me: usize) -> Option<VAddr> {
    if mode() != Mode::PerCpu {
        return None;
    }
    // LAB percpu/steal BEGIN
    // A victim may be emptied by its owner between the look and the lock:
    // then look again. No victim left means every list is empty.
    while let Some(victim) = pick_victim(me, NCPU, |i| KMEM.counts[i].load(Ordering::Relaxed)) {
        // The lower-numbered lock first, so that two CPUs stealing from
        // each other cannot each hold one and wait for the other.
        let (mut low, mut high) = (hold(me.min(victim), None), hold(me.max(victim), None));
        let (mine, theirs) = match me < victim {
            true => (&mut low, &mut high),
            false => (&mut high, &mut low),
        };
        mine.steal_from(theirs);
        if let Some(va) = mine.alloc() {
            return Some(va);
        }
    }
    None
    // LAB percpu/steal END
}

/// Give a page back.
#[cfg(kernel)]
pub fn kfree(page: Page) {
    // SAFETY: `Page` owns its page, and consuming it ends the ownership.
    unsafe { kfree_addr(page.0) }
}

/// Free the page at `va` (xv6's `kfree(char *v)`), onto the running CPU's
/// list in `percpu` mode. Panics, naming the address and the rule, if a
/// page table maps it still (its count is not 0: `page_decref` frees such
/// a page when its last mapping goes), if `va` is not page-aligned, is
/// below the kernel's end, is at or above P2V(PHYSTOP), is not RAM the
/// kernel may use (a hole or a reserved region, which the message names),
/// or is free already. In `scan` mode the panics for a page at or above
/// P2V(PHYSTOP) and for one free already start with Linux 0.01's words
/// ([`LinuxSays`]).
///
/// # Safety
/// The page is not used by anyone any more.
#[cfg(kernel)]
pub unsafe fn kfree_addr(va: VAddr) {
    // SAFETY: the caller gives the page up.
    if let Err(e) = with_my_list(|l| unsafe { l.free(va) }) {
        match mode() {
            Mode::Scan => panic!("{}", LinuxSays(e)),
            _ => panic!("{e}"),
        }
    }
}

/// The free pages and the mode, as the boot report's `kalloc:` line says.
#[cfg(kernel)]
#[derive(Clone, Copy, Debug)]
pub struct Free {
    pub pages: usize,
    pub mode: Mode,
}

#[cfg(kernel)]
impl fmt::Display for Free {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "kalloc: {} pages free ({} mode)", self.pages, self.mode)
    }
}

/// The free pages now, and the mode.
#[cfg(kernel)]
pub fn free() -> Free {
    Free {
        pages: nfree(),
        mode: mode(),
    }
}

/// Number of free pages, on all lists (or marked free, in `scan` mode).
#[cfg(kernel)]
pub fn nfree() -> usize {
    match mode() {
        Mode::Scan => hold_scan().nfree(),
        _ => (0..lists().len()).map(|i| hold(i, None).nfree()).sum(),
    }
}

/// Pages on CPU `cpu`'s list in `percpu` mode; `None` in the other modes.
#[cfg(kernel)]
pub fn cpu_nfree(cpu: usize) -> Option<usize> {
    (mode() == Mode::PerCpu).then(|| hold(cpu, None).nfree())
}

/// Whether `kfree`/`kalloc` take the locks (true once `kinit2` is done).
#[cfg(kernel)]
pub fn uses_lock() -> bool {
    KMEM.use_lock.load(Ordering::Acquire)
}

/// Walk the free lists, all held at once (in order) so that nothing moves
/// between them, and check every page on them: aligned, in the pool, RAM
/// the kernel may use (so not in its image, the boot information or a
/// module), marked free, listed once (on one list); and the walks, the
/// O(1) counters and the free bits agree. In `scan` mode, with no list,
/// every page marked free gets the same checks and the marks and the
/// count must agree ([`Scan::audit`]). Returns the number of free pages,
/// or panics naming the first thing wrong.
#[cfg(kernel)]
pub fn audit() -> usize {
    try_audit().unwrap_or_else(|e| panic!("{e}"))
}

/// What [`audit`] checks, the failure returned rather than a panic (for
/// a test that reports it as the test's own failure).
#[cfg(kernel)]
pub fn try_audit() -> Result<usize, AuditError> {
    match mode() {
        Mode::Global => audit_lists(&mut [&mut *hold(0, None)]),
        Mode::Scan => hold_scan().audit(),
        Mode::PerCpu => {
            let mut held: [Held; NCPU] = core::array::from_fn(|i| hold(i, None));
            audit_lists(&mut held.each_mut().map(|l| &mut **l))
        }
    }
}

/// Whether `kfree` would take the page at `va`, or which of the pool's
/// rules it would panic on (a double free included); changes nothing.
#[cfg(kernel)]
pub fn check_free(va: VAddr) -> Result<(), KfreeError> {
    match mode() {
        Mode::Scan => hold_scan().check_free(va),
        _ => hold(0, None).check_free(va),
    }
}

/// For each list in use: call `f(name, nfree, i, va)` on its first `n`
/// free pages, head first, holding that list so it cannot change
/// meanwhile (`f` must not allocate or free). In `scan` mode, which has
/// no list, the first `n` pages its scan finds, highest first, named by
/// the scan's lock.
#[cfg(kernel)]
pub fn first_free(n: usize, mut f: impl FnMut(&'static str, usize, usize, VAddr)) {
    if mode() == Mode::Scan {
        let bits = hold_scan();
        return report_first(n, KMEM.scan.name(), bits.nfree(), bits.iter(), &mut f);
    }
    for (i, lock) in lists().iter().enumerate() {
        let l = hold(i, None);
        report_first(n, lock.name(), l.nfree(), l.iter(), &mut f);
    }
}

/// [`first_free`]'s report of one list (or of the scan): its first `n`
/// pages of `pages`, with their place `k`.
#[cfg(kernel)]
fn report_first(
    n: usize,
    name: &'static str,
    nfree: usize,
    pages: impl Iterator<Item = VAddr>,
    f: &mut impl FnMut(&'static str, usize, usize, VAddr),
) {
    pages
        .take(n)
        .enumerate()
        .for_each(|(k, va)| f(name, nfree, k, va));
}

/// The statistics of the allocator's locks in use (in `percpu` mode, the
/// started CPUs').
#[cfg(kernel)]
pub fn lock_stats(mut f: impl FnMut(LockStats)) {
    match mode() {
        Mode::Global => f(KMEM.global.stats()),
        Mode::PerCpu => KMEM.percpu_lists[..crate::cpu::ncpu()]
            .iter()
            .for_each(|l| f(l.stats())),
        Mode::Scan => f(KMEM.scan.stats()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_option_is_global_percpu_or_scan() {
        assert_eq!(Mode::parse(None), Ok(Mode::Global), "global by default");
        assert_eq!(Mode::parse(Some("global")), Ok(Mode::Global));
        assert_eq!(Mode::parse(Some("percpu")), Ok(Mode::PerCpu));
        assert_eq!(Mode::parse(Some("scan")), Ok(Mode::Scan));
        let e = Mode::parse(Some("per-cpu")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "kalloc=per-cpu: the allocator mode is global, percpu, or scan"
        );
        assert_eq!(Mode::PerCpu.to_string(), "percpu");
        for (m, name) in Mode::ALL.into_iter().zip(KALLOC_MODES) {
            assert_eq!(m.name(), name);
            assert_eq!(Mode::parse(Some(name)), Ok(m), "{name} round-trips");
        }
    }
}
