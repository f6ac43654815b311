//! Copy-on-write shown on two address spaces the kernel builds itself: a
//! parent's pages shared with a child by `copy_page_tables`, then written
//! by each side. The monitor's `cow` prints each step; `check_cow` runs them
//! silently. Every step asserts what it shows.

use crate::checks::Checked;
use crate::jos::pageinfo::ALLOC_ZERO;
use crate::jos::pageinfo::{count, page_alloc};
use crate::jos::pmap::{KernelPages, PTSIZE, page_insert, page_lookup, read, write};
use crate::kalloc;
use crate::linux::memory::{CowStep, cow_faults, un_wp_page};
use crate::memlayout::{PAddr, SCRATCH, VAddr, p2v};
use crate::mmu::{PGSIZE, PTE_COW, PTFlags, PageStep};
use crate::println;
use crate::vm::{self, walkpgdir};

/// What the pages hold: the parent's data, the child's write, the parent's
/// write, and the read-only page's contents.
const PARENT_DATA: u32 = 0x0000_0AAA;
const CHILD_WRITE: u32 = 0x0000_0CCC;
const PARENT_WRITE: u32 = 0x0000_0BBB;
const SHARED_TEXT: u32 = 0x0000_0777;

/// An odd multiplier that spreads consecutive word numbers over all 32
/// bits (2^32 divided by the golden ratio), so that no two words of the
/// pattern are alike and none is a junk fill.
const SPREAD: u32 = 0x9E37_79B9;

/// Word `i` (from 1) of page A: a pattern that the child's copy must carry
/// whole, since the writes and reads below touch only word 0.
fn pattern(i: usize) -> u32 {
    PARENT_DATA ^ (i as u32).wrapping_mul(SPREAD)
}

/// The address of word `i` of the page at `page`.
fn word(page: VAddr, i: usize) -> VAddr {
    VAddr(page.0 + (i * size_of::<u32>()) as u32)
}

/// Words 1.. of the page at `page` hold [`pattern`].
fn fill_pattern(page: VAddr) {
    (1..PGSIZE / size_of::<u32>()).for_each(|i| write(word(page, i), pattern(i)));
}

/// Check that words 1.. of the page at `page` hold [`pattern`].
fn check_pattern(page: VAddr, what: &str) {
    for i in 1..PGSIZE / size_of::<u32>() {
        let seen = read(word(page, i));
        crate::check!(seen == pattern(i), "cow: word {i} of {what}";
            expected "{:#010x}", pattern(i); seen "{seen:#010x}");
    }
}

/// A directory of the demonstration in CR3 while this lives; the kernel's
/// directory again when it goes.
struct Installed;

impl Installed {
    fn new(pgdir: PAddr) -> Installed {
        // SAFETY: `pgdir` was built by setupkvm, so it maps the kernel (code,
        // stack, data, devices) exactly as the kernel directory does; only
        // the user half differs.
        unsafe { x86::controlregs::cr3_write(u64::from(pgdir.0)) };
        Installed
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        vm::switchkvm();
    }
}

/// The entry mapping `va` in `pgdir`, raw (software bits included).
fn pte(pgdir: PAddr, va: VAddr) -> u32 {
    walkpgdir(&mut KernelPages, pgdir, va, false)
        .ok()
        .flatten()
        .map_or(0, |e| e.0)
}

/// Write `value` at `va` in the directory in CR3 and return what the
/// page-fault handler did, if the write faulted.
fn write_and_watch(va: VAddr, value: u32) -> Option<CowStep> {
    let before = cow_faults().0;
    write(va, value);
    let (after, last) = cow_faults();
    match after - before {
        0 => None,
        1 => {
            let (at, step) = last.checked("a fault was recorded");
            crate::check_eq!(at, va, "cow: the fault was at {:#010x}", at.0);
            Some(step)
        }
        n => crate::check!(fail "cow: the copy-on-write faults of one write";
            expected "0 or 1"; seen "{n}"),
    }
}

/// Run the demonstration on the machine whose PHYSTOP is `phystop`,
/// printing each step when `narrate`.
pub fn cow(phystop: PAddr, narrate: bool) {
    let say = |args: core::fmt::Arguments| {
        if narrate {
            println!("cow: {args}");
        }
    };
    let mem = &mut KernelPages;
    let before = kalloc::nfree();
    let data = SCRATCH;
    let text = SCRATCH.add_pages(1);
    let (parent, _) = vm::setupkvm_kalloc(phystop).checked("cow: a parent directory");
    let (child, _) = vm::setupkvm_kalloc(phystop).checked("cow: a child directory");
    let a = page_alloc(ALLOC_ZERO).checked("cow: page A");
    let b = page_alloc(ALLOC_ZERO).checked("cow: page B");
    write(p2v(a), PARENT_DATA);
    fill_pattern(p2v(a));
    write(p2v(b), SHARED_TEXT);
    let user = PTFlags::US;
    // SAFETY: the demonstration owns both pages; the parent is not in use.
    unsafe {
        page_insert(mem, parent, a, data, user | PTFlags::RW).checked("cow: memory for a table");
        page_insert(mem, parent, b, text, user).checked("the table exists");
    }
    crate::check_eq!((count(a), count(b)), (1, 1), "cow: one mapping each");
    say(format_args!(
        "parent maps page A {:#010x} at {:#010x} writable, page B {:#010x} at {:#010x} read-only: counts A {}, B {}",
        a.0,
        data.0,
        b.0,
        text.0,
        count(a),
        count(b)
    ));

    mem.copy_page_tables(parent, child, SCRATCH, PTSIZE)
        .checked("cow: memory for the child's table");
    crate::check_eq!((count(a), count(b)), (2, 2), "cow: both pages shared");
    for side in [parent, child] {
        let (pa, flags) = page_lookup(mem, side, data).checked("cow: A is mapped on both sides");
        crate::check!(pa == a && !flags.contains(PTFlags::RW),
            "cow: A is read-only on both sides";
            expected "{:#010x} without RW", a.0; seen "{:#010x} {flags:?}", pa.0);
        crate::check_ne!(
            pte(side, data) & PTE_COW,
            0,
            "cow: A is marked copy-on-write"
        );
        crate::check_eq!(
            pte(side, text) & (PTE_COW | PTFlags::RW.bits()),
            0,
            "cow: B stays read-only"
        );
    }
    say(format_args!(
        "copy_page_tables(parent -> child): both map A and B read-only, A marked copy-on-write: counts A {}, B {}",
        count(a),
        count(b)
    ));

    let on_child = Installed::new(child);
    let step = write_and_watch(data, CHILD_WRITE).checked("cow: the child's write faulted");
    let CowStep::Copied { old, new: a2 } = step else {
        crate::check!(fail "cow: the child's write on a shared page";
            expected "a copy (Copied)"; seen "{step}");
    };
    crate::check_eq!(old, a, "cow: the child copied A");
    crate::check_eq!(read(data), CHILD_WRITE, "cow: the child sees its write");
    crate::check_eq!(read(text), SHARED_TEXT, "cow: the child reads B");
    drop(on_child);
    crate::check_eq!(
        read(p2v(a)),
        PARENT_DATA,
        "cow: the child's write reached A"
    );
    check_pattern(
        p2v(a2),
        "the child's copy A' (un_wp_page copies the whole page before the write)",
    );
    check_pattern(p2v(a), "A (the child's write goes to its copy only)");
    crate::check_eq!((count(a), count(a2)), (1, 1), "cow: A and the child's copy");
    say(format_args!(
        "child writes {:#010x}: page fault, un_wp_page: {step}: counts A {}, A' {}",
        data.0,
        count(a),
        count(a2)
    ));

    let on_parent = Installed::new(parent);
    let step = write_and_watch(data, PARENT_WRITE).checked("cow: the parent's write faulted");
    crate::check_eq!(
        step,
        CowStep::MadeWritable { pa: a },
        "cow: A has one mapping left"
    );
    crate::check_eq!(count(a), 1, "cow: making A writable changed its count");
    say(format_args!(
        "parent writes {:#010x}: page fault, un_wp_page: {step}: count A {}",
        data.0,
        count(a)
    ));
    crate::check_eq!(
        write_and_watch(data, PARENT_WRITE + 1),
        None,
        "cow: A is writable now"
    );
    crate::check_eq!(read(data), PARENT_WRITE + 1, "cow: read(data)");
    crate::check_eq!(read(text), SHARED_TEXT, "cow: the parent reads B");
    drop(on_parent);
    crate::check_eq!(
        read(p2v(a2)),
        CHILD_WRITE,
        "cow: the parent's writes reached A'"
    );
    say(format_args!(
        "parent writes again: no fault; A holds {:#x}, A' holds {:#x}",
        read(p2v(a)),
        read(p2v(a2))
    ));

    // SAFETY: neither directory is in CR3 any more, and nothing else uses
    // the pages they map.
    unsafe { mem.free_page_tables(child, SCRATCH, PTSIZE) };
    crate::check_eq!(
        (count(a2), count(b)),
        (0, 1),
        "cow: the child's pages let go"
    );
    say(format_args!(
        "free_page_tables(child): counts A' {} (freed), B {}",
        count(a2),
        count(b)
    ));
    // SAFETY: as above.
    unsafe { mem.free_page_tables(parent, SCRATCH, PTSIZE) };
    crate::check_eq!(
        (count(a), count(b)),
        (0, 0),
        "cow: the parent's pages let go"
    );
    // SAFETY: both directories map only the kernel now and are not in CR3.
    unsafe {
        vm::freekvm(child);
        vm::freekvm(parent);
    }
    let after = kalloc::nfree();
    crate::check_eq!(
        after,
        before,
        "cow: the free count is back where it started"
    );
    say(format_args!(
        "free_page_tables(parent): counts A {}, B {}; {after} pages free, as before",
        count(a),
        count(b)
    ));
    stale_translation(phystop);
    say(format_args!(
        "un_wp_page called directly on the directory in CR3: the old translation is gone"
    ));
}

/// `un_wp_page` called directly on the directory in CR3, after a read has
/// cached the shared page's translation. A fault would make the CPU walk
/// the tables again anyway, so only a direct call shows a missing `invlpg`:
/// the read after it would still reach the shared page.
fn stale_translation(phystop: PAddr) {
    const NAME: &str = "check_cow";
    let mem = &mut KernelPages;
    let before = kalloc::nfree();
    let data = SCRATCH;
    let (parent, _) = vm::setupkvm_kalloc(phystop).checked("cow: a parent directory");
    let (child, _) = vm::setupkvm_kalloc(phystop).checked("cow: a child directory");
    let c = page_alloc(ALLOC_ZERO).checked("cow: page C");
    write(p2v(c), PARENT_DATA);
    // SAFETY: the check owns the page; the parent is not in use.
    unsafe { page_insert(mem, parent, c, data, PTFlags::US | PTFlags::RW) }
        .checked("cow: memory for a table");
    mem.copy_page_tables(parent, child, SCRATCH, PTSIZE)
        .checked("cow: memory for the child's table");
    let on_child = Installed::new(child);
    crate::check_eq!(read(data), PARENT_DATA, "{NAME}: the child reads C"); // cached now
    let step = un_wp_page(mem, child, data).checked("cow: C is copy-on-write in the child");
    let CowStep::Copied { new: c2, .. } = step else {
        crate::check!(fail "{NAME}: un_wp_page on a page with two mappings";
            expected "a copy (Copied)"; seen "{step}");
    };
    write(p2v(c2), CHILD_WRITE); // through the direct map, not through `data`
    let seen = read(data);
    crate::check!(
        seen == CHILD_WRITE,
        "{NAME}: a read through {:#010x} after un_wp_page gave the child its copy {:#010x} \
         (if it is page C's data, the TLB kept the old translation: un_wp_page must invlpg \
         the address it remaps)", data.0, c2.0;
        expected "{CHILD_WRITE:#x}, the copy's"; seen "{seen:#x}"
    );
    drop(on_child);
    // SAFETY: neither directory is in CR3; nothing else uses their pages.
    unsafe {
        mem.free_page_tables(child, SCRATCH, PTSIZE);
        mem.free_page_tables(parent, SCRATCH, PTSIZE);
        vm::freekvm(child);
        vm::freekvm(parent);
    }
    crate::check_eq!(kalloc::nfree(), before, "{NAME}: every page is back");
}
