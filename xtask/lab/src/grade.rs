//! `./run-qemu.sh --grade <lab> [<test>]`: build the kernel once, run each
//! graded test of the lab in a boot of its own, print a line per test as
//! it ends, then the table of points and `Score: X/Y`; write the results
//! as JSON and each run's full log under `target/grade/<lab>/`. The
//! verdicts are [`verdict`]'s; a build that fails is an error, not a score.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::manifest::{self, Check, Manifest, Test};
use super::verdict::{self, Outcome, Verdict};
use xtask::kernel::Kernel;
use xtask::options::{Action, parse};
use xtask::{Error, NAME, Result, bounded, launch, paths};

/// Where a lab's results and logs go, relative to the root.
pub fn results_dir(lab: &str) -> String {
    format!("target/grade/{lab}")
}

/// The results file, relative to the root.
pub fn results_file(lab: &str) -> String {
    format!("{}/results.json", results_dir(lab))
}

/// One graded test's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Graded {
    pub name: String,
    /// The points it earned: all of `max` or none.
    pub points: u32,
    pub max: u32,
    #[serde(flatten)]
    pub verdict: Verdict,
    /// The command that grades it alone.
    pub rerun: String,
    /// Its run's full log, relative to the root (a boot's or a host
    /// run's).
    pub log: Option<String>,
    /// For a test that did not pass: the host tests that cover the same
    /// exercises and the command that runs them ([`host_hint`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// What `--grade` found: the JSON results file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub lab: String,
    pub score: u32,
    pub total: u32,
    pub tests: Vec<Graded>,
}

impl Report {
    pub fn full_marks(&self) -> bool {
        self.score == self.total
    }
}

/// The manifest of `lab` in this tree.
pub fn manifest(lab: &str) -> Result<Manifest> {
    let path = format!("{}/{lab}/{}", manifest::LABS_DIR, manifest::MANIFEST);
    let text = std::fs::read_to_string(paths::at(&path)).map_err(|_| {
        let labs = super::labs_here().join(", ");
        Error::new(format!("unknown lab {lab:?}: no {path} (labs: {labs})"))
    })?;
    manifest::parse(lab, &path, &text).map_err(Error::new)
}

/// The run-qemu.sh options that boot `ktest` for a test whose own options
/// are `boot`: its `--cmdline` (if any) gets `ktest=<ktest>` added.
pub fn boot_args(ktest: &str, boot: &[String]) -> Vec<String> {
    let word = format!("{}={ktest}", xtask::protocol::KTEST_OPTION);
    let mut args: Vec<String> = boot.to_vec();
    match args.iter().position(|a| a == "--cmdline") {
        Some(i) if i + 1 < args.len() => args[i + 1] = format!("{} {word}", args[i + 1]),
        _ => args.extend(["--cmdline".to_string(), word]),
    }
    args
}

/// The shell command that boots `ktest` as the grader does (add --gdb to
/// debug it).
pub fn boot_command(ktest: &str, boot: &[String]) -> String {
    let args: Vec<String> = boot_args(ktest, boot)
        .into_iter()
        .map(|a| match a.contains(' ') {
            true => format!("'{a}'"),
            false => a,
        })
        .collect();
    format!("./{NAME} {}", args.join(" "))
}

/// Boot in-kernel test `ktest` (with the run-qemu.sh options `boot`) for
/// at most `limit`. QEMU gets `-no-reboot`, so that a triple fault ends it
/// instead of booting again, and a debug console on the progress port that
/// writes the boot path's marks to `marks`. Returns the outcome and the
/// text of its log.
pub fn run_boot(
    ktest: &str,
    boot: &[String],
    limit: Duration,
    marks: &std::path::Path,
) -> Result<(Outcome, String)> {
    let _ = std::fs::remove_file(marks);
    let mut args = boot_args(ktest, boot);
    args.extend([
        "--".to_string(),
        "-no-reboot".to_string(),
        "-device".to_string(),
        format!(
            "isa-debugcon,iobase={:#x},chardev=marks",
            xtask::protocol::BOOT_MARK_PORT
        ),
        "-chardev".to_string(),
        format!("file,id=marks,path={}", marks.display()),
    ]);
    let o = match parse(&args) {
        Ok(Action::Boot(o)) => o,
        Ok(other) => return Err(Error::new(format!("{args:?} is not a boot but {other:?}"))),
        Err(r) => {
            return Err(Error::new(format!(
                "bad boot options {args:?}: {}",
                r.render()
            )));
        }
    };
    let mut cmd = launch::prepare(&o)?;
    let c = bounded::capture(&mut cmd, b"", Some(limit), false)
        .map_err(|e| Error::new(format!("cannot run the emulator: {e}")))?;
    let mut log = String::new();
    let _ = writeln!(log, "# {} -- -no-reboot", boot_command(ktest, boot));
    let _ = match c.status {
        Some(s) => writeln!(log, "# exit status {s}"),
        None => writeln!(log, "# stopped at the limit of {} s", limit.as_secs()),
    };
    log.push_str(&c.out);
    if !c.err.is_empty() {
        let _ = write!(log, "\n# the emulator's standard error:\n{}", c.err);
    }
    let outcome = Outcome {
        status: c.status,
        out: c.out,
        quiet: c.quiet,
        limit,
        marks: std::fs::read(marks).unwrap_or_default(),
    };
    log.push('\n');
    log.push_str(&marks_line(&outcome.marks));
    Ok((outcome, log))
}

/// The log's last line: the boot path's progress marks and what they mean
/// (`protocol::BOOT_STAGES`), so that a log read alone explains them.
pub fn marks_line(marks: &[u8]) -> String {
    let legend: Vec<String> = xtask::protocol::BOOT_STAGES
        .iter()
        .map(|s| format!("{}: {}", char::from(s.mark), s.name))
        .collect();
    format!(
        "# boot marks: {:?}, the boot path's stages before main, a byte each on port {:#x} \
         ({}); a reset before main prints nothing else, so the last mark says how far it got\n",
        String::from_utf8_lossy(marks),
        xtask::protocol::BOOT_MARK_PORT,
        legend.join("; ")
    )
}

/// `n` tests, in words ("1 test", "12 tests").
pub fn tests_count(n: usize) -> String {
    match n {
        1 => "1 test".to_string(),
        n => format!("{n} tests"),
    }
}

/// What the table says after a test that gives no points (the answers):
/// it is read by the teacher, not scored.
pub const NOT_SCORED: &str = "(not scored: the teacher reads the answers)";

/// `GRADE_TIME_FACTOR`'s default (the runner's options read the variable).
pub use xtask::options::DEFAULT_TIME_FACTOR;

/// What a test of `m` that did not pass says about the host tests of its
/// exercises: for a boot test, those the manifest maps its exercises to,
/// each with the command that runs it; for a host test, the command that
/// runs it. None for the answers, or a lab without host tests.
pub fn host_hint(m: &Manifest, t: &Test) -> Option<String> {
    if let Check::Host { filter, .. } = &t.check {
        return Some(format!(
            "run them yourself: {} (the first run builds them, a minute or two)",
            manifest::host_command(filter)
        ));
    }
    let hosts = m.host_tests_for(t);
    let commands: Vec<String> = hosts
        .iter()
        .filter_map(|h| match &h.check {
            Check::Host { filter, .. } => Some(format!(
                "{} (graded as {})",
                manifest::host_command(filter),
                h.name
            )),
            _ => None,
        })
        .collect();
    (!commands.is_empty()).then(|| {
        format!(
            "host tests of the same exercises, quicker to debug: {}",
            commands.join("; ")
        )
    })
}

/// Grade test `t` of lab `m`, its time limit multiplied by `factor`.
fn grade_one(m: &Manifest, t: &Test, factor: u32) -> Result<Graded> {
    let lab = m.name.as_str();
    let rerun = format!("./{NAME} --grade {lab} {}", t.name);
    let (verdict, log) = match &t.check {
        Check::Answers { file } => {
            let text = std::fs::read_to_string(paths::at(file)).ok();
            (verdict::judge_answers(file, text.as_deref()), None)
        }
        Check::Boot {
            ktest,
            panic,
            boot,
            limit,
        } => {
            let limit = Duration::from_secs(u64::from(*limit) * u64::from(factor));
            let marks = paths::at(format!("{}/{}.marks", results_dir(lab), t.name));
            let (outcome, text) = run_boot(ktest, boot, limit, &marks)?;
            let log = format!("{}/{}.log", results_dir(lab), t.name);
            xtask::kernel::replace(&paths::at(&log), text.as_bytes())?;
            (verdict::judge(ktest, panic.as_deref(), &outcome), Some(log))
        }
        Check::Host { filter, limit } => {
            let limit = Duration::from_secs(u64::from(*limit) * u64::from(factor));
            let (run, text) = super::host::run(filter, limit)?;
            let log = format!("{}/{}.log", results_dir(lab), t.name);
            xtask::kernel::replace(&paths::at(&log), text.as_bytes())?;
            (super::host::judge(filter, &run), Some(log))
        }
    };
    let hint = match verdict {
        Verdict::Pass => None,
        _ => host_hint(m, t),
    };
    Ok(Graded {
        name: t.name.clone(),
        points: if verdict == Verdict::Pass {
            t.points
        } else {
            0
        },
        max: t.points,
        verdict,
        rerun,
        log,
        hint,
    })
}

/// The lines `--grade` prints for one test as it ends.
pub fn test_lines(g: &Graded, t: &Test, width: usize) -> String {
    let mut s = format!(
        "{:<width$} {:>3}/{:<3} {}",
        g.name,
        g.points,
        g.max,
        g.verdict.word()
    );
    if g.max == 0 {
        let _ = write!(s, " {NOT_SCORED}");
    }
    if g.verdict == Verdict::Pass {
        return s + "\n";
    }
    let mut reason = g
        .verdict
        .reason()
        .lines()
        .map(str::to_string)
        .collect::<Vec<_>>();
    if let Some(first) = reason.first_mut() {
        let _ = write!(s, ": {first}");
        reason.remove(0);
    }
    s.push('\n');
    for l in reason {
        let _ = writeln!(s, "      {l}");
    }
    let _ = writeln!(s, "      re-run it alone: {}", g.rerun);
    if let Check::Boot { ktest, boot, .. } = &t.check {
        let _ = writeln!(
            s,
            "      boot it yourself: {} (add --gdb to debug it)",
            boot_command(ktest, boot)
        );
    }
    if let Some(log) = &g.log {
        let _ = writeln!(s, "      full log: {log}");
    }
    if let Some(hint) = &g.hint {
        let _ = writeln!(s, "      {hint}");
    }
    s
}

/// The table of points and the score.
pub fn table(r: &Report, title: &str) -> String {
    let width = r
        .tests
        .iter()
        .map(|g| g.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut s = format!("\nLab {}: {title}\n", r.lab);
    let _ = writeln!(s, "  {:<width$} {:^7} verdict", "test", "points");
    for g in &r.tests {
        let _ = write!(
            s,
            "  {:<width$}  {:>3}/{:<3} {}",
            g.name,
            g.points,
            g.max,
            g.verdict.word()
        );
        match g.max {
            0 => {
                let _ = writeln!(s, " {NOT_SCORED}");
            }
            _ => s.push('\n'),
        }
    }
    let _ = writeln!(s, "Score: {}/{}", r.score, r.total);
    s
}

/// `--grade <lab> [<test>]`: grade, print, write the results; the report.
pub fn grade(lab: &str, only: Option<&str>, factor: u32) -> Result<Report> {
    let m = manifest(lab)?;
    let tests: Vec<&Test> = match only {
        None => m.tests.iter().collect(),
        Some(name) => vec![m.test(name).ok_or_else(|| {
            let names: Vec<&str> = m.tests.iter().map(|t| t.name.as_str()).collect();
            Error::new(format!(
                "lab {lab} has no test {name:?} (its tests: {})",
                names.join(", ")
            ))
        })?],
    };
    if tests.is_empty() {
        return Err(Error::new(format!("lab {lab} has no graded test")));
    }
    build_kernel()?;
    let dir = paths::at(results_dir(lab));
    std::fs::create_dir_all(&dir).map_err(|e| xtask::kernel::io_error("create", &dir, e))?;
    let width = tests.iter().map(|t| t.name.len()).max().unwrap_or(0);
    println!(
        "{NAME}: grading lab {lab}: {} ({})",
        m.title,
        tests_count(tests.len())
    );
    let mut graded = Vec::new();
    for t in tests {
        let g = grade_one(&m, t, factor)?;
        print!("{}", test_lines(&g, t, width));
        graded.push(g);
    }
    let report = Report {
        lab: lab.to_string(),
        score: graded.iter().map(|g| g.points).sum(),
        total: graded.iter().map(|g| g.max).sum(),
        tests: graded,
    };
    print!("{}", table(&report, &m.title));
    let file = results_file(lab);
    let json = serde_json::to_string_pretty(&report).expect("a report is JSON");
    xtask::kernel::replace(&paths::at(&file), json.as_bytes())?;
    println!("Results: {file}");
    Ok(report)
}

/// What `--grade` says when the kernel does not build.
pub const DOES_NOT_BUILD: &str = "the kernel does not build";

/// Build the kernel the tests boot, or say that it does not build: that
/// is the student's to fix, and no score.
fn build_kernel() -> Result<()> {
    let kernel = Kernel::new(true);
    let built = kernel.lock().and_then(|_lock| kernel.build());
    built.map_err(|e| Error {
        message: format!(
            "{DOES_NOT_BUILD} ({}); fix the errors above and grade again. \
             No test ran, so there is no score.",
            e.message
        ),
        status: xtask::status::FAILED,
    })
}

/// Read a results file.
pub fn read_report(path: &std::path::Path) -> Result<Report> {
    let text =
        std::fs::read_to_string(path).map_err(|e| xtask::kernel::io_error("read", path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| Error::new(format!("{} is not a results file: {e}", path.display())))
}

/// A results file below `root`, as `--grade` writes it for `lab`.
pub fn report_path(root: &std::path::Path, lab: &str) -> PathBuf {
    root.join(results_file(lab))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ktest_word_joins_the_tests_own_command_line() {
        assert_eq!(boot_args("lifo", &[]), ["--cmdline", "ktest=lifo"]);
        let own: Vec<String> = ["--smp", "2", "--cmdline", "kalloc=percpu"]
            .map(String::from)
            .into();
        assert_eq!(
            boot_args("steal", &own),
            ["--smp", "2", "--cmdline", "kalloc=percpu ktest=steal"]
        );
        assert_eq!(
            boot_command("steal", &own),
            "./run-qemu.sh --smp 2 --cmdline 'kalloc=percpu ktest=steal'"
        );
    }

    fn report() -> Report {
        Report {
            lab: "kalloc".into(),
            score: 10,
            total: 15,
            tests: vec![
                Graded {
                    name: "lifo".into(),
                    points: 10,
                    max: 10,
                    verdict: Verdict::Pass,
                    rerun: "./run-qemu.sh --grade kalloc lifo".into(),
                    log: Some("target/grade/kalloc/lifo.log".into()),
                    hint: None,
                },
                Graded {
                    name: "junk".into(),
                    points: 0,
                    max: 5,
                    verdict: Verdict::Fail {
                        reason: "no junk".into(),
                    },
                    rerun: "./run-qemu.sh --grade kalloc junk".into(),
                    log: Some("target/grade/kalloc/junk.log".into()),
                    hint: None,
                },
            ],
        }
    }

    #[test]
    fn a_failed_test_shows_its_reason_how_to_rerun_it_and_its_log() {
        let r = report();
        let t = Test {
            name: "junk".into(),
            points: 5,
            exercises: vec![],
            check: Check::Boot {
                ktest: "junk_fill".into(),
                panic: None,
                boot: vec![],
                limit: 60,
            },
        };
        assert_eq!(
            test_lines(&r.tests[1], &t, 6),
            "junk     0/5   FAIL: no junk\n\
             \x20     re-run it alone: ./run-qemu.sh --grade kalloc junk\n\
             \x20     boot it yourself: ./run-qemu.sh --cmdline ktest=junk_fill (add --gdb to debug it)\n\
             \x20     full log: target/grade/kalloc/junk.log\n"
        );
        assert_eq!(test_lines(&r.tests[0], &t, 6), "lifo    10/10  PASS\n");
    }

    #[test]
    fn a_failed_test_names_the_host_tests_of_its_exercises() {
        let m = manifest::parse(
            "cow",
            "labs/cow/lab.toml",
            "title = \"t\"\ndepends = []\nfiles = []\n\
             [[test]]\nname = \"check_cow\"\nktest = \"check_cow\"\npoints = 1\nlimit = 1\n\
             [[test]]\nname = \"decref\"\nktest = \"d\"\nexercises = [\"counts\"]\n\
             points = 1\nlimit = 1\n\
             [[test]]\nname = \"host_memory\"\nhost = \"linux::memory::\"\n\
             exercises = [\"un_wp_page\"]\npoints = 1\nlimit = 1\n\
             [[test]]\nname = \"host_counts\"\nhost = \"jos::pageinfo::\"\n\
             exercises = [\"counts\"]\npoints = 1\nlimit = 1\n\
             [[test]]\nname = \"questions\"\nanswers = \"a\"\n",
        )
        .unwrap();
        let hint = |t: &str| host_hint(&m, m.test(t).unwrap());
        assert_eq!(
            hint("check_cow").unwrap(),
            "host tests of the same exercises, quicker to debug: cargo test --lib \
             linux::memory:: (graded as host_memory); cargo test --lib jos::pageinfo:: \
             (graded as host_counts)"
        );
        assert_eq!(
            hint("decref").unwrap(),
            "host tests of the same exercises, quicker to debug: cargo test --lib \
             jos::pageinfo:: (graded as host_counts)"
        );
        assert_eq!(
            hint("host_memory").unwrap(),
            "run them yourself: cargo test --lib linux::memory:: (the first run builds \
             them, a minute or two)"
        );
        assert_eq!(hint("questions"), None);
        // The grader prints it after the other lines of a failed test.
        let mut g = report().tests[1].clone();
        g.hint = hint("decref");
        let t = m.test("decref").unwrap();
        let lines = test_lines(&g, t, 6);
        assert!(
            lines.ends_with(
                "      full log: target/grade/kalloc/junk.log\n      host tests of \
                             the same exercises, quicker to debug: cargo test --lib \
                             jos::pageinfo:: (graded as host_counts)\n"
            ),
            "{lines}"
        );
        let json = serde_json::to_string(&g).unwrap();
        assert!(json.contains("\"hint\":\"host tests of"), "{json}");
        assert_eq!(serde_json::from_str::<Graded>(&json).unwrap(), g);
        // A crash carries its boot stage's hint too: both survive the file.
        g.verdict = Verdict::Crash {
            last_line: "main started".into(),
            stage: "main".into(),
            hint: "look at kinit2".into(),
        };
        let json = serde_json::to_string(&g).unwrap();
        assert!(json.contains("\"stage_hint\":\"look at kinit2\""), "{json}");
        assert_eq!(serde_json::from_str::<Graded>(&json).unwrap(), g);
    }

    #[test]
    fn counts_are_singular_or_plural_and_marks_are_explained() {
        assert_eq!(tests_count(1), "1 test");
        assert_eq!(tests_count(12), "12 tests");
        let line = marks_line(b"SCPLM");
        assert!(
            line.starts_with("# boot marks: \"SCPLM\", the boot path's stages"),
            "{line}"
        );
        for s in xtask::protocol::BOOT_STAGES {
            assert!(
                line.contains(&format!("{}: {}", char::from(s.mark), s.name)),
                "{line}"
            );
        }
    }

    #[test]
    fn an_unscored_test_says_so() {
        let g = Graded {
            name: "questions".into(),
            points: 0,
            max: 0,
            verdict: Verdict::Pass,
            rerun: String::new(),
            log: None,
            hint: None,
        };
        let t = Test {
            name: "questions".into(),
            points: 0,
            exercises: vec![],
            check: Check::Answers { file: "a".into() },
        };
        assert!(test_lines(&g, &t, 9).ends_with(&format!("PASS {NOT_SCORED}\n")));
        let r = Report {
            lab: "kalloc".into(),
            score: 0,
            total: 0,
            tests: vec![g],
        };
        assert!(table(&r, "T").contains(NOT_SCORED));
    }

    #[test]
    fn the_table_adds_up_the_points() {
        let r = report();
        assert!(!r.full_marks());
        let t = table(&r, "Pages");
        assert!(t.starts_with("\nLab kalloc: Pages\n"), "{t}");
        assert!(t.contains("  junk    0/5   FAIL\n"), "{t}");
        assert!(t.ends_with("Score: 10/15\n"), "{t}");
        let json = serde_json::to_string(&r).unwrap();
        assert!(
            json.contains("\"verdict\":\"FAIL\",\"reason\":\"no junk\""),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Report>(&json).unwrap(), r);
    }
}
