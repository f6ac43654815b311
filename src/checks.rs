//! How the kernel's checks fail: `check!`, `check_eq!` and `check_ne!`
//! panic with one line, [`CheckFailed`](crate::protocol::CheckFailed)'s
//! `<what>: expected <expected>, saw <seen>`, so that every failed check a
//! student meets names both values. The in-kernel tests and the labs'
//! self-checks (every `.rs` file under `protocol::TEST_SOURCES`) fail only
//! through them; a host test below keeps it so.

/// Check `seen == expected`; otherwise panic with what was checked (a
/// format string and its arguments) and both values (`{:?}`).
#[macro_export]
macro_rules! check_eq {
    ($seen:expr, $expected:expr, $($what:tt)+) => {
        match (&$seen, &$expected) {
            (seen, expected) => {
                if *seen != *expected {
                    $crate::check!(fail $($what)+; expected "{:?}", expected; seen "{:?}", seen)
                }
            }
        }
    };
}

/// Check `seen != unwanted`; otherwise panic with what was checked and
/// the value (expected: anything but it).
#[macro_export]
macro_rules! check_ne {
    ($seen:expr, $unwanted:expr, $($what:tt)+) => {
        match (&$seen, &$unwanted) {
            (seen, unwanted) => {
                if *seen == *unwanted {
                    $crate::check!(fail $($what)+;
                        expected "anything but {:?}", unwanted; seen "{:?}", seen)
                }
            }
        }
    };
}

/// Check `cond`; otherwise panic with what was checked, what was
/// expected and what was seen, each a format string and its arguments:
/// `check!(cond, "what", ...; expected "...", ...; seen "...", ...)`.
/// Without `cond` (`check!(fail "what"; expected ...; seen ...)`) it
/// fails at once, for a branch that is itself the failure.
#[macro_export]
macro_rules! check {
    (fail $($what:expr),+; expected $($expected:expr),+; seen $($seen:expr),+ $(,)?) => {
        panic!(
            "{}",
            $crate::protocol::CheckFailed {
                what: format_args!($($what),+),
                expected: format_args!($($expected),+),
                seen: format_args!($($seen),+),
            }
        )
    };
    ($cond:expr, $($what:expr),+; expected $($expected:expr),+; seen $($seen:expr),+ $(,)?) => {
        if !$cond {
            $crate::check!(fail $($what),+; expected $($expected),+; seen $($seen),+)
        }
    };
}

/// `.checked(what)` on an Option or a Result a check needs: its value, or
/// a failure saying what was expected (a value) and what was seen (None,
/// or the error). It fails at its caller's line (`track_caller`), so the
/// grader places it in the check.
pub trait Checked<T> {
    fn checked(self, what: &str) -> T;
}

impl<T> Checked<T> for Option<T> {
    #[track_caller]
    fn checked(self, what: &str) -> T {
        match self {
            Some(v) => v,
            None => check!(fail "{what}"; expected "a value"; seen "None"),
        }
    }
}

impl<T, E: core::fmt::Debug> Checked<T> for Result<T, E> {
    #[track_caller]
    fn checked(self, what: &str) -> T {
        match self {
            Ok(v) => v,
            Err(e) => check!(fail "{what}"; expected "Ok"; seen "Err({e:?})"),
        }
    }
}

/// What a failure may not be written with in a checked file: each would
/// print a message without the expected and seen values' shape.
pub const BYPASSES: &[&str] = &[
    "assert!(",
    "assert_eq!(",
    "assert_ne!(",
    "debug_assert!(",
    "debug_assert_eq!(",
    "debug_assert_ne!(",
    "panic!(",
    "unreachable!(",
    "todo!(",
    "unimplemented!(",
    ".expect(",
    ".unwrap()",
];

/// A comment that lets a line of a checked file panic otherwise: a
/// panic that is the test's point, not a check (a backtrace shown on
/// purpose).
pub const NOT_A_CHECK: &str = "not a check:";

/// The lines of `text` (a checked file) that fail some other way than
/// through the macros: `(line number, line)`. A `#[cfg(test)]` module at
/// the end (the host's own tests) is not the kernel's check.
pub fn bypasses(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .take_while(|l| l.trim() != "#[cfg(test)]")
        .enumerate()
        .filter(|(_, l)| {
            let (code, comment) = l.split_once("//").unwrap_or((l, ""));
            !comment.contains(NOT_A_CHECK) && BYPASSES.iter().any(|b| calls(code, b))
        })
        .map(|(i, l)| (i + 1, l))
}

/// Whether `code` calls `bypass` itself: a macro's name must start a word
/// (`lab_todo!(` is a stub, not `todo!(`).
fn calls(code: &str, bypass: &str) -> bool {
    code.match_indices(bypass).any(|(at, _)| {
        bypass.starts_with('.')
            || !code[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::CheckFailed;

    /// The message a panic in `f` carries.
    fn message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let e = std::panic::catch_unwind(f).expect_err("the check fails");
        e.downcast_ref::<String>().cloned().unwrap_or_default()
    }

    #[test]
    fn each_macro_fails_with_what_it_expected_and_what_it_saw() {
        let count = 2;
        let m = message(|| check_eq!(count, 1, "the count of {:#x}", 0x1000));
        assert_eq!(m, "the count of 0x1000: expected 1, saw 2");
        let m = message(|| check_ne!(count, 2, "a new count"));
        assert_eq!(m, "a new count: expected anything but 2, saw 2");
        let flags = "P | RW";
        let m = message(
            || check!(flags.ends_with("US"), "new perm"; expected "{} | US", flags; seen "{flags}"),
        );
        assert_eq!(m, "new perm: expected P | RW | US, saw P | RW");
        let m = message(|| check!(fail "page {}", 3; expected "free"; seen "mapped"));
        let parsed = CheckFailed::parse(&m).expect("the formatter's shape");
        assert_eq!(
            (parsed.what, parsed.expected, parsed.seen),
            ("page 3", "free", "mapped")
        );
        // Passing checks say nothing.
        check_eq!(count, 2, "same");
        check_ne!(count, 1, "other");
        check!(count == 2, "true"; expected "2"; seen "{count}");
        assert_eq!(Some(3).checked("a page"), 3);
        let m = message(|| {
            None::<u32>.checked("a page for the table");
        });
        assert_eq!(m, "a page for the table: expected a value, saw None");
        let m = message(|| {
            Err::<u32, _>("out of memory").checked("the insert");
        });
        assert_eq!(m, "the insert: expected Ok, saw Err(\"out of memory\")");
    }

    /// The `.rs` files under `root`'s `src/` whose path (from `root`, with
    /// `/`) starts with one of `prefixes`, sorted.
    fn sources_under(root: &std::path::Path, prefixes: &[&str]) -> Vec<String> {
        let mut found = Vec::new();
        let mut dirs = vec![root.join("src")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("a source directory") {
                let path = entry.expect("a directory entry").path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let rel = path.strip_prefix(root).expect("under the root");
                let rel = rel.to_str().expect("a UTF-8 path").replace('\\', "/");
                if rel.ends_with(".rs") && prefixes.iter().any(|p| rel.starts_with(p)) {
                    found.push(rel);
                }
            }
        }
        found.sort();
        found
    }

    #[test]
    fn no_failure_in_a_checked_file_bypasses_the_formatter() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let files = sources_under(root, &crate::protocol::TEST_SOURCES);
        for prefix in crate::protocol::TEST_SOURCES {
            assert!(
                files.iter().any(|f| f.starts_with(prefix)),
                "no .rs file under the TEST_SOURCES entry {prefix:?}: {files:?}"
            );
        }
        let mut found = Vec::new();
        for file in &files {
            let text = std::fs::read_to_string(root.join(file)).expect(file);
            found.extend(bypasses(&text).map(|(n, l)| format!("{file}:{n}: {}", l.trim())));
        }
        assert!(
            found.is_empty(),
            "these failures do not go through check!/check_eq!/check_ne! (src/checks.rs), so \
             they would not say what they expected and saw (a panic that is the test's \
             point takes a `// {NOT_A_CHECK} <why>` comment):\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn every_test_source_file_is_found() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let files = sources_under(root, &crate::protocol::TEST_SOURCES);
        for known in [
            "src/debug/ktest.rs",
            "src/debug/ktest/smp.rs",
            "src/jos/pmap/check.rs",
            "src/jos/pmap/check/page.rs",
            "src/debug/cow_demo.rs",
        ] {
            assert!(files.iter().any(|f| f == known), "{known} not in {files:?}");
        }
        assert!(
            !files.iter().any(|f| f == "src/debug/kalloctest.rs"),
            "a prefix is a path's start, not any file's: {files:?}"
        );
    }

    #[test]
    fn the_grep_finds_each_bypass_and_skips_comments_and_host_tests() {
        let text = "fn f() {\n    assert!(x, \"no values\");\n    // assert!(in a comment)\n    \
                    check_eq!(a, b, \"fine\");\n    let p = q.expect(\"why\");\n    \
                    panic!(\"shown\"); // not a check: on purpose\n}\n\
                    #[cfg(test)]\nmod tests { fn t() { assert!(true); } }\n";
        let lines: Vec<usize> = bypasses(text).map(|(n, _)| n).collect();
        assert_eq!(lines, [2, 5]);
    }

    #[test]
    fn the_grep_finds_a_macro_only_by_its_own_name() {
        let text = "crate::lab_todo!(\"ktest\", \"x\");\ndebug_assert!(x);\ntodo!();\n\
                    x.unwrap_or(0);\nlet v = checked_panic!(y);\n(todo!(\"z\"));\n";
        let lines: Vec<usize> = bypasses(text).map(|(n, _)| n).collect();
        assert_eq!(lines, [2, 3, 6]);
    }
}
