//! `./run-qemu.sh --lab-check [<lab>]`, the labs' self-check (part of
//! `--test`): for each lab, its handout passes rustfmt's check and clippy
//! with `-D warnings`, builds and boots to a stub line of the lab and
//! grades to 0 with every test NOT IMPLEMENTED; the solution
//! scores full marks, in this tree and as a student's files laid over the
//! handout; each mutant loses exactly the points of its tests, each with
//! a reason that says what is wrong. Every problem is reported, not just
//! the first.

use std::path::Path;
use std::time::Duration;

use super::batch::{self, GradingTree};
use super::export;
use super::grade::{self, Report};
use super::manifest::{self, Check, Manifest, Mutant};
use super::verdict::Verdict;
use xtask::protocol::LabTodo;
use xtask::{Error, NAME, Result, kernel::io_error, paths, status};

/// Longest the handout's first boot may take: it builds the runner and the
/// kernel (core included) from scratch, minutes on a busy 2-core machine.
const FIRST_BOOT_LIMIT: Duration = Duration::from_secs(30 * 60);

/// What went wrong, each a line of the summary.
type Problems = Vec<String>;

/// The lines a student's file names as a stub: `lab_todo!("lab", "ex")` in
/// Rust, `LAB_TODO lab, ex, ...` in assembly.
fn is_stub_line(line: &str, todo: &LabTodo) -> bool {
    line.contains(&format!(
        "lab_todo!(\"{}\", \"{}\")",
        todo.lab, todo.exercise
    )) || line.contains(&format!("LAB_TODO {}, {},", todo.lab, todo.exercise))
}

/// The run-qemu.sh options of lab `m`'s first boot test (a lab whose code
/// the boot itself does not run reaches its stubs there), or a plain boot
/// that halts.
pub fn first_boot(m: &Manifest) -> Vec<String> {
    m.tests
        .iter()
        .find_map(|t| match &t.check {
            Check::Boot { ktest, boot, .. } => Some(grade::boot_args(ktest, boot)),
            Check::Answers { .. } | Check::Host { .. } => None,
        })
        .unwrap_or_else(|| vec!["--cmdline".into(), "halt".into()])
}

/// Check that the handout in `tree`, booted as for its first test, stops
/// at a stub of its lab, whose line names its own place.
fn boots_to_a_stub(tree: &GradingTree, problems: &mut Problems) -> Result<()> {
    let lab = &tree.lab.name;
    let args = first_boot(&tree.lab);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let ran = tree.run(&args, FIRST_BOOT_LIMIT)?;
    let lines: Vec<String> = ran.out.lines().map(super::verdict::printable).collect();
    let todo = lines.iter().find_map(|l| LabTodo::parse(l));
    let said = match (ran.status, todo) {
        (Some(status::LAB_TODO), Some(todo)) if todo.lab == lab.as_str() => {
            let text = std::fs::read_to_string(tree.dir.join(todo.file)).unwrap_or_default();
            let line = text.lines().nth(todo.line as usize - 1).unwrap_or("");
            if is_stub_line(line, &todo) {
                Ok(format!("{todo}"))
            } else {
                Err(format!(
                    "its stub line names {}:{}, which is {line:?}",
                    todo.file, todo.line
                ))
            }
        }
        (s, todo) => Err(format!(
            "it ended with status {s:?} (a stub ends with {}) and {}; the output ends:\n{}",
            status::LAB_TODO,
            todo.map_or("no stub line".to_string(), |t| format!("the line {t}")),
            tail(&ran.out)
        )),
    };
    report(lab, "the handout boots to a stub", said, problems);
    Ok(())
}

/// Longest a handout's fmt and clippy check may take: the first checks
/// core from scratch, minutes on a busy 2-core machine.
const CLEAN_LIMIT: Duration = Duration::from_secs(30 * 60);

/// What a handout must pass as exported: rustfmt's check, and clippy on the
/// kernel target with every warning an error (no stub leaves an import or
/// a variable unused).
const CLEAN: &[&[&str]] = &[
    &["fmt", "--all", "--", "--check"],
    &[
        "kclippy",
        "--message-format",
        "short",
        "--",
        "-D",
        "warnings",
    ],
];

/// Check that the handout in `tree` passes each of [`CLEAN`].
fn handout_is_clean(tree: &GradingTree, problems: &mut Problems) -> Result<()> {
    for args in CLEAN {
        let mut cmd = std::process::Command::new("cargo");
        cmd.args(*args).current_dir(&tree.dir);
        let ran = xtask::bounded::capture(&mut cmd, b"", Some(CLEAN_LIMIT), true)
            .map_err(|e| Error::new(format!("cannot run cargo: {e}")))?;
        let said = match ran.status {
            Some(0) => Ok("no warning".to_string()),
            s => Err(format!(
                "it ended with status {s:?}; the output ends:\n{}",
                tail(&ran.out)
            )),
        };
        let what = format!("the handout passes cargo {}", args.join(" "));
        report(&tree.lab.name, &what, said, problems);
    }
    Ok(())
}

/// The last lines of an output, for a problem's message.
fn tail(out: &str) -> String {
    let lines: Vec<&str> = out.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Print how check `what` of `lab` went; a failure becomes a problem.
fn report(
    lab: &str,
    what: &str,
    said: std::result::Result<String, String>,
    problems: &mut Problems,
) {
    match said {
        Ok(detail) => eprintln!("{NAME} --lab-check {lab}: {what}: ok ({detail})"),
        Err(why) => {
            eprintln!("{NAME} --lab-check {lab}: {what}: FAILED: {why}");
            problems.push(format!("{lab}: {what}: {why}"));
        }
    }
}

/// The handout's grade: 0, every test NOT IMPLEMENTED.
pub fn judge_handout(r: &Report) -> std::result::Result<String, String> {
    let implemented: Vec<String> = r
        .tests
        .iter()
        .filter(|g| !matches!(g.verdict, Verdict::NotImplemented { .. }))
        .map(|g| format!("{} is {}", g.name, g.verdict.word()))
        .collect();
    match (r.score, implemented.is_empty()) {
        (0, true) => Ok(format!("0/{}, every test NOT IMPLEMENTED", r.total)),
        _ => Err(format!(
            "it scored {}/{} ({})",
            r.score,
            r.total,
            implemented.join(", ")
        )),
    }
}

/// The solution's grade: full marks.
pub fn judge_solution(r: &Report) -> std::result::Result<String, String> {
    let lost: Vec<String> = r
        .tests
        .iter()
        .filter(|g| g.verdict != Verdict::Pass)
        .map(|g| format!("{}: {} {}", g.name, g.verdict.word(), g.verdict.reason()))
        .collect();
    match lost.is_empty() {
        true => Ok(format!("{}/{}", r.score, r.total)),
        false => Err(format!(
            "it scored {}/{}: {}",
            r.score,
            r.total,
            lost.join("; ")
        )),
    }
}

/// The grade of a kernel that does not build: none, and the grader's
/// output says why.
pub fn judge_broken(
    graded: std::result::Result<Report, String>,
    out: &str,
) -> std::result::Result<String, String> {
    match graded {
        Ok(r) => Err(format!("it was scored {}/{}", r.score, r.total)),
        Err(_) if !out.contains(grade::DOES_NOT_BUILD) => Err(format!(
            "the grader did not say {:?}; its output ends:\n{}",
            grade::DOES_NOT_BUILD,
            tail(out)
        )),
        Err(e) if out.contains("Score:") => Err(format!("{e}, yet it printed a score")),
        Err(e) => Ok(e),
    }
}

/// A mutant's grade: it fails exactly its tests, each with a reason that
/// contains what it says (`Mutant::says_for` the test: a host test's may
/// differ), and passes every other.
pub fn judge_mutant(lab: &Manifest, m: &Mutant, r: &Report) -> std::result::Result<String, String> {
    let mut wrong = Vec::new();
    for g in &r.tests {
        let named = m.fails.contains(&g.name);
        let reason = g.verdict.reason();
        let says = lab.test(&g.name).map_or(m.says.as_str(), |t| m.says_for(t));
        match (named, &g.verdict) {
            (true, Verdict::Pass) => wrong.push(format!("{} passed", g.name)),
            (true, _) if !reason.contains(says) => wrong.push(format!(
                "{}'s reason does not say {says:?}: {} {reason}",
                g.name,
                g.verdict.word()
            )),
            (false, v) if *v != Verdict::Pass => wrong.push(format!(
                "{} (not one of its tests) is {} {reason}",
                g.name,
                v.word()
            )),
            _ => {}
        }
    }
    let lost = r.total - r.score;
    match wrong.is_empty() {
        true => Ok(format!(
            "loses {lost} points on {}, saying {:?}{}",
            m.fails.join(", "),
            m.says,
            m.host_says
                .as_ref()
                .map_or(String::new(), |h| format!(" (host tests: {h:?})"))
        )),
        false => Err(wrong.join("; ")),
    }
}

/// The paths a patch changes (its `+++ b/<path>` lines).
pub fn patched_files(patch: &str) -> Vec<String> {
    patch
        .lines()
        .filter_map(|l| l.strip_prefix("+++ b/"))
        .map(|p| p.trim().to_string())
        .collect()
}

/// The self-check's student whose kernel does not build, and what is
/// added to the first of its files to break it.
const BROKEN: &str = "does_not_build";
const BROKEN_CODE: &str = "\nfn this_does_not_compile( {\n";

/// Make the students of the self-check below `dir`: `handout` (the
/// handout's files), `solution`, `does_not_build` (the solution's first
/// Rust file broken), and one per mutant (the solution's files with the
/// patch applied). A patch that does not apply, or changes a file a
/// student does not edit, is a problem, and that mutant is left out.
fn make_students(
    tree: &GradingTree,
    tracked: &export::Tree,
    dir: &Path,
    problems: &mut Problems,
) -> Result<()> {
    let m = &tree.lab;
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| io_error("remove", dir, e))?;
    }
    let pick = |files: &export::Tree| -> export::Tree {
        m.files
            .iter()
            .filter_map(|f| files.get(f).map(|b| (f.clone(), b.clone())))
            .collect()
    };
    export::write_tree(&pick(&tree.handout), &dir.join(HANDOUT))?;
    export::write_tree(&pick(tracked), &dir.join(SOLUTION))?;
    // A student whose kernel does not build: no score, and the reason.
    let mut broken = pick(tracked);
    if let Some((_, rust)) = broken.iter_mut().find(|(p, _)| p.ends_with(".rs")) {
        rust.extend_from_slice(BROKEN_CODE.as_bytes());
        export::write_tree(&broken, &dir.join(BROKEN))?;
    }
    for mutant in &m.mutants {
        let path = m.patch(mutant);
        let mut refuse = |why: String| {
            report(
                &m.name,
                &format!("mutant {}", mutant.name),
                Err(why),
                problems,
            )
        };
        let Some(patch) = tracked.get(&path) else {
            refuse(format!("{path} is missing (or not tracked by git)"));
            continue;
        };
        let outside: Vec<String> = patched_files(&String::from_utf8_lossy(patch))
            .into_iter()
            .filter(|f| !m.files.contains(f))
            .collect();
        if !outside.is_empty() {
            refuse(format!(
                "{path} changes {}, which a student does not edit (files in lab.toml)",
                outside.join(", ")
            ));
            continue;
        }
        let to = dir.join(&mutant.name);
        export::write_tree(&pick(tracked), &to)?;
        let applied = std::process::Command::new("git")
            .args(["apply", "--whitespace=nowarn"])
            .arg(paths::at(&path))
            .current_dir(&to)
            .output()
            .map_err(|e| Error::new(format!("cannot run git: {e}")))?;
        if !applied.status.success() {
            std::fs::remove_dir_all(&to).map_err(|e| io_error("remove", &to, e))?;
            refuse(format!(
                "{path} does not apply to the solution: {}",
                String::from_utf8_lossy(&applied.stderr).trim()
            ));
        }
    }
    Ok(())
}

/// The self-check's students that are not mutants.
const HANDOUT: &str = "handout";
const SOLUTION: &str = "solution";

/// Check lab `lab`; its problems are added to `problems`. The students are
/// graded as a class is (`batch::grade_class`).
fn check_lab(lab: &str, factor: u32, problems: &mut Problems) -> Result<()> {
    // One grading tree for every lab: their handouts share most files.
    let work = paths::scratch("lab-check");
    let tracked = export::tracked()?;
    let tree = GradingTree::new(lab, &tracked, &work)?;
    let students_dir = work.join("students").join(lab);
    make_students(&tree, &tracked, &students_dir, problems)?;
    let logs = paths::at(format!("target/lab-check/{lab}"));
    std::fs::create_dir_all(&logs).map_err(|e| io_error("create", &logs, e))?;
    handout_is_clean(&tree, problems)?;
    boots_to_a_stub(&tree, problems)?;
    for row in batch::grade_class(std::slice::from_ref(&tree), &students_dir, &logs)? {
        let graded = row.report;
        let (what, said) = match row.student.as_str() {
            HANDOUT => (
                "the handout grades to 0".to_string(),
                graded.and_then(|r| judge_handout(&r)),
            ),
            SOLUTION => (
                "the solution's files over the handout score full marks".to_string(),
                graded.and_then(|r| judge_solution(&r)),
            ),
            BROKEN => {
                let out = std::fs::read_to_string(&row.log).unwrap_or_default();
                (
                    "a kernel that does not build gets no score, saying so".to_string(),
                    judge_broken(graded, &out),
                )
            }
            name => {
                let mutant = tree.lab.mutants.iter().find(|x| x.name == name);
                let mutant = mutant.expect("every other student is a mutant");
                (
                    format!("mutant {name}"),
                    graded.and_then(|r| judge_mutant(&tree.lab, mutant, &r)),
                )
            }
        };
        let said = said.map_err(|e| format!("{e} (log: {})", row.log));
        report(lab, &what, said, problems);
    }
    // And the teacher's own tree, as `./run-qemu.sh --grade` here grades it.
    let here = grade::grade(lab, None, factor)?;
    report(
        lab,
        "this tree scores full marks",
        judge_solution(&here),
        problems,
    );
    Ok(())
}

/// `--lab-check [<lab>]`: the exit status (FAILED if anything is wrong).
pub fn run(only: Option<&str>, factor: u32) -> Result<i32> {
    if let Some(lab) = export::handout_of(paths::root()) {
        eprintln!(
            "{NAME} --lab-check: this tree is the handout of lab {lab} ({}); the labs' \
             self-check runs in the teacher's tree, nothing to check here",
            export::HANDOUT_STAMP
        );
        return Ok(0);
    }
    let labs: Vec<String> = match only {
        Some(l) => vec![l.to_string()],
        None => super::labs_here(),
    };
    if labs.is_empty() {
        eprintln!(
            "{NAME} --lab-check: no labs ({}/<lab>/{})",
            manifest::LABS_DIR,
            manifest::MANIFEST
        );
        return Ok(0);
    }
    let mut problems = Problems::new();
    for lab in &labs {
        if let Err(e) = check_lab(lab, factor, &mut problems) {
            problems.push(format!("{lab}: {}", e.message));
        }
    }
    if problems.is_empty() {
        eprintln!(
            "{NAME} --lab-check: every check of {} passed",
            labs.join(", ")
        );
        return Ok(0);
    }
    let count = match problems.len() {
        1 => "1 problem".to_string(),
        n => format!("{n} problems"),
    };
    eprintln!("{NAME} --lab-check: {count}:");
    for p in &problems {
        eprintln!("  {p}");
    }
    Ok(status::FAILED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grade::Graded;

    fn report(verdicts: &[(&str, Verdict)]) -> Report {
        let tests: Vec<Graded> = verdicts
            .iter()
            .map(|(n, v)| Graded {
                name: n.to_string(),
                points: if *v == Verdict::Pass { 10 } else { 0 },
                max: 10,
                verdict: v.clone(),
                rerun: String::new(),
                log: None,
                hint: None,
            })
            .collect();
        Report {
            lab: "kalloc".into(),
            score: tests.iter().map(|g| g.points).sum(),
            total: 10 * tests.len() as u32,
            tests,
        }
    }

    fn todo() -> Verdict {
        Verdict::NotImplemented {
            exercise: "kfree".into(),
            at: "src/x.rs:1".into(),
        }
    }

    fn fail(r: &str) -> Verdict {
        Verdict::Fail { reason: r.into() }
    }

    #[test]
    fn the_handout_must_score_0_with_every_test_not_implemented() {
        assert!(judge_handout(&report(&[("a", todo()), ("b", todo())])).is_ok());
        let e = judge_handout(&report(&[("a", todo()), ("b", Verdict::Pass)])).unwrap_err();
        assert_eq!(e, "it scored 10/20 (b is PASS)");
        let e = judge_handout(&report(&[("a", fail("x"))])).unwrap_err();
        assert_eq!(e, "it scored 0/10 (a is FAIL)");
    }

    #[test]
    fn the_solution_must_score_full_marks() {
        assert_eq!(
            judge_solution(&report(&[("a", Verdict::Pass)])),
            Ok("10/10".into())
        );
        let e = judge_solution(&report(&[("a", Verdict::Pass), ("b", fail("why"))])).unwrap_err();
        assert_eq!(e, "it scored 10/20: b: FAIL why");
    }

    #[test]
    fn a_mutant_must_fail_exactly_its_tests_saying_what_is_wrong() {
        let lab = crate::manifest::parse(
            "kalloc",
            "labs/kalloc/lab.toml",
            "title = \"t\"\ndepends = []\nfiles = []\n\
             [[test]]\nname = \"host\"\nhost = \"kalloc::\"\nexercises = [\"e\"]\n\
             points = 10\nlimit = 1\n",
        )
        .unwrap();
        let m = Mutant {
            name: "no_junk".into(),
            fails: vec!["junk".into()],
            says: "junk byte".into(),
            host_says: None,
        };
        let good = report(&[("lifo", Verdict::Pass), ("junk", fail("no junk byte 0x05"))]);
        assert_eq!(
            judge_mutant(&lab, &m, &good),
            Ok("loses 10 points on junk, saying \"junk byte\"".into())
        );
        let missed = report(&[("lifo", Verdict::Pass), ("junk", Verdict::Pass)]);
        assert_eq!(judge_mutant(&lab, &m, &missed).unwrap_err(), "junk passed");
        let vague = report(&[("lifo", Verdict::Pass), ("junk", fail("wrong"))]);
        assert_eq!(
            judge_mutant(&lab, &m, &vague).unwrap_err(),
            "junk's reason does not say \"junk byte\": FAIL wrong"
        );
        let more = report(&[("lifo", fail("order")), ("junk", fail("junk byte"))]);
        assert_eq!(
            judge_mutant(&lab, &m, &more).unwrap_err(),
            "lifo (not one of its tests) is FAIL order"
        );
        // A host test's reason quotes the host tests: it says host_says.
        let m = Mutant {
            fails: vec!["junk".into(), "host".into()],
            host_says: Some("junk_fill_marks".into()),
            ..m
        };
        let both = report(&[
            ("junk", fail("no junk byte 0x05")),
            (
                "host",
                fail("1 of 2 host tests failed:\nk::junk_fill_marks: 0x00"),
            ),
        ]);
        assert_eq!(
            judge_mutant(&lab, &m, &both),
            Ok("loses 20 points on junk, host, saying \"junk byte\" (host tests: \"junk_fill_marks\")".into())
        );
        let host_vague = report(&[("junk", fail("junk byte")), ("host", fail("junk byte"))]);
        assert_eq!(
            judge_mutant(&lab, &m, &host_vague).unwrap_err(),
            "host's reason does not say \"junk_fill_marks\": FAIL junk byte"
        );
    }

    #[test]
    fn a_kernel_that_does_not_build_must_get_no_score() {
        let said = format!(
            "run-qemu.sh: {} (cargo kbuild failed)",
            grade::DOES_NOT_BUILD
        );
        assert!(judge_broken(Err("no score: status 1".into()), &said).is_ok());
        let e = judge_broken(Err("no score".into()), "error[E0425]").unwrap_err();
        assert!(e.starts_with("the grader did not say"), "{e}");
        let e = judge_broken(Ok(report(&[("a", todo())])), &said).unwrap_err();
        assert_eq!(e, "it was scored 0/10");
    }

    #[test]
    fn the_handout_boots_as_for_its_first_test() {
        let boot = |name: &str, ktest: &str| crate::manifest::Test {
            name: name.into(),
            points: 1,
            exercises: vec![],
            check: Check::Boot {
                ktest: ktest.into(),
                panic: None,
                boot: vec!["--smp".into(), "2".into()],
                limit: 1,
            },
        };
        let answers = crate::manifest::Test {
            name: "q".into(),
            points: 1,
            exercises: vec![],
            check: Check::Answers { file: "a".into() },
        };
        let mut m = Manifest {
            name: "x".into(),
            title: "X".into(),
            depends: vec![],
            files: vec![],
            tests: vec![answers, boot("a", "check_cow"), boot("b", "other")],
            mutants: vec![],
        };
        assert_eq!(
            first_boot(&m),
            ["--smp", "2", "--cmdline", "ktest=check_cow"]
        );
        m.tests.truncate(1);
        assert_eq!(first_boot(&m), ["--cmdline", "halt"]);
    }

    #[test]
    fn a_patch_names_the_files_it_changes() {
        let p =
            "From: x\n--- a/src/a.rs\n+++ b/src/a.rs\n@@ -1 +1 @@\n-a\n+b\n--- a/b.S\n+++ b/b.S\n";
        assert_eq!(patched_files(p), ["src/a.rs", "b.S"]);
    }

    #[test]
    fn a_stub_line_is_the_macro_call_or_the_assembly_macro() {
        let t = LabTodo {
            lab: "boot",
            exercise: "entrypgdir",
            file: "boot/entry.S",
            line: 3,
        };
        assert!(is_stub_line("    LAB_TODO boot, entrypgdir, 3", &t));
        assert!(is_stub_line(
            "    crate::lab_todo!(\"boot\", \"entrypgdir\")",
            &t
        ));
        assert!(!is_stub_line(
            "    crate::lab_todo!(\"boot\", \"kvmalloc\")",
            &t
        ));
    }
}
