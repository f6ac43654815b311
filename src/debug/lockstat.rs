//! Lock statistics in the shape of the MIT lock lab's `statslock`: each
//! spin lock's acquisitions and failed spins, and `tot=`, the failed spins
//! on the allocator's locks, the figure the lab uses to judge kalloc.

use crate::param::NCPU;
use crate::spinlock::LockStats;
use crate::{console, kalloc, kbd, println, smp};

/// Prefix of the allocator's locks: `kmem`, or `kmem.<cpu>` per CPU.
const KMEM: &str = "kmem";

/// Call `f` with the counters of every spin lock the kernel has.
pub fn for_each_lock(mut f: impl FnMut(LockStats)) {
    console::lock_stats(&mut f);
    kbd::lock_stats(&mut f);
    smp::lock_stats(&mut f);
    kalloc::lock_stats(&mut f);
}

/// Whether `name` is one of the allocator's locks.
fn is_kmem(name: &str) -> bool {
    name == KMEM
        || name
            .strip_prefix(KMEM)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// Print one lock's line.
pub fn print_lock(s: &LockStats) {
    println!(
        "lock: {}: #spins {} #acquire() {}",
        s.name, s.spins, s.acquires
    );
}

/// Print every lock's counters since boot, then `tot=`.
pub fn lockstat() {
    let mut tot = 0;
    for_each_lock(|s| {
        print_lock(&s);
        if is_kmem(s.name) {
            tot += s.spins;
        }
    });
    println!("tot= {tot}");
}

/// The allocator's locks' counters now (at most NCPU locks), to compare
/// with later.
pub fn kmem_snapshot() -> [Option<LockStats>; NCPU] {
    let mut snap = [None; NCPU];
    let mut slots = snap.iter_mut();
    kalloc::lock_stats(|s| {
        if let Some(slot) = slots.next() {
            *slot = Some(s);
        }
    });
    snap
}

/// Print what the allocator's locks did since `before`, then `tot=`;
/// return the total of spins.
pub fn print_kmem_since(before: &[Option<LockStats>; NCPU]) -> u32 {
    let mut tot = 0;
    for (b, a) in before
        .iter()
        .zip(kmem_snapshot())
        .filter_map(|(b, a)| Some(((*b)?, a?)))
    {
        let d = LockStats {
            name: a.name,
            spins: a.spins.wrapping_sub(b.spins),
            acquires: a.acquires.wrapping_sub(b.acquires),
        };
        print_lock(&d);
        tot += d.spins;
    }
    println!("tot= {tot}");
    tot
}
