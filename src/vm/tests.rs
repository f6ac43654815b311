//! Host tests of the kernel map and the page-table code on simulated pages.

use super::*;
use crate::debug::sim::vm::SimTables;
use crate::memlayout::{KSTACKS, PHYSTOP};
use crate::mmu::{PDFlags, PGSIZE};

const DATA: VAddr = VAddr(0x8010_6000);

/// What the kernel page directory maps `va` to: (pa, writable), or None.
fn translate(mem: &mut SimTables, pgdir: PAddr, va: VAddr) -> Option<(PAddr, PTFlags)> {
    let pte = *walkpgdir(mem, pgdir, va, false).unwrap()?;
    pte.is_present()
        .then(|| (pte.address() + va.base_page_offset(), pte.flags()))
}

#[test]
fn kmap_rows_are_xv6s() {
    let m = kmap(DATA, PHYSTOP);
    assert_eq!(
        m[0],
        Kmap {
            name: "I/O space",
            virt: VAddr(0x8000_0000),
            phys: PAddr(0),
            size: 0x10_0000,
            perm: PTFlags::RW
        }
    );
    assert_eq!(
        (m[1].virt, m[1].phys, m[1].size, m[1].perm),
        (
            VAddr(0x8010_0000),
            PAddr(0x10_0000),
            0x6000,
            PTFlags::empty()
        )
    );
    assert_eq!(
        (m[2].virt, m[2].phys, m[2].size, m[2].perm),
        (DATA, PAddr(0x10_6000), 0x0F00_0000 - 0x10_6000, PTFlags::RW)
    );
    assert_eq!(
        (m[3].virt, m[3].phys, m[3].size, m[3].perm),
        (
            VAddr(0xFE00_0000),
            PAddr(0xFE00_0000),
            0x0200_0000,
            PTFlags::RW
        )
    );
    assert!(
        m.iter().all(|k| !k.perm.contains(PTFlags::US)),
        "no user bit anywhere"
    );
}

#[test]
fn kmap_lookup_finds_each_region_and_nothing_else() {
    let m = kmap(DATA, PHYSTOP);
    assert_eq!(
        kmap_lookup(&m, VAddr(0x800B_8000)),
        Some((PAddr(0xB_8000), PTFlags::RW))
    );
    assert_eq!(
        kmap_lookup(&m, VAddr(0x8010_0024)),
        Some((PAddr(0x10_0024), PTFlags::empty()))
    );
    assert_eq!(
        kmap_lookup(&m, VAddr(0x8010_5FFF)),
        Some((PAddr(0x10_5FFF), PTFlags::empty()))
    );
    assert_eq!(kmap_lookup(&m, DATA), Some((PAddr(0x10_6000), PTFlags::RW)));
    assert_eq!(
        kmap_lookup(&m, VAddr(0x8EFF_FFFF)),
        Some((PAddr(0x0EFF_FFFF), PTFlags::RW))
    );
    assert_eq!(
        kmap_lookup(&m, VAddr(0x8F00_0000)),
        None,
        "P2V(PHYSTOP) is not mapped"
    );
    assert_eq!(kmap_lookup(&m, VAddr(0xFDFF_FFFF)), None);
    assert_eq!(
        kmap_lookup(&m, VAddr(0xFEE0_0000)),
        Some((PAddr(0xFEE0_0000), PTFlags::RW))
    );
    assert_eq!(
        kmap_lookup(&m, VAddr(0xFFFF_FFFF)),
        Some((PAddr(0xFFFF_FFFF), PTFlags::RW))
    );
    assert_eq!(kmap_lookup(&m, VAddr(0x0010_0000)), None, "no low mapping");
}

#[test]
fn setupkvm_builds_exactly_the_kmap() {
    let mut mem = SimTables::new(usize::MAX);
    let pgdir = setupkvm(&mut mem, DATA, PHYSTOP).unwrap();
    // 1 directory + 60 tables for 240 MiB at KERNBASE + 8 for DEVSPACE
    // + 1 for the kernel-stacks window
    assert_eq!(mem.ram.npages(), 1 + 60 + 8 + 1);
    assert_eq!(mem.ram.npages(), kvm_pages(PHYSTOP));
    let m = kmap(DATA, PHYSTOP);
    // every page of every region, and the pages just outside them
    for va in (0..=u32::MAX).step_by(PGSIZE).map(VAddr) {
        let want = kmap_lookup(&m, va).map(|(pa, perm)| (pa, perm | PTFlags::P));
        assert_eq!(translate(&mut mem, pgdir, va), want, "at {:#010x}", va.0);
    }
    // directory entries: present+writable tables only, never user, never PSE
    // SAFETY: `pgdir` came from this memory's alloc_table.
    let pd = *unsafe { mem.pd(pgdir) };
    // (the low 12 bits only: in a table PDE, bit 12 is address, not PAT)
    for e in pd.iter().filter(|e| e.is_present()) {
        assert_eq!(
            e.0 & 0xFFF & !PDFlags::A.bits(),
            (PDFlags::P | PDFlags::RW).bits()
        );
    }
}

#[test]
fn setupkvm_running_out_part_way_gives_every_page_back() {
    // 70 pages build the map: fail at every point before that
    for limit in 0..70 {
        let mut mem = SimTables::new(limit);
        assert_eq!(
            setupkvm(&mut mem, DATA, PHYSTOP),
            Err(OutOfMemory),
            "limit {limit}"
        );
        assert_eq!(
            mem.ram.npages(),
            0,
            "limit {limit}: {} pages leaked",
            mem.ram.npages()
        );
    }
    let mut mem = SimTables::new(70);
    assert!(setupkvm(&mut mem, DATA, PHYSTOP).is_ok());
}

#[test]
fn freevm_frees_tables_and_directory() {
    let mut mem = SimTables::new(usize::MAX);
    let pgdir = setupkvm(&mut mem, DATA, PHYSTOP).unwrap();
    // SAFETY: the directory was never installed anywhere.
    unsafe { freevm(&mut mem, pgdir) };
    assert_eq!(mem.ram.npages(), 0);
}

#[test]
#[should_panic(
    expected = "setupkvm: PHYSTOP 0x7e001000 puts P2V(PHYSTOP) above DEVSPACE 0xfe000000"
)]
fn setupkvm_refuses_a_phystop_past_devspace() {
    let _ = setupkvm(&mut SimTables::new(usize::MAX), DATA, PAddr(0x7E00_1000));
}

#[test]
fn the_largest_phystop_fits() {
    let mut mem = SimTables::new(usize::MAX);
    let pgdir = setupkvm(&mut mem, DATA, PAddr(0x7E00_0000)).unwrap();
    assert_eq!(
        translate(&mut mem, pgdir, VAddr(0xFDFF_F000)),
        Some((PAddr(0x7DFF_F000), PTFlags::P | PTFlags::RW))
    );
    // 1 + 504 + 8 + 1: what kinit1's pool must hold at the largest PHYSTOP
    assert_eq!(mem.ram.npages(), 514);
    assert_eq!(mem.ram.npages(), kvm_pages(PAddr(0x7E00_0000)));
}

#[test]
fn the_kernel_stacks_window_has_an_empty_table() {
    let mut mem = SimTables::new(usize::MAX);
    let pgdir = setupkvm(&mut mem, DATA, PHYSTOP).unwrap();
    let pte = walkpgdir(&mut mem, pgdir, KSTACKS, false)
        .unwrap()
        .expect("a table for the window");
    assert!(!pte.is_present());
    for i in 0..crate::param::NCPU {
        let k = crate::memlayout::kstack(i);
        assert_eq!(translate(&mut mem, pgdir, k.guard), None);
        assert_eq!(
            translate(&mut mem, pgdir, k.stack),
            None,
            "until startothers"
        );
    }
}

#[test]
#[should_panic(expected = "mappages: remap of va 0x80101000 (already maps pa 0x00101000)")]
fn mappages_panics_on_a_remap() {
    let mut mem = SimTables::new(usize::MAX);
    let pgdir = mem.alloc_table().unwrap();
    mappages(
        &mut mem,
        pgdir,
        VAddr(0x8010_0000),
        0x2000,
        PAddr(0x10_0000),
        PTFlags::RW,
    )
    .unwrap();
    let _ = mappages(
        &mut mem,
        pgdir,
        VAddr(0x8010_1000),
        0x1000,
        PAddr(0x20_0000),
        PTFlags::RW,
    );
}

#[test]
fn mappages_covers_every_page_a_range_touches() {
    let mut mem = SimTables::new(usize::MAX);
    let pgdir = mem.alloc_table().unwrap();
    // 2 bytes straddling a page boundary: two pages
    mappages(
        &mut mem,
        pgdir,
        VAddr(0x4000_0FFF),
        2,
        PAddr(0x9000),
        PTFlags::empty(),
    )
    .unwrap();
    assert_eq!(
        translate(&mut mem, pgdir, VAddr(0x4000_0000)),
        Some((PAddr(0x9000), PTFlags::P))
    );
    assert_eq!(
        translate(&mut mem, pgdir, VAddr(0x4000_1000)),
        Some((PAddr(0xA000), PTFlags::P))
    );
    assert_eq!(translate(&mut mem, pgdir, VAddr(0x4000_2000)), None);
    assert!(
        matches!(
            walkpgdir(&mut mem, pgdir, VAddr(0x1000_0000), false),
            Ok(None)
        ),
        "no table, no alloc"
    );
    assert_eq!(
        mem.ram.npages(),
        2,
        "a walk without alloc allocates nothing"
    );
}
