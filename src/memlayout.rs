//! The memory layout, as xv6's `memlayout.h`: where physical memory is, where
//! the kernel sees it, and the two conversions between them.
//!
//! ```text
//! virtual                                   physical
//! 0xFFFFFFFF ┌───────────────┐
//!            │ devices       │ DEVSPACE..4G → same physical addresses (APICs)
//! 0xFE000000 ├───────────────┤
//!            │ (unused)      │
//! P2V(PHYSTOP)├──────────────┤
//!            │ free pages    │ kinit2: P2V(4 MiB)..P2V(PHYSTOP)
//! 0x80400000 ├───────────────┤
//!            │ free pages    │ kinit1: P2V(4 MiB) down to boot_alloc's end
//!            │ page counts   │ boot_alloc: one byte per page below PHYSTOP
//!        end ├───────────────┤
//!            │ kernel data   │ writable
//!       data ├───────────────┤
//!            │ text, rodata  │ read-only
//! 0x80100000 ├───────────────┤ KERNLINK → EXTMEM (0x100000)
//!            │ BIOS, I/O     │ KERNBASE..KERNLINK → 0..EXTMEM
//! 0x80000000 ├───────────────┤ KERNBASE
//!            │ kernel stacks │ KSTACKS: cpu i's stack page at 2i+1 pages
//!            │               │ (an alias of its kalloc'd page), the page
//!            │               │ below it an unmapped guard
//! 0x7FC00000 ├───────────────┤ KSTACKS
//!            │ (user space)  │ SCRATCH: the self-checks' and `cow`'s pages
//! 0x00000000 └───────────────┘
//! ```
//!
//! The boot stack has its guard page too: the page below it in `.bss`,
//! left out of the kernel page directory.

pub use x86::bits32::paging::{PAddr, VAddr};

/// Low memory the BIOS leaves, read by `mpinit` and written by
/// `lapicstartap` (the MP spec, 4 and B.4): in the BIOS data area, the word
/// holding the extended BIOS data area's segment, the word holding the size
/// of base memory in KiB, and the warm-reset vector (offset, then segment)
/// a CPU reset by INIT jumps through; and the BIOS ROM's range.
pub const BDA_EBDA_SEGMENT: PAddr = PAddr(0x40E);
pub const BDA_BASE_KIB: PAddr = PAddr(0x413);
pub const WARM_RESET_VECTOR: PAddr = PAddr(0x467);
pub const BIOS_ROM: core::ops::Range<u32> = 0xF_0000..0x10_0000;
/// Bytes per real-mode paragraph: a segment number times this is an address.
pub const PARAGRAPH: u32 = 16;

/// Where `startothers` copies the other CPUs' start-up code: a page below
/// 1 MiB (a STARTUP IPI can only name such a page) that the BIOS and the
/// boot loader leave unused once the kernel runs (xv6 uses it too).
pub const AP_START: PAddr = PAddr(0x7000);
/// Start of extended memory: the kernel is loaded here (physical).
pub const EXTMEM: PAddr = PAddr(0x0010_0000);
/// Top of the physical memory the kernel uses (240 MiB), as xv6's PHYSTOP.
pub const PHYSTOP: PAddr = PAddr(0x0F00_0000);
/// Largest PHYSTOP the layout allows: P2V(PHYSTOP) must stay at or below
/// DEVSPACE (the `phystop=` option may raise the cap up to here).
pub const PHYSTOP_MAX: PAddr = PAddr(DEVSPACE.0 - KERNBASE.0);
/// The largest `phystop=` the kernel takes (1.75 GiB), below what the
/// layout allows: kvmalloc builds the page tables of the whole direct map
/// from the pages kinit1 frees below 4 MiB, and with the processes' code and
/// tables in the image, that is what leaves room for them and for eight
/// CPUs' stacks (tests/memory.rs boots it with 1 and with 8 CPUs).
pub const PHYSTOP_OPTION_MAX: PAddr = PAddr(0x7000_0000);
/// Least RAM the kernel boots with: it runs inside the first 4 MiB (all
/// entrypgdir maps) and builds its page tables from the free pages there.
pub const MIN_RAM: PAddr = BOOT_MAPPED;
/// Start of the memory-mapped devices (local APIC, I/O APIC), mapped 1:1.
pub const DEVSPACE: VAddr = VAddr(0xFE00_0000);

/// First kernel virtual address: physical 0 appears here.
pub const KERNBASE: VAddr = VAddr(0x8000_0000);
/// Address the kernel is linked at (KERNBASE + EXTMEM).
pub const KERNLINK: VAddr = VAddr(KERNBASE.0 + EXTMEM.0);

/// A span of user space (one page table's 4 MiB) where the self-checks and
/// the `cow` demonstration map counted pages, in directories of their own or
/// (check_page_installed_pgdir) briefly in the kernel's: no user program
/// exists to own user space.
pub const SCRATCH: VAddr = VAddr(0x0040_0000);

/// The kernel-stacks window, one page table's 4 MiB just below KERNBASE,
/// mapped in the kernel page directory only: each other CPU runs on an
/// alias of its stack page here ([`kstack`]), with an unmapped guard page
/// below it, so that an overflow faults instead of running into the page
/// below. The boot CPU keeps its stack in `.bss` (guarded the same way).
pub const KSTACKS: VAddr = VAddr(KERNBASE.0 - crate::mmu::LARGE_PGSIZE as u32);

/// Where CPU `cpu`'s kernel stack lies in the window: its guard page
/// (unmapped) at `KSTACKS + 2*cpu` pages, then its stack page. The boot
/// CPU's slots stay unused (it runs on the boot stack).
pub fn kstack(cpu: usize) -> KStack {
    use crate::mmu::PageStep;
    let guard = KSTACKS.add_pages(2 * cpu);
    KStack {
        guard,
        stack: guard.add_pages(1),
    }
}

/// Where process slot `slot`'s kernel stack lies in the window: after the
/// CPUs' 2*NCPU pages, a guard page then KSTACK_PAGES stack pages per slot.
pub fn process_kstack(slot: usize) -> KStack {
    use crate::mmu::PageStep;
    use crate::param::{KSTACK_PAGES, NCPU};
    let guard = KSTACKS.add_pages(2 * NCPU + slot * (KSTACK_PAGES + 1));
    KStack {
        guard,
        stack: guard.add_pages(1),
    }
}

/// The top of user space: user memory lies in `[0, USERTOP)`, below the
/// kernel-stacks window that every user page directory shares.
pub const USERTOP: VAddr = KSTACKS;

/// A kernel stack page and the guard page below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KStack {
    /// The unmapped page just below the stack.
    pub guard: VAddr,
    /// The stack's lowest page.
    pub stack: VAddr,
}

/// How much physical memory `entrypgdir` maps (one 4 MiB page): the kernel
/// image must end below it, and `kinit1` frees only up to it.
pub const BOOT_MAPPED: PAddr = PAddr(0x0040_0000);

// The layout's own rules, checked when the kernel compiles: PHYSTOP maps
// below DEVSPACE, and entrypgdir's boot mapping is exactly one 4 MiB page at
// a 4 MiB-aligned KERNBASE.
const _: () = assert!(KERNBASE.0 + PHYSTOP.0 <= DEVSPACE.0);
const _: () = assert!(PHYSTOP.0 <= PHYSTOP_OPTION_MAX.0 && PHYSTOP_OPTION_MAX.0 <= PHYSTOP_MAX.0);
const _: () = assert!(BOOT_MAPPED.0 as usize == crate::mmu::LARGE_PGSIZE);
const _: () = assert!((KERNBASE.0 as usize).is_multiple_of(crate::mmu::LARGE_PGSIZE));
// Every CPU's guard and stack page fit in the window, and the window lies
// above SCRATCH.
const _: () = assert!(2 * crate::param::NCPU * crate::mmu::PGSIZE <= crate::mmu::LARGE_PGSIZE);
const _: () = assert!(SCRATCH.0 + crate::mmu::LARGE_PGSIZE as u32 <= KSTACKS.0);
// Every process's guard and stack pages fit in the window after the CPUs'.
const _: () = assert!(
    (2 * crate::param::NCPU + crate::param::NPROC * (crate::param::KSTACK_PAGES + 1))
        * crate::mmu::PGSIZE
        <= crate::mmu::LARGE_PGSIZE
);

/// Physical address → kernel virtual address (xv6's `P2V`).
///
/// Panics if `pa` lies beyond what the kernel can map below DEVSPACE.
pub fn p2v(pa: PAddr) -> VAddr {
    assert!(
        pa.0 < DEVSPACE.0 - KERNBASE.0,
        "p2v: physical address {:#010x} is beyond what KERNBASE+pa can reach below DEVSPACE {:#010x}",
        pa.0,
        DEVSPACE.0
    );
    VAddr(pa.0 + KERNBASE.0)
}

/// Where the kernel sees the end of a physical range ending (exclusively)
/// at `end`: `p2v` for an end bound, so that the largest PHYSTOP, whose
/// end is DEVSPACE itself, is allowed.
///
/// Panics if `end` lies beyond PHYSTOP_MAX.
pub fn p2v_end(end: PAddr) -> VAddr {
    assert!(
        end <= PHYSTOP_MAX,
        "p2v_end: physical address {:#010x} is beyond PHYSTOP_MAX {:#010x}",
        end.0,
        PHYSTOP_MAX.0
    );
    VAddr(end.0 + KERNBASE.0)
}

/// Kernel virtual address → physical address (xv6's `V2P`).
///
/// Panics if `va` is below KERNBASE: only kernel addresses have a fixed
/// physical address.
pub fn v2p(va: VAddr) -> PAddr {
    assert!(
        va.0 >= KERNBASE.0,
        "v2p: {:#010x} is below KERNBASE {:#010x}: not a kernel address",
        va.0,
        KERNBASE.0
    );
    PAddr(va.0 - KERNBASE.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mmu::PageStep;

    #[test]
    fn p2v_and_v2p_are_inverse_around_kernbase() {
        assert_eq!(p2v(PAddr(0)), KERNBASE);
        assert_eq!(p2v(EXTMEM), KERNLINK);
        assert_eq!(v2p(VAddr(0x8040_0000)), BOOT_MAPPED);
        for pa in [0u32, 0x1000, 0x0010_0123, PHYSTOP.0 - 1] {
            assert_eq!(v2p(p2v(PAddr(pa))), PAddr(pa));
        }
    }

    #[test]
    #[should_panic(expected = "v2p: 0x00001000 is below KERNBASE")]
    fn v2p_rejects_user_addresses() {
        v2p(VAddr(0x1000));
    }

    #[test]
    fn each_cpu_has_a_guard_page_below_its_stack_in_the_window() {
        assert_eq!(KSTACKS, VAddr(0x7FC0_0000));
        assert_eq!(
            kstack(1),
            KStack {
                guard: VAddr(0x7FC0_2000),
                stack: VAddr(0x7FC0_3000)
            }
        );
        let last = kstack(crate::param::NCPU - 1);
        assert!(last.stack.0 + crate::mmu::PGSIZE_U32 <= KERNBASE.0);
        for i in 1..crate::param::NCPU {
            assert_eq!(kstack(i).guard, kstack(i - 1).stack.add_pages(1));
        }
    }

    #[test]
    fn the_largest_phystop_ends_at_devspace() {
        assert_eq!(p2v_end(PHYSTOP_MAX), DEVSPACE);
        assert_eq!(p2v_end(PHYSTOP), p2v(PHYSTOP));
    }

    #[test]
    #[should_panic(
        expected = "p2v_end: physical address 0x7e001000 is beyond PHYSTOP_MAX 0x7e000000"
    )]
    fn p2v_end_rejects_ends_past_phystop_max() {
        p2v_end(PAddr(PHYSTOP_MAX.0 + 0x1000));
    }

    #[test]
    #[should_panic(expected = "p2v: physical address 0x7e000000 is beyond")]
    fn p2v_rejects_addresses_that_would_reach_devspace() {
        p2v(PAddr(DEVSPACE.0 - KERNBASE.0));
    }

    /// linker.ld cannot import these constants, so check that it repeats them
    /// faithfully.
    #[test]
    fn linker_script_agrees_with_memlayout() {
        let ld = include_str!("../linker.ld");
        let value = |name: &str| -> u32 {
            let line = ld
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{name} =")))
                .unwrap_or_else(|| panic!("linker.ld does not define {name}"));
            let rhs = line.split('=').nth(1).unwrap();
            let hex = rhs.split_whitespace().next().unwrap().trim_end_matches(';');
            u32::from_str_radix(hex.trim_start_matches("0x"), 16).unwrap()
        };
        assert_eq!(value("KERNBASE"), KERNBASE.0);
        assert_eq!(value("KERNLINK"), KERNLINK.0);
        assert_eq!(value("BOOT_MAPPED"), BOOT_MAPPED.0);
    }
}
