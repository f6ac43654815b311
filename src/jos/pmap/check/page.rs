//! JOS's `check_page` and `check_page_installed_pgdir`: the page-table
//! API's rules, on a directory of the check's own and on the kernel's.

use super::{Hoard, is_free, pages, read, write};
use crate::checks::Checked;
use crate::jos::pageinfo::AllocFlags;
use crate::jos::pageinfo::{count, page_alloc, page_decref, page_free};
use crate::jos::pmap::{
    KernelPages, PTSIZE, alloc_counted_table, boot_map_region, page_insert, page_lookup,
    page_remove, pgdir_walk, rcr3,
};
use crate::kalloc;
use crate::linux::memory::cow_faults;
use crate::memlayout::{PAddr, SCRATCH, VAddr, p2v};
use crate::mmu::{
    NPDENTRIES, PDE_USER_TABLE_FLAGS, PGSIZE, PGSIZE_U32, PTEntry, PTFlags, PageStep, pdx, ptx,
};
use crate::vm::{self, OutOfMemory, PageTableMemory};

/// A directory the checks map their own pages in, at SCRATCH.
#[derive(Clone, Copy)]
struct Space {
    pgdir: PAddr,
}

// SAFETY (of `insert` and `remove`): the checks own every page they map,
// and nothing but the check uses SCRATCH in the directory (its own, never
// installed, or the kernel's, whose user half is otherwise empty); so a
// page whose last mapping goes is used by no one.
impl Space {
    fn insert(self, pa: PAddr, va: VAddr, perm: PTFlags) -> Result<(), OutOfMemory> {
        // SAFETY: see the comment on the impl.
        unsafe { page_insert(&mut KernelPages, self.pgdir, pa, va, perm) }
    }

    fn remove(self, va: VAddr) {
        // SAFETY: see the comment on the impl.
        unsafe { page_remove(&mut KernelPages, self.pgdir, va) }
    }

    fn lookup(self, va: VAddr) -> Option<(PAddr, PTFlags)> {
        page_lookup(&mut KernelPages, self.pgdir, va)
    }
}

/// The page `n` pages after SCRATCH.
fn at(n: usize) -> VAddr {
    SCRATCH.add_pages(n)
}

/// The first page of the page table after SCRATCH's.
const NEXT_TABLE: usize = NPDENTRIES;

/// JOS's page-table rules on a directory of the check's own, with memory
/// exhausted: a missing page table is an error that changes nothing;
/// insert counts, re-insert keeps the count, replace drops the old page
/// (freeing it), remove drops the count; boot_map_region counts nothing.
pub fn check_page() {
    const NAME: &str = "check_page";
    let mem = &mut KernelPages;
    let before = kalloc::nfree();
    let pgdir = alloc_counted_table(mem).checked("check_page: a page for the directory");
    let s = Space { pgdir };
    let [pp0, pp1, pp2]: [PAddr; 3] = pages(NAME);
    let hoard = Hoard::take_all();
    let w = PTFlags::RW;
    let page_at = |va| s.lookup(va).map(|(pa, _)| pa);

    crate::check_eq!(page_at(at(0)), None, "{NAME}: a new directory maps nothing");
    let r = s.insert(pp1, at(0), w);
    crate::check_eq!(r, Err(OutOfMemory), "{NAME}: a page table from nowhere");
    crate::check_eq!(count(pp1), 0, "{NAME}: a failed insert counted the page");

    // SAFETY: the check owns pp0.
    unsafe { page_free(pp0) };
    s.insert(pp1, at(0), w).checked("pp0 is free for the table");
    // SAFETY: the directory is the check's.
    let pde = unsafe { mem.pd(pgdir) }[pdx(SCRATCH)];
    crate::check_eq!(
        pde.address(),
        pp0,
        "{NAME}: the table is pp0, the only free page"
    );
    // The low 12 bits: `flags()` also reads bit 12 (PAT for a 4 MiB page).
    let pde_flags = pde.0 & (PGSIZE_U32 - 1);
    crate::check_eq!(
        pde_flags,
        PDE_USER_TABLE_FLAGS.bits(),
        "{NAME}: the PDE's flags"
    );
    crate::check_eq!((count(pp0), count(pp1)), (1, 1), "{NAME}: table and page");
    crate::check_eq!(page_at(at(0)), Some(pp1), "{NAME}: page_at(at(0))");

    s.insert(pp2, at(1), w).checked("the table exists");
    crate::check_eq!(count(pp2), 1, "{NAME}: count(pp2)");
    s.insert(pp2, at(1), w).checked("the same page again");
    crate::check_eq!(count(pp2), 1, "{NAME}: re-inserting changed the count");
    let none = page_alloc(AllocFlags::default());
    crate::check_eq!(none, None, "{NAME}: re-inserting freed a page");

    let pte = pgdir_walk(mem, pgdir, at(1), false).checked("no new table");
    let pte_addr = pte.checked("the table exists") as *mut PTEntry as u32;
    let want = p2v(pp0).0 + (ptx(at(1)) * size_of::<PTEntry>()) as u32;
    crate::check_eq!(pte_addr, want, "{NAME}: pgdir_walk's entry is in pp0");
    s.insert(pp2, at(1), w | PTFlags::US).checked("same page");
    let flags = s.lookup(at(1)).checked("mapped").1;
    let want = PTFlags::P | w | PTFlags::US;
    crate::check!(
        flags.contains(want),
        "{NAME}: new perm (page_insert of a mapped page must set the new permissions)";
        expected "{want:?}"; seen "{flags:?}"
    );
    s.insert(pp2, at(1), PTFlags::empty()).checked("same page");
    let flags = s.lookup(at(1)).checked("mapped").1;
    crate::check!(!flags.contains(w), "{NAME}: perm after inserting read-only again";
        expected "no RW"; seen "{flags:?}");
    crate::check_eq!(count(pp2), 1, "{NAME}: changing perm changed the count");

    let r = s.insert(pp2, at(NEXT_TABLE), w);
    crate::check_eq!(r, Err(OutOfMemory), "{NAME}: a second table from nowhere");
    let walk = pgdir_walk(mem, pgdir, at(NEXT_TABLE), false).map(|e| e.is_some());
    crate::check_eq!(
        walk,
        Ok(false),
        "{NAME}: pgdir_walk without create, where there is no page table, must \
         say so (Ok(None)) and make none"
    );
    crate::check_eq!(count(pp2), 1, "{NAME}: the failed insert changed the count");
    crate::check_eq!(
        page_at(at(NEXT_TABLE)),
        None,
        "{NAME}: page_at(at(NEXT_TABLE))"
    );

    // Replacing pp2 with pp1 drops pp2's only mapping: it is freed.
    s.insert(pp1, at(1), w).checked("the table exists");
    crate::check_eq!(
        (count(pp1), count(pp2)),
        (2, 0),
        "{NAME}: the counts (pp1, pp2) after replacing"
    );
    crate::check!(is_free(pp2), "{NAME}: the replaced page {:#010x}", pp2.0;
        expected "freed"; seen "not free (count {})", count(pp2));
    let back = page_alloc(AllocFlags::default());
    crate::check_eq!(
        back,
        Some(pp2),
        "{NAME}: pp2, the only free page, comes back"
    );

    s.remove(at(0));
    crate::check_eq!(count(pp1), 1, "{NAME}: page_remove dropped the count");
    crate::check_eq!(
        (page_at(at(0)), page_at(at(1))),
        (None, Some(pp1)),
        "{NAME}: (page_at(at(0)), page_at(at(1)))"
    );
    s.remove(at(1));
    crate::check_eq!(count(pp1), 0, "{NAME}: count(pp1)");
    crate::check!(is_free(pp1), "{NAME}: page {:#010x} after its last mapping went", pp1.0;
        expected "freed"; seen "not free (count {})", count(pp1));
    s.remove(at(1));
    crate::check_eq!(count(pp1), 0, "{NAME}: removing nothing changed a count");
    let back = page_alloc(AllocFlags::default());
    crate::check_eq!(back, Some(pp1), "{NAME}: pp1 comes back");

    // boot_map_region maps without counting (for mappings that last as
    // long as the directory, like the kernel's own).
    let region = at(4);
    boot_map_region(mem, pgdir, region, 2 * PGSIZE_U32, pp1, w).checked("the table exists");
    for k in 0..2 {
        let va = region.add_pages(k);
        let (pa, flags) = s.lookup(va).checked("boot_map_region mapped it");
        crate::check_eq!(pa, pp1.add_pages(k), "{NAME}: boot_map_region at {va:x?}");
        crate::check!(flags.contains(w), "{NAME}: boot_map_region's perm at {va:x?}";
        expected "{w:?}"; seen "{flags:?}");
        // Unmapped by hand: free_page_tables would drop counts never taken.
        let pte = pgdir_walk(mem, pgdir, va, false).checked("no new table");
        *pte.checked("the table exists") = PTEntry(0);
    }
    crate::check_eq!(count(pp1), 0, "{NAME}: boot_map_region counted a page");

    // Tear down: the page table (pp0) goes, then the directory.
    // SAFETY: the directory is the check's and maps nothing now.
    unsafe { mem.free_page_tables(pgdir, SCRATCH, PTSIZE) };
    crate::check!(is_free(pp0), "{NAME}: the table {:#010x} after free_page_tables", pp0.0;
        expected "freed"; seen "not free (count {})", count(pp0));
    // SAFETY: the check owns these pages; nothing maps them.
    unsafe {
        page_free(pp1);
        page_free(pp2);
        page_decref(pgdir);
    }
    drop(hoard);
    crate::check_eq!(kalloc::nfree(), before, "{NAME}: every page is back");
}

/// page_insert and page_remove on the installed kernel directory: the CPU
/// sees each change at once (the TLB forgets the old translation).
pub fn check_page_installed_pgdir() {
    const NAME: &str = "check_page_installed_pgdir";
    let kpgdir = vm::kpgdir().checked("kvmalloc ran");
    crate::check_eq!(rcr3(), kpgdir, "{NAME}: the kernel directory is not in CR3");
    let s = Space { pgdir: kpgdir };
    let before = kalloc::nfree();
    let faults = cow_faults().0;
    let [pp1, pp2] = pages(NAME);
    // SAFETY: the check owns both pages, which are in the direct map.
    unsafe {
        core::ptr::write_bytes(p2v(pp1).0 as *mut u8, 1, PGSIZE);
        core::ptr::write_bytes(p2v(pp2).0 as *mut u8, 2, PGSIZE);
    }
    s.insert(pp1, SCRATCH, PTFlags::RW)
        .checked("a page for the table");
    crate::check_eq!(
        read(SCRATCH),
        0x0101_0101,
        "{NAME}: pp1 through its mapping"
    );
    s.insert(pp2, SCRATCH, PTFlags::RW)
        .checked("the table exists");
    let seen = read(SCRATCH);
    crate::check!(
        seen == 0x0202_0202,
        "{NAME}: a read through {:#010x} after page_insert replaced pp1 by pp2 (if it is \
         pp1's, the TLB kept pp1's translation: page_remove must invlpg the address it \
         unmaps)", SCRATCH.0;
        expected "pp2's 0x02020202"; seen "{seen:#010x}"
    );
    crate::check_eq!(
        (count(pp1), count(pp2)),
        (0, 1),
        "{NAME}: the counts (pp1, pp2) after replacing"
    );
    crate::check!(is_free(pp1), "{NAME}: the replaced page {:#010x}", pp1.0;
        expected "freed"; seen "not free (count {})", count(pp1));
    write(SCRATCH, 0x0303_0303);
    crate::check_eq!(read(p2v(pp2)), 0x0303_0303, "{NAME}: the write reached pp2");
    s.remove(SCRATCH);
    crate::check_eq!(count(pp2), 0, "{NAME}: count(pp2)");
    crate::check!(is_free(pp2), "{NAME}: the removed page {:#010x}", pp2.0;
        expected "freed"; seen "not free (count {})", count(pp2));
    // SAFETY: SCRATCH's table is all the kernel directory has below
    // KERNBASE, and nothing maps through it any more.
    unsafe { KernelPages.free_page_tables(kpgdir, SCRATCH, PTSIZE) };
    let kept = vm::kpgdir_entries()[pdx(SCRATCH)].is_present();
    crate::check!(!kept, "{NAME}: the kernel directory's scratch table after the check";
        expected "freed"; seen "kept");
    crate::check_eq!(kalloc::nfree(), before, "{NAME}: every page is back");
    crate::check_eq!(cow_faults().0, faults, "{NAME}: a fault on a writable page");
}
