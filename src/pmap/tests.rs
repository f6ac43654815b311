//! Host tests of the counted page-table API on simulated physical pages:
//! kalloc's free list and the page counts, as the kernel will use them.

use super::*;
use crate::kalloc::FreeList;
use crate::mmu::{PD, PGSIZE, PT};
use crate::pageinfo::sim::{SimRam, WORDS, counts, free_list};
use crate::pageinfo::{Count, PageInfos, Pages};

/// A TLB operation the code asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tlb {
    Invlpg(PAddr, VAddr),
    Flush(PAddr),
}

/// Counted pages on simulated memory, recording what the TLB was told.
struct Sim {
    list: FreeList<SimRam>,
    infos: PageInfos<'static>,
    tlb: Vec<Tlb>,
}

impl PageTableMemory for Sim {
    const PDE_FLAGS: PDFlags = PDE_USER_TABLE_FLAGS;

    fn alloc_table(&mut self) -> Option<PAddr> {
        alloc_counted_table(self)
    }
    unsafe fn free_table(&mut self, pa: PAddr) {
        // SAFETY: passed on from the caller.
        unsafe { self.decref(pa) };
    }
    unsafe fn pd(&mut self, pa: PAddr) -> &mut PD {
        self.list.mem_mut().pd(pa)
    }
    unsafe fn pt(&mut self, pa: PAddr) -> &mut PT {
        self.list.mem_mut().pt(pa)
    }
}

impl PhysPages for Sim {
    fn alloc_page(&mut self, flags: AllocFlags) -> Option<PAddr> {
        self.pages().page_alloc(flags)
    }
    fn count(&self, pa: PAddr) -> Count {
        self.infos.count(pa).unwrap_or_else(|e| panic!("{e}"))
    }
    fn incref(&mut self, pa: PAddr) {
        self.infos.incref(pa).unwrap_or_else(|e| panic!("{e}"));
    }
    unsafe fn decref(&mut self, pa: PAddr) -> bool {
        // SAFETY: passed on from the caller.
        unsafe { self.pages().page_decref(pa) }.unwrap_or_else(|e| panic!("{e}"))
    }
    unsafe fn copy_page(&mut self, from: PAddr, to: PAddr) {
        self.list.mem_mut().copy(from, to);
    }
    fn invlpg(&mut self, pgdir: PAddr, va: VAddr) {
        self.tlb.push(Tlb::Invlpg(pgdir, va));
    }
    fn flush_tlb(&mut self, pgdir: PAddr) {
        self.tlb.push(Tlb::Flush(pgdir));
    }
}

/// Free pages in most tests: more than any of them maps.
const NPAGES: usize = 64;

/// Word `va` addresses within its page.
fn word(va: VAddr) -> usize {
    va.0 as usize % PGSIZE / 4
}

impl Sim {
    fn new(npages: usize) -> Self {
        Sim {
            list: free_list(npages),
            infos: PageInfos::new(counts()),
            tlb: Vec::new(),
        }
    }

    fn pages(&mut self) -> Pages<'_, 'static, SimRam> {
        Pages {
            list: &mut self.list,
            infos: &self.infos,
        }
    }

    fn nfree(&self) -> usize {
        self.list.nfree()
    }

    /// A new, empty page directory.
    fn pgdir(&mut self) -> PAddr {
        self.alloc_table().expect("a page for the directory")
    }

    /// An unmapped page holding `value` in every word.
    fn page_with(&mut self, value: u32) -> PAddr {
        let pa = self.alloc_page(AllocFlags::default()).expect("a free page");
        *self.list.mem_mut().words(pa) = [value; WORDS];
        pa
    }

    /// Take every free page but `keep`, so that the next allocations fail.
    fn drain_to(&mut self, keep: usize) {
        while self.nfree() > keep {
            self.alloc_page(AllocFlags::default());
        }
    }

    /// Entry `pdx(va)` of the directory.
    fn pde(&mut self, pgdir: PAddr, va: VAddr) -> PDEntry {
        // SAFETY: every directory in these tests comes from alloc_table.
        let pd = unsafe { self.pd(pgdir) };
        pd[pdx(va)]
    }

    /// The raw entry mapping `va` (software bits included).
    fn pte(&mut self, pgdir: PAddr, va: VAddr) -> u32 {
        pgdir_walk(self, pgdir, va, false)
            .unwrap()
            .expect("a table")
            .0
    }

    /// What a user read of the word at `va` sees through the page tables.
    fn read(&mut self, pgdir: PAddr, va: VAddr) -> u32 {
        let (pa, _) = page_lookup(self, pgdir, va).expect("mapped");
        self.list.mem_mut().words(pa)[word(va)]
    }

    /// A user write of the word at `va`: on a read-only page the write
    /// faults first into un_wp_page (as the page-fault handler will), which
    /// must make it writable. Returns what the fault did, if there was one.
    fn write(&mut self, pgdir: PAddr, va: VAddr, value: u32) -> Option<CowStep> {
        let (_, flags) = page_lookup(self, pgdir, va).expect("mapped");
        let step = (!flags.contains(PTFlags::RW))
            .then(|| un_wp_page(self, pgdir, va).unwrap_or_else(|e| panic!("{e}")));
        let (pa, flags) = page_lookup(self, pgdir, va).unwrap();
        assert!(flags.contains(PTFlags::RW), "writable after the fault");
        self.list.mem_mut().words(pa)[word(va)] = value;
        step
    }
}

/// `page_insert` on simulated pages.
fn insert(
    m: &mut Sim,
    pgdir: PAddr,
    pa: PAddr,
    va: VAddr,
    perm: PTFlags,
) -> Result<(), OutOfMemory> {
    // SAFETY: nothing outside the simulated page tables refers to the pages.
    unsafe { page_insert(m, pgdir, pa, va, perm) }
}

/// `page_remove` on simulated pages.
fn remove(m: &mut Sim, pgdir: PAddr, va: VAddr) {
    // SAFETY: as for `insert`.
    unsafe { page_remove(m, pgdir, va) }
}

/// `free_page_tables` on simulated pages.
fn free_tables(m: &mut Sim, pgdir: PAddr, from: VAddr, size: u32) -> Result<(), SpanError> {
    // SAFETY: as for `insert`.
    unsafe { free_page_tables(m, pgdir, from, size) }
}

/// `pde` points at a table with exactly the user-table flags (a table
/// entry's bit 12 is address, which `flags()` would read as PAT).
fn assert_user_table(pde: PDEntry) {
    assert_eq!(pde.0, PDEntry::new(pde.address(), PDE_USER_TABLE_FLAGS).0);
}

const USER_RW: PTFlags = PTFlags::from_bits_truncate(PTFlags::US.bits() | PTFlags::RW.bits());
const VA: VAddr = VAddr(0x0040_3000);

/// `va` plus `n` pages.
fn plus_pages(va: VAddr, n: u32) -> VAddr {
    VAddr(va.0 + n * PGSIZE as u32)
}

/// The page after [`VA`], in the same page table.
const OTHER: VAddr = VAddr(VA.0 + PGSIZE as u32);

/// A directory mapping one page holding `value`, writable at [`VA`]:
/// (memory, directory, page).
fn one_page(value: u32) -> (Sim, PAddr, PAddr) {
    let mut m = Sim::new(NPAGES);
    let pgdir = m.pgdir();
    let pa = m.page_with(value);
    insert(&mut m, pgdir, pa, VA, USER_RW).unwrap();
    (m, pgdir, pa)
}

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
    pgdir_walk(&mut m, pgdir, plus_pages(VA, 1), true).unwrap();
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
    assert_eq!(page_lookup(&mut m, pgdir, plus_pages(VA, 1)), None);
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
    let va = VAddr(0x0040_0000 - PGSIZE as u32);
    let pa = PAddr(0x0010_0000);
    boot_map_region(&mut m, pgdir, va, 3 * PGSIZE as u32, pa, PTFlags::RW).unwrap();
    for i in 0..3 {
        let page = PAddr(pa.0 + i * PGSIZE as u32);
        assert_eq!(
            page_lookup(&mut m, pgdir, plus_pages(va, i)),
            Some((page, PTFlags::RW | PTFlags::P))
        );
        assert_eq!(m.count(page), 0, "static mappings are not counted");
    }
    assert_eq!(page_lookup(&mut m, pgdir, plus_pages(va, 3)), None);
    assert_eq!(m.nfree(), before - 2, "two tables");
    let tables = [va, plus_pages(va, 1)].map(|v| m.pde(pgdir, v).address());
    assert_ne!(tables[0], tables[1]);
    assert!(tables.iter().all(|&t| m.count(t) == 1));
    boot_map_region(&mut m, pgdir, VAddr(0x0100_0000), 0, pa, PTFlags::RW).unwrap();
    assert_eq!(m.nfree(), before - 2, "an empty range maps nothing");
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
    for va in [VAddr(PGSIZE as u32), plus_pages(VAddr(2 * PTSIZE), 5)] {
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
    insert(&mut m, pgdir, pa, plus_pages(VA, 1), USER_RW).unwrap();
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
