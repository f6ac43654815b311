//! x86 memory-management definitions, as xv6's `mmu.h`: page sizes, address
//! splitting, page-table entry flags, segment selectors and control-register
//! bits. The entry types themselves are the `x86` crate's.
//!
//! A 32-bit virtual address splits into three parts:
//!
//! ```text
//! +--------10------+-------10-------+---------12----------+
//! | directory index|   table index  |  offset within page |
//! |      PDX       |       PTX      |                     |
//! +----------------+----------------+---------------------+
//! ```

use x86::Ring;
use x86::bits32::paging::{
    BASE_PAGE_SHIFT, BASE_PAGE_SIZE, LARGE_PAGE_SIZE, PAGE_SIZE_ENTRIES, PAddr, VAddr,
};
pub use x86::bits32::paging::{PD, PDEntry, PDFlags, PT, PTEntry, PTFlags};
use x86::controlregs::{Cr0, Cr4};
use x86::segmentation::SegmentSelector;

/// Bytes in a page.
pub const PGSIZE: usize = BASE_PAGE_SIZE;
/// log2(PGSIZE).
pub const PGSHIFT: usize = BASE_PAGE_SHIFT;
/// Bytes in a 4 MiB (PSE) page: what one page-directory entry covers.
pub const LARGE_PGSIZE: usize = LARGE_PAGE_SIZE;
/// Offset of the page-directory index in an address.
pub const PDXSHIFT: usize = 22;
/// Entries in a page directory (and in a page table).
pub const NPDENTRIES: usize = PAGE_SIZE_ENTRIES;

/// Page-directory index of `va` (xv6's `PDX`).
pub fn pdx(va: VAddr) -> usize {
    x86::bits32::paging::pd_index(va)
}

/// Page-table index of `va` (xv6's `PTX`).
pub fn ptx(va: VAddr) -> usize {
    x86::bits32::paging::pt_index(va)
}

/// The virtual address whose PDX, PTX and offset are the given ones
/// (xv6's `PGADDR`).
pub fn pgaddr(pdx: usize, ptx: usize, offset: usize) -> VAddr {
    VAddr(((pdx << PDXSHIFT) | (ptx << PGSHIFT) | offset) as u32)
}

const PGMASK: u32 = PGSIZE_U32 - 1;

/// Round `a` down to the start of its page (xv6's `PGROUNDDOWN`).
pub const fn pgrounddown(a: u32) -> u32 {
    a & !PGMASK
}

/// Round `a` up to the next page boundary (xv6's `PGROUNDUP`), or `None`
/// when there is none below 4 GiB (xv6 silently wraps to 0 there).
pub const fn pgroundup(a: u32) -> Option<u32> {
    match a.checked_add(PGMASK) {
        Some(x) => Some(x & !PGMASK),
        None => None,
    }
}

/// Whether `a` is the first byte of a page.
pub const fn is_page_aligned(a: u32) -> bool {
    a & PGMASK == 0
}

/// Bytes in a page, as an address offset (addresses are 32-bit).
pub const PGSIZE_U32: u32 = PGSIZE as u32;

/// Page arithmetic on either kind of address, so that code steps through
/// memory in pages instead of adding `PGSIZE` to raw `.0` fields. Each
/// panics (naming the address) where the step would leave the 32-bit space.
pub trait PageStep: Copy + Sized {
    /// The address as a number.
    fn addr(self) -> u32;
    /// The address `a` as this kind of address.
    fn at(a: u32) -> Self;

    /// The address `n` pages further on.
    fn add_pages(self, n: usize) -> Self {
        let step = u32::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(PGSIZE_U32));
        match step.and_then(|s| self.addr().checked_add(s)) {
            Some(a) => Self::at(a),
            None => panic!("{:#010x} + {n} pages is past 4 GiB", self.addr()),
        }
    }

    /// The address `n` pages back.
    fn sub_pages(self, n: usize) -> Self {
        let step = u32::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(PGSIZE_U32));
        match step.and_then(|s| self.addr().checked_sub(s)) {
            Some(a) => Self::at(a),
            None => panic!("{:#010x} - {n} pages is below 0", self.addr()),
        }
    }

    /// Whole pages from `self` up to `end` (0 when `end` is not above).
    fn pages_to(self, end: Self) -> usize {
        (end.addr().saturating_sub(self.addr()) / PGSIZE_U32) as usize
    }

    /// The start of the page holding this address (xv6's `PGROUNDDOWN`).
    fn page_down(self) -> Self {
        Self::at(pgrounddown(self.addr()))
    }

    /// The next page boundary at or above this address (`PGROUNDUP`), or
    /// `None` when there is none below 4 GiB.
    fn page_up(self) -> Option<Self> {
        pgroundup(self.addr()).map(Self::at)
    }

    /// Whether this is the first byte of a page.
    fn is_page_start(self) -> bool {
        is_page_aligned(self.addr())
    }

    /// The start of every page that begins in `[self, end)`, `self` being
    /// page-aligned.
    #[inline]
    fn pages_until(self, end: Self) -> impl Iterator<Item = Self> {
        // One checked step to the last whole page's end, then plain steps
        // (kinit2 walks 60,000 pages through this).
        let last = self.add_pages(self.pages_to(end));
        (self.addr()..last.addr()).step_by(PGSIZE).map(Self::at)
    }
}

impl PageStep for VAddr {
    fn addr(self) -> u32 {
        self.0
    }
    fn at(a: u32) -> VAddr {
        VAddr(a)
    }
}

impl PageStep for PAddr {
    fn addr(self) -> u32 {
        self.0
    }
    fn at(a: u32) -> PAddr {
        PAddr(a)
    }
}

/// Flags of a kernel page-directory entry that points to a page table:
/// present and writable; the page-table entries decide the real permission.
pub const PDE_TABLE_FLAGS: PDFlags =
    PDFlags::from_bits_truncate(PDFlags::P.bits() | PDFlags::RW.bits());

/// CR0's protection-enable bit, which the other CPUs' trampoline sets to
/// leave real mode.
pub const CR0_PE: u32 = Cr0::CR0_PROTECTED_MODE.bits() as u32;

/// Flags of a page-directory entry for a table of a user address space
/// (JOS's `pgdir_walk`): present, writable and user, so that the
/// page-table entries alone decide what user code may do.
pub const PDE_USER_TABLE_FLAGS: PDFlags =
    PDFlags::from_bits_truncate(PDFlags::P.bits() | PDFlags::RW.bits() | PDFlags::US.bits());

/// Copy-on-write mark in a page-table entry (JOS's `PTE_COW`): bit 11, one
/// of the three bits the MMU leaves to software. `copy_page_tables` sets it
/// where it takes the write bit away, so that a write fault can tell a
/// shared page from one that was read-only all along. `PTFlags` has no name
/// for it (and `PTEntry::flags` drops it), so it is a raw bit.
pub const PTE_COW: u32 = 1 << 11;

/// The bits `boot/entry.S` sets in CR4 (4 MiB pages for entrypgdir).
pub const CR4_BOOT: u32 = Cr4::CR4_ENABLE_PSE.bits() as u32;
/// The bits `boot/entry.S` sets in CR0: paging on, and write protection so
/// that the kernel itself faults on a write to a read-only page.
pub const CR0_BOOT: u32 = CR0_PG | Cr0::CR0_WRITE_PROTECT.bits() as u32;
/// CR0.PG: paging on.
pub const CR0_PG: u32 = Cr0::CR0_ENABLE_PAGING.bits() as u32;

/// GDT slots (xv6's `SEG_*`): the null descriptor, kernel code and data,
/// then the CPU's own segment, which `%gs` holds (the 2011 xv6's
/// `SEG_KCPU`), the task-state segment of the task the CPU runs in (xv6's
/// `SEG_TSS`, loaded with `ltr`) and the double-fault task's
/// (`src/arch/tss.rs`).
pub const SEG_KCODE: u16 = 1;
pub const SEG_KDATA: u16 = 2;
pub const SEG_KCPU: u16 = 3;
pub const SEG_TSS: u16 = 4;
pub const SEG_DFTSS: u16 = 5;
/// User code and data (xv6's `SEG_UCODE`, `SEG_UDATA`): flat, DPL 3.
pub const SEG_UCODE: u16 = 6;
pub const SEG_UDATA: u16 = 7;
/// Number of GDT entries the kernel uses.
pub const NSEGS: usize = 8;

/// The kernel code segment's selector.
pub const KCODE: SegmentSelector = SegmentSelector::new(SEG_KCODE, Ring::Ring0);
/// The kernel data segment's selector.
pub const KDATA: SegmentSelector = SegmentSelector::new(SEG_KDATA, Ring::Ring0);
/// The selector of the running CPU's own segment (in every CPU's table).
pub const KCPU: SegmentSelector = SegmentSelector::new(SEG_KCPU, Ring::Ring0);
/// The selector of the running CPU's TSS (what its task register holds).
pub const TSS: SegmentSelector = SegmentSelector::new(SEG_TSS, Ring::Ring0);
/// The selector of the running CPU's double-fault TSS (IDT vector 8's task
/// gate names it; each CPU's GDT resolves it to that CPU's own task).
pub const DFTSS: SegmentSelector = SegmentSelector::new(SEG_DFTSS, Ring::Ring0);
/// The user code segment's selector, with RPL 3 (what a process's `%cs` holds).
pub const UCODE: SegmentSelector = SegmentSelector::new(SEG_UCODE, Ring::Ring3);
/// The user data segment's selector, with RPL 3 (`%ds`, `%es`, `%ss`).
pub const UDATA: SegmentSelector = SegmentSelector::new(SEG_UDATA, Ring::Ring3);
/// EFLAGS.IF: a process runs with interrupts on (xv6's `FL_IF`).
pub const FL_IF: u32 = 1 << 9;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_step_in_whole_pages() {
        let va = VAddr(0x8010_0000);
        assert_eq!(va.add_pages(3), VAddr(0x8010_3000));
        assert_eq!(va.add_pages(3).sub_pages(3), va);
        assert_eq!(va.pages_to(VAddr(0x8010_3fff)), 3);
        assert_eq!(
            VAddr(0x8010_3000).pages_to(va),
            0,
            "an end below counts no page"
        );
        assert_eq!(PAddr(0x1234).page_down(), PAddr(0x1000));
        assert_eq!(PAddr(0x1234).page_up(), Some(PAddr(0x2000)));
        assert_eq!(PAddr(0xFFFF_F001).page_up(), None);
        assert!(PAddr(0x2000).is_page_start() && !PAddr(0x2001).is_page_start());
        let pages: Vec<_> = PAddr(0x1000).pages_until(PAddr(0x3800)).collect();
        assert_eq!(pages, [PAddr(0x1000), PAddr(0x2000)]);
    }

    #[test]
    #[should_panic(expected = "0xfffff000 + 1 pages is past 4 GiB")]
    fn stepping_past_4_gib_panics_naming_the_address() {
        let _ = VAddr(0xFFFF_F000).add_pages(1);
    }

    #[test]
    #[should_panic(expected = "0x00001000 - 2 pages is below 0")]
    fn stepping_below_0_panics_naming_the_address() {
        let _ = PAddr(0x1000).sub_pages(2);
    }

    #[test]
    fn rounding_goes_to_page_boundaries() {
        assert_eq!(pgrounddown(0x8010_1234), 0x8010_1000);
        assert_eq!(pgrounddown(0x8010_1000), 0x8010_1000);
        assert_eq!(pgroundup(0x8010_1234), Some(0x8010_2000));
        assert_eq!(pgroundup(0x8010_1000), Some(0x8010_1000));
        assert_eq!(pgroundup(0), Some(0));
        assert_eq!(pgroundup(0xFFFF_F000), Some(0xFFFF_F000));
        assert_eq!(pgroundup(0xFFFF_F001), None, "no page boundary above it");
        assert!(is_page_aligned(0x8040_0000));
        assert!(!is_page_aligned(0x8040_0004));
    }

    #[test]
    fn address_splits_into_pdx_ptx_offset() {
        let va = VAddr(0x8010_2345);
        assert_eq!(pdx(va), 0x200);
        assert_eq!(ptx(va), 0x102);
        assert_eq!(pgaddr(pdx(va), ptx(va), 0x345), va);
        assert_eq!(pdx(VAddr(0xFE00_0000)), 1016);
    }

    #[test]
    fn control_register_bits_are_the_architectural_ones() {
        assert_eq!(CR4_BOOT, 1 << 4, "CR4.PSE is bit 4");
        assert_eq!(
            CR0_BOOT,
            (1 << 31) | (1 << 16),
            "CR0.PG is bit 31, CR0.WP bit 16"
        );
        assert_eq!(PDE_TABLE_FLAGS.bits(), 0b11);
        assert_eq!(PDE_USER_TABLE_FLAGS.bits(), 0b111, "P, RW and US");
    }

    #[test]
    fn the_cow_mark_is_a_software_bit_outside_the_address() {
        let e = PTEntry::new(x86::bits32::paging::PAddr(0x0012_3000), PTFlags::P);
        let marked = PTEntry(e.0 | PTE_COW);
        assert_eq!(marked.address(), e.address(), "not an address bit");
        assert_eq!(marked.flags(), e.flags(), "not a hardware flag");
        const { assert!(PTE_COW < PGSIZE_U32, "among the low 12 bits") };
    }
}
