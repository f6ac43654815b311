//! The console (xv6's `console.c`): `print!`/`println!` write every byte to
//! the serial port and mirror it on the VGA screen; `panic!` ends up here
//! too. Input comes from the serial port and the PS/2 keyboard, through the
//! line editor in `input.rs`; `readline` hands the monitor whole lines.

use core::fmt::{self, Write};

use crate::input::{Echo, INPUT_BUF, Input, Line};
use crate::protocol::CTRL_P; // print the process table (xv6's procdump)
use crate::spinlock::Spinlock;
// console, uart and kbd import each other, as in xv6: the console drives
// the devices, and their interrupts hand each byte back to `consoleintr`.
// One of the two import circles the kernel keeps on purpose
// (tests/circles.rs).
use crate::uart::Uart;
use crate::vga::Vga;

/// Both output devices, behind one lock so lines from different places do
/// not interleave.
pub struct Console {
    uart: Uart,
    vga: Vga,
    /// Whether the last byte written ended a line (`print_lines` starts
    /// on a line of its own).
    at_line_start: bool,
}

impl Console {
    fn new() -> Console {
        Console {
            uart: Uart::init(),
            vga: Vga::init(),
            at_line_start: true,
        }
    }

    fn putc(&mut self, b: u8) {
        if b == b'\n' {
            self.uart.putc(b'\r');
        }
        self.uart.putc(b);
        self.vga.putc(b);
        self.at_line_start = b == b'\n';
    }
}

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        s.bytes().for_each(|b| self.putc(b));
        Ok(())
    }
}

static CONSOLE: Spinlock<Option<Console>> = Spinlock::new(crate::lockorder::CONSOLE, None);
static INPUT: Spinlock<Input> = Spinlock::new(crate::lockorder::INPUT, Input::new());

/// Initialise the serial port and the screen (xv6's `consoleinit` and
/// `uartinit`). Printing before this prints nothing.
/// The statistics of the console's locks.
pub fn lock_stats(mut f: impl FnMut(crate::spinlock::LockStats)) {
    f(CONSOLE.stats());
    f(INPUT.stats());
}

pub fn consoleinit() {
    *CONSOLE.lock() = Some(Console::new());
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments) {
    if let Some(c) = CONSOLE.lock().as_mut() {
        let _ = c.write_fmt(args);
    }
}

/// Print lines that belong together (Ctrl-P's table) under one hold of
/// the console, so that no other output comes between them, starting on
/// a line of their own if the console is in the middle of one (the
/// shell's `$ `, a process's unfinished line).
pub fn print_lines(lines: impl FnOnce(&mut dyn Write) -> fmt::Result) {
    if let Some(c) = CONSOLE.lock().as_mut() {
        if !c.at_line_start {
            c.putc(b'\n');
        }
        let _ = lines(c);
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

/// Print for a panic: takes the console even if this CPU holds its lock
/// (the code that panicked may be inside `println!`) or another CPU that
/// the panic stopped holds it, and initialises it if need be.
pub fn panic_print(args: fmt::Arguments) {
    let write = |console: &mut Option<Console>| {
        let _ = console.get_or_insert_with(Console::new).write_fmt(args);
    };
    /// How long a panic waits for another CPU to finish its line.
    const PANIC_WAIT_SPINS: u32 = 10_000_000;
    if CONSOLE.holding() {
        // SAFETY: the holder is this CPU, deeper in the stack, and it will
        // never run again: the machine stops after the panic message.
        write(unsafe { CONSOLE.get_unchecked() });
    } else if let Some(mut console) = CONSOLE.try_lock_within(PANIC_WAIT_SPINS) {
        write(&mut console);
    } else {
        // SAFETY: another CPU holds the console and did not let go: the
        // panic's NMI stopped it for good, in the middle of a line.
        write(unsafe { CONSOLE.get_unchecked() });
    }
}

/// Take the bytes `getc` gives (a device's received input) into the line
/// editor and echo them (xv6's `consoleintr`). Called from the serial and
/// keyboard interrupts. Returns false if it stopped because the buffer is
/// full: the driver should then stop reading until `readline` makes room.
pub fn consoleintr(mut getc: impl FnMut() -> Option<u8>) -> bool {
    let mut dump = false;
    let more = loop {
        let mut input = INPUT.lock();
        if !input.accepts_more() {
            break false;
        }
        let Some(c) = getc() else {
            break true;
        };
        if c == CTRL_P && crate::proc::started() {
            dump = true;
            continue;
        }
        // Echoed under the line editor's lock, so that the screen shows
        // the bytes in the order the editor took them.
        match input.push(c) {
            Echo::Nothing => {}
            Echo::Byte(b) => self::echo(&[b]),
            Echo::Erase(n) => (0..n).for_each(|_| self::echo(b"\x08 \x08")),
        }
    };
    // A process may wait for a line (consoleread).
    crate::proc::wakeup(input_chan());
    if dump {
        crate::proc::procdump();
    }
    more
}

/// What a process waiting for console input sleeps on.
fn input_chan() -> usize {
    &INPUT as *const _ as usize
}

/// The rest of a line a process's `read` did not take.
struct Pending {
    buf: [u8; INPUT_BUF + 1],
    at: usize,
    end: usize,
}

static PENDING: Spinlock<Pending> = Spinlock::new(
    crate::lockorder::PENDING,
    Pending {
        buf: [0; INPUT_BUF + 1],
        at: 0,
        end: 0,
    },
);

/// Hand the pending bytes to `dst`; how many.
fn take_pending(dst: &mut [u8]) -> usize {
    let mut p = PENDING.lock();
    let n = (p.end - p.at).min(dst.len());
    dst[..n].copy_from_slice(&p.buf[p.at..p.at + n]);
    p.at += n;
    n
}

/// A process reads the console (xv6's `consoleread`): up to `dst.len()`
/// bytes of the next line, its newline included, sleeping until a line is
/// committed; 0 once for Ctrl-D on an empty line; `None` if the reader is
/// killed while waiting.
pub fn consoleread(dst: &mut [u8]) -> Option<usize> {
    if dst.is_empty() {
        return Some(0);
    }
    let n = take_pending(dst);
    if n > 0 {
        return Some(n);
    }
    let mut input = INPUT.lock();
    loop {
        let mut line = [0u8; INPUT_BUF + 1];
        if let Some(taken) = input.take_line(&mut line[..INPUT_BUF]) {
            if taken == Line::End {
                input.forget_end();
            }
            drop(input);
            crate::uart::set_rx_interrupt(true);
            crate::kbd::kbdintr();
            match taken {
                Line::Text { len, echo_from } => {
                    if echo_from <= len {
                        echo(&line[echo_from..len]);
                        echo(b"\n");
                    }
                    line[len] = b'\n';
                    let mut p = PENDING.lock();
                    p.buf[..=len].copy_from_slice(&line[..=len]);
                    (p.at, p.end) = (0, len + 1);
                    drop(p);
                    return Some(take_pending(dst));
                }
                Line::TooLong { echo_newline } => {
                    if echo_newline {
                        echo(b"\n");
                    }
                }
                Line::End => return Some(0),
                Line::HostEnd => {
                    println!("console: the input ended for good (Ctrl-\\): powering off");
                    crate::machine::poweroff()
                }
            }
            input = INPUT.lock();
            continue;
        }
        if crate::proc::killed() {
            return None;
        }
        let mut ahead = [0u8; INPUT_BUF];
        let n = input.listen(&mut ahead);
        // Shown before the line editor is unlocked: from now on the
        // interrupt echoes each new byte at once, and it must come after
        // these (else `echo hel` + `lo\n` shows as `lo` + newline + `echo hel`).
        echo(&ahead[..n]);
        input = crate::proc::sleep(input_chan(), &INPUT, input);
    }
}

/// A process writes to the console (xv6's `consolewrite`): every byte.
pub fn consolewrite(src: &[u8]) -> usize {
    if let Some(console) = CONSOLE.lock().as_mut() {
        src.iter().for_each(|&b| console.putc(b));
    }
    src.len()
}

/// Show `bytes` that were typed ahead, as they would have been echoed.
fn echo(bytes: &[u8]) {
    if let Some(console) = CONSOLE.lock().as_mut() {
        bytes.iter().for_each(|&b| console.putc(b));
    }
}

/// A line longer than the input buffer: refused whole (`readline`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineTooLong;

/// Wait for a line of input and copy it into `buf` (cut to its length);
/// returns its length, `Err` for a line too long for the input buffer, or
/// `None` at the end of the input (Ctrl-D).
/// Sleeps (`hlt`) while there is nothing to read, so interrupts must be on
/// and no spin lock held. Input typed while nobody was reading is echoed
/// now, after the caller's prompt.
pub fn readline(buf: &mut [u8]) -> Option<Result<usize, LineTooLong>> {
    loop {
        // Interrupts off between the check and `hlt`, or a line finished
        // just after the check would not wake us.
        // SAFETY: turning interrupts off cannot break memory safety.
        unsafe { x86::irq::disable() };
        let mut input = INPUT.lock();
        if let Some(line) = input.take_line(buf) {
            drop(input);
            // A line was taken, so there is room again: the drivers may read
            // whatever they held back while the buffer was full.
            crate::uart::set_rx_interrupt(true);
            crate::kbd::kbdintr();
            // SAFETY: the caller holds no spin lock (the documented rule).
            unsafe { x86::irq::enable() };
            return match line {
                Line::Text { len, echo_from } => {
                    if echo_from <= len {
                        echo(&buf[echo_from..len]);
                        echo(b"\n");
                    }
                    Some(Ok(len))
                }
                Line::TooLong { echo_newline } => {
                    if echo_newline {
                        echo(b"\n");
                    }
                    Some(Err(LineTooLong))
                }
                Line::End | Line::HostEnd => None,
            };
        }
        let mut ahead = [0u8; INPUT_BUF];
        let n = input.listen(&mut ahead);
        // Shown before unlocking, as in `consoleread`.
        echo(&ahead[..n]);
        drop(input);
        // `sti` takes effect after the next instruction, so no interrupt
        // comes between it and `hlt`: one that arrives wakes `hlt` up.
        // SAFETY: waiting for an interrupt with interrupts on.
        unsafe { core::arch::asm!("sti", "hlt", options(nomem, nostack)) };
    }
}
