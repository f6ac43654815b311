//! In-kernel tests of the guarded kernel stacks and the double-fault task.

use core::sync::atomic::{AtomicU32, Ordering};

use x86::segmentation::SegmentSelector;

use crate::bootinfo::BootInfo;
use crate::cpu::{cpu, ncpu};
use crate::kstack::guard_page;
use crate::memlayout::VAddr;
use crate::mmu::{DFTSS, TSS};
use crate::mmu::{PGSIZE, PTFlags, PageStep};
use crate::spinlock::NoInterrupts;
use crate::traps::T_DBLFLT;

use super::{BootReport, translate};

/// A task gate's type in the access byte of its descriptor (Intel SDM
/// vol. 3, table 3-2), and the access byte's place in the upper word.
const TASK_GATE: u32 = 0x5;
const TYPE_SHIFT: u32 = 8;
const TYPE_MASK: u32 = 0xF;
/// Where a gate's segment selector sits in its lower word.
const SELECTOR_SHIFT: u32 = 16;

/// Each CPU's guard page is missing from the kernel page directory, right
/// below a mapped, writable stack; each CPU runs on that stack in its own
/// task (TR), and IDT vector 8 is a task gate to the double-fault task.
pub fn kernel_stacks_are_guarded(_: &BootReport, _: &BootInfo) {
    for i in 0..ncpu() {
        let guard = guard_page(i);
        crate::check_eq!(
            translate(guard),
            None,
            "cpu{i}'s guard page {:#010x}'s mapping",
            guard.0
        );
        let stack = cpu(i).stack();
        crate::check_eq!(
            VAddr(stack.start),
            guard.add_pages(1),
            "cpu{i}'s stack's start (the page above its guard)"
        );
        for page in VAddr(stack.start).pages_until(VAddr(stack.end)) {
            let Some((_, flags)) = translate(page) else {
                crate::check!(fail "cpu{i}'s stack page {:#010x}", page.0;
                    expected "mapped"; seen "not mapped");
            };
            crate::check!(flags.contains(PTFlags::RW), "cpu{i}'s stack page {:#010x}", page.0;
                expected "writable"; seen "{flags:?}");
        }
    }
    /// Bit i: cpu i runs on its own stack, in its own task.
    static ON_OWN_STACK: AtomicU32 = AtomicU32::new(0);
    ON_OWN_STACK.store(0, Ordering::Relaxed);
    crate::smp::on_every_cpu(
        |_| {
            let pinned = NoInterrupts::new();
            let me = pinned.cpu();
            let esp: u32;
            // SAFETY: copying ESP into a register has no effect.
            unsafe { core::arch::asm!("mov {}, esp", out(reg) esp, options(nomem, nostack)) };
            let stack = cpu(me).stack();
            crate::check!(stack.contains(&esp), "cpu{me}'s esp";
                expected "on its stack [{:#010x}, {:#010x})", stack.start, stack.end;
                seen "{esp:#010x}");
            // SAFETY: reading the task register has no effect.
            let tr = unsafe { x86::task::tr() };
            crate::check_eq!(tr.bits(), TSS.bits(), "cpu{me}'s task register");
            ON_OWN_STACK.fetch_or(1 << me, Ordering::Relaxed);
        },
        0,
    );
    let all = (1u32 << ncpu()) - 1;
    let checked = ON_OWN_STACK.load(Ordering::Relaxed);
    crate::check!(checked == all, "the CPUs that checked their stack and task (a bit each)";
        expected "{all:#b}"; seen "{checked:#b}");

    let mut idtr = x86::dtables::DescriptorTablePointer::<u64> {
        limit: 0,
        base: core::ptr::null(),
    };
    // SAFETY: storing the IDT register into a local has no other effect.
    unsafe { x86::dtables::sidt(&mut idtr) };
    // SAFETY: the IDT is 'static, loaded by idtinit, and has 256 entries.
    let gate = unsafe { idtr.base.add(T_DBLFLT as usize).read() };
    let (lower, upper) = (gate as u32, (gate >> 32) as u32);
    crate::check_eq!(
        (upper >> TYPE_SHIFT) & TYPE_MASK,
        TASK_GATE,
        "vector 8's gate type (a task gate)"
    );
    let selector = SegmentSelector::from_raw((lower >> SELECTOR_SHIFT) as u16);
    crate::check_eq!(
        selector.bits(),
        DFTSS.bits(),
        "vector 8's selector (the double-fault TSS)"
    );
}

/// Recurse until the stack runs out: every call keeps a frame (the result
/// is used after the call) with some bytes in it.
#[inline(never)]
pub fn overflow_the_stack(depth: u32) -> u32 {
    let frame = core::hint::black_box([depth; 16]);
    if core::hint::black_box(depth) == u32::MAX {
        return frame[0];
    }
    overflow_the_stack(depth + 1).wrapping_add(frame[1])
}

/// Overflow the boot CPU's stack: the double-fault task must report it.
pub fn stack_overflow(_: &BootReport, _: &BootInfo) {
    let depth = overflow_the_stack(0);
    crate::check!(fail "a recursion until the boot CPU's stack runs out";
        expected "a fault on its guard page"; seen "it returned ({depth:#x})");
}

/// Overflow cpu1's stack (its guarded alias in the kernel-stacks window).
pub fn stack_overflow_on_cpu1(_: &BootReport, _: &BootInfo) {
    super::smp::needs_other_cpus("stack_overflow_on_cpu1");
    crate::smp::on_every_cpu(
        |victim| {
            let me = NoInterrupts::new().cpu();
            if me as u32 == victim {
                overflow_the_stack(0);
            }
        },
        1,
    );
    crate::check!(fail "a recursion until cpu1's stack runs out";
        expected "a fault on its guard page, which stops the machine"; seen "cpu0 went on");
}

// A stack is whole pages, so that the guard below it is a page of its own.
const _: () = assert!(crate::param::KSTACKSIZE.is_multiple_of(PGSIZE)); // not a check: at compile time
