//! The process table's lock: a spin lock with xv6's interrupt discipline
//! but no guard, because it is held across `swtch` and released by
//! whichever thread (and CPU) runs next (xv6's `acquire`/`release` on
//! `ptable.lock`).

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::spinlock::{popcli, pushcli};

/// `cpu` when no CPU holds the lock.
const NOBODY: usize = usize::MAX;

/// A bare spin lock (xv6's `struct spinlock`).
pub struct RawLock {
    name: &'static str,
    locked: AtomicBool,
    cpu: AtomicUsize,
}

/// Releases a [`RawLock`] taken by [`RawLock::lock`] when dropped, on the
/// same thread that took it (use it only where no `swtch` intervenes).
pub struct RawGuard<'a>(&'a RawLock);

impl Drop for RawGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: this thread took the lock in `lock`.
        unsafe { self.0.release() }
    }
}

impl RawLock {
    pub const fn new(name: &'static str) -> RawLock {
        RawLock {
            name,
            locked: AtomicBool::new(false),
            cpu: AtomicUsize::new(NOBODY),
        }
    }

    /// Take the lock, interrupts off until its release. Panics if this
    /// CPU holds it already.
    pub fn acquire(&self) {
        let cpu = pushcli();
        assert!(
            !(self.locked.load(Ordering::Relaxed) && self.cpu.load(Ordering::Relaxed) == cpu),
            "acquire: {} already held by this CPU",
            self.name
        );
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            core::hint::spin_loop();
        }
        self.cpu.store(cpu, Ordering::Relaxed);
    }

    /// Take the lock until the guard is dropped.
    pub fn lock(&self) -> RawGuard<'_> {
        self.acquire();
        RawGuard(self)
    }

    /// Release the lock and undo `acquire`'s `pushcli` on the CPU running
    /// now (which may not be the one that took it).
    ///
    /// # Safety
    /// The lock is held, by the thread that calls this or one that handed
    /// it over through `swtch`.
    pub unsafe fn release(&self) {
        assert!(
            self.holding(),
            "release: {} not held by this CPU",
            self.name
        );
        self.cpu.store(NOBODY, Ordering::Relaxed);
        self.locked.store(false, Ordering::Release);
        popcli(crate::cpu::cpuid_unchecked());
    }

    /// Whether this CPU holds the lock (call with interrupts off).
    pub fn holding(&self) -> bool {
        self.locked.load(Ordering::Relaxed)
            && self.cpu.load(Ordering::Relaxed) == crate::cpu::cpuid_unchecked()
    }
}
