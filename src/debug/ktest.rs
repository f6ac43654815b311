//! In-kernel tests, run after the boot report when the command line says
//! `ktest=all` (every test that must pass) or `ktest=<name>` (one test,
//! including those that must panic). Results go to the serial port; the
//! host-side tests in `tests/` boot the kernel and read them.

use crate::bio;
use crate::bootinfo::BootInfo;
use crate::checks::Checked;
use crate::cpu::interrupts_enabled;
use crate::debug::hoard::{chain, drain_to, refill};
use crate::entry::ENTRYPGDIR;
use crate::image;
use crate::kalloc::{
    self, Freed, JUNK_ALLOC, JUNK_FREE, KfreeError, Mode, Page, kalloc, kfree, kfree_addr,
};
use crate::memlayout::{BOOT_MAPPED, KERNBASE, KERNLINK, PAddr, VAddr, p2v, p2v_end, v2p};
use crate::mmu::{LARGE_PGSIZE, PDFlags, PGSIZE, PTFlags, PageStep, pgaddr};
use crate::param::NBUF;
use crate::protocol::Ktest;
use crate::sleeplock::SleepLock;
use crate::smp::Started;
use crate::spinlock::Spinlock;
use crate::timer::ticks;
use crate::vm::{self, Kvm};
use crate::{bochs_break, machine, println};

mod pages;
mod smp;
mod stack;
mod steal_twice;

/// What the boot report said, for the tests to check.
pub struct BootReport {
    /// The effective PHYSTOP.
    pub phystop: PAddr,
    pub kinit1: Freed,
    pub kvm: Kvm,
    /// Pages startothers took for the other CPUs' stacks.
    pub stacks: usize,
    pub kinit2: Freed,
    pub nfree: usize,
}

impl BootReport {
    /// The report of the boot stages, in the order `main` runs them.
    pub fn new(
        phystop: PAddr,
        kinit1: Freed,
        kvm: Kvm,
        others: Started,
        kinit2: Freed,
        nfree: usize,
    ) -> Self {
        crate::check_eq!(
            (kinit1.stage, kinit2.stage),
            ("kinit1", "kinit2"),
            "(kinit1.stage, kinit2.stage)"
        );
        BootReport {
            phystop,
            kinit1,
            kvm,
            stacks: others.stacks,
            kinit2,
            nfree,
        }
    }
}

struct KTest {
    name: &'static str,
    run: fn(&BootReport, &BootInfo),
    /// Run by `ktest=all`; the others run alone, when named.
    in_all: bool,
}

const fn t(name: &'static str, run: fn(&BootReport, &BootInfo)) -> KTest {
    KTest {
        name,
        run,
        in_all: true,
    }
}
/// A test that runs only when named: it panics on purpose (`must_panic`)
/// or needs a debugger.
const fn alone(name: &'static str, run: fn(&BootReport, &BootInfo)) -> KTest {
    KTest {
        name,
        run,
        in_all: false,
    }
}
/// A test that must panic: it runs alone, and the host test checks the
/// panic message.
const fn must_panic(name: &'static str, run: fn(&BootReport, &BootInfo)) -> KTest {
    alone(name, run)
}

static TESTS: &[KTest] = &[
    t(
        "entrypgdir_maps_two_large_pages",
        entrypgdir_maps_two_large_pages,
    ),
    t(
        "boot_report_matches_free_list",
        boot_report_matches_free_list,
    ),
    t(
        "page_tables_come_from_below_4mib",
        page_tables_come_from_below_4mib,
    ),
    t(
        "kpgdir_maps_every_kmap_region",
        kpgdir_maps_every_kmap_region,
    ),
    t("lock_is_on_after_kinit2", lock_is_on_after_kinit2),
    t("audit_after_boot", audit_after_boot),
    t("junk_fill", junk_fill),
    t("kalloc_order", kalloc_order),
    t("freerange_whole_pages", freerange_whole_pages),
    t("drain_and_refill", drain_and_refill),
    t(
        "setupkvm_out_of_memory_leaks_nothing",
        setupkvm_out_of_memory_leaks_nothing,
    ),
    must_panic("kfree_misaligned", |_, _| {
        free_bad(image::end_addr().0 + 0x2004)
    }),
    must_panic("kfree_below_end", |_, _| free_bad(KERNLINK.0)),
    must_panic("kfree_at_phystop", |r, _| free_bad(p2v_end(r.phystop).0)),
    must_panic("kfree_above_phystop", |_, _| free_bad(0xFF00_0000)),
    must_panic("kfree_module", |_, boot| {
        let (start, _) = boot
            .modules()
            .next()
            .checked("boot with a GRUB module (--module FILE)");
        let first = crate::mmu::pgroundup(start).checked("the module's first whole page");
        free_bad(p2v(PAddr(first)).0)
    }),
    must_panic("kfree_double", |_, _| {
        let page = kalloc().checked("a page");
        let va = page.va();
        kfree(page);
        free_bad(va.0)
    }),
    // A page dropped instead of given back is lost: the drop panics, naming it.
    must_panic("page_dropped", |_, _| {
        let page = kalloc().checked("a page");
        drop(page);
    }),
    // GRUB's boot information block (left where it was; the kernel reads
    // its copy) is reserved: freeing its page must be refused by name.
    must_panic("kfree_reserved", |_, boot| {
        free_bad(crate::mmu::pgrounddown(p2v(boot.original).0))
    }),
    t(
        "page_counts_from_boot_alloc",
        pages::page_counts_from_boot_alloc,
    ),
    t("checks", |r, _| {
        crate::jos::pmap::check::check_all(r.phystop)
    }),
    // Each self-check alone (the pages lab grades them one by one).
    alone("check_page_free_list", |r, _| {
        self_check("check_page_free_list", r)
    }),
    alone("check_page_alloc", |r, _| self_check("check_page_alloc", r)),
    alone("check_page", |r, _| self_check("check_page", r)),
    alone("check_kern_pgdir", |r, _| self_check("check_kern_pgdir", r)),
    alone("check_page_installed_pgdir", |r, _| {
        self_check("check_page_installed_pgdir", r)
    }),
    alone("check_cow", |r, _| self_check("check_cow", r)),
    must_panic("pa2page_at_phystop", |r, _| {
        crate::jos::pageinfo::count(r.phystop);
    }),
    must_panic("page_free_in_use", pages::page_free_in_use),
    must_panic("page_free_twice", pages::page_free_twice),
    must_panic("page_decref_at_zero", pages::page_decref_at_zero),
    must_panic(
        "free_page_tables_misaligned",
        pages::free_page_tables_misaligned,
    ),
    must_panic("kfree_mapped_page", pages::kfree_mapped_page),
    must_panic("write_to_read_only_page", pages::write_to_read_only_page),
    t("every_cpu_started", smp::every_cpu_started),
    t("cpuid_reads_own_segment", smp::cpuid_reads_own_segment),
    t("kalloctest", smp::kalloctest),
    alone("steal", smp::steal),
    alone("kalloctest_percpu", smp::kalloctest_percpu),
    alone("steal_race", smp::steal_race),
    alone("steal_pairs", smp::steal_pairs),
    alone("steal_twice", steal_twice::steal_twice),
    must_panic("panic_on_other_cpu", smp::panic_on_other_cpu),
    must_panic("panic_on_every_cpu", smp::panic_on_every_cpu),
    // Its verdict is the host's (tests/smp.rs): the output's shape.
    alone("procdump_while_printing", smp::procdump_while_printing),
    t(
        "kernel_stacks_are_guarded",
        stack::kernel_stacks_are_guarded,
    ),
    must_panic("stack_overflow", stack::stack_overflow),
    must_panic("stack_overflow_on_cpu1", stack::stack_overflow_on_cpu1),
    t("pushcli_nests", pushcli_nests),
    t("timer_ticks", timer_ticks),
    // A lab exercise's stub, reached: its line, then EXIT_LAB_TODO.
    alone("lab_todo", |_, _| crate::lab_todo!("ktest", "lab_todo")),
    // The assembly stub (boot/entry.S's LAB_TODO), reached with paging off.
    alone("lab_todo_asm", |_, _| lab_todo_asm()),
    // Run alone, in Bochs: stops in its debugger, then says it went on.
    alone("bochs_break", |_, _| {
        bochs_break!();
        println!("ktest: bochs_break: past the magic breakpoint");
    }),
    must_panic("lock_twice", |_, _| {
        let _held = KTEST_LOCK.lock();
        let _again = KTEST_LOCK.lock();
    }),
    // The lock-order checker (src/lockorder.rs): a lower rank taken while
    // a higher one is held panics, naming both locks and the rule.
    must_panic("lock_order", |_, _| {
        let _inner = KTEST_INNER.lock();
        let _outer = KTEST_LOCK.lock();
    }),
    must_panic("lock_order_percpu", smp::lock_order_percpu),
    // Before any process exists nobody can wait: a sleep lock taken twice
    // at boot, and a bread with every buffer held, each panic by name
    // (a process would sleep instead).
    must_panic("sleeplock_twice_at_boot", |_, _| {
        let _held = KTEST_SLEEPLOCK.acquiresleep();
        let _again = KTEST_SLEEPLOCK.acquiresleep();
    }),
    must_panic("bget_all_held_at_boot", |_, _| hold_every_buffer()),
    must_panic("panic_backtrace", |_, _| {
        backtrace_caller();
    }),
    must_panic("write_to_text", write_to_text),
    // As in xv6, asking which CPU this is with interrupts on is a bug.
    must_panic("cpuid_with_interrupts_on", |_, _| {
        // SAFETY: the IDT is loaded and the devices are set up (main runs
        // the tests after that); no lock is held.
        unsafe { x86::irq::enable() };
        crate::cpu::cpuid();
    }),
    // How the grader's verdicts are tested (tests/labs.rs): a machine
    // that resets, one that goes quiet, one that never stops printing.
    alone("triple_fault", |_, _| triple_fault()),
    alone("silent_hang", |_, _| machine::halt()),
    alone("endless_output", |_, _| {
        for n in 0u64.. {
            println!("ktest: endless_output: line {n}");
        }
    }),
    must_panic("invalid_opcode", |_, _| {
        // SAFETY: deliberately raises #UD; the trap handler panics.
        unsafe { core::arch::asm!("ud2") }
    }),
];

/// What the command line asks for once the boot report is out: in-kernel
/// tests (`ktest=`), measurements (`bench`, for run-qemu.sh --bench) or a
/// power-off right away (`halt`). Each ends in a power-off; returns only
/// when none is asked for.
pub fn boot_options(boot: &BootInfo, report: &BootReport) {
    let cmdline = boot.cmdline();
    if let Some(spec) = crate::cmdline::value(cmdline, crate::cmdline::KTEST) {
        run(spec, report, boot);
        println!("main: in-kernel tests done");
        machine::poweroff();
    }
    if crate::cmdline::has_flag(cmdline, crate::cmdline::BENCH) {
        crate::debug::bench::bench();
        machine::poweroff();
    }
    if crate::cmdline::has_flag(cmdline, crate::cmdline::HALT) {
        println!("main: halt");
        machine::poweroff();
    }
}

/// Run the tests `spec` names: `all`, or one test's name.
fn run(spec: &str, report: &BootReport, boot: &BootInfo) {
    let selected = TESTS.iter().filter(|t| {
        if spec == "all" {
            t.in_all
        } else {
            t.name == spec
        }
    });
    let mut passed = 0;
    for t in selected {
        println!("{}", Ktest::Started(t.name));
        (t.run)(report, boot);
        println!("{}", Ktest::Passed(t.name));
        passed += 1;
    }
    if passed == 0 {
        panic!("ktest: no test is called {spec:?}"); // not a check: a bad option, named
    }
    println!("ktest: {passed} passed, 0 failed");
}

/// Run the self-check called `name` (pmap::check::CHECKS).
fn self_check(name: &str, r: &BootReport) {
    let (_, check) = crate::jos::pmap::check::CHECKS
        .iter()
        .find(|(n, _)| *n == name)
        .checked("ktest: the self-check called by that name (pmap::check::CHECKS)");
    check(r.phystop);
}

/// Locks for the spin-lock tests.
static KTEST_LOCK: Spinlock<u32> = Spinlock::new(crate::lockorder::KTEST, 0);
static KTEST_INNER: Spinlock<u32> = Spinlock::new(crate::lockorder::KTEST_INNER, 0);
static KTEST_SLEEPLOCK: SleepLock<()> = SleepLock::new("ktest", ());

/// Hold a buffer of each of blocks 0..NBUF of the boot's file system,
/// then read one more block.
fn hold_every_buffer() {
    let _ = crate::fs::root().checked("a file system at boot (the default image)");
    let _held: [bio::Buf; NBUF] =
        core::array::from_fn(|b| bio::bread(b as u32).checked("a block of the image"));
    let _one_more = bio::bread(NBUF as u32);
}

/// Interrupts on, for a test that needs them; main has set up the PICs.
fn sti() {
    // SAFETY: every vector has a handler and the PICs deliver the device
    // interrupts above the exceptions (main runs picinit before the tests).
    unsafe { x86::irq::enable() };
}

/// Interrupts off again, as main runs the tests.
fn cli() {
    // SAFETY: turning interrupts off cannot break memory safety.
    unsafe { x86::irq::disable() };
}

/// xv6's rule: holding any spin lock keeps interrupts off, and they come
/// back only when the outermost lock is released, and only if they were on.
fn pushcli_nests(_: &BootReport, _: &BootInfo) {
    sti();
    {
        let _outer = KTEST_LOCK.lock();
        crate::check_eq!(interrupts_enabled(), false, "interrupts with a lock held");
        {
            let _inner = KTEST_INNER.lock();
            crate::check_eq!(
                (KTEST_LOCK.holding(), KTEST_INNER.holding()),
                (true, true),
                "holding (outer, inner)"
            );
        }
        crate::check_eq!(
            KTEST_INNER.holding(),
            false,
            "holding the released inner lock"
        );
        crate::check_eq!(
            interrupts_enabled(),
            false,
            "interrupts after releasing the inner lock"
        );
    }
    crate::check_eq!(
        interrupts_enabled(),
        true,
        "interrupts after releasing the outermost lock"
    );
    cli();
    drop(KTEST_LOCK.lock());
    crate::check_eq!(
        interrupts_enabled(),
        false,
        "interrupts off before a lock, after it"
    );
}

/// Most `hlt`s `timer_ticks` waits through (any interrupt ends one).
const TICK_WAIT_HLTS: u32 = 1000;

/// The timer interrupts and `trap` counts it.
fn timer_ticks(_: &BootReport, _: &BootInfo) {
    let before = ticks();
    sti();
    for _ in 0..TICK_WAIT_HLTS {
        if ticks() > before {
            break;
        }
        // SAFETY: waits for the next interrupt, with interrupts on.
        unsafe { core::arch::asm!("hlt", options(nomem, nostack)) };
    }
    cli();
    crate::check!(ticks() > before, "the ticks after {TICK_WAIT_HLTS} hlts with interrupts on";
        expected "more than {before}"; seen "{}", ticks());
}

/// The panicking function of `panic_backtrace`: the boot test looks for its
/// name, and its caller's, in the backtrace.
#[inline(never)]
fn backtrace_victim(n: u32) -> u32 {
    if core::hint::black_box(n) == 1 {
        panic!("ktest: panicking on purpose to show a backtrace"); // not a check: the test's point
    }
    n
}

#[inline(never)]
fn backtrace_caller() -> u32 {
    // Uses the result, so the call cannot become a jump (a tail call would
    // leave no frame of this function to show).
    backtrace_victim(1) + core::hint::black_box(1)
}

fn free_bad(va: u32) {
    // SAFETY: kfree refuses (panics on) every address this test passes it,
    // before touching memory.
    unsafe { kfree_addr(VAddr(va)) };
    crate::check!(fail "kfree accepted {va:#010x}"; expected "a panic naming the rule it breaks"; seen "kfree returned");
}

fn entrypgdir_maps_two_large_pages(_: &BootReport, _: &BootInfo) {
    let high = KERNBASE.0 as usize / LARGE_PGSIZE;
    for i in 0..crate::mmu::NPDENTRIES {
        let e = ENTRYPGDIR.entry(i);
        if i == 0 || i == high {
            crate::check!(e.is_present() && e.is_writeable() && e.is_page(), "entrypgdir[{i}]";
                expected "present, writable, a 4 MiB page"; seen "{:#x}", e.0);
            crate::check!(!e.is_user_mode_allowed(), "entrypgdir[{i}]";
                expected "no user bit"; seen "{:#x}, with the user bit", e.0);
            crate::check_eq!(e.address(), PAddr(0), "entrypgdir[{i}] maps PA 0");
        } else {
            crate::check!(!e.is_present(), "entrypgdir[{i}]"; expected "not present"; seen "{:#x}", e.0);
        }
    }
    // The CPU set the Accessed bit of the entry it ran on: the table really
    // is in writable memory.
    crate::check!(ENTRYPGDIR.entry(high).flags().contains(PDFlags::A),
        "entrypgdir[{high}]'s flags (the CPU sets A on the entry it runs through)";
        expected "A set"; seen "{:?}", ENTRYPGDIR.entry(high).flags());
}

/// Where boot_alloc put the page counts.
fn counts_area() -> crate::jos::pageinfo::CountsArea {
    crate::jos::pageinfo::area().checked("pageinit ran at boot")
}

/// RAM pages (per the map and the reservations) in `[start, end)`.
fn ram_pages(start: VAddr, end: VAddr) -> usize {
    let ram = kalloc::ram();
    let usable = |va: &u32| ram.check_page(u64::from(va - KERNBASE.0)).is_ok();
    (start.0..end.0).step_by(PGSIZE).filter(usable).count()
}

fn boot_report_matches_free_list(r: &BootReport, _: &BootInfo) {
    let boot_top = p2v(BOOT_MAPPED.min(r.phystop));
    let top = p2v_end(r.phystop);
    // From the image's end: the page counts are reserved, not skipped.
    for (f, start, end) in [
        (&r.kinit1, image::end_page(), boot_top),
        (&r.kinit2, boot_top, top),
    ] {
        crate::check!((f.start, f.end) == (start, end),
            "{}'s reported range (the whole pages of its range)", f.stage;
            expected "[{:#010x}, {:#010x})", start.0, end.0;
            seen "[{:#010x}, {:#010x})", f.start.0, f.end.0);
        let want = ram_pages(start, end);
        crate::check!(f.pages == want,
            "{}'s freed pages (the pages of RAM the kernel may use in [{:#010x}, {:#010x}))",
            f.stage, start.0, end.0;
            expected "{want}"; seen "{}", f.pages);
    }
    let kinit1_left = r.kinit1.pages - r.kvm.pages - r.stacks;
    crate::check!(r.nfree == kinit1_left + r.kinit2.pages,
        "kalloc: the pages free after boot (kinit1 + kinit2 - kvmalloc - startothers)";
        expected "{} + {} - {} - {} = {}", r.kinit1.pages, r.kinit2.pages, r.kvm.pages,
            r.stacks, kinit1_left + r.kinit2.pages;
        seen "{}", r.nfree);
    crate::check_eq!(
        kalloc::nfree(),
        r.nfree,
        "nothing allocated since the report"
    );
    // LIFO: on each list kinit2's pages sit on top of whatever kvmalloc
    // and startothers left of kinit1's (all on cpu0's list in percpu mode).
    let (mut seen, mut low, mut in_low) = (0, 0, false);
    kalloc::first_free(usize::MAX, |list, _, i, va| {
        in_low &= i != 0;
        if va >= boot_top && va < p2v_end(r.phystop) {
            crate::check!(!in_low, "{list}: kinit2 page {:#010x}", va.0;
                expected "above kinit1's pages on the list"; seen "below one");
        } else {
            crate::check!(va >= r.kinit1.start && va < boot_top, "{list}: a free page";
                expected "in kinit1's [{:#010x}, {:#010x}) or kinit2's [{:#010x}, {:#010x})",
                    r.kinit1.start.0, boot_top.0, boot_top.0, p2v_end(r.phystop).0;
                seen "{:#010x}", va.0);
            in_low = true;
            low += 1;
        }
        seen += 1;
    });
    crate::check_eq!(seen, r.nfree, "walk of the free lists");
    crate::check_eq!(low, kinit1_left, "low");
}

fn page_tables_come_from_below_4mib(r: &BootReport, _: &BootInfo) {
    let below = |pa: PAddr| pa >= v2p(r.kinit1.start) && pa < BOOT_MAPPED;
    crate::check!(below(r.kvm.pgdir), "kpgdir's page";
        expected "in kinit1's range below 4 MiB"; seen "{:#x}", r.kvm.pgdir.0);
    let tables: usize = vm::kpgdir_entries()
        .iter()
        .filter(|e| e.is_present())
        .inspect(|e| {
            crate::check!(below(e.address()), "a kernel page table's page";
                expected "in kinit1's range below 4 MiB"; seen "{:#x}", e.address().0)
        })
        .count();
    crate::check_eq!(
        tables + 1,
        r.kvm.pages,
        "directory + tables = the report's count"
    );
}

fn kpgdir_maps_every_kmap_region(r: &BootReport, _: &BootInfo) {
    let pd = vm::kpgdir_entries();
    let samples = [
        KERNBASE.0,
        0x800B_8000, // VGA text buffer
        KERNLINK.0,
        image::entry_addr().0,
        image::etext_addr().0 - 1,
        image::data_addr().0 - 1,
        image::data_addr().0,
        image::end_addr().0,
        p2v(BOOT_MAPPED).0,
        p2v_end(r.phystop).0 - 1,
        p2v_end(r.phystop).0,
        0xFDFF_FFFF,
        0xFE00_0000,
        0xFEE0_0000, // local APIC
        0xFFFF_FFFF,
        0x0010_0000, // the low mapping is gone
        pgaddr(1, 0, 0).0,
    ];
    for va in samples.map(VAddr) {
        let (region, want) = layout(r, va);
        let want = want.map(|(pa, perm)| (pa, perm | PTFlags::P));
        let got = translate(va);
        crate::check!(got == want, "kpgdir's mapping of {:#010x} ({region})", va.0;
            expected "{}", Mapping(want); seen "{}", Mapping(got));
    }
    let user = pd.iter().position(|e| e.is_user_mode_allowed());
    crate::check_eq!(user, None, "the kpgdir entry with a user bit");
}

/// Where the kernel's map must send `va`, by the memory layout
/// (memlayout.rs) rather than by `kmap`, which a lab exercise fills in:
/// the region's name, then the physical address and the flags, or None.
fn layout(r: &BootReport, va: VAddr) -> (&'static str, Option<(PAddr, PTFlags)>) {
    let direct = |perm| Some((v2p(va), perm));
    if va >= KERNBASE && va < KERNLINK {
        ("the I/O space below 1 MiB: writable", direct(PTFlags::RW))
    } else if va >= KERNLINK && va < image::data_addr() {
        (
            "kernel text and read-only data: read-only",
            direct(PTFlags::empty()),
        )
    } else if va >= image::data_addr() && va < p2v_end(r.phystop) {
        ("kernel data and free memory: writable", direct(PTFlags::RW))
    } else if va >= crate::memlayout::DEVSPACE {
        (
            "devices, mapped 1:1: writable",
            Some((PAddr(va.0), PTFlags::RW)),
        )
    } else {
        ("outside the kernel's map: not mapped", None)
    }
}

/// A mapping, for a test's message.
struct Mapping(Option<(PAddr, PTFlags)>);

impl core::fmt::Display for Mapping {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        match self.0 {
            None => f.write_str("nothing"),
            Some((pa, flags)) => {
                let rw = match flags.contains(PTFlags::RW) {
                    true => "writable",
                    false => "read-only",
                };
                write!(f, "pa {:#010x}, {rw}", pa.0)
            }
        }
    }
}

/// What the live kernel page directory maps `va` to, and with which flags
/// (less the Accessed and Dirty bits the CPU sets).
fn translate(va: VAddr) -> Option<(PAddr, PTFlags)> {
    let pde = vm::kpgdir_entries()[crate::mmu::pdx(va)];
    if !pde.is_present() {
        return None;
    }
    let pte = vm::page_table(pde.address())[crate::mmu::ptx(va)];
    pte.is_present().then(|| {
        (
            PAddr(pte.address().0 | va.base_page_offset()),
            pte.flags() & !(PTFlags::A | PTFlags::D),
        )
    })
}

/// The physical address the kernel page directory maps `va` to.
fn kernel_mapping(va: VAddr) -> Option<PAddr> {
    translate(va).map(|(pa, _)| pa)
}

fn lock_is_on_after_kinit2(_: &BootReport, _: &BootInfo) {
    crate::check_eq!(
        kalloc::uses_lock(),
        true,
        "kalloc uses its lock after kinit2"
    );
}

fn junk_fill(_: &BootReport, _: &BootInfo) {
    let scan = kalloc::mode() == Mode::Scan;
    let mut page = kalloc().checked("a page");
    let va = page.va();
    // Without junk, the scan clears the page as Linux does; a list leaves it.
    let alloc_fill = match (cfg!(feature = "junk"), scan) {
        (true, _) => Some((JUNK_ALLOC, "the junk byte")),
        (false, true) => Some((0, "zeroes, as Linux's get_free_page does,")),
        (false, false) => None,
    };
    if let Some((fill, what)) = alloc_fill
        && let Some((i, b)) = first_other(page.bytes(), fill)
    {
        crate::check!(fail
            "byte {i} of {:#010x} from kalloc (kalloc must fill the page with {what} {fill:#04x})",
            va.0;
            expected "{fill:#04x}"; seen "{b:#04x}");
    }
    page.bytes().fill(0xAB);
    kfree(page);
    // SAFETY: the page is free (on the free list, or marked free in scan
    // mode) and nobody else runs; reading it
    // changes nothing.
    let bytes = unsafe { &*(va.0 as *const [u8; PGSIZE]) };
    // The first word holds the list's link; the scan's pages have none.
    let kept = if scan { 0 } else { core::mem::size_of::<u32>() };
    let (junk, what) = match cfg!(feature = "junk") {
        true => (
            JUNK_FREE,
            "kfree did not fill the freed page with the junk byte",
        ),
        false => (
            0xAB,
            "kfree without junk changed the freed page (past a list's link):",
        ),
    };
    if let Some((i, b)) = first_other(&bytes[kept..], junk) {
        crate::check!(fail "{what} {junk:#04x}: byte {} of {:#010x}", i + kept, va.0;
            expected "{junk:#04x}"; seen "{b:#04x}");
    }
    let again = kalloc().checked("the same page");
    crate::check_eq!(
        again.va(),
        va,
        "kalloc gives back the page freed last (for the scan: the highest, the same one)"
    );
    kfree(again);
    kalloc::audit();
}

/// The first byte of `bytes` that is not `want`, with its index.
fn first_other(bytes: &[u8], want: u8) -> Option<(usize, u8)> {
    bytes.iter().copied().enumerate().find(|&(_, b)| b != want)
}

/// Pages come back in the mode's order: off a list in the reverse order
/// they went on; from the scan highest first, each the highest free page.
fn kalloc_order(r: &BootReport, _: &BootInfo) {
    const N: usize = 4;
    let scan = kalloc::mode() == Mode::Scan;
    let before = kalloc::nfree();
    let pages: [Page; N] = core::array::from_fn(|_| kalloc().checked("a page"));
    let freed: [VAddr; N] = core::array::from_fn(|i| pages[i].va());
    if scan {
        crate::check!(freed.is_sorted_by(|a, b| a > b),
            "kalloc=scan's pages (it takes the highest free page first)";
            expected "falling addresses"; seen "{freed:#x?}");
        // Asked of kfree's own rules, not of the scan: no page above the
        // lowest one handed out is free.
        let top = p2v_end(r.phystop);
        if let Some(free) = freed[N - 1]
            .pages_until(top)
            .find(|&va| matches!(kalloc::check_free(va), Err(KfreeError::DoubleFree { .. })))
        {
            crate::check!(fail "kalloc=scan's last page {:#010x}", freed[N - 1].0;
                expected "no free page above it"; seen "{:#010x} free", free.0);
        }
    }
    pages.into_iter().for_each(kfree);
    let again: [Page; N] = core::array::from_fn(|_| kalloc().checked("the pages just freed"));
    for (k, got) in again.iter().enumerate() {
        let (want, rule) = match scan {
            true => (freed[k], "the scan gives the highest free page"),
            false => (freed[N - 1 - k], "the list is last in, first out"),
        };
        crate::check!(got.va() == want, "kalloc after kfree of {N} pages ({rule})";
            expected "{:#010x}", want.0; seen "{:#010x}", got.va().0);
    }
    again.into_iter().for_each(kfree);
    crate::check_eq!(kalloc::nfree(), before, "the free count is back");
}

/// How many pages `three_adjacent_pages` looks through.
const ADJACENT_SEARCH: usize = 64;

/// Three pages next to each other in memory, taken from the allocator:
/// the lowest one's address. The other pages it took are given back.
fn three_adjacent_pages() -> VAddr {
    let mut taken: [Option<Page>; ADJACENT_SEARCH] = core::array::from_fn(|_| kalloc());
    let has = |taken: &[Option<Page>], va: VAddr| taken.iter().flatten().any(|p| p.va() == va);
    let first = taken
        .iter()
        .flatten()
        .map(Page::va)
        .find(|&va| has(&taken, va.add_pages(1)) && has(&taken, va.add_pages(2)))
        .checked("three adjacent pages among the first free ones");
    for slot in &mut taken {
        match slot.take() {
            Some(p) if (first..first.add_pages(3)).contains(&p.va()) => {
                // Owned by the caller from now on, by address.
                let _ = p.into_pa();
            }
            Some(p) => kfree(p),
            None => {}
        }
    }
    first
}

/// freerange frees only the pages wholly inside its range.
fn freerange_whole_pages(_: &BootReport, _: &BootInfo) {
    const INSIDE: u32 = 0x10;
    let first = three_adjacent_pages();
    let before = kalloc::nfree();
    let (start, end) = (
        VAddr(first.0 + INSIDE),
        VAddr(first.add_pages(3).0 - INSIDE),
    );
    let middle = first.add_pages(1);
    let freed = kalloc::freerange(0, start, end);
    crate::check!(
        (freed.pages, freed.start, freed.end) == (1, middle, middle.add_pages(1)),
        "the pages freerange({:#010x}, {:#010x}) freed (only the page {:#010x} lies wholly \
         inside the range)", start.0, end.0, middle.0;
        expected "1 page [{:#010x}, {:#010x})", middle.0, middle.add_pages(1).0;
        seen "{} pages [{:#010x}, {:#010x})", freed.pages, freed.start.0, freed.end.0
    );
    let after = kalloc::nfree();
    crate::check!(
        after == before + 1,
        "the free count after freerange({:#010x}, {:#010x}) freed the page {:#010x} (each \
         page freed must count once)", start.0, end.0, middle.0;
        expected "{before} + 1 = {}", before + 1; seen "{after}"
    );
    let got = kalloc().checked("the page freerange freed");
    crate::check_eq!(
        got.va(),
        middle,
        "freerange put the middle page on the list"
    );
    kfree(got);
    for va in [first, first.add_pages(2)] {
        // SAFETY: three_adjacent_pages took these pages; the test owns them.
        unsafe { kfree_addr(va) };
    }
    crate::check_eq!(
        kalloc::nfree(),
        before + 3,
        "all three pages are free again"
    );
    kalloc::audit();
}

/// The audit walks the free list after boot and finds the boot report's
/// count on it.
fn audit_after_boot(r: &BootReport, _: &BootInfo) {
    match kalloc::try_audit() {
        Ok(n) => crate::check_eq!(
            n,
            r.nfree,
            "the free pages the audit walked (the boot report's count)"
        ),
        Err(e) => crate::check!(fail "the audit of the free list after boot";
            expected "{} pages, each aligned, in range and marked free", r.nfree; seen "{e}"),
    }
}

/// Take every page, check each, give them all back.
fn drain_and_refill(r: &BootReport, boot: &BootInfo) {
    let before = kalloc::nfree();
    let cmdline_before = boot.cmdline();
    // A bitmap of pages handed out, kept in pages of its own.
    let npages = r.phystop.0 as usize / PGSIZE;
    let map_pages = npages.div_ceil(8 * PGSIZE);
    let mut maps: [Option<Page>; 16] = Default::default();
    crate::check!(map_pages <= maps.len(), "the bitmap's pages for {npages} pages";
        expected "at most {}", maps.len(); seen "{map_pages}");
    for m in maps.iter_mut().take(map_pages) {
        let mut p = kalloc().checked("bitmap page");
        p.zero();
        *m = Some(p);
    }
    let bit = |maps: &mut [Option<Page>; 16], n: usize| -> bool {
        let map = maps[n / (8 * PGSIZE)].as_mut().checked("the bitmap's page");
        let byte = &mut map.bytes()[n / 8 % PGSIZE];
        let was = *byte & (1 << (n % 8)) != 0;
        *byte |= 1 << (n % 8);
        was
    };
    // Chain the drained pages through their first word, as the free list does.
    let mut head: u32 = 0;
    let mut got = 0;
    while let Some(p) = kalloc() {
        let va = p.va();
        crate::check!(crate::mmu::is_page_aligned(va.0), "a page from kalloc";
            expected "page-aligned"; seen "{:#010x}", va.0);
        crate::check!(va >= r.kinit1.start && va < p2v_end(r.phystop), "a page from kalloc";
            expected "in the pool [{:#010x}, {:#010x})", r.kinit1.start.0, p2v_end(r.phystop).0;
            seen "{:#010x}", va.0);
        let pa = u64::from(v2p(va).0);
        let ram = kalloc::ram();
        if let Err(why) = ram.check_page(pa) {
            crate::check!(fail "the page {:#010x} from kalloc", va.0;
                expected "a page of RAM the kernel may use"; seen "{why}");
        }
        crate::check!(va >= image::end_addr(), "a page from kalloc";
            expected "above the kernel image (and the boot info copy), {:#010x} on",
                image::end_addr().0;
            seen "{:#010x}", va.0);
        crate::check!(!bit(&mut maps, v2p(va).0 as usize / PGSIZE),
            "page {:#010x} from kalloc, while draining", va.0;
            expected "handed out once"; seen "handed out twice");
        head = chain(p, head);
        got += 1;
    }
    crate::check_eq!(
        got + map_pages,
        before,
        "kalloc until None returns every free page"
    );
    crate::check_eq!(kalloc::nfree(), 0, "kalloc::nfree()");
    crate::check_eq!(
        boot.cmdline(),
        cmdline_before,
        "the boot information survived"
    );
    refill(head);
    maps.into_iter().flatten().for_each(kfree);
    crate::check_eq!(
        kalloc::nfree(),
        before,
        "freeing them all restores the count"
    );
}

/// Leave too few pages for a kernel page directory, at several points of
/// the build, and check that the failed build gives back every page.
fn setupkvm_out_of_memory_leaks_nothing(r: &BootReport, _: &BootInfo) {
    let before = kalloc::nfree();
    for keep in [0, 1, 2, 10, r.kvm.pages - 1] {
        let head = drain_to(keep);
        let got = vm::setupkvm_kalloc(r.phystop);
        crate::check!(got.is_err(), "setupkvm with {keep} pages free";
            expected "out of memory"; seen "a directory built");
        crate::check_eq!(
            kalloc::nfree(),
            keep,
            "the failed build with {keep} pages leaked"
        );
        refill(head);
        crate::check_eq!(kalloc::audit(), before, "kalloc::audit()");
    }
    // with enough pages it succeeds, and freeing it restores the count
    let (pgdir, pages) = vm::setupkvm_kalloc(r.phystop).checked("a full build");
    crate::check_eq!(pages, r.kvm.pages, "pages");
    // SAFETY: the copy was never installed.
    unsafe { vm::freekvm(pgdir) };
    crate::check_eq!(kalloc::audit(), before, "kalloc::audit()");
}

/// Turn paging off, as it is before boot/entry.S turns it on, and jump to
/// `lab_todo_selftest` there: a LAB_TODO stub, which ends the run.
fn lab_todo_asm() -> ! {
    let pgdir = ENTRYPGDIR.pa();
    let stack = v2p(VAddr(crate::entry::boot_stack().end));
    // SAFETY: nothing runs after this. entrypgdir maps the low 4 MiB to
    // themselves, so the code goes on at its physical address once CR3 is
    // loaded; the segments are flat, so paging off changes no address.
    unsafe {
        core::arch::asm!(
            "movl %ecx, %cr3",                   // entrypgdir: VA 0..4 MiB = PA 0..4 MiB
            "movl $(1f - {kernbase}), %eax",
            "jmp *%eax",                         // on at the low (physical) address
            "1: movl %cr0, %eax",
            "andl ${no_pg}, %eax",
            "movl %eax, %cr0",                   // paging off
            "movl %edx, %esp",                   // the boot stack, physical
            "movl $(lab_todo_selftest - {kernbase}), %eax",
            "jmp *%eax",                         // the stub, as entry.S runs it
            in("ecx") pgdir.0,
            in("edx") stack.0,
            kernbase = const KERNBASE.0,
            no_pg = const !crate::mmu::CR0_PG,
            options(noreturn, att_syntax),
        );
    }
}

/// Reset the machine the way a broken page table or IDT does: an
/// exception with no IDT to deliver it through is a double fault, which
/// cannot be delivered either, and the CPU shuts down.
fn triple_fault() -> ! {
    // Limit 0: not one gate fits, the double fault's neither.
    let no_gates = x86::dtables::DescriptorTablePointer::<u64> {
        limit: 0,
        base: core::ptr::null(),
    };
    // SAFETY: deliberately resets the machine; nothing runs after it.
    unsafe {
        x86::dtables::lidt(&no_gates);
        core::arch::asm!("ud2", options(noreturn));
    }
}

fn write_to_text(_: &BootReport, _: &BootInfo) {
    let text = image::entry_addr().0 as *mut u8;
    // SAFETY: deliberately writes to read-only kernel text; the page fault
    // handler panics before anything is changed.
    unsafe { text.write_volatile(0x90) };
    crate::check!(fail "a write to kernel text (text must be mapped read-only)";
        expected "a page fault"; seen "the write done");
}
