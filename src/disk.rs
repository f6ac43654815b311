//! The root device: the one place the file system reaches a disk. It
//! moves whole blocks (`BSIZE` bytes) by block number; `diskinit` picks
//! the backend at boot from the kernel option `root=` (protocol::
//! ROOT_OPTION): the RAM disk (`memide`, the GRUB module `fs`; the
//! default, `root=ram`) or the IDE disk (`ide`, `root=ide`, what
//! `./run-qemu.sh --disk FILE` attaches). Every write of either passes the
//! power-cut hook (`powercut`) first.

pub mod error;

#[cfg(kernel)]
use spin::Once;

#[cfg(kernel)]
use crate::fs::format::BSIZE;
#[cfg(kernel)]
use crate::ide::Transfer;
use crate::protocol::{ROOT_IDE, ROOT_RAM};
#[cfg(kernel)]
use error::DiskError;

/// Which disk holds the root file system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Root {
    /// The RAM disk (the GRUB module).
    Ram,
    /// Disk 1 of the primary IDE channel.
    Ide,
}

impl Root {
    /// The disk `root=` names (None: the default, the RAM disk); a value
    /// that names neither is refused with itself.
    pub fn parse(value: Option<&str>) -> Result<Root, &str> {
        match value {
            None => Ok(Root::Ram),
            Some(v) if v == ROOT_RAM => Ok(Root::Ram),
            Some(v) if v == ROOT_IDE => Ok(Root::Ide),
            Some(v) => Err(v),
        }
    }
}

/// The root device, once `diskinit` found it.
#[cfg(kernel)]
static ROOT: Once<Root> = Once::new();

/// Find the root device `root=` names, and read `powercut=`: its size in
/// blocks, or None (with a line saying why) when there is none.
#[cfg(kernel)]
pub fn diskinit(boot: &crate::bootinfo::BootInfo, top: crate::memlayout::PAddr) -> Option<u32> {
    let cmdline = boot.cmdline();
    crate::powercut::init(cmdline);
    use crate::protocol::ROOT_OPTION;
    let root = Root::parse(crate::cmdline::value(cmdline, ROOT_OPTION)).unwrap_or_else(|bad| {
        crate::println!(
            "disk: {ROOT_OPTION}={bad} is neither {ROOT_RAM} nor {ROOT_IDE}: using {ROOT_RAM}"
        );
        Root::Ram
    });
    let blocks = match root {
        Root::Ram => crate::memide::ideinit(boot, top)?,
        Root::Ide => match crate::ide::ideinit() {
            Ok(blocks) => {
                crate::println!("ide: disk 1 has {blocks} blocks");
                blocks
            }
            Err(e) => {
                crate::println!("ide: {e}: no root file system");
                return None;
            }
        },
    };
    ROOT.call_once(|| root);
    Some(blocks)
}

/// Blocks on the root device (0 before `diskinit` found one).
#[cfg(kernel)]
pub fn blocks() -> u32 {
    match ROOT.get() {
        Some(Root::Ram) => crate::memide::blocks(),
        Some(Root::Ide) => crate::ide::blocks().unwrap_or(0),
        None => 0,
    }
}

/// Read block `blockno` into `data`.
#[cfg(kernel)]
pub fn read(blockno: u32, data: &mut [u8; BSIZE]) -> Result<(), DiskError> {
    match ROOT.get() {
        Some(Root::Ram) => crate::memide::read(blockno, data),
        Some(Root::Ide) => crate::ide::iderw(blockno, Transfer::Read(data)).map_err(DiskError::Ide),
        None => Err(DiskError::NoDisk),
    }
}

/// Write `data` to block `blockno`; at a simulated power cut the write is
/// dropped and the machine stops instead (`powercut`).
#[cfg(kernel)]
pub fn write(blockno: u32, data: &[u8; BSIZE]) -> Result<(), DiskError> {
    let root = *ROOT.get().ok_or(DiskError::NoDisk)?;
    crate::powercut::before_write();
    match root {
        Root::Ram => crate::memide::write(blockno, data),
        Root::Ide => crate::ide::iderw(blockno, Transfer::Write(data)).map_err(DiskError::Ide),
    }?;
    crate::powercut::after_write();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_names_the_ram_disk_by_default_or_the_ide_disk() {
        assert_eq!(Root::parse(None), Ok(Root::Ram));
        assert_eq!(Root::parse(Some(ROOT_RAM)), Ok(Root::Ram));
        assert_eq!(Root::parse(Some(ROOT_IDE)), Ok(Root::Ide));
        assert_eq!(Root::parse(Some("floppy")), Err("floppy"));
    }
}
