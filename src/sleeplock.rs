//! Sleep locks (xv6's `sleeplock.c`): a lock a process may hold for long
//! (across a disk transfer, a whole directory search) and while it sleeps,
//! because a waiter gives up its CPU instead of spinning. Its state sits
//! under a small spin lock; a contended `acquiresleep` sleeps on the lock
//! until `releasesleep` wakes it. Before any process exists (the boot
//! mounts the file system) nobody can wait, so an uncontended lock is
//! taken at once and a contended one is a kernel bug, reported by name.
//!
//! Here the lock holds its data, as [`crate::spinlock::Spinlock`] does:
//! [`SleepLock::acquiresleep`] gives a guard through which alone the data
//! is reached, and dropping the guard is `releasesleep`.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};

use crate::spinlock::Spinlock;

/// Who holds a sleep lock: its guard's bookkeeping.
struct State {
    locked: bool,
    /// The holder's pid (0: the boot, before processes).
    pid: i32,
}

/// A sleep lock around a `T` (xv6's `struct sleeplock`).
pub struct SleepLock<T> {
    name: &'static str,
    state: Spinlock<State>,
    data: UnsafeCell<T>,
}

// SAFETY: the data is reached only through a guard, and `locked` (under
// the spin lock) lets one guard exist at a time.
unsafe impl<T: Send> Sync for SleepLock<T> {}

/// The held lock; dropping it releases the lock (xv6's `releasesleep`).
pub struct SleepGuard<'a, T> {
    lock: &'a SleepLock<T>,
}

/// The running process's pid, or 0 at boot.
fn mypid() -> i32 {
    crate::proc::myproc().map_or(0, |p| p.pid)
}

impl<T> SleepLock<T> {
    pub const fn new(name: &'static str, data: T) -> SleepLock<T> {
        SleepLock {
            name,
            state: Spinlock::new(
                crate::lockorder::SLEEPLOCK,
                State {
                    locked: false,
                    pid: 0,
                },
            ),
            data: UnsafeCell::new(data),
        }
    }

    /// What a waiter sleeps on.
    fn chan(&self) -> usize {
        self as *const _ as usize
    }

    /// Take the lock, sleeping while another holds it (xv6's
    /// `acquiresleep`). Panics if the caller holds it already, or if it is
    /// held before any process exists (no one could ever release it).
    pub fn acquiresleep(&self) -> SleepGuard<'_, T> {
        let me = mypid();
        let mut st = self.state.lock();
        while st.locked {
            let Some(p) = crate::proc::myproc() else {
                panic!(
                    "acquiresleep: {} held by pid {} and no process to sleep for it",
                    self.name, st.pid
                );
            };
            assert!(
                st.pid != p.pid,
                "acquiresleep: {} already held by pid {me}",
                self.name
            );
            st = crate::proc::sleep(self.chan(), &self.state, st);
        }
        st.locked = true;
        st.pid = me;
        SleepGuard { lock: self }
    }

    /// Whether the running process holds the lock (xv6's `holdingsleep`).
    pub fn holdingsleep(&self) -> bool {
        let st = self.state.lock();
        st.locked && st.pid == mypid()
    }
}

impl<T> SleepGuard<'_, T> {
    /// Release explicitly (xv6's `releasesleep`); the same as dropping.
    pub fn releasesleep(self) {}
}

impl<T> Drop for SleepGuard<'_, T> {
    fn drop(&mut self) {
        let mut st = self.lock.state.lock();
        st.locked = false;
        st.pid = 0;
        crate::proc::wakeup(self.lock.chan());
    }
}

impl<T> Deref for SleepGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard is the lock's only holder (`locked`).
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for SleepGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes it exclusive.
        unsafe { &mut *self.lock.data.get() }
    }
}
