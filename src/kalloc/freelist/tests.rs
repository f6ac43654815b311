//! Host tests of the free-list bookkeeping on simulated pages.

use super::*;
use crate::debug::sim::{SharedRam, SimRam};

/// The pool of these tests and the scan's: the kernel's end and
/// P2V(PHYSTOP) at the default PHYSTOP, no RAM map, no counts.
pub(in crate::kalloc) const END: VAddr = VAddr(0x8011_8000);
pub(in crate::kalloc) const TOP: VAddr = VAddr(0x8F00_0000);
pub(in crate::kalloc) const POOL: Pool = Pool {
    end: END,
    top: TOP,
    ram: None,
    counts: &[],
};

fn list(junk: bool) -> FreeList<SimRam> {
    FreeList::new(POOL, junk, SimRam::default())
}

/// `free` on simulated memory, by a list or the scan.
pub(in crate::kalloc) fn free(l: &mut impl FreePages, va: u32) -> Result<(), KfreeError> {
    // SAFETY: simulated pages are heap data nothing else refers to.
    unsafe { l.free(VAddr(va)) }
}

/// The bytes of the page at `va`.
fn bytes(l: &mut FreeList<SimRam>, va: VAddr) -> &[u8; PGSIZE] {
    l.mem.bytes(v2p(va))
}

/// `FreeList::free_range` on simulated memory.
fn free_range(l: &mut FreeList<SimRam>, start: u32, end: u32) -> Result<Freed, KfreeError> {
    // SAFETY: as for `free`.
    unsafe { l.free_range(VAddr(start), VAddr(end)) }
}

#[test]
fn alloc_returns_pages_last_freed_first() {
    let mut l = list(false);
    for va in [0x8020_0000, 0x8020_1000, 0x8020_5000] {
        free(&mut l, va).unwrap();
    }
    assert_eq!(l.nfree(), 3);
    let order: Vec<u32> = l.iter().map(|v| v.0).collect();
    assert_eq!(order, [0x8020_5000, 0x8020_1000, 0x8020_0000], "head first");
    assert_eq!(l.alloc(), Some(VAddr(0x8020_5000)));
    assert_eq!(l.alloc(), Some(VAddr(0x8020_1000)));
    assert_eq!(l.nfree(), 1);
    assert_eq!(l.alloc(), Some(VAddr(0x8020_0000)));
    assert_eq!(l.alloc(), None, "an empty list runs out");
    assert_eq!(l.nfree(), 0);
}

#[test]
fn count_follows_every_push_and_pop() {
    let mut l = list(false);
    let freed = free_range(&mut l, 0x8030_0000, 0x8031_0000).unwrap();
    assert_eq!(freed.pages, 16);
    assert_eq!(l.nfree(), 16);
    assert_eq!(l.iter().count(), 16, "counter agrees with a walk");
    for n in (0..16).rev() {
        assert!(l.alloc().is_some());
        assert_eq!(l.nfree(), n);
        assert_eq!(l.iter().count(), n);
    }
}

#[test]
fn free_range_frees_only_whole_pages_from_pgroundup_start() {
    let mut l = list(false);
    // start mid-page, end mid-page: the partial pages at both ends are skipped
    let f = free_range(&mut l, 0x8011_8123, 0x8011_C800).unwrap();
    assert_eq!(
        f,
        Freed {
            stage: "free_range",
            start: VAddr(0x8011_9000),
            end: VAddr(0x8011_C000),
            pages: 3
        }
    );
    let mut got: Vec<u32> = l.iter().map(|v| v.0).collect();
    got.sort();
    assert_eq!(got, [0x8011_9000, 0x8011_A000, 0x8011_B000]);
    // an empty or inverted range frees nothing
    let f = free_range(&mut l, 0x8050_0000, 0x8050_0FFF).unwrap();
    assert_eq!(f.pages, 0);
    let f = free_range(&mut l, 0x8060_0000, 0x8050_0000).unwrap();
    assert_eq!(f.pages, 0);
    assert_eq!(l.nfree(), 3);
}

/// A pool whose RAM is all of 0..1 GiB except `[hole_start, hole_end)`.
fn pool_with_hole(hole_start: u64, hole_end: u64) -> Pool {
    use crate::memmap::{Kind, MemMap, Ram};
    let mut map = MemMap::empty();
    map.push(0, 1 << 30, Kind::Available);
    let mut ram = Ram::new(map);
    ram.reserve(hole_start, hole_end, "a test hole");
    Pool {
        ram: Some(Box::leak(Box::new(ram))),
        ..POOL
    }
}

#[test]
fn free_range_skips_pages_that_are_not_ram() {
    let mut l = FreeList::new(
        pool_with_hole(0x11_A000, 0x11_C000),
        false,
        SimRam::default(),
    );
    let f = free_range(&mut l, 0x8011_8000, 0x8011_E000).unwrap();
    assert_eq!(
        f,
        Freed {
            stage: "free_range",
            start: VAddr(0x8011_8000),
            end: VAddr(0x8011_E000),
            pages: 4
        }
    );
    let mut got: Vec<u32> = l.iter().map(|v| v.0).collect();
    got.sort();
    assert_eq!(got, [0x8011_8000, 0x8011_9000, 0x8011_C000, 0x8011_D000]);
    // kfree of a page in the hole is refused, naming it
    let e = free(&mut l, 0x8011_A000).unwrap_err();
    assert_eq!(
        e.to_string(),
        "kfree: 0x8011a000 is inside a test hole [0x0011a000, 0x0011c000)"
    );
    assert_eq!(l.nfree(), 4);
}

#[test]
fn free_range_stops_at_the_top_of_the_address_space() {
    let pool = Pool {
        end: VAddr(0xFFFF_0000),
        top: VAddr(0xFFFF_FFFF),
        ram: None,
        counts: &[],
    };
    let mut l = FreeList::new(pool, false, SimRam::default());
    // the last page, [0xFFFFF000, 4 GiB), has no representable end: xv6's
    // loop would wrap; ours stops before it
    let f = free_range(&mut l, 0xFFFF_E000, 0xFFFF_FFFF).unwrap();
    assert_eq!(f.pages, 1);
    let f = free_range(&mut l, 0xFFFF_F001, 0xFFFF_FFFF).unwrap();
    assert_eq!(f.pages, 0, "no page boundary above the start");
}

#[test]
fn every_kfree_rule_is_enforced_with_its_message() {
    let mut l = list(false);
    let cases = [
        (
            0x8020_0004,
            KfreeError::Misaligned {
                va: VAddr(0x8020_0004),
            },
            "kfree: 0x80200004 is not page-aligned",
        ),
        (
            0x8011_7000,
            KfreeError::BelowEnd {
                va: VAddr(0x8011_7000),
                end: END,
            },
            "kfree: 0x80117000 is below the kernel's end 0x80118000",
        ),
        (
            0x8F00_0000,
            KfreeError::AtOrAboveTop { va: TOP, top: TOP },
            "kfree: 0x8f000000 is at or above P2V(PHYSTOP) 0x8f000000",
        ),
        (
            0x9000_0000,
            KfreeError::AtOrAboveTop {
                va: VAddr(0x9000_0000),
                top: TOP,
            },
            "kfree: 0x90000000 is at or above P2V(PHYSTOP) 0x8f000000",
        ),
    ];
    for (va, err, msg) in cases {
        let got = free(&mut l, va);
        assert_eq!(got, Err(err));
        assert_eq!(err.to_string(), msg);
    }
    assert_eq!(l.nfree(), 0, "refused pages are not linked");
    assert_eq!(l.mem.npages(), 0, "refused pages are not touched");
    // the edges of the pool are accepted
    free(&mut l, END.0).unwrap();
    free(&mut l, TOP.0 - PGSIZE as u32).unwrap();
    assert_eq!(l.nfree(), 2);
}

#[test]
fn a_page_a_page_table_maps_is_refused_first_naming_its_count() {
    use std::sync::atomic::{AtomicU8, Ordering};
    let npages = v2p(TOP).0 as usize / PGSIZE;
    let counts: &'static [AtomicU8] = Box::leak((0..npages).map(|_| AtomicU8::new(0)).collect());
    let mut l = FreeList::new(Pool { counts, ..POOL }, false, SimRam::default());
    let va = VAddr(0x8020_0000);
    counts[v2p(va).0 as usize / PGSIZE].store(2, Ordering::Relaxed);
    let e = free(&mut l, va.0).unwrap_err();
    assert_eq!(e, KfreeError::Mapped { va, count: 2 });
    assert_eq!(
        e.to_string(),
        "kfree: page 0x00200000 has count 2: a page table maps it (page_decref frees it)"
    );
    assert_eq!(
        free(&mut l, va.0 + 4),
        Err(KfreeError::Mapped {
            va: VAddr(va.0 + 4),
            count: 2
        }),
        "the count is asked before the other rules"
    );
    assert_eq!(l.nfree(), 0, "a mapped page is not linked");
    assert_eq!(l.mem.npages(), 0, "nor touched");
    counts[v2p(va).0 as usize / PGSIZE].store(0, Ordering::Relaxed);
    free(&mut l, va.0).unwrap();
    assert_eq!(l.nfree(), 1, "with count 0 it is freed");
}

#[test]
fn free_range_refuses_a_range_outside_the_pool_and_frees_nothing() {
    let mut l = list(false);
    let e = free_range(&mut l, 0x8EFF_E000, 0x8F00_2000);
    let last = VAddr(0x8F00_1000);
    assert_eq!(e, Err(KfreeError::AtOrAboveTop { va: last, top: TOP }));
    let below = VAddr(END.0 - PGSIZE as u32);
    let e = free_range(&mut l, below.0, END.0 + PGSIZE as u32);
    assert_eq!(
        e,
        Err(KfreeError::BelowEnd {
            va: below,
            end: END
        })
    );
    assert_eq!(l.nfree(), 0, "nothing was freed");
    assert_eq!(l.mem.npages(), 0, "nothing was touched");
}

#[test]
fn junk_fill_marks_freed_and_allocated_pages() {
    let mut l = list(true);
    let va = VAddr(0x8040_0000);
    free(&mut l, va.0).unwrap();
    let p = bytes(&mut l, va);
    assert!(
        p[4..].iter().all(|&b| b == JUNK_FREE),
        "freed page is 0x01 after its link"
    );
    assert_eq!(l.alloc(), Some(va));
    assert!(
        bytes(&mut l, va).iter().all(|&b| b == JUNK_ALLOC),
        "allocated page is all 0x05"
    );
}

#[test]
fn without_junk_pages_keep_their_contents() {
    let mut l = list(false);
    let va = VAddr(0x8040_0000);
    l.mem.fill_with(v2p(va), 0xAB);
    free(&mut l, va.0).unwrap();
    assert!(bytes(&mut l, va)[4..].iter().all(|&b| b == 0xAB));
    assert_eq!(l.alloc(), Some(va));
    assert!(bytes(&mut l, va)[4..].iter().all(|&b| b == 0xAB));
}

#[test]
fn a_double_free_is_refused_with_its_message() {
    let mut l = list(true);
    free(&mut l, 0x8020_0000).unwrap();
    free(&mut l, 0x8020_1000).unwrap();
    let e = free(&mut l, 0x8020_0000).unwrap_err();
    assert_eq!(e.to_string(), "kfree: double free of page 0x80200000");
    assert_eq!(l.nfree(), 2, "the list is unchanged");
    assert_eq!(l.iter().count(), 2);
    // once allocated, the page may be freed again
    assert_eq!(l.alloc(), Some(VAddr(0x8020_1000)));
    free(&mut l, 0x8020_1000).unwrap();
}

fn audit(l: &mut FreeList<SimRam>) -> Result<usize, AuditError> {
    audit_lists(&mut [l])
}

#[test]
fn the_audit_passes_on_a_healthy_list_and_leaves_it_as_it_was() {
    let mut l = list(true);
    free_range(&mut l, 0x8030_0000, 0x8031_0000).unwrap();
    l.alloc();
    assert_eq!(audit(&mut l), Ok(15));
    assert_eq!(audit(&mut l), Ok(15), "the marks were restored");
    assert_eq!(l.mem.count_marked(), 15);
}

#[test]
fn the_audit_finds_a_page_listed_twice() {
    let mut l = list(false);
    free(&mut l, 0x8030_0000).unwrap();
    free(&mut l, 0x8030_1000).unwrap();
    // corrupt: link the head back to itself's successor twice (A -> B -> A)
    l.mem.words(PAddr(0x0030_0000))[0] = 0x8030_1000;
    l.nfree = 3;
    let e = audit(&mut l).unwrap_err();
    assert_eq!(
        e,
        AuditError::TwiceOrUnmarked {
            va: VAddr(0x8030_1000)
        }
    );
    assert!(
        e.to_string()
            .contains("0x80301000 is on the free list twice")
    );
    assert_eq!(
        l.mem.count_marked(),
        2,
        "marks restored after a failed audit"
    );
}

#[test]
fn the_audit_finds_count_and_mark_mismatches() {
    let mut l = list(false);
    free(&mut l, 0x8030_0000).unwrap();
    l.nfree = 2;
    assert_eq!(
        audit(&mut l),
        Err(AuditError::ShorterThanCount {
            walked: 1,
            count: 2
        })
    );
    l.nfree = 1;
    l.mem.mark_free(VAddr(0x8040_0000), true); // marked free, not listed
    assert_eq!(
        audit(&mut l),
        Err(AuditError::MarkedNotListed {
            marked: 2,
            listed: 1
        })
    );
    l.mem.mark_free(VAddr(0x8040_0000), false);
    l.nfree = 0;
    assert_eq!(audit(&mut l), Err(AuditError::LongerThanCount { count: 0 }));
}

#[test]
fn the_audit_applies_the_page_rules() {
    let mut l = list(false);
    free(&mut l, 0x8030_0000).unwrap();
    // the page was fine when freed; a pool that now ends below it is not
    l.pool.top = VAddr(0x8030_0000);
    assert_eq!(
        audit(&mut l).unwrap_err().to_string(),
        "audit: a free page breaks a rule: kfree: 0x80300000 is at or above P2V(PHYSTOP) 0x80300000"
    );
    // nor is one whose RAM no longer includes it
    l.pool = pool_with_hole(0x30_0000, 0x30_1000);
    assert_eq!(
        audit(&mut l).unwrap_err().to_string(),
        "audit: a free page breaks a rule: kfree: 0x80300000 is inside a test hole [0x00300000, 0x00301000)"
    );
}

/// `n` empty lists over one memory.
fn cpu_lists(n: usize) -> Vec<FreeList<SharedRam>> {
    let mem = SharedRam::default();
    (0..n)
        .map(|_| FreeList::new(POOL, true, mem.clone()))
        .collect()
}

/// Free `pages` pages from `start` onto `l`.
fn fill_list(l: &mut FreeList<SharedRam>, start: u32, pages: u32) {
    // SAFETY: simulated pages that nothing else refers to.
    unsafe { l.free_range(VAddr(start), VAddr(start + pages * PGSIZE as u32)) }.unwrap();
}

#[test]
fn a_steal_takes_half_the_victims_pages_rounded_up_from_its_head() {
    let mut l = cpu_lists(2);
    let [thief, victim] = l.get_disjoint_mut([0, 1]).unwrap();
    fill_list(victim, 0x8020_0000, 7);
    let victim_order: Vec<VAddr> = victim.iter().collect();

    assert_eq!(thief.steal_from(victim), 4);
    assert_eq!((thief.nfree(), victim.nfree()), (4, 3));
    assert_eq!(thief.iter().collect::<Vec<_>>(), victim_order[..4]);
    assert_eq!(victim.iter().collect::<Vec<_>>(), victim_order[4..]);
    // Still all free, and the two lists together pass the audit.
    assert_eq!(audit_lists(&mut [thief, victim]), Ok(7));
}

#[test]
fn stolen_pages_go_on_top_of_the_thiefs_own() {
    let mut l = cpu_lists(2);
    let [a, b] = l.get_disjoint_mut([0, 1]).unwrap();
    fill_list(a, 0x8020_0000, 1);
    fill_list(b, 0x8030_0000, 2);
    assert_eq!(a.steal_from(b), 1);
    let got: Vec<u32> = a.iter().map(|v| v.0).collect();
    assert_eq!(
        got,
        [0x8030_1000, 0x8020_0000],
        "the batch, then the old list"
    );
}

#[test]
fn stealing_repeatedly_drains_the_victim_to_the_last_page() {
    let mut l = cpu_lists(2);
    let [a, b] = l.get_disjoint_mut([0, 1]).unwrap();
    fill_list(b, 0x8020_0000, 10);
    let mut batches = vec![];
    while b.nfree() > 0 {
        batches.push(a.steal_from(b));
        while a.alloc().is_some() {}
    }
    assert_eq!(
        batches,
        [5, 3, 1, 1],
        "half of 10, of 5, of 2, then the last"
    );
    assert_eq!(a.steal_from(b), 0, "an empty victim gives nothing");
}

#[test]
fn the_audit_of_several_lists_finds_a_page_on_two() {
    let mut l = cpu_lists(2);
    let [a, b] = l.get_disjoint_mut([0, 1]).unwrap();
    fill_list(a, 0x8020_0000, 3);
    fill_list(b, 0x8030_0000, 3);
    assert_eq!(audit_lists(&mut [a, b]), Ok(6));
    // Link b's last page to a's first: the page is then on both lists.
    let last_b = b.iter().last().unwrap();
    let first_a = a.iter().next().unwrap();
    // SAFETY: simulated pages; the corruption is the point of the test.
    unsafe { b.mem.set_link(last_b, Some(first_a)) };
    b.nfree += 1;
    assert_eq!(
        audit_lists(&mut [a, b]),
        Err(AuditError::TwiceOrUnmarked { va: first_a })
    );
    // The failed audit put every free bit back.
    assert_eq!(a.mem.count_marked(), 6);
}

#[test]
fn a_page_marked_free_on_no_list_fails_the_audit_of_all_lists() {
    let mut l = cpu_lists(3);
    fill_list(&mut l[1], 0x8020_0000, 2);
    l[2].mem.mark_free(VAddr(0x8040_0000), true);
    let [a, b, c] = l.get_disjoint_mut([0, 1, 2]).unwrap();
    assert_eq!(
        audit_lists(&mut [a, b, c]),
        Err(AuditError::MarkedNotListed {
            marked: 3,
            listed: 2
        })
    );
}

/// The three slips `alloc`'s own checks name, each made by hand on a list
/// `take` left right, and what the check says about each.
#[test]
fn alloc_names_a_take_that_left_the_list_wrong() {
    let mut l = list(false);
    for va in [0x8020_0000, 0x8020_1000] {
        free(&mut l, va).unwrap();
    }
    let before = l.nfree();
    let va = l.take().unwrap();
    assert_eq!(l.taken_wrongly(va, before), None, "a correct take");
    let said = |w: Option<TakenWrongly>| w.map(|w| w.to_string()).unwrap_or_default();

    l.head = Some(va); // not unlinked
    assert_eq!(
        said(l.taken_wrongly(va, before)),
        "was taken but is still the free list's head: expected the head to move to its link"
    );
    l.head = Some(VAddr(0x8020_0000));

    l.nfree = before; // not counted
    assert_eq!(
        said(l.taken_wrongly(va, before)),
        "was taken but the free count went from 2 to 2: expected 1"
    );
    l.nfree = before - 1;

    l.mem.mark_free(va, true); // free bit left set
    assert_eq!(
        said(l.taken_wrongly(va, before)),
        "was taken but is still marked free: expected its free bit cleared"
    );
}
