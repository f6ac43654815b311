//! Task-state segments: each CPU runs as one hardware task, whose TSS it
//! loads with `ltr` (the CPU saves its registers there on a task switch),
//! and has a second task for double faults, with a stack page of its own.
//! IDT vector 8 is a task gate to that task (`trap::idtinit`): a double
//! fault switches tasks instead of pushing onto the stack that overflowed,
//! so a kernel stack overflow ends in a panic, not a triple fault. The
//! task-switch rules are in the Intel SDM vol. 3, chapter 8 (tasks).

use core::cell::UnsafeCell;
use core::mem::size_of;

use x86::bits32::task::TaskStateSegment;

use crate::mmu::{KCODE, KCPU, KDATA, PGSIZE};
use crate::param::NCPU;

/// A TSS the CPU writes behind Rust's back (a task switch saves the
/// outgoing task's registers into it), hence the `UnsafeCell`. Aligned so
/// that its 104 bytes never straddle a page, as the SDM advises.
#[repr(C, align(128))]
struct TssCell(UnsafeCell<TaskStateSegment>);

// SAFETY: each CPU's cells are written by that CPU only: by `init` before
// `ltr`, by `set_double_fault_cr3` with interrupts off, and by the CPU's
// own task switch; other CPUs never touch them.
unsafe impl Sync for TssCell {}

/// The double-fault task's stack: a page per CPU. Aligned for the calling
/// convention, not to a page: nothing maps it apart, and page alignment
/// would cost padding in the first 4 MiB, where every page counts.
#[repr(C, align(16))]
struct Stack(UnsafeCell<[u8; PGSIZE]>);

// SAFETY: only CPU i's double-fault task runs on stack i.
unsafe impl Sync for Stack {}

static RUNNING: [TssCell; NCPU] =
    [const { TssCell(UnsafeCell::new(TaskStateSegment::new())) }; NCPU];
static DOUBLE_FAULT: [TssCell; NCPU] =
    [const { TssCell(UnsafeCell::new(TaskStateSegment::new())) }; NCPU];
static DOUBLE_FAULT_STACKS: [Stack; NCPU] = [const { Stack(UnsafeCell::new([0; PGSIZE])) }; NCPU];

/// EFLAGS of the double-fault task: interrupts off, only the bit that is
/// always 1 (bit 1) set.
const EFLAGS_RESERVED: u32 = 1 << 1;

/// The base and limit of CPU `cpu`'s two TSSs, for its GDT: the running
/// task's, then the double-fault task's.
pub fn segments(cpu: usize) -> [(u32, u32); 2] {
    let limit = size_of::<TaskStateSegment>() as u32 - 1;
    [
        (RUNNING[cpu].0.get() as u32, limit),
        (DOUBLE_FAULT[cpu].0.get() as u32, limit),
    ]
}

/// The addresses of CPU `cpu`'s double-fault stack.
pub fn double_fault_stack(cpu: usize) -> core::ops::Range<u32> {
    let lo = DOUBLE_FAULT_STACKS[cpu].0.get() as u32;
    lo..lo + PGSIZE as u32
}

/// Fill in CPU `cpu`'s two TSSs, before its GDT points at them: the
/// running task's is empty (the CPU fills it on a task switch); the
/// double-fault task starts at `entry` on its own stack, with the kernel's
/// segments, `%gs` the CPU's own (so `cpuid()` works), interrupts off, and
/// the page directory in CR3 now (entrypgdir until `switchkvm` says
/// otherwise: both map the kernel's text, data and this stack).
pub fn init(cpu: usize, entry: u32) {
    let mut task = TaskStateSegment::new();
    // SAFETY: reading CR3 has no side effects.
    task.cr3 = unsafe { x86::controlregs::cr3() } as u32;
    task.eip = entry;
    task.eflags = EFLAGS_RESERVED;
    task.esp = double_fault_stack(cpu).end;
    task.cs = KCODE.bits();
    task.ss = KDATA.bits();
    task.ds = KDATA.bits();
    task.es = KDATA.bits();
    task.fs = KDATA.bits();
    task.gs = KCPU.bits();
    // SAFETY: the CPU has not loaded these TSSs yet (its GDT does not
    // point at them), and only this CPU writes them.
    unsafe {
        RUNNING[cpu].0.get().write_volatile(TaskStateSegment::new());
        DOUBLE_FAULT[cpu].0.get().write_volatile(task);
    }
}

/// Give CPU `cpu`'s double-fault task the page directory `pgdir` (the
/// kernel's, once `switchkvm` loads it). Called by that CPU with
/// interrupts off.
pub fn set_double_fault_cr3(cpu: usize, pgdir: u32) {
    // SAFETY: the field is 4-aligned (the TSS is 128-aligned, CR3 at offset
    // 28); only this CPU writes its TSS, and its double-fault task is not
    // running (it never returns once it runs).
    unsafe { (&raw mut (*DOUBLE_FAULT[cpu].0.get()).cr3).write_volatile(pgdir) };
}

/// Make CPU `cpu`'s running task enter the kernel on the stack whose top
/// is `esp0` when an interrupt or a system call leaves user mode (xv6's
/// `switchuvm` sets `ss0`/`esp0`). The I/O permission map's offset
/// (`TaskStateSegment::new`'s) lies past the TSS's limit, so with IOPL 0
/// every `in`/`out` from ring 3 faults.
/// Called by that CPU with interrupts off.
pub fn set_kernel_stack(cpu: usize, esp0: u32) {
    let tss = RUNNING[cpu].0.get();
    // SAFETY: only this CPU writes its running TSS, with interrupts off;
    // the CPU reads ss0/esp0 only at the next entry from ring 3, and the
    // fields are naturally aligned in the 128-aligned TSS.
    unsafe {
        (&raw mut (*tss).ss0).write_volatile(KDATA.bits());
        (&raw mut (*tss).esp0).write_volatile(esp0);
    }
}

/// The kernel stack CPU `cpu` enters from user mode on (what
/// `set_kernel_stack` set last).
pub fn kernel_stack(cpu: usize) -> u32 {
    // SAFETY: a read of a field only this CPU writes.
    unsafe { (&raw const (*RUNNING[cpu].0.get()).esp0).read_volatile() }
}

/// The state of the task the CPU was running when a double fault
/// switched it to the double-fault task: what the CPU saved in CPU
/// `cpu`'s running TSS, if the double-fault task's back link names that
/// TSS.
pub fn interrupted(cpu: usize, running: u16) -> Option<TaskStateSegment> {
    // SAFETY: called on the double-fault task of this CPU: the task switch
    // has finished writing both TSSs, and nothing else writes them now.
    let (df, run) = unsafe {
        (
            DOUBLE_FAULT[cpu].0.get().read_volatile(),
            RUNNING[cpu].0.get().read_volatile(),
        )
    };
    (df.link == running).then_some(run)
}
