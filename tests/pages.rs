//! Page reference counts, JOS's page API and self-checks, and copy-on-write:
//! the monitor's `checks`, `cow` and `page` commands driven over the serial
//! port, and each misuse of the counted API panicking with its message.

mod common;

use xv6::protocol::{CHECKS_PASSED, KALLOC_MODES, KALLOCTEST_OK};

use common::{
    KERNBASE, PGSIZE, PHYSTOP, Session, allocated, free_pages, hex, ktest_panic, line, symbol,
    words,
};

/// The self-checks, in the order `checks` runs them.
const CHECKS: [&str; 6] = [
    "check_page_free_list",
    "check_page_alloc",
    "check_page",
    "check_kern_pgdir",
    "check_page_installed_pgdir",
    "check_cow",
];

/// Run `checks`; every check must say it succeeded, in order, and the free
/// count must be what `meminfo` says before and after.
fn checks_pass(s: &mut Session, ctx: &str) {
    let before = free_pages(&s.command("meminfo"));
    let answer = s.command("checks");
    let said: Vec<&str> = answer
        .lines()
        .filter_map(|l| l.strip_suffix("() succeeded!"))
        .collect();
    assert_eq!(said, CHECKS, "{ctx}: {answer}");
    assert_eq!(
        line(&answer, "checks:"),
        format!("{CHECKS_PASSED}; {before} pages free, as before"),
        "{ctx}"
    );
    assert_eq!(
        free_pages(&s.command("meminfo")),
        before,
        "{ctx}: the checks leaked"
    );
}

#[test]
fn every_check_passes_in_every_mode_and_after_alloc_free_churn() {
    for (mode, cpus) in [
        ("global", "1"),
        ("percpu", "2"),
        ("global", "2"),
        ("scan", "2"),
    ] {
        let ctx = format!("kalloc={mode}, {cpus} CPUs");
        let cmdline = format!("kalloc={mode}");
        let mut s = Session::start(&["--smp", cpus, "--cmdline", &cmdline]);
        checks_pass(&mut s, &ctx);

        // churn: hold some pages, give back every other one, and let every
        // CPU allocate and free, so the lists are no longer as boot left them
        let got = allocated(&s.command("alloc 40"));
        assert_eq!(got.len(), 40, "{ctx}");
        for va in got.iter().step_by(2) {
            let answer = s.command(&format!("free {va:#x}"));
            assert!(
                answer.contains(&format!("free: {va:#010x} is ")),
                "{answer}"
            );
            assert!(!answer.contains("refused"), "{answer}");
        }
        let answer = s.command("kalloctest 2000");
        assert!(answer.contains(KALLOCTEST_OK), "{ctx}: {answer}");
        checks_pass(&mut s, &format!("{ctx}, after churn"));
        s.finish("halt").expect_status(0);
    }
}

/// The counts a `cow:` line ends with (`... counts A 2, B 2`), of `names`.
fn counts(l: &str, names: &[&str]) -> Vec<u32> {
    let tail = &l[l
        .rfind(" count")
        .unwrap_or_else(|| panic!("no counts in {l:?}"))..];
    names
        .iter()
        .map(|n| {
            let after = tail
                .split_once(&format!(" {n} "))
                .unwrap_or_else(|| panic!("no count of {n} in {l:?}"))
                .1;
            words(after)[0]
                .trim_end_matches([',', ';'])
                .parse()
                .unwrap()
        })
        .collect()
}

#[test]
fn cow_gives_each_writer_a_private_page_and_frees_everything() {
    for mode in KALLOC_MODES {
        let cmdline = format!("kalloc={mode}");
        let mut s = Session::start(&["--smp", "2", "--cmdline", &cmdline]);
        let before = free_pages(&s.command("meminfo"));
        let answer = s.command("cow");
        let steps: Vec<&str> = answer.lines().filter(|l| l.starts_with("cow: ")).collect();
        assert_eq!(steps.len(), 8, "{answer}");

        let a = hex(words(steps[0])[5]);
        assert_eq!(counts(steps[0], &["A", "B"]), [1, 1], "{}", steps[0]);
        assert!(steps[1].starts_with("cow: copy_page_tables(parent -> child)"));
        assert_eq!(
            counts(steps[1], &["A", "B"]),
            [2, 2],
            "shared: {}",
            steps[1]
        );

        // the child writes: it gets a copy; the original keeps one mapping
        let copied = format!("page {a:#010x} is shared: copied to ");
        let rest = steps[2].split_once(&copied).expect(steps[2]).1;
        let a2 = hex(words(rest)[0].trim_end_matches(','));
        assert_ne!(a2, a, "a private page for the child");
        assert_eq!(counts(steps[2], &["A", "A'"]), [1, 1], "{}", steps[2]);
        // the parent writes: its page is no longer shared, so no copy
        assert!(
            steps[3].contains(&format!(
                "page {a:#010x} has no other mapping: writable again"
            )),
            "{}",
            steps[3]
        );
        assert_eq!(counts(steps[3], &["A"]), [1], "{}", steps[3]);
        // each write landed in its own page (0xbbb + 1 by the parent)
        assert_eq!(
            steps[4],
            "cow: parent writes again: no fault; A holds 0xbbc, A' holds 0xccc"
        );
        assert_eq!(counts(steps[5], &["A'", "B"]), [0, 1], "{}", steps[5]);
        assert_eq!(counts(steps[6], &["A", "B"]), [0, 0], "{}", steps[6]);
        assert!(
            steps[6].ends_with(&format!("; {before} pages free, as before")),
            "{}",
            steps[6]
        );
        // then un_wp_page called directly after a read cached the old
        // translation: the read after it sees the copy
        assert_eq!(
            steps[7],
            "cow: un_wp_page called directly on the directory in CR3: the old translation is gone"
        );
        assert_eq!(free_pages(&s.command("meminfo")), before, "kalloc={mode}");
        for pa in [a, a2] {
            let answer = s.command(&format!("page {pa:#x}"));
            assert!(answer.contains("count 0, free ("), "{answer}");
        }
        s.finish("halt").expect_status(0);
    }
}

#[test]
fn page_shows_count_state_and_mappings_and_refuses_bad_addresses() {
    let mut s = Session::start(&[]);
    let report = s.out_so_far();
    // the page counts boot_alloc took: never free
    let counts = words(line(&report, "boot_alloc:"));
    let (start, end) = (
        hex(counts[3].trim_start_matches('[')),
        hex(counts[4].trim_end_matches(')')),
    );
    let answer = s.command(&format!("page {start:#x}"));
    assert!(
        answer.contains(&format!(
            "page {:#010x} (page number {}, kva {start:#010x}): count 0, never free: the page counts (boot_alloc)",
            start - KERNBASE,
            (start - KERNBASE) / PGSIZE
        )),
        "{answer}"
    );
    assert!(
        answer.contains(&format!(
            "kfree would refuse it: kfree: {start:#010x} is inside the page counts [{:#010x}, {:#010x})",
            start - KERNBASE,
            end - KERNBASE
        )),
        "{answer}"
    );
    let meminfo = s.command("meminfo");
    assert_eq!(
        line(&meminfo, "page counts:"),
        format!(
            "page counts:  {} pages [{:#010x}, {:#010x}) from boot_alloc, one byte for each of {} pages",
            (end - start) / PGSIZE,
            start - KERNBASE,
            end - KERNBASE,
            PHYSTOP / PGSIZE
        )
    );

    // kernel text: not the allocator's, mapped read-only at its address
    let text = symbol("_start") & !0xFFF;
    let answer = s.command(&format!("page {text:#x}"));
    assert!(
        answer.contains("never free: the allocator does not manage it"),
        "{answer}"
    );
    let mapped = line(&answer, "mapped in the kernel page directory:");
    assert!(mapped.contains(&format!("{text:#010x}")), "{mapped}");
    assert!(mapped.ends_with("P - - -"), "text is read-only: {mapped}");

    // an allocated page, by kernel address and by physical address
    let got = s.command("alloc");
    let va = hex(words(line(&got, "alloc: 0x"))[1]);
    for addr in [va, va - KERNBASE] {
        let answer = s.command(&format!("page {addr:#x}"));
        assert!(
            answer.contains(&format!("kva {va:#010x}): count 0, in use (allocated)")),
            "{answer}"
        );
        let mapped = line(&answer, "mapped in the kernel page directory:");
        assert!(mapped.ends_with("P W - -"), "{mapped}");
    }
    // the free list's head
    let head = hex(words(s.command("freelist 1").lines().nth(1).unwrap())[0]);
    let answer = s.command(&format!("page {head:#x}"));
    assert!(
        answer.contains("count 0, free (on a free list)"),
        "{answer}"
    );

    // bad addresses and arguments are refused; the monitor goes on
    let answer = s.command(&format!("page {PHYSTOP:#x}"));
    assert_eq!(
        answer.trim_end(),
        "page: refused: pa2page: invalid physical address 0x0f000000 (at or above PHYSTOP 0x0f000000)"
    );
    for (cmd, why) in [
        ("page", "page: missing <addr>"),
        ("page lots", "page: <addr> \"lots\" is not a number"),
        ("page 1 2", "page: unexpected argument \"2\""),
        ("cow now", "cow: unexpected argument \"now\""),
        ("checks all", "checks: unexpected argument \"all\""),
    ] {
        let answer = s.command(cmd);
        assert!(answer.contains(why), "{cmd}: {answer}");
        let name = cmd.split(' ').next().unwrap();
        assert!(
            answer.contains(&format!("usage: {name}")),
            "{cmd}: {answer}"
        );
    }
    let help = s.command("help");
    for name in ["page <addr>", "checks", "cow"] {
        assert!(
            help.contains(&format!("  {name} ")),
            "help lists {name}: {help}"
        );
    }
    s.finish("halt").expect_status(0);
}

/// Boot with `ktest=NAME` and expect a panic whose message contains
/// `want(pa)`, where `pa` is the page the test's own `ktest:` line names.
fn expect_page_panic(name: &str, want: impl Fn(u32) -> String) {
    expect_page_panic_in("global", name, want)
}

/// The same, in allocator mode `mode`.
fn expect_page_panic_in(mode: &str, name: &str, want: impl Fn(u32) -> String) {
    let run = ktest_panic(mode, name);
    let pa = run
        .out
        .lines()
        .filter(|l| l.starts_with("ktest: ") && !l.ends_with(" ..."))
        .flat_map(words)
        .find(|w| w.starts_with("0x"))
        .map_or(0, |w| hex(w.trim_end_matches(',')));
    let want = want(pa);
    let message = run.line("panic: ");
    assert!(
        message.contains(&want),
        "{name}: {message:?} lacks {want:?}"
    );
}

#[test]
fn each_misuse_of_the_counted_api_panics_with_its_message() {
    expect_page_panic("pa2page_at_phystop", |_| {
        format!(
            "pa2page: invalid physical address {PHYSTOP:#010x} (at or above PHYSTOP {PHYSTOP:#010x})"
        )
    });
    expect_page_panic("page_free_in_use", |pa| {
        format!("page_free: page {pa:#010x} has count 1")
    });
    expect_page_panic("page_free_twice", |pa| {
        format!("page_free: page {pa:#010x} is already free")
    });
    expect_page_panic("page_decref_at_zero", |pa| {
        format!("page_decref: page {pa:#010x} has count 0")
    });
    expect_page_panic("free_page_tables_misaligned", |_| {
        "free_page_tables: start 0x00401000 is not a multiple of 4 MiB: a span is whole page tables"
            .into()
    });
    expect_page_panic("kfree_mapped_page", |pa| {
        format!("kfree: page {pa:#010x} has count 1: a page table maps it (page_decref frees it)")
    });
    // a read-only page that is not copy-on-write: a real protection fault
    expect_page_panic("write_to_read_only_page", |_| {
        "cr2 0x00400000: write to a present page (protection violation) in kernel mode".into()
    });
}

/// `kalloc=scan` has no list, but kfree and page_free keep every rule.
#[test]
fn scan_mode_keeps_the_counted_api_s_rules() {
    expect_page_panic_in("scan", "kfree_mapped_page", |pa| {
        format!("kfree: page {pa:#010x} has count 1: a page table maps it (page_decref frees it)")
    });
    expect_page_panic_in("scan", "page_free_in_use", |pa| {
        format!("page_free: page {pa:#010x} has count 1")
    });
    expect_page_panic_in("scan", "page_free_twice", |pa| {
        format!("page_free: page {pa:#010x} is already free")
    });
}
