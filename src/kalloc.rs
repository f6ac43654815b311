//! Physical memory allocator (xv6's `kalloc.c`): `kinit1` and `kinit2` free
//! the boot stages' ranges, `kalloc` and `kfree` take and give back one
//! 4096-byte page. `kalloc=global` keeps xv6's one list and lock, `kmem`;
//! `kalloc=percpu` gives each CPU its own, with stealing (README, "SMP and
//! the per-CPU allocator"). The lists' bookkeeping is [`FreeList`], in
//! `kalloc/freelist.rs`, where the kalloc lab's exercises are
//! (labs/kalloc/README.md).

use core::fmt;

mod freelist;
mod steal;

pub use freelist::{
    AuditError, FreeList, Freed, JUNK_ALLOC, JUNK_FREE, KfreeError, PageMemory, Pool, audit_lists,
};
pub use steal::{STEAL_MAX, pick_victim, steal_batch};

/// How the free pages are kept, chosen by the `kalloc=` boot option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One list and one lock for every CPU (xv6's `kmem`), the default.
    Global,
    /// A list and a lock per CPU; a CPU whose list is empty steals a batch
    /// from another's (the lock lab's cure for a contended `kmem`).
    PerCpu,
}

/// A `kalloc=` value that names no mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadMode<'a>(pub &'a str);

impl fmt::Display for BadMode<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "kalloc={}: the allocator mode is global or percpu",
            self.0
        )
    }
}

impl Mode {
    /// The mode the `kalloc=` option's value names (`None`: no option).
    pub fn parse(value: Option<&str>) -> Result<Mode, BadMode<'_>> {
        match value {
            None | Some("global") => Ok(Mode::Global),
            Some("percpu") => Ok(Mode::PerCpu),
            Some(other) => Err(BadMode(other)),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Global => "global",
            Mode::PerCpu => "percpu",
        }
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
    crate::memlayout::{PAddr, VAddr, v2p},
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

/// An empty list under a lock called `name`; kinit1 sets its pool.
#[cfg(kernel)]
const fn list(name: &'static str) -> List {
    let nowhere = Pool {
        end: VAddr(0),
        top: VAddr(0),
        ram: None,
        counts: &[],
    };
    Spinlock::new(
        name,
        FreeList::new(nowhere, cfg!(feature = "junk"), DirectMap),
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

/// xv6's `struct kmem`, for both modes.
#[cfg(kernel)]
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
    /// Each per-CPU list's count as of its last use, read without the
    /// locks to choose whom to steal from (a stale value only makes a
    /// thief look at the wrong list first).
    counts: [AtomicUsize; NCPU],
}

#[cfg(kernel)]
static KMEM: Kmem = Kmem {
    use_lock: AtomicBool::new(false),
    percpu: AtomicBool::new(false),
    global: list("kmem"),
    percpu_lists: percpu_lists(),
    counts: [const { AtomicUsize::new(0) }; NCPU],
};

/// The mode kinit1 set.
#[cfg(kernel)]
#[inline(always)]
pub fn mode() -> Mode {
    if KMEM.percpu.load(Ordering::Relaxed) {
        Mode::PerCpu
    } else {
        Mode::Global
    }
}

/// The lists in use: the one global list, or one per CPU.
#[cfg(kernel)]
#[inline(always)]
fn lists() -> &'static [List] {
    match mode() {
        Mode::Global => core::slice::from_ref(&KMEM.global),
        Mode::PerCpu => &KMEM.percpu_lists,
    }
}

/// A free list in use, from [`hold`]. Dropping it notes the list's count
/// for thieves (in `percpu` mode), then lets the lock go.
#[cfg(kernel)]
struct Held<'a> {
    list: &'a mut FreeList<DirectMap>,
    /// The list's lock, once kinit2 has turned `use_lock` on (its guard is
    /// only held, never read through: `list` is the way to the list).
    _lock: Option<SpinlockGuard<'a, FreeList<DirectMap>>>,
    /// Where thieves read the list's count (`percpu` mode only).
    count: Option<&'static AtomicUsize>,
}

/// List `i` (in `global` mode the one list), the one way to a free list:
/// under its lock if `use_lock` is on (xv6's `if(kmem.use_lock)
/// acquire(&kmem.lock)`), as it is before. `pinned` is the caller's own
/// interrupts-off guard when it keeps this CPU pinned ([`pin`]): the lock
/// then takes no second `pushcli`. This module never holds one list twice
/// at a time.
#[cfg(kernel)]
#[inline(always)]
fn hold(i: usize, pinned: Option<&NoInterrupts>) -> Held<'_> {
    let (lock, count) = match mode() {
        Mode::Global => (&KMEM.global, None),
        Mode::PerCpu => (&KMEM.percpu_lists[i], Some(&KMEM.counts[i])),
    };
    let guard = match (KMEM.use_lock.load(Ordering::Acquire), pinned) {
        (false, _) => None,
        (true, Some(p)) => Some(lock.lock_pinned(p)),
        (true, None) => Some(lock.lock()),
    };
    // SAFETY: with the lock held, this is the one reference to the list
    // (the guard is never read through). Before kinit2 turns the locks on
    // only the boot CPU uses the allocator, with interrupts off, and this
    // module holds a list once at a time, so it is the one reference too.
    let list = unsafe { lock.get_unchecked() };
    Held {
        list,
        _lock: guard,
        count,
    }
}

#[cfg(kernel)]
impl Deref for Held<'_> {
    type Target = FreeList<DirectMap>;
    #[inline(always)]
    fn deref(&self) -> &Self::Target {
        self.list
    }
}

#[cfg(kernel)]
impl DerefMut for Held<'_> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.list
    }
}

#[cfg(kernel)]
impl Drop for Held<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        // Runs before `_lock` drops, so still under the lock.
        if let Some(count) = self.count {
            count.store(self.list.nfree(), Ordering::Relaxed);
        }
    }
}

/// In `percpu` mode, interrupts off for as long as the caller uses its own
/// CPU's list, so that it stays on that CPU; `None` in `global` mode.
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
    // LAB percpu/mine STUB
    // let _ = pin;
    // crate::lab_todo!("percpu", "mine")
    // LAB percpu/mine BASE
    // // Given until lab percpu: list 0, the one list of global mode.
    // let _ = pin;
    // 0
    // LAB percpu/mine END
}

/// Run `f` on the running CPU's list (the one list in `global` mode): the
/// counted page API's `page_free` checks and frees under its lock.
#[cfg(kernel)]
pub fn with_my_list<R>(f: impl FnOnce(&mut FreeList<DirectMap>) -> R) -> R {
    // LAB percpu/kfree BEGIN
    let pin = pin();
    f(&mut hold(mine(&pin), pin.as_ref()))
    // LAB percpu/kfree STUB
    // let _ = f;
    // crate::lab_todo!("percpu", "kfree")
    // LAB percpu/kfree BASE
    // // Given until lab percpu: the one list of global mode.
    // f(&mut hold(0, None))
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
    KMEM.percpu.store(mode == Mode::PerCpu, Ordering::Relaxed);
    let ram = Some(RAM.call_once(|| ram));
    for i in 0..lists().len() {
        hold(i, None).set_pool(Pool {
            end: vstart,
            top,
            ram,
            counts,
        });
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
        Mode::Global => 1,
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
/// `freerange`); any other broken rule is a kernel bug.
#[cfg(kernel)]
pub(crate) fn freerange(i: usize, vstart: VAddr, vend: VAddr) -> Freed {
    // SAFETY: boot hands over RAM no one has used: above the kernel image
    // and the boot stack, outside what GRUB left (reserved in the pool's
    // RAM, which free_range skips).
    unsafe { hold(i, None).free_range(vstart, vend) }.unwrap_or_else(|e| panic!("{e}"))
}

/// Allocate one 4096-byte page, or `None` if memory is exhausted: in
/// `percpu` mode from the running CPU's list, stealing a batch from the
/// fullest other list when it is empty.
#[cfg(kernel)]
#[must_use = "a page dropped without kfree is lost for good"]
pub fn kalloc() -> Option<Page> {
    // LAB percpu/kalloc BEGIN
    let pinned = pin();
    let me = mine(&pinned);
    let own = hold(me, pinned.as_ref()).alloc();
    own.or_else(|| steal(me)).map(Page)
    // LAB percpu/kalloc STUB
    // crate::lab_todo!("percpu", "kalloc")
    // LAB percpu/kalloc BASE
    // // Given until lab percpu: the one list of global mode.
    // hold(0, None).alloc().map(Page)
    // LAB percpu/kalloc END
}

/// A page for CPU `me`, whose list is empty, taken with a batch from the
/// fullest other list (`percpu` mode; `None` in `global` mode).
#[cfg(kernel)]
fn steal(me: usize) -> Option<VAddr> {
    if mode() == Mode::Global {
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
    // LAB percpu/steal STUB
    // let _ = me;
    // crate::lab_todo!("percpu", "steal")
    // LAB percpu/steal BASE
    // // Given until lab percpu: there are no other lists to steal from.
    // let _ = me;
    // None
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
/// or is free already.
///
/// # Safety
/// The page is not used by anyone any more.
#[cfg(kernel)]
pub unsafe fn kfree_addr(va: VAddr) {
    // SAFETY: the caller gives the page up.
    if let Err(e) = with_my_list(|l| unsafe { l.free(va) }) {
        panic!("{e}");
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

/// Number of free pages, on all lists.
#[cfg(kernel)]
pub fn nfree() -> usize {
    (0..lists().len()).map(|i| hold(i, None).nfree()).sum()
}

/// Pages on CPU `cpu`'s list in `percpu` mode; `None` in `global` mode.
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
/// O(1) counters and the free bits agree. Returns the number of free
/// pages, or panics naming the first thing wrong.
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
    hold(0, None).check_free(va)
}

/// For each list in use: call `f(name, nfree, i, va)` on its first `n`
/// free pages, head first, holding that list so it cannot change
/// meanwhile (`f` must not allocate or free).
#[cfg(kernel)]
pub fn first_free(n: usize, mut f: impl FnMut(&'static str, usize, usize, VAddr)) {
    for (i, lock) in lists().iter().enumerate() {
        let l = hold(i, None);
        let nfree = l.nfree();
        l.iter()
            .take(n)
            .enumerate()
            .for_each(|(k, va)| f(lock.name(), nfree, k, va));
    }
}

/// The statistics of the allocator's locks in use (in `percpu` mode, the
/// started CPUs').
#[cfg(kernel)]
pub fn lock_stats(mut f: impl FnMut(LockStats)) {
    let n = match mode() {
        Mode::Global => 1,
        Mode::PerCpu => crate::cpu::ncpu(),
    };
    lists().iter().take(n).for_each(|l| f(l.stats()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_option_is_global_or_percpu() {
        assert_eq!(Mode::parse(None), Ok(Mode::Global), "global by default");
        assert_eq!(Mode::parse(Some("global")), Ok(Mode::Global));
        assert_eq!(Mode::parse(Some("percpu")), Ok(Mode::PerCpu));
        let e = Mode::parse(Some("per-cpu")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "kalloc=per-cpu: the allocator mode is global or percpu"
        );
        assert_eq!(Mode::PerCpu.to_string(), "percpu");
    }
}
