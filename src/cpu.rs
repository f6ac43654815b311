//! Per-CPU state (xv6's `struct cpu`, `cpus[]`, `mycpu()` and `cpuid()`
//! from proc.h/proc.c).
//!
//! Each CPU has an entry in `CPUS`. `mpinit` fills in the APIC ids from
//! the MP table, the boot CPU first, so the boot CPU is `cpu0`.
//!
//! How a CPU knows which entry is its own: as in the original (2011) xv6,
//! each CPU's GDT has a segment whose base is its entry, loaded into `%gs`
//! by `seginit`, so `cpuid()` is one load (`mov %gs:0, ...`). The C xv6
//! today asks the local APIC for its id and searches the table instead, on
//! every `mycpu()`; that lookup, with the CPUID instruction in place of the
//! APIC, remains here for the one moment before `%gs` is set up: an
//! application processor's first steps in `mpenter`.

use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicUsize, Ordering};

use x86::bits32::eflags::{self, EFlags};

use crate::param::NCPU;

/// One CPU's state. The fields are atomics so that a shared `static` needs
/// no `unsafe`: `ncli` and `intena` are only touched by their own CPU with
/// interrupts off; the others are written once, before the CPU starts, or
/// read by other CPUs for reports (`cpus`).
///
/// `repr(C)` with `index` first: `cpuid()` reads it at offset 0 of the
/// CPU's `%gs` segment.
#[repr(C)]
pub struct Cpu {
    /// Its place in `CPUS`.
    index: usize,
    /// Depth of `pushcli` nesting.
    pub ncli: AtomicU32,
    /// Were interrupts enabled before the outermost `pushcli`?
    pub intena: AtomicBool,
    /// The ranks of the spin locks this CPU holds, a bit each
    /// (`lockorder.rs`); touched only by this CPU, with interrupts off.
    pub locks: AtomicU32,
    /// Its local APIC's id.
    pub apicid: AtomicU8,
    /// Set by the CPU itself once it runs the kernel's code (xv6's `started`).
    pub started: AtomicBool,
    /// Its kernel stack: lowest address and one past the highest.
    pub stack_lo: AtomicU32,
    pub stack_hi: AtomicU32,
    /// The physical page of an other CPU's stack (0 for the boot CPU, whose
    /// stack is in the image).
    pub stack_pa: AtomicU32,
}

impl Cpu {
    const fn new(index: usize) -> Cpu {
        Cpu {
            index,
            ncli: AtomicU32::new(0),
            intena: AtomicBool::new(false),
            locks: AtomicU32::new(0),
            apicid: AtomicU8::new(0),
            started: AtomicBool::new(false),
            stack_lo: AtomicU32::new(0),
            stack_hi: AtomicU32::new(0),
            stack_pa: AtomicU32::new(0),
        }
    }

    /// Record where this CPU's kernel stack is (for backtraces).
    pub fn set_stack(&self, stack: core::ops::Range<u32>) {
        self.stack_lo.store(stack.start, Ordering::Relaxed);
        self.stack_hi.store(stack.end, Ordering::Relaxed);
    }

    pub fn stack(&self) -> core::ops::Range<u32> {
        self.stack_lo.load(Ordering::Relaxed)..self.stack_hi.load(Ordering::Relaxed)
    }
}

static CPUS: [Cpu; NCPU] = {
    let mut cpus = [const { Cpu::new(0) }; NCPU];
    let mut i = 1;
    while i < NCPU {
        cpus[i] = Cpu::new(i);
        i += 1;
    }
    cpus
};
/// Number of CPUs in `CPUS` (xv6's `ncpu`); 0 until `set_cpus`.
static NCPUS: AtomicUsize = AtomicUsize::new(0);
/// `CPU_OF_APIC[id]` is the index of the CPU whose APIC id is `id`, or
/// NO_CPU. APIC ids are 8 bits.
static CPU_OF_APIC: [AtomicU8; 256] = [const { AtomicU8::new(NO_CPU) }; 256];
const NO_CPU: u8 = u8::MAX;

/// Fill the CPU table from the MP table's APIC ids, the boot CPU first.
/// Called once, by the boot CPU, before any other CPU starts.
pub fn set_cpus(apicids: impl Iterator<Item = u8>) {
    assert_eq!(NCPUS.load(Ordering::Relaxed), 0, "set_cpus: called twice");
    let mut n = 0;
    for (i, id) in apicids.enumerate().take(NCPU) {
        CPUS[i].apicid.store(id, Ordering::Relaxed);
        CPU_OF_APIC[usize::from(id)].store(i as u8, Ordering::Relaxed);
        n = i + 1;
    }
    assert_eq!(
        cpuid_of(apicid()),
        Some(0),
        "set_cpus: the boot CPU (APIC id {}) must come first",
        apicid()
    );
    CPUS[0].set_stack(crate::entry::boot_stack());
    CPUS[0].started.store(true, Ordering::Relaxed);
    NCPUS.store(n, Ordering::Release);
}

/// Number of CPUs the kernel knows (1 before `set_cpus`).
pub fn ncpu() -> usize {
    NCPUS.load(Ordering::Acquire).max(1)
}

/// CPU number `i`.
pub fn cpu(i: usize) -> &'static Cpu {
    &CPUS[i]
}

/// The running CPU's kernel stack (the boot stack until `set_cpus`).
pub fn kernel_stack() -> core::ops::Range<u32> {
    let stack = {
        let _pinned = crate::spinlock::NoInterrupts::new();
        mycpu().stack()
    };
    if stack.is_empty() {
        crate::entry::boot_stack()
    } else {
        stack
    }
}

/// Whether this CPU takes interrupts (EFLAGS.IF).
pub fn interrupts_enabled() -> bool {
    // SAFETY: reading EFLAGS has no side effects.
    unsafe { eflags::read() }.contains(EFlags::FLAGS_IF)
}

/// The running CPU's state. As in xv6, only meaningful with interrupts off
/// (see `cpuid`).
pub fn mycpu() -> &'static Cpu {
    &CPUS[cpuid()]
}

/// Index of the running CPU in the kernel's table (xv6's `cpuid()`). As in
/// xv6, only meaningful with interrupts off: otherwise the caller could be
/// moved to another CPU between the call and the use (there is no
/// scheduler yet, but the rule is kept), so it panics.
pub fn cpuid() -> usize {
    assert!(
        !interrupts_enabled(),
        "cpuid called with interrupts enabled"
    );
    cpuid_unchecked()
}

/// `cpuid` for a caller that has just turned interrupts off itself
/// (`pushcli`): the same load, without asking EFLAGS again.
pub fn cpuid_unchecked() -> usize {
    let index: usize;
    // SAFETY: `seginit` loaded %gs with this CPU's segment, whose base is
    // its `Cpu` (main and mpenter call it before anything takes a lock),
    // and `index`, at offset 0, never changes. The load writes nothing.
    unsafe {
        core::arch::asm!(
            "mov {index}, gs:[{offset}]",
            index = out(reg) index,
            offset = const core::mem::offset_of!(Cpu, index),
            options(nostack, readonly, preserves_flags)
        )
    };
    index
}

/// Where CPU `i`'s `%gs` segment starts and how many bytes it has: its
/// entry in `CPUS`.
pub fn segment(i: usize) -> (u32, u32) {
    let cpu = &CPUS[i];
    (cpu as *const Cpu as u32, core::mem::size_of::<Cpu>() as u32)
}

/// The running CPU's index found the slow way, by its APIC id (what
/// `seginit` uses to pick the CPU's GDT, before `%gs` points at it): 0
/// before `set_cpus`, when only the boot CPU runs. Panics on an APIC id the
/// MP table did not list.
pub fn cpuid_by_apic() -> usize {
    if NCPUS.load(Ordering::Acquire) == 0 {
        return 0;
    }
    let id = apicid();
    cpuid_of(id).unwrap_or_else(|| panic!("cpuid: APIC id {id} is not in the MP table"))
}

fn cpuid_of(apicid: u8) -> Option<usize> {
    match CPU_OF_APIC[usize::from(apicid)].load(Ordering::Relaxed) {
        NO_CPU => None,
        i => Some(usize::from(i)),
    }
}

/// The running CPU's local APIC id, as the CPUID instruction reports it:
/// the id the APIC had at reset, which the kernel never changes. It needs
/// no APIC mapping, so it works from the first instruction on.
pub fn apicid() -> u8 {
    /// CPUID leaf 1 gives the initial APIC id in bits 31..24 of EBX.
    const CPUID_FEATURES: u32 = 1;
    const EBX_APIC_ID_SHIFT: u32 = 24;
    let ebx = core::arch::x86::__cpuid(CPUID_FEATURES).ebx;
    (ebx >> EBX_APIC_ID_SHIFT) as u8
}
