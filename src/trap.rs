//! Traps (xv6's `trap.c`): the interrupt descriptor table and `trap`, which
//! every vector reaches through `alltraps`. Device interrupts go to their
//! drivers. A write to a copy-on-write page gets its own copy (Linux 0.01's
//! `do_wp_page`); every other exception is a kernel bug (there is no user
//! code yet): it is described and the kernel panics, instead of the CPU
//! escalating to a silent triple fault.

use spin::Once;
use x86::Ring;
use x86::dtables::{DescriptorTablePointer, lidt};
use x86::segmentation::{
    BuildDescriptor, Descriptor, DescriptorBuilder, GateDescriptorBuilder,
    TaskGateDescriptorBuilder,
};

use crate::lapic::lapiceoi;
use crate::mmu::{DFTSS, KCODE};
use crate::syscall::number::T_SYSCALL;
use crate::traps::{
    IRQ_COM1, IRQ_ERROR, IRQ_IDE, IRQ_KBD, IRQ_LOCAL_TIMER, IRQ_SPURIOUS, IRQ_TIMER, IRQ_WAKE,
    NIRQS, PageFaultCode, T_DBLFLT, T_IRQ0, T_NEXCEPTIONS, T_NMI, T_PGFLT, exception_name,
};

/// Number of interrupt vectors.
const NVECTORS: usize = 256;

core::arch::global_asm!(
    include_str!(concat!(env!("OUT_DIR"), "/vectors.S")),
    options(att_syntax)
);
core::arch::global_asm!(
    include_str!("trapasm.S"),
    KDATA = const crate::mmu::KDATA.bits(),
    KCPU = const crate::mmu::KCPU.bits(),
    trap = sym trap,
    options(att_syntax)
);

unsafe extern "C" {
    /// Entry stub addresses, one per vector (build.rs's vectors.S).
    static vectors: [u32; NVECTORS];
}

/// The registers `alltraps` and the CPU saved, lowest address first
/// (xv6's `struct trapframe`).
#[repr(C)]
#[derive(Debug)]
pub struct TrapFrame {
    // pushal
    pub edi: u32,
    pub esi: u32,
    pub ebp: u32,
    pub oesp: u32, // the ESP pushal saw: useless
    pub ebx: u32,
    pub edx: u32,
    pub ecx: u32,
    pub eax: u32,
    // segment registers, pushed as 32 bits
    pub gs: u32,
    pub fs: u32,
    pub es: u32,
    pub ds: u32,
    // from the vector stub
    pub trapno: u32,
    pub err: u32,
    // from the CPU
    pub eip: u32,
    pub cs: u32,
    pub eflags: u32,
    // only on a change of privilege level (from user mode): read them only
    // when `from_user`
    pub esp: u32,
    pub ss: u32,
}

impl TrapFrame {
    /// Whether the trap came from user mode (ring 3).
    pub fn from_user(&self) -> bool {
        self.cs & 3 == 3
    }
}

static IDT: Once<[Descriptor; NVECTORS]> = Once::new();

/// Build the IDT (xv6's `tvinit`) and load it (`idtinit`). All gates are
/// interrupt gates (interrupts off in the handler), for the kernel only,
/// except the double fault's: a task gate to the double-fault task, which
/// runs on a stack of its own (`src/arch/doublefault.rs`). The IDT is shared;
/// the gate's selector picks each CPU's own task from that CPU's GDT.
pub fn idtinit() {
    let idt = IDT.call_once(|| {
        let mut idt = [Descriptor::NULL; NVECTORS];
        for (gate, i) in idt.iter_mut().zip(0..) {
            // SAFETY: `vectors` is a table of NVECTORS addresses in rodata.
            let stub = unsafe { vectors[i] };
            *gate = <DescriptorBuilder as GateDescriptorBuilder<u32>>::interrupt_descriptor(
                KCODE, stub,
            )
            .present()
            .dpl(Ring::Ring0)
            .finish();
        }
        // System calls: a trap gate (interrupts stay as they were: on)
        // that user code may use (DPL 3), as xv6's.
        idt[T_SYSCALL as usize] =
            <DescriptorBuilder as GateDescriptorBuilder<u32>>::trap_gate_descriptor(
                KCODE,
                // SAFETY: `vectors` is a table of NVECTORS addresses in rodata.
                unsafe { vectors[T_SYSCALL as usize] },
            )
            .present()
            .dpl(Ring::Ring3)
            .finish();
        idt[T_DBLFLT as usize] =
            <DescriptorBuilder as TaskGateDescriptorBuilder>::task_gate_descriptor(DFTSS)
                .present()
                .dpl(Ring::Ring0)
                .finish();
        idt
    });
    // SAFETY: the table is 'static and every gate points at a stub that
    // saves state and calls `trap`.
    unsafe { lidt(&DescriptorTablePointer::new(idt)) };
}

/// Called by `alltraps` for every trap (xv6's `trap`), with interrupts off
/// (all gates are interrupt gates).
extern "C" fn trap(tf: &mut TrapFrame) {
    if tf.trapno == T_NMI && crate::machine::panicking() {
        // Another CPU panicked and stops this one (see the panic handler).
        crate::machine::halt();
    }
    if tf.trapno == T_SYSCALL && tf.from_user() {
        let p = crate::proc::myproc().expect("a system call from user mode has a process");
        p.tf = tf;
        leave_if_killed(tf);
        crate::syscall::syscall();
        leave_if_killed(tf);
        return;
    }
    if tf.trapno == T_PGFLT && tf.from_user() {
        user_page_fault(tf);
    } else if tf.trapno == T_PGFLT && copy_on_write(tf) {
        return;
    } else if tf.trapno < T_NEXCEPTIONS && tf.from_user() {
        kill_faulting(tf, 0);
    } else if tf.trapno < T_NEXCEPTIONS {
        exception(tf);
    } else {
        device_interrupt(tf);
    }
    // A timer tick (the PIT's or the CPU's own) preempts user code; a
    // killed process exits on its way back to user mode (xv6's end of
    // `trap`).
    leave_if_killed(tf);
    let timer = [IRQ_TIMER, IRQ_LOCAL_TIMER].map(|irq| T_IRQ0 + u32::from(irq));
    if tf.from_user() && timer.contains(&tf.trapno) && crate::proc::myproc().is_some() {
        crate::proc::yield_();
    }
    leave_if_killed(tf);
}

/// A process marked killed exits here instead of returning to user mode.
fn leave_if_killed(tf: &TrapFrame) {
    if tf.from_user() && crate::proc::killed() {
        crate::proc::exit();
    }
}

/// A page fault in user mode: a write to a copy-on-write page gets its
/// copy (the process is killed if there is no memory for it); any other
/// fault kills the process.
fn user_page_fault(tf: &TrapFrame) {
    use crate::linux::memory::{CowError, un_wp_page};
    // SAFETY: reading CR2 has no side effects.
    let cr2 = unsafe { x86::controlregs::cr2() } as u32;
    let code = PageFaultCode::decode(tf.err);
    if code.write && code.present && cr2 < crate::memlayout::USERTOP.0 {
        let pgdir = crate::jos::pmap::rcr3();
        match un_wp_page(
            &mut crate::jos::pmap::KernelPages,
            pgdir,
            crate::memlayout::VAddr(cr2),
        ) {
            Ok(_) => return,
            Err(e @ CowError::OutOfMemory { .. }) => crate::println!("{e}"),
            Err(_) => {}
        }
    }
    kill_faulting(tf, cr2);
}

/// Print xv6's line for a process's fault and mark it killed.
fn kill_faulting(tf: &TrapFrame, addr: u32) {
    let p = crate::proc::myproc().expect("a trap from user mode has a process");
    crate::println!(
        "pid {} {}: trap {} err {} on cpu {} eip {:#x} addr {:#x}--kill proc",
        p.pid,
        p.name(),
        tf.trapno,
        tf.err,
        crate::cpu::cpuid(),
        tf.eip,
        addr
    );
    crate::proc::kill_me();
}

/// A device's interrupt: to its driver.
fn device_interrupt(tf: &TrapFrame) {
    let Some(irq) = tf.trapno.checked_sub(T_IRQ0).filter(|&i| i < NIRQS) else {
        panic!(
            "trap: unexpected interrupt {} at eip {:#010x}",
            tf.trapno, tf.eip
        );
    };
    let irq = irq as u8;
    match irq {
        IRQ_TIMER => crate::sysproc::clock_tick(),
        // Another CPU's own timer: only to preempt (after the EOI).
        IRQ_LOCAL_TIMER => {}
        IRQ_KBD => crate::kbd::kbdintr(),
        IRQ_COM1 => crate::uart::uartintr(),
        IRQ_IDE => crate::ide::ideintr(),
        // A halted CPU woken to look for work: waking was the point.
        IRQ_WAKE => {}
        IRQ_ERROR => crate::println!(
            "trap: local APIC error on cpu {} at eip {:#010x}",
            crate::cpu::cpuid(),
            tf.eip
        ),
        // The local APIC's spurious interrupt must not be acknowledged.
        IRQ_SPURIOUS => return,
        _ => panic!(
            "trap: interrupt from IRQ {irq} (vector {}), which no driver enabled, at eip {:#010x}",
            tf.trapno, tf.eip
        ),
    }
    lapiceoi();
}

/// A kernel write to a copy-on-write page: resolved, the write runs again
/// (`true`). With no memory for the copy of a user page, the process it
/// belongs to is killed and exits here: the kernel code that wrote cannot
/// go on, and returning would only fault again. What that code held is
/// lost (it must hold no spin lock: a broken invariant, which panics).
fn copy_on_write(tf: &TrapFrame) -> bool {
    // SAFETY: reading CR2 has no side effects.
    let cr2 = unsafe { x86::controlregs::cr2() } as u32;
    let err = match crate::linux::memory::do_wp_page(tf.err, crate::memlayout::VAddr(cr2)) {
        Ok(resolved) => return resolved,
        Err(e) => e,
    };
    let Some(p) = crate::proc::myproc().filter(|_| cr2 < crate::memlayout::USERTOP.0) else {
        panic!(
            "{err}, in the kernel at eip {:#010x}, with no process to kill",
            tf.eip
        );
    };
    crate::println!(
        "pid {} {}: {err}, at kernel eip {:#x}--kill proc",
        p.pid,
        p.name(),
        tf.eip
    );
    let locks = crate::cpu::cpu(crate::cpu::cpuid())
        .ncli
        .load(core::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        locks, 0,
        "trap: a kernel copy-on-write write with no memory left, with {locks} spin lock(s) held: the process cannot exit"
    );
    crate::proc::kill_me();
    crate::proc::exit()
}

/// Describe a CPU exception in the kernel and panic.
fn exception(tf: &TrapFrame) -> ! {
    let name = exception_name(tf.trapno);
    if tf.trapno == T_PGFLT {
        // SAFETY: reading CR2 has no side effects.
        let cr2 = unsafe { x86::controlregs::cr2() };
        panic!(
            "trap {} ({name}): err {:#x}, eip {:#010x}, cr2 {cr2:#010x}: {}",
            tf.trapno,
            tf.err,
            tf.eip,
            PageFaultCode::decode(tf.err)
        );
    }
    panic!(
        "trap {} ({name}): err {:#x}, eip {:#010x}",
        tf.trapno, tf.err, tf.eip
    );
}
