//! The 16550 serial port on COM1 (xv6's `uart.c`): the console QEMU and Bochs
//! show on their standard output or in a file, and the one the tests read.
//!
//! Output is polled: before each byte the driver waits until the transmitter
//! holding register is empty. Without that wait, and without the 8N1 line
//! set-up below, Bochs garbles the output. Input is interrupt driven: each
//! received byte raises IRQ 4 and `uartintr` hands it to the console.

use bit_field::BitField;
use x86::io::{inb, outb};

use crate::ioapic::ioapicenable;
use crate::traps::IRQ_COM1;

pub(crate) mod regs;
use regs::{
    COM1, DIVISOR, DLL, DLM, FCR, FCR_ENABLE_CLEAR, IER, IER_RX_READY, IIR, LCR, LCR_8N1, LCR_DLAB,
    LSR, LSR_ABSENT, LSR_DATA_READY, LSR_THR_EMPTY, MCR, MCR_DTR_RTS_OUT2, RBR, THR,
};

/// Polls of LSR before a byte is sent anyway (as xv6: never hang the kernel
/// on a stuck UART).
const MAX_POLLS: u32 = 100_000;

/// COM1, once initialised.
pub struct Uart {
    present: bool,
}

impl Uart {
    /// Initialise COM1: BAUD, 8N1, FIFOs on, no interrupts yet.
    pub fn init() -> Uart {
        let divisor = DIVISOR;
        // SAFETY: COM1's registers are I/O ports with no memory effects; the
        // kernel owns the UART (single boot CPU, interrupts off).
        unsafe {
            outb(COM1 + IER, 0);
            outb(COM1 + LCR, LCR_DLAB);
            outb(COM1 + DLL, divisor as u8);
            outb(COM1 + DLM, (divisor >> 8) as u8);
            outb(COM1 + LCR, LCR_8N1);
            outb(COM1 + FCR, FCR_ENABLE_CLEAR);
            outb(COM1 + MCR, MCR_DTR_RTS_OUT2);
        }
        // SAFETY: reading the line status register has no side effects.
        let present = unsafe { inb(COM1 + LSR) } != LSR_ABSENT;
        Uart { present }
    }

    /// Send one byte, waiting for the transmitter first.
    pub fn putc(&mut self, byte: u8) {
        if !self.present {
            return;
        }
        for _ in 0..MAX_POLLS {
            // SAFETY: reading LSR has no side effects.
            if unsafe { inb(COM1 + LSR) }.get_bit(LSR_THR_EMPTY) {
                break;
            }
            core::hint::spin_loop();
        }
        // SAFETY: writing THR sends the byte; nothing else uses the port.
        unsafe { outb(COM1 + THR, byte) };
    }
}

/// Let received bytes interrupt (xv6's second half of `uartinit`).
pub fn uartinit_interrupts() {
    // SAFETY: reading IIR and RBR acknowledges whatever the UART had
    // pending from before; writing IER only selects interrupt sources.
    unsafe {
        inb(COM1 + IIR);
        inb(COM1 + RBR);
    }
    set_rx_interrupt(true);
    ioapicenable(IRQ_COM1, crate::cpu::apicid());
}

/// Turn the receive interrupt on or off. The console turns it off while its
/// buffer is full: the bytes then wait in the UART, and QEMU stops reading
/// its standard input until the monitor has read a line.
pub fn set_rx_interrupt(on: bool) {
    // SAFETY: IER only selects the UART's interrupt sources. On a 16550,
    // enabling the receive interrupt with a byte already waiting raises the
    // interrupt at once, so nothing is left behind.
    unsafe { outb(COM1 + IER, if on { IER_RX_READY } else { 0 }) };
}

/// The next received byte, if one is ready.
pub fn uartgetc() -> Option<u8> {
    // SAFETY: reading LSR has no side effects.
    let lsr = unsafe { inb(COM1 + LSR) };
    if lsr == LSR_ABSENT || !lsr.get_bit(LSR_DATA_READY) {
        return None;
    }
    // SAFETY: reading RBR takes the byte LSR says is there.
    Some(unsafe { inb(COM1 + RBR) })
}

/// The serial interrupt: pass every received byte to the console, or stop
/// receiving while the console is full.
pub fn uartintr() {
    if !crate::console::consoleintr(uartgetc) {
        set_rx_interrupt(false);
    }
}
