//! The two 8259A programmable interrupt controllers (xv6's picirq.c).
//!
//! The PC's device interrupts (IRQ 0-15) used to reach the CPU through a
//! master PIC (IRQ 0-7) and a slave PIC cascaded on the master's IRQ 2
//! (IRQ 8-15). They can only interrupt the boot CPU, so this kernel routes
//! device interrupts through the I/O APIC instead (`ioapic.rs`) and turns
//! the PICs off: every line masked. They are also moved off the exception
//! vectors they use at power-on (8-15), to T_IRQ0.., so that even a
//! spurious interrupt from them could never pass for a CPU exception.

use x86::io::outb;

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
const IRQ_SLAVE: u8 = 2;
/// Initialisation command word 1: edge triggered, cascaded, ICW4 follows.
const ICW1_INIT: u8 = 0x11;
/// ICW4: 8086 mode, normal (not automatic) end of interrupt.
const ICW4_8086: u8 = 0x01;

/// Move both PICs to vectors T_IRQ0..T_IRQ0+16 and mask every line.
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
        // Initialisation cleared the masks: mask every line again.
        outb(PIC1_DATA, MASK_ALL);
        outb(PIC2_DATA, MASK_ALL);
    }
}
