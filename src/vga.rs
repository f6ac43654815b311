//! The VGA text screen (xv6's `cgaputc` in `console.c`): 80x25 cells of
//! (character, colour) at physical 0xB8000, mirroring the serial console so
//! that a QEMU or Bochs window shows the same text.

use core::ptr::NonNull;

use volatile::VolatilePtr;
use x86::io::outb;

use crate::memlayout::{PAddr, p2v};

/// Physical address of the colour text buffer.
const CGA_BUFFER: PAddr = PAddr(0xB8000);
const COLS: usize = 80;
const ROWS: usize = 25;
/// Light grey on black.
const ATTR: u16 = 0x0700;
/// CRT controller index and data ports, and the cursor-position registers.
const CRTPORT: u16 = 0x3D4;
const CRT_CURSOR_HI: u8 = 14;
const CRT_CURSOR_LO: u8 = 15;

const CELLS: usize = COLS * ROWS;

/// The screen and the cursor position (a cell index).
pub struct Vga {
    pos: usize,
}

impl Vga {
    /// Start writing at the top left, clearing the screen.
    pub fn init() -> Vga {
        let mut v = Vga { pos: 0 };
        for i in 0..CELLS {
            v.set(i, b' ');
        }
        v.update_cursor();
        v
    }

    /// The screen cell `i` (row-major).
    fn cell(i: usize) -> VolatilePtr<'static, u16> {
        assert!(i < CELLS, "vga: cell {i} is off the {COLS}x{ROWS} screen");
        let p = (p2v(CGA_BUFFER).0 as *mut u16).wrapping_add(i);
        // SAFETY: the text buffer is always mapped (KERNBASE + [0, 1 MiB) in
        // entrypgdir and in the kernel page directory), `i` is inside it, and
        // it is only written through the console lock.
        unsafe { VolatilePtr::new(NonNull::new_unchecked(p)) }
    }

    fn set(&mut self, i: usize, c: u8) {
        Self::cell(i).write(ATTR | u16::from(c));
    }

    pub fn putc(&mut self, c: u8) {
        match c {
            b'\n' => self.pos += COLS - self.pos % COLS,
            b'\r' => self.pos -= self.pos % COLS,
            0x08 => self.pos = self.pos.saturating_sub(1), // backspace
            _ => {
                self.set(self.pos, c);
                self.pos += 1;
            }
        }
        if self.pos >= CELLS {
            // Scroll up a line.
            for i in 0..CELLS - COLS {
                Self::cell(i).write(Self::cell(i + COLS).read());
            }
            for i in CELLS - COLS..CELLS {
                self.set(i, b' ');
            }
            self.pos -= COLS;
        }
        self.update_cursor();
    }

    fn update_cursor(&self) {
        // SAFETY: the CRT controller's cursor registers affect only the
        // blinking cursor.
        unsafe {
            outb(CRTPORT, CRT_CURSOR_HI);
            outb(CRTPORT + 1, (self.pos >> 8) as u8);
            outb(CRTPORT, CRT_CURSOR_LO);
            outb(CRTPORT + 1, self.pos as u8);
        }
    }
}
