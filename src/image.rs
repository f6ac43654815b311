//! Where the linker put the kernel image (symbols from `linker.ld`).

use crate::memlayout::VAddr;

unsafe extern "C" {
    /// End of the text (page-aligned by linker.ld).
    static etext: u8;
    /// First byte of the writable data, page-aligned.
    static data: u8;
    /// End of the initialised data: .bss starts here.
    static edata: u8;
    /// First byte after the kernel image (.bss included).
    static end: u8;
    /// Entry point, in boot/entry.S.
    fn _start();
}

/// End of the kernel's text.
pub fn etext_addr() -> VAddr {
    VAddr(&raw const etext as u32)
}

/// Start of the kernel's writable data: kvmalloc maps below it read-only.
pub fn data_addr() -> VAddr {
    VAddr(&raw const data as u32)
}

/// End of the initialised data, start of .bss.
pub fn edata_addr() -> VAddr {
    VAddr(&raw const edata as u32)
}

/// End of the kernel image: kinit1 frees from the next page boundary.
pub fn end_addr() -> VAddr {
    VAddr(&raw const end as u32)
}

/// The first page boundary at or after `end`: the first page kinit1 may
/// free, and where boot_alloc starts.
pub fn end_page() -> VAddr {
    VAddr(crate::mmu::pgroundup(end_addr().0).expect("the image ends below 4 GiB"))
}

/// The entry point GRUB jumps to (its link address).
pub fn entry_addr() -> VAddr {
    VAddr(_start as *const () as u32)
}
