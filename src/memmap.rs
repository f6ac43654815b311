//! The machine's physical memory as the firmware describes it (the
//! Multiboot2 memory map), and the arithmetic the kernel does with it: the
//! top of RAM, the effective PHYSTOP, and which pages may be freed.
//!
//! The C xv6 trusts PHYSTOP: with less RAM its free list fills with pages
//! that do not exist. Here a page is freed only if it lies wholly inside a
//! region the map calls available and overlaps no region it calls anything
//! else (maps may overlap, and reserved wins), nor a range the kernel
//! reserves itself (its image, the boot information, GRUB's modules).

use core::fmt;

use multiboot2::BootInformation;

use crate::memlayout::EXTMEM;
use crate::mmu::{PGSIZE, pgrounddown};

mod runs;
use runs::Runs;

/// The region types of the Multiboot2 memory map (spec 3.6.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Available,
    Reserved,
    AcpiReclaimable,
    AcpiNvs,
    Defective,
    Unknown(u32),
}

impl Kind {
    /// The kind for the map's `type` field.
    pub fn from_type(t: u32) -> Kind {
        match t {
            1 => Kind::Available,
            2 => Kind::Reserved,
            3 => Kind::AcpiReclaimable,
            4 => Kind::AcpiNvs,
            5 => Kind::Defective,
            n => Kind::Unknown(n),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match *self {
            Kind::Available => f.write_str("available"),
            Kind::Reserved => f.write_str("reserved"),
            Kind::AcpiReclaimable => f.write_str("ACPI reclaimable"),
            Kind::AcpiNvs => f.write_str("ACPI NVS"),
            Kind::Defective => f.write_str("defective"),
            Kind::Unknown(n) => write!(f, "type {n}"),
        }
    }
}

/// `[start, end)` bytes of physical memory of one kind. 64-bit: the map
/// describes memory above 4 GiB too, which this 32-bit kernel never uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    pub start: u64,
    pub end: u64,
    pub kind: Kind,
}

impl Region {
    fn overlaps(&self, start: u64, end: u64) -> bool {
        self.start < end && start < self.end
    }
}

/// Most regions the kernel keeps (BIOS maps have about ten).
pub const MAX_REGIONS: usize = 64;

/// The memory map, in the firmware's order.
#[derive(Clone, Copy)]
pub struct MemMap {
    regions: [Region; MAX_REGIONS],
    len: usize,
}

impl MemMap {
    pub const fn empty() -> Self {
        MemMap {
            regions: [Region {
                start: 0,
                end: 0,
                kind: Kind::Reserved,
            }; MAX_REGIONS],
            len: 0,
        }
    }

    /// Add a region of `len` bytes from `start`; zero-length ones are
    /// dropped, and one that would run past 2^64 is cut there. Returns false
    /// (and keeps nothing) when the map is full.
    pub fn push(&mut self, start: u64, len: u64, kind: Kind) -> bool {
        if len == 0 {
            return true;
        }
        if self.len == MAX_REGIONS {
            return false;
        }
        let end = start.saturating_add(len);
        self.regions[self.len] = Region { start, end, kind };
        self.len += 1;
        true
    }

    pub fn regions(&self) -> &[Region] {
        &self.regions[..self.len]
    }

    /// The end of the highest available region (0 if there is none).
    pub fn top_of_ram(&self) -> u64 {
        self.regions()
            .iter()
            .filter(|r| r.kind == Kind::Available)
            .map(|r| r.end)
            .max()
            .unwrap_or(0)
    }

    /// The region that keeps the page at `pa` from being RAM: a
    /// non-available region overlapping it. `Ok(())` if the page lies wholly
    /// inside an available region and overlaps nothing else; `Err(None)` if
    /// no available region covers it (a hole the map does not describe).
    pub fn check_page(&self, pa: u64) -> Result<(), Option<Region>> {
        let end = pa + PGSIZE as u64;
        if let Some(r) = self
            .regions()
            .iter()
            .find(|r| r.kind != Kind::Available && r.overlaps(pa, end))
        {
            return Err(Some(*r));
        }
        let covered = self
            .regions()
            .iter()
            .any(|r| r.kind == Kind::Available && r.start <= pa && end <= r.end);
        if covered { Ok(()) } else { Err(None) }
    }
}

/// Where a [`MemMap`] came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The Multiboot2 memory-map tag.
    MemoryMap,
    /// No map: the basic meminfo tag's lower (from 0) and upper (from 1 MiB)
    /// memory sizes.
    BasicMeminfo,
}

/// The memory map read from the boot information.
pub struct MapRead {
    pub map: MemMap,
    pub source: Source,
    /// Regions left out because the map was full.
    pub dropped: usize,
}

/// The boot information describes no memory at all.
#[derive(Debug, PartialEq, Eq)]
pub struct NoMemoryInfo;

impl fmt::Display for NoMemoryInfo {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(
            "memory: the boot information has neither a memory-map tag nor a basic meminfo tag, \
             so the kernel cannot know where RAM is",
        )
    }
}

/// Read the memory map from the boot information: the memory-map tag if
/// there is one, else the basic meminfo tag (sizes in KiB).
pub fn from_bootinfo(info: &BootInformation) -> Result<MapRead, NoMemoryInfo> {
    let mut map = MemMap::empty();
    if let Some(tag) = info.memory_map_tag() {
        let mut dropped = 0;
        for a in tag.memory_areas() {
            if !map.push(a.start_address(), a.size(), Kind::from_type(a.typ().val())) {
                dropped += 1;
            }
        }
        return Ok(MapRead {
            map,
            source: Source::MemoryMap,
            dropped,
        });
    }
    let basic = info.basic_memory_info_tag().ok_or(NoMemoryInfo)?;
    const KIB: u64 = 1024;
    map.push(0, u64::from(basic.memory_lower()) * KIB, Kind::Available);
    map.push(
        u64::from(EXTMEM.0),
        u64::from(basic.memory_upper()) * KIB,
        Kind::Available,
    );
    Ok(MapRead {
        map,
        source: Source::BasicMeminfo,
        dropped: 0,
    })
}

/// Why the effective PHYSTOP is what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// The cap (PHYSTOP, or the `phystop=` option) is below the top of RAM.
    Cap,
    /// RAM ends first.
    Ram,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Limit::Cap => "cap",
            Limit::Ram => "ram",
        })
    }
}

/// `min(cap, top of RAM)`, rounded down to a page.
pub fn effective_phystop(cap: u32, map: &MemMap) -> (u32, Limit) {
    let ram = pgrounddown(map.top_of_ram().min(u64::from(u32::MAX)) as u32);
    if cap <= ram {
        (cap, Limit::Cap)
    } else {
        (ram, Limit::Ram)
    }
}

/// Why a `phystop=` value was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeError {
    Malformed,
    OutOfRange,
    Misaligned,
}

impl fmt::Display for SizeError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            SizeError::Malformed => "not a size (write 512M, 0x20000000 or 536870912)",
            SizeError::OutOfRange => "out of range",
            SizeError::Misaligned => "not a multiple of the page size",
        })
    }
}

/// Parse a size: decimal bytes, `0x` hex bytes, or a number with a `K`,
/// `M` or `G` suffix (powers of 1024). `None` if malformed or past 2^64.
pub fn parse_size(s: &str) -> Option<u64> {
    let (digits, unit) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 1u64 << 10),
        b'M' | b'm' => (&s[..s.len() - 1], 1 << 20),
        b'G' | b'g' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let n = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => digits.parse::<u64>().ok()?,
    };
    n.checked_mul(unit)
}

/// The `phystop=` option: a page-aligned size in `[min, max]`.
pub fn parse_phystop(s: &str, min: u32, max: u32) -> Result<u32, SizeError> {
    let n = parse_size(s).ok_or(SizeError::Malformed)?;
    if n < u64::from(min) || n > u64::from(max) {
        return Err(SizeError::OutOfRange);
    }
    if n % PGSIZE as u64 != 0 {
        return Err(SizeError::Misaligned);
    }
    Ok(n as u32)
}

/// Most ranges the kernel reserves for itself.
pub const MAX_RESERVED: usize = 16;

/// A range of physical memory the kernel keeps out of the free list even
/// where the map says RAM: page 0, its image, GRUB's boot information and
/// modules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reserved {
    pub start: u64,
    pub end: u64,
    pub what: &'static str,
}

/// Why a page may not be on the free list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotRam {
    /// A region of the map that is not available memory overlaps it.
    Region(Region),
    /// No available region covers it.
    Hole,
    /// The kernel reserves it.
    Reserved(Reserved),
}

impl fmt::Display for NotRam {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            NotRam::Region(r) => write!(
                f,
                "inside the {} region [{:#010x}, {:#010x})",
                r.kind, r.start, r.end
            ),
            NotRam::Hole => {
                f.write_str("in a hole of the memory map (no available region covers it)")
            }
            NotRam::Reserved(r) => {
                write!(f, "inside {} [{:#010x}, {:#010x})", r.what, r.start, r.end)
            }
        }
    }
}

/// Physical memory as the kernel may use it: the firmware's map less the
/// ranges the kernel reserves.
#[derive(Clone, Copy)]
pub struct Ram {
    pub map: MemMap,
    reserved: [Reserved; MAX_RESERVED],
    nreserved: usize,
    /// What `check_page` answers, worked out again at each change.
    runs: Runs,
}

impl Ram {
    /// The map with nothing reserved but page 0 (never freed: a null
    /// physical address must never name a page).
    pub fn new(map: MemMap) -> Self {
        let none = Reserved {
            start: 0,
            end: 0,
            what: "",
        };
        let mut ram = Ram {
            map,
            reserved: [none; MAX_RESERVED],
            nreserved: 0,
            runs: Runs::build([], |_| false),
        };
        ram.reserve(0, PGSIZE as u64, "page 0");
        ram
    }

    /// Work the runs of usable pages out again from the map and the
    /// reservations.
    fn update_runs(&mut self) {
        let ranges = self.map.regions().iter().map(|r| (r.start, r.end));
        let ranges = ranges.chain(self.reserved().iter().map(|r| (r.start, r.end)));
        let points = ranges.flat_map(|(start, end)| runs::boundaries(start, end));
        self.runs = Runs::build(points, |pa| self.why_not_ram(pa).is_ok());
    }

    /// Keep `[start, end)` off the free list. Panics when full: the kernel
    /// reserves a fixed handful of ranges.
    pub fn reserve(&mut self, start: u64, end: u64, what: &'static str) {
        assert!(
            self.nreserved < MAX_RESERVED,
            "memmap: more than {MAX_RESERVED} reserved ranges ({what})"
        );
        self.reserved[self.nreserved] = Reserved { start, end, what };
        self.nreserved += 1;
        self.update_runs();
    }

    pub fn reserved(&self) -> &[Reserved] {
        &self.reserved[..self.nreserved]
    }

    /// Whether the page at `pa` may go on the free list, and if not why.
    pub fn check_page(&self, pa: u64) -> Result<(), NotRam> {
        match u32::try_from(pa) {
            Ok(pa32) if self.runs.contains(pa32) => Ok(()),
            _ => self.why_not_ram(pa),
        }
    }

    /// The runs of usable pages in `[start, end)` (page-aligned physical
    /// addresses), lowest first: `(first page, end)`.
    pub fn usable_within(&self, start: u32, end: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.runs.within(start, end)
    }

    /// `check_page` the long way, region by region: the truth the runs are
    /// worked out from, and the reason given for a page that is not RAM.
    fn why_not_ram(&self, pa: u64) -> Result<(), NotRam> {
        let end = pa + PGSIZE as u64;
        if let Some(r) = self.reserved().iter().find(|r| r.start < end && pa < r.end) {
            return Err(NotRam::Reserved(*r));
        }
        self.map
            .check_page(pa)
            .map_err(|e| e.map_or(NotRam::Hole, NotRam::Region))
    }
}

#[cfg(test)]
mod tests;
