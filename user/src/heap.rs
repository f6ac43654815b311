//! The heap: a bump allocator over `sbrk` (programs are short-lived; the
//! shell parses in the child it forks, so nothing piles up). Freeing the
//! last block gives its space back to the next allocation.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;

use crate::mmu::PGSIZE;

/// Bytes asked of the kernel at least, per growth.
const GROW: usize = 16 * 1024;

/// `[next, end)` is the space left; a process has one thread.
struct Bump {
    next: Cell<usize>,
    end: Cell<usize>,
}

// SAFETY: a user process has one thread, so the cells are never shared.
unsafe impl Sync for Bump {}

#[global_allocator]
static HEAP: Bump = Bump {
    next: Cell::new(0),
    end: Cell::new(0),
};

// SAFETY: alloc returns null or a block of the layout's size and alignment
// that no other live block overlaps (blocks are handed out in order from
// memory sbrk gave this process; only the last one is ever taken back).
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let align = layout.align();
        let fits = |next: usize, end: usize| {
            let start = next.checked_next_multiple_of(align)?;
            let stop = start.checked_add(layout.size())?;
            (end != 0 && stop <= end).then_some(start)
        };
        let start = match fits(self.next.get(), self.end.get()) {
            Some(start) => start,
            None => {
                // Whole pages, so that the break stays page-aligned.
                let want = layout
                    .size()
                    .saturating_add(align)
                    .max(GROW)
                    .next_multiple_of(PGSIZE);
                let Some(old) = i32::try_from(want).ok().and_then(crate::sbrk) else {
                    return core::ptr::null_mut();
                };
                // Someone else (a test) may have moved the break: start
                // over at the old break if our space did not end there.
                if old != self.end.get() {
                    self.next.set(old);
                }
                self.end.set(old + want);
                match fits(self.next.get(), self.end.get()) {
                    Some(start) => start,
                    None => return core::ptr::null_mut(),
                }
            }
        };
        self.next.set(start + layout.size());
        start as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ptr as usize + layout.size() == self.next.get() {
            self.next.set(ptr as usize);
        }
    }
}
