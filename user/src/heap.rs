//! The heap: a bump allocator over `sbrk` (programs are short-lived; the
//! shell parses in the child it forks, so nothing piles up). Freeing the
//! last block gives its space back to the next allocation.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;

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

unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let align = layout.align();
        let mut start = (self.next.get() + align - 1) & !(align - 1);
        if start + layout.size() > self.end.get() || self.end.get() == 0 {
            let want = (layout.size() + align).max(GROW);
            let Ok(n) = i32::try_from(want) else {
                return core::ptr::null_mut();
            };
            let Some(old) = crate::sbrk(n) else {
                return core::ptr::null_mut();
            };
            // Someone else (a test) may have moved the break: start over
            // at the old break if it is not where our space ended.
            if old != self.end.get() {
                self.next.set(old);
            }
            self.end.set(old + want);
            start = (self.next.get() + align - 1) & !(align - 1);
        }
        self.next.set(start + layout.size());
        start as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ptr as usize + layout.size() == self.next.get() {
            self.next.set(ptr as usize);
        }
    }
}
