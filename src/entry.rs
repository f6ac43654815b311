//! The boot stage: `boot/entry.S`, the page directory it turns paging on
//! with (`entrypgdir`), and the stack `main` starts on.

use core::cell::UnsafeCell;

use crate::bootinfo;
use crate::memlayout::KERNBASE;
use crate::mmu::{CR0_BOOT, CR4_BOOT, NPDENTRIES, PD, PDEntry, PDFlags, PDXSHIFT};
use crate::param::KSTACKSIZE;

/// Multiboot2 header magic (Multiboot2 spec, 3.1.2).
const MB2_HEADER_MAGIC: u32 = 0xE852_50D6;
/// Multiboot2 header "architecture" field for 32-bit protected mode.
const MB2_ARCH_I386: u32 = 0;
/// Multiboot (version 1) header magic.
const MB1_HEADER_MAGIC: u32 = 0x1BAD_B002;

core::arch::global_asm!(
    include_str!("../boot/entry.S"),
    MB2_HEADER_MAGIC = const MB2_HEADER_MAGIC,
    MB2_ARCH_I386 = const MB2_ARCH_I386,
    MB1_HEADER_MAGIC = const MB1_HEADER_MAGIC,
    MB2_BOOTLOADER_MAGIC = const bootinfo::MB2_BOOTLOADER_MAGIC,
    BOOTINFO_MAX = const bootinfo::BOOTINFO_MAX,
    bootinfo_copy = sym bootinfo::BOOTINFO_COPY,
    KERNBASE = const KERNBASE.0,
    CR4_BOOT = const CR4_BOOT,
    CR0_BOOT = const CR0_BOOT,
    entrypgdir = sym ENTRYPGDIR,
    boot_stack = sym BOOT_STACK,
    KSTACKSIZE = const KSTACKSIZE,
    options(att_syntax)
);

/// A page directory that the CPU may write to. The CPU sets the Accessed and
/// Dirty bits in the entries it uses, so it must not live in read-only data:
/// the `UnsafeCell` puts it in `.data`.
#[repr(C, align(4096))]
pub struct EntryPgDir(UnsafeCell<PD>);

// SAFETY: Rust code only reads entrypgdir (in tests); the CPU's A/D updates
// are atomic read-modify-writes done by the hardware.
unsafe impl Sync for EntryPgDir {}

/// The one PDE of entrypgdir: a present, writable 4 MiB page at PA 0.
const ENTRY_PDE: PDEntry = PDEntry(PDFlags::P.bits() | PDFlags::RW.bits() | PDFlags::PS.bits());

/// The page directory `boot/entry.S` turns paging on with (xv6's
/// `entrypgdir`): VA [0, 4 MiB) and VA [KERNBASE, KERNBASE + 4 MiB) both map
/// PA [0, 4 MiB). The low mapping keeps the instructions right after the
/// paging switch running; the high one is where the kernel is linked.
/// Its symbol is `entrypgdir`, as in xv6, for GDB and Bochs.
// SAFETY: no other symbol of the kernel is called entrypgdir.
#[unsafe(export_name = "entrypgdir")]
pub static ENTRYPGDIR: EntryPgDir = EntryPgDir(UnsafeCell::new(entry_pgdir_entries()));

const fn entry_pgdir_entries() -> PD {
    let mut pd = [PDEntry(0); NPDENTRIES];
    pd[0] = ENTRY_PDE;
    pd[KERNBASE.0 as usize >> PDXSHIFT] = ENTRY_PDE;
    pd
}

impl EntryPgDir {
    /// A snapshot of the entries (with whatever A/D bits the CPU has set).
    pub fn entries(&self) -> PD {
        // SAFETY: a plain read of 4 KiB nobody writes through a reference;
        // the CPU's A/D bit updates do not tear a 32-bit entry.
        unsafe { core::ptr::read_volatile(self.0.get()) }
    }
}

/// The boot CPU's stack, which `main` runs on. Like entrypgdir it is written
/// behind Rust's back (by every push), hence the `UnsafeCell`.
#[repr(C, align(16))]
pub struct Stack(UnsafeCell<[u8; KSTACKSIZE]>);

// SAFETY: only the boot CPU's stack pointer ever uses this memory.
unsafe impl Sync for Stack {}

static BOOT_STACK: Stack = Stack(UnsafeCell::new([0; KSTACKSIZE]));

/// The addresses the boot stack occupies (a backtrace stays inside them).
pub fn boot_stack() -> core::ops::Range<u32> {
    let start = BOOT_STACK.0.get() as u32;
    start..start + KSTACKSIZE as u32
}
