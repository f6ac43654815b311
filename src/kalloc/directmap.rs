//! The free lists' memory in the kernel: each page's link in its own first
//! word, reached through the direct map, and one free bit per physical page.
#![cfg(kernel)]

use core::sync::atomic::{AtomicU32, Ordering};

use super::PageMemory;
use super::scan::{WORD_PAGES, highest_set};
use crate::memlayout::{PAddr, PHYSTOP_MAX, VAddr, p2v, v2p};
use crate::mmu::{PGSIZE, PGSIZE_U32};

/// Pages up to the largest PHYSTOP, and the words of one bit each.
const MAX_PAGES: usize = PHYSTOP_MAX.0 as usize / PGSIZE;
const FREE_WORDS: usize = MAX_PAGES / WORD_PAGES;

/// One bit per physical page saying whether it is on a free list (63 KiB
/// covers every PHYSTOP the layout allows). One set for all the lists, so
/// a double free is caught whichever CPU's list holds the page. Atomic,
/// because CPUs holding different lists' locks update it at once.
static FREE_BITS: [AtomicU32; FREE_WORDS] = [const { AtomicU32::new(0) }; FREE_WORDS];

/// Memory reached through the kernel's direct map (a page's kernel virtual
/// address is a pointer to it), with the free bits in `FREE_BITS`.
pub struct DirectMap;

impl DirectMap {
    /// Word and bit of the page at `va`.
    fn bit(va: VAddr) -> (&'static AtomicU32, u32) {
        let n = v2p(va).0 as usize / PGSIZE;
        (&FREE_BITS[n / WORD_PAGES], 1 << (n % WORD_PAGES))
    }
}

impl PageMemory for DirectMap {
    unsafe fn fill(&mut self, page: VAddr, byte: u8) {
        /// Four copies of a byte make a 32-bit word.
        const BYTE_TO_WORD: u32 = 0x0101_0101;
        // One `rep stosl`, as xv6's memset does for aligned sizes: the CPU
        // stores EAX at [EDI] ECX times, 1024 words for a page. (The
        // generic `write_bytes` is a loop of several instructions a word.)
        // SAFETY: the caller owns the whole page, which is mapped (every
        // page in the pool is inside the kernel's direct map); the string
        // instruction runs upwards (DF is clear in Rust code, as the ABI
        // requires) and writes only the page.
        unsafe {
            core::arch::asm!(
                "rep stosd",
                inout("edi") page.0 => _,
                inout("ecx") PGSIZE / 4 => _,
                in("eax") u32::from(byte) * BYTE_TO_WORD,
                options(nostack, preserves_flags)
            )
        };
    }

    unsafe fn set_link(&mut self, page: VAddr, next: Option<VAddr>) {
        // 0 stands for "none": VA 0 is never in the pool (it is below end).
        // SAFETY: as for `fill`; the page is 4-byte aligned.
        unsafe { (page.0 as *mut u32).write(next.map_or(0, |v| v.0)) };
    }

    unsafe fn link(&self, page: VAddr) -> Option<VAddr> {
        // SAFETY: the page is on a free list, so `set_link` wrote it.
        let raw = unsafe { (page.0 as *const u32).read() };
        (raw != 0).then_some(VAddr(raw))
    }

    fn mark_free(&mut self, page: VAddr, free: bool) -> bool {
        let (word, mask) = Self::bit(page);
        let old = if free {
            word.fetch_or(mask, Ordering::Relaxed)
        } else {
            word.fetch_and(!mask, Ordering::Relaxed)
        };
        old & mask != 0
    }

    fn is_marked(&self, page: VAddr) -> bool {
        let (word, mask) = Self::bit(page);
        word.load(Ordering::Relaxed) & mask != 0
    }

    fn count_marked(&self) -> usize {
        FREE_BITS
            .iter()
            .map(|w| w.load(Ordering::Relaxed).count_ones() as usize)
            .sum()
    }

    fn highest_marked(&self, lo: VAddr, below: VAddr) -> Option<VAddr> {
        let page = |va: VAddr| v2p(va).0 as usize / PGSIZE;
        let n = highest_set(&FREE_BITS, page(lo), page(below))?;
        Some(p2v(PAddr(n as u32 * PGSIZE_U32)))
    }
}
