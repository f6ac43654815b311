//! `Page`: a page kalloc handed out, owned by its holder until `kfree`
//! takes it back or `into_pa` keeps it in use for good.

use crate::memlayout::{PAddr, VAddr, v2p};
use crate::mmu::PGSIZE;

/// A page of physical memory that its holder owns, named by its kernel
/// virtual address. Only `kalloc` makes one; `kfree` takes it back. One
/// dropped instead is a kernel bug (the page would be lost for good): the
/// drop panics, naming the page.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a page dropped without kfree is lost for good"]
pub struct Page(VAddr);

impl Page {
    /// The handle of the page at `va`, which kalloc has just taken off the
    /// free pages.
    pub(super) fn new(va: VAddr) -> Page {
        Page(va)
    }

    /// Kernel virtual address of the page's first byte.
    pub fn va(&self) -> VAddr {
        self.0
    }

    /// Give up the handle without dropping it (for `kfree` and `into_pa`).
    pub(super) fn into_va(self) -> VAddr {
        let va = self.0;
        core::mem::forget(self);
        va
    }

    /// Fill the page with zeroes: in the kernel one `rep stosl`
    /// (`DirectMap::fill`, 1,024 iterations), where `fill(0)` would be
    /// compiler_builtins' loop of about four instructions a word.
    pub fn zero(&mut self) {
        #[cfg(kernel)]
        {
            use super::PageMemory;
            // SAFETY: the holder owns the whole page, mapped at its kernel
            // address in the direct map.
            unsafe { super::directmap::DirectMap.fill(self.0, 0) };
        }
        #[cfg(not(kernel))]
        self.bytes().fill(0);
    }

    /// The page's bytes.
    pub fn bytes(&mut self) -> &mut [u8; PGSIZE] {
        // SAFETY: the holder owns the whole page, mapped at its kernel
        // address; the borrow of `self` keeps the reference unique.
        unsafe { &mut *(self.0.0 as *mut [u8; PGSIZE]) }
    }

    /// Give up the handle, keeping the page in use (e.g. as a page table).
    #[must_use = "the page is lost unless its address is kept"]
    pub fn into_pa(self) -> PAddr {
        v2p(self.into_va())
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        // A host test that fails while holding a page unwinds through here:
        // its own failure is the one to report (a second panic would abort).
        #[cfg(not(kernel))]
        if std::thread::panicking() {
            return;
        }
        panic!(
            "kalloc: page {:#010x} dropped without kfree or into_pa: it is lost for good",
            self.0.0
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "kalloc: page 0x80200000 dropped without kfree or into_pa")]
    fn a_page_dropped_is_a_failing_assertion() {
        let _lost = Page::new(VAddr(0x8020_0000));
    }

    #[test]
    fn a_page_given_up_is_not_dropped() {
        assert_eq!(Page::new(VAddr(0x8020_0000)).into_va(), VAddr(0x8020_0000));
        assert_eq!(Page::new(VAddr(0x8020_1000)).into_pa(), PAddr(0x0020_1000));
    }
}
