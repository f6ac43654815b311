//! In-kernel tests of the page counts: where boot_alloc put them, and the
//! misuses that must panic (one per boot; the host test reads the message).

use crate::bootinfo::BootInfo;
use crate::jos::pageinfo::{AllocFlags, AtomicCount};
use crate::jos::pageinfo::{RESERVED_AS, infos, page_alloc, page_decref, page_free, page_incref};
use crate::jos::pmap::{KernelPages, PTSIZE, page_insert};
use crate::kalloc::{self, kfree_addr};
use crate::memlayout::{PAddr, SCRATCH, VAddr, p2v, v2p};
use crate::memmap::NotRam;
use crate::mmu::{PTFlags, PageStep, pgroundup};
use crate::{image, println, vm};

use super::{BootReport, counts_area};
use crate::checks::Checked;

/// boot_alloc took one count per page below PHYSTOP, in whole pages right
/// after the kernel image (or past what GRUB left there), on pages nothing
/// else holds; they are reserved in the RAM map, kinit1 started at the
/// image's end (freeing around them), kfree refuses them; and nothing is
/// counted once the checks are done.
pub fn page_counts_from_boot_alloc(r: &BootReport, _: &BootInfo) {
    let area = counts_area();
    let npages = PAddr(0).pages_to(r.phystop);
    crate::check_eq!(infos().npages(), npages, "one count per page below PHYSTOP");
    let image_end = image::end_page();
    let ram = kalloc::ram();
    let pa = |va: VAddr| u64::from(v2p(va).0);
    let usable = |va: VAddr| ram.check_page(pa(va)).is_ok();
    crate::check!(area.start >= image_end, "the counts' first page";
        expected "at or above the image's end {:#010x}", image_end.0; seen "{:#010x}", area.start.0);
    crate::check!(area.start == image_end || !usable(area.start.sub_pages(1)),
        "the counts' first page (boot_alloc skips only pages it may not use)";
        expected "right after the last unusable page"; seen "{:#010x}, past usable pages", area.start.0);
    // The counts' own reservation is the only one on their pages (the
    // first that overlaps is the one named), and the map calls them RAM.
    for va in area.start.pages_until(area.end) {
        match ram.check_page(pa(va)) {
            Err(NotRam::Reserved(res)) if res.what == RESERVED_AS => {}
            other => crate::check!(fail "the reservations on count page {:#010x}", va.0;
                expected "only {RESERVED_AS}"; seen "{other:?}"),
        }
        crate::check!(ram.map.check_page(pa(va)).is_ok(), "count page {:#010x} in the memory map", va.0;
            expected "RAM"; seen "not RAM");
    }
    let bytes = (npages * size_of::<AtomicCount>()) as u32;
    let end = pgroundup(area.start.0 + bytes).checked("below 4 GiB");
    crate::check_eq!(area.end.0, end, "the counts take whole pages");
    crate::check_eq!(
        r.kinit1.start,
        image_end,
        "kinit1 starts at the image's end"
    );
    for va in area.start.pages_until(area.end) {
        crate::check!(kalloc::check_free(va).is_err(),
            "kfree of {:#010x}, a page of the counts", va.0;
            expected "refused"; seen "accepted");
    }
    let counted = (0..npages)
        .map(|n| PAddr(0).add_pages(n))
        .filter(|&pa| infos().count(pa) != Ok(0))
        .count();
    crate::check_eq!(counted, 0, "pages with a count after boot");
    println!(
        "ktest: page counts: {} pages at {:#010x} for {npages} pages",
        area.start.pages_to(area.end),
        area.start.0
    );
}

fn a_page() -> PAddr {
    page_alloc(AllocFlags::default()).checked("a page")
}

/// page_free of a page with a count panics, naming page and count.
pub fn page_free_in_use(_: &BootReport, _: &BootInfo) {
    let pa = a_page();
    page_incref(pa);
    println!("ktest: page_free of {:#010x}, count 1", pa.0);
    // SAFETY: deliberately wrong: the page is counted; page_free panics.
    unsafe { page_free(pa) };
}

/// page_free of a free page panics.
pub fn page_free_twice(_: &BootReport, _: &BootInfo) {
    let pa = a_page();
    // SAFETY: the test owns the page.
    unsafe { page_free(pa) };
    println!("ktest: page_free of {:#010x} again", pa.0);
    // SAFETY: deliberately wrong: the page is free; page_free panics.
    unsafe { page_free(pa) };
}

/// page_decref of a page nobody counts panics.
pub fn page_decref_at_zero(_: &BootReport, _: &BootInfo) {
    let pa = a_page();
    println!("ktest: page_decref of {:#010x}, count 0", pa.0);
    // SAFETY: deliberately wrong: the count is 0; page_decref panics.
    unsafe { page_decref(pa) };
}

/// free_page_tables on a span that does not start on a page table panics.
pub fn free_page_tables_misaligned(_: &BootReport, _: &BootInfo) {
    let pgdir = crate::jos::pmap::alloc_counted_table(&mut KernelPages).checked("a directory");
    // SAFETY: the directory is the test's and maps nothing; the span is
    // refused before anything is touched.
    unsafe { KernelPages.free_page_tables(pgdir, SCRATCH.add_pages(1), PTSIZE) };
}

/// kfree of a page a page table maps panics, naming the page and count.
pub fn kfree_mapped_page(_: &BootReport, _: &BootInfo) {
    let mem = &mut KernelPages;
    let pgdir = crate::jos::pmap::alloc_counted_table(mem).checked("a directory");
    let pa = a_page();
    // SAFETY: the test owns the page; the directory is never installed.
    unsafe { page_insert(mem, pgdir, pa, SCRATCH, PTFlags::RW) }.checked("memory for a table");
    println!(
        "ktest: kfree of {:#010x}, mapped at {:#010x}",
        pa.0, SCRATCH.0
    );
    // SAFETY: deliberately wrong: the page is mapped; kfree panics.
    unsafe { kfree_addr(p2v(pa)) };
}

/// A write to a read-only page that is not copy-on-write is a real
/// protection fault: the page-fault handler panics instead of copying.
pub fn write_to_read_only_page(_: &BootReport, _: &BootInfo) {
    let kpgdir = vm::kpgdir().checked("kvmalloc ran");
    let pa = a_page();
    // SAFETY: the test owns the page; nothing else uses SCRATCH.
    unsafe { page_insert(&mut KernelPages, kpgdir, pa, SCRATCH, PTFlags::empty()) }
        .checked("memory for a table");
    println!("ktest: writing {:#010x}, mapped read-only", SCRATCH.0);
    // SAFETY: deliberately faults; the page-fault handler panics.
    unsafe { (SCRATCH.0 as *mut u32).write_volatile(1) };
    crate::check!(fail "a write to {:#010x}, mapped read-only and not copy-on-write", SCRATCH.0;
        expected "a page fault the handler does not resolve"; seen "the write done");
}
