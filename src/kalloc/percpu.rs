//! `kalloc=percpu`: a free list and a lock per CPU, the MIT lock lab's cure
//! for a contended `kmem` (docs/smp.md). kfree
//! and kalloc use the running CPU's list, kept on that CPU meanwhile with
//! interrupts off; a CPU whose list is empty steals a batch from the
//! fullest other list ([`pick_victim`], [`steal_batch`] in `steal.rs`).
//! The percpu lab's exercises are here (labs/percpu/README.md).
#![cfg(kernel)]

use core::sync::atomic::{AtomicUsize, Ordering};

use super::{
    Allocator, AuditError, DirectMap, FreeList, Freed, Held, JUNK, KfreeError, Mode, Pool, acquire,
    audit_lists, report::report_first,
};
use crate::lockorder::KMEM_CPU;
use crate::memlayout::VAddr;
use crate::param::NCPU;
use crate::spinlock::{LockStats, NoInterrupts, Spinlock};

type List = Spinlock<FreeList<DirectMap>>;

/// The lists, each under the lock `kmem.<cpu>`, and their counts.
pub struct PerCpu {
    lists: [List; NCPU],
    /// Each list's count as of its last use, read without the locks to
    /// choose whom to steal from (a stale value only makes a thief look at
    /// the wrong list first).
    counts: [AtomicUsize; NCPU],
}

pub static PERCPU: PerCpu = PerCpu {
    lists: percpu_lists(),
    counts: [const { AtomicUsize::new(0) }; NCPU],
};

impl PerCpu {
    /// List `i`, held ([`acquire`]); `pinned`: the caller's own guard that
    /// keeps it on its CPU, so that the lock takes no second `pushcli`.
    #[inline(always)]
    fn hold<'a>(
        &'a self,
        i: usize,
        pinned: Option<&'a NoInterrupts>,
    ) -> Held<'a, FreeList<DirectMap>> {
        acquire(&self.lists[i], pinned)
    }

    /// Note list `i`'s count for thieves (while still holding it).
    #[inline(always)]
    fn note(&self, i: usize, list: &Held<'_, FreeList<DirectMap>>) {
        self.counts[i].store(list.list.nfree(), Ordering::Relaxed);
    }
}

/// The list of the CPU `pin` keeps the caller on.
#[inline(always)]
fn mine(pin: &NoInterrupts) -> usize {
    // LAB percpu/mine BEGIN
    pin.cpu()
    // LAB percpu/mine END
}

impl Allocator for PerCpu {
    fn mode(&self) -> Mode {
        Mode::PerCpu
    }

    fn set_pool(&self, pool: Pool) {
        (0..NCPU).for_each(|i| self.hold(i, None).list.set_pool(pool));
    }

    unsafe fn free_range(&self, i: usize, start: VAddr, end: VAddr) -> Result<Freed, KfreeError> {
        let list = self.hold(i, None);
        // SAFETY: passed on from the caller.
        let freed = unsafe { list.list.free_range(start, end) };
        self.note(i, &list);
        freed
    }

    fn shares(&self) -> usize {
        crate::cpu::ncpu()
    }

    /// Onto the running CPU's list.
    unsafe fn push(&self, va: VAddr) -> Result<(), KfreeError> {
        // LAB percpu/kfree BEGIN
        let pin = NoInterrupts::new();
        let me = mine(&pin);
        let list = self.hold(me, Some(&pin));
        // SAFETY: passed on from the caller.
        let pushed = unsafe { list.list.push(va) };
        self.note(me, &list);
        pushed
        // LAB percpu/kfree END
    }

    /// Off the running CPU's list, stealing a batch when it is empty.
    fn pop(&self) -> Option<VAddr> {
        // LAB percpu/kalloc BEGIN
        let pin = NoInterrupts::new();
        let me = mine(&pin);
        let list = self.hold(me, Some(&pin));
        let own = list.list.alloc();
        self.note(me, &list);
        drop(list);
        own.or_else(|| self.steal(me))
        // LAB percpu/kalloc END
    }

    fn nfree(&self) -> usize {
        (0..NCPU).map(|i| self.hold(i, None).list.nfree()).sum()
    }

    fn cpu_nfree(&self, cpu: usize) -> Option<usize> {
        Some(self.hold(cpu, None).list.nfree())
    }

    fn audit(&self) -> Result<usize, AuditError> {
        let mut held: [Held<'_, _>; NCPU] = core::array::from_fn(|i| self.hold(i, None));
        audit_lists(&mut held.each_mut().map(|l| &mut *l.list))
    }

    fn first_free(&self, n: usize, f: &mut dyn FnMut(&'static str, usize, usize, VAddr)) {
        for (i, lock) in self.lists.iter().enumerate() {
            let l = self.hold(i, None);
            report_first(n, lock.name(), l.list.nfree(), l.list.iter(), f);
        }
    }

    /// The started CPUs' locks.
    fn lock_stats(&self, f: &mut dyn FnMut(LockStats)) {
        self.lists[..crate::cpu::ncpu()]
            .iter()
            .for_each(|l| f(l.stats()));
    }
}

impl PerCpu {
    /// A page for CPU `me`, whose list is empty, taken with a batch from the
    /// fullest other list; `None` when every list is empty.
    fn steal(&self, me: usize) -> Option<VAddr> {
        // LAB percpu/steal BEGIN
        use super::pick_victim;
        // A victim may be emptied by its owner between the look and the lock:
        // then look again. No victim left means every list is empty.
        while let Some(victim) = pick_victim(me, NCPU, |i| self.counts[i].load(Ordering::Relaxed)) {
            // The lower-numbered lock first, so that two CPUs stealing from
            // each other cannot each hold one and wait for the other.
            let (mut low, mut high) = (
                self.hold(me.min(victim), None),
                self.hold(me.max(victim), None),
            );
            let (mine, theirs) = match me < victim {
                true => (&mut low, &mut high),
                false => (&mut high, &mut low),
            };
            mine.list.steal_from(theirs.list);
            let got = mine.list.alloc();
            self.note(me, mine);
            self.note(victim, theirs);
            if got.is_some() {
                return got;
            }
        }
        None
        // LAB percpu/steal END
    }
}

impl PerCpu {
    /// Hold list `first`, then list `second`, then let both go: for the
    /// in-kernel test of the lock order (`lock_order_percpu`), which takes
    /// them in the wrong order on purpose.
    pub fn hold_both(&self, first: usize, second: usize) {
        let _first = self.hold(first, None);
        let _second = self.hold(second, None);
    }
}

/// What every lock's name starts with; the CPU's number follows.
const PREFIX: &[u8] = b"kmem.";
/// Bytes of the longest lock name: the prefix and two digits.
const NAME_MAX: usize = PREFIX.len() + 2;
const _: () = assert!(NCPU <= 100, "per-CPU lock names have at most two digits");

/// Bytes of CPU `i`'s lock name.
const fn name_len(i: usize) -> usize {
    PREFIX.len() + if i < 10 { 1 } else { 2 }
}

/// The locks' names, `kmem.0` up to `kmem.<NCPU - 1>`, spelled out from
/// NCPU at compile time (NUL-padded to NAME_MAX bytes).
static NAMES: [[u8; NAME_MAX]; NCPU] = {
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

/// The empty lists, each under the lock `kmem.<cpu>` of rank
/// `KMEM_CPU + cpu` (so a thief takes the lower-numbered list first);
/// kinit1 sets their pool.
const fn percpu_lists() -> [List; NCPU] {
    let mut lists =
        [const { Spinlock::new(KMEM_CPU, FreeList::new(Pool::NOWHERE, JUNK, DirectMap)) }; NCPU];
    let mut i = 0;
    while i < NCPU {
        let Ok(name) = core::str::from_utf8(NAMES[i].split_at(name_len(i)).0) else {
            panic!("a lock name is ASCII");
        };
        let class = KMEM_CPU.nth(i, name);
        lists[i] = Spinlock::new(class, FreeList::new(Pool::NOWHERE, JUNK, DirectMap));
        i += 1;
    }
    lists
}
