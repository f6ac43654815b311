//! The 16550's registers on COM1 and the bits the kernel uses (the 16550
//! data sheet), apart from the driver so that `boot/entry.S`, which prints
//! on the serial port before paging is on, takes them without the driver.

/// I/O port of COM1's first register.
pub(crate) const COM1: u16 = 0x3F8;
/// Register offsets from COM1 (16550 data sheet).
pub(crate) const THR: u16 = 0; // transmit holding (write)
pub(crate) const RBR: u16 = 0; // receive buffer (read)
pub(crate) const DLL: u16 = 0; // divisor latch, low byte (when LCR.DLAB is set)
pub(crate) const IER: u16 = 1; // interrupt enable
pub(crate) const DLM: u16 = 1; // divisor latch, high byte (when LCR.DLAB is set)
pub(crate) const FCR: u16 = 2; // FIFO control (write)
pub(crate) const IIR: u16 = 2; // interrupt identification (read)
pub(crate) const LCR: u16 = 3; // line control
pub(crate) const MCR: u16 = 4; // modem control
pub(crate) const LSR: u16 = 5; // line status

/// LCR: divisor latch access bit.
pub(crate) const LCR_DLAB: u8 = 0x80;
/// LCR: 8 data bits, no parity, 1 stop bit.
pub(crate) const LCR_8N1: u8 = 0x03;
/// FCR: enable and clear both FIFOs, interrupt at 14 bytes.
pub(crate) const FCR_ENABLE_CLEAR: u8 = 0xC7;
/// MCR: DTR and RTS asserted, OUT2 (routes the UART's IRQ) set.
pub(crate) const MCR_DTR_RTS_OUT2: u8 = 0x0B;
/// IER: interrupt when a received byte is ready.
pub(crate) const IER_RX_READY: u8 = 0x01;
/// LSR bit: a received byte is ready in RBR.
pub(crate) const LSR_DATA_READY: usize = 0;
/// LSR bit: the transmitter holding register is empty.
pub(crate) const LSR_THR_EMPTY: usize = 5;
/// What LSR reads as when no UART answers at COM1.
pub(crate) const LSR_ABSENT: u8 = 0xFF;
/// The UART's input clock divided by 16: divisor 1 gives this many baud.
pub(crate) const BAUD_BASE: u32 = 115_200;
/// The line speed the kernel uses.
pub(crate) const BAUD: u32 = 115_200;
/// The divisor latch's value for BAUD.
pub(crate) const DIVISOR: u16 = (BAUD_BASE / BAUD) as u16;
