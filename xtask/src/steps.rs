//! `--test`: every check CI runs, one step after another. Every step runs,
//! so that one failure does not hide another; the summary names each step
//! that failed.

use std::io::Write;
use std::process::Command;

use crate::{NAME, paths};

/// The steps, each a command line (run from the project's root).
pub const STEPS: [&str; 8] = [
    "cargo fmt --all -- --check",
    // The user programs (user/, a workspace of their own).
    "cargo fmt --manifest-path user/Cargo.toml -- --check",
    "cargo uclippy -- -D warnings",
    "cargo clippy --workspace --all-targets -- -D warnings",
    "cargo kclippy -- -D warnings",
    "cargo kclippy --no-default-features -- -D warnings",
    // The labs' self-check (docs/labs.md): handouts, solutions, mutants.
    "cargo xtask --lab-check",
    "cargo test --workspace --no-fail-fast -- --test-threads=2",
];

/// Run each of `steps` with `run` (true: it passed), saying on `log` which
/// runs; then a summary. Returns the steps that failed.
pub fn run_all<'a>(
    steps: &[&'a str],
    mut run: impl FnMut(&str) -> bool,
    log: &mut impl Write,
) -> Vec<&'a str> {
    let mut failed = Vec::new();
    for &step in steps {
        let _ = writeln!(log, "{NAME} --test: {step}");
        if !run(step) {
            failed.push(step);
        }
    }
    let _ = if failed.is_empty() {
        writeln!(log, "{NAME} --test: all {} steps passed", steps.len())
    } else {
        writeln!(
            log,
            "{NAME} --test: {} of {} steps failed:",
            failed.len(),
            steps.len()
        )
        .and_then(|()| failed.iter().try_for_each(|s| writeln!(log, "  {s}")))
    };
    failed
}

/// Run `step` as a command from the project's root; a step that cannot
/// start fails.
pub fn run_command(step: &str) -> bool {
    let mut words = step.split_whitespace();
    let Some(program) = words.next() else {
        return false;
    };
    Command::new(program)
        .args(words)
        .current_dir(paths::root())
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_step_does_not_stop_the_next_and_the_summary_names_it() {
        let mut ran = Vec::new();
        let mut log = Vec::new();
        let failed = run_all(
            &["one", "two", "three"],
            |s| {
                ran.push(s.to_string());
                s != "two"
            },
            &mut log,
        );
        assert_eq!(ran, ["one", "two", "three"], "every step ran");
        assert_eq!(failed, ["two"]);
        assert_eq!(
            String::from_utf8(log).unwrap(),
            "run-qemu.sh --test: one\nrun-qemu.sh --test: two\nrun-qemu.sh --test: three\n\
             run-qemu.sh --test: 1 of 3 steps failed:\n  two\n"
        );
    }

    #[test]
    fn all_passing_says_so() {
        let mut log = Vec::new();
        assert!(run_all(&["a", "b"], |_| true, &mut log).is_empty());
        assert!(
            String::from_utf8(log)
                .unwrap()
                .ends_with("run-qemu.sh --test: all 2 steps passed\n")
        );
    }

    #[test]
    fn a_command_that_fails_or_cannot_start_fails_its_step() {
        assert!(run_command("true"));
        assert!(!run_command("false"));
        assert!(!run_command("no-such-command-xv6 --x"));
        assert!(!run_command(""));
    }

    #[test]
    fn the_steps_are_what_ci_runs() {
        assert!(STEPS.iter().all(|s| s.starts_with("cargo ")));
        assert!(
            STEPS.last().unwrap().contains("--no-fail-fast"),
            "every test binary runs"
        );
    }
}
