//! The one interface to the free pages, whichever way kinit1 chose to keep
//! them ([`Allocator`]), and the lock each way takes as xv6 does ([`acquire`]).
#![cfg(kernel)]

use core::sync::atomic::{AtomicU8, Ordering};

use spin::Once;

use super::{AuditError, Freed, KMEM, KfreeError, Mode, Pool};
use crate::memlayout::VAddr;
use crate::memmap::Ram;
use crate::spinlock::{LockStats, NoInterrupts, Spinlock, SpinlockGuard};

/// The free pages, kept one of three ways: xv6's [`KMEM`], `percpu`'s
/// lists or `scan`'s bits. kinit1 chooses one; every call goes to it.
pub trait Allocator: Sync {
    fn mode(&self) -> Mode;
    /// Accept the pages of `pool` (kinit1, while none is free).
    fn set_pool(&self, pool: Pool);
    /// Free the RAM pages of `[start, end)` onto list `i`.
    /// # Safety
    /// Nobody uses any RAM page of the range.
    unsafe fn free_range(&self, i: usize, start: VAddr, end: VAddr) -> Result<Freed, KfreeError>;
    /// How many lists kinit2 shares its pages among (one but in `percpu`).
    fn shares(&self) -> usize {
        1
    }
    /// Put a page that passed kfree's rules on the running CPU's list,
    /// unless it is free already ([`KfreeError::DoubleFree`]).
    /// # Safety
    /// The page is no longer used by anyone.
    unsafe fn push(&self, va: VAddr) -> Result<(), KfreeError>;
    /// Take a page off the running CPU's list (stealing in `percpu`).
    fn pop(&self) -> Option<VAddr>;
    /// Free pages, and the pages on CPU `cpu`'s list (`None`: not per CPU).
    fn nfree(&self) -> usize;
    fn cpu_nfree(&self, _cpu: usize) -> Option<usize> {
        None
    }
    /// [`audit_lists`] (or [`Scan::audit`]) on every list, all held.
    fn audit(&self) -> Result<usize, AuditError>;
    /// Each list's lock name, count and first `n` pages, to `f`.
    fn first_free(&self, n: usize, f: &mut dyn FnMut(&'static str, usize, usize, VAddr));
    fn lock_stats(&self, f: &mut dyn FnMut(LockStats));
}

/// What a lock guards, taken as xv6's `if(kmem.use_lock)
/// acquire(&kmem.lock)` takes it; dropping it is the `release`.
pub(super) struct Held<'a, T> {
    pub(super) list: &'a mut T,
    /// Held only, never read through: `list` is the way in.
    _lock: Option<SpinlockGuard<'a, T>>,
}

/// `lock`'s data, under it once `use_lock` is on (without a second
/// `pushcli` when the caller keeps the CPU `pinned`). No module here holds
/// one lock twice.
#[inline(always)]
pub(super) fn acquire<'a, T>(
    lock: &'a Spinlock<T>,
    pinned: Option<&'a NoInterrupts>,
) -> Held<'a, T> {
    let guard = match (KMEM.use_lock.load(Ordering::Acquire), pinned) {
        (false, _) => None,
        (true, Some(p)) => Some(lock.lock_pinned(p)),
        (true, None) => Some(lock.lock()),
    };
    // SAFETY: with the lock held this is the one reference to its data;
    // before kinit2 only the boot CPU allocates, interrupts off.
    let list = unsafe { lock.get_unchecked() };
    Held { list, _lock: guard }
}

/// The way kinit1 chose to keep the free pages, as its [`Mode`]'s number.
pub(super) static CHOSEN: AtomicU8 = AtomicU8::new(Mode::Global as u8);
/// The pages kfree accepts (set by kinit1) and the RAM they are in.
pub(super) static POOL: Once<Pool> = Once::new();
pub(super) static RAM: Once<Ram> = Once::new();

/// Run `f` on the allocator kinit1 chose: the one dispatch. Each arm
/// hands `f` an allocator the compiler knows, so that its methods are
/// called (and inlined) directly, not through the trait object's table.
#[inline(always)]
pub fn allocator<R>(f: impl FnOnce(&'static dyn Allocator) -> R) -> R {
    match CHOSEN.load(Ordering::Relaxed) {
        n if n == Mode::PerCpu as u8 => f(&super::percpu::PERCPU),
        n if n == Mode::Scan as u8 => f(&super::scan::LINUX),
        _ => f(&KMEM),
    }
}

/// The mode kinit1 chose.
pub fn mode() -> Mode {
    allocator(|a| a.mode())
}
