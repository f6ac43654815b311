//! The 8253 programmable interval timer (xv6's old timer.c): channel 0
//! interrupts on IRQ 0 TICKS_PER_SEC times a second, on one CPU; `trap`
//! counts the ticks. The other CPUs preempt their processes with their own
//! local APIC timers at the same rate (`local_start`), measured once
//! against the PIT (`calibrate`).

use core::sync::atomic::{AtomicU32, Ordering};

use x86::io::outb;

use crate::ioapic::ioapicenable;
use crate::traps::{IRQ_LOCAL_TIMER, IRQ_TIMER, T_IRQ0};

/// The PIT's input clock, in Hz.
const PIT_HZ: u32 = 1_193_182;
/// Timer interrupts per second.
pub const TICKS_PER_SEC: u32 = 100;
/// Channel 0's data port and the mode/command port.
const PIT_CHANNEL0: u16 = 0x40;
const PIT_MODE: u16 = 0x43;
/// Mode command: channel 0, low byte then high byte, mode 2 (rate
/// generator), binary count.
const PIT_SEL0_LOHI_RATE: u8 = 0x34;

/// PIT ticks over which `calibrate` measures the APIC timer.
const CALIBRATE_TICKS: u32 = 3;

static TICKS: AtomicU32 = AtomicU32::new(0);
/// APIC timer counts per PIT tick; 0 until `calibrate` ran.
static LOCAL_COUNT: AtomicU32 = AtomicU32::new(0);

/// Start the timer at TICKS_PER_SEC and let its interrupt through.
pub fn timerinit() {
    let divisor = PIT_HZ / TICKS_PER_SEC;
    // SAFETY: programming the PIT's channel 0 only sets its rate.
    unsafe {
        outb(PIT_MODE, PIT_SEL0_LOHI_RATE);
        outb(PIT_CHANNEL0, divisor as u8);
        outb(PIT_CHANNEL0, (divisor >> 8) as u8);
    }
    ioapicenable(IRQ_TIMER, crate::cpu::apicid());
}

/// One timer interrupt (called by `trap`).
pub fn tick() {
    TICKS.fetch_add(1, Ordering::Relaxed);
}

/// Timer interrupts since `timerinit`.
pub fn ticks() -> u32 {
    TICKS.load(Ordering::Relaxed)
}

/// APIC timer counts per tick, from `elapsed` counts over `ticks` ticks;
/// None when the measure is empty.
pub fn count_per_tick(elapsed: u32, ticks: u32) -> Option<u32> {
    elapsed.checked_div(ticks).filter(|&c| c > 0)
}

/// Measure the local APIC timer's rate against the PIT (the bus clock is
/// the same on every CPU), on the CPU that takes the PIT's interrupts,
/// with interrupts on: it waits for CALIBRATE_TICKS + 1 ticks.
pub fn calibrate() {
    assert!(
        crate::cpu::interrupts_enabled(),
        "timer::calibrate: the PIT's ticks need interrupts on"
    );
    let wait_tick = || {
        let t = ticks();
        while ticks() == t {
            core::hint::spin_loop();
        }
    };
    wait_tick();
    crate::lapic::timer_measure_start();
    let start = ticks();
    while ticks().wrapping_sub(start) < CALIBRATE_TICKS {
        core::hint::spin_loop();
    }
    let elapsed = crate::lapic::timer_elapsed();
    let count = count_per_tick(elapsed, CALIBRATE_TICKS).unwrap_or_else(|| {
        panic!("timer::calibrate: the APIC timer counted {elapsed} over {CALIBRATE_TICKS} ticks")
    });
    LOCAL_COUNT.store(count, Ordering::Release);
}

/// Start the running CPU's local APIC timer at TICKS_PER_SEC, on vector
/// IRQ_LOCAL_TIMER (called by a CPU other than the PIT's before it
/// schedules processes).
pub fn local_start() {
    let count = LOCAL_COUNT.load(Ordering::Acquire);
    assert!(
        count > 0,
        "timer::local_start: the APIC timer was not calibrated"
    );
    crate::lapic::timer_periodic(T_IRQ0 + u32::from(IRQ_LOCAL_TIMER), count);
}
