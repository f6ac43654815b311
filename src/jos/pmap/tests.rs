//! Host tests of JOS's page-table API on simulated counted pages.

use super::*;
use crate::debug::sim::WORDS;
use crate::debug::sim::pmap::{
    NPAGES, OTHER, Sim, Tlb, USER_RW, VA, assert_user_table, insert, one_page, remove,
};
use crate::mmu::{PGSIZE_U32, PageStep};

#[test]
fn pgdir_walk_makes_a_zeroed_counted_user_table_only_when_asked() {
    let mut m = Sim::new(NPAGES);
    let pgdir = m.pgdir();
    let before = m.nfree();
    assert!(matches!(pgdir_walk(&mut m, pgdir, VA, false), Ok(None)));
    assert_eq!(m.nfree(), before, "no table without create");
    let pte = *pgdir_walk(&mut m, pgdir, VA, true).unwrap().unwrap();
    assert!(!pte.is_present());
    assert_eq!(m.nfree(), before - 1, "one page for the table");
    let pde = m.pde(pgdir, VA);
    assert_user_table(pde);
    assert_eq!(m.count(pde.address()), 1, "held by the directory entry");
    assert_eq!(
        *m.list.mem_mut().words(pde.address()),
        [0; WORDS],
        "zeroed, not kalloc's junk"
    );
    pgdir_walk(&mut m, pgdir, VA.add_pages(1), true).unwrap();
    assert_eq!(m.nfree(), before - 1, "the same table for the same 4 MiB");
}

#[test]
fn pgdir_walk_without_memory_for_a_table_fails_and_changes_nothing() {
    let mut m = Sim::new(1);
    let pgdir = m.pgdir();
    assert_eq!(
        pgdir_walk(&mut m, pgdir, VA, true).map(|e| e.is_some()),
        Err(OutOfMemory)
    );
    assert!(!m.pde(pgdir, VA).is_present());
}

#[test]
fn page_insert_counts_the_mapping_and_page_lookup_finds_it() {
    let (mut m, pgdir, pa) = one_page(0xAB);
    assert_eq!(m.count(pa), 1);
    assert_eq!(
        page_lookup(&mut m, pgdir, VA),
        Some((pa, USER_RW | PTFlags::P))
    );
    assert_eq!(
        page_lookup(&mut m, pgdir, VAddr(VA.0 + 0x123)).map(|(p, _)| p),
        Some(pa),
        "any address inside the page"
    );
    assert_eq!(page_lookup(&mut m, pgdir, VA.add_pages(1)), None);
    assert_eq!(m.read(pgdir, VA), 0xAB);
    assert!(m.tlb.is_empty(), "nothing was mapped there before");
}

#[test]
fn reinserting_the_same_page_keeps_its_count_and_changes_only_perm() {
    let (mut m, pgdir, pa) = one_page(0xAB);
    let before = m.nfree();
    insert(&mut m, pgdir, pa, VA, PTFlags::US).unwrap();
    assert_eq!(m.count(pa), 1, "one mapping, counted once");
    assert_eq!(m.nfree(), before, "never freed on the way");
    assert_eq!(
        m.read(pgdir, VA),
        0xAB,
        "contents kept (a free would junk them)"
    );
    assert_eq!(
        page_lookup(&mut m, pgdir, VA),
        Some((pa, PTFlags::US | PTFlags::P))
    );
    assert_eq!(
        m.tlb,
        [Tlb::Invlpg(pgdir, VA)],
        "the old permission forgotten"
    );
}

#[test]
fn reinserting_a_shared_page_keeps_its_other_mappings_count() {
    let (mut m, pgdir, pa) = one_page(0xAB);
    insert(&mut m, pgdir, pa, OTHER, USER_RW).unwrap();
    assert_eq!(m.count(pa), 2);
    insert(&mut m, pgdir, pa, VA, PTFlags::US).unwrap();
    assert_eq!(m.count(pa), 2);
    assert_eq!(m.read(pgdir, OTHER), 0xAB);
}

#[test]
fn page_insert_over_another_page_drops_and_frees_the_old_one() {
    let mut m = Sim::new(NPAGES);
    let pgdir = m.pgdir();
    let old = m.page_with(1);
    let new = m.page_with(2);
    insert(&mut m, pgdir, old, VA, USER_RW).unwrap();
    let before = m.nfree();
    insert(&mut m, pgdir, new, VA, USER_RW).unwrap();
    assert_eq!((m.count(old), m.count(new)), (0, 1));
    assert_eq!(m.nfree(), before + 1, "the old page went back");
    assert_eq!(m.read(pgdir, VA), 2);
    assert_eq!(m.tlb, [Tlb::Invlpg(pgdir, VA)]);
    assert_eq!(
        m.alloc_page(AllocFlags::default()),
        Some(old),
        "the old page is the free list's head"
    );
}

#[test]
fn a_page_mapped_twice_is_freed_only_with_its_last_mapping() {
    let (mut m, pgdir, pa) = one_page(7);
    insert(&mut m, pgdir, pa, OTHER, USER_RW).unwrap();
    let before = m.nfree();
    remove(&mut m, pgdir, VA);
    assert_eq!((m.count(pa), m.nfree()), (1, before));
    assert_eq!(page_lookup(&mut m, pgdir, VA), None);
    assert_eq!(m.read(pgdir, OTHER), 7);
    remove(&mut m, pgdir, OTHER);
    assert_eq!((m.count(pa), m.nfree()), (0, before + 1));
    assert_eq!(m.tlb, [Tlb::Invlpg(pgdir, VA), Tlb::Invlpg(pgdir, OTHER)]);
    remove(&mut m, pgdir, OTHER);
    assert_eq!(m.nfree(), before + 1, "removing nothing frees nothing");
    assert_eq!(m.tlb.len(), 2, "and tells the TLB nothing");
}

#[test]
fn page_insert_without_memory_for_a_table_changes_nothing() {
    let mut m = Sim::new(2);
    let pgdir = m.pgdir();
    let pa = m.page_with(1);
    assert_eq!(insert(&mut m, pgdir, pa, VA, USER_RW), Err(OutOfMemory));
    assert_eq!(m.count(pa), 0, "not counted");
    assert_eq!(page_lookup(&mut m, pgdir, VA), None);
}

#[test]
fn boot_map_region_maps_a_range_without_counting_its_pages() {
    let mut m = Sim::new(NPAGES);
    let pgdir = m.pgdir();
    let before = m.nfree();
    // three pages across a page-table boundary
    let va = VAddr(0x0040_0000).sub_pages(1);
    let pa = PAddr(0x0010_0000);
    boot_map_region(&mut m, pgdir, va, 3 * PGSIZE_U32, pa, PTFlags::RW).unwrap();
    for i in 0..3 {
        let page = pa.add_pages(i);
        assert_eq!(
            page_lookup(&mut m, pgdir, va.add_pages(i)),
            Some((page, PTFlags::RW | PTFlags::P))
        );
        assert_eq!(m.count(page), 0, "static mappings are not counted");
    }
    assert_eq!(page_lookup(&mut m, pgdir, va.add_pages(3)), None);
    assert_eq!(m.nfree(), before - 2, "two tables");
    let tables = [va, va.add_pages(1)].map(|v| m.pde(pgdir, v).address());
    assert_ne!(tables[0], tables[1]);
    assert!(tables.iter().all(|&t| m.count(t) == 1));
    boot_map_region(&mut m, pgdir, VAddr(0x0100_0000), 0, pa, PTFlags::RW).unwrap();
    assert_eq!(m.nfree(), before - 2, "an empty range maps nothing");
}
