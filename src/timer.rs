//! The 8253 programmable interval timer (xv6's old timer.c): channel 0
//! interrupts on IRQ 0 TICKS_PER_SEC times a second; `trap` counts the ticks.

use core::sync::atomic::{AtomicU32, Ordering};

use x86::io::outb;

use crate::ioapic::ioapicenable;
use crate::traps::IRQ_TIMER;

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

static TICKS: AtomicU32 = AtomicU32::new(0);

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
