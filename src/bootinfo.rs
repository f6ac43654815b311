//! The Multiboot2 boot information GRUB hands the kernel (boot loader name,
//! command line, and later the memory map), read with the `multiboot2` crate,
//! and `machine_memory`, the boot's reading of the machine's memory from it
//! (the arithmetic is `memmap`'s).
//!
//! GRUB puts the block above 4 MiB (linker.ld claims the first 4 MiB for the
//! image), which entrypgdir does not map. So `boot/entry.S` copies it, with
//! paging still off, into [`BOOTINFO_COPY`] in the kernel's `.bss`; the
//! kernel reads only the copy, and reserves GRUB's pages so that nothing
//! overwrites the original.

use core::cell::UnsafeCell;

use multiboot2::{BootInformation, BootInformationHeader};

use crate::memlayout::PAddr;
use crate::memmap::{self, MAX_REGIONS, MemMap, Ram, Source};
use crate::println;

/// What a Multiboot2 loader leaves in EAX.
pub const MB2_BOOTLOADER_MAGIC: u32 = multiboot2::MAGIC;
/// What a Multiboot (version 1) loader leaves in EAX.
pub const MB1_BOOTLOADER_MAGIC: u32 = 0x2BAD_B002;

/// Largest boot information block the kernel copies. GRUB's is about 1 KiB
/// for this kernel (memory map, ELF sections, command line); bigger ones
/// stop the boot with a message naming this limit.
pub const BOOTINFO_MAX: usize = 16 * 1024;
// Room for the longest command line the kernel reads, and the rest.
const _: () = assert!(BOOTINFO_MAX >= 2 * crate::protocol::CMDLINE_MAX);

/// The buffer `boot/entry.S` copies the block into (8-byte aligned, as the
/// spec requires of the block).
#[repr(C, align(8))]
pub struct BootInfoCopy(UnsafeCell<[u8; BOOTINFO_MAX]>);

// SAFETY: written once by boot/entry.S before any Rust code runs, then only
// read.
unsafe impl Sync for BootInfoCopy {}

pub static BOOTINFO_COPY: BootInfoCopy = BootInfoCopy(UnsafeCell::new([0; BOOTINFO_MAX]));

/// The parsed boot information, and where GRUB had put the original.
pub struct BootInfo {
    pub info: BootInformation<'static>,
    /// Physical address of GRUB's block (only the copy is used).
    pub original: PAddr,
}

/// Why the boot information cannot be used.
#[derive(Debug)]
pub enum BootInfoError {
    /// EAX did not hold the Multiboot2 magic: some other loader started us.
    WrongMagic(u32),
}

impl core::fmt::Display for BootInfoError {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        match *self {
            BootInfoError::WrongMagic(m) => {
                let hint = if m == MB1_BOOTLOADER_MAGIC {
                    "it is the Multiboot 1 magic: use GRUB's `multiboot2` command, not `multiboot`"
                } else {
                    "boot this kernel with GRUB's `multiboot2` command"
                };
                write!(
                    f,
                    "boot: EAX is {m:#010x}, not the Multiboot2 magic {MB2_BOOTLOADER_MAGIC:#010x}; {hint}"
                )
            }
        }
    }
}

/// The boot information: [`parse`]'s, or, for a kernel that a Multiboot2
/// loader did not start, a stop saying why (QEMU exits with
/// `EXIT_BAD_BOOT`).
pub fn load(magic: u32, pa: u32) -> BootInfo {
    parse(magic, pa).unwrap_or_else(|e| {
        println!("{e}");
        crate::machine::fail(crate::machine::EXIT_BAD_BOOT)
    })
}

/// Check the loader's magic and parse the copy `boot/entry.S` made of the
/// block GRUB left at physical address `pa`.
///
/// Panics if the block was too big to copy, or if it does not parse.
pub fn parse(magic: u32, pa: u32) -> Result<BootInfo, BootInfoError> {
    if magic != MB2_BOOTLOADER_MAGIC {
        return Err(BootInfoError::WrongMagic(magic));
    }
    let copy = BOOTINFO_COPY.0.get();
    // SAFETY: the buffer is 8-byte aligned and entry.S wrote it before main;
    // nothing writes it since. Reading its first word is in bounds.
    let size = unsafe { copy.cast::<u32>().read() } as usize;
    assert!(
        size != 0,
        "boot: the boot information at {pa:#010x} is more than BOOTINFO_MAX = {BOOTINFO_MAX} bytes, \
         so boot/entry.S did not copy it; raise BOOTINFO_MAX in src/bootinfo.rs"
    );
    // SAFETY: the copy holds `size` <= BOOTINFO_MAX valid bytes of a block
    // GRUB built, and lives (unchanged) for the whole run.
    let info = unsafe { BootInformation::load(copy.cast::<BootInformationHeader>()) }
        .unwrap_or_else(|e| {
            panic!("boot: the boot information from {pa:#010x} does not parse: {e:?}")
        });
    Ok(BootInfo {
        info,
        original: PAddr(pa),
    })
}

impl BootInfo {
    /// The command line as GRUB gave it (`""` if it gave none).
    pub fn raw_cmdline(&self) -> &str {
        self.info
            .command_line_tag()
            .and_then(|t| t.cmdline().ok())
            .unwrap_or("")
    }

    /// The command line the kernel acts on (`""` for one too long to trust).
    pub fn cmdline(&self) -> &str {
        crate::cmdline::usable(self.raw_cmdline())
    }

    /// The boot loader's name (`"?"` if it gave none).
    pub fn loader_name(&self) -> &str {
        self.info
            .boot_loader_name_tag()
            .and_then(|t| t.name().ok())
            .unwrap_or("?")
    }

    /// Bytes in the block.
    pub fn size(&self) -> usize {
        self.info.total_size()
    }

    /// The memory map (see [`memmap::from_bootinfo`]), saying where it
    /// came from when it is not the memory-map tag. Panics if there is none.
    pub fn memory_map(&self) -> MemMap {
        let read = memmap::from_bootinfo(&self.info).unwrap_or_else(|e| panic!("{e}"));
        if read.source == Source::BasicMeminfo {
            println!("memory: no memory-map tag; using the basic meminfo tag");
        }
        if read.dropped > 0 {
            println!(
                "memory: more than {MAX_REGIONS} regions; ignored the last {}",
                read.dropped
            );
        }
        read.map
    }

    /// `[start, end)` physical addresses of each GRUB module.
    pub fn modules(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.info
            .module_tags()
            .map(|m| (m.start_address(), m.end_address()))
    }

    /// `[start, end)` physical addresses of the first GRUB module whose
    /// command line (`module2 FILE NAME`) is `name`.
    pub fn module(&self, name: &str) -> Option<(u32, u32)> {
        self.info
            .module_tags()
            .find(|m| m.cmdline() == Ok(name))
            .map(|m| (m.start_address(), m.end_address()))
    }

    /// Kernel virtual address of the copy.
    pub fn copy_addr(&self) -> usize {
        BOOTINFO_COPY.0.get() as usize
    }
}

impl core::fmt::Display for BootInfo {
    /// The boot report's lines: the loader and command line, a line for
    /// each word of it the kernel does not use as written, then where the
    /// block was and where the kernel copied it.
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        writeln!(
            f,
            "bootinfo: loader {:?}, cmdline {:?}",
            self.loader_name(),
            self.raw_cmdline()
        )?;
        for remark in crate::cmdline::remarks(self.raw_cmdline()) {
            writeln!(f, "{remark}")?;
        }
        write!(
            f,
            "bootinfo: {} bytes at pa {:#010x}, copied to {:#010x}",
            self.size(),
            self.original.0,
            self.copy_addr()
        )
    }
}

/// The machine's memory, printed as the boot report shows it: the map,
/// PHYSTOP clamped to the top of RAM, and what the allocator must never take
/// although the map calls it RAM (the kernel image, GRUB's boot information
/// and modules). Panics below the minimum RAM, so PHYSTOP is at least
/// MIN_RAM (= BOOT_MAPPED).
pub fn machine_memory(boot: &BootInfo) -> (Ram, PAddr) {
    use crate::image;
    use crate::memlayout::{EXTMEM, MIN_RAM, v2p};
    use memmap::effective_phystop;

    let map = boot.memory_map();
    for r in map.regions() {
        println!("memory: [{:#010x}, {:#010x}) {}", r.start, r.end, r.kind);
    }
    assert!(
        map.top_of_ram() >= u64::from(MIN_RAM.0),
        "need at least {} MiB of RAM, found {} MiB",
        MIN_RAM.0 >> 20,
        map.top_of_ram() >> 20
    );
    let (phystop, why) = effective_phystop(phystop_cap(boot.cmdline()), &map);
    println!("phystop: {phystop:#010x} ({why})");

    let mut ram = Ram::new(map);
    let image_end = u64::from(v2p(image::end_addr()).0);
    ram.reserve(u64::from(EXTMEM.0), image_end, "the kernel image");
    let info = u64::from(boot.original.0);
    ram.reserve(info, info + boot.size() as u64, "the boot information");
    for (start, end) in boot.modules() {
        println!("module: [{start:#010x}, {end:#010x})");
        ram.reserve(u64::from(start), u64::from(end), "a GRUB module");
    }
    (ram, PAddr(phystop))
}

/// The cap on PHYSTOP: the `phystop=` option if it is valid, else PHYSTOP
/// (saying why the option was refused).
fn phystop_cap(cmdline: &str) -> u32 {
    use crate::memlayout::{BOOT_MAPPED, PHYSTOP, PHYSTOP_OPTION_MAX};
    use memmap::parse_phystop;
    let Some(value) = crate::cmdline::value(cmdline, crate::cmdline::PHYSTOP) else {
        return PHYSTOP.0;
    };
    parse_phystop(value, BOOT_MAPPED.0, PHYSTOP_OPTION_MAX.0).unwrap_or_else(|e| {
        crate::println!(
            "phystop: refusing phystop={value}: {e}; allowed: page-aligned sizes from {:#x} to {:#x} \
             (the direct map's page tables must fit below 4 MiB); keeping {:#x}",
            BOOT_MAPPED.0,
            PHYSTOP_OPTION_MAX.0,
            PHYSTOP.0
        );
        PHYSTOP.0
    })
}
