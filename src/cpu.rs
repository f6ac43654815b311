//! Per-CPU state (xv6's `struct cpu` and `mycpu()` from proc.h/proc.c).
//!
//! So far a CPU only needs what the spin locks' interrupt discipline keeps:
//! how deep its `pushcli` calls are nested and whether interrupts were on
//! before the outermost one. Until the SMP code starts the other CPUs, the
//! boot CPU is the only one running, and it is `CPUS[0]`.

use core::sync::atomic::{AtomicBool, AtomicU32};

use x86::bits32::eflags::{self, EFlags};

use crate::param::NCPU;

/// One CPU's state. Only its own CPU touches it, with interrupts off; the
/// fields are atomics only so that a shared `static` needs no `unsafe`.
pub struct Cpu {
    /// Depth of `pushcli` nesting.
    pub ncli: AtomicU32,
    /// Were interrupts enabled before the outermost `pushcli`?
    pub intena: AtomicBool,
}

impl Cpu {
    const fn new() -> Cpu {
        Cpu {
            ncli: AtomicU32::new(0),
            intena: AtomicBool::new(false),
        }
    }
}

static CPUS: [Cpu; NCPU] = [const { Cpu::new() }; NCPU];

/// Whether this CPU takes interrupts (EFLAGS.IF).
pub fn interrupts_enabled() -> bool {
    // SAFETY: reading EFLAGS has no side effects.
    unsafe { eflags::read() }.contains(EFlags::FLAGS_IF)
}

/// The running CPU's state. As in xv6, only meaningful with interrupts off:
/// otherwise the caller could move to another CPU between the call and the
/// use (once there are several), so it panics.
pub fn mycpu() -> &'static Cpu {
    assert!(
        !interrupts_enabled(),
        "mycpu called with interrupts enabled"
    );
    &CPUS[cpuid()]
}

/// Index of the running CPU in the kernel's table: 0, the boot CPU, which
/// is the only one started so far.
pub fn cpuid() -> usize {
    0
}

/// The running CPU's local APIC id, as the CPUID instruction reports it
/// (needs no APIC mapping; printed in panics).
pub fn apicid() -> u8 {
    /// CPUID leaf 1 gives the initial APIC id in bits 31..24 of EBX.
    const CPUID_FEATURES: u32 = 1;
    const EBX_APIC_ID_SHIFT: u32 = 24;
    let ebx = core::arch::x86::__cpuid(CPUID_FEATURES).ebx;
    (ebx >> EBX_APIC_ID_SHIFT) as u8
}
