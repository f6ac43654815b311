//! Spin locks with xv6's interrupt discipline (spinlock.c).
//!
//! A CPU that holds a spin lock must not take an interrupt whose handler
//! wants the same lock: the handler would spin forever on a lock its own
//! CPU holds. So `lock` turns interrupts off first (`pushcli`) and the guard
//! turns them back on after releasing (`popcli`). The two nest: interrupts
//! come back only when the outermost lock is released, and only if they
//! were on before the first.
//!
//! The lock itself is `spin`'s mutex; this wrapper adds the interrupt rule,
//! a name for messages, counters (acquisitions, failed spins) and the lock
//! order: every lock has a class and a rank from `lockorder.rs`'s table,
//! and taking one while a lock of equal or higher rank is held panics,
//! naming both (a deadlock found on the first run, not the unlucky one).

use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use spin::mutex::{SpinMutex, SpinMutexGuard};

// spinlock and cpu import each other, as xv6's spinlock.c and proc.c do:
// a lock turns interrupts off on its CPU (pushcli counts in the CPU's
// state), and the CPU's state is read with them off. One of the two
// import circles the kernel keeps on purpose (tests/circles.rs).
use crate::cpu::{cpu, cpuid, cpuid_unchecked, interrupts_enabled};
use crate::lockorder::{self, Class};

/// Turn interrupts off, remembering (at the outermost level) whether they
/// were on. Every `pushcli` needs a matching `popcli`. Returns the running
/// CPU's index, which cannot change until the `popcli`.
#[inline]
pub fn pushcli() -> usize {
    let was_on = interrupts_enabled();
    // SAFETY: turning interrupts off cannot break memory safety.
    unsafe { x86::irq::disable() };
    let id = cpuid_unchecked();
    let cpu = cpu(id);
    if cpu.ncli.fetch_add(1, Ordering::Relaxed) == 0 {
        cpu.intena.store(was_on, Ordering::Relaxed);
    }
    id
}

/// Undo one `pushcli` on CPU `id` (what it returned); the outermost turns
/// interrupts back on if they were on before it. Panics on a `popcli`
/// without `pushcli`, or with interrupts on (someone turned them on inside
/// a critical section).
#[inline]
pub fn popcli(id: usize) {
    assert!(!interrupts_enabled(), "popcli: interrupts are on");
    let cpu = cpu(id);
    let depth = cpu.ncli.load(Ordering::Relaxed);
    assert!(depth > 0, "popcli: no matching pushcli");
    cpu.ncli.store(depth - 1, Ordering::Relaxed);
    if depth == 1 && cpu.intena.load(Ordering::Relaxed) {
        // SAFETY: the outermost critical section is over and interrupts
        // were on before it began.
        unsafe { x86::irq::enable() };
    }
}

/// Interrupts off for as long as this value lives (`pushcli` now,
/// `popcli` when dropped): also what keeps code on one CPU, whose index it
/// keeps (so a lock asks CPUID once, not at every step).
pub struct NoInterrupts {
    cpu: usize,
}

impl NoInterrupts {
    /// Interrupts off on this CPU until the guard is dropped.
    #[inline]
    #[allow(
        clippy::new_without_default,
        reason = "new() turns interrupts off: not a default value"
    )]
    pub fn new() -> NoInterrupts {
        NoInterrupts { cpu: pushcli() }
    }

    /// The index of the CPU this code is pinned to.
    pub fn cpu(&self) -> usize {
        self.cpu
    }
}

impl Drop for NoInterrupts {
    #[inline]
    fn drop(&mut self) {
        popcli(self.cpu);
    }
}

/// A lock's counters, as `lockstat` prints them.
#[derive(Clone, Copy, Debug)]
pub struct LockStats {
    pub name: &'static str,
    /// Failed attempts to take the lock while another CPU held it.
    pub spins: u32,
    /// Times the lock was taken.
    pub acquires: u32,
}

/// `holder` when no CPU holds the lock.
const NOBODY: usize = usize::MAX;

/// A spin lock around a `T` (xv6's `struct spinlock`, plus the data).
pub struct Spinlock<T> {
    name: &'static str,
    /// Its rank's bit (`lockorder::Rank::bit`): what the order check needs.
    rank_bit: u32,
    inner: SpinMutex<T>,
    /// The CPU holding the lock, or NOBODY (xv6's `lk->cpu`).
    holder: AtomicUsize,
    /// Times the lock was acquired, and failed attempts while spinning for
    /// it (the lock lab's `#acquire()` and `#spins`; GDB can print them).
    acquires: AtomicU32,
    spins: AtomicU32,
}

/// Access to the data; dropping it releases the lock, then lets interrupts
/// back in (fields drop in order: `guard` before `_cli`). `_cli` is `None`
/// when the caller pinned the CPU itself ([`Spinlock::lock_pinned`]).
pub struct SpinlockGuard<'a, T> {
    lock: &'a Spinlock<T>,
    guard: SpinMutexGuard<'a, T>,
    _cli: Option<NoInterrupts>,
}

impl<T> Spinlock<T> {
    /// A lock of class `class` (its name and rank: a row of
    /// `lockorder::TABLE`) around `data`.
    pub const fn new(class: Class, data: T) -> Spinlock<T> {
        Spinlock {
            name: class.name,
            rank_bit: class.rank.bit(),
            inner: SpinMutex::new(data),
            holder: AtomicUsize::new(NOBODY),
            acquires: AtomicU32::new(0),
            spins: AtomicU32::new(0),
        }
    }

    /// Acquire the lock, spinning until it is free, with interrupts off
    /// until the guard is dropped. Panics if this CPU already holds it (it
    /// would spin forever).
    #[inline]
    pub fn lock(&self) -> SpinlockGuard<'_, T> {
        let cli = NoInterrupts::new();
        self.acquire(cli.cpu(), Some(cli), None)
            .expect("an unbounded acquire always gets the lock")
    }

    /// As `lock`, on a CPU the caller keeps pinned with interrupts off for
    /// longer than the lock is held (`pinned` outlives the guard): no
    /// second `pushcli` is needed (kalloc's per-CPU path saves one a call).
    #[inline]
    pub fn lock_pinned<'a>(&'a self, pinned: &'a NoInterrupts) -> SpinlockGuard<'a, T> {
        self.acquire(pinned.cpu(), None, None)
            .expect("an unbounded acquire always gets the lock")
    }

    /// As `lock`, but give up after `max_spins` failed attempts (a panic
    /// report uses it: the holder may have been stopped for good).
    pub fn try_lock_within(&self, max_spins: u32) -> Option<SpinlockGuard<'_, T>> {
        let cli = NoInterrupts::new();
        self.acquire(cli.cpu(), Some(cli), Some(max_spins))
    }

    /// Spin for the lock on CPU `cpu_index` (pinned by `cli`, or by the caller),
    /// at most `max_spins` failed attempts if given.
    #[inline]
    fn acquire(
        &self,
        cpu_index: usize,
        cli: Option<NoInterrupts>,
        max_spins: Option<u32>,
    ) -> Option<SpinlockGuard<'_, T>> {
        assert!(
            !self.held_by(cpu_index),
            "acquire: lock {} is already held by this CPU",
            self.name
        );
        // Before spinning: a lock taken out of order is reported, not
        // left to deadlock. A bounded try cannot deadlock: only noted.
        if max_spins.is_none() {
            lockorder::take(self.rank_bit, &self.name);
        }
        let guard = match self.inner.try_lock() {
            Some(g) => g,
            None => self.spin(max_spins)?,
        };
        self.acquires.fetch_add(1, Ordering::Relaxed);
        self.holder.store(cpu_index, Ordering::Relaxed);
        if max_spins.is_some() {
            lockorder::note(self.rank_bit);
        }
        Some(SpinlockGuard {
            lock: self,
            guard,
            _cli: cli,
        })
    }

    /// Spin until the lock, held by another CPU, is free (at most
    /// `max_spins` failed attempts if given), counting the failures. Out of
    /// line: the fast path of `acquire`, inlined everywhere, stays small.
    #[cold]
    #[inline(never)]
    fn spin(&self, max_spins: Option<u32>) -> Option<SpinMutexGuard<'_, T>> {
        let mut tries = 0;
        loop {
            self.spins.fetch_add(1, Ordering::Relaxed);
            tries += 1;
            if Some(tries) == max_spins {
                return None;
            }
            core::hint::spin_loop();
            if let Some(g) = self.inner.try_lock() {
                return Some(g);
            }
        }
    }

    /// The lock's name, as messages and `lockstat` give it.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// A snapshot of the lock's counters.
    pub fn stats(&self) -> LockStats {
        LockStats {
            name: self.name,
            spins: self.spins.load(Ordering::Relaxed),
            acquires: self.acquires.load(Ordering::Relaxed),
        }
    }

    /// Whether the running CPU holds the lock. Call with interrupts off.
    pub fn holding(&self) -> bool {
        self.held_by(cpuid())
    }

    #[inline]
    fn held_by(&self, cpu: usize) -> bool {
        self.inner.is_locked() && self.holder.load(Ordering::Relaxed) == cpu
    }

    /// The data without taking the lock.
    ///
    /// # Safety
    /// No one else may use the data meanwhile: no other CPU runs, and no
    /// guard is alive (or its holder will never run again, as after a panic).
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn get_unchecked(&self) -> &mut T {
        // SAFETY: exclusive access is the caller's promise.
        unsafe { &mut *self.inner.as_mut_ptr() }
    }
}

impl<T> Drop for SpinlockGuard<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        // Runs before the fields drop: the holder is cleared while the lock
        // is still held.
        self.lock.holder.store(NOBODY, Ordering::Relaxed);
        lockorder::release(self.lock.rank_bit);
    }
}

impl<T> Deref for SpinlockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for SpinlockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}
