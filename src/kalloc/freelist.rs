//! The free list's bookkeeping (xv6's `kmem.freelist`): a list threaded
//! through the free pages, kfree's rules, `free_range`, stealing between
//! lists and an audit. Pure logic over a [`PageMemory`], so the host's unit
//! tests run it on simulated pages; the kernel's memory is `DirectMap`.

use core::fmt;
use core::sync::atomic::{AtomicU8, Ordering};

use super::steal::steal_batch;
use crate::memlayout::{PAddr, VAddr, p2v, p2v_end, v2p};
use crate::memmap::{NotRam, Ram};
use crate::mmu::PGSIZE;

/// What `kfree` writes over a freed page (catches use after free).
pub const JUNK_FREE: u8 = crate::protocol::JUNK_FREE;
/// What `kalloc` writes over an allocated page (catches reads of memory
/// nobody initialised).
pub const JUNK_ALLOC: u8 = crate::protocol::JUNK_ALLOC;

/// The pages the allocator accepts back: those in `[end, top)`, where `end`
/// is the end of the kernel image and `top` is `P2V(PHYSTOP)`, that are RAM
/// the kernel may use according to `ram` (every page, when `None`), and
/// that no page table maps according to `counts` (the page counts, one a
/// page from physical page 0; empty: none kept).
#[derive(Clone, Copy)]
pub struct Pool {
    pub end: VAddr,
    pub top: VAddr,
    pub ram: Option<&'static Ram>,
    pub counts: &'static [AtomicU8],
}

/// What the counted page API (`pageinfo::Pages`) needs of the free pages,
/// whether a list ([`FreeList`]) or the scan's bits (`Scan`) keeps them.
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

/// A rule `kfree` found broken (xv6 has one `panic("kfree")` for them all).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KfreeError {
    Misaligned {
        va: VAddr,
    },
    BelowEnd {
        va: VAddr,
        end: VAddr,
    },
    AtOrAboveTop {
        va: VAddr,
        top: VAddr,
    },
    /// The page is not RAM the kernel may use (a hole, a reserved region).
    NotRam {
        va: VAddr,
        why: NotRam,
    },
    /// The page is already on the free list.
    DoubleFree {
        va: VAddr,
    },
    /// A page table maps the page still: its count is not 0.
    Mapped {
        va: VAddr,
        count: u8,
    },
}

impl fmt::Display for KfreeError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match *self {
            KfreeError::Misaligned { va } => {
                write!(f, "kfree: {:#010x} is not page-aligned", va.0)
            }
            KfreeError::BelowEnd { va, end } => write!(
                f,
                "kfree: {:#010x} is below the kernel's end {:#010x}",
                va.0, end.0
            ),
            KfreeError::AtOrAboveTop { va, top } => write!(
                f,
                "kfree: {:#010x} is at or above P2V(PHYSTOP) {:#010x}",
                va.0, top.0
            ),
            KfreeError::NotRam { va, why } => write!(f, "kfree: {:#010x} is {why}", va.0),
            KfreeError::DoubleFree { va } => write!(f, "kfree: double free of page {:#010x}", va.0),
            KfreeError::Mapped { va, count } => write!(
                f,
                "kfree: page {:#010x} has count {count}: a page table maps it (page_decref frees it)",
                v2p(va).0
            ),
        }
    }
}

impl Pool {
    /// The pool before kinit1 sets it: no page is accepted.
    pub const NOWHERE: Pool = Pool {
        end: VAddr(0),
        top: VAddr(0),
        ram: None,
        counts: &[],
    };

    /// The pages of `[end, top)` that are RAM according to `ram` and that
    /// `counts` says no page table maps.
    pub fn new(
        end: VAddr,
        top: VAddr,
        ram: Option<&'static Ram>,
        counts: &'static [AtomicU8],
    ) -> Pool {
        Pool {
            end,
            top,
            ram,
            counts,
        }
    }

    /// Check the rules xv6's `kfree` checks (page-aligned, not below the
    /// kernel's end, below P2V(PHYSTOP)), then that the page is RAM.
    pub fn check(&self, va: VAddr) -> Result<(), KfreeError> {
        self.check_bounds(va)?;
        match self.ram {
            Some(ram) => ram
                .check_page(u64::from(v2p(va).0))
                .map_err(|why| KfreeError::NotRam { va, why }),
            None => Ok(()),
        }
    }

    /// xv6's own rules: page-aligned, not below the kernel's end, below
    /// P2V(PHYSTOP).
    pub(super) fn check_bounds(&self, va: VAddr) -> Result<(), KfreeError> {
        // LAB kalloc/kfree BEGIN
        use crate::mmu::PageStep;
        if !va.is_page_start() {
            Err(KfreeError::Misaligned { va })
        } else if va < self.end {
            Err(KfreeError::BelowEnd { va, end: self.end })
        } else if va >= self.top {
            Err(KfreeError::AtOrAboveTop { va, top: self.top })
        } else {
            Ok(())
        }
        // LAB kalloc/kfree END
    }

    /// Whether `free` would take the page at `va`: every rule of
    /// [`Pool::check`], and not free already according to `mem`'s free bits.
    pub fn check_free(&self, mem: &impl PageMemory, va: VAddr) -> Result<(), KfreeError> {
        self.check(va)?;
        match mem.is_marked(va) {
            true => Err(KfreeError::DoubleFree { va }),
            false => Ok(()),
        }
    }

    /// Whether a page table maps the page at `va` (its count is not 0):
    /// kfree's first rule. Pages without a count (none kept, or at or above
    /// PHYSTOP) are not mapped.
    pub fn check_unmapped(&self, va: VAddr) -> Result<(), KfreeError> {
        if self.counts.is_empty() {
            return Ok(());
        }
        let page = v2p(va).0 as usize / PGSIZE;
        match self.counts.get(page).map(|c| c.load(Ordering::Relaxed)) {
            Some(count) if count != 0 => Err(KfreeError::Mapped { va, count }),
            _ => Ok(()),
        }
    }

    /// The RAM pages of `[start, end)` (page-aligned kernel addresses), as
    /// runs `(first page, end)`, lowest first: the whole range when the
    /// pool has no map (the host's tests).
    pub(super) fn ram_runs(
        &self,
        start: VAddr,
        end: VAddr,
    ) -> impl Iterator<Item = (VAddr, VAddr)> + '_ {
        let to_va = |(a, b): (u32, u32)| (p2v(PAddr(a)), p2v_end(PAddr(b)));
        let mapped = self
            .ram
            .map(|ram| ram.usable_within(v2p(start).0, v2p(end).0).map(to_va));
        let whole = self.ram.is_none().then_some((start, end));
        mapped.into_iter().flatten().chain(whole)
    }
}

/// What the free-list audit found wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditError {
    /// A page on the list breaks a rule (named as kfree would name it).
    BadPage(KfreeError),
    /// A page is on the list twice, or is on it but not marked free.
    TwiceOrUnmarked {
        va: VAddr,
    },
    /// The list goes on past the counter (a cycle, or a lost count).
    LongerThanCount {
        count: usize,
    },
    ShorterThanCount {
        walked: usize,
        count: usize,
    },
    /// Pages marked free that are not on the list.
    MarkedNotListed {
        marked: usize,
        listed: usize,
    },
    /// `kalloc=scan`: the pages the scan finds free, the pages marked free
    /// anywhere and the count disagree.
    ScanCount {
        seen: usize,
        marked: usize,
        count: usize,
    },
}

impl fmt::Display for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            AuditError::BadPage(e) => write!(f, "audit: a free page breaks a rule: {e}"),
            AuditError::TwiceOrUnmarked { va } => {
                write!(
                    f,
                    "audit: page {:#010x} is on the free list twice or is not marked free",
                    va.0
                )
            }
            AuditError::LongerThanCount { count } => {
                write!(
                    f,
                    "audit: the free list is longer than its count {count}: expected {count} \
                     pages, saw more"
                )
            }
            AuditError::ShorterThanCount { walked, count } => {
                write!(
                    f,
                    "audit: the free list has {walked} pages but its count says {count}"
                )
            }
            AuditError::MarkedNotListed { marked, listed } => {
                write!(
                    f,
                    "audit: {marked} pages are marked free but {listed} are on the list"
                )
            }
            AuditError::ScanCount {
                seen,
                marked,
                count,
            } => write!(
                f,
                "audit: the scan finds {seen} free pages, {marked} are marked free, the count says {count}"
            ),
        }
    }
}

/// Where the free list's links and junk live: the pages themselves in the
/// kernel, a simulation in the host's unit tests.
pub trait PageMemory {
    /// Fill the page at `page` with `byte`.
    ///
    /// # Safety
    /// `page` is a whole page that nobody else uses.
    unsafe fn fill(&mut self, page: VAddr, byte: u8);

    /// Store `next` as the link in the first word of `page`.
    ///
    /// # Safety
    /// As for [`PageMemory::fill`].
    unsafe fn set_link(&mut self, page: VAddr, next: Option<VAddr>);

    /// Read the link stored in `page`.
    ///
    /// # Safety
    /// `page` is a free page whose link was set by [`PageMemory::set_link`].
    unsafe fn link(&self, page: VAddr) -> Option<VAddr>;

    /// Record whether `page` is on the free list; return what was recorded
    /// before. One bit per page, so that a double free is caught in O(1).
    fn mark_free(&mut self, page: VAddr, free: bool) -> bool;

    /// Whether `page` is recorded as free.
    fn is_marked(&self, page: VAddr) -> bool;

    /// How many pages are recorded as free.
    fn count_marked(&self) -> usize;

    /// The highest page of `[lo, below)` recorded as free (`kalloc=scan`'s
    /// search).
    fn highest_marked(&self, lo: VAddr, below: VAddr) -> Option<VAddr>;
}

/// Pages freed by one call of [`FreeList::free_range`] (or by one boot
/// stage, `stage`, which the boot report names): `pages` pages from
/// `start` up to (not including) `end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Freed {
    pub stage: &'static str,
    pub start: VAddr,
    pub end: VAddr,
    pub pages: usize,
}

impl Freed {
    /// What one call of [`FreeList::free_range`] freed: `pages` pages of
    /// `[start, end)` (a boot stage then puts its own name on it).
    pub const fn by_free_range(start: VAddr, end: VAddr, pages: usize) -> Freed {
        Freed {
            stage: "free_range",
            start,
            end,
            pages,
        }
    }
}

impl fmt::Display for Freed {
    /// The boot report's line, e.g. `kinit1: freed 636 pages [0x80175000, 0x80400000)`.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "{}: freed {} pages [{:#010x}, {:#010x})",
            self.stage, self.pages, self.start.0, self.end.0
        )
    }
}

/// A rule the free list breaks after a page was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TakenWrongly {
    /// The page is still the list's head: it was not unlinked.
    StillHead,
    /// The count did not fall by exactly one.
    Count { before: usize, after: usize },
    /// The page's free bit is still set.
    StillMarked,
}

impl fmt::Display for TakenWrongly {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match *self {
            TakenWrongly::StillHead => {
                write!(
                    f,
                    "was taken but is still the free list's head: expected the head to move to its link"
                )
            }
            TakenWrongly::Count { before, after } => write!(
                f,
                "was taken but the free count went from {before} to {after}: expected {}",
                before.wrapping_sub(1)
            ),
            TakenWrongly::StillMarked => {
                write!(
                    f,
                    "was taken but is still marked free: expected its free bit cleared"
                )
            }
        }
    }
}

/// The free list (xv6's `kmem.freelist`) and its page counter.
pub struct FreeList<M> {
    head: Option<VAddr>,
    nfree: usize,
    pool: Pool,
    junk: bool,
    mem: M,
}

impl<M: PageMemory> FreeList<M> {
    /// An empty list that will accept pages in `pool`; `junk` turns the
    /// [`JUNK_FREE`]/[`JUNK_ALLOC`] fills on.
    pub const fn new(pool: Pool, junk: bool, mem: M) -> Self {
        FreeList {
            head: None,
            nfree: 0,
            pool,
            junk,
            mem,
        }
    }

    /// Number of pages on the list.
    pub fn nfree(&self) -> usize {
        self.nfree
    }

    /// Set the pages the list accepts; only while it is empty (kinit1).
    pub fn set_pool(&mut self, pool: Pool) {
        crate::check_eq!(
            self.nfree,
            0,
            "kalloc: the pages on the list when its pool changes (only while it is empty)"
        );
        self.pool = pool;
    }

    /// Put the page at `va` on the list (xv6's `kfree`), after filling it
    /// with [`JUNK_FREE`]. Refuses, touching nothing, a page a page table
    /// maps (its count is not 0), or that breaks one of [`Pool::check`]'s
    /// rules.
    ///
    /// # Safety
    /// The page is no longer used by anyone: from now on the list owns it.
    pub unsafe fn free(&mut self, va: VAddr) -> Result<(), KfreeError> {
        self.pool.check_unmapped(va)?;
        self.pool.check(va)?;
        // SAFETY: passed on from the caller.
        unsafe { self.push(va) }
    }

    /// Whether [`FreeList::free`] would take the page at `va`: every rule of
    /// [`Pool::check`], and not free already. Changes nothing (the monitor
    /// asks before it frees, so that a typo is refused instead of a panic).
    pub fn check_free(&self, va: VAddr) -> Result<(), KfreeError> {
        self.pool.check_free(&self.mem, va)
    }

    /// Link a page that passed [`Pool::check`], unless it is already free:
    /// the end of kfree (xv6's `r->next = kmem.freelist`).
    ///
    /// # Safety
    /// As for [`FreeList::free`].
    pub unsafe fn push(&mut self, va: VAddr) -> Result<(), KfreeError> {
        // LAB kalloc/kfree BEGIN
        if self.mem.mark_free(va, true) {
            return Err(KfreeError::DoubleFree { va });
        }
        // SAFETY: the caller hands the whole page over to the list.
        unsafe {
            if self.junk {
                self.mem.fill(va, JUNK_FREE);
            }
            self.mem.set_link(va, self.head);
        }
        self.head = Some(va);
        self.nfree += 1;
        Ok(())
        // LAB kalloc/kfree END
    }

    /// Take the most recently freed page off the list (xv6's `kalloc`),
    /// filled with [`JUNK_ALLOC`]; `None` when the list is empty. Checks
    /// what it cheaply can of [`FreeList::take`]'s work, so that a slip
    /// there is named here instead of surfacing later as a page used twice.
    #[inline]
    pub fn alloc(&mut self) -> Option<VAddr> {
        let before = self.nfree;
        let va = self.take()?;
        if let Some(broken) = self.taken_wrongly(va, before) {
            panic!(
                "kalloc: page {:#010x} {broken} (exercise kalloc/kalloc: FreeList::take)",
                va.0
            );
        }
        Some(va)
    }

    /// What is wrong with the list after `take` returned `va` with `before`
    /// pages on it: the rule its state breaks, if any.
    fn taken_wrongly(&self, va: VAddr, before: usize) -> Option<TakenWrongly> {
        if self.head == Some(va) {
            Some(TakenWrongly::StillHead)
        } else if self.nfree + 1 != before {
            Some(TakenWrongly::Count {
                before,
                after: self.nfree,
            })
        } else if self.mem.is_marked(va) {
            Some(TakenWrongly::StillMarked)
        } else {
            None
        }
    }

    /// The work of [`FreeList::alloc`]: unlink the head, fill it with
    /// [`JUNK_ALLOC`], clear its free bit, count it.
    #[inline]
    fn take(&mut self) -> Option<VAddr> {
        // LAB kalloc/kalloc BEGIN
        let va = self.head?;
        // SAFETY: every page on the list was handed over by `free`'s caller
        // and its link was set there; after this the caller owns it.
        unsafe {
            self.head = self.mem.link(va);
            if self.junk {
                self.mem.fill(va, JUNK_ALLOC);
            }
        }
        self.mem.mark_free(va, false);
        self.nfree -= 1;
        Some(va)
        // LAB kalloc/kalloc END
    }

    /// The simulated memory under the list, for host tests whose pages
    /// also hold page tables and data.
    #[cfg(test)]
    pub fn mem_mut(&mut self) -> &mut M {
        &mut self.mem
    }

    /// Move a batch of pages ([`steal_batch`] of the victim's count) from
    /// the head of `victim` to the head of this list, for a CPU whose own
    /// list is empty; returns how many. The pages only change lists: they
    /// stay marked free and keep their junk. Both lists must share one
    /// memory (the free bits are per page, not per list).
    pub fn steal_from(&mut self, victim: &mut FreeList<M>) -> usize {
        let Some(first) = victim.head else {
            return 0;
        };
        let n = steal_batch(victim.nfree);
        // The batch is `first` and the n - 1 pages after it.
        let mut last = first;
        for k in 1..n {
            // SAFETY: `last` is on the victim's list, so its link was set by
            // `free`; the count says n pages are there.
            last = unsafe { victim.mem.link(last) }.unwrap_or_else(|| {
                panic!(
                    "kalloc: steal: the victim's list ends after {k} pages: expected at least \
                     the batch of {n}, as its count {} says",
                    victim.nfree
                )
            });
        }
        // SAFETY: `last` is on the victim's list; relinking it onto this
        // list's head moves the batch without touching another page.
        unsafe {
            victim.head = victim.mem.link(last);
            self.mem.set_link(last, self.head);
        }
        self.head = Some(first);
        victim.nfree -= n;
        self.nfree += n;
        n
    }

    /// Free every whole page in `[PGROUNDUP(start), end)` (xv6's
    /// `freerange`) that is RAM, lowest address first, skipping holes and
    /// reserved pages; say how many and from which range. Any other broken
    /// rule stops it with the error.
    ///
    /// # Safety
    /// Nobody uses any RAM page of the range.
    pub unsafe fn free_range(&mut self, start: VAddr, end: VAddr) -> Result<Freed, KfreeError> {
        // LAB kalloc/freerange BEGIN
        use crate::mmu::PageStep;
        // The whole pages: [first, end), `end` rounded down (exclusive).
        let first = start.page_up().unwrap_or(start);
        let end = first.add_pages(first.pages_to(end));
        let freed = |pages| Freed::by_free_range(first, end, pages);
        if first == end {
            return Ok(freed(0));
        }
        // The pool's bounds hold for every page if they hold for the first
        // and the last (the one before `end`); then only RAM is asked, a run
        // at a time.
        self.pool.check_bounds(first)?;
        self.pool.check_bounds(end.sub_pages(1))?;
        let mut pages = 0;
        let pool = self.pool;
        for (a, b) in pool.ram_runs(first, end) {
            for page in a.pages_until(b) {
                // SAFETY: the caller gives up every RAM page of the range.
                unsafe { self.push(page)? };
                pages += 1;
            }
        }
        Ok(freed(pages))
        // LAB kalloc/freerange END
    }

    /// The free pages, head first (the next `alloc` returns the first).
    pub fn iter(&self) -> impl Iterator<Item = VAddr> + '_ {
        core::iter::successors(self.head, move |&va| {
            // SAFETY: `va` is on the list, so its link was set by `free`.
            unsafe { self.mem.link(va) }
        })
    }
}

impl<M: PageMemory> FreePages for FreeList<M> {
    fn nfree(&self) -> usize {
        self.nfree
    }

    fn check_free(&self, va: VAddr) -> Result<(), KfreeError> {
        FreeList::check_free(self, va)
    }

    unsafe fn free(&mut self, va: VAddr) -> Result<(), KfreeError> {
        // SAFETY: passed on from the caller.
        unsafe { FreeList::free(self, va) }
    }
}

/// Walk free lists that share one memory, and so one set of free bits (the
/// one global list, or the per-CPU lists), and check them against their
/// counters and the bits: every page passes [`Pool::check`] (alignment,
/// range, RAM), is marked free and appears once (on one list), and the
/// walks, the counters and the number of marked pages agree. Returns the
/// number of free pages.
pub fn audit_lists<M: PageMemory>(lists: &mut [&mut FreeList<M>]) -> Result<usize, AuditError> {
    // First walk: clear each page's bit as it is met, so a page met twice
    // (on one list or two), or never marked, shows up as unmarked. Each
    // list's walk is bounded by its counter, so a cycle cannot hang it.
    let mut walked = [0; crate::param::NCPU + 1];
    crate::check!(lists.len() <= walked.len(), "audit_lists: the lists";
        expected "at most {}", walked.len(); seen "{}", lists.len());
    let mut failure = None;
    'lists: for (l, walked) in lists.iter_mut().zip(walked.iter_mut()) {
        let mut next = l.head;
        while let Some(va) = next {
            if *walked == l.nfree {
                failure = Some(AuditError::LongerThanCount { count: l.nfree });
                break 'lists;
            }
            if let Err(e) = l.pool.check(va) {
                failure = Some(AuditError::BadPage(e));
                break 'lists;
            }
            if !l.mem.mark_free(va, false) {
                failure = Some(AuditError::TwiceOrUnmarked { va });
                break 'lists;
            }
            *walked += 1;
            // SAFETY: `va` is on the list, so its link was set by `free`.
            next = unsafe { l.mem.link(va) };
        }
    }
    // Second walk: set the bits back on the pages the first one cleared.
    for (l, &walked) in lists.iter_mut().zip(walked.iter()) {
        let mut restore = l.head;
        for k in 0..walked {
            let va = restore.unwrap_or_else(|| {
                panic!("audit: the list ends after {k} pages: expected {walked}, as the first walk")
            });
            l.mem.mark_free(va, true);
            // SAFETY: as above.
            restore = unsafe { l.mem.link(va) };
        }
    }
    if let Some(f) = failure {
        return Err(f);
    }
    for (l, &walked) in lists.iter().zip(walked.iter()) {
        if walked != l.nfree {
            return Err(AuditError::ShorterThanCount {
                walked,
                count: l.nfree,
            });
        }
    }
    let listed = walked.iter().sum();
    let marked = lists.first().map_or(0, |l| l.mem.count_marked());
    if marked != listed {
        return Err(AuditError::MarkedNotListed { marked, listed });
    }
    Ok(listed)
}

#[cfg(test)]
pub(super) mod tests;
