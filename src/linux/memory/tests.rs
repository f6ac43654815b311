//! Host tests of Linux 0.01's copy-on-write and teardown on simulated
//! counted pages.

use super::*;
use crate::debug::sim::pmap::{
    NPAGES, Sim, Tlb, USER_RW, VA, assert_user_table, insert, one_page, word,
};
use crate::jos::pmap::page_lookup;
use crate::mmu::{PTE_COW, PTFlags, PageStep};
use crate::vm::PageTableMemory;

/// `free_page_tables` on simulated pages.
fn free_tables(m: &mut Sim, pgdir: PAddr, from: VAddr, size: u32) -> Result<(), SpanError> {
    // SAFETY: nothing outside the simulated page tables refers to the pages.
    unsafe { free_page_tables(m, pgdir, from, size) }
}

#[test]
fn spans_that_are_not_whole_user_page_tables_are_refused_naming_value_and_rule() {
    let (mut m, pgdir, pa) = one_page(1);
    let cases = [
        (
            VAddr(0x0040_1000),
            PTSIZE,
            "start 0x00401000 is not a multiple of 4 MiB: a span is whole page tables",
        ),
        (
            VAddr(0x0040_0000),
            0x1000,
            "size 0x1000 is not a multiple of 4 MiB: a span is whole page tables",
        ),
        (
            VAddr(KERNBASE.0 - PTSIZE),
            2 * PTSIZE,
            "span 0x7fc00000+0x800000 reaches KERNBASE 0x80000000: only user mappings are counted",
        ),
        (
            VAddr(0u32.wrapping_sub(PTSIZE)),
            2 * PTSIZE,
            "span 0xffc00000+0x800000 reaches KERNBASE 0x80000000: only user mappings are counted",
        ),
    ];
    let child = m.pgdir();
    for (from, size, rule) in cases {
        let e = free_tables(&mut m, pgdir, from, size).unwrap_err();
        assert_eq!(e.to_string(), format!("free_page_tables: {rule}"));
        let e = copy_page_tables(&mut m, pgdir, child, from, size).unwrap_err();
        assert_eq!(e.to_string(), format!("copy_page_tables: {rule}"));
    }
    assert_eq!(m.count(pa), 1, "nothing freed or shared");
    assert_eq!(m.read(pgdir, VA), 1);
    assert!(m.tlb.is_empty());
}

#[test]
fn free_page_tables_gives_back_every_page_and_table_of_the_span() {
    let mut m = Sim::new(NPAGES);
    let pgdir = m.pgdir();
    let start = m.nfree();
    // pages in the first and third tables of the span (none in the second),
    // one of them mapped twice, and one page just past the span
    let span_end = VAddr(3 * PTSIZE);
    let twice = m.page_with(1);
    insert(&mut m, pgdir, twice, VAddr(0), USER_RW).unwrap();
    insert(&mut m, pgdir, twice, VAddr(2 * PTSIZE), USER_RW).unwrap();
    let mut inside = vec![twice];
    for va in [VAddr(0).add_pages(1), VAddr(2 * PTSIZE).add_pages(5)] {
        let pa = m.page_with(2);
        insert(&mut m, pgdir, pa, va, USER_RW).unwrap();
        inside.push(pa);
    }
    let outside = m.page_with(3);
    insert(&mut m, pgdir, outside, span_end, USER_RW).unwrap();
    let outside_table_and_page = 2;

    free_tables(&mut m, pgdir, VAddr(0), span_end.0).unwrap();
    assert_eq!(m.nfree(), start - outside_table_and_page);
    assert!(inside.iter().all(|&pa| m.count(pa) == 0));
    for i in 0..3 {
        assert!(!m.pde(pgdir, VAddr(i * PTSIZE)).is_present());
    }
    assert_eq!(m.count(outside), 1);
    assert_eq!(m.read(pgdir, span_end), 3, "past the span, untouched");
    assert_eq!(m.tlb, [Tlb::Flush(pgdir)]);
}

#[test]
fn fork_shares_pages_copy_on_write_until_each_side_writes() {
    let mut m = Sim::new(NPAGES);
    let start = m.nfree();
    let parent = m.pgdir();
    let data = m.page_with(0x10);
    let shared = m.page_with(0x11);
    let text = m.page_with(0x12);
    let (data_va, shared_va, text_va) = (VAddr(0x1000), VAddr(0x2000), VAddr(PTSIZE));
    insert(&mut m, parent, data, data_va, USER_RW).unwrap();
    insert(&mut m, parent, shared, shared_va, USER_RW).unwrap();
    insert(&mut m, parent, text, text_va, PTFlags::US).unwrap();
    let child = m.pgdir();
    let before_copy = m.nfree();

    let span = 3 * PTSIZE;
    copy_page_tables(&mut m, parent, child, VAddr(0), span).unwrap();
    assert_eq!(
        m.tlb,
        [Tlb::Flush(parent)],
        "the parent's pages became read-only"
    );
    assert_eq!(m.nfree(), before_copy - 2, "a table per parent table");
    for va in [data_va, text_va] {
        let (p, c) = (m.pde(parent, va), m.pde(child, va));
        assert_ne!(p.address(), c.address(), "tables of its own");
        assert_user_table(c);
        assert_eq!(m.count(c.address()), 1);
    }
    assert!(
        !m.pde(child, VAddr(2 * PTSIZE)).is_present(),
        "no table for a hole"
    );
    for (va, pa) in [(data_va, data), (shared_va, shared), (text_va, text)] {
        assert_eq!(m.count(pa), 2);
        assert_eq!(m.pte(parent, va), m.pte(child, va), "the same entry");
        assert_eq!(m.read(child, va), m.read(parent, va));
    }
    let cow = PTEntry::new(data, PTFlags::US | PTFlags::P).0 | PTE_COW;
    assert_eq!(m.pte(child, data_va), cow, "read-only and marked");
    let text_pte = PTEntry::new(text, PTFlags::US | PTFlags::P).0;
    assert_eq!(
        m.pte(child, text_va),
        text_pte,
        "read-only all along: unmarked"
    );

    // the child writes first: it gets a private copy
    m.tlb.clear();
    let step = m.write(child, data_va, 0xC0).unwrap();
    let CowStep::Copied { old, new } = step else {
        panic!("{step}")
    };
    assert_eq!(old, data);
    assert_eq!((m.count(data), m.count(new)), (1, 1));
    assert_eq!(
        (m.read(parent, data_va), m.read(child, data_va)),
        (0x10, 0xC0)
    );
    assert_eq!(
        step.to_string(),
        format!(
            "page {:#010x} is shared: copied to {new:#010x}, mapped writable",
            data.0,
            new = new.0
        )
    );
    // then the parent, now the page's only user: no copy
    let step = m.write(parent, data_va, 0xB0).unwrap();
    assert_eq!(step, CowStep::MadeWritable { pa: data });
    assert_eq!(m.count(data), 1);
    assert_eq!(
        (m.read(parent, data_va), m.read(child, data_va)),
        (0xB0, 0xC0)
    );
    assert_eq!(m.write(parent, data_va, 0xB1), None, "no fault any more");
    assert_eq!(
        m.tlb,
        [Tlb::Invlpg(child, data_va), Tlb::Invlpg(parent, data_va)]
    );
    assert_eq!(
        un_wp_page(&mut m, child, text_va).unwrap_err().to_string(),
        format!(
            "un_wp_page: 0x00400000 is not copy-on-write (pte {text_pte:#010x}): a real protection fault"
        )
    );

    // exit: the shared page's count goes 2 -> 1 -> 0
    free_tables(&mut m, child, VAddr(0), span).unwrap();
    assert_eq!((m.count(shared), m.count(new)), (1, 0));
    assert_eq!(m.read(parent, shared_va), 0x11, "the parent still has it");
    free_tables(&mut m, parent, VAddr(0), span).unwrap();
    assert_eq!((m.count(shared), m.count(data), m.count(text)), (0, 0, 0));
    for pgdir in [child, parent] {
        // SAFETY: the directories map nothing any more.
        unsafe { m.free_table(pgdir) };
    }
    assert_eq!(m.nfree(), start, "every page is back");
}

#[test]
fn copy_page_tables_refuses_a_destination_with_tables_in_the_span() {
    let (mut m, parent, pa) = one_page(1);
    let child = m.pgdir();
    let mine = m.page_with(2);
    insert(&mut m, child, mine, VAddr(PTSIZE), USER_RW).unwrap();
    let e = copy_page_tables(&mut m, parent, child, VAddr(0), 2 * PTSIZE).unwrap_err();
    assert_eq!(e, CopyError::AlreadyMapped { va: VAddr(PTSIZE) });
    assert_eq!(
        e.to_string(),
        "copy_page_tables: the destination already has a page table at 0x00400000"
    );
    assert_eq!(m.count(pa), 1);
    assert_eq!(
        page_lookup(&mut m, parent, VA),
        Some((pa, USER_RW | PTFlags::P))
    );
    assert!(m.tlb.is_empty());
}

#[test]
fn copy_page_tables_out_of_memory_undoes_the_copy() {
    let mut m = Sim::new(NPAGES);
    let parent = m.pgdir();
    let vas = [VAddr(0), VAddr(PTSIZE), VAddr(2 * PTSIZE)];
    let pages = vas.map(|va| {
        let pa = m.page_with(va.0);
        insert(&mut m, parent, pa, va, USER_RW).unwrap();
        pa
    });
    let child = m.pgdir();
    m.drain_to(1);
    let e = copy_page_tables(&mut m, parent, child, VAddr(0), 3 * PTSIZE).unwrap_err();
    assert_eq!(
        e.to_string(),
        "copy_page_tables: out of memory for a page-table page (the copy was undone)"
    );
    assert_eq!(m.nfree(), 1, "the one table made went back");
    assert!(pages.iter().all(|&pa| m.count(pa) == 1));
    assert!(vas.iter().all(|&va| !m.pde(child, va).is_present()));
    assert_eq!(
        m.tlb,
        [Tlb::Flush(parent), Tlb::Flush(child)],
        "the parent's pages that became read-only, then the undo"
    );
    // the first table's page stayed write-protected: its write fault
    // gives the write bit back without a copy
    assert_eq!(
        m.write(parent, vas[0], 9),
        Some(CowStep::MadeWritable { pa: pages[0] })
    );
    assert_eq!(m.write(parent, vas[1], 9), None, "never write-protected");
}

#[test]
fn un_wp_page_without_a_page_for_the_copy_changes_nothing() {
    let (mut m, parent, pa) = one_page(5);
    let child = m.pgdir();
    copy_page_tables(&mut m, parent, child, VAddr(0), 2 * PTSIZE).unwrap();
    let pte = m.pte(child, VA);
    m.drain_to(0);
    m.tlb.clear();
    let e = un_wp_page(&mut m, child, VAddr(VA.0 + 4)).unwrap_err();
    assert_eq!(e, CowError::OutOfMemory { va: VA, pa });
    assert_eq!(
        e.to_string(),
        format!(
            "un_wp_page: out of memory for a private copy of page {:#010x} at 0x00403000",
            pa.0
        )
    );
    assert_eq!((m.count(pa), m.pte(child, VA)), (2, pte));
    assert!(m.tlb.is_empty());
}

#[test]
fn un_wp_page_refuses_an_unmapped_address() {
    let mut m = Sim::new(NPAGES);
    let pgdir = m.pgdir();
    let e = un_wp_page(&mut m, pgdir, VAddr(VA.0 + 8)).unwrap_err();
    assert_eq!(e, CowError::NotMapped { va: VA });
    assert_eq!(e.to_string(), "un_wp_page: nothing is mapped at 0x00403000");
    let pa = m.page_with(1);
    insert(&mut m, pgdir, pa, VA.add_pages(1), USER_RW).unwrap();
    assert_eq!(
        un_wp_page(&mut m, pgdir, VA),
        Err(CowError::NotMapped { va: VA }),
        "a table, but no page at that address"
    );
}

#[test]
fn un_wp_page_panics_on_a_mapped_page_nobody_counts() {
    let (mut m, parent, pa) = one_page(5);
    let child = m.pgdir();
    copy_page_tables(&mut m, parent, child, VAddr(0), PTSIZE * 2).unwrap();
    // a kernel bug: both mappings' counts dropped behind pmap's back
    m.infos.decref(pa).unwrap();
    m.infos.decref(pa).unwrap();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = un_wp_page(&mut m, child, VA);
    }))
    .unwrap_err();
    assert_eq!(
        panic.downcast_ref::<String>().map(String::as_str),
        Some(
            format!(
                "un_wp_page: page {:#010x} mapped at 0x00403000 has count 0",
                pa.0
            )
            .as_str()
        )
    );
}

#[test]
fn un_wp_page_copies_the_whole_page_before_the_write() {
    use crate::debug::sim::WORDS;
    let (mut m, parent, pa) = one_page(0);
    // a different value in every word, so that a word left out shows
    let original: [u32; WORDS] = core::array::from_fn(|i| 0xC0DE_0000 + i as u32);
    *m.list.mem_mut().words(pa) = original;
    let child = m.pgdir();
    copy_page_tables(&mut m, parent, child, VAddr(0), 2 * PTSIZE).unwrap();
    let written = VAddr(VA.0 + 4 * 7);
    let Some(CowStep::Copied { new, .. }) = m.write(child, written, 0xFEED) else {
        panic!("the child's write on a shared page must copy it");
    };
    let copy = *m.list.mem_mut().words(new);
    for (i, (&saw, &expected)) in copy.iter().zip(&original).enumerate() {
        if i != word(written) {
            assert_eq!(
                saw, expected,
                "word {i} of the child's copy {:#010x}: expected the shared page's {expected:#010x}, \
                 saw {saw:#010x} (un_wp_page copies the page before the write)",
                new.0
            );
        }
    }
    assert_eq!(copy[word(written)], 0xFEED, "the child's write");
    assert_eq!(*m.list.mem_mut().words(pa), original, "the parent's page");
}
