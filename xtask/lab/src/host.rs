//! A lab's host unit tests as a graded test: `cargo test --lib <filter>`
//! in the tree being graded, judged from its output. The host tests run
//! the exercises on simulated memory and catch mistakes a boot may not
//! (a stale translation the CPU happens to walk again, say), so a mistake
//! they catch is never a full score. Pure judging, so that each verdict
//! is unit-tested on canned output.

use std::time::Duration;

use super::manifest::host_command;
use super::verdict::{QUIET, Verdict};
use xtask::protocol::LabTodo;
use xtask::{Error, Result, bounded, paths};

/// How a run of the host tests ended.
#[derive(Clone, Debug)]
pub struct HostRun {
    /// cargo's exit status; None if it was stopped at the limit.
    pub status: Option<i32>,
    /// cargo's standard output and error, interleaved.
    pub out: String,
    pub quiet: Duration,
    pub limit: Duration,
}

/// Run the host tests named by `filter` in this tree for at most `limit`
/// (their first build included); the run and its log's text.
pub fn run(filter: &str, limit: Duration) -> Result<(HostRun, String)> {
    let mut cmd = std::process::Command::new("cargo");
    cmd.args(["test", "--lib", filter])
        .env("RUST_BACKTRACE", "0")
        .current_dir(paths::root());
    let c = bounded::capture(&mut cmd, b"", Some(limit), true)
        .map_err(|e| Error::new(format!("cannot run cargo: {e}")))?;
    let mut log = format!("# {}\n", host_command(filter));
    log.push_str(&match c.status {
        Some(s) => format!("# exit status {s}\n"),
        None => format!("# stopped at the limit of {} s\n", limit.as_secs()),
    });
    log.push_str(&c.out);
    let run = HostRun {
        status: c.status,
        out: c.out,
        quiet: c.quiet,
        limit,
    };
    Ok((run, log))
}

/// One host test that did not pass: its name and what it said (its panic
/// message, or libtest's note).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub name: String,
    pub message: String,
    /// Where it panicked (`file:line`), if it did.
    pub at: Option<String>,
}

impl Failure {
    /// Its line (and more) in a reason: the name, the message, the place.
    fn said(&self) -> String {
        let mut s = format!("{}: {}", self.name, self.message.replace('\n', "\n  "));
        if let Some(at) = &self.at {
            s.push_str(&format!(" (at {at})"));
        }
        s
    }
}

/// How many failures a reason quotes; the rest are counted.
const QUOTED: usize = 4;

/// The failed tests of a libtest output, from its `---- <name> stdout
/// ----` sections: each one's panic message (the lines after `thread
/// '...' panicked at <place>:`), or the section's text. Sorted by name:
/// libtest lists them in the order its threads finished them, and the
/// same tree must get the same verdict on every run.
pub fn failures(out: &str) -> Vec<Failure> {
    let mut found = Vec::new();
    let mut lines = out.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .strip_prefix("---- ")
            .and_then(|l| l.strip_suffix(" stdout ----"))
        else {
            continue;
        };
        let mut section = Vec::new();
        while let Some(l) = lines.next_if(|l| !l.starts_with("---- ") && *l != "failures:") {
            section.push(l);
        }
        let panicked = section
            .iter()
            .position(|l| l.starts_with("thread '") && l.contains(" panicked at "));
        let place = panicked.and_then(|i| {
            let at = section[i].split(" panicked at ").nth(1)?;
            // file:line:column: -> file:line
            let at = at.trim_end_matches(':');
            Some(at.rsplit_once(':').map_or(at, |(fl, _col)| fl).to_string())
        });
        let body = match panicked {
            Some(i) => &section[i + 1..],
            None => &section[..],
        };
        let mut message: Vec<&str> = body
            .iter()
            .copied()
            .take_while(|l| *l != "stack backtrace:")
            .filter(|l| !l.starts_with("note: run with `RUST_BACKTRACE"))
            .collect();
        while message.last().is_some_and(|l| l.trim().is_empty()) {
            message.pop();
        }
        while message.first().is_some_and(|l| l.trim().is_empty()) {
            message.remove(0);
        }
        found.push(Failure {
            name: name.to_string(),
            message: message.join("\n"),
            at: place,
        });
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

/// libtest's summary lines: the passed and failed counts of every `test
/// result:` line (a run of several test binaries prints one each).
fn counts(out: &str) -> Option<(usize, usize)> {
    let mut seen = false;
    let (mut passed, mut failed) = (0, 0);
    for l in out.lines() {
        let Some(rest) = l.strip_prefix("test result: ") else {
            continue;
        };
        seen = true;
        let number = |word: &str| {
            rest.split(';')
                .map(str::trim)
                .find_map(|part| {
                    part.strip_suffix(word)?
                        .split_whitespace()
                        .last()?
                        .parse()
                        .ok()
                })
                .unwrap_or(0)
        };
        passed += number(" passed");
        failed += number(" failed");
    }
    seen.then_some((passed, failed))
}

/// The verdict on a run of the host tests named by `filter`: PASS if they
/// all passed and there was at least one; NOT IMPLEMENTED if one reached a
/// stub (its exercise and place); FAIL with each failed test's name and
/// message otherwise, or with the build's first errors if they do not
/// build; TIMEOUT at the limit.
pub fn judge(filter: &str, run: &HostRun) -> Verdict {
    let Some(status) = run.status else {
        let quiet_limit = QUIET.min(run.limit / 2);
        return Verdict::Timeout {
            limit_s: run.limit.as_secs(),
            quiet_s: run.quiet.as_secs(),
            printing: run.quiet < quiet_limit,
        };
    };
    let command = host_command(filter);
    let Some((passed, failed)) = counts(&run.out) else {
        let errors: Vec<&str> = run
            .out
            .lines()
            .filter(|l| l.starts_with("error") || l.trim_start().starts_with("--> "))
            .take(6)
            .collect();
        return Verdict::Fail {
            reason: format!(
                "the host tests do not build (`{command}` ended with status {status}):\n{}",
                match errors.is_empty() {
                    true => "(no error line; see the log)".to_string(),
                    false => errors.join("\n"),
                }
            ),
        };
    };
    let failures = failures(&run.out);
    let todo = failures.iter().find_map(|f| {
        f.message
            .lines()
            .find_map(LabTodo::parse)
            .map(|t| (t.exercise.to_string(), format!("{}:{}", t.file, t.line)))
    });
    if let Some((exercise, at)) = todo {
        return Verdict::NotImplemented { exercise, at };
    }
    match (status, passed, failed) {
        (0, 0, _) => Verdict::Fail {
            reason: format!(
                "no host test's name contains {filter:?} (`{command}` ran none): the lab's \
                 manifest names tests this tree does not have"
            ),
        },
        (0, _, 0) => Verdict::Pass,
        _ => {
            let total = passed + failed;
            let mut r = format!("{failed} of {total} host tests failed (`{command}`):");
            for f in failures.iter().take(QUOTED) {
                r.push('\n');
                r.push_str(&f.said());
            }
            if failures.len() > QUOTED {
                let rest: Vec<&str> = failures[QUOTED..].iter().map(|f| f.name.as_str()).collect();
                r.push_str(&format!("\nand {} more: {}", rest.len(), rest.join(", ")));
            }
            if failures.is_empty() {
                r.push_str(&format!(" cargo ended with status {status}; see the log"));
            }
            Verdict::Fail { reason: r }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Duration = Duration::from_secs(600);

    fn ended(status: i32, out: &str) -> HostRun {
        HostRun {
            status: Some(status),
            out: out.into(),
            quiet: Duration::ZERO,
            limit: LIMIT,
        }
    }

    const PASSED: &str = "   Compiling xv6 v0.1.0\n    Finished `test` profile\n     Running \
        unittests src/lib.rs\n\nrunning 2 tests\ntest kalloc::freelist::tests::a ... ok\n\
        test kalloc::freelist::tests::b ... ok\n\ntest result: ok. 2 passed; 0 failed; 0 \
        ignored; 0 measured; 187 filtered out; finished in 0.01s\n\n";

    const FAILED: &str = "running 3 tests\ntest k::tests::a ... ok\ntest k::tests::b ... FAILED\n\
        test k::tests::c ... FAILED\n\nfailures:\n\n---- k::tests::b stdout ----\n\n\
        thread 'k::tests::b' panicked at src/kalloc/freelist/tests.rs:40:9:\n\
        assertion `left == right` failed: the count after a push\n  left: 3\n right: 4\n\
        stack backtrace:\n   0: __rustc::rust_begin_unwind\n             at /rustc/library/std/src/panicking.rs:689:5\n\
        note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.\n\n\
        ---- k::tests::c stdout ----\nnote: test did not panic as expected at src/vm/tests.rs:9:4\n\n\
        failures:\n    k::tests::b\n    k::tests::c\n\ntest result: FAILED. 1 passed; 2 failed; \
        0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n\n\
        error: test failed, to rerun pass `--lib`\n";

    #[test]
    fn all_passing_is_a_pass_and_none_at_all_is_a_fail() {
        assert_eq!(
            judge("kalloc::freelist::", &ended(0, PASSED)),
            Verdict::Pass
        );
        let none = "running 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored; 0 \
                    measured; 189 filtered out; finished in 0.00s\n";
        let v = judge("nosuch::", &ended(0, none));
        assert!(
            v.reason()
                .starts_with("no host test's name contains \"nosuch::\""),
            "{v:?}"
        );
    }

    #[test]
    fn a_failure_names_each_failed_test_with_its_message_and_place() {
        assert_eq!(
            failures(FAILED),
            [
                Failure {
                    name: "k::tests::b".into(),
                    message: "assertion `left == right` failed: the count after a push\n  \
                              left: 3\n right: 4"
                        .into(),
                    at: Some("src/kalloc/freelist/tests.rs:40".into()),
                },
                Failure {
                    name: "k::tests::c".into(),
                    message: "note: test did not panic as expected at src/vm/tests.rs:9:4".into(),
                    at: None,
                },
            ]
        );
        let v = judge("k::", &ended(101, FAILED));
        assert_eq!(
            v.reason(),
            "2 of 3 host tests failed (`cargo test --lib k::`):\n\
             k::tests::b: assertion `left == right` failed: the count after a push\n    \
             left: 3\n   right: 4 (at src/kalloc/freelist/tests.rs:40)\n\
             k::tests::c: note: test did not panic as expected at src/vm/tests.rs:9:4"
        );
    }

    #[test]
    fn the_verdict_does_not_depend_on_the_order_libtest_finished_the_tests() {
        let b = FAILED.find("---- k::tests::b").unwrap();
        let c = FAILED.find("---- k::tests::c").unwrap();
        let end = FAILED[c..].find("\n\nfailures:").unwrap() + c + 2;
        let swapped = format!(
            "{}{}\n{}{}",
            &FAILED[..b],
            &FAILED[c..end - 1],
            &FAILED[b..c],
            &FAILED[end..]
        );
        assert_ne!(swapped, FAILED);
        assert_eq!(failures(&swapped), failures(FAILED));
        assert_eq!(
            judge("k::", &ended(101, &swapped)),
            judge("k::", &ended(101, FAILED))
        );
    }

    #[test]
    fn a_stub_reached_is_not_implemented_with_its_exercise() {
        let out = "running 1 test\ntest k::tests::a ... FAILED\n\nfailures:\n\n\
                   ---- k::tests::a stdout ----\n\nthread 'k::tests::a' (1283) panicked at src/lab.rs:34:5:\n\
                   lab kalloc: exercise kfree is not implemented yet (src/kalloc/freelist.rs:148)\n\n\
                   failures:\n    k::tests::a\n\ntest result: FAILED. 0 passed; 1 failed; 0 \
                   ignored; 0 measured; 0 filtered out\n";
        assert_eq!(
            judge("k::", &ended(101, out)),
            Verdict::NotImplemented {
                exercise: "kfree".into(),
                at: "src/kalloc/freelist.rs:148".into()
            }
        );
    }

    #[test]
    fn tests_that_do_not_build_are_a_fail_with_the_first_errors() {
        let out = "   Compiling xv6 v0.1.0\nerror[E0425]: cannot find value `x` in this scope\n  \
                   --> src/kalloc/freelist.rs:150:9\n    |\nerror: could not compile `xv6`\n";
        let v = judge("k::", &ended(101, out));
        assert_eq!(
            v.reason(),
            "the host tests do not build (`cargo test --lib k::` ended with status 101):\n\
             error[E0425]: cannot find value `x` in this scope\n  \
             --> src/kalloc/freelist.rs:150:9\nerror: could not compile `xv6`"
        );
    }

    #[test]
    fn the_limit_is_a_timeout() {
        let run = HostRun {
            status: None,
            out: "running 2 tests\n".into(),
            quiet: Duration::from_secs(30),
            limit: LIMIT,
        };
        assert!(matches!(
            judge("k::", &run),
            Verdict::Timeout {
                printing: false,
                ..
            }
        ));
    }
}
