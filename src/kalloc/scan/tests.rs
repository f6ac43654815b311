//! Host tests of `kalloc=scan`'s bookkeeping on simulated pages.

use super::*;
use crate::debug::sim::SimRam;
use crate::kalloc::freelist::tests::{END, POOL, TOP, free};
use crate::kalloc::{FreeList, JUNK_ALLOC, JUNK_FREE};
use core::sync::atomic::AtomicU32;

fn scan(junk: bool) -> Scan<SimRam> {
    Scan::new(POOL, junk, SimRam::default())
}

/// `Scan::free_range` on simulated memory.
fn free_range(s: &mut Scan<SimRam>, start: u32, end: u32) -> Result<Freed, KfreeError> {
    // SAFETY: as for `free`.
    unsafe { s.free_range(VAddr(start), VAddr(end)) }
}

fn words(bits: &[u32]) -> Vec<AtomicU32> {
    bits.iter().map(|&b| AtomicU32::new(b)).collect()
}

#[test]
fn highest_set_reads_words_from_the_top_within_bounds() {
    let w = words(&[0b1001, 0, 1 << 31 | 1 << 4]);
    assert_eq!(highest_set(&w, 0, 96), Some(64 + 31));
    assert_eq!(highest_set(&w, 0, 95), Some(64 + 4), "page 95 is out");
    assert_eq!(highest_set(&w, 0, 68), Some(3), "pages 68.. are out");
    assert_eq!(highest_set(&w, 1, 3), None, "only bits 1 and 2");
    assert_eq!(highest_set(&w, 3, 4), Some(3));
    assert_eq!(
        highest_set(&w, 4, 64),
        None,
        "bits 4.. of word 0 and word 1"
    );
    assert_eq!(highest_set(&w, 69, 96), Some(95));
    assert_eq!(highest_set(&w, 5, 5), None, "an empty range");
    assert_eq!(highest_set(&w, 0, 32), Some(3), "a range of one whole word");
    assert_eq!(highest_set(&words(&[u32::MAX]), 0, 32), Some(31));
    assert_eq!(highest_set(&words(&[u32::MAX]), 31, 32), Some(31));
    assert_eq!(highest_set(&words(&[1]), 0, 1), Some(0));
    // Found in a word between the first and the last: the highest such.
    let w = words(&[1, 1 << 2, 1 << 7, 0]);
    assert_eq!(highest_set(&w, 0, 128), Some(64 + 7));
    assert_eq!(highest_set(&w, 0, 65), Some(32 + 2));
    assert_eq!(highest_set(&w, 1, 128), Some(64 + 7));
    assert_eq!(highest_set(&words(&[0, 1 << 2, 0, 0]), 1, 128), Some(34));
}

#[test]
fn alloc_returns_the_highest_free_page_first() {
    let mut s = scan(false);
    for va in [0x8020_1000, 0x8020_5000, 0x8020_0000] {
        free(&mut s, va).unwrap();
    }
    assert_eq!(s.nfree(), 3);
    let order: Vec<u32> = s.iter().map(|v| v.0).collect();
    assert_eq!(order, [0x8020_5000, 0x8020_1000, 0x8020_0000]);
    assert_eq!(s.alloc(), Some(VAddr(0x8020_5000)));
    free(&mut s, 0x8020_3000).unwrap();
    assert_eq!(
        s.alloc(),
        Some(VAddr(0x8020_3000)),
        "the highest, not the last freed"
    );
    free(&mut s, 0x8020_0000).unwrap_err();
    assert_eq!(s.alloc(), Some(VAddr(0x8020_1000)));
    assert_eq!(s.alloc(), Some(VAddr(0x8020_0000)));
    assert_eq!(s.alloc(), None, "out of memory");
    assert_eq!(s.nfree(), 0);
}

#[test]
fn a_list_and_the_scan_hand_out_the_same_pages_in_their_own_orders() {
    let mut s = scan(false);
    let mut l = FreeList::new(POOL, false, SimRam::default());
    free_range(&mut s, 0x8030_0000, 0x8030_8000).unwrap();
    // SAFETY: simulated pages.
    unsafe { l.free_range(VAddr(0x8030_0000), VAddr(0x8030_8000)) }.unwrap();
    let by_scan: Vec<VAddr> = core::iter::from_fn(|| s.alloc()).collect();
    let by_list: Vec<VAddr> = core::iter::from_fn(|| l.alloc()).collect();
    assert_eq!(
        by_scan, by_list,
        "both highest first after a rising free_range"
    );
    assert_eq!(by_scan.len(), 8);
    for va in &by_scan {
        // SAFETY: simulated pages.
        unsafe { l.free(*va) }.unwrap();
        free(&mut s, va.0).unwrap();
    }
    assert_eq!(l.alloc(), Some(VAddr(0x8030_0000)), "the list: last in");
    assert_eq!(s.alloc(), Some(VAddr(0x8030_7000)), "the scan: highest");
}

#[test]
fn free_keeps_every_rule_and_says_linux_s_words() {
    let mut s = scan(true);
    let say = |e: KfreeError| LinuxSays(e).to_string();
    assert_eq!(
        say(free(&mut s, TOP.0).unwrap_err()),
        "trying to free nonexistent page: kfree: 0x8f000000 is at or above P2V(PHYSTOP) 0x8f000000"
    );
    free(&mut s, 0x8020_0000).unwrap();
    let e = free(&mut s, 0x8020_0000).unwrap_err();
    assert_eq!(
        e,
        KfreeError::DoubleFree {
            va: VAddr(0x8020_0000)
        }
    );
    assert_eq!(
        say(e),
        "trying to free free page: kfree: double free of page 0x80200000"
    );
    assert_eq!(s.nfree(), 1, "a refused free changes nothing");
    let misaligned = free(&mut s, 0x8020_0004).unwrap_err();
    assert_eq!(
        say(misaligned),
        "kfree: 0x80200004 is not page-aligned",
        "Linux has no words for it"
    );
    assert!(matches!(
        free(&mut s, END.0 - 0x1000),
        Err(KfreeError::BelowEnd { .. })
    ));
    assert_eq!(
        s.check_free(VAddr(0x8020_0000)),
        Err(KfreeError::DoubleFree {
            va: VAddr(0x8020_0000)
        })
    );
    assert_eq!(s.check_free(VAddr(0x8020_1000)), Ok(()));
}

#[test]
fn alloc_fills_junk_or_zeroes_and_free_fills_junk() {
    for (junk, want) in [(true, JUNK_ALLOC), (false, 0)] {
        let mut s = scan(junk);
        s.mem
            .fill_with(crate::memlayout::v2p(VAddr(0x8020_0000)), 0xAB);
        free(&mut s, 0x8020_0000).unwrap();
        let after_free = s.mem.bytes(crate::memlayout::v2p(VAddr(0x8020_0000)))[100];
        assert_eq!(
            after_free,
            if junk { JUNK_FREE } else { 0xAB },
            "junk {junk}"
        );
        let va = s.alloc().unwrap();
        let bytes = s.mem.bytes(crate::memlayout::v2p(va));
        assert!(
            bytes.iter().all(|&b| b == want),
            "junk {junk}: filled with {want:#x}"
        );
    }
}

#[test]
fn free_range_marks_whole_pages_and_the_audit_counts_them() {
    let mut s = scan(false);
    let freed = free_range(&mut s, 0x8030_0010, 0x8030_5ff0).unwrap();
    assert_eq!(
        (freed.start, freed.end, freed.pages),
        (VAddr(0x8030_1000), VAddr(0x8030_5000), 4)
    );
    assert_eq!(s.audit(), Ok(4));
    assert!(matches!(
        free_range(&mut s, 0x8EFF_F000, 0x8F00_1000),
        Err(KfreeError::AtOrAboveTop { .. })
    ));
    // A bit set behind the count's back, below the scan's start.
    s.mem.mark_free(VAddr(0x8030_0000), true);
    assert_eq!(
        s.audit(),
        Err(AuditError::ScanCount {
            seen: 5,
            marked: 5,
            count: 4
        })
    );
    assert_eq!(
        s.audit().unwrap_err().to_string(),
        "audit: the scan finds 5 free pages, 5 are marked free, the count says 4"
    );
}

#[test]
fn the_scan_starts_at_the_highest_page_ever_freed() {
    let mut s = scan(false);
    free(&mut s, 0x8020_0000).unwrap();
    assert_eq!(s.high, VAddr(0x8020_1000));
    // A bit above the start is never seen by the scan, but the audit
    // counts every bit.
    s.mem.mark_free(VAddr(0x8050_0000), true);
    assert_eq!(s.alloc(), Some(VAddr(0x8020_0000)));
    assert_eq!(s.alloc(), None);
    assert_eq!(
        s.audit(),
        Err(AuditError::ScanCount {
            seen: 0,
            marked: 1,
            count: 0
        })
    );
}
