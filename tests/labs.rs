//! Lab tests: the stub of a lab exercise, reached in a booted kernel, and
//! the handout a lab's export writes, built and booted.

mod common;

use std::path::Path;

use common::launch;
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

#[test]
fn lab_todo_names_the_exercise_and_ends_with_its_own_status() {
    let run = launch(&["--cmdline", "ktest=lab_todo"]);
    run.expect_status(LAB_TODO);
    let todo = todo_line(&run.out);
    assert_eq!((todo.lab, todo.exercise), ("ktest", "lab_todo"));
    assert_eq!(todo.file, "src/ktest.rs");
    let at = source_line(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
        todo.file,
        todo.line,
    );
    assert!(
        at.contains("lab_todo!(\"ktest\", \"lab_todo\")"),
        "the line names the stub's place: {at:?}"
    );
    assert!(!run.has("panic"), "a stub is not a panic:\n{}", run.out);
}

// LAB kalloc/handout BEGIN
// The teacher's check of the handout; handouts leave it out (a student's
// finished tree has no stub left to stop at).

/// Longest the handout's first run may take: it builds the runner and the
/// kernel (core included) from scratch, a few minutes on a busy 2-core
/// machine, then boots.
const HANDOUT_LIMIT: std::time::Duration = std::time::Duration::from_secs(30 * 60);

#[test]
fn the_kalloc_handout_builds_and_stops_at_its_first_exercise() {
    use common::{Run, run_script};
    let dir = std::env::temp_dir().join(format!("xv6-lab-kalloc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir); // left by an earlier failed run
    let path = dir.to_str().expect("a UTF-8 temporary directory");
    run_script(&["--lab-export", "kalloc", path], "").expect_status(0);
    let commits = std::process::Command::new("git")
        .args(["-C", path, "rev-list", "--count", "HEAD"])
        .output()
        .expect("run git");
    assert_eq!(
        String::from_utf8_lossy(&commits.stdout).trim(),
        "1",
        "one commit"
    );
    let kalloc = std::fs::read_to_string(dir.join("src/kalloc.rs")).unwrap();
    assert!(
        !kalloc.contains("LAB kalloc/"),
        "no marker remains:\n{kalloc}"
    );
    let tests = std::fs::read_to_string(dir.join("tests/labs.rs")).unwrap();
    assert!(
        !tests.contains("HANDOUT_LIMIT"),
        "the handout leaves this test out"
    );
    let again = run_script(&["--lab-export", "kalloc", path], "");
    again.expect_status(xtask::status::FAILED);
    assert!(again.err.contains("is not empty"), "{}", again.err);

    let mut boot = std::process::Command::new(dir.join("run-qemu.sh"));
    boot.args(["--cmdline", "halt"]).current_dir(&dir);
    let booted: Run = xtask::bounded::capture(&mut boot, b"", Some(HANDOUT_LIMIT), false)
        .expect("run the handout's run-qemu.sh")
        .into();
    booted.expect_status(LAB_TODO);
    // kinit1 frees the first pages through freerange, before any kalloc.
    let first = todo_line(&booted.out);
    assert_eq!(
        (first.lab, first.exercise, first.file),
        ("kalloc", "freerange", "src/kalloc.rs")
    );
    let stub = source_line(&dir, first.file, first.line);
    assert!(
        stub.contains("lab_todo!(\"kalloc\", \"freerange\")"),
        "the handout's line names where its stub is: {stub:?}"
    );
    assert!(!booted.has("main: halt"), "the boot stops at the stub");
    std::fs::remove_dir_all(&dir).unwrap();
}
// LAB kalloc/handout END
