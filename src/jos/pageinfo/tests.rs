//! Host tests of the page counts and the counted API over kalloc's free
//! list.

use super::*;
use crate::debug::sim::{
    SIM_END, SIM_FIRST_FREE, SIM_PHYSTOP, SimRam, WORDS, counts, free_list, zeroed_counts,
};
use crate::kalloc::{FreeList, JUNK_ALLOC, PageMemory};
use crate::memlayout::EXTMEM;

/// PHYSTOP of the counts in the error-message examples.
const PHYSTOP_E: PAddr = PAddr(0x0E00_0000);

fn infos(phystop: PAddr) -> PageInfos<'static> {
    PageInfos::new(zeroed_counts(phystop))
}

#[test]
fn page_numbers_physical_and_kernel_addresses_convert_both_ways() {
    let p = infos(PHYSTOP_E);
    assert_eq!(p.npages() * PGSIZE, PHYSTOP_E.0 as usize);
    assert_eq!(p.phystop(), PHYSTOP_E);
    let last = PAddr(PHYSTOP_E.0 - PGSIZE as u32);
    for pa in [PAddr(0), EXTMEM, last] {
        let n = p.pa2page(pa).unwrap();
        assert_eq!(n.index(), pa.0 as usize / PGSIZE);
        assert_eq!(n.pa(), pa);
        assert_eq!(n.kva(), p2v(pa));
        assert_eq!(p.kva2page(n.kva()), Ok(n));
    }
    let inside = PAddr(EXTMEM.0 + 0x123);
    assert_eq!(
        p.pa2page(inside).unwrap().pa(),
        EXTMEM,
        "an address inside a page names that page"
    );
}

#[test]
fn addresses_without_a_page_are_refused_naming_value_and_rule() {
    let p = infos(PHYSTOP_E);
    let e = p.pa2page(PAddr(0x0F00_0000)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "pa2page: invalid physical address 0x0f000000 (at or above PHYSTOP 0x0e000000)"
    );
    assert!(p.pa2page(PHYSTOP_E).is_err(), "PHYSTOP itself has no page");
    assert_eq!(
        p.kva2page(VAddr(0x0000_1000)).unwrap_err().to_string(),
        "kva2page: 0x00001000 is below KERNBASE 0x80000000: not a kernel address"
    );
    assert_eq!(
        p.kva2page(p2v(PHYSTOP_E)),
        Err(PageError::InvalidPa {
            pa: PHYSTOP_E,
            phystop: PHYSTOP_E
        })
    );
    assert!(p.incref(PHYSTOP_E).is_err());
    assert!(p.decref(PHYSTOP_E).is_err());
    assert!(p.count(PHYSTOP_E).is_err());
}

#[test]
#[should_panic(expected = "PageInfos: 516097 pages reach past PHYSTOP_MAX 0x7e000000")]
fn counts_past_phystop_max_are_refused() {
    let n = PHYSTOP_MAX.0 as usize / PGSIZE + 1;
    infos(PAddr((n * PGSIZE) as u32));
}

#[test]
fn counts_go_up_and_down_one_page_at_a_time() {
    let p = infos(PHYSTOP_E);
    let a = PAddr(0x0020_0000);
    let b = PAddr(0x0020_1000);
    assert_eq!(p.count(a), Ok(0));
    assert_eq!(p.incref(a), Ok(1));
    assert_eq!(p.incref(a), Ok(2));
    assert_eq!(p.incref(b), Ok(1));
    assert_eq!(p.decref(a), Ok(false), "one reference is left");
    assert_eq!(p.count(a), Ok(1));
    assert_eq!(p.decref(a), Ok(true), "the last reference went");
    assert_eq!(p.count(a), Ok(0));
    assert_eq!(p.count(b), Ok(1), "other pages keep their counts");
}

#[test]
fn a_count_neither_goes_below_zero_nor_wraps() {
    let p = infos(PHYSTOP_E);
    let a = PAddr(0x0020_0000);
    let e = p.decref(a).unwrap_err();
    assert_eq!(e.to_string(), "page_decref: page 0x00200000 has count 0");
    assert_eq!(p.count(a), Ok(0), "unchanged");
    for _ in 0..Count::MAX {
        p.incref(a).unwrap();
    }
    let e = p.incref(a).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "page_incref: page 0x00200000 has count {}, the most a count holds",
            Count::MAX
        )
    );
    assert_eq!(p.count(a), Ok(Count::MAX), "unchanged");
}

/// The counted API over a free list of `npages` simulated pages, both
/// kept for the rest of the test.
fn counted_pages(npages: usize) -> Pages<'static, 'static, FreeList<SimRam>> {
    Pages {
        list: Box::leak(Box::new(free_list(npages))),
        infos: Box::leak(Box::new(PageInfos::new(counts()))),
    }
}

/// The kernel's `page_alloc`, on the simulated free list of `pages`.
fn page_alloc(pages: &mut Pages<FreeList<SimRam>>, flags: AllocFlags) -> Option<PAddr> {
    page_alloc_from(pages.list, flags)
}

#[test]
fn page_alloc_takes_from_the_free_list_with_count_zero() {
    let mut pages = counted_pages(2);
    let before = pages.nfree();
    let junk = page_alloc(&mut pages, AllocFlags::default()).unwrap();
    let zeroed = page_alloc(&mut pages, ALLOC_ZERO).unwrap();
    assert_ne!(junk, zeroed);
    assert_eq!(pages.nfree(), before - 2);
    assert_eq!(pages.count(junk), Ok(0));
    assert_eq!(pages.count(zeroed), Ok(0));
    assert_eq!(page_alloc(&mut pages, ALLOC_ZERO), None, "out of pages");
    let ram = pages.list.mem_mut();
    let junk_word = u32::from_ne_bytes([JUNK_ALLOC; 4]);
    assert_eq!(*ram.words(junk), [junk_word; WORDS], "kalloc's junk");
    assert_eq!(*ram.words(zeroed), [0; WORDS], "ALLOC_ZERO");
}

#[test]
fn page_alloc_with_alloc_zero_zeroes_the_whole_page_even_with_junk_on() {
    let mut list = free_list(2);
    let head = list.iter().next().unwrap();
    assert_eq!(
        page_alloc_from(&mut list, ALLOC_ZERO),
        Some(v2p(head)),
        "the head, as alloc"
    );
    assert!(list.mem_mut().bytes(v2p(head)).iter().all(|&b| b == 0));
    assert_eq!(list.nfree(), 1);
    assert!(!list.mem_mut().is_marked(head), "no longer marked free");
    let _ = list.alloc();
    assert_eq!(
        page_alloc_from(&mut list, ALLOC_ZERO),
        None,
        "an empty list runs out"
    );
}

#[test]
fn page_free_refuses_a_page_with_mappings_or_already_free() {
    let mut pages = counted_pages(1);
    let pa = page_alloc(&mut pages, AllocFlags::default()).unwrap();
    pages.page_incref(pa).unwrap();
    // SAFETY: simulated pages are heap data nothing else refers to.
    let e = unsafe { pages.page_free(pa) }.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("page_free: page {:#010x} has count 1", pa.0)
    );
    assert_eq!(pages.nfree(), 0, "not freed");

    // SAFETY: as above.
    assert_eq!(unsafe { pages.page_decref(pa) }, Ok(true));
    assert_eq!(pages.nfree(), 1, "the last reference freed it");
    // SAFETY: as above.
    let e = unsafe { pages.page_free(pa) }.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("page_free: page {:#010x} is already free", pa.0)
    );
    assert_eq!(pages.nfree(), 1);
    assert_eq!(
        page_alloc(&mut pages, ALLOC_ZERO),
        Some(pa),
        "freed exactly once"
    );
}

#[test]
fn page_free_gives_an_unmapped_page_back_to_kalloc() {
    let mut pages = counted_pages(2);
    let pa = page_alloc(&mut pages, AllocFlags::default()).unwrap();
    let before = pages.nfree();
    // SAFETY: simulated pages are heap data nothing else refers to.
    unsafe { pages.page_free(pa) }.unwrap();
    assert_eq!(pages.nfree(), before + 1);
    assert_eq!(
        page_alloc(&mut pages, AllocFlags::default()),
        Some(pa),
        "on the list's head"
    );
}

#[test]
fn page_free_passes_on_kfree_refusals() {
    let mut pages = counted_pages(1);
    let below_end = PAddr(SIM_END.0 - PGSIZE as u32);
    // SAFETY: the page is refused before anything touches it.
    let e = unsafe { pages.page_free(below_end) }.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "page_free: kfree: {:#010x} is below the kernel's end {:#010x}",
            p2v(below_end).0,
            p2v(SIM_END).0
        )
    );
    assert_eq!(
        // SAFETY: as above.
        unsafe { pages.page_free(SIM_PHYSTOP) },
        Err(PageError::InvalidPa {
            pa: SIM_PHYSTOP,
            phystop: SIM_PHYSTOP
        })
    );
}

#[test]
fn page_decref_frees_only_when_the_last_mapping_goes() {
    let mut pages = counted_pages(1);
    let pa = page_alloc(&mut pages, AllocFlags::default()).unwrap();
    pages.page_incref(pa).unwrap();
    pages.page_incref(pa).unwrap();
    // SAFETY: simulated pages are heap data nothing else refers to.
    assert_eq!(unsafe { pages.page_decref(pa) }, Ok(false));
    assert_eq!((pages.count(pa), pages.nfree()), (Ok(1), 0));
    // SAFETY: as above.
    assert_eq!(unsafe { pages.page_decref(pa) }, Ok(true));
    assert_eq!((pages.count(pa), pages.nfree()), (Ok(0), 1));
    // SAFETY: as above.
    let e = unsafe { pages.page_decref(pa) }.unwrap_err();
    assert_eq!(e, PageError::CountZero { pa });
    assert_eq!(pages.nfree(), 1, "not freed twice");
}

#[test]
fn the_simulated_pool_starts_where_its_constants_say() {
    let mut list = free_list(1);
    assert_eq!(list.alloc(), Some(p2v(SIM_FIRST_FREE)));
    assert_eq!(list.alloc(), None, "one page, as asked");
}
