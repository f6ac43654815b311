//! Lab tests: the stub of a lab exercise, reached in a booted kernel, and
//! the handout a lab's export writes, built and booted.

mod common;

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
fn source_line(root: &std::path::Path, file: &str, line: u32) -> String {
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
        "the line names where the stub is: {at:?}"
    );
    assert!(!run.has("panic"), "a stub is not a panic:\n{}", run.out);
}
