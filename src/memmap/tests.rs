//! Host tests of the memory-map arithmetic on synthetic maps.

use super::*;

const MIB: u64 = 1 << 20;

/// The map QEMU's BIOS gives a guest with `mem` MiB (below 3.5 GiB).
fn qemu_map(mem: u64) -> MemMap {
    let mut m = MemMap::empty();
    m.push(0, 0x9_FC00, Kind::Available);
    m.push(0x9_FC00, 0x400, Kind::Reserved);
    m.push(0xF_0000, 0x1_0000, Kind::Reserved);
    m.push(0x10_0000, mem * MIB - 0x10_0000 - 0x2_0000, Kind::Available);
    m.push(mem * MIB - 0x2_0000, 0x2_0000, Kind::Reserved);
    m.push(0xFFFC_0000, 0x4_0000, Kind::Reserved);
    m
}

#[test]
fn kinds_are_named_as_the_map_names_them() {
    let names: Vec<String> = (1..=6).map(|t| Kind::from_type(t).to_string()).collect();
    assert_eq!(
        names,
        [
            "available",
            "reserved",
            "ACPI reclaimable",
            "ACPI NVS",
            "defective",
            "type 6"
        ]
    );
}

#[test]
fn phystop_is_the_cap_or_the_top_of_ram() {
    let cap = 240 * MIB as u32;
    assert_eq!(effective_phystop(cap, &qemu_map(512)), (cap, Limit::Cap));
    assert_eq!(effective_phystop(cap, &qemu_map(256)), (cap, Limit::Cap));
    assert_eq!(
        effective_phystop(cap, &qemu_map(240)),
        ((240 * MIB - 0x2_0000) as u32, Limit::Ram)
    );
    assert_eq!(
        effective_phystop(cap, &qemu_map(128)),
        ((128 * MIB - 0x2_0000) as u32, Limit::Ram)
    );
    assert_eq!(effective_phystop(cap, &MemMap::empty()), (0, Limit::Ram));
}

#[test]
fn phystop_is_page_aligned_and_ignores_ram_above_4gib() {
    let mut m = MemMap::empty();
    m.push(0x10_0000, 0x0FF0_0123, Kind::Available); // ends mid-page
    assert_eq!(effective_phystop(u32::MAX, &m), (0x1000_0000, Limit::Ram));
    let mut m = MemMap::empty();
    m.push(0, 0xC000_0000, Kind::Available);
    m.push(0x1_0000_0000, 0x4000_0000, Kind::Available); // above 4 GiB
    assert_eq!(m.top_of_ram(), 0x1_4000_0000);
    assert_eq!(
        effective_phystop(0x7E00_0000, &m),
        (0x7E00_0000, Limit::Cap)
    );
    let mut m = MemMap::empty();
    m.push(0x1_0000_0000, 0x4000_0000, Kind::Available);
    assert_eq!(
        effective_phystop(0x7E00_0000, &m),
        (0x7E00_0000, Limit::Cap),
        "RAM only above 4G: capped"
    );
}

#[test]
fn holes_and_reserved_pages_are_not_ram() {
    let m = qemu_map(128);
    assert!(m.check_page(0).is_ok());
    assert!(m.check_page(0x9_E000).is_ok());
    // the page holding 0x9FC00 is half reserved: not RAM
    assert_eq!(
        m.check_page(0x9_F000),
        Err(Some(Region {
            start: 0x9_FC00,
            end: 0xA_0000,
            kind: Kind::Reserved
        }))
    );
    // the ISA hole is described by no region
    assert_eq!(m.check_page(0xA_0000), Err(None));
    assert_eq!(m.check_page(0xE_F000), Err(None));
    assert!(
        m.check_page(0xF_0000).unwrap_err().is_some(),
        "BIOS ROM is reserved"
    );
    assert!(m.check_page(0x10_0000).is_ok());
    assert!(m.check_page(128 * MIB - 0x2_1000).is_ok());
    assert!(m.check_page(128 * MIB - 0x2_0000).is_err());
    assert!(m.check_page(128 * MIB).is_err());
}

#[test]
fn unsorted_overlapping_and_empty_regions() {
    let mut m = MemMap::empty();
    m.push(0x20_0000, 0x20_0000, Kind::Available); // 2..4 MiB
    m.push(0x10_0000, 0x18_0000, Kind::Available); // 1..2.5 MiB, overlaps
    m.push(0x30_0000, 0x1000, Kind::AcpiNvs); // inside: reserved wins
    m.push(0x28_0000, 0, Kind::Reserved); // zero length: dropped
    assert_eq!(m.regions().len(), 3);
    assert!(m.check_page(0x10_0000).is_ok());
    assert!(
        m.check_page(0x27_F000).is_ok(),
        "covered by both available regions"
    );
    assert!(
        m.check_page(0x28_0000).is_ok(),
        "the zero-length region reserves nothing"
    );
    assert_eq!(
        m.check_page(0x30_0000).unwrap_err().unwrap().kind,
        Kind::AcpiNvs
    );
    assert!(m.check_page(0x30_1000).is_ok());
    assert_eq!(m.top_of_ram(), 0x40_0000);
    // overlaps counted once: 1 MiB..4 MiB minus one page
    let ram_pages = (0..0x40_0000)
        .step_by(0x1000)
        .filter(|&p| m.check_page(p).is_ok())
        .count();
    assert_eq!(ram_pages as u64 * 0x1000, 3 * MIB - 0x1000);
}

#[test]
fn a_page_split_between_two_available_regions_is_not_wholly_inside_either() {
    let mut m = MemMap::empty();
    m.push(0x1000, 0x800, Kind::Available);
    m.push(0x1800, 0x800, Kind::Available);
    assert_eq!(m.check_page(0x1000), Err(None));
}

#[test]
fn regions_past_2_64_are_cut_and_the_map_has_a_capacity() {
    let mut m = MemMap::empty();
    assert!(m.push(u64::MAX - 10, 100, Kind::Reserved));
    assert_eq!(m.regions()[0].end, u64::MAX);
    for i in 1..MAX_REGIONS as u64 {
        assert!(m.push(i * 0x1000, 0x1000, Kind::Available));
    }
    assert!(!m.push(0, 0x1000, Kind::Available), "full");
    assert_eq!(m.regions().len(), MAX_REGIONS);
}

#[test]
fn sizes_parse_in_every_form() {
    assert_eq!(parse_size("512M"), Some(512 * MIB));
    assert_eq!(parse_size("0x20000000"), Some(0x2000_0000));
    assert_eq!(parse_size("1G"), Some(1 << 30));
    assert_eq!(parse_size("4096k"), Some(4 * MIB));
    assert_eq!(parse_size("268435456"), Some(256 * MIB));
    assert_eq!(parse_size("0x10M"), Some(16 * MIB));
    for bad in [
        "",
        "M",
        "12Q",
        "0x",
        "-1M",
        "1.5G",
        "99999999999999999999",
        "20000000000G",
    ] {
        assert_eq!(parse_size(bad), None, "{bad:?}");
    }
}

#[test]
fn phystop_option_is_range_checked() {
    let (min, max) = (4 * MIB as u32, 0x7E00_0000);
    assert_eq!(parse_phystop("512M", min, max), Ok(512 * MIB as u32));
    assert_eq!(parse_phystop("0x7E000000", min, max), Ok(max));
    assert_eq!(parse_phystop("4M", min, max), Ok(min));
    assert_eq!(
        parse_phystop("0x7E001000", min, max),
        Err(SizeError::OutOfRange)
    );
    assert_eq!(parse_phystop("3M", min, max), Err(SizeError::OutOfRange));
    assert_eq!(parse_phystop("4G", min, max), Err(SizeError::OutOfRange));
    assert_eq!(
        parse_phystop("0x10000100", min, max),
        Err(SizeError::Misaligned)
    );
    assert_eq!(parse_phystop("lots", min, max), Err(SizeError::Malformed));
}

#[test]
fn reserved_ranges_and_map_regions_are_named() {
    let mut ram = Ram::new(qemu_map(128));
    ram.reserve(0x10_0000, 0x12_3456, "the kernel image");
    ram.reserve(0x5D_5DA8, 0x5D_61C0, "the boot information");
    assert_eq!(
        ram.check_page(0).unwrap_err().to_string(),
        "inside page 0 [0x00000000, 0x00001000)"
    );
    assert!(ram.check_page(0x1000).is_ok());
    assert_eq!(
        ram.check_page(0x12_3000).unwrap_err().to_string(),
        "inside the kernel image [0x00100000, 0x00123456)"
    );
    assert!(ram.check_page(0x12_4000).is_ok());
    assert!(
        matches!(ram.check_page(0x5D_6000), Err(NotRam::Reserved(r)) if r.what == "the boot information")
    );
    assert_eq!(
        ram.check_page(0xA_0000).unwrap_err().to_string(),
        "in a hole of the memory map (no available region covers it)"
    );
    assert_eq!(
        ram.check_page(0xF_0000).unwrap_err().to_string(),
        "inside the reserved region [0x000f0000, 0x00100000)"
    );
}

mod from_bootinfo {
    use super::super::*;
    use multiboot2::{
        BasicMemoryInfoTag, BootInformation, Builder, MemoryArea, MemoryAreaType, MemoryMapTag,
    };

    /// Build a boot information block and read its map.
    fn read(builder: Builder) -> Result<(Vec<Region>, Source, usize), NoMemoryInfo> {
        let mbi = builder.build();
        // SAFETY: the builder makes a complete, aligned block with an end tag.
        let info = unsafe { BootInformation::load(std::ptr::from_ref(&*mbi).cast()) }.unwrap();
        from_bootinfo(&info).map(|r| (r.map.regions().to_vec(), r.source, r.dropped))
    }

    #[test]
    fn the_memory_map_tag_is_read_with_64_bit_fields() {
        let areas = [
            MemoryArea::new(0, 0x9_FC00, MemoryAreaType::Available),
            MemoryArea::new(0x10_0000, 0x7FE_0000, MemoryAreaType::Available),
            MemoryArea::new(0x1_0000_0000, 0x4000_0000, MemoryAreaType::Available),
            MemoryArea::new(0xFFFC_0000, 0x4_0000, MemoryAreaType::Reserved),
        ];
        let b = Builder::new()
            .mmap(MemoryMapTag::new(&areas))
            .meminfo(BasicMemoryInfoTag::new(639, 1000));
        let (regions, source, dropped) = read(b).unwrap();
        assert_eq!(
            (source, dropped),
            (Source::MemoryMap, 0),
            "the map wins over meminfo"
        );
        assert_eq!(regions.len(), 4);
        assert_eq!(
            regions[2],
            Region {
                start: 0x1_0000_0000,
                end: 0x1_4000_0000,
                kind: Kind::Available
            }
        );
        assert_eq!(regions[3].kind, Kind::Reserved);
    }

    #[test]
    fn without_a_map_the_basic_meminfo_tag_is_used() {
        let (regions, source, _) =
            read(Builder::new().meminfo(BasicMemoryInfoTag::new(639, 130_944))).unwrap();
        assert_eq!(source, Source::BasicMeminfo);
        assert_eq!(
            regions,
            [
                Region {
                    start: 0,
                    end: 639 * 1024,
                    kind: Kind::Available
                },
                Region {
                    start: 0x10_0000,
                    end: 0x10_0000 + 130_944 * 1024,
                    kind: Kind::Available
                },
            ]
        );
    }

    #[test]
    fn with_neither_tag_there_is_no_memory_information() {
        let e = read(Builder::new()).unwrap_err();
        assert!(
            e.to_string()
                .contains("neither a memory-map tag nor a basic meminfo tag")
        );
    }

    #[test]
    fn a_map_longer_than_the_table_reports_what_it_dropped() {
        let areas: Vec<MemoryArea> = (0..MAX_REGIONS as u64 + 3)
            .map(|i| MemoryArea::new(i * 0x1000, 0x1000, MemoryAreaType::Available))
            .collect();
        let (regions, _, dropped) = read(Builder::new().mmap(MemoryMapTag::new(&areas))).unwrap();
        assert_eq!((regions.len(), dropped), (MAX_REGIONS, 3));
    }
}

/// Every page below `limit`, and the last page below 4 GiB: the runs
/// answer exactly what the region-by-region walk answers, and
/// `usable_within` lists exactly the usable pages of a range.
fn runs_agree_with_the_walk(ram: &Ram, limit: u64) {
    let pg = PGSIZE as u64;
    let pages = (0..limit).step_by(PGSIZE).chain([(1 << 32) - pg]);
    for pa in pages {
        assert_eq!(ram.check_page(pa), ram.why_not_ram(pa), "page {pa:#x}");
    }
    let (lo, hi) = (0x1000u32, limit as u32 - 0x3000);
    let runs: Vec<(u32, u32)> = ram.usable_within(lo, hi).collect();
    for &(a, b) in &runs {
        let aligned = a % PGSIZE as u32 == 0 && b % PGSIZE as u32 == 0;
        assert!(
            aligned && lo <= a && a < b && b <= hi,
            "run [{a:#x}, {b:#x})"
        );
    }
    let listed: Vec<u32> = runs
        .iter()
        .flat_map(|&(a, b)| (a..b).step_by(PGSIZE))
        .collect();
    let walked: Vec<u32> = (lo..hi)
        .step_by(PGSIZE)
        .filter(|&p| ram.why_not_ram(u64::from(p)).is_ok())
        .collect();
    assert_eq!(listed, walked, "usable_within({lo:#x}, {hi:#x})");
}

#[test]
fn the_runs_of_usable_pages_answer_as_the_map_does() {
    // QEMU's map with the kernel's reservations, one straddling two pages
    let mut ram = Ram::new(qemu_map(64));
    ram.reserve(0x10_0000, 0x16_4f3c, "the kernel image");
    ram.reserve(0x17_ffc8, 0x18_02c0, "the boot information");
    ram.reserve(0x78_A000, 0xA8_A000, "a GRUB module");
    runs_agree_with_the_walk(&ram, 64 * MIB + 0x10_0000);

    // unsorted, overlapping, mid-page ends, a hole, a region inside another
    let mut m = MemMap::empty();
    m.push(0x20_0000, 0x20_0000, Kind::Available);
    m.push(0x10_0000, 0x18_0123, Kind::Available);
    m.push(0x30_0800, 0x1000, Kind::AcpiNvs);
    m.push(0x50_0000, 0x1_0000, Kind::Available); // after a hole
    m.push(0x50_8000, 0x0, Kind::Reserved);
    let mut ram = Ram::new(m);
    ram.reserve(0x20_0000, 0x20_0001, "one byte");
    runs_agree_with_the_walk(&ram, 0x60_0000);

    // RAM up to the end of 32 bits and beyond: the last page counts
    let mut m = MemMap::empty();
    m.push(0, 0x2_0000_0000, Kind::Available);
    let ram = Ram::new(m);
    assert!(ram.check_page((1 << 32) - PGSIZE as u64).is_ok());
    assert!(ram.check_page(1 << 32).is_ok(), "above 4 GiB, by the walk");
    assert_eq!(ram.usable_within(0xFFFF_E000, 0xFFFF_F000).count(), 1);
}
