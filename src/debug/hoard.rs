//! Pages held out of the allocator for a while, by tests and the bench:
//! chained through their own first word (each holds the next one's kernel
//! VA; 0 ends the chain), so holding any number of them needs no memory
//! of its own.

use crate::kalloc::{self, Page, kalloc, kfree_addr};
use crate::memlayout::{KERNBASE, VAddr};

/// Give back pages chained through their first word (a kernel VA, 0 ends).
pub fn refill(mut head: u32) {
    while head != 0 {
        // SAFETY: `head` is a page the caller allocated and chained.
        let next = unsafe { (head as *const u32).read() };
        // SAFETY: the caller owns the page and gives it up.
        unsafe { kfree_addr(VAddr(head)) };
        head = next;
    }
}

/// Keep an allocated page on a chain through its first word (the page's
/// kernel VA; 0 ends it) for `refill`; returns the new head.
pub fn chain(mut p: Page, head: u32) -> u32 {
    p.bytes()[..4].copy_from_slice(&head.to_le_bytes());
    p.into_pa().0 + KERNBASE.0
}

/// Allocate until only `keep` pages are free, chaining them for `refill`.
pub fn drain_to(keep: usize) -> u32 {
    let mut head: u32 = 0;
    while kalloc::nfree() > keep {
        head = chain(kalloc().expect("pages are left"), head);
    }
    head
}
