//! JOS lab 2's self-checks, written for this kernel's layout, and
//! `check_cow`. Each prints `<name>() succeeded!` or panics naming the
//! invariant it found broken. They need the other CPUs idle (they are,
//! between monitor commands) because some of them take every free page.

use core::sync::atomic::Ordering;

use super::{rcr3, read, write};
use crate::jos::pageinfo::{ALLOC_ZERO, AllocFlags};
use crate::jos::pageinfo::{area, count, page_alloc, page_free};
use crate::kalloc::{self, KfreeError};
use crate::memlayout::{
    DEVSPACE, KERNBASE, KERNLINK, KSTACKS, PAddr, VAddr, kstack, p2v, p2v_end, v2p,
};
use crate::mmu::{NPDENTRIES, PDFlags, PGSIZE, PTFlags, PageStep, pdx, pgaddr};
use crate::vm;
use crate::{image, println};

mod page;

/// The checks in the order `checks` runs them.
pub const CHECKS: [Check; 6] = [
    ("check_page_free_list", |_| check_page_free_list()),
    ("check_page_alloc", |_| check_page_alloc()),
    ("check_page", |_| page::check_page()),
    ("check_kern_pgdir", check_kern_pgdir),
    ("check_page_installed_pgdir", |_| {
        page::check_page_installed_pgdir()
    }),
    ("check_cow", |phystop| {
        crate::debug::cow_demo::cow(phystop, false)
    }),
];

/// A check's name, and the check given the effective PHYSTOP.
type Check = (&'static str, fn(PAddr));

/// Run every check (`phystop` is the effective PHYSTOP).
pub fn check_all(phystop: PAddr) {
    for (name, check) in CHECKS {
        check(phystop);
        println!("{name}() succeeded!");
    }
}

/// Whether the page at `pa` is on a free list.
fn is_free(pa: PAddr) -> bool {
    matches!(
        kalloc::check_free(p2v(pa)),
        Err(KfreeError::DoubleFree { .. })
    )
}

/// Every free page, taken off the free lists and chained through its first
/// word, so that a check can run with memory exhausted (JOS's checks empty
/// `page_free_list` for this). Dropping it gives the pages back.
struct Hoard {
    head: Option<PAddr>,
    pages: usize,
}

impl Hoard {
    fn take_all() -> Hoard {
        let mut hoard = Hoard {
            head: None,
            pages: 0,
        };
        while let Some(pa) = page_alloc(AllocFlags::default()) {
            write(p2v(pa), hoard.head.map_or(0, |h| h.0));
            hoard.head = Some(pa);
            hoard.pages += 1;
        }
        crate::check_eq!(kalloc::nfree(), 0, "page_alloc said None: the free count");
        hoard
    }
}

impl Drop for Hoard {
    fn drop(&mut self) {
        while let Some(pa) = self.head.take() {
            let next = read(p2v(pa));
            self.head = (next != 0).then_some(PAddr(next));
            // SAFETY: the hoard took the page and nothing else uses it.
            unsafe { page_free(pa) };
        }
    }
}

/// `N` pages from `page_alloc`.
fn pages<const N: usize>(check: &str) -> [PAddr; N] {
    core::array::from_fn(|i| {
        let page = page_alloc(AllocFlags::default());
        match page {
            Some(pa) => pa,
            None => crate::check!(fail "{check}: a page for pp{i}";
                expected "a page"; seen "None ({} pages free)", kalloc::nfree()),
        }
    })
}

/// Every free page is a page kfree accepts (the audit), has count 0, and
/// lies above the kernel image and outside the page counts (kinit1 frees
/// around them); the counts' pages are never free.
fn check_page_free_list() {
    let Some(counts) = area() else {
        crate::check!(fail "check_page_free_list: the page counts";
            expected "an area (pageinit runs at boot)"; seen "none");
    };
    let n = kalloc::audit();
    crate::check!(n > 0, "check_page_free_list: the free lists' pages";
        expected "at least 1"; seen "{n}");
    let mut seen = 0;
    kalloc::first_free(usize::MAX, |list, _, _, va| {
        crate::check!(va >= image::end_page(), "check_page_free_list: {list}: a free page";
            expected "at or above the end of the kernel image {:#010x}", image::end_page().0;
            seen "{:#010x}", va.0);
        crate::check!(!(counts.start..counts.end).contains(&va),
            "check_page_free_list: {list}: a free page";
            expected "outside the page counts [{:#010x}, {:#010x})", counts.start.0, counts.end.0;
            seen "{:#010x}, one of them", va.0);
        crate::check_eq!(
            count(v2p(va)),
            0,
            "check_page_free_list: {list}: the count of free page {:#010x}",
            va.0
        );
        seen += 1;
    });
    crate::check_eq!(
        seen,
        n,
        "check_page_free_list: the pages a walk of the lists finds (the audit's count)"
    );
    for va in counts.start.pages_until(counts.end) {
        crate::check!(kalloc::check_free(va).is_err(),
            "check_page_free_list: kfree of {:#010x}, a page of the counts", va.0;
            expected "refused"; seen "accepted");
    }
}

/// page_alloc hands out distinct pages with count 0, runs out only when
/// every page is taken, gives back what page_free returned, and zeroes
/// with ALLOC_ZERO.
fn check_page_alloc() {
    const NAME: &str = "check_page_alloc";
    let before = kalloc::nfree();
    let pp: [PAddr; 3] = pages(NAME);
    crate::check!(pp[0] != pp[1] && pp[1] != pp[2] && pp[0] != pp[2],
        "{NAME}: three pages from page_alloc";
        expected "three distinct pages"; seen "{pp:x?}");
    for pa in pp {
        crate::check_eq!(count(pa), 0, "{NAME}: the count of new page {:#010x}", pa.0);
        crate::check!(!is_free(pa), "{NAME}: page {:#010x}, handed out", pa.0;
            expected "not free"; seen "marked free");
    }
    crate::check_eq!(
        kalloc::nfree(),
        before - 3,
        "{NAME}: the free count after three pages taken"
    );

    let hoard = Hoard::take_all();
    crate::check_eq!(
        page_alloc(ALLOC_ZERO),
        None,
        "{NAME}: page_alloc with every page taken"
    );
    for pa in pp {
        // SAFETY: the check owns the page and keeps no pointer into it.
        unsafe { page_free(pa) };
    }
    let mut again: [PAddr; 3] = pages(NAME);
    again.sort_unstable_by_key(|p| p.0);
    let mut pp_sorted = pp;
    pp_sorted.sort_unstable_by_key(|p| p.0);
    crate::check_eq!(
        again,
        pp_sorted,
        "{NAME}: the pages after freeing three and taking three"
    );
    crate::check_eq!(
        page_alloc(ALLOC_ZERO),
        None,
        "{NAME}: page_alloc with those three taken again"
    );

    // ALLOC_ZERO: dirty a page, free it, and get it back zeroed.
    let dirty = pp[0];
    // SAFETY: the check owns the page, which is in the direct map.
    unsafe { core::ptr::write_bytes(p2v(dirty).0 as *mut u8, 0xA5, PGSIZE) };
    // SAFETY: as above.
    unsafe { page_free(dirty) };
    crate::check_eq!(
        page_alloc(ALLOC_ZERO),
        Some(dirty),
        "{NAME}: page_alloc with one page free"
    );
    // SAFETY: the check owns the page.
    let words = unsafe { &*(p2v(dirty).0 as *const [u32; PGSIZE / 4]) };
    if let Some(i) = words.iter().position(|&w| w != 0) {
        crate::check!(fail "{NAME}: word {i} of {:#010x} after page_alloc(ALLOC_ZERO)", dirty.0;
            expected "0"; seen "{:#x}", words[i]);
    }
    for pa in pp {
        // SAFETY: as above.
        unsafe { page_free(pa) };
    }
    drop(hoard);
    crate::check_eq!(
        kalloc::nfree(),
        before,
        "{NAME}: the free count with every page back"
    );
}

/// The kernel page directory maps exactly this kernel's layout: below
/// KERNBASE only the kernel-stacks window, where each other CPU's stack
/// page (and nothing else) is mapped, writable; KERNBASE+pa to pa up to
/// PHYSTOP, read-only for text and rodata and writable elsewhere (the page
/// counts included), except the boot stack's guard page; DEVSPACE to
/// itself; nothing in between; and nothing with the user bit.
fn check_kern_pgdir(phystop: PAddr) {
    const NAME: &str = "check_kern_pgdir";
    let pd = vm::kpgdir_entries();
    let top = p2v_end(phystop);
    let data = image::data_addr();
    let boot_guard = crate::entry::boot_stack_guard().0;
    let stacks = 1..crate::cpu::ncpu();
    let window_stacks = stacks.len();
    let expected = |va: u32| -> Option<(PAddr, bool)> {
        if va == boot_guard {
            None
        } else if (KSTACKS.0..KERNBASE.0).contains(&va) {
            stacks.clone().find(|&i| kstack(i).stack.0 == va).map(|i| {
                let pa = crate::cpu::cpu(i).stack_pa.load(Ordering::Relaxed);
                (PAddr(pa), true)
            })
        } else if (KERNBASE.0..top.0).contains(&va) {
            let read_only = (KERNLINK.0..data.0).contains(&va);
            Some((v2p(VAddr(va)), !read_only))
        } else if va >= DEVSPACE.0 {
            Some((PAddr(va), true))
        } else {
            None
        }
    };
    let mut mapped = 0usize;
    for (i, pde) in pd.iter().enumerate() {
        let base = pgaddr(i, 0, 0).0;
        if !pde.is_present() {
            let want = (0..NPDENTRIES).find_map(|j| expected(pgaddr(i, j, 0).0));
            crate::check!(want.is_none(), "{NAME}: PDE {i} ({base:#010x})";
                expected "a page table (the layout maps that range)"; seen "not present");
            continue;
        }
        crate::check!(base >= KERNBASE.0 || base == KSTACKS.0, "{NAME}: PDE {i} ({base:#010x})";
            expected "not present (below KERNBASE, not the kernel-stacks window)"; seen "present");
        crate::check!(!pde.flags().intersects(PDFlags::US | PDFlags::PS),
            "{NAME}: PDE {i} ({base:#010x})'s flags";
            expected "neither US nor PS"; seen "{:?}", pde.flags());
        for (j, pte) in vm::page_table(pde.address()).iter().enumerate() {
            let va = pgaddr(i, j, 0).0;
            match (expected(va), pte.is_present()) {
                (None, false) => {}
                (None, true) => crate::check!(fail "{NAME}: {va:#010x}, outside the layout";
                    expected "not mapped"; seen "mapped to {:#010x}", pte.address().0),
                (Some((pa, _)), false) => crate::check!(fail "{NAME}: {va:#010x}";
                    expected "mapped to {:#010x}", pa.0; seen "not mapped"),
                (Some((pa, writable)), true) => {
                    crate::check_eq!(pte.address(), pa, "{NAME}: the page {va:#010x} maps");
                    crate::check_eq!(
                        pte.flags().contains(PTFlags::RW),
                        writable,
                        "{NAME}: {va:#010x}'s write bit"
                    );
                    crate::check!(!pte.flags().contains(PTFlags::US), "{NAME}: {va:#010x}'s flags";
                        expected "no US"; seen "{:?}", pte.flags());
                    mapped += 1;
                }
            }
        }
    }
    // DEVSPACE up to 4 GiB is whole page tables.
    let devspace = (NPDENTRIES - pdx(DEVSPACE)) * NPDENTRIES;
    // Less the boot stack's guard, plus the other CPUs' stacks.
    let want = KERNBASE.pages_to(top) + devspace - 1 + window_stacks;
    crate::check_eq!(mapped, want, "{NAME}: the pages mapped");
    crate::check_eq!(
        Some(rcr3()),
        vm::kpgdir(),
        "{NAME}: CR3 (the kernel page directory, kvmalloc's)"
    );
}
