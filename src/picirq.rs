//! The two 8259A programmable interrupt controllers (xv6's old picirq.c).
//!
//! The PC's device interrupts (IRQ 0-15) reach the CPU through a master PIC
//! (IRQ 0-7) and a slave PIC cascaded on the master's IRQ 2 (IRQ 8-15). At
//! power-on they deliver IRQ 0-7 on vectors 8-15, the CPU's own exception
//! vectors, so `picinit` moves them to T_IRQ0.. and masks every line; a
//! driver unmasks its own with `picenable`. The kernel acknowledges each
//! interrupt with `piceoi` once handled.

use core::sync::atomic::{AtomicU16, Ordering};

use x86::io::{inb, outb};

use crate::traps::T_IRQ0;

/// Command and data (mask) ports of the master and the slave.
const PIC1_CMD: u16 = 0x20;
const PIC1_DATA: u16 = 0x21;
const PIC2_CMD: u16 = 0xA0;
const PIC2_DATA: u16 = 0xA1;

/// Lines per PIC: the slave's IRQs are 8..16.
const IRQS_PER_PIC: u8 = 8;
/// A mask register value that masks all of a PIC's lines.
const MASK_ALL: u8 = 0xFF;
/// The master input the slave is wired to.
pub const IRQ_SLAVE: u8 = 2;
/// Initialisation command word 1: edge triggered, cascaded, ICW4 follows.
const ICW1_INIT: u8 = 0x11;
/// ICW4: 8086 mode, normal (not automatic) end of interrupt.
const ICW4_8086: u8 = 0x01;
/// Operation command word 2: non-specific end of interrupt.
const OCW2_EOI: u8 = 0x20;
/// OCW3: the next read of the command port returns the in-service register.
const OCW3_READ_ISR: u8 = 0x0B;
/// The lowest-priority line of each PIC, where spurious interrupts show up.
const IRQ_SPURIOUS_MASTER: u8 = 7;
const IRQ_SPURIOUS_SLAVE: u8 = 15;

/// Lines masked (1) or enabled (0): all masked but the cascade line.
static MASK: AtomicU16 = AtomicU16::new(!(1 << IRQ_SLAVE));

fn write_mask(mask: u16) {
    // SAFETY: writing the PICs' mask registers only changes which lines
    // reach the CPU.
    unsafe {
        outb(PIC1_DATA, mask as u8);
        outb(PIC2_DATA, (mask >> 8) as u8);
    }
}

/// Remap both PICs to vectors T_IRQ0..T_IRQ0+16, every line masked.
pub fn picinit() {
    // SAFETY: the PIC initialisation sequence (8259A data sheet); interrupts
    // are off, so nothing is delivered halfway through.
    unsafe {
        outb(PIC1_DATA, MASK_ALL); // mask everything while reprogramming
        outb(PIC2_DATA, MASK_ALL);
        outb(PIC1_CMD, ICW1_INIT);
        outb(PIC1_DATA, T_IRQ0 as u8); // ICW2: master's first vector
        outb(PIC1_DATA, 1 << IRQ_SLAVE); // ICW3: slave on IRQ 2
        outb(PIC1_DATA, ICW4_8086);
        outb(PIC2_CMD, ICW1_INIT);
        outb(PIC2_DATA, T_IRQ0 as u8 + IRQS_PER_PIC); // ICW2: slave's first vector
        outb(PIC2_DATA, IRQ_SLAVE); // ICW3: the slave's cascade identity
        outb(PIC2_DATA, ICW4_8086);
    }
    write_mask(MASK.load(Ordering::Relaxed));
}

/// Let IRQ `irq` through to the CPU.
pub fn picenable(irq: u8) {
    let mask = MASK.fetch_and(!(1 << irq), Ordering::Relaxed) & !(1 << irq);
    write_mask(mask);
}

/// Tell the PIC(s) the interrupt on `irq` has been handled.
pub fn piceoi(irq: u8) {
    // SAFETY: an end-of-interrupt command only clears the in-service bit.
    unsafe {
        if irq >= IRQS_PER_PIC {
            outb(PIC2_CMD, OCW2_EOI);
        }
        outb(PIC1_CMD, OCW2_EOI);
    }
}

/// Whether an interrupt on `irq` is spurious: a line that was raised and
/// dropped before the CPU acknowledged it makes the PIC report its lowest
/// priority line (7 or 15) without marking it in service. A spurious IRQ 7
/// needs no EOI; a spurious IRQ 15 needs one for the master only.
pub fn spurious(irq: u8) -> bool {
    let (cmd, bit) = match irq {
        IRQ_SPURIOUS_MASTER => (PIC1_CMD, IRQ_SPURIOUS_MASTER),
        IRQ_SPURIOUS_SLAVE => (PIC2_CMD, IRQ_SPURIOUS_SLAVE - IRQS_PER_PIC),
        _ => return false,
    };
    // SAFETY: selecting and reading the in-service register has no other
    // effect.
    let isr = unsafe {
        outb(cmd, OCW3_READ_ISR);
        inb(cmd)
    };
    if isr & (1 << bit) != 0 {
        return false;
    }
    if irq == IRQ_SPURIOUS_SLAVE {
        // SAFETY: as in piceoi; the master did see the cascade line.
        unsafe { outb(PIC1_CMD, OCW2_EOI) };
    }
    true
}
