//! The monitor's descriptions of page-table entries: how one virtual page
//! is mapped (`showmappings`, `page`) and runs of alike directory entries
//! (`pgdir`).

use core::fmt;

use crate::memlayout::{PAddr, VAddr};
use crate::mmu::{PD, PDEntry, PDFlags, PDXSHIFT, PTFlags, pdx, pgaddr};
use crate::vm::{PageTableMemory, walkpgdir};

/// The present/write/user/large-page bits of an entry, as `P W U PS` with a
/// `-` for each bit that is clear.
pub struct Bits {
    present: bool,
    write: bool,
    user: bool,
    large: bool,
}

impl fmt::Display for Bits {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let bit = |on: bool, name: &'static str| if on { name } else { "-" };
        write!(
            f,
            "{} {} {} {}",
            bit(self.present, "P"),
            bit(self.write, "W"),
            bit(self.user, "U"),
            bit(self.large, "PS")
        )
    }
}

/// How one virtual page is mapped: the raw directory entry, the raw table
/// entry (none for a 4 MiB page or a missing table), and the result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub va: VAddr,
    pub pde: u32,
    pub pte: Option<u32>,
    /// The physical address `va` reaches, if it is mapped.
    pub pa: Option<PAddr>,
    /// The bits that decide access: the PTE's, or the PDE's for a 4 MiB page.
    pub present: bool,
    pub write: bool,
    pub user: bool,
    pub large: bool,
}

/// How `va` is mapped in the directory at `pgdir` of `mem`, read as the MMU
/// reads it: the directory entry, then, if it points at a page table, the
/// entry `walkpgdir` finds there. The effective write and user bits need
/// both levels to allow them.
pub fn mapping<M: PageTableMemory>(mem: &mut M, pgdir: PAddr, va: VAddr) -> Mapping {
    // SAFETY: as for walkpgdir, `pgdir` is a directory of this memory.
    let pde: PDEntry = unsafe { mem.pd(pgdir) }[pdx(va)];
    let d = pde.flags();
    let mut m = Mapping {
        va,
        pde: pde.0,
        pte: None,
        pa: None,
        present: d.contains(PDFlags::P),
        write: d.contains(PDFlags::RW),
        user: d.contains(PDFlags::US),
        large: d.contains(PDFlags::PS),
    };
    if !m.present {
        return m;
    }
    if m.large {
        m.pa = Some(pde.address() + va.large_page_offset());
        return m;
    }
    let pte = match walkpgdir(mem, pgdir, va, false) {
        Ok(Some(pte)) => *pte,
        _ => unreachable!("walkpgdir finds the table of a present directory entry"),
    };
    let t = pte.flags();
    m.pte = Some(pte.0);
    m.present = t.contains(PTFlags::P);
    m.write &= t.contains(PTFlags::RW);
    m.user &= t.contains(PTFlags::US);
    if m.present {
        m.pa = Some(pte.address() + va.base_page_offset());
    }
    m
}

impl Mapping {
    pub fn bits(&self) -> Bits {
        Bits {
            present: self.present,
            write: self.write,
            user: self.user,
            large: self.large,
        }
    }
}

impl fmt::Display for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{:#010x}  pde {:#010x}  ", self.va.0, self.pde)?;
        match self.pte {
            Some(pte) => write!(f, "pte {pte:#010x}  ")?,
            None => write!(f, "pte {:<10}  ", "-")?,
        }
        match self.pa {
            Some(pa) => write!(f, "pa {:#010x}  {}", pa.0, self.bits()),
            None if self.pte.is_none() && !self.large => {
                write!(f, "not mapped (no page table)")
            }
            None => write!(f, "not mapped"),
        }
    }
}

/// Consecutive present directory entries that look alike: the same P, W,
/// U and PS bits (each a page table, or each a 4 MiB page).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PdeRun {
    pub first: usize,
    pub last: usize,
    pub flags: PDFlags,
}

impl PdeRun {
    /// Virtual addresses the run covers: `[start, end)`, `end` as u64 so the
    /// run ending at 4 GiB can say so.
    pub fn span(&self) -> (u32, u64) {
        (
            pgaddr(self.first, 0, 0).0,
            ((self.last + 1) as u64) << PDXSHIFT,
        )
    }

    pub fn bits(&self) -> Bits {
        Bits {
            present: true,
            write: self.flags.contains(PDFlags::RW),
            user: self.flags.contains(PDFlags::US),
            large: self.flags.contains(PDFlags::PS),
        }
    }
}

/// Group the present entries of a directory into runs.
pub fn pde_runs(entries: &PD) -> impl Iterator<Item = PdeRun> + '_ {
    // Accessed and dirty bits differ from entry to entry as the CPU sets
    // them: they do not split a run.
    fn flags_of(e: PDEntry) -> PDFlags {
        e.flags() & (PDFlags::P | PDFlags::RW | PDFlags::US | PDFlags::PS)
    }
    let present = |e: PDEntry| e.is_present();
    let n = entries.len();
    let mut i = 0;
    core::iter::from_fn(move || {
        while i < n && !present(entries[i]) {
            i += 1;
        }
        if i == n {
            return None;
        }
        let first = i;
        let flags = flags_of(entries[i]);
        while i + 1 < n && present(entries[i + 1]) && flags_of(entries[i + 1]) == flags {
            i += 1;
        }
        i += 1;
        Some(PdeRun {
            first,
            last: i - 1,
            flags,
        })
    })
}
