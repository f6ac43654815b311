//! Boot tests: the kernel booted in QEMU through GRUB by run-qemu.sh, its
//! serial output checked against the layout and the kernel's ELF symbols.

mod common;

use common::{
    EXIT_BAD_BOOT, KERNBASE, PGSIZE, PHYSTOP, counts_pages, expect_panic, expect_panic_in, hex,
    launch, run_script, symbol, words,
};
use xv6::memlayout;
use xv6::protocol::KALLOC_MODES;

// The layout (src/memlayout.rs, and common's constants); the page counts
// below are computed from it and from the ELF, never copied from a run.
const BOOT_MAPPED: u32 = memlayout::BOOT_MAPPED.0;

fn pgroundup(a: u32) -> u32 {
    a.div_ceil(PGSIZE) * PGSIZE
}

/// (pages, start, end) of a `kinitN: freed N pages [0x.., 0x..)` line.
fn freed(line: &str) -> (u32, u32, u32) {
    let w = words(line);
    assert_eq!((w[1], w[3]), ("freed", "pages"), "{line}");
    (
        w[2].parse().unwrap(),
        hex(w[4].trim_start_matches('[')),
        hex(w[5]),
    )
}

#[test]
fn boot_report_agrees_with_the_elf_and_the_layout_in_every_mode() {
    for mode in KALLOC_MODES {
        boot_report_agrees(mode);
    }
}

/// The boot report's figures, the same in every allocator mode.
fn boot_report_agrees(mode: &str) {
    let run = launch(&["--cmdline", &format!("kalloc={mode}")]);
    run.expect_status(0);
    // GRUB's own copy of the boot information stays reserved (the kernel
    // reads its copy in .bss): its pages are not freed by either stage.
    let info = run.line(" bytes at pa ");
    let info_size: u32 = words(info)[1].parse().unwrap();
    let info_pa = bootinfo_pa(&run);
    let overlaps_info = |p: u32| p < info_pa + info_size && info_pa < p + PGSIZE;
    let info_pages = |lo: u32, hi: u32| {
        (lo..hi)
            .step_by(PGSIZE as usize)
            .filter(|&p| overlaps_info(p))
            .count() as u32
    };

    // The counts start at the image's end page.
    let image_end = pgroundup(symbol("end"));
    let n_counts = counts_pages(u64::from(PHYSTOP)) as u32; // at the default PHYSTOP
    let counts_start = KERNBASE + common::counts_start(u64::from(image_end - KERNBASE)) as u32;
    let counts_end = counts_start + n_counts * PGSIZE;
    let counts = words(run.line("boot_alloc:"));
    assert_eq!(
        counts[1..].join(" "),
        format!(
            "{n_counts} pages [{counts_start:#010x}, {counts_end:#010x}) for the counts of {} pages",
            PHYSTOP / PGSIZE
        ),
        "boot_alloc takes one byte per page from the image's end"
    );

    // kinit1 frees from the image's end, around the counts and GRUB's block.
    let (n1, s1, e1) = freed(run.line("kinit1: freed"));
    assert_eq!(
        (s1, e1),
        (image_end, KERNBASE + BOOT_MAPPED),
        "kinit1 frees the image's end..P2V(4MB)"
    );
    let k1_pages = (KERNBASE + BOOT_MAPPED - image_end) / PGSIZE;
    assert_eq!(
        n1,
        k1_pages - n_counts - info_pages(image_end - KERNBASE, BOOT_MAPPED)
    );

    let kvm = words(run.line("kvmalloc:"));
    let m: u32 = kvm[1].parse().unwrap();
    // one directory, the tables for KERNBASE..P2V(PHYSTOP), those for
    // DEVSPACE..4G and the kernel-stacks window's: the kernel's one formula
    let want_m = xv6::vm::kvm_pages(xv6::memlayout::PAddr(PHYSTOP)) as u32;
    assert_eq!(m, want_m, "page-table pages");
    let kpgdir = hex(kvm[5]);
    assert!(
        (image_end..KERNBASE + BOOT_MAPPED).contains(&kpgdir),
        "kpgdir {kpgdir:#x} comes from kinit1's pages"
    );

    let (n2, s2, e2) = freed(run.line("kinit2: freed"));
    assert_eq!(
        (s2, e2),
        (KERNBASE + BOOT_MAPPED, KERNBASE + PHYSTOP),
        "kinit2 frees P2V(4MB)..P2V(PHYSTOP)"
    );
    assert_eq!(
        n2,
        (PHYSTOP - BOOT_MAPPED) / PGSIZE - info_pages(BOOT_MAPPED, PHYSTOP)
    );

    let free = run.line("kalloc:");
    assert_eq!(
        free,
        format!("kalloc: {} pages free ({mode} mode)", n1 + n2 - m),
        "free = kinit1 + kinit2 - page tables"
    );

    // the report comes in xv6's order
    let pos = |s| run.out.find(s).unwrap();
    assert!(
        pos("boot_alloc:") < pos("kinit1:")
            && pos("kinit1:") < pos("kvmalloc:")
            && pos("kvmalloc:") < pos("kinit2:")
            && pos("kinit2:") < pos("kalloc:")
    );
    assert!(run.line("bootinfo: loader").contains("GRUB"));
    assert!(run.has("poweroff"));
}

const IN_KERNEL_TESTS: [&str; 19] = [
    "entrypgdir_maps_two_large_pages",
    "boot_report_matches_free_list",
    "page_tables_come_from_below_4mib",
    "kpgdir_maps_every_kmap_region",
    "lock_is_on_after_kinit2",
    "audit_after_boot",
    "junk_fill",
    "kalloc_order",
    "freerange_whole_pages",
    "drain_and_refill",
    "setupkvm_out_of_memory_leaks_nothing",
    "page_counts_from_boot_alloc",
    "checks",
    "every_cpu_started",
    "cpuid_reads_own_segment",
    "kalloctest",
    "kernel_stacks_are_guarded",
    "pushcli_nests",
    "timer_ticks",
];

fn in_kernel_tests_pass(mode: &str, extra: &[&str]) {
    let cmdline = format!("ktest=all kalloc={mode}");
    let mut args = vec!["--cmdline", &cmdline];
    args.extend_from_slice(extra);
    let run = launch(&args);
    run.expect_status(0);
    run.line(&format!("pages free ({mode} mode)"));
    for t in IN_KERNEL_TESTS {
        run.line(&format!("ktest: {t} ok"));
    }
    run.line(&format!(
        "ktest: {} passed, 0 failed",
        IN_KERNEL_TESTS.len()
    ));
}

#[test]
fn in_kernel_tests_pass_with_junk_fill() {
    in_kernel_tests_pass("global", &[]);
}

#[test]
fn in_kernel_tests_pass_without_junk_fill() {
    in_kernel_tests_pass("global", &["--no-junk"]);
}

/// (percpu mode's suite runs on several CPUs: tests/smp.rs.)
#[test]
fn in_kernel_tests_pass_in_scan_mode_with_and_without_junk_fill() {
    in_kernel_tests_pass("scan", &[]);
    in_kernel_tests_pass("scan", &["--no-junk"]);
}

#[test]
fn each_bad_kfree_panics_with_its_message() {
    let end = symbol("end");
    expect_panic(
        "kfree_misaligned",
        &format!("kfree: {:#010x} is not page-aligned", end + 0x2004),
    );
    expect_panic(
        "kfree_below_end",
        &format!("kfree: 0x80100000 is below the kernel's end {end:#010x}"),
    );
    expect_panic(
        "kfree_at_phystop",
        &format!(
            "kfree: {:#010x} is at or above P2V(PHYSTOP) {:#010x}",
            KERNBASE + PHYSTOP,
            KERNBASE + PHYSTOP
        ),
    );
    // kalloc hands out the list's head: the last page kinit2 freed, the top one
    let top_page = KERNBASE + PHYSTOP - PGSIZE;
    expect_panic(
        "kfree_double",
        &format!("kfree: double free of page {top_page:#010x}"),
    );
    expect_panic(
        "kfree_above_phystop",
        "kfree: 0xff000000 is at or above P2V(PHYSTOP) 0x8f000000",
    );
}

/// `kalloc=scan` keeps every rule; the two Linux 0.01 has words for start
/// with them.
#[test]
fn scan_mode_bad_kfrees_panic_with_linux_s_words() {
    let end = symbol("end");
    // The scan hands out the highest free page: the top one.
    let top_page = KERNBASE + PHYSTOP - PGSIZE;
    for (name, message) in [
        (
            "kfree_double",
            format!("panic: trying to free free page: kfree: double free of page {top_page:#010x}"),
        ),
        (
            "kfree_at_phystop",
            format!(
                "panic: trying to free nonexistent page: kfree: {:#010x} is at or above P2V(PHYSTOP)",
                KERNBASE + PHYSTOP
            ),
        ),
        (
            "kfree_above_phystop",
            "panic: trying to free nonexistent page: kfree: 0xff000000 is at or above".into(),
        ),
        (
            "kfree_misaligned",
            format!("panic: kfree: {:#010x} is not page-aligned", end + 0x2004),
        ),
        (
            "kfree_below_end",
            format!("panic: kfree: 0x80100000 is below the kernel's end {end:#010x}"),
        ),
    ] {
        let run = expect_panic_in("scan", name, &message);
        assert!(run.line("panic: ").starts_with(&message), "{name}");
    }
}

#[test]
fn writing_to_kernel_text_faults() {
    let entry = symbol("_start");
    let run = expect_panic("write_to_text", "trap 14 (page fault): err 0x3, eip 0x801");
    let line = run.line("panic: trap 14");
    assert!(
        line.contains(&format!("cr2 {entry:#010x}")),
        "CR2 is the text address written: {line}"
    );
    assert!(
        line.contains("write to a present page (protection violation) in kernel mode"),
        "{line}"
    );
}

#[test]
fn other_exceptions_are_named() {
    expect_panic(
        "invalid_opcode",
        "trap 6 (invalid opcode): err 0x0, eip 0x801",
    );
}

#[test]
fn a_panic_backtrace_names_the_function_and_its_callers() {
    let run = expect_panic(
        "panic_backtrace",
        "ktest: panicking on purpose to show a backtrace",
    );
    let trace = &run.out[run.out.find("backtrace:").unwrap()..];
    let frame = |name: &str| {
        trace
            .find(&format!(" in xv6::debug::ktest::{name}+0x"))
            .unwrap_or_else(|| panic!("no frame of {name} in:\n{trace}"))
    };
    // innermost first: the panicking function, its caller, ..., main
    assert!(
        frame("backtrace_victim") < frame("backtrace_caller"),
        "{trace}"
    );
    assert!(frame("backtrace_caller") < trace.find(" in main+0x").expect(trace));
    // every frame line has an address in the kernel's text and a name
    for l in trace
        .lines()
        .skip(1)
        .filter(|l| l.trim_start().starts_with('#'))
    {
        let addr = hex(words(l)[1]);
        assert!(l.contains(" in "), "unnamed frame: {l}");
        assert!(addr < symbol("etext") && addr > 0x0010_0000, "{l}");
    }
}

#[test]
fn cpuid_with_interrupts_on_panics() {
    expect_panic(
        "cpuid_with_interrupts_on",
        "cpuid called with interrupts enabled",
    );
}

#[test]
fn a_lock_taken_twice_by_one_cpu_panics_instead_of_spinning() {
    expect_panic(
        "lock_twice",
        "acquire: lock ktest is already held by this CPU",
    );
}

#[test]
fn an_unknown_in_kernel_test_is_an_error() {
    expect_panic("no_such_test", "ktest: no test is called \"no_such_test\"");
}

/// Where GRUB put the boot information (physical), from the boot line.
fn bootinfo_pa(run: &common::Run) -> u32 {
    let line = run.line(" bytes at pa ");
    hex(words(line.split_once(" at pa ").unwrap().1)[0])
}

/// GRUB puts the boot information above 4 MiB, outside entrypgdir and
/// kinit1's range (the image claims the first 4 MiB), whether the ISO's
/// kernel is stripped (the default) or carries its debug info; the kernel
/// reads its own copy either way.
#[test]
fn boot_information_above_4mib_in_both_strip_modes() {
    for (extra, marker) in [(None, "stripped"), (Some("--no-strip"), "full")] {
        let cmdline = format!("ktest=all marker={marker}");
        let mut args: Vec<&str> = extra.into_iter().collect();
        args.extend(["--cmdline", &cmdline]);
        let run = launch(&args);
        run.expect_status(0);
        let pa = bootinfo_pa(&run);
        assert!(
            pa >= BOOT_MAPPED,
            "{args:?}: boot info at {pa:#x}, below 4 MiB"
        );
        // drain_and_refill re-reads the command line after taking every page
        run.line("ktest: drain_and_refill ok");
        assert!(
            run.line("bootinfo: loader")
                .contains(&format!("marker={marker}"))
        );
    }
}

#[test]
fn a_multiboot1_loader_is_refused_with_a_clear_message() {
    let run = launch(&["--multiboot1"]);
    run.expect_status(EXIT_BAD_BOOT);
    let line = run.line("boot: EAX is");
    assert!(
        line.contains("0x2badb002") && line.contains("not the Multiboot2 magic 0x36d76289"),
        "{line}"
    );
    assert!(
        line.contains("multiboot2"),
        "it says which command to use: {line}"
    );
    assert!(!run.has("kinit1:"));
}

#[test]
fn halt_powers_off_after_the_report() {
    let run = launch(&["--cmdline", "halt"]);
    run.expect_status(0);
    let pos = |s| {
        run.out
            .find(s)
            .unwrap_or_else(|| panic!("{s} missing:\n{}", run.out))
    };
    assert!(pos("kalloc:") < pos("main: halt") && pos("main: halt") < pos("poweroff"));
}

#[test]
fn run_qemu_refuses_bad_options_with_a_reason() {
    for (args, says) in [
        (
            &["--mem", "lots"][..],
            "invalid value 'lots' for '--mem <MIB>': not a whole number of MiB",
        ),
        (
            &["--smp", "0"][..],
            "invalid value '0' for '--smp <N>': not a CPU count >= 1",
        ),
        (
            &["--cmdline", "a;b"][..],
            "contains a character GRUB's config would interpret",
        ),
        (&["--bogus"][..], "unexpected argument '--bogus'"),
        (
            &["--module", "/no/such/file"][..],
            "invalid value '/no/such/file' for '--module <FILE>': not a file",
        ),
    ] {
        let run = run_script(args, "");
        run.expect_status(xtask::status::BAD_OPTION);
        assert!(
            run.err.contains(says),
            "{args:?}: stderr {:?} lacks {says:?}",
            run.err
        );
    }
}

/// How long the Bochs boot to the shell may take (GRUB, the kernel, init).
const BOCHS_SHELL_LIMIT: std::time::Duration = std::time::Duration::from_secs(240);

/// `--bochs` with no other option boots the same ISO as QEMU, with the
/// project's file system image, into init and the shell. Bochs's serial
/// port takes no input, so the prompt is all there is to see; the session
/// kills Bochs (it ignores SIGTERM) by its PID when dropped.
#[test]
fn bochs_boots_to_the_same_shell() {
    let o = xtask::launch::options(&["--bochs", "--mem", "64"], &[]);
    assert!(o.default_fs, "a plain --bochs boots the project's image");
    let mut s = xtask::session::Session::launch(&o, BOCHS_SHELL_LIMIT).expect("start Bochs");
    let out = s
        .expect(xtask::peer::SH_PROMPT)
        .unwrap_or_else(|e| panic!("{e}; output:\n{}", s.out()));
    for line in ["fs: ", xv6::protocol::PROCESSES_READY, "init: starting sh"] {
        assert!(out.contains(line), "no {line:?} before the prompt:\n{out}");
    }
    assert_eq!(xtask::launch::silent_resets(&out), 0, "{out}");
}
