//! The console (xv6's `console.c`): `print!`/`println!` write every byte to
//! the serial port and mirror it on the VGA screen; `panic!` ends up here too.

use core::fmt::{self, Write};

use spin::Mutex;

use crate::uart::Uart;
use crate::vga::Vga;

/// Both output devices, behind one lock so lines from different places do
/// not interleave.
pub struct Console {
    uart: Uart,
    vga: Vga,
}

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                self.uart.putc(b'\r');
            }
            self.uart.putc(b);
            self.vga.putc(b);
        }
        Ok(())
    }
}

static CONSOLE: Mutex<Option<Console>> = Mutex::new(None);

/// Initialise the serial port and the screen (xv6's `consoleinit` and
/// `uartinit`). Printing before this prints nothing.
pub fn consoleinit() {
    *CONSOLE.lock() = Some(Console {
        uart: Uart::init(),
        vga: Vga::init(),
    });
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments) {
    if let Some(c) = CONSOLE.lock().as_mut() {
        let _ = c.write_fmt(args);
    }
}

/// Print on the console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => ($crate::console::_print(format_args!($($arg)*)));
}

/// Print a line on the console.
#[macro_export]
macro_rules! println {
    () => ($crate::print!("\n"));
    ($($arg:tt)*) => ($crate::print!("{}\n", format_args!($($arg)*)));
}

/// Print for a panic: takes the console even if someone holds its lock (the
/// holder may be the code that panicked) and initialises it if need be.
pub fn panic_print(args: fmt::Arguments) {
    if CONSOLE.is_locked() {
        // SAFETY: the kernel runs on one CPU with interrupts off, so the
        // holder is this very CPU, deeper in the stack, and it will never
        // run again: the machine stops after the panic message.
        unsafe { CONSOLE.force_unlock() };
    }
    let mut guard = CONSOLE.lock();
    let console = guard.get_or_insert_with(|| Console {
        uart: Uart::init(),
        vga: Vga::init(),
    });
    let _ = console.write_fmt(args);
}
