//! Lab tests: the stubs of a lab exercise (Rust and assembly), reached in
//! a booted kernel, and the grader's verdicts on real runs. The handouts,
//! the solutions and the mutants are checked by `./run-qemu.sh
//! --lab-check`, a step of the test command of its own.

mod common;

use std::path::Path;

use std::time::Duration;

use common::{launch, run_script};
use lab::grade::run_boot;
use lab::verdict::{Verdict, judge};
use xtask::status::LAB_TODO;
use xv6::protocol::LabTodo;

/// The stub line in `out`, read back by the protocol's parser.
fn todo_line(out: &str) -> LabTodo<'_> {
    out.lines()
        .find_map(|l| LabTodo::parse(l.trim_end_matches('\r')))
        .unwrap_or_else(|| panic!("no lab_todo line in the output:\n{out}"))
}

/// Line `line` (1-based) of `file`, below the directory `root`.
fn source_line(root: &Path, file: &str, line: u32) -> String {
    let text = std::fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    text.lines()
        .nth(line as usize - 1)
        .unwrap_or_else(|| panic!("{file} has no line {line}"))
        .to_string()
}

/// Boot `ktest=<exercise>`: it must stop at a stub of lab `ktest` in
/// `file`, whose line holds `stub`, with the stub's own status, no panic.
fn expect_stub(exercise: &str, file: &str, stub: &str) {
    let run = launch(&["--cmdline", &format!("ktest={exercise}")]);
    run.expect_status(LAB_TODO);
    let todo = todo_line(&run.out);
    assert_eq!(
        (todo.lab, todo.exercise, todo.file),
        ("ktest", exercise, file)
    );
    let at = source_line(Path::new(env!("CARGO_MANIFEST_DIR")), file, todo.line);
    assert!(at.contains(stub), "the line names the stub's place: {at:?}");
    assert!(!run.has("panic"), "a stub is not a panic:\n{}", run.out);
}

#[test]
fn lab_todo_names_the_exercise_and_ends_with_its_own_status() {
    expect_stub(
        "lab_todo",
        "src/debug/ktest.rs",
        "lab_todo!(\"ktest\", \"lab_todo\")",
    );
}

#[test]
fn the_assembly_stub_works_with_paging_off() {
    expect_stub(
        "lab_todo_asm",
        "boot/entry.S",
        "LAB_TODO ktest, lab_todo_asm, __LINE__",
    );
}

/// The grader's verdict on in-kernel test `ktest`, run as `--grade` runs
/// it, with a time limit of `limit` seconds.
fn graded(ktest: &str, panic: Option<&str>, limit: u64) -> Verdict {
    let marks = std::env::temp_dir().join(format!("xv6-marks-{ktest}-{}", std::process::id()));
    let (outcome, log) = run_boot(ktest, &[], Duration::from_secs(limit), &marks)
        .unwrap_or_else(|e| panic!("running {ktest}: {e}"));
    let _ = std::fs::remove_file(&marks);
    assert!(
        log.contains(&format!("ktest={ktest}")),
        "the log names the command:\n{log}"
    );
    judge(ktest, panic, &outcome)
}

#[test]
fn the_grader_passes_a_test_that_ends_ok_or_panics_as_it_must() {
    assert_eq!(graded("kalloc_order", None, 120), Verdict::Pass);
    assert_eq!(
        graded("kfree_misaligned", Some("is not page-aligned"), 120),
        Verdict::Pass
    );
    let v = graded("kfree_misaligned", Some("double free"), 120);
    assert!(
        v.reason().starts_with(
            "the kernel must panic with \"double free\", but it panicked with: kfree: 0x"
        ),
        "{v:?}"
    );
}

#[test]
fn the_grader_names_a_stub_and_a_panic() {
    assert_eq!(
        graded("lab_todo", None, 120),
        Verdict::NotImplemented {
            exercise: "lab_todo".into(),
            at: format!(
                "src/debug/ktest.rs:{}",
                stub_line("lab_todo!(\"ktest\", \"lab_todo\")")
            ),
        }
    );
    let Verdict::Panic {
        message,
        at,
        backtrace,
    } = graded("invalid_opcode", None, 120)
    else {
        panic!("a trap is the kernel's panic, not the test's")
    };
    assert!(message.starts_with("trap 6 (invalid opcode)"), "{message}");
    assert!(at.starts_with("src/trap"), "{at}");
    assert!(
        backtrace.iter().any(|f| f.contains(" in main+")),
        "{backtrace:?}"
    );
}

/// The line of src/debug/ktest.rs that holds `text`.
fn stub_line(text: &str) -> usize {
    let src = include_str!("../src/debug/ktest.rs");
    1 + src
        .lines()
        .position(|l| l.contains(text))
        .expect("the stub's line")
}

#[test]
fn the_grader_tells_a_reset_from_a_hang_from_endless_output() {
    assert_eq!(
        graded("triple_fault", None, 120),
        Verdict::Crash {
            last_line: "ktest: triple_fault ...".into(),
            stage: "main started".into(),
            hint: String::new(),
        }
    );
    // Limits of a few seconds once the kernel is up (a boot takes 1 to 3 s
    // here; quiet means half the limit without a line).
    let hang = graded("silent_hang", None, 20);
    assert!(
        matches!(
            hang,
            Verdict::Timeout {
                printing: false,
                limit_s: 20,
                ..
            }
        ),
        "{hang:?}"
    );
    assert!(
        hang.reason().starts_with("no output for "),
        "{}",
        hang.reason()
    );
    let chatter = graded("endless_output", None, 20);
    assert!(
        matches!(chatter, Verdict::Timeout { printing: true, .. }),
        "{chatter:?}"
    );
}

#[test]
fn grade_runs_one_test_and_refuses_unknown_names() {
    let one = run_script(&["--grade", "kalloc", "kalloc_order"], "");
    one.expect_status(0);
    let points = lab::grade::manifest("kalloc")
        .unwrap()
        .test("kalloc_order")
        .expect("the test")
        .points;
    assert!(one.out.contains("(1 test)"), "{}", one.out);
    assert!(one.out.contains("kalloc_order "), "{}", one.out);
    assert!(one.out.contains("PASS"), "{}", one.out);
    assert!(
        one.out.contains(&format!("Score: {points}/{points}")),
        "{}",
        one.out
    );
    let report = lab::grade::read_report(&xtask::paths::at(lab::grade::results_file("kalloc")))
        .expect("the results file");
    assert_eq!(
        (report.score, report.total, report.tests.len()),
        (points, points, 1)
    );
    let unknown = run_script(&["--grade", "kalloc", "nosuch"], "");
    unknown.expect_status(xtask::status::FAILED);
    assert!(
        unknown
            .err
            .contains("lab kalloc has no test \"nosuch\" (its tests: boot_report_matches_free_list, kalloc_order,"),
        "{}",
        unknown.err
    );
    let lab = run_script(&["--grade", "nosuch"], "");
    lab.expect_status(xtask::status::FAILED);
    let labs = lab::labs_here().join(", ");
    assert!(
        lab.err.contains(&format!(
            "unknown lab \"nosuch\": no labs/nosuch/lab.toml (labs: {labs})"
        )),
        "{}",
        lab.err
    );
    assert!(labs.contains("kalloc"), "{labs}");
}

#[test]
fn lab_export_writes_a_one_commit_handout_without_solutions_or_mutants() {
    let dir = std::env::temp_dir().join(format!("xv6-lab-export-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir); // left by an earlier failed run
    let path = dir.to_str().expect("a UTF-8 temporary directory");
    run_script(&["--lab-export", "kalloc", path], "").expect_status(0);
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(&dir)
            .args(args)
            .output()
            .expect("run git");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(git(&["rev-list", "--count", "HEAD"]), "1", "one commit");
    assert_eq!(git(&["status", "--porcelain"]), "", "everything committed");
    let freelist = std::fs::read_to_string(dir.join("src/kalloc/freelist.rs")).unwrap();
    assert!(!freelist.contains("LAB kalloc/"), "no marker remains");
    for exercise in ["freerange", "kfree", "kalloc"] {
        assert!(
            freelist.contains(&format!("lab_todo!(\"kalloc\", \"{exercise}\")")),
            "{exercise}'s stub"
        );
    }
    // kalloc=scan's bookkeeping is the list's without the links: stubbed
    // too, so that it does not show the answers.
    let scan = std::fs::read_to_string(dir.join("src/kalloc/scan.rs")).unwrap();
    assert!(
        scan.contains("lab_todo!(\"kalloc\", \"scan\")"),
        "scan's stub"
    );
    assert!(!scan.contains("self.nfree += 1;"), "{scan}");
    assert!(!dir.join("labs/kalloc/mutants").exists(), "no mutant");
    assert!(!dir.join("labs/kalloc/stubs").exists(), "no stub file");
    assert_eq!(lab::export::handout_of(&dir).as_deref(), Some("kalloc"));
    // The front page is the student's; the project's README is PROJECT.md.
    let front = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(front.starts_with("# Lab kalloc: "), "{front}");
    assert!(front.contains("(labs/kalloc/README.md)"), "{front}");
    assert!(front.contains("- `src/kalloc/freelist.rs`"), "{front}");
    let project = std::fs::read_to_string(dir.join("PROJECT.md")).unwrap();
    assert_eq!(
        project,
        std::fs::read_to_string(xtask::paths::at("README.md")).unwrap()
    );
    let again = run_script(&["--lab-export", "kalloc", path], "");
    again.expect_status(xtask::status::FAILED);
    assert!(again.err.contains("is not empty"), "{}", again.err);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_solution_tree_is_plain_code_and_every_lab_exports() {
    let tree = lab::export::tracked().expect("the tracked files");
    for (path, bytes) in tree.iter().filter(|(p, _)| {
        !p.ends_with(".md") && !lab::markers::is_stub_file(p) && !lab::manifest::is_mutant(p)
    }) {
        let text = String::from_utf8_lossy(bytes);
        for (n, line) in text.lines().enumerate() {
            let words: Vec<&str> = line.split_whitespace().collect();
            assert!(
                !(words.get(1) == Some(&"LAB") && matches!(words.get(3), Some(&"STUB" | &"BASE"))),
                "{path}:{}: stub text in the solution tree: {line:?}",
                n + 1
            );
        }
    }
    for lab in lab::labs_here() {
        let handout = lab::export::handout(&tree, &lab)
            .unwrap_or_else(|e| panic!("the handout of {lab}: {e}"));
        assert!(
            !handout.keys().any(|p| lab::markers::is_stub_file(p)),
            "{lab}: no stub file in the handout"
        );
    }
}

/// Longest a grading of a small class may take here: the first build of a
/// grading tree is from scratch (minutes on a busy 2-core machine).
const CLASS_LIMIT: Duration = Duration::from_secs(60 * 60);

/// Run `cmd` (below the project's root), at most CLASS_LIMIT; its output,
/// standard output and error interleaved, after checking it ended with 0.
fn run_ok(cmd: &mut std::process::Command) -> String {
    let c = xtask::bounded::capture(cmd, b"", Some(CLASS_LIMIT), true)
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert_eq!(c.status, Some(0), "{cmd:?} ended so:\n{}", c.out);
    c.out
}

/// The files of `lab` that its students edit, as `tree` has them.
fn lab_files(tree: &lab::export::Tree, lab: &str) -> lab::export::Tree {
    let m = lab::grade::manifest(lab).expect("the lab's manifest");
    m.files
        .iter()
        .map(|f| (f.clone(), tree[f].clone()))
        .collect()
}

/// A class of three for lab `lab` below `dir`: `solution` (this tree's
/// files), `handout` (the handout's) and `mutant` (the solution with the
/// lab's first mutant applied).
fn make_class(lab: &str, dir: &Path) {
    let tracked = lab::export::tracked().expect("the tracked files");
    let handout = lab::export::handout(&tracked, lab).expect("the handout");
    let _ = std::fs::remove_dir_all(dir);
    lab::export::write_tree(&lab_files(&tracked, lab), &dir.join("solution")).unwrap();
    lab::export::write_tree(&lab_files(&handout, lab), &dir.join("handout")).unwrap();
    let mutant = dir.join("mutant");
    lab::export::write_tree(&lab_files(&tracked, lab), &mutant).unwrap();
    let m = lab::grade::manifest(lab).unwrap();
    let patch = xtask::paths::at(m.patch(&m.mutants[0]));
    run_ok(
        std::process::Command::new("git")
            .arg("apply")
            .arg(&patch)
            .current_dir(&mutant),
    );
}

/// `--grade-batch`'s results files for `lab`, by name: results.json,
/// results.csv and each student's Gradescope results.
fn class_results(lab: &str) -> Vec<(String, String)> {
    let out = xtask::paths::at(format!("target/grade-batch/{lab}"));
    let mut files = vec!["results.json".to_string(), "results.csv".to_string()];
    for s in ["handout", "mutant", "solution"] {
        files.push(format!("{}/{s}.json", lab::batch::GRADESCOPE_DIR));
    }
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(out.join(&f)).unwrap_or_else(|e| panic!("{f}: {e}"));
            (f, text)
        })
        .collect()
}

/// The lines of `one` and `two` that differ, paired by position (the
/// results files have the same shape whatever their verdicts' words).
fn line_diff(one: &str, two: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (one.lines().collect(), two.lines().collect());
    let mut out = String::new();
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (a.get(i).copied(), b.get(i).copied());
        if x != y {
            out.push_str(&format!(
                "{i}: - {}\n{i}: + {}\n",
                x.unwrap_or(""),
                y.unwrap_or("")
            ));
        }
    }
    out
}

#[test]
fn grade_batch_with_two_jobs_gives_the_results_of_one() {
    let lab = "cow";
    let dir = std::env::temp_dir().join(format!("xv6-class-{}", std::process::id()));
    make_class(lab, &dir);
    let grade = |jobs: &str| {
        run_ok(
            std::process::Command::new(xtask::paths::at("run-qemu.sh"))
                .args(["--grade-batch", lab])
                .arg(&dir)
                .args(["--jobs", jobs]),
        );
        class_results(lab)
    };
    let serial = grade("1");
    let parallel = grade("2");
    std::fs::remove_dir_all(&dir).unwrap();
    let differing: Vec<String> = serial
        .iter()
        .zip(&parallel)
        .filter(|((_, one), (_, two))| one != two)
        .map(|((file, one), (_, two))| format!("{file}:\n{}", line_diff(one, two)))
        .collect();
    assert!(
        differing.is_empty(),
        "results differ between --jobs 1 (-) and --jobs 2 (+):\n{}",
        differing.join("\n")
    );
    let gradescope = |student: &str| -> lab::gradescope::Results {
        let text = &serial
            .iter()
            .find(|(f, _)| f.ends_with(&format!("/{student}.json")))
            .expect("the student's Gradescope results")
            .1;
        lab::gradescope::Results::parse(text).expect("Gradescope's format")
    };
    let m = lab::grade::manifest(lab).unwrap();
    let solution = gradescope("solution");
    assert_eq!(solution.score, m.total());
    let names: Vec<&str> = solution.tests.iter().map(|t| t.name.as_str()).collect();
    let wanted: Vec<&str> = m.tests.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, wanted);
    assert!(solution.tests.iter().all(|t| t.status == "passed"));
    let handout = gradescope("handout");
    assert_eq!(handout.score, 0);
    assert!(
        handout
            .tests
            .iter()
            .all(|t| t.output.starts_with("NOT IMPLEMENTED")),
        "{handout:?}"
    );
    let mutant = gradescope("mutant");
    let fails = &m.mutants[0].fails;
    for t in &mutant.tests {
        assert_eq!(
            t.status == "failed",
            fails.contains(&t.name),
            "mutant {}: {t:?}",
            m.mutants[0].name
        );
    }
}

#[test]
fn run_autograder_grades_a_submission_in_gradescopes_layout() {
    let lab = "cow";
    // Kept between runs (the builds in it are), laid out afresh each time.
    let work = xtask::paths::scratch("autograder-test");
    let root = work.join("autograder");
    let source = root.join("source");
    let kept = work.join("source-target");
    if source.join("target").exists() {
        let _ = std::fs::remove_dir_all(&kept);
        std::fs::rename(source.join("target"), &kept).unwrap();
    }
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    run_script(&["--lab-export", lab, source.to_str().unwrap()], "").expect_status(0);
    if kept.exists() {
        std::fs::rename(&kept, source.join("target")).unwrap();
    }
    // The submission: the solution's files, one of them at the top (as an
    // upload of single files has them).
    let tracked = lab::export::tracked().unwrap();
    let mut files = lab_files(&tracked, lab);
    let (first, bytes) = files.pop_first().unwrap();
    let top = Path::new(&first).file_name().unwrap().to_str().unwrap();
    files.insert(top.to_string(), bytes);
    lab::export::write_tree(&files, &root.join("submission")).unwrap();
    let script = |name: &str| {
        let mut cmd =
            std::process::Command::new(xtask::paths::at(format!("labs/autograder/{name}")));
        cmd.env("AUTOGRADER_ROOT", &root)
            .env("XV6_SCRATCH", work.join("scratch"))
            .current_dir(&root);
        run_ok(&mut cmd)
    };
    script("setup.sh");
    let out = script("run_autograder");
    let text = std::fs::read_to_string(root.join("results/results.json"))
        .unwrap_or_else(|e| panic!("no results.json ({e}); the script said:\n{out}"));
    let r = lab::gradescope::Results::parse(&text).expect("Gradescope's format");
    let m = lab::grade::manifest(lab).unwrap();
    assert_eq!(r.score, m.total(), "{text}");
    assert!(r.score > 0);
    assert_eq!(r.tests.len(), m.tests.len(), "{text}");
    assert!(r.tests.iter().all(|t| t.status == "passed"), "{text}");
    assert!(!r.output.contains("Not in your submission"), "{text}");
}

#[test]
fn each_lab_maps_its_own_exercises_to_host_tests_and_keeps_100_points() {
    let tree = lab::export::tracked().expect("the tracked files");
    let labs = lab::labs_here();
    let names: Vec<&str> = labs.iter().map(String::as_str).collect();
    let mut exercises: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (path, bytes) in tree.iter().filter(|(p, _)| {
        !p.ends_with(".md") && !lab::markers::is_stub_file(p) && !lab::manifest::is_mutant(p)
    }) {
        let text = String::from_utf8_lossy(bytes);
        for r in lab::markers::parse(path, &text, &names).unwrap_or_default() {
            exercises.entry(r.lab).or_default().push(r.exercise);
        }
    }
    for name in &labs {
        let m = lab::grade::manifest(name).expect("the lab's manifest");
        assert_eq!(m.total(), 100, "{name}: the points add up to 100");
        let own = exercises.get(name).cloned().unwrap_or_default();
        for t in &m.tests {
            for e in &t.exercises {
                assert!(
                    own.contains(e),
                    "{name}: test {} names exercise {e:?}, which is not one of the lab's ({own:?})",
                    t.name
                );
            }
        }
        // Every mutant the host tests catch says which host test did.
        for mutant in &m.mutants {
            for f in &mutant.fails {
                let t = m.test(f).expect("a test of the lab");
                if matches!(t.check, lab::manifest::Check::Host { .. }) {
                    assert!(
                        mutant.host_says.is_some(),
                        "{name}: mutant {} fails host test {f} without host_says",
                        mutant.name
                    );
                }
            }
        }
    }
}

#[test]
fn grade_runs_the_host_tests_as_a_graded_test_of_their_own() {
    let m = lab::grade::manifest("kalloc").unwrap();
    let host = m
        .tests
        .iter()
        .find(|t| matches!(t.check, lab::manifest::Check::Host { .. }))
        .expect("kalloc grades its host tests");
    let run = run_script(&["--grade", "kalloc", &host.name], "");
    run.expect_status(0);
    assert!(
        run.out
            .contains(&format!("Score: {}/{}", host.points, host.points)),
        "{}",
        run.out
    );
    let log = std::fs::read_to_string(xtask::paths::at(format!(
        "{}/{}.log",
        lab::grade::results_dir("kalloc"),
        host.name
    )))
    .expect("the host run's log");
    assert!(
        log.starts_with("# cargo test --lib kalloc::freelist::"),
        "{log}"
    );
    assert!(log.contains("test result: ok."), "{log}");
}
