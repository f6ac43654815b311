//! `kalloctest`: every CPU allocates and frees pages as fast as it can,
//! checking that no page is handed to two CPUs at once and that no page is
//! lost, and the allocator's lock statistics show how much the CPUs got in
//! each other's way (the MIT lock lab's test, for this kernel).

use core::sync::atomic::{AtomicU32, Ordering};

use crate::cpu::{cpuid, ncpu};
use crate::debug::lockstat::{kmem_snapshot, print_kmem_since};
use crate::kalloc::{self, kalloc, kfree};
use crate::param::NCPU;
use crate::println;
use crate::spinlock::NoInterrupts;

pub use super::kalloctest_failure::Failure;

/// Rounds per CPU when the command gives none.
pub const DEFAULT_ROUNDS: u32 = 100_000;
/// The most rounds one `kalloctest` runs (a hundred times the default): a
/// mistyped count must not tie the monitor up for hours.
pub const MAX_ROUNDS: u32 = 10_000_000;

/// `NONE` in a result word: nothing to report.
const NONE: u32 = u32::MAX;

/// What one CPU's loop found.
struct CpuResult {
    /// Rounds it completed.
    rounds: AtomicU32,
    /// The first page it found holding another CPU's id, and that id.
    clash_va: AtomicU32,
    clash_id: AtomicU32,
    /// The round at which kalloc returned None, or NONE.
    out_of_memory: AtomicU32,
}

static RESULTS: [CpuResult; NCPU] = [const {
    CpuResult {
        rounds: AtomicU32::new(0),
        clash_va: AtomicU32::new(NONE),
        clash_id: AtomicU32::new(NONE),
        out_of_memory: AtomicU32::new(NONE),
    }
}; NCPU];

/// One CPU's part: `rounds` times, allocate a page, write this CPU's id
/// into it, check the id is still there, free it.
fn run_on_this_cpu(rounds: u32) {
    let me = {
        let _pinned = NoInterrupts::new();
        cpuid()
    };
    let result = &RESULTS[me];
    for round in 0..rounds {
        let Some(mut page) = kalloc() else {
            result.out_of_memory.store(round, Ordering::Relaxed);
            return;
        };
        let word = page.bytes().as_mut_ptr() as *mut u32;
        // SAFETY: the page is this CPU's (kalloc says so) and word-aligned;
        // volatile, so the read really goes to memory, where another CPU
        // given the same page would have written its own id.
        let found = unsafe {
            word.write_volatile(me as u32);
            core::hint::spin_loop();
            word.read_volatile()
        };
        if found != me as u32 && result.clash_va.load(Ordering::Relaxed) == NONE {
            result.clash_va.store(page.va().0, Ordering::Relaxed);
            result.clash_id.store(found, Ordering::Relaxed);
        }
        kfree(page);
        result.rounds.store(round + 1, Ordering::Relaxed);
    }
}

/// Run the test on every CPU and print the lock statistics, the free
/// counts before and after, and `kalloctest: OK` or why it failed.
/// Returns `tot=` (the failed spins on the allocator's locks) if it
/// passed, the first failure it printed if not.
pub fn kalloctest(rounds: u32) -> Result<u32, Failure> {
    let n = ncpu();
    println!(
        "kalloctest: {rounds} rounds of kalloc, write, check, kfree on each of {n} CPUs ({} mode)",
        kalloc::mode().name()
    );
    for r in &RESULTS {
        r.rounds.store(0, Ordering::Relaxed);
        r.clash_va.store(NONE, Ordering::Relaxed);
        r.clash_id.store(NONE, Ordering::Relaxed);
        r.out_of_memory.store(NONE, Ordering::Relaxed);
    }
    let before = kalloc::nfree();
    let stats = kmem_snapshot();
    let start = crate::timer::ticks();
    crate::smp::on_every_cpu(run_on_this_cpu, rounds);
    let ticks = crate::timer::ticks() - start;
    let tot = print_kmem_since(&stats);
    // Wall-clock time, from the timer (it ticks only with interrupts on,
    // as in the monitor; a count of 0 then means under one tick).
    println!(
        "kalloctest: {} pairs in {ticks} ticks of {} ms",
        u64::from(rounds) * n as u64,
        1000 / crate::timer::TICKS_PER_SEC
    );
    let after = kalloc::nfree();
    println!("kalloctest: free pages before {before}, after {after}");

    let mut first = None;
    let mut fail = |f: Failure| {
        println!("kalloctest: FAIL: {f}");
        first.get_or_insert(f);
    };
    for (i, r) in RESULTS.iter().enumerate().take(n) {
        let va = r.clash_va.load(Ordering::Relaxed);
        if va != NONE {
            let other = r.clash_id.load(Ordering::Relaxed);
            fail(Failure::Clash { cpu: i, other, va });
        }
        let oom = r.out_of_memory.load(Ordering::Relaxed);
        if oom != NONE {
            fail(Failure::OutOfMemory {
                cpu: i,
                round: oom,
                before,
            });
        }
        let done = r.rounds.load(Ordering::Relaxed);
        if done != rounds && oom == NONE {
            fail(Failure::Short {
                cpu: i,
                done,
                rounds,
            });
        }
    }
    if after != before {
        fail(Failure::Lost { before, after });
    }
    // The audit panics, naming the damage, if the lists are inconsistent.
    let audited = kalloc::audit();
    if audited != after {
        fail(Failure::Audit {
            audited,
            nfree: after,
        });
    }
    match first {
        None => {
            println!("{}", crate::protocol::KALLOCTEST_OK);
            Ok(tot)
        }
        Some(f) => Err(f),
    }
}
