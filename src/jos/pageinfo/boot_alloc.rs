//! JOS's `boot_alloc`: before the free list exists, memory right after the
//! kernel image, taken by moving a pointer up, whole pages at a time, and
//! never given back. The page counts are its only customer.

use core::fmt;

use crate::memlayout::VAddr;
use crate::mmu::PageStep;

/// `boot_alloc` could not fit a request below its limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootAllocError {
    pub bytes: u32,
    pub next: VAddr,
    pub limit: VAddr,
}

impl fmt::Display for BootAllocError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "boot_alloc: no {:#x} bytes left from {:#010x} up to the limit {:#010x}",
            self.bytes, self.next.0, self.limit.0
        )
    }
}

/// The bump allocator: the next free page, and where its memory ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootAlloc {
    next: VAddr,
    limit: VAddr,
}

impl BootAlloc {
    /// Take memory from the first page boundary at or above `end` (the end
    /// of the kernel image) up to `limit` (the end of what is mapped).
    pub fn new(end: VAddr, limit: VAddr) -> Self {
        BootAlloc {
            next: end.page_up().unwrap_or(limit),
            limit,
        }
    }

    /// `bytes` bytes at the next free page boundary; the allocator moves on
    /// to the page boundary after them. `alloc(0)` says where the next
    /// allocation would start, taking nothing. Refuses, changing nothing,
    /// when they do not fit below the limit. (GRUB leaves nothing in the
    /// image's 4 MiB: linker.ld claims them, so there is nothing to skip.)
    pub fn alloc(&mut self, bytes: u32) -> Result<VAddr, BootAllocError> {
        // LAB pages/boot_alloc BEGIN
        let at = self.next;
        let after =
            at.0.checked_add(bytes)
                .and_then(|end| VAddr(end).page_up())
                .filter(|&after| after <= self.limit)
                .ok_or(self.refusal(bytes))?;
        self.next = after;
        Ok(at)
        // LAB pages/boot_alloc END
    }

    /// Why `bytes` bytes cannot be had now.
    #[allow(dead_code, reason = "unused while boot_alloc is a lab's stub")]
    fn refusal(&self, bytes: u32) -> BootAllocError {
        BootAllocError {
            bytes,
            next: self.next,
            limit: self.limit,
        }
    }

    /// The first page not taken.
    pub fn next(&self) -> VAddr {
        self.next
    }

    /// Stop allocating, for good, and say where what it handed out ends
    /// ([`BootAlloc::next`]): the caller reserves it, and kinit1 frees the
    /// rest. Consuming the allocator is what keeps it "usable only before
    /// kinit1".
    pub fn finish(self) -> VAddr {
        self.next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const END: VAddr = VAddr(0x8011_8123);
    const LIMIT: VAddr = VAddr(0x8040_0000);
    const PAGE: u32 = crate::mmu::PGSIZE_U32;

    #[test]
    fn boot_alloc_hands_out_whole_pages_from_the_end_of_the_kernel() {
        let mut b = BootAlloc::new(END, LIMIT);
        let first_page = END.page_up().unwrap();
        assert_eq!(b.next(), first_page);
        assert_eq!(b.alloc(0), Ok(first_page), "alloc(0) takes nothing");
        assert_eq!(b.next(), first_page, "and moves nothing");
        let a = b.alloc(10).unwrap();
        assert_eq!(a, first_page);
        let c = b.alloc(PAGE + 1).unwrap();
        assert_eq!(c, a.add_pages(1), "10 bytes took a whole page");
        assert_eq!(b.next(), c.add_pages(2), "a page and a byte took two");
        assert_eq!(first_page.pages_to(b.next()), 3);
        let next = b.next();
        assert_eq!(b.finish(), next, "what it handed out ends where it stopped");
    }

    #[test]
    fn boot_alloc_refuses_to_pass_its_limit_and_changes_nothing() {
        let mut b = BootAlloc::new(END, LIMIT);
        let room = LIMIT.0 - b.next().0;
        let before = b;
        let e = b.alloc(room + 1).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "boot_alloc: no {:#x} bytes left from {:#010x} up to the limit 0x80400000",
                room + 1,
                b.next().0
            )
        );
        assert_eq!(b, before);
        assert!(b.alloc(u32::MAX).is_err(), "past 4 GiB");
        assert_eq!(b, before);
        assert_eq!(b.alloc(room).map(|_| b.next()), Ok(LIMIT), "exactly full");
        assert_eq!(
            b.alloc(1),
            Err(BootAllocError {
                bytes: 1,
                next: LIMIT,
                limit: LIMIT
            })
        );
        assert_eq!(
            b.alloc(0),
            Ok(LIMIT),
            "a full allocator still answers alloc(0)"
        );
    }
}
