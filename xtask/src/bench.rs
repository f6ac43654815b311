//! `--bench`: the processes' costs (user/src/bin/bench.rs on this kernel,
//! `fork=copy` and `fork=cow`, and on the C xv6), guest instructions of the
//! memory path (`-icount shift=0`), kalloctest's wall-clock throughput and
//! the boot time, each from boots of its own through the same launch path
//! users run; tables and a JSON line (docs/benchmarks.md).

use std::process::Command;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::launch::{self, Run};
use crate::options::Options;
use crate::protocol::KALLOC_MODES;
use crate::{Error, Result, paths};

/// What the kernel's `bench` option prints its figures after.
const BENCH: &str = "bench: ";
const BENCH_JSON: &str = "bench-json: ";
/// The user program `bench`'s line for a figure it could not measure.
const BENCH_SKIP: &str = "bench-skip: ";
/// kalloctest's rounds on each CPU (its default).
const KALLOCTEST_ROUNDS: u32 = 100_000;
/// The CPU counts kalloctest runs on.
const CPU_COUNTS: [u32; 3] = [1, 2, 4];

/// The median of `values`; None for none.
pub fn median_of(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// The median of `values` as awk prints it ("-" for none; a half as a
/// decimal, large values as %.6g does).
pub fn median(values: &[f64]) -> String {
    median_of(values).map_or_else(|| "-".into(), awk_number)
}

/// A number as awk's `print` shows it: whole numbers as integers, others
/// as `%.6g`.
pub fn awk_number(x: f64) -> String {
    const DIGITS: i32 = 6;
    if x.fract() == 0.0 && x.abs() < 1e16 {
        return format!("{}", x as i64);
    }
    let exp = x.abs().log10().floor() as i32;
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if !(-4..DIGITS).contains(&exp) {
        let mantissa = trim(format!("{:.*}", (DIGITS - 1) as usize, x / 10f64.powi(exp)));
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        trim(format!("{:.*}", (DIGITS - 1 - exp) as usize, x))
    }
}

/// Pairs a second from a kalloctest line (`kalloctest: N pairs in T ticks
/// of M ms`), if it ran for at least a tick.
pub fn pairs_per_second(line: &str) -> Option<u64> {
    let w: Vec<&str> = line.split_whitespace().collect();
    let [
        "kalloctest:",
        pairs,
        "pairs",
        "in",
        ticks,
        "ticks",
        "of",
        ms,
        ..,
    ] = w[..]
    else {
        return None;
    };
    let (pairs, ticks, ms): (f64, f64, f64) =
        (pairs.parse().ok()?, ticks.parse().ok()?, ms.parse().ok()?);
    (ticks > 0.0).then(|| (pairs * 1000.0 / (ticks * ms)) as u64)
}

/// The user program whose figures `--bench` compares.
const BENCH_PROGRAM: &str = "bench";
/// How long one boot running `bench` may take (the C xv6's copying fork of
/// 16 MiB, 20 times, under icount, takes a minute or two on a busy host).
const BENCH_PROGRAM_LIMIT: Duration = Duration::from_secs(600);

/// The figures of one run of the user program `bench`: which kernel (and
/// fork mode) and each operation's guest instructions, in bench's order.
#[derive(Debug, Serialize, PartialEq)]
pub struct ProcRun {
    pub kernel: String,
    pub figures: Vec<(String, u64)>,
}

/// Where a run of `bench` has its root file system.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Root {
    /// The RAM disk from the GRUB module: this kernel's default root.
    RamDisk,
    /// The IDE disk (`--disk`, a fresh copy of the default image), where
    /// the C xv6 always has its root: the same disk on both kernels.
    Ide,
}

/// The runs of `bench` on this kernel that `--bench` makes: each fork mode
/// on the RAM disk, then copy-on-write on the IDE disk.
pub const PROC_SETUPS: [(&str, Root); 3] = [
    ("copy", Root::RamDisk),
    ("cow", Root::RamDisk),
    ("cow", Root::Ide),
];

/// The IDE disk image a run of `bench` writes to, relative to the root.
const BENCH_DISK: &str = "target/bench-disk.img";

/// A column's name for a run of ours with `fork` on `root`.
fn kernel_label(fork: &str, root: Root) -> String {
    match root {
        Root::RamDisk => format!("xv6-rs fork={fork}"),
        Root::Ide => format!("xv6-rs {fork}, IDE"),
    }
}

/// `bench` on this kernel for each of `setups` (fork mode, root), then on
/// the C xv6 if the peer is there (`None` and a line saying why if not),
/// each under `-icount shift=0` on one CPU: the same binary everywhere.
pub fn proc_runs(setups: &[(&str, Root)]) -> Result<(Vec<ProcRun>, Option<ProcRun>)> {
    let mut ours = Vec::new();
    for &(mode, root) in setups {
        let label = kernel_label(mode, root);
        let cmdline = format!("fork={mode}");
        let disk = paths::at(BENCH_DISK);
        let disk_arg = disk.display().to_string();
        let mut args = vec!["--cmdline", &cmdline];
        if root == Root::Ide {
            let image = crate::mkfs::default_image()?;
            std::fs::copy(&image, &disk).map_err(|e| crate::kernel::io_error("copy", &image, e))?;
            args.extend(["--disk", &disk_arg]);
        }
        args.extend(["--", "-icount", "shift=0"]);
        let o = launch::options(&args, &[]);
        let input = format!("{BENCH_PROGRAM}\n");
        let run = launch::run(&o, input.as_bytes(), Some(BENCH_PROGRAM_LIMIT))?;
        for skipped in lines_after(&run.out, BENCH_SKIP) {
            println!("bench: {label}: not measured: {skipped}");
        }
        let figures = crate::user::bench_figures(&run.out).map_err(|e| {
            Error::new(format!(
                "bench on this kernel ({label}): {e}; output:\n{}",
                run.out
            ))
        })?;
        ours.push(ProcRun {
            kernel: label,
            figures,
        });
    }
    let peer = match crate::peer::locate() {
        Err(why) => {
            println!("bench: no C xv6 to compare with: {why}");
            None
        }
        Ok(_) => {
            let p = crate::peer::build()?;
            let img = paths::at(crate::peer::DIR).join("bench.img");
            p.make_image(&img, &crate::user::build()?)?;
            let figures = p.bench(&img, BENCH_PROGRAM_LIMIT)?;
            Some(ProcRun {
                kernel: "xv6".into(),
                figures,
            })
        }
    };
    Ok((ours, peer))
}

/// The table of `bench`'s figures: a column per run (ours, then the
/// peer's), a row per operation any run measured (in the order they first
/// come), `-` where a run did not measure it (bench skips the file-system
/// figures on a root it cannot write), and for each of our runs whether
/// it is at or below the peer's figure.
pub fn proc_table(ours: &[ProcRun], peer: Option<&ProcRun>) -> Vec<String> {
    let runs: Vec<&ProcRun> = ours.iter().chain(peer).collect();
    let mut rows = vec![format!(
        "{:<20}{}{}",
        "operation",
        runs.iter()
            .map(|r| format!(" {:>16}", r.kernel))
            .collect::<String>(),
        if peer.is_some() { "  ahead of xv6" } else { "" }
    )];
    let mut names: Vec<&String> = Vec::new();
    for (name, _) in runs.iter().flat_map(|r| &r.figures) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    for name in names {
        let figure = |r: &ProcRun| r.figures.iter().find(|f| &f.0 == name).map(|f| f.1);
        let cells: String = runs
            .iter()
            .map(|r| figure(r).map_or("-".into(), |n| n.to_string()))
            .map(|c| format!(" {c:>16}"))
            .collect();
        let ahead = peer.and_then(figure).map(|theirs| {
            let verdicts: Vec<&str> = ours
                .iter()
                .map(|r| match figure(r) {
                    Some(n) if n <= theirs => "yes",
                    Some(_) => "NO",
                    None => "-",
                })
                .collect();
            format!("  {}", verdicts.join(", "))
        });
        rows.push(format!("{name:<20}{cells}{}", ahead.unwrap_or_default()));
    }
    rows
}

/// The kernel's `bench-json:` line, the parts the fill table reads.
#[derive(Debug, Deserialize, PartialEq)]
pub struct KernelBench {
    pub mode: String,
    pub junk: bool,
    pub fill: Vec<Fill>,
}

/// One fill level's pair: `held` pages (`percent` of the free ones) taken
/// first, then a kalloc + kfree pair costs `pair`.
#[derive(Debug, Deserialize, PartialEq)]
pub struct Fill {
    pub percent: u32,
    pub held: u64,
    pub pair: f64,
}

/// `--bench`'s JSON line: the kernel's own lines as they came, then the
/// wall-clock medians (null where no run gave a figure).
#[derive(Debug, Serialize)]
pub struct BenchLine {
    /// `bench` (the user program) on this kernel in each fork mode, then
    /// on the C xv6 when it was there.
    pub processes: Vec<ProcRun>,
    pub icount: Vec<Box<RawValue>>,
    pub kalloctest: Vec<Throughput>,
    pub boot_ms_median: Option<f64>,
    pub boot_ms_median_no_strip: Option<f64>,
}

/// kalloctest's median throughput in one mode on `cpus` CPUs.
#[derive(Debug, Serialize)]
pub struct Throughput {
    pub mode: &'static str,
    pub cpus: u32,
    pub pairs_per_s: Option<f64>,
}

impl BenchLine {
    /// The line `--bench` prints last.
    pub fn line(&self) -> String {
        let json = serde_json::to_string(self).expect("the bench line is JSON");
        format!("{BENCH_JSON}{json}")
    }
}

/// The table of the pair's cost by fill level, a column per mode, for the
/// runs with junk `junk`: a header, then a row per level.
pub fn fill_table(runs: &[KernelBench], junk: bool) -> Vec<String> {
    let runs: Vec<&KernelBench> = runs.iter().filter(|r| r.junk == junk).collect();
    let mut rows = vec![format!(
        "{:>5} {:>8}{}",
        "fill",
        "held",
        runs.iter()
            .map(|r| format!(" {:>10}", r.mode))
            .collect::<String>()
    )];
    let levels = runs.first().map_or(&[][..], |r| &r.fill[..]);
    for (i, level) in levels.iter().enumerate() {
        let pairs: String = runs
            .iter()
            .map(|r| {
                r.fill
                    .get(i)
                    .map_or("-".into(), |f| format!("{:.2}", f.pair))
            })
            .map(|p| format!(" {p:>10}"))
            .collect();
        rows.push(format!("{:>4}% {:>8}{pairs}", level.percent, level.held));
    }
    rows
}

/// A boot with `args` (run-qemu.sh's options), input empty.
fn boot(args: &[&str]) -> Result<Run> {
    let o: Options = launch::options(args, &[]);
    launch::run(&o, b"", None)
}

/// Milliseconds to the monitor's first line of `runs` boots with `args`.
fn boot_times(args: &[&str], runs: u32) -> Result<Vec<f64>> {
    let mut times = Vec::new();
    launch::time_boot(&launch::options(args, &[]), runs, |ms| {
        times.push(ms as f64)
    })?;
    Ok(times)
}

/// The lines of `out` starting with `prefix`, without it and without `\r`.
fn lines_after<'a>(out: &'a str, prefix: &'a str) -> impl Iterator<Item = &'a str> {
    out.lines()
        .filter_map(move |l| l.strip_prefix(prefix))
        .map(|l| l.trim_end_matches('\r'))
}

/// Run every benchmark, `runs` wall-clock runs of each figure.
pub fn run(runs: u32) -> Result<()> {
    let version = Command::new("qemu-system-i386")
        .arg("--version")
        .output()
        .map_err(|e| Error::new(format!("cannot run qemu-system-i386: {e}")))?;
    let version = String::from_utf8_lossy(&version.stdout);
    println!("bench: {}", version.lines().next().unwrap_or(""));
    println!(
        "bench: processes: user program bench, guest instructions per operation \
         (-icount shift=0, one CPU), this kernel (root on the RAM disk, then on the \
         IDE disk) and the C xv6 (root on the IDE disk)"
    );
    let (ours, peer) = proc_runs(&PROC_SETUPS)?;
    for row in proc_table(&ours, peer.as_ref()) {
        println!("bench:   {row}");
    }
    let processes: Vec<ProcRun> = ours.into_iter().chain(peer).collect();
    println!("bench: guest instructions (-icount shift=0, one CPU: the TSC counts instructions)");
    let mut icount = Vec::new();
    for (junk, opt) in [("on", None), ("off", Some("--no-junk"))] {
        for mode in KALLOC_MODES {
            let cmdline = format!("bench kalloc={mode}");
            let mut args: Vec<&str> = opt.into_iter().collect();
            args.extend(["--cmdline", &cmdline, "--", "-icount", "shift=0"]);
            let run = boot(&args)?;
            for l in lines_after(&run.out, BENCH).filter(|l| !l.starts_with("stage")) {
                println!("bench: [{mode}, junk {junk}] {l}");
            }
            icount.extend(lines_after(&run.out, BENCH_JSON).map(str::to_string));
        }
    }
    let bad_line = |e: serde_json::Error| Error::new(format!("the kernel's bench-json line: {e}"));
    let parsed = icount
        .iter()
        .map(|l| serde_json::from_str(l))
        .collect::<std::result::Result<Vec<KernelBench>, _>>()
        .map_err(bad_line)?;
    for (junk, label) in [(true, "on"), (false, "off")] {
        println!(
            "bench: kalloc + kfree pair by fill level (guest instructions, junk {label}; \
             docs/benchmarks.md explains the curve)"
        );
        for row in fill_table(&parsed, junk) {
            println!("bench:   {row}");
        }
    }
    println!(
        "bench: kalloctest wall-clock throughput ({KALLOCTEST_ROUNDS} rounds per CPU), median of {runs} runs"
    );
    let mut kalloctest = Vec::new();
    for mode in KALLOC_MODES {
        for cpus in CPU_COUNTS {
            let (n, cmdline) = (cpus.to_string(), format!("kalloc={mode}"));
            let mut rates = Vec::new();
            for _ in 0..runs {
                let run = boot(&[
                    "--smp",
                    &n,
                    "--cmdline",
                    &cmdline,
                    "--monitor",
                    "kalloctest;halt",
                ])?;
                rates.extend(
                    run.out
                        .lines()
                        .filter_map(pairs_per_second)
                        .map(|r| r as f64),
                );
            }
            println!(
                "bench: kalloctest {mode:<6} {cpus} CPUs: {} pairs/s",
                median(&rates)
            );
            kalloctest.push(Throughput {
                mode,
                cpus,
                pairs_per_s: median_of(&rates),
            });
        }
    }
    let boot_ms = boot_times(&["--monitor", "halt"], runs)?;
    println!(
        "bench: launch to monitor prompt (GRUB included), median of {runs} runs: {} ms",
        median(&boot_ms)
    );
    let full_ms = boot_times(&["--no-strip", "--monitor", "halt"], runs)?;
    println!(
        "bench: the same with --no-strip (debug info on the ISO): {} ms",
        median(&full_ms)
    );
    let icount = icount
        .into_iter()
        .map(RawValue::from_string)
        .collect::<std::result::Result<_, _>>()
        .map_err(bad_line)?;
    let line = BenchLine {
        processes,
        icount,
        kalloctest,
        boot_ms_median: median_of(&boot_ms),
        boot_ms_median_no_strip: median_of(&full_ms),
    };
    println!("{}", line.line());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), "-");
        assert_eq!(median(&[3.0, 1.0, 2.0]), "2");
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), "2.5");
        assert_eq!(median(&[10.0, 20.0]), "15");
        assert_eq!(median(&[2_500_000.0, 2_500_001.0]), "2.5e+06", "awk's %.6g");
    }

    #[test]
    fn the_json_line_keeps_the_kernels_lines_and_gives_null_for_no_figure() {
        let kernel = r#"{"mode":"scan","junk":true,"extra":[1,2]}"#;
        let line = BenchLine {
            processes: vec![ProcRun {
                kernel: "xv6".into(),
                figures: vec![("getpid".into(), 1413)],
            }],
            icount: vec![RawValue::from_string(kernel.to_string()).unwrap()],
            kalloctest: vec![Throughput {
                mode: "global",
                cpus: 2,
                pairs_per_s: Some(400000.5),
            }],
            boot_ms_median: Some(812.0),
            boot_ms_median_no_strip: None,
        };
        assert_eq!(
            line.line(),
            format!(
                "bench-json: {{\"processes\":[{{\"kernel\":\"xv6\",\"figures\":[[\"getpid\",1413]]}}],\
                 \"icount\":[{kernel}],\"kalloctest\":[{{\"mode\":\"global\",\"cpus\":2,\
                 \"pairs_per_s\":400000.5}}],\"boot_ms_median\":812.0,\"boot_ms_median_no_strip\":null}}"
            )
        );
    }

    #[test]
    fn numbers_print_as_awk_prints_them() {
        assert_eq!(awk_number(123.5), "123.5");
        assert_eq!(awk_number(0.00012345), "0.00012345");
        assert_eq!(awk_number(0.000012345), "1.2345e-05");
        assert_eq!(awk_number(1234567.5), "1.23457e+06");
        assert_eq!(awk_number(99.25), "99.25");
    }

    #[test]
    fn the_fill_table_has_a_column_per_mode_and_a_row_per_level() {
        let line = |mode: &str, junk: bool, pairs: [f64; 2]| {
            serde_json::from_str::<KernelBench>(&format!(
                "{{\"mode\":\"{mode}\",\"junk\":{junk},\"pair\":1.5,\"fill\":[\
                 {{\"percent\":0,\"held\":0,\"pair\":{}}},\
                 {{\"percent\":50,\"held\":300,\"pair\":{}}}]}}",
                pairs[0], pairs[1]
            ))
            .unwrap()
        };
        let runs = [
            line("global", true, [2393.0, 2393.5]),
            line("scan", true, [2431.0, 10059.25]),
            line("global", false, [9.0, 9.0]),
        ];
        let table = fill_table(&runs, true);
        assert_eq!(
            table,
            [
                " fill     held     global       scan",
                "   0%        0    2393.00    2431.00",
                "  50%      300    2393.50   10059.25",
            ]
        );
        assert_eq!(fill_table(&runs, false).len(), 3, "junk off: its own run");
    }

    #[test]
    fn the_process_table_has_a_column_per_kernel_and_says_who_is_ahead() {
        let run = |kernel: &str, figures: [u64; 2]| ProcRun {
            kernel: kernel.into(),
            figures: vec![("getpid".into(), figures[0]), ("fork".into(), figures[1])],
        };
        let ours = [run("ours copy", [500, 900]), run("ours cow", [500, 100])];
        let xv6 = run("xv6", [1400, 800]);
        let table = proc_table(&ours, Some(&xv6));
        assert_eq!(table.len(), 3, "{table:?}");
        assert!(table[0].ends_with("  ahead of xv6"), "{table:?}");
        assert!(table[1].starts_with("getpid") && table[1].ends_with("  yes, yes"));
        assert!(table[2].contains(" 900 ") && table[2].ends_with("  NO, yes"));
        let alone = proc_table(&ours, None);
        assert!(alone.iter().all(|r| !r.contains("yes")), "{alone:?}");
    }

    #[test]
    fn a_figure_only_the_peer_measured_has_its_row_and_a_dash_for_ours() {
        let ours = ProcRun {
            kernel: "ours".into(),
            figures: vec![("getpid".into(), 500)],
        };
        let xv6 = ProcRun {
            kernel: "xv6".into(),
            figures: vec![("getpid".into(), 1400), ("ls_dir100".into(), 9000)],
        };
        let table = proc_table(std::slice::from_ref(&ours), Some(&xv6));
        assert_eq!(table.len(), 3, "{table:?}");
        assert!(table[1].starts_with("getpid") && table[1].ends_with("  yes"));
        let w: Vec<&str> = table[2].split_whitespace().collect();
        assert_eq!(w, ["ls_dir100", "-", "9000", "-"], "{table:?}");
    }

    #[test]
    fn pairs_per_second_from_a_kalloctest_line() {
        assert_eq!(
            pairs_per_second("kalloctest: 200000 pairs in 50 ticks of 10 ms"),
            Some(400_000)
        );
        assert_eq!(
            pairs_per_second("kalloctest: 3 pairs in 7 ticks of 10 ms\r"),
            Some(42)
        );
        assert_eq!(
            pairs_per_second("kalloctest: 200000 pairs in 0 ticks of 10 ms"),
            None
        );
        assert_eq!(pairs_per_second("kalloctest: OK"), None);
    }
}
