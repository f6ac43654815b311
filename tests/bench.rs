//! The `bench` boot option's report: its table and its JSON line agree
//! with each other and with the boot report. (No figure is compared with a
//! target here: speed is measured by `./run-qemu.sh --bench`, never by a
//! test.)

mod common;

use common::{launch, words};
use xv6::protocol::{
    BENCH_FILL_PAIRS as FILL_PAIRS, BENCH_FILL_PERCENT as FILL_PERCENT, KALLOC_MODES,
};

/// The figure after `"key":` in a JSON line (numbers and booleans only).
fn json<'a>(line: &'a str, key: &str) -> &'a str {
    let at = line
        .find(&format!("\"{key}\":"))
        .unwrap_or_else(|| panic!("no {key} in {line}"));
    let rest = &line[at + key.len() + 3..];
    &rest[..rest.find([',', '}']).unwrap()]
}

#[test]
fn the_bench_table_and_json_agree_with_the_boot_report() {
    for mode in KALLOC_MODES {
        let cmdline = format!("bench kalloc={mode}");
        let run = launch(&["--cmdline", &cmdline, "--", "-icount", "shift=0"]);
        run.expect_status(0);
        let row = |name: &str| -> (u64, u64, f64) {
            let w = words(run.line(&format!("bench: {name} ")));
            (
                w[2].parse().unwrap(),
                w[3].parse().unwrap(),
                w[4].parse().unwrap(),
            )
        };
        let report =
            |prefix: &str, i: usize| -> u64 { words(run.line(prefix))[i].parse().unwrap() };
        let json_line = run.line("bench-json: ");
        assert_eq!(json(json_line, "mode"), format!("\"{mode}\""));
        assert_eq!(
            json(json_line, "junk"),
            "true",
            "the default build fills junk"
        );
        for (name, pages, key) in [
            ("kinit1", report("kinit1: freed", 2), "kinit1_per_page"),
            ("kvmalloc", report("kvmalloc:", 1), "kvmalloc_per_page"),
            ("kinit2", report("kinit2: freed", 2), "kinit2_per_page"),
        ] {
            let (ticks, p, each) = row(name);
            assert_eq!(p, pages, "{name}: the pages the boot report gives");
            assert!(ticks > 0, "{name}: no ticks");
            let want = ticks as f64 / pages as f64;
            assert!(
                (each - want).abs() < 0.01,
                "{name}: {each} per page, want {want}"
            );
            assert_eq!(json(json_line, key).parse::<f64>().unwrap(), each, "{name}");
        }
        let (ticks, pairs, each) = row("pair");
        assert_eq!(
            pairs,
            u64::from(json(json_line, "pairs").parse::<u32>().unwrap())
        );
        assert!((each - ticks as f64 / pairs as f64).abs() < 0.01);
        assert_eq!(json(json_line, "pair").parse::<f64>().unwrap(), each);
        // With the junk fill on, a pair fills two pages: at least 2 × 1024
        // stosl iterations, each an instruction under -icount shift=0.
        assert!(each >= 2048.0, "{mode}: {each} instructions per pair");
        assert!(row("kinit2").2 >= 1024.0, "one page fill per freed page");

        // The pair again with 0%, 50% and 99% of the free pages held.
        let free: u64 = words(run.line("kalloc:"))[1].parse().unwrap();
        let fill = &json_line[json_line.find("\"fill\":[").expect(json_line)..];
        let mut costs = Vec::new();
        for (i, percent) in FILL_PERCENT.into_iter().enumerate() {
            let (held, pairs, each) = row(&format!("fill={percent}%"));
            assert_eq!(pairs, u64::from(FILL_PAIRS), "{mode}: fill {percent}%");
            assert_eq!(held, free * percent as u64 / 100, "{mode}: pages held");
            let level = fill.split("{\"percent\":").nth(i + 1).expect(fill);
            assert!(level.starts_with(&percent.to_string()), "{level}");
            assert_eq!(json(level, "held").parse::<u64>().unwrap(), held);
            assert_eq!(json(level, "pair").parse::<f64>().unwrap(), each);
            costs.push(each);
        }
        // Instruction counts, the same on every run: a list's pair costs
        // the same however full the machine is; the scan reads past every
        // page held above the highest free one.
        let (empty, full) = (costs[0], costs[2]);
        match mode {
            "scan" => assert!(
                full > 4.0 * empty && costs[1] > 2.0 * empty,
                "{mode}: the scan's pair grows with the pages held: {costs:?}"
            ),
            _ => assert!(
                full < 1.1 * empty,
                "{mode}: a list's pair does not grow with the pages held: {costs:?}"
            ),
        }
    }
}

/// The operations the user program `bench` measures, in its order.
const PROC_FIGURES: [&str; 6] = [
    "getpid",
    "fork_exit_wait",
    "fork16m_exit_wait",
    "fork_exec_echo_wait",
    "pipe512_round_trip",
    "sbrk1m_touch",
];

/// The file-system figures, after the processes'.
const FS_FIGURES: [&str; 3] = ["create4k_unlink", "write1m_read1m", "ls_dir100"];

#[test]
fn the_process_bench_gives_every_figure_on_both_kernels_both_fork_modes_and_the_ide_disk() {
    // The peer or a skip (a failure under CI=true), as the peer tests do.
    let have_peer = xtask::peer::available()
        .unwrap_or_else(|e| panic!("{e}"))
        .is_some();
    let (ours, peer) = xtask::bench::proc_runs(&xtask::bench::PROC_SETUPS)
        .unwrap_or_else(|e| panic!("--bench's process runs: {e}"));
    assert_eq!(peer.is_some(), have_peer, "the C xv6 runs when it is there");
    let runs: Vec<_> = ours.iter().chain(peer.as_ref()).collect();
    let kernels: Vec<&str> = runs.iter().map(|r| r.kernel.as_str()).collect();
    let mut want = vec!["xv6-rs fork=copy", "xv6-rs fork=cow", "xv6-rs cow, IDE"];
    want.extend(have_peer.then_some("xv6"));
    assert_eq!(kernels, want);
    let all: Vec<&str> = PROC_FIGURES.iter().chain(&FS_FIGURES).copied().collect();
    for run in &runs {
        let names: Vec<&str> = run.figures.iter().map(|f| f.0.as_str()).collect();
        // Every figure on both kernels: our root is writable, so bench
        // skips none (a `-` in `--bench`'s table is for a kernel whose
        // root is not).
        assert_eq!(names, all, "{}: {:?}", run.kernel, run.figures);
        assert!(
            run.figures.iter().all(|f| f.1 > 0),
            "{}: every figure counts something: {:?}",
            run.kernel,
            run.figures
        );
    }
    // The table has a row per figure, and says who is ahead when it can.
    let table = xtask::bench::proc_table(&ours, peer.as_ref());
    for row in &table {
        println!("{row}");
    }
    assert_eq!(table.len(), 1 + all.len(), "{table:?}");
    for (row, name) in table[1..].iter().zip(all) {
        assert!(row.starts_with(name), "{row}");
        assert_eq!(
            row.contains("yes") || row.contains("NO"),
            have_peer,
            "{row}"
        );
    }
}
