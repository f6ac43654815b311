//! Backtraces by frame pointers (JOS's `mon_backtrace`, xv6's `getcallerpcs`).
//!
//! The kernel is built with frame pointers (i686-xv6.json), so every
//! function starts with `push %ebp; mov %esp, %ebp`: at `ebp` lies the
//! caller's saved `ebp`, at `ebp + 4` the return address into the caller.
//! Following the saved `ebp`s walks up the stack until `boot/entry.S`'s
//! zero. Each step is checked to stay inside the stack, so a corrupt chain
//! ends the walk instead of faulting.

use core::ops::Range;

/// Deepest walk (a cycle or a very deep stack stops here).
pub const MAX_FRAMES: usize = 64;

/// One stack frame: its frame pointer and the address it returns to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    pub ebp: u32,
    pub ret: u32,
}

/// The frames from `ebp` upwards, read with `read` (a word at an address),
/// staying inside `stack`. The walk stops at a zero `ebp`, at one that is
/// misaligned, outside the stack or not above the previous one (callers'
/// frames are higher: the stack grows down), and after MAX_FRAMES.
pub fn frames(
    ebp: u32,
    stack: Range<u32>,
    read: impl Fn(u32) -> u32,
) -> impl Iterator<Item = Frame> {
    let mut next = Some(ebp);
    let mut lowest = stack.start;
    core::iter::from_fn(move || {
        let ebp = next.take()?;
        let inside = ebp != 0
            && ebp.is_multiple_of(4)
            && ebp >= lowest
            && ebp.checked_add(8).is_some_and(|top| top <= stack.end);
        if !inside {
            return None;
        }
        let frame = Frame {
            ebp,
            ret: read(ebp + 4),
        };
        lowest = ebp + 8;
        next = Some(read(ebp));
        Some(frame)
    })
    .take(MAX_FRAMES)
}

#[cfg(kernel)]
mod kernel {
    use super::frames;
    use crate::debug::ksyms;
    use crate::memlayout::{AP_START, KERNBASE};
    use crate::mmu::PGSIZE;
    use crate::{print, println};

    /// Print the calls that led here, innermost first, one per line with the
    /// function's name when the symbol table has it. The first line is the
    /// caller of `print_backtrace`. On a CPU's double-fault task (a stack
    /// overflow's panic) the walk goes on into the task the double fault
    /// interrupted: its EIP, then its frames from its EBP.
    #[inline(never)]
    pub fn print_backtrace(out: fn(core::fmt::Arguments)) {
        let ebp: u32;
        // SAFETY: copying EBP into a register has no effect.
        unsafe { core::arch::asm!("mov {}, ebp", out(reg) ebp, options(nomem, nostack)) };
        let table = ksyms::table();
        if ksyms::count(table) == 0 {
            out(format_args!(
                "backtrace: no symbol table (run-qemu.sh fills it; plain cargo builds leave it empty)\n"
            ));
        }
        let (cpu, stack) = {
            let pinned = crate::spinlock::NoInterrupts::new();
            (pinned.cpu(), crate::cpu::kernel_stack())
        };
        let fault_stack = crate::arch::tss::double_fault_stack(cpu);
        let interrupted =
            crate::arch::doublefault::interrupted(cpu).filter(|_| fault_stack.contains(&ebp));
        let Some((eip, task_ebp)) = interrupted else {
            print_frames(out, table, ebp, stack, 0);
            return;
        };
        let n = print_frames(out, table, ebp, fault_stack, 0);
        out(format_args!("  -- the double fault interrupted:\n"));
        // The faulting instruction itself (often a function's first push):
        // its own address names its function, not the address before it.
        print_pc(out, table, n, eip, eip);
        print_frames(out, table, task_ebp, stack, n + 1);
    }

    /// Print the frames from `ebp` inside `stack`, numbered from `first`;
    /// returns the next number.
    fn print_frames(
        out: fn(core::fmt::Arguments),
        table: &[u8],
        ebp: u32,
        stack: core::ops::Range<u32>,
        first: usize,
    ) -> usize {
        // SAFETY: `frames` reads only aligned words inside a kernel stack of
        // this CPU, which is mapped kernel memory for as long as the kernel
        // runs.
        let read = |a: u32| unsafe { (a as *const u32).read() };
        let mut next = first;
        for f in frames(ebp, stack, read) {
            // The call instruction is just before the return address: look
            // up ret - 1, so a call ending a function names that function.
            print_pc(out, table, next, f.ret, f.ret.wrapping_sub(1));
            next += 1;
        }
        next
    }

    /// Print line `#i` for code address `pc`, named by looking up `at`.
    fn print_pc(out: fn(core::fmt::Arguments), table: &[u8], i: usize, pc: u32, at: u32) {
        if let Some(s) = ksyms::lookup(table, at) {
            out(format_args!(
                "  #{i} {pc:#010x} in {}+{:#x}\n",
                s.name,
                pc - s.start
            ));
            return;
        }
        // boot/entry.S calls main while still running at its load
        // (physical) address, before jumping to the high half.
        let high = at.wrapping_add(KERNBASE.0);
        match ksyms::lookup(table, high).filter(|_| pc < KERNBASE.0) {
            Some(s) => out(format_args!(
                "  #{i} {pc:#010x} in {}+{:#x} (its low, physical-address alias)\n",
                s.name,
                pc.wrapping_add(KERNBASE.0) - s.start
            )),
            None if (AP_START.0..AP_START.0 + PGSIZE as u32).contains(&pc) => out(format_args!(
                "  #{i} {pc:#010x} in the copy of boot/entryother.S at AP_START\n"
            )),
            None => out(format_args!("  #{i} {pc:#010x}\n")),
        }
    }

    /// `print_backtrace` on the console (the monitor's `backtrace`).
    #[inline(never)]
    pub fn backtrace() {
        println!("backtrace:");
        print_backtrace(|a| print!("{a}"));
    }
}

#[cfg(kernel)]
pub use kernel::{backtrace, print_backtrace};

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A stack of words at `base..`, given as (address, value) pairs.
    fn memory(words: &[(u32, u32)]) -> impl Fn(u32) -> u32 + use<> {
        let m: HashMap<u32, u32> = words.iter().copied().collect();
        move |a| {
            *m.get(&a)
                .unwrap_or_else(|| panic!("read outside the stack: {a:#x}"))
        }
    }

    const STACK: Range<u32> = 0x1000..0x2000;

    #[test]
    fn the_chain_is_followed_to_the_zero_frame_pointer() {
        let read = memory(&[
            (0x1100, 0x1200),
            (0x1104, 0x8010_0100),
            (0x1200, 0x1f00),
            (0x1204, 0x8010_0200),
            (0x1f00, 0),
            (0x1f04, 0x8010_0300),
        ]);
        let rets: Vec<u32> = frames(0x1100, STACK, read).map(|f| f.ret).collect();
        assert_eq!(rets, [0x8010_0100, 0x8010_0200, 0x8010_0300]);
    }

    #[test]
    fn a_corrupt_chain_stops_instead_of_reading_outside_the_stack() {
        for bad in [0x9000_0000, 0x1202, 0x0ff0, 0x1ffc, 0x1100, 0x1050] {
            let read = memory(&[(0x1100, 0x1200), (0x1104, 1), (0x1200, bad), (0x1204, 2)]);
            let n = frames(0x1100, STACK, read).count();
            assert_eq!(n, 2, "next ebp {bad:#x} must end the walk");
        }
        assert_eq!(frames(0, STACK, |_| unreachable!()).count(), 0);
    }

    #[test]
    fn a_long_chain_stops_at_max_frames() {
        let read = |a: u32| {
            if a.is_multiple_of(8) {
                a + 8
            } else {
                0x8010_0000
            }
        };
        let stack = 0x1000..0x1000 + 8 * 1000;
        assert_eq!(frames(0x1000, stack, read).count(), MAX_FRAMES);
    }
}
