//! The RAM disk (xv6's `memide.c`): the file system image the boot loader
//! loaded as the Multiboot2 module named `fs` (`./run-qemu.sh --fs IMG`).
//! `machine_memory` keeps every module's pages off the free lists, and
//! kvmalloc maps all RAM below PHYSTOP at P2V, so the image is read in
//! place.

use crate::bootinfo::BootInfo;
use crate::memlayout::{PAddr, p2v};
use crate::println;

/// The module's name on the boot loader's `module2` line.
pub const FS_MODULE: &str = "fs";

/// The image's bytes (it must lie below `top`, the PHYSTOP kvmalloc mapped), or None (with a line saying why) when there is no
/// usable one.
pub fn ideinit(boot: &BootInfo, top: PAddr) -> Option<&'static [u8]> {
    let (start, end) = boot.module(FS_MODULE)?;
    if end > top.0 {
        println!(
            "fs: the image at [{start:#010x}, {end:#010x}) lies above PHYSTOP ({:#010x}): give more RAM",
            top.0
        );
        return None;
    }
    let va = p2v(PAddr(start));
    // SAFETY: [start, end) is the module GRUB loaded; machine_memory
    // reserved it (never on a free list), kvmalloc mapped it at P2V, and
    // nothing writes it: a shared, read-only view for the kernel's life.
    Some(unsafe { core::slice::from_raw_parts(va.0 as *const u8, (end - start) as usize) })
}
