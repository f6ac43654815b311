//! The boot stage: `boot/entry.S`, the page directory it turns paging on
//! with (`entrypgdir`), and the stack `main` starts on, with its guard page
//! below it.

use core::cell::UnsafeCell;

use crate::arch::cpufeature::{self, LINE_SLOT, NEEDED, NO_CPUID, Need, line_slot};
use crate::bootinfo;
use crate::memlayout::{KERNBASE, VAddr};
use crate::mmu::{CR0_BOOT, CR4_BOOT, NPDENTRIES, PD, PDEntry, PDFlags, PDXSHIFT, PGSIZE};
use crate::param::KSTACKSIZE;
use crate::protocol::{self, EXIT_LAB_TODO, QEMU_EXIT_PORT};
use crate::uart::regs;

/// Multiboot2 header magic (Multiboot2 spec, 3.1.2).
const MB2_HEADER_MAGIC: u32 = 0xE852_50D6;
/// Multiboot2 header "architecture" field for 32-bit protected mode.
const MB2_ARCH_I386: u32 = 0;
/// Multiboot (version 1) header magic.
const MB1_HEADER_MAGIC: u32 = 0x1BAD_B002;

core::arch::global_asm!(
    // boot/entry.S with each `__LINE__` turned into its line's number (build.rs).
    include_str!(concat!(env!("OUT_DIR"), "/entry.S")),
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
    BOOT_STACK_TOP = const core::mem::size_of::<BootStack>(),
    EFLAGS_ID = const cpufeature::EFLAGS_ID,
    CPUID_MAX_LEAF = const cpufeature::CPUID_MAX_LEAF,
    CPUID_FEATURES = const cpufeature::CPUID_FEATURES,
    cpu_needs = sym CPU_NEEDS,
    NEED_SIZE = const core::mem::size_of::<Need>(),
    NEED_LINE = const cpufeature::NEED_LINE,
    no_cpuid = sym NO_CPUID_LINE,
    EXIT_NO_CPU_FEATURE = const cpufeature::EXIT_NO_CPU_FEATURE.0,
    EXIT_LAB_TODO = const EXIT_LAB_TODO.0,
    ENTRY_PDE = const ENTRY_PDE.0,
    KERNBASE_PDX = const KERNBASE.0 >> PDXSHIFT,
    BOOT_MARK_PORT = const protocol::BOOT_MARK_PORT,
    MARK_START = const protocol::MARK_START,
    MARK_CPU_OK = const protocol::MARK_CPU_OK,
    MARK_PAGING_NEXT = const protocol::MARK_PAGING_NEXT,
    MARK_PAGING_ON = const protocol::MARK_PAGING_ON,
    QEMU_EXIT_PORT = const QEMU_EXIT_PORT,
    COM1 = const regs::COM1,
    THR = const regs::THR,
    DLL = const regs::DLL,
    DLM = const regs::DLM,
    LCR = const regs::LCR,
    LSR = const regs::LSR,
    LCR_DLAB = const regs::LCR_DLAB,
    LCR_8N1 = const regs::LCR_8N1,
    LSR_THR_EMPTY = const regs::LSR_THR_EMPTY,
    DIVISOR = const regs::DIVISOR,
    options(att_syntax)
);

/// What `cpu_check` in entry.S reads (by physical address): the features
/// the kernel needs with their lines, and the line for no CPUID at all.
static CPU_NEEDS: [Need; NEEDED.len() + 1] = cpufeature::needs();
static NO_CPUID_LINE: [u8; LINE_SLOT] = line_slot(NO_CPUID);

/// A page directory that the CPU may write to. The CPU sets the Accessed and
/// Dirty bits in the entries it uses, so it must not live in read-only data:
/// the `UnsafeCell` puts it in `.data`.
#[repr(C, align(4096))]
pub struct EntryPgDir(UnsafeCell<PD>);

// SAFETY: Rust code only reads entrypgdir (in tests); the CPU's A/D updates
// are atomic read-modify-writes done by the hardware.
unsafe impl Sync for EntryPgDir {}

/// Each of entrypgdir's two entries: a present, writable 4 MiB page at PA
/// 0 (boot/entry.S writes them).
const ENTRY_PDE: PDEntry = PDEntry(PDFlags::P.bits() | PDFlags::RW.bits() | PDFlags::PS.bits());

/// The page directory `boot/entry.S` turns paging on with (xv6's
/// `entrypgdir`): VA [0, 4 MiB) and VA [KERNBASE, KERNBASE + 4 MiB) both map
/// PA [0, 4 MiB). The low mapping keeps the instructions right after the
/// paging switch running; the high one is where the kernel is linked.
/// It starts all zeros; entry.S writes the two entries before it loads CR3
/// (xv6 initialises it in C; here it is the boot lab's first exercise).
/// Its symbol is `entrypgdir`, as in xv6, for GDB and Bochs.
// SAFETY: no other symbol of the kernel is called entrypgdir.
#[unsafe(export_name = "entrypgdir")]
pub static ENTRYPGDIR: EntryPgDir = EntryPgDir(UnsafeCell::new([PDEntry(0); NPDENTRIES]));

impl EntryPgDir {
    /// Its physical address (what CR3 takes).
    pub fn pa(&self) -> crate::memlayout::PAddr {
        crate::memlayout::v2p(VAddr(self.0.get() as u32))
    }

    /// Entry `i` (with whatever A/D bits the CPU has set), read one entry
    /// at a time: a volatile copy of the whole directory would compile to
    /// 1024 separate loads, some 20 KiB of kernel text.
    pub fn entry(&self, i: usize) -> PDEntry {
        let entries = self.0.get().cast::<PDEntry>();
        assert!(i < NPDENTRIES, "entrypgdir has no entry {i}");
        // SAFETY: `i` is inside the directory, which nobody writes through
        // a reference; the CPU's A/D bit updates do not tear an entry.
        unsafe { core::ptr::read_volatile(entries.add(i)) }
    }
}

/// The boot CPU's stack, which `main` runs on, and below it a page that
/// `kvmalloc` leaves out of the kernel page directory (`guard`): an
/// overflow faults there instead of running into the rest of `.bss`. Like
/// entrypgdir it is written behind Rust's back (by every push), hence the
/// `UnsafeCell`. Its symbol is `boot_stack` (the guard page's address).
#[repr(C, align(4096))]
pub struct BootStack {
    guard: UnsafeCell<[u8; PGSIZE]>,
    stack: UnsafeCell<[u8; KSTACKSIZE]>,
}

// SAFETY: only the boot CPU's stack pointer ever uses this memory.
unsafe impl Sync for BootStack {}

// SAFETY: no other symbol of the kernel is called boot_stack.
#[unsafe(export_name = "boot_stack")]
static BOOT_STACK: BootStack = BootStack {
    guard: UnsafeCell::new([0; PGSIZE]),
    stack: UnsafeCell::new([0; KSTACKSIZE]),
};

/// The addresses the boot stack occupies (a backtrace stays inside them).
pub fn boot_stack() -> core::ops::Range<u32> {
    let start = BOOT_STACK.stack.get() as u32;
    start..start + KSTACKSIZE as u32
}

/// The boot stack's guard page, just below it.
pub fn boot_stack_guard() -> VAddr {
    VAddr(BOOT_STACK.guard.get() as u32)
}
