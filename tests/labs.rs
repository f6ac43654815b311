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
    let one = run_script(&["--grade", "kalloc", "lifo"], "");
    one.expect_status(0);
    assert!(one.out.contains("lifo "), "{}", one.out);
    assert!(one.out.contains("PASS"), "{}", one.out);
    assert!(one.out.contains("Score: 10/10"), "{}", one.out);
    let report = lab::grade::read_report(&xtask::paths::at(lab::grade::results_file("kalloc")))
        .expect("the results file");
    assert_eq!(
        (report.score, report.total, report.tests.len()),
        (10, 10, 1)
    );
    let unknown = run_script(&["--grade", "kalloc", "nosuch"], "");
    unknown.expect_status(xtask::status::FAILED);
    assert!(
        unknown
            .err
            .contains("lab kalloc has no test \"nosuch\" (its tests: boot_counts, lifo,"),
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
