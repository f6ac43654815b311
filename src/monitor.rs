//! The kernel monitor (JOS's `monitor.c`): a prompt, `K> `, on the serial
//! console and the screen, where a student inspects and pokes the memory
//! system. This file is the pure part, unit-tested on the host: reading
//! arguments, and describing page-table entries. The commands themselves
//! are in `monitor/kernel.rs`.

use core::fmt;

use crate::memlayout::VAddr;
use crate::mmu::{LARGE_PGSIZE, NPDENTRIES, PDFlags, PDXSHIFT, PGSIZE, PTFlags};

/// Why an argument was refused; shown with the command's usage line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgError<'a> {
    /// A required argument is missing.
    Missing(&'static str),
    /// Not a number: decimal, or hex with `0x`.
    NotANumber(&'static str, &'a str),
    /// Below the least value allowed.
    TooSmall(&'static str, u32, u32),
    /// More arguments than the command takes.
    Extra(&'a str),
}

impl fmt::Display for ArgError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match *self {
            ArgError::Missing(what) => write!(f, "missing <{what}>"),
            ArgError::NotANumber(what, s) => write!(
                f,
                "<{what}> {s:?} is not a number (decimal, or hex starting 0x)"
            ),
            ArgError::TooSmall(what, v, min) => write!(f, "<{what}> {v} is below {min}"),
            ArgError::Extra(s) => write!(f, "unexpected argument {s:?}"),
        }
    }
}

/// Parse a 32-bit number: `0x` hex or decimal.
pub fn parse_number(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// The words after a command's name, taken one by one.
pub struct Args<'a> {
    words: core::str::SplitAsciiWhitespace<'a>,
}

impl<'a> Args<'a> {
    pub fn new(words: core::str::SplitAsciiWhitespace<'a>) -> Args<'a> {
        Args { words }
    }

    /// The next argument as a number, if there is one.
    pub fn optional(&mut self, what: &'static str) -> Result<Option<u32>, ArgError<'a>> {
        self.words
            .next()
            .map(|w| parse_number(w).ok_or(ArgError::NotANumber(what, w)))
            .transpose()
    }

    /// The next argument as a number; it must be there.
    pub fn required(&mut self, what: &'static str) -> Result<u32, ArgError<'a>> {
        self.optional(what)?.ok_or(ArgError::Missing(what))
    }

    /// An optional count: `default` when absent, at least `min`.
    pub fn count(
        &mut self,
        what: &'static str,
        default: u32,
        min: u32,
    ) -> Result<u32, ArgError<'a>> {
        let n = self.optional(what)?.unwrap_or(default);
        if n < min {
            return Err(ArgError::TooSmall(what, n, min));
        }
        Ok(n)
    }

    /// Refuse anything left over.
    pub fn done(mut self) -> Result<(), ArgError<'a>> {
        match self.words.next() {
            Some(w) => Err(ArgError::Extra(w)),
            None => Ok(()),
        }
    }
}

/// The `monitor=` option's commands: separated by `;`, blank ones skipped.
pub fn script(option: &str) -> impl Iterator<Item = &str> {
    option.split(';').map(str::trim).filter(|c| !c.is_empty())
}

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
    pub pa: Option<u32>,
    /// The bits that decide access: the PTE's, or the PDE's for a 4 MiB page.
    pub present: bool,
    pub write: bool,
    pub user: bool,
    pub large: bool,
}

/// Walk the two levels by hand for `va` (what the MMU does): `pde` is the
/// directory entry for `va`, `read_pte(table_pa, index)` reads a table entry.
/// The effective write and user bits need both levels to allow them.
pub fn mapping(va: VAddr, pde: u32, read_pte: impl FnOnce(u32, usize) -> u32) -> Mapping {
    let d = PDFlags::from_bits_truncate(pde);
    let mut m = Mapping {
        va,
        pde,
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
        let offset = va.0 & (LARGE_PGSIZE as u32 - 1);
        m.pa = Some((pde & !(LARGE_PGSIZE as u32 - 1)) + offset);
        return m;
    }
    let pte = read_pte(pde & !(PGSIZE as u32 - 1), crate::mmu::ptx(va));
    let t = PTFlags::from_bits_truncate(pte);
    m.pte = Some(pte);
    m.present = t.contains(PTFlags::P);
    m.write &= t.contains(PTFlags::RW);
    m.user &= t.contains(PTFlags::US);
    if m.present {
        m.pa = Some((pte & !(PGSIZE as u32 - 1)) + (va.0 & (PGSIZE as u32 - 1)));
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
            Some(pa) => write!(f, "pa {pa:#010x}  {}", self.bits()),
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
            (self.first << PDXSHIFT) as u32,
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

/// Group the present entries of a directory (`entries[i]` is PDE i) into runs.
pub fn pde_runs(entries: &[u32; NPDENTRIES]) -> impl Iterator<Item = PdeRun> + '_ {
    // Accessed and dirty bits differ from entry to entry as the CPU sets
    // them: they do not split a run.
    fn flags_of(e: u32) -> PDFlags {
        PDFlags::from_bits_truncate(e) & (PDFlags::P | PDFlags::RW | PDFlags::US | PDFlags::PS)
    }
    let present = |e: u32| flags_of(e).contains(PDFlags::P);
    let mut i = 0;
    core::iter::from_fn(move || {
        while i < NPDENTRIES && !present(entries[i]) {
            i += 1;
        }
        if i == NPDENTRIES {
            return None;
        }
        let first = i;
        let flags = flags_of(entries[i]);
        while i + 1 < NPDENTRIES && present(entries[i + 1]) && flags_of(entries[i + 1]) == flags {
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

#[cfg(kernel)]
mod kernel;
#[cfg(kernel)]
mod pages;
#[cfg(kernel)]
pub use kernel::{Machine, monitor};

#[cfg(test)]
mod tests;
