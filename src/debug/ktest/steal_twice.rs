//! In-kernel test that a thief's stolen pages can be stolen in turn: the
//! percpu allocator's published counts (read without the locks to pick a
//! victim) must show the pages a steal brought over, or a CPU whose list
//! is empty sees every list empty and kalloc fails with memory free.

use core::sync::atomic::{AtomicU32, Ordering};

use crate::bootinfo::BootInfo;
use crate::checks::Checked;
use crate::cpu::ncpu;
use crate::debug::hoard::{chain, refill};
use crate::kalloc::{self, Mode, kalloc, steal_batch};
use crate::param::NCPU;
use crate::spinlock::NoInterrupts;

use super::BootReport;

/// The first steal's victim (it keeps its pages while the others empty
/// theirs) and thief, then the second steal's: the victim steals back.
const VICTIM: usize = 1;
const THIEF: usize = 0;

/// Each CPU's pages taken off the free lists, chained for `refill`.
static HOARD: [AtomicU32; NCPU] = [const { AtomicU32::new(0) }; NCPU];
/// Bit i: CPU i's kalloc gave a page in `one_kalloc`.
static GOT: AtomicU32 = AtomicU32::new(0);
/// One page kept apart (a chain of one), freed alone later.
static SPARE: AtomicU32 = AtomicU32::new(0);

/// The running CPU's index.
fn this_cpu() -> usize {
    let _pinned = NoInterrupts::new();
    crate::cpu::cpuid()
}

/// Every page of the running CPU's own list, onto its hoard, if bit
/// `cpu` of `who` is set.
fn empty_own_list(who: u32) {
    let me = this_cpu();
    if who & (1 << me) == 0 {
        return;
    }
    let own = kalloc::cpu_nfree(me).checked("percpu mode's list");
    let head = (0..own).fold(HOARD[me].load(Ordering::Relaxed), |head, _| {
        chain(kalloc().checked("a page of the CPU's own list"), head)
    });
    HOARD[me].store(head, Ordering::Relaxed);
}

/// One kalloc on CPU `cpu` only; the page, if any, onto its hoard.
fn one_kalloc(cpu: u32) {
    let me = this_cpu();
    if me != cpu as usize {
        return;
    }
    if let Some(page) = kalloc() {
        GOT.fetch_or(1 << me, Ordering::Relaxed);
        HOARD[me].store(
            chain(page, HOARD[me].load(Ordering::Relaxed)),
            Ordering::Relaxed,
        );
    }
}

/// On CPU `cpu` only: one page off its own list into [`SPARE`].
fn take_spare(cpu: u32) {
    if this_cpu() == cpu as usize {
        let page = kalloc().checked("a page of the CPU's own list");
        SPARE.store(chain(page, 0), Ordering::Relaxed);
    }
}

/// On CPU `cpu` only: kfree the [`SPARE`] page (onto its own list).
fn free_spare(cpu: u32) {
    if this_cpu() == cpu as usize {
        refill(SPARE.swap(0, Ordering::Relaxed));
    }
}

/// Every CPU gives its hoard back (onto its own list).
fn give_back(_: u32) {
    refill(HOARD[this_cpu()].swap(0, Ordering::Relaxed));
}

/// In percpu mode: every list but cpu1's is emptied, cpu0 steals a batch
/// from cpu1, cpu1 empties its own list, and cpu1 then allocates: the
/// only free pages are the batch on cpu0's list, so the kalloc must steal
/// them back. Then every list is emptied, cpu0 frees one page, and cpu1's
/// kalloc must find that one page. Everyone gives its pages back and the
/// count is whole again.
pub fn steal_twice(_: &BootReport, _: &BootInfo) {
    let n = ncpu();
    crate::check!(kalloc::mode() == Mode::PerCpu && n >= 2, "ktest steal_twice's machine";
        expected "kalloc=percpu and 2 or more CPUs";
        seen "{} mode, {n} CPUs", kalloc::mode().name());
    let list = |i| kalloc::cpu_nfree(i).checked("percpu mode's list");
    let before = kalloc::nfree();
    GOT.store(0, Ordering::Relaxed);
    let everyone = (1u32 << n) - 1;
    crate::smp::on_every_cpu(empty_own_list, everyone & !(1 << VICTIM));
    let has = list(VICTIM);
    crate::check!(has >= 2, "steal_twice: cpu{VICTIM}'s list, the only one left with pages";
        expected "2 pages or more"; seen "{has}");

    crate::smp::on_every_cpu(one_kalloc, THIEF as u32);
    let batch = steal_batch(has);
    crate::check_eq!(
        (GOT.load(Ordering::Relaxed) & (1 << THIEF) != 0, list(THIEF)),
        (true, batch - 1),
        "steal_twice: cpu{THIEF}, whose list is empty, allocating with {has} pages on \
         cpu{VICTIM}'s list (whether it got a page, its list after: a batch of {batch} less \
         one; a CPU whose list is empty must steal)"
    );

    crate::smp::on_every_cpu(empty_own_list, 1 << VICTIM);
    let left = list(THIEF);
    for i in (0..n).filter(|&i| i != THIEF) {
        crate::check_eq!(
            list(i),
            0,
            "steal_twice: cpu{i}'s list after it was emptied"
        );
    }
    crate::smp::on_every_cpu(one_kalloc, VICTIM as u32);
    crate::check!(GOT.load(Ordering::Relaxed) & (1 << VICTIM) != 0,
        "steal_twice: cpu{VICTIM}'s kalloc, its list empty, with {left} pages on cpu{THIEF}'s \
         list (stolen from cpu{VICTIM} before)";
        expected "a page stolen from cpu{THIEF}";
        seen "None: a thief must publish its list's count after a steal (note), or no other \
              CPU sees those pages");
    crate::check_eq!(
        list(THIEF),
        left - steal_batch(left),
        "steal_twice: cpu{THIEF}'s list after cpu{VICTIM} stole a batch of it"
    );

    // The last free page of the machine, freed onto cpu0's list, is seen.
    crate::smp::on_every_cpu(take_spare, THIEF as u32);
    crate::smp::on_every_cpu(empty_own_list, everyone);
    crate::smp::on_every_cpu(free_spare, THIEF as u32);
    crate::check_eq!(
        list(THIEF),
        1,
        "steal_twice: cpu{THIEF}'s list after it freed one page"
    );
    GOT.store(0, Ordering::Relaxed);
    crate::smp::on_every_cpu(one_kalloc, VICTIM as u32);
    crate::check!(GOT.load(Ordering::Relaxed) & (1 << VICTIM) != 0,
        "steal_twice: cpu{VICTIM}'s kalloc, every list empty but the one page cpu{THIEF} \
         just freed";
        expected "that page"; seen "None: kfree must publish its list's count after the \
              push (note), or a thief does not see the page");

    crate::smp::on_every_cpu(give_back, 0);
    crate::check_eq!(
        kalloc::audit(),
        before,
        "steal_twice: the free pages after every CPU gave its pages back"
    );
}
