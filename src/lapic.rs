//! The local APIC (xv6's `lapic.c`): each CPU's own interrupt controller.
//! It takes interrupts from the I/O APIC and from other CPUs, and sends
//! inter-processor interrupts (IPIs): INIT and STARTUP to start a CPU, a
//! fixed vector to wake one, an NMI to stop one.
//!
//! Its registers are 32-bit words in one 4 KiB page of physical memory
//! (0xFEE00000 on PCs, from the MP table), which the kernel maps 1:1 in
//! DEVSPACE. Every CPU sees its own APIC at that same address.

use core::sync::atomic::{AtomicU32, Ordering};

use x86::io::{inb, outb};

use crate::memlayout::{DEVSPACE, PARAGRAPH, PAddr, WARM_RESET_VECTOR, p2v};
use crate::traps::{IRQ_ERROR, IRQ_SPURIOUS, T_IRQ0};

/// Register offsets, in bytes (Intel SDM vol. 3, table 11-1).
const ID: u32 = 0x020;
const VER: u32 = 0x030;
const TPR: u32 = 0x080;
const EOI: u32 = 0x0B0;
const SVR: u32 = 0x0F0;
const ESR: u32 = 0x280;
const ICRLO: u32 = 0x300;
const ICRHI: u32 = 0x310;
const TIMER: u32 = 0x320;
const PCINT: u32 = 0x340;
const LINT0: u32 = 0x350;
const LINT1: u32 = 0x360;
const ERROR: u32 = 0x370;
const TICR: u32 = 0x380;
const TCCR: u32 = 0x390;
const TDCR: u32 = 0x3E0;

/// SVR: software enable.
const SVR_ENABLE: u32 = 0x100;
/// Local vector table entries: masked.
const LVT_MASKED: u32 = 0x1_0000;
/// Timer LVT entry: periodic (re-arms itself from TICR).
const TIMER_PERIODIC: u32 = 0x2_0000;
/// TDCR: the timer counts the bus clock divided by 1.
const TDCR_X1: u32 = 0xB;
/// Version register: bits 23..16 hold the highest LVT entry's index; the
/// performance-counter entry exists from index 4.
const VER_MAXLVT_SHIFT: u32 = 16;
const VER_MAXLVT_MASK: u32 = 0xFF;
const MAXLVT_WITH_PCINT: u32 = 4;

/// Interrupt command register (ICR) fields.
const ICR_FIXED: u32 = 0x000;
const ICR_NMI: u32 = 0x400;
const ICR_INIT: u32 = 0x500;
const ICR_STARTUP: u32 = 0x600;
/// The previous IPI is still being sent.
const ICR_DELIVS: u32 = 0x1000;
const ICR_ASSERT: u32 = 0x4000;
const ICR_DEASSERT: u32 = 0x0000;
const ICR_LEVEL: u32 = 0x8000;
/// Destination shorthand: every CPU but the sender.
const ICR_ALL_BUT_SELF: u32 = 0xC_0000;
/// ICRHI: the destination APIC id's position.
const ICRHI_DEST_SHIFT: u32 = 24;
/// A STARTUP IPI names the page the CPU starts in by its page number.
const STARTUP_PAGE_SHIFT: u32 = 12;

/// CMOS RAM: index and data ports, and the shutdown-status byte, which
/// set to "warm reset" makes a CPU that is reset by INIT jump through the
/// warm-reset vector at 40:67 (MP spec B.4, the "universal startup").
const CMOS_INDEX: u16 = 0x70;
const CMOS_DATA: u16 = 0x71;
const CMOS_SHUTDOWN_STATUS: u8 = 0x0F;
const CMOS_WARM_RESET: u8 = 0x0A;
/// An unused port: each read of it takes about a microsecond on a PC's bus.
const DELAY_PORT: u16 = 0x80;

/// Physical (= virtual, in DEVSPACE) address of the registers; 0 until
/// `lapicinit` runs.
static LAPIC: AtomicU32 = AtomicU32::new(0);

fn reg(offset: u32) -> *mut u32 {
    let base = LAPIC.load(Ordering::Relaxed);
    assert_ne!(base, 0, "lapic: register {offset:#x} used before lapicinit");
    (base + offset) as *mut u32
}

fn read(offset: u32) -> u32 {
    // SAFETY: `reg` gives an aligned register of the APIC page, which
    // kvmalloc maps 1:1 in DEVSPACE; reading has no side effects.
    unsafe { reg(offset).read_volatile() }
}

fn write(offset: u32, value: u32) {
    // SAFETY: as in `read`. Every register written here is one this module
    // programs on purpose.
    unsafe { reg(offset).write_volatile(value) };
    // Read something back: the write has reached the APIC (xv6 reads ID).
    read(ID);
}

/// The registers' physical address, as the boot CPU's `lapicinit` set it.
pub fn base() -> PAddr {
    PAddr(LAPIC.load(Ordering::Relaxed))
}

/// Whether the local APICs are set up (interrupts come through them).
pub fn lapic_ready() -> bool {
    LAPIC.load(Ordering::Relaxed) != 0
}

/// Set up the running CPU's local APIC (xv6's `lapicinit`): enabled, with
/// spurious and error vectors, every local source masked (the kernel's
/// clock is the PIT, which comes through the I/O APIC; the other CPUs'
/// timers start only when they schedule processes, `timer::local_start`),
/// and no IRQ priority threshold.
pub fn lapicinit(base: PAddr) {
    assert!(
        base.0 >= DEVSPACE.0,
        "lapicinit: the local APIC at {:#010x} is below DEVSPACE {:#010x}, which the kernel maps 1:1",
        base.0,
        DEVSPACE.0
    );
    LAPIC.store(base.0, Ordering::Relaxed);
    write(SVR, SVR_ENABLE | (T_IRQ0 + u32::from(IRQ_SPURIOUS)));
    write(TIMER, LVT_MASKED);
    write(LINT0, LVT_MASKED);
    write(LINT1, LVT_MASKED);
    if (read(VER) >> VER_MAXLVT_SHIFT) & VER_MAXLVT_MASK >= MAXLVT_WITH_PCINT {
        write(PCINT, LVT_MASKED);
    }
    write(ERROR, T_IRQ0 + u32::from(IRQ_ERROR));
    // The error status register must be written twice to clear it.
    write(ESR, 0);
    write(ESR, 0);
    // Acknowledge anything left over, and take every interrupt priority.
    write(EOI, 0);
    write(TPR, 0);
}

/// Start the running CPU's APIC timer counting down from `u32::MAX`, with
/// its interrupt masked: `timer_elapsed` then says how far it got (to
/// measure the timer's rate against the PIT).
pub fn timer_measure_start() {
    write(TDCR, TDCR_X1);
    write(TIMER, LVT_MASKED);
    write(TICR, u32::MAX);
}

/// Counts the APIC timer went down since `timer_measure_start`.
pub fn timer_elapsed() -> u32 {
    u32::MAX - read(TCCR)
}

/// Interrupt the running CPU on `vector` every `count` bus clocks.
pub fn timer_periodic(vector: u32, count: u32) {
    assert!(count > 0, "lapic: a periodic timer needs a count above 0");
    write(TDCR, TDCR_X1);
    write(TIMER, TIMER_PERIODIC | vector);
    write(TICR, count);
}

/// Tell the APIC the current interrupt has been handled.
pub fn lapiceoi() {
    write(EOI, 0);
}

/// Wait about `us` microseconds (each read of port 0x80 takes about one
/// on a PC; emulators need no real delay, so this costs them little).
pub fn microdelay(us: u32) {
    for _ in 0..us {
        // SAFETY: port 0x80 is the POST code port: reading it does nothing.
        unsafe { inb(DELAY_PORT) };
    }
}

/// Send an IPI and wait until the APIC has sent it.
fn send_ipi(dest: u8, command: u32) {
    write(ICRHI, u32::from(dest) << ICRHI_DEST_SHIFT);
    write(ICRLO, command);
    while read(ICRLO) & ICR_DELIVS != 0 {
        core::hint::spin_loop();
    }
}

/// Start the CPU with APIC id `apicid` at `addr` (a page below 1 MiB),
/// in real mode (xv6's `lapicstartap`): the MP spec's universal algorithm,
/// INIT then two STARTUPs.
pub fn lapicstartap(apicid: u8, addr: PAddr) {
    // SAFETY: the CMOS shutdown byte and the warm-reset vector are read by
    // the BIOS only after a reset; pointing them at `addr` is what the MP
    // spec asks before INIT. The vector is in the BIOS data area, which the
    // kernel maps at P2V and never allocates.
    unsafe {
        outb(CMOS_INDEX, CMOS_SHUTDOWN_STATUS);
        outb(CMOS_DATA, CMOS_WARM_RESET);
        let vector = p2v(WARM_RESET_VECTOR).0 as *mut u16;
        vector.write_volatile(0);
        vector.add(1).write_volatile((addr.0 / PARAGRAPH) as u16);
    }
    send_ipi(apicid, ICR_INIT | ICR_LEVEL | ICR_ASSERT);
    microdelay(200);
    send_ipi(apicid, ICR_INIT | ICR_LEVEL | ICR_DEASSERT);
    microdelay(100);
    // Intel's algorithm sends STARTUP twice: an old APIC may miss the first.
    for _ in 0..2 {
        send_ipi(apicid, ICR_STARTUP | (addr.0 >> STARTUP_PAGE_SHIFT));
        microdelay(200);
    }
}

/// Interrupt every other CPU on `vector`.
pub fn ipi_others(vector: u32) {
    send_ipi(0, ICR_ALL_BUT_SELF | ICR_FIXED | vector);
}

/// Send every other CPU that has started a non-maskable interrupt (a panic
/// stops them so). A CPU that never started is left alone: it still waits
/// for its STARTUP IPI, and an NMI there runs the BIOS's code, which resets
/// the whole machine (a panic in `startothers` showed it).
pub fn nmi_others() {
    let me = crate::cpu::apicid();
    for i in 0..crate::cpu::ncpu() {
        let c = crate::cpu::cpu(i);
        let apicid = c.apicid.load(Ordering::Relaxed);
        if c.started.load(Ordering::Acquire) && apicid != me {
            send_ipi(apicid, ICR_NMI);
        }
    }
}
