//! The RAM disk (xv6's `memide.c`): the file system image the boot loader
//! loaded as the Multiboot2 module named `fs` (`./run-qemu.sh --fs IMG`).
//! `machine_memory` keeps every module's pages off the free lists, and
//! kvmalloc maps all RAM below PHYSTOP at P2V, so blocks are read and
//! written in place; what is written is gone at power-off.

use spin::Once;

use crate::bootinfo::BootInfo;
use crate::disk::error::DiskError;
use crate::fs::format::BSIZE;
use crate::memlayout::{PAddr, p2v};
use crate::println;

/// The module's name on the boot loader's `module2` line.
pub const FS_MODULE: &str = "fs";

/// The image in memory: its kernel address and whole blocks.
struct RamDisk {
    base: usize,
    blocks: u32,
}

static DISK: Once<RamDisk> = Once::new();

/// Find the image (it must lie below `top`, the PHYSTOP kvmalloc mapped):
/// its size in blocks, or None (with a line saying why) when there is no
/// usable one. A partial last block is left out.
pub fn ideinit(boot: &BootInfo, top: PAddr) -> Option<u32> {
    let (start, end) = boot.module(FS_MODULE)?;
    if end > top.0 {
        println!(
            "fs: the image at [{start:#010x}, {end:#010x}) lies above PHYSTOP ({:#010x}): give more RAM",
            top.0
        );
        return None;
    }
    let disk = DISK.call_once(|| RamDisk {
        base: p2v(PAddr(start)).0 as usize,
        blocks: ((end - start) as usize / BSIZE) as u32,
    });
    Some(disk.blocks)
}

/// Blocks on the RAM disk (0 without one).
pub fn blocks() -> u32 {
    DISK.get().map_or(0, |d| d.blocks)
}

/// The kernel address of block `blockno`, if it is on the disk.
fn at(blockno: u32) -> Result<*mut u8, DiskError> {
    let d = DISK.get().ok_or(DiskError::NoDisk)?;
    if blockno >= d.blocks {
        return Err(DiskError::PastEnd {
            blockno,
            blocks: d.blocks,
        });
    }
    Ok((d.base + blockno as usize * BSIZE) as *mut u8)
}

/// Copy block `blockno` into `data`.
pub fn read(blockno: u32, data: &mut [u8; BSIZE]) -> Result<(), DiskError> {
    let src = at(blockno)?;
    // SAFETY: the block lies inside the module (checked by `at`), which is
    // reserved and mapped at P2V for the kernel's life. Only the holder of
    // the block's one buffer (bio) moves it, so no write overlaps.
    unsafe { core::ptr::copy_nonoverlapping(src, data.as_mut_ptr(), BSIZE) };
    Ok(())
}

/// Copy `data` to block `blockno`.
pub fn write(blockno: u32, data: &[u8; BSIZE]) -> Result<(), DiskError> {
    let dst = at(blockno)?;
    // SAFETY: as in `read`: inside the reserved, mapped module, and the
    // block's buffer holder is the only one moving it.
    unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), dst, BSIZE) };
    Ok(())
}
