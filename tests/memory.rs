//! Memory-map tests: boots with many RAM sizes, each report checked against
//! counts the test computes itself from the printed memory map, the ELF's
//! `end` and where GRUB put the boot information.

mod common;

use common::{
    BOCHS_POWEROFF, EXIT_PANIC, PG, counts_pages, counts_start, hex, launch, run_script, symbol,
    words,
};
use xv6::memlayout;

// The layout (src/memlayout.rs), widened for arithmetic up to 4 GiB.
const KERNBASE: u64 = memlayout::KERNBASE.0 as u64;
const EXTMEM: u64 = memlayout::EXTMEM.0 as u64;
const BOOT_MAPPED: u64 = memlayout::BOOT_MAPPED.0 as u64;
const PHYSTOP: u64 = memlayout::PHYSTOP.0 as u64;
const PHYSTOP_MAX: u64 = memlayout::PHYSTOP_OPTION_MAX.0 as u64;

/// What the test expects of one boot.
struct Expect {
    phystop: u64,
    why: &'static str,
    kinit1: u64,
    kinit2: u64,
    tables: u64,
}

/// Recompute the boot report from the printed map and the reservations.
fn expect(run: &common::Run, cap: u64) -> Expect {
    let regions: Vec<(u64, u64, bool)> = run
        .out
        .lines()
        .filter(|l| l.starts_with("memory: ["))
        .map(|l| {
            let w = words(l);
            let start =
                u64::from_str_radix(w[1].trim_start_matches("[0x").trim_end_matches(','), 16)
                    .unwrap();
            let end = u64::from_str_radix(w[2].trim_start_matches("0x").trim_end_matches(')'), 16)
                .unwrap();
            (start, end, w[3..].join(" ") == "available")
        })
        .collect();
    assert!(regions.len() >= 2, "no memory map printed:\n{}", run.out);
    let end_pa = u64::from(symbol("end")) - KERNBASE;
    let info = run.line(" bytes at pa ");
    let size: u64 = words(info)[1].parse().unwrap();
    let info_pa = u64::from(hex(words(info.split_once(" at pa ").unwrap().1)[0]));
    let mut reserved = vec![(0, PG), (EXTMEM, end_pa), (info_pa, info_pa + size)];
    for l in run.out.lines().filter(|l| l.starts_with("module: [")) {
        let w = words(l);
        reserved.push((
            u64::from(hex(w[1].trim_start_matches('['))),
            u64::from(hex(w[2])),
        ));
    }
    let usable = |p: u64| {
        let e = p + PG;
        !reserved.iter().any(|&(s, t)| s < e && p < t)
            && !regions
                .iter()
                .any(|&(s, t, avail)| !avail && s < e && p < t)
            && regions
                .iter()
                .any(|&(s, t, avail)| avail && s <= p && e <= t)
    };
    let top = regions
        .iter()
        .filter(|r| r.2)
        .map(|r| r.1)
        .max()
        .unwrap()
        .min(u64::from(u32::MAX))
        / PG
        * PG;
    let (phystop, why) = if cap <= top {
        (cap, "cap")
    } else {
        (top, "ram")
    };
    let boot_top = BOOT_MAPPED.min(phystop);
    // boot_alloc's page counts, one byte a page, right after the image; they
    // are reserved, and kinit1 frees the rest from the image's end.
    let counts_pages = counts_pages(phystop);
    let counts_start = counts_start(end_pa);
    let counts_end = counts_start + counts_pages * PG;
    let count = |a: u64, b: u64| {
        (a..b)
            .step_by(PG as usize)
            .filter(|&p| usable(p) && !(counts_start..counts_end).contains(&p))
            .count() as u64
    };
    let kinit1_start = end_pa.div_ceil(PG) * PG;
    Expect {
        phystop,
        why,
        kinit1: count(kinit1_start, boot_top),
        kinit2: count(boot_top, phystop),
        tables: kvm_tables(phystop),
    }
}

/// kvmalloc's pages at `phystop`: the directory, the tables for
/// KERNBASE..P2V(PHYSTOP), those for DEVSPACE..4 GiB and the kernel-stacks
/// window's (the kernel's one formula).
fn kvm_tables(phystop: u64) -> u64 {
    let phystop = u32::try_from(phystop).expect("PHYSTOP fits in 32 bits");
    xv6::vm::kvm_pages(xv6::memlayout::PAddr(phystop)) as u64
}

fn number(line: &str, word: usize) -> u64 {
    words(line)[word].parse().unwrap()
}

/// Boot with `mem` MiB and `cmdline`, and check everything the report says.
fn boot_with(mem: u32, cmdline: &str, cap: u64) {
    boot_in(&[], 0, mem, cmdline, cap);
}

/// Boot with run-qemu.sh's `extra` options, expecting exit `status`.
fn boot_in(extra: &[&str], status: i32, mem: u32, cmdline: &str, cap: u64) {
    let cmd = format!("ktest=all {cmdline}");
    let mem_s = mem.to_string();
    let mut args = vec!["--mem", &mem_s, "--cmdline", &cmd];
    args.extend_from_slice(extra);
    let run = launch(&args);
    run.expect_status(status);
    let want = expect(&run, cap);
    let ctx = format!("{extra:?} --mem {mem} {cmdline}");
    assert_eq!(
        run.line("phystop: 0x"),
        format!("phystop: {:#010x} ({})", want.phystop, want.why),
        "{ctx}"
    );
    assert_eq!(
        number(run.line("kinit1: freed"), 2),
        want.kinit1,
        "{ctx}: kinit1"
    );
    assert_eq!(
        number(run.line("kvmalloc:"), 1),
        want.tables,
        "{ctx}: page tables"
    );
    let k2 = run.line("kinit2: freed");
    assert_eq!(number(k2, 2), want.kinit2, "{ctx}: kinit2");
    assert!(
        k2.ends_with(&format!(", {:#010x})", KERNBASE + want.phystop)),
        "{ctx}: {k2}"
    );
    // Each other CPU took a stack page from kinit1's pages.
    let cpus = number(run.line(" CPUs (APIC ids "), 1);
    let stacks = number(run.line("startothers:"), 1);
    assert_eq!(stacks, cpus - 1, "{ctx}: stack pages");
    assert_eq!(
        number(run.line("kalloc:"), 1),
        want.kinit1 + want.kinit2 - want.tables - stacks,
        "{ctx}: free"
    );
    run.line("ktest: drain_and_refill ok");
    run.line("ktest: boot_report_matches_free_list ok");
    run.line("ktest: audit_after_boot ok");
    run.line("poweroff");
}

#[test]
fn small_memories_clamp_phystop_to_ram() {
    for mem in [32, 64, 128] {
        boot_with(mem, "", PHYSTOP);
    }
}

#[test]
fn memories_around_phystop() {
    for mem in [239, 240, 256] {
        boot_with(mem, "", PHYSTOP);
    }
}

#[test]
fn large_memories_keep_the_cap() {
    for mem in [1024, 3072] {
        boot_with(mem, "", PHYSTOP);
    }
}

#[test]
fn phystop_option_raises_and_lowers_the_cap() {
    boot_with(1024, "phystop=1024M", 1024 << 20);
    boot_with(512, "phystop=0x4000000", 0x400_0000);
}

/// The largest cap: P2V(PHYSTOP) is DEVSPACE itself, and after the page
/// counts kinit1 still has pages enough for kvmalloc's 514 tables, and for
/// them and the stacks of 7 other CPUs.
#[test]
fn the_largest_phystop_boots() {
    let largest = format!("phystop={PHYSTOP_MAX:#x}");
    boot_with(2048, &largest, PHYSTOP_MAX);
    boot_in(&["--smp", "8"], 0, 3072, &largest, PHYSTOP_MAX);
}

#[test]
fn bad_phystop_values_are_refused_and_the_default_kept() {
    for (value, why) in [
        ("lots", "not a size"),
        ("3M", "out of range"),
        ("0x70001000", "out of range"),
        ("4G", "out of range"),
        ("0x10000100", "not a multiple of the page size"),
    ] {
        let run = launch(&["--cmdline", &format!("phystop={value}")]);
        run.expect_status(0);
        let line = run.line("phystop: refusing");
        assert!(line.contains(&format!("phystop={value}: {why}")), "{line}");
        assert!(
            line.contains(&format!("from {BOOT_MAPPED:#x} to {PHYSTOP_MAX:#x}")),
            "names the range: {line}"
        );
        assert_eq!(
            run.line("phystop: 0x"),
            "phystop: 0x0f000000 (cap)",
            "the default is kept"
        );
    }
}

#[test]
fn freeing_a_reserved_page_names_the_region() {
    // GRUB puts the boot information above 4 MiB, on pages of its own.
    let run = launch(&["--cmdline", "ktest=kfree_reserved"]);
    run.expect_status(EXIT_PANIC);
    let line = run.line("panic: kfree:");
    assert!(
        line.contains("is inside the boot information [0x"),
        "{line}"
    );
}

#[test]
fn a_page_dropped_without_kfree_panics_naming_it() {
    let run = launch(&["--cmdline", "ktest=page_dropped"]);
    run.expect_status(EXIT_PANIC);
    let line = run.line("panic: kalloc: page 0x");
    assert!(
        line.contains("dropped without kfree or into_pa: it is lost for good"),
        "{line}"
    );
}

#[test]
fn bochs_boots_the_same_iso_with_64_and_256_mib() {
    // one at a time: each Bochs listens on the VNC port of its headless display
    boot_in(&["--bochs"], BOCHS_POWEROFF, 64, "", PHYSTOP);
    boot_in(&["--bochs"], BOCHS_POWEROFF, 256, "", PHYSTOP);
}

/// Below the least RAM that boots, the runner refuses before GRUB stops
/// at "out of memory" (the image claims the first 4 MiB); at the least,
/// the kernel boots and clamps PHYSTOP to the RAM there is.
#[test]
fn below_the_minimum_the_runner_says_how_much_is_needed() {
    use xtask::options::MIN_MEM_MIB;
    let below = (MIN_MEM_MIB - 1).to_string();
    let run = run_script(&["--mem", &below], "");
    assert_eq!(run.status, Some(xtask::status::BAD_OPTION), "{}", run.err);
    assert!(
        run.err.contains(&format!(
            "invalid value '{below}' for '--mem <MIB>': at least {MIN_MEM_MIB} MiB are needed"
        )),
        "{}",
        run.err
    );
    boot_with(MIN_MEM_MIB, "", PHYSTOP);
}

/// A module file for GRUB, removed when dropped.
struct Module {
    path: std::path::PathBuf,
    bytes: usize,
}

impl Module {
    /// `mib` MiB.
    fn new(mib: usize) -> Module {
        Module::of_bytes(mib << 20)
    }

    fn of_bytes(bytes: usize) -> Module {
        let name = format!("xv6-module-{}-{bytes}.bin", std::process::id());
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, vec![0x5A; bytes]).unwrap();
        Module { path, bytes }
    }

    fn path(&self) -> &str {
        self.path.to_str().unwrap()
    }
}

impl Drop for Module {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Boot with module `m` (and `extra` options); check that it is reserved:
/// both stages freed exactly the RAM pages around it, and kfree refuses
/// it, naming it. Returns where GRUB put it.
fn module_is_reserved(m: &Module, extra: &[&str]) -> (u64, u64) {
    let mut args = vec!["--module", m.path(), "--cmdline", "ktest=all"];
    args.extend_from_slice(extra);
    let run = launch(&args);
    run.expect_status(0);
    let want = expect(&run, PHYSTOP);
    let (start, end) = {
        let w = words(run.line("module: ["));
        (hex(w[1].trim_start_matches('[')), hex(w[2]))
    };
    assert!(
        (end - start) as usize >= m.bytes,
        "the module's size: [{start:#x}, {end:#x})"
    );
    assert_eq!(number(run.line("kinit1: freed"), 2), want.kinit1);
    assert_eq!(number(run.line("kinit2: freed"), 2), want.kinit2);
    run.line("ktest: drain_and_refill ok");
    args[3] = "ktest=kfree_module";
    let run = launch(&args);
    run.expect_status(EXIT_PANIC);
    assert!(
        run.line("panic: kfree:")
            .contains("is inside a GRUB module [0x"),
        "{}",
        run.out
    );
    (u64::from(start), u64::from(end))
}

/// GRUB puts a module above 4 MiB (the image claims the first 4 MiB), with
/// the stripped kernel and with the full one, and kinit2 frees around it.
#[test]
fn a_grub_module_is_reserved_above_4mib_in_both_strip_modes() {
    for (m, extra) in [
        (Module::new(1), &[][..]),
        (Module::new(3), &["--no-strip"][..]),
    ] {
        let (start, _) = module_is_reserved(&m, extra);
        assert!(
            start >= BOOT_MAPPED,
            "{extra:?}: module at {start:#x}, below 4 MiB"
        );
    }
}

/// Modules far bigger than what is left below 4 MiB boot, with exact counts.
#[test]
fn modules_of_8_and_64_mib_boot() {
    for (mib, extra) in [(8, &[][..]), (64, &["--mem", "512"][..])] {
        let (start, end) = module_is_reserved(&Module::new(mib), extra);
        assert!(start >= BOOT_MAPPED, "{mib} MiB module at {start:#x}");
        assert!(end - start >= (mib as u64) << 20);
    }
}
