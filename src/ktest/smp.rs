//! In-kernel tests of the other CPUs and of the per-CPU allocator.

use core::sync::atomic::{AtomicU32, Ordering};

use crate::bootinfo::BootInfo;
use crate::cpu::{cpu, ncpu};
use crate::kalloc::{self, Mode, kalloc, steal_batch};
use crate::memlayout::{BOOT_MAPPED, PAddr, VAddr, kstack};
use crate::param::APSTACKSIZE;
use crate::println;

use super::{BootReport, chain, kernel_mapping, refill};

/// Every CPU of the MP table said it started, each on a stack of its own
/// below 4 MiB (where entrypgdir maps), and the boot report counted them.
pub fn every_cpu_started(r: &BootReport, _: &BootInfo) {
    let n = ncpu();
    assert_eq!(r.stacks, n - 1, "one stack page per other CPU");
    for i in 0..n {
        let c = cpu(i);
        assert!(c.started.load(Ordering::Acquire), "cpu{i} did not start");
        let stack = c.stack();
        assert!(!stack.is_empty(), "cpu{i} has no stack");
        if i > 0 {
            assert_eq!(stack.len(), APSTACKSIZE);
            // It runs on the alias of its page, in the kernel-stacks window.
            assert_eq!(VAddr(stack.start), kstack(i).stack, "cpu{i}'s stack");
            let page = PAddr(c.stack_pa.load(Ordering::Relaxed));
            let top = page + (APSTACKSIZE - 1);
            assert!(
                top < BOOT_MAPPED,
                "cpu{i}'s stack at {top:#x} is above 4 MiB"
            );
            assert_eq!(
                kernel_mapping(VAddr(stack.start)),
                Some(page),
                "cpu{i}'s alias maps its page"
            );
        }
        for j in 0..i {
            let other = cpu(j).stack();
            assert!(
                stack.end <= other.start || other.end <= stack.start,
                "cpu{i} and cpu{j} share stack memory"
            );
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
            assert_eq!(fast, slow, "%gs says cpu{fast}, the APIC id says cpu{slow}");
            let before = SEEN.fetch_or(1 << fast, Ordering::Relaxed);
            assert_eq!(before & (1 << fast), 0, "cpu{fast} answered twice");
        },
        0,
    );
    let all = (1u32 << ncpu()) - 1;
    assert_eq!(
        SEEN.load(Ordering::Relaxed),
        all,
        "every CPU answered with its own index"
    );
}

/// kalloctest passes: no double allocation, no page lost.
pub fn kalloctest(_: &BootReport, _: &BootInfo) {
    /// Enough rounds to overlap the CPUs many times, few enough to be quick.
    const ROUNDS: u32 = 10_000;
    assert!(crate::kalloctest::kalloctest(ROUNDS), "kalloctest failed");
}

/// In percpu mode, cpu0 empties its own list, then keeps allocating by
/// stealing batches from the others until the whole machine is out of
/// memory; freeing everything brings the count back.
pub fn steal(_: &BootReport, _: &BootInfo) {
    let n = ncpu();
    assert!(
        kalloc::mode() == Mode::PerCpu && n >= 2,
        "ktest steal needs kalloc=percpu and 2 or more CPUs (has {} mode, {n} CPUs)",
        kalloc::mode().name()
    );
    let list = |i| kalloc::cpu_nfree(i).expect("percpu mode");
    let before = kalloc::nfree();
    let own = list(0);
    let others: usize = (1..n).map(list).sum();
    assert!(others > 0, "the other CPUs' lists are empty at the start");

    // Use up cpu0's own pages: nothing is stolen yet.
    let mut head = 0;
    for _ in 0..own {
        head = chain(kalloc().expect("cpu0's own pages"), head);
    }
    assert_eq!(list(0), 0);
    assert_eq!((1..n).map(list).sum::<usize>(), others, "no steal yet");

    // The next kalloc steals one batch from the fullest other list.
    let richest = (1..n).map(list).max().unwrap();
    head = chain(kalloc().expect("a stolen page"), head);
    assert_eq!(
        list(0),
        steal_batch(richest) - 1,
        "a batch of {} pages came over, one was handed out",
        steal_batch(richest)
    );

    // Keep going until the machine is out of memory.
    let mut got = own + 1;
    while let Some(p) = kalloc() {
        head = chain(p, head);
        got += 1;
    }
    assert_eq!(got, before, "cpu0 got every free page of the machine");
    for i in 0..n {
        assert_eq!(list(i), 0, "cpu{i}'s list is empty");
    }
    println!(
        "ktest: steal: cpu0 allocated {got} pages: {own} its own, {} stolen from {} CPUs",
        got - own,
        n - 1
    );
    refill(head);
    assert_eq!(
        kalloc::audit(),
        before,
        "freeing them all restores the count"
    );
    assert_eq!(list(0), before, "cpu0 freed them, onto its own list");
}

/// A panic on another CPU is reported with that CPU's number, and stops
/// the machine.
pub fn panic_on_other_cpu(_: &BootReport, _: &BootInfo) {
    assert!(ncpu() >= 2, "ktest panic_on_other_cpu needs 2 or more CPUs");
    crate::smp::on_every_cpu(
        |last| {
            let me = {
                let _pinned = crate::spinlock::NoInterrupts::new();
                crate::cpu::cpuid()
            };
            if me as u32 == last {
                panic!("ktest: a panic on the last CPU");
            }
        },
        ncpu() as u32 - 1,
    );
    unreachable!("the panic on the last CPU stopped the machine");
}
