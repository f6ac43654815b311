//! In-kernel tests of the other CPUs and of the per-CPU allocator.

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use crate::bootinfo::BootInfo;
use crate::checks::Checked;
use crate::cpu::{cpu, ncpu};
use crate::kalloc::{self, Mode, kalloc, steal_batch};
use crate::memlayout::{BOOT_MAPPED, PAddr, VAddr, kstack};
use crate::param::{APSTACKSIZE, NCPU};
use crate::println;

use super::{BootReport, kernel_mapping};
use crate::debug::hoard::{chain, refill};
use crate::{check, check_eq};

/// Every CPU of the MP table said it started, each on a stack of its own
/// below 4 MiB (where entrypgdir maps), and the boot report counted them.
pub fn every_cpu_started(r: &BootReport, _: &BootInfo) {
    let n = ncpu();
    check_eq!(
        r.stacks,
        n - 1,
        "the boot report's stack pages (one per other CPU, of {n})"
    );
    for i in 0..n {
        let c = cpu(i);
        check_eq!(c.started.load(Ordering::Acquire), true, "cpu{i} started");
        let stack = c.stack();
        check!(!stack.is_empty(), "cpu{i}'s stack";
            expected "some bytes"; seen "[{:#010x}, {:#010x}), empty", stack.start, stack.end);
        if i > 0 {
            check_eq!(stack.len(), APSTACKSIZE, "cpu{i}'s stack's size");
            // It runs on the alias of its page, in the kernel-stacks window.
            check_eq!(
                VAddr(stack.start),
                kstack(i).stack,
                "cpu{i}'s stack (its alias in the kernel-stacks window)"
            );
            let page = PAddr(c.stack_pa.load(Ordering::Relaxed));
            let top = page + (APSTACKSIZE - 1);
            check!(top < BOOT_MAPPED, "cpu{i}'s stack page's last byte (entrypgdir maps 4 MiB)";
                expected "below {BOOT_MAPPED:#x}"; seen "{top:#x}");
            check_eq!(
                kernel_mapping(VAddr(stack.start)),
                Some(page),
                "what cpu{i}'s alias maps (its stack page)"
            );
        }
        for j in 0..i {
            let other = cpu(j).stack();
            check!(stack.end <= other.start || other.end <= stack.start,
                "cpu{i}'s stack [{:#010x}, {:#010x})", stack.start, stack.end;
                expected "apart from cpu{j}'s"; seen "overlapping cpu{j}'s [{:#010x}, {:#010x})",
                    other.start, other.end);
        }
    }
}

/// Every CPU's `%gs` segment is its own: `cpuid()` (one load through
/// `%gs`) agrees with the slow lookup by APIC id on each CPU, and each CPU
/// answers once.
pub fn cpuid_reads_own_segment(_: &BootReport, _: &BootInfo) {
    /// Bit i: cpu i answered.
    static SEEN: AtomicU32 = AtomicU32::new(0);
    SEEN.store(0, Ordering::Relaxed);
    crate::smp::on_every_cpu(
        |_| {
            let _pinned = crate::spinlock::NoInterrupts::new();
            let (fast, slow) = (crate::cpu::cpuid(), crate::cpu::cpuid_by_apic());
            check_eq!(fast, slow, "cpuid() through %gs (the APIC id's CPU)");
            let before = SEEN.fetch_or(1 << fast, Ordering::Relaxed);
            check!(before & (1 << fast) == 0, "cpu{fast}'s answers";
                expected "one"; seen "two");
        },
        0,
    );
    let all = (1u32 << ncpu()) - 1;
    let seen = SEEN.load(Ordering::Relaxed);
    check!(seen == all, "the CPUs that answered with their own index (a bit each)";
        expected "{all:#b}"; seen "{seen:#b}");
}

/// kalloctest passes: no double allocation, no page lost.
pub fn kalloctest(_: &BootReport, _: &BootInfo) {
    /// Enough rounds to overlap the CPUs many times, few enough to be quick.
    const ROUNDS: u32 = 10_000;
    kalloctest_passes(ROUNDS);
}

/// Run kalloctest: its `tot=` if it passed, a failed check naming what it
/// found first if not (its lines above say the rest).
fn kalloctest_passes(rounds: u32) -> u32 {
    match crate::debug::kalloctest::kalloctest(rounds) {
        Ok(tot) => tot,
        Err(f) => f.words(|what, expected, seen| -> u32 {
            check!(fail "kalloctest: {what}"; expected "{expected}"; seen "{seen}")
        }),
    }
}

/// The CPU count, for a test that needs percpu mode and 2 or more CPUs;
/// a panic naming what it has otherwise.
fn needs_percpu(test: &str) -> usize {
    let n = ncpu();
    check!(kalloc::mode() == Mode::PerCpu && n >= 2,
        "ktest {test} needs kalloc=percpu and 2 or more CPUs";
        expected "percpu mode, 2 or more CPUs"; seen "{} mode, {n} CPUs", kalloc::mode().name());
    n
}

/// The most failed spins on the allocator's locks (`tot=`) that
/// `kalloctest_percpu` accepts: the MIT lock lab's bound.
pub const PERCPU_TOT_MAX: u32 = 10;

/// In percpu mode kalloctest passes and the CPUs hardly ever wait for
/// each other's locks: each frees to and allocates from its own list.
pub fn kalloctest_percpu(_: &BootReport, _: &BootInfo) {
    /// Enough rounds that CPUs sharing one list would collide many times.
    const ROUNDS: u32 = 20_000;
    needs_percpu("kalloctest_percpu");
    let tot = kalloctest_passes(ROUNDS);
    check!(tot < PERCPU_TOT_MAX,
        "kalloctest: tot=, the failed spins on the allocator's locks (the CPUs waited for \
         each other's locks: does each CPU free to and allocate from its own list?)";
        expected "below {PERCPU_TOT_MAX}"; seen "{tot}");
}

/// Every page on cpu0's own list, taken (cpu0 runs the tests), on a chain
/// for `refill`.
fn take_own_pages() -> u32 {
    let own = kalloc::cpu_nfree(0).checked("cpu0's free count (kalloc=percpu)");
    (0..own).fold(0, |head, _| {
        chain(kalloc().checked("one of cpu0's own pages"), head)
    })
}

/// cpu0, whose own list is empty, allocates once: the page must come from
/// another CPU's list, taken under that list's lock. Returns the new
/// chain (the stolen page added to `head`).
fn steal_once_under_the_victims_lock(head: u32, others: usize) -> u32 {
    let held = |locks: &[Option<crate::spinlock::LockStats>]| -> u64 {
        locks
            .iter()
            .skip(1)
            .flatten()
            .map(|s| u64::from(s.acquires))
            .sum()
    };
    let before = crate::debug::lockstat::kmem_snapshot();
    let Some(page) = kalloc() else {
        check!(fail
            "kalloc on cpu0, whose list is empty, with {others} pages free on the other CPUs' \
             lists (a CPU whose list is empty must steal from them)";
            expected "a page"; seen "None");
    };
    let after = crate::debug::lockstat::kmem_snapshot();
    let (held_before, held_after) = (held(&before), held(&after));
    check!(held_after > held_before,
        "the other CPUs' kmem lock acquires while cpu0 stole a page (a thief must hold its \
         victim's lock)";
        expected "more than {held_before}"; seen "{held_after}");
    chain(page, head)
}

/// In percpu mode, cpu0 empties its own list, then keeps allocating by
/// stealing batches from the others until the whole machine is out of
/// memory; freeing everything brings the count back.
pub fn steal(_: &BootReport, _: &BootInfo) {
    let n = needs_percpu("steal");
    let list = |i| kalloc::cpu_nfree(i).checked("a CPU's free count (kalloc=percpu)");
    let before = kalloc::nfree();
    let own = list(0);
    let others: usize = (1..n).map(list).sum();
    check!(others > 0, "the other CPUs' free pages at the start";
        expected "some"; seen "{others}");

    // Use up cpu0's own pages: nothing is stolen yet.
    let mut head = take_own_pages();
    check_eq!(list(0), 0, "cpu0's list after it took its own pages");
    check_eq!(
        (1..n).map(list).sum::<usize>(),
        others,
        "the other CPUs' free pages before any steal"
    );

    // The next kalloc steals one batch from the fullest other list.
    let richest = (1..n).map(list).max().checked("the fullest other list");
    head = steal_once_under_the_victims_lock(head, others);
    check_eq!(
        list(0),
        steal_batch(richest) - 1,
        "cpu0's list after its first steal (a batch of {} pages from the fullest list, of \
         {richest}, less the one handed out)",
        steal_batch(richest)
    );

    // Keep going until the machine is out of memory.
    let mut got = own + 1;
    while let Some(p) = kalloc() {
        head = chain(p, head);
        got += 1;
    }
    check_eq!(
        got,
        before,
        "the pages cpu0 got before kalloc gave None (every free page of the machine)"
    );
    for i in 0..n {
        check_eq!(list(i), 0, "cpu{i}'s list with the machine out of memory");
    }
    println!(
        "ktest: steal: cpu0 allocated {got} pages: {own} its own, {} stolen from {} CPUs",
        got - own,
        n - 1
    );
    refill(head);
    check_eq!(
        kalloc::audit(),
        before,
        "the free pages after freeing them all"
    );
    check_eq!(
        list(0),
        before,
        "cpu0's list after it freed them all (onto its own list)"
    );
}

/// What `steal_pairs` hands the CPUs: the thief and the victim of the
/// pair under test, and each CPU's pages taken off its own list (a chain
/// for `refill`) with their number.
static PAIR_THIEF: AtomicU32 = AtomicU32::new(0);
static PAIR_VICTIM: AtomicU32 = AtomicU32::new(0);
static PAIR_HOARD: [AtomicU32; NCPU] = [const { AtomicU32::new(0) }; NCPU];
static PAIR_HELD: [AtomicU32; NCPU] = [const { AtomicU32::new(0) }; NCPU];
/// Whether the thief's kalloc gave a page.
static PAIR_GOT: AtomicBool = AtomicBool::new(false);

/// The running CPU's index.
fn this_cpu() -> usize {
    crate::spinlock::NoInterrupts::new().cpu()
}

/// Refuse to run ktest `test` on a machine with one CPU.
pub(super) fn needs_other_cpus(test: &str) {
    check!(ncpu() >= 2, "the CPUs ktest {test} needs";
        expected "2 or more"; seen "{}", ncpu());
}

/// `steal_pairs`, first step, on every CPU but the victim: take every
/// page of its own list and hold them, so that the victim's list is the
/// only one with pages.
fn pair_empty_own_list(_: u32) {
    let me = this_cpu();
    if me == PAIR_VICTIM.load(Ordering::Relaxed) as usize {
        return;
    }
    let own = kalloc::cpu_nfree(me).checked("a CPU's free count (kalloc=percpu)");
    let head = (0..own).fold(0, |head, _| {
        chain(kalloc().checked("one of a CPU's own pages"), head)
    });
    PAIR_HOARD[me].store(head, Ordering::Relaxed);
    PAIR_HELD[me].store(own as u32, Ordering::Relaxed);
}

/// `steal_pairs`, second step, on the thief only: one kalloc, which must
/// steal from the victim; the page joins the thief's hoard.
fn pair_steal(_: u32) {
    let me = this_cpu();
    if me != PAIR_THIEF.load(Ordering::Relaxed) as usize {
        return;
    }
    let got = kalloc();
    PAIR_GOT.store(got.is_some(), Ordering::Relaxed);
    if let Some(page) = got {
        let head = chain(page, PAIR_HOARD[me].load(Ordering::Relaxed));
        PAIR_HOARD[me].store(head, Ordering::Relaxed);
        PAIR_HELD[me].fetch_add(1, Ordering::Relaxed);
    }
}

/// `steal_pairs`, last step, on every CPU: give its hoard back (onto its
/// own list) and check that it holds no lock.
fn pair_give_back(_: u32) {
    let me = this_cpu();
    refill(PAIR_HOARD[me].swap(0, Ordering::Relaxed));
    let held = {
        let _pinned = crate::spinlock::NoInterrupts::new();
        crate::lockorder::held_here()
    };
    check!(held == 0,
        "steal_pairs: the lock ranks cpu{me} holds after the steal (a bit a rank; a lock \
         was not let go)";
        expected "none"; seen "{held:#x}");
}

/// In percpu mode, every CPU steals from every other, one ordered pair at
/// a time: all lists but the victim's are emptied (each CPU holds its own
/// pages), the thief allocates once, and everyone gives its pages back.
/// Half the pairs have a thief with a higher number than its victim, so a
/// steal that takes its own list's lock before the victim's breaks the
/// lock order (lowest CPU number first) in every run, and the checker
/// (src/lockorder.rs) panics naming both locks; no deadlock, no luck
/// needed. Each steal must also take the victim's lock and move a batch.
pub fn steal_pairs(_: &BootReport, _: &BootInfo) {
    let n = needs_percpu("steal_pairs");
    let list = |i| kalloc::cpu_nfree(i).checked("a CPU's free count (kalloc=percpu)");
    let before = kalloc::nfree();
    let mut pairs = 0;
    for thief in 0..n {
        for victim in (0..n).filter(|&v| v != thief) {
            PAIR_THIEF.store(thief as u32, Ordering::Relaxed);
            PAIR_VICTIM.store(victim as u32, Ordering::Relaxed);
            PAIR_HELD.iter().for_each(|h| h.store(0, Ordering::Relaxed));
            crate::smp::on_every_cpu(pair_empty_own_list, 0);
            let has = list(victim);
            check!(has > 0, "steal_pairs: cpu{victim}'s list, the only one left with pages";
                expected "some pages"; seen "{has}");
            for i in (0..n).filter(|&i| i != victim) {
                check_eq!(
                    list(i),
                    0,
                    "steal_pairs: cpu{i}'s list after it took its own pages"
                );
            }
            let locks = crate::debug::lockstat::kmem_snapshot();
            crate::smp::on_every_cpu(pair_steal, 0);
            let after = crate::debug::lockstat::kmem_snapshot();
            let acquires = |s: &[Option<crate::spinlock::LockStats>; NCPU]| {
                s[victim].map_or(0, |s| s.acquires)
            };
            check!(PAIR_GOT.load(Ordering::Relaxed),
                "steal_pairs: kalloc on cpu{thief}, whose list is empty, with {has} pages on \
                 cpu{victim}'s list (a CPU whose list is empty must steal)";
                expected "a page"; seen "None");
            let (took_before, took_after) = (acquires(&locks), acquires(&after));
            check!(took_after > took_before,
                "steal_pairs: acquires of kmem.{victim} while cpu{thief} stole from \
                 cpu{victim}'s list (a thief must hold its victim's lock)";
                expected "more than {took_before}"; seen "{took_after}");
            let batch = steal_batch(has);
            check_eq!(
                (list(victim), list(thief)),
                (has - batch, batch - 1),
                "steal_pairs: cpu{thief} stealing from cpu{victim} ({has} pages) moves a \
                 batch of {batch} (cpu{victim}'s list, cpu{thief}'s list after one kalloc)"
            );
            let lists: [usize; NCPU] = core::array::from_fn(|i| if i < n { list(i) } else { 0 });
            let held: [u32; NCPU] = core::array::from_fn(|i| PAIR_HELD[i].load(Ordering::Relaxed));
            crate::smp::on_every_cpu(pair_give_back, 0);
            for i in 0..n {
                check_eq!(
                    list(i),
                    lists[i] + held[i] as usize,
                    "steal_pairs: cpu{i}'s list after it freed its {} pages (they go on its own \
                     list)",
                    held[i]
                );
            }
            pairs += 1;
        }
    }
    check_eq!(
        kalloc::audit(),
        before,
        "steal_pairs: the free count at the end"
    );
    println!("ktest: steal_pairs: {pairs} steals, each CPU from each other one");
}

/// A thief numbered above its victim that takes its own list's lock
/// first: list 1's lock, then list 0's. The lock-order check panics.
pub fn lock_order_percpu(_: &BootReport, _: &BootInfo) {
    needs_percpu("lock_order_percpu");
    crate::kalloc::percpu::PERCPU.hold_both(1, 0);
    check!(fail "lock_order_percpu: list 0's lock taken under list 1's";
        expected "the lock-order checker's panic"; seen "none");
}

/// A panic on another CPU is reported with that CPU's number, and stops
/// the machine.
pub fn panic_on_other_cpu(_: &BootReport, _: &BootInfo) {
    needs_other_cpus("panic_on_other_cpu");
    crate::smp::on_every_cpu(
        |last| {
            if this_cpu() as u32 == last {
                panic!("ktest: a panic on the last CPU"); // not a check: the test's point
            }
        },
        ncpu() as u32 - 1,
    );
    check!(fail "a panic on the last CPU";
        expected "the machine stopped"; seen "cpu0 went on");
}

/// CPUs that have reached `panic_on_every_cpu`'s start line.
static EVERY_PANIC_ARRIVED: AtomicU32 = AtomicU32::new(0);

/// Every CPU panics at once (they wait for each other first): one report
/// is printed whole, and the others stop without ending the machine
/// before it is (each would otherwise cut the report off).
pub fn panic_on_every_cpu(_: &BootReport, _: &BootInfo) {
    needs_other_cpus("panic_on_every_cpu");
    crate::smp::on_every_cpu(
        |cpus| {
            EVERY_PANIC_ARRIVED.fetch_add(1, Ordering::SeqCst);
            while EVERY_PANIC_ARRIVED.load(Ordering::SeqCst) < cpus {
                core::hint::spin_loop();
            }
            panic!("ktest: a panic on every CPU at once"); // not a check: the test's point
        },
        ncpu() as u32,
    );
}

/// Ctrl-P's reports `procdump_while_printing` makes.
const PROCDUMP_ROUNDS: u32 = 20;
static CHATTER_STARTED: AtomicBool = AtomicBool::new(false);
static PROCDUMP_DONE: AtomicBool = AtomicBool::new(false);

/// Ctrl-P's report (procdump) while the other CPUs print words without
/// ever ending a line: the host test (tests/smp.rs) checks that each
/// report starts on a line of its own and that nothing comes between its
/// lines.
pub fn procdump_while_printing(_: &BootReport, _: &BootInfo) {
    needs_other_cpus("procdump_while_printing");
    crate::smp::on_every_cpu(
        |reporter| {
            if this_cpu() as u32 == reporter {
                while !CHATTER_STARTED.load(Ordering::SeqCst) {
                    core::hint::spin_loop();
                }
                (0..PROCDUMP_ROUNDS).for_each(|_| crate::proc::procdump());
                PROCDUMP_DONE.store(true, Ordering::SeqCst);
            } else {
                while !PROCDUMP_DONE.load(Ordering::SeqCst) {
                    crate::print!("chatter ");
                    CHATTER_STARTED.store(true, Ordering::SeqCst);
                }
            }
        },
        this_cpu() as u32,
    );
    println!();
    println!("ktest: procdump_while_printing: {PROCDUMP_ROUNDS} reports");
}

/// Rounds of `steal_race`'s contest: enough for thousands of steals while
/// the victims' lists change under them (a steal without the victim's lock
/// broke the lists in 9 of 14 runs of 40 or 150 rounds here; the single
/// steal checked before the contest catches it every time).
const RACE_ROUNDS: u32 = 40;

/// What `steal_race` found: the first page a CPU found holding another
/// CPU's mark, that CPU's id, and a CPU that got no page.
static RACE_CLASH_VA: AtomicU32 = AtomicU32::new(0);
static RACE_CLASH_ID: AtomicU32 = AtomicU32::new(0);
static RACE_OUT_OF_MEMORY: AtomicU32 = AtomicU32::new(u32::MAX);
/// Pages each odd CPU takes at once; odd CPUs still running.
static RACE_BURST: AtomicU32 = AtomicU32::new(0);
static RACE_TAKERS_LEFT: AtomicU32 = AtomicU32::new(0);

/// The mark a CPU writes in the second word of each page it holds: a tag
/// that junk cannot be (0x01010101, 0x05050505), its id in the low bits.
const RACE_TAG: u32 = 0x5EA1_0000;
const RACE_CPU_BITS: u32 = 0xFFFF;

fn race_mark(cpu: usize) -> u32 {
    RACE_TAG | cpu as u32
}

/// One CPU's part of `steal_race`.
fn race_on_this_cpu(rounds: u32) {
    let me = this_cpu();
    let clash = |va: u32, found: u32| {
        let _ = RACE_CLASH_VA.compare_exchange(0, va, Ordering::Relaxed, Ordering::Relaxed);
        RACE_CLASH_ID.store(found & RACE_CPU_BITS, Ordering::Relaxed);
    };
    // Hold a page, marked, and check the mark is still there.
    let take = |head: u32| -> Option<u32> {
        let mut page = kalloc()?;
        page.bytes()[4..8].copy_from_slice(&race_mark(me).to_le_bytes());
        Some(chain(page, head))
    };
    if me % 2 == 1 {
        // A taker: half again its share, so that it steals, every round.
        for _ in 0..rounds {
            let mut head = 0;
            for _ in 0..RACE_BURST.load(Ordering::Relaxed) {
                match take(head) {
                    Some(h) => head = h,
                    None => {
                        RACE_OUT_OF_MEMORY.store(me as u32, Ordering::Relaxed);
                        break;
                    }
                }
            }
            let mut p = head;
            while p != 0 {
                // SAFETY: every page on the chain is this CPU's.
                let (next, mark) =
                    unsafe { ((p as *const u32).read(), (p as *const u32).add(1).read()) };
                if mark != race_mark(me) {
                    clash(p, mark);
                }
                p = next;
            }
            refill(head);
        }
        RACE_TAKERS_LEFT.fetch_sub(1, Ordering::AcqRel);
    } else {
        // A churner: one page at a time, so that its list keeps changing
        // under the takers' steals, until every taker is done.
        while RACE_TAKERS_LEFT.load(Ordering::Acquire) > 0 {
            let Some(head) = take(0) else {
                continue;
            };
            // SAFETY: the page is this CPU's.
            let mark = unsafe { (head as *const u32).add(1).read_volatile() };
            if mark != race_mark(me) {
                clash(head, mark);
            }
            refill(head);
        }
    }
}

/// In percpu mode, the odd CPUs each take half again their share of pages
/// at once, over and over, stealing from the others' lists while the even
/// CPUs allocate and free one page at a time; every page is marked with
/// its holder and checked. No page may go to two CPUs, none may be lost,
/// and the lists must pass the audit. A steal that does not hold its
/// victim's lock breaks one of these.
pub fn steal_race(_: &BootReport, _: &BootInfo) {
    let n = needs_percpu("steal_race");
    // First one steal alone, under its victim's lock.
    let others: usize = (1..n)
        .map(|i| kalloc::cpu_nfree(i).checked("a CPU's free count (kalloc=percpu)"))
        .sum();
    refill(steal_once_under_the_victims_lock(take_own_pages(), others));

    let before = kalloc::nfree();
    let share = before / n;
    RACE_BURST.store((share + share / 2) as u32, Ordering::Relaxed);
    RACE_TAKERS_LEFT.store((n / 2) as u32, Ordering::Relaxed);
    RACE_CLASH_VA.store(0, Ordering::Relaxed);
    RACE_OUT_OF_MEMORY.store(u32::MAX, Ordering::Relaxed);
    crate::smp::on_every_cpu(race_on_this_cpu, RACE_ROUNDS);
    let va = RACE_CLASH_VA.load(Ordering::Relaxed);
    check!(va == 0,
        "steal_race: the mark in page {va:#010x} (a page handed to two CPUs at once: does a \
         steal hold its victim's lock?)";
        expected "its holder's own"; seen "cpu{}'s", RACE_CLASH_ID.load(Ordering::Relaxed));
    let oom = RACE_OUT_OF_MEMORY.load(Ordering::Relaxed);
    check!(oom == u32::MAX,
        "steal_race: kalloc on cpu{oom} with {before} pages free at the start, most of them \
         on other CPUs' lists (a CPU whose list is empty must steal from them)";
        expected "a page"; seen "None");
    let after = kalloc::nfree();
    check_eq!(
        after,
        before,
        "steal_race: the free count after the race (does a steal hold its victim's lock?)"
    );
    if let Err(e) = kalloc::try_audit() {
        check!(fail "steal_race: the audit of the lists (does a steal hold its victim's lock?)";
            expected "{after} pages, each aligned, in range, marked free and on one list";
            seen "{e}");
    }
}
