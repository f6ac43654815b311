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
            "boot_alloc: no {:#x} bytes of usable pages in a row from {:#010x} up to the limit {:#010x}",
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

    /// `bytes` bytes at the first page boundary at or after the next free
    /// one from which all the pages they need are `usable` (not holding
    /// something the boot loader left, such as its boot information or a
    /// module); the allocator moves on to the page boundary after them, so
    /// the unusable pages skipped are never handed out. `alloc(0, _)` says
    /// where the next allocation would start, taking nothing. Refuses,
    /// changing nothing, when no such pages lie below the limit.
    pub fn alloc(
        &mut self,
        bytes: u32,
        usable: impl Fn(VAddr) -> bool,
    ) -> Result<VAddr, BootAllocError> {
        let refused = BootAllocError {
            bytes,
            next: self.next,
            limit: self.limit,
        };
        let mut at = self.next;
        loop {
            let after =
                at.0.checked_add(bytes)
                    .and_then(|end| VAddr(end).page_up())
                    .filter(|&after| after <= self.limit)
                    .ok_or(refused)?;
            // The last unusable page in the run, if any: start after it.
            let pages: usize = at.pages_to(after);
            match (0..pages)
                .rev()
                .map(|i| at.add_pages(i))
                .find(|&p| !usable(p))
            {
                Some(bad) => at = bad.add_pages(1),
                None => {
                    self.next = after;
                    return Ok(at);
                }
            }
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

    /// Every page is usable.
    fn all(_: VAddr) -> bool {
        true
    }

    #[test]
    fn boot_alloc_hands_out_whole_pages_from_the_end_of_the_kernel() {
        let mut b = BootAlloc::new(END, LIMIT);
        let first_page = END.page_up().unwrap();
        assert_eq!(b.next(), first_page);
        assert_eq!(b.alloc(0, all), Ok(first_page), "alloc(0) takes nothing");
        assert_eq!(b.next(), first_page, "and moves nothing");
        let a = b.alloc(10, all).unwrap();
        assert_eq!(a, first_page);
        let c = b.alloc(PAGE + 1, all).unwrap();
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
        let e = b.alloc(room + 1, all).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "boot_alloc: no {:#x} bytes of usable pages in a row from {:#010x} up to the limit 0x80400000",
                room + 1,
                b.next().0
            )
        );
        assert_eq!(b, before);
        assert!(b.alloc(u32::MAX, all).is_err(), "past 4 GiB");
        assert_eq!(b, before);
        assert_eq!(
            b.alloc(room, all).map(|_| b.next()),
            Ok(LIMIT),
            "exactly full"
        );
        assert_eq!(
            b.alloc(1, all),
            Err(BootAllocError {
                bytes: 1,
                next: LIMIT,
                limit: LIMIT
            })
        );
        assert_eq!(
            b.alloc(0, all),
            Ok(LIMIT),
            "a full allocator still answers alloc(0)"
        );
    }

    #[test]
    fn boot_alloc_skips_pages_the_boot_loader_left() {
        let mut b = BootAlloc::new(END, LIMIT);
        let page = |n: usize| b.next().add_pages(n);
        // the boot information in page 1, a module in pages 3..5
        let left = [page(1), page(3), page(4)];
        let usable = |va: VAddr| !left.contains(&va);
        let (p0, p5, p7) = (page(0), page(5), page(7));
        let one = b.alloc(PAGE, usable).unwrap();
        assert_eq!(one, p0, "page 0 is usable");
        let two = b.alloc(2 * PAGE, usable).unwrap();
        assert_eq!(
            two, p5,
            "pages 1 and 3-4 are skipped, page 2 alone is too small"
        );
        assert_eq!(
            b.next(),
            p7,
            "it never goes back to a skipped page (kinit1 frees page 2)"
        );
        let nothing_usable = |_: VAddr| false;
        let before = b;
        let e = b.alloc(1, nothing_usable).unwrap_err();
        assert_eq!((e.next, e.limit), (before.next(), LIMIT));
        assert_eq!(b, before, "a refusal changes nothing");
    }
}
