//! What a failed `kalloctest` found first, with its values, in the words
//! of a failed check: kalloctest's `FAIL` lines and the ktest that runs it
//! say it the same way. Pure, so that it is tested on the host.

use core::fmt::{self, Arguments};

use crate::protocol::CheckFailed;

/// The first thing a failed `kalloctest` found wrong, with its values (a
/// test turns it into a check that names them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// `cpu` found `other`'s id in the page at `va`: the page was given to
    /// two CPUs at once.
    Clash { cpu: usize, other: u32, va: u32 },
    /// `cpu`'s kalloc gave None at `round`, with `before` pages free at the
    /// start.
    OutOfMemory {
        cpu: usize,
        round: u32,
        before: usize,
    },
    /// `cpu` did `done` of `rounds` rounds.
    Short { cpu: usize, done: u32, rounds: u32 },
    /// The free count was `before` at the start, `after` at the end.
    Lost { before: usize, after: usize },
    /// The audit walked `audited` free pages, the count says `nfree`.
    Audit { audited: usize, nfree: usize },
}

impl Failure {
    /// Hand `out` what was checked, what was expected and what was seen:
    /// the words of both the `FAIL` line and a ktest's failed check.
    pub fn words<R>(&self, out: impl FnOnce(Arguments, Arguments, Arguments) -> R) -> R {
        match *self {
            Failure::Clash { cpu, other, va } => out(
                format_args!(
                    "the id in page {va:#010x}, held by cpu{cpu} (a page given to two CPUs at once)"
                ),
                format_args!("cpu{cpu}'s"),
                format_args!("cpu{other}'s"),
            ),
            Failure::OutOfMemory { cpu, round, before } => out(
                format_args!("cpu{cpu}'s kalloc at round {round}, with {before} pages free before"),
                format_args!("a page"),
                format_args!("None"),
            ),
            Failure::Short { cpu, done, rounds } => out(
                format_args!("the rounds cpu{cpu} did"),
                format_args!("{rounds}"),
                format_args!("{done}"),
            ),
            Failure::Lost { before, after } => out(
                format_args!("the free pages after the test (no page lost)"),
                format_args!("{before}, as before"),
                format_args!("{after}"),
            ),
            Failure::Audit { audited, nfree } => out(
                format_args!("the free pages the audit walked"),
                format_args!("{nfree}, kalloc::nfree()"),
                format_args!("{audited}"),
            ),
        }
    }
}

/// `<what>: expected <value>, saw <value>`, as a failed check says it.
impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.words(|what, expected, seen| {
            write!(
                f,
                "{}",
                CheckFailed {
                    what,
                    expected,
                    seen
                }
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each failure reads back as a check, whose values the grader shows.
    #[test]
    fn each_failure_is_a_check_with_both_values() {
        let cases = [
            (
                Failure::Clash {
                    cpu: 1,
                    other: 0,
                    va: 0x8020_0000,
                },
                "the id in page 0x80200000, held by cpu1 (a page given to two CPUs at once)",
                "cpu1's",
                "cpu0's",
            ),
            (
                Failure::OutOfMemory {
                    cpu: 2,
                    round: 7,
                    before: 9,
                },
                "cpu2's kalloc at round 7, with 9 pages free before",
                "a page",
                "None",
            ),
            (
                Failure::Short {
                    cpu: 3,
                    done: 5,
                    rounds: 10,
                },
                "the rounds cpu3 did",
                "10",
                "5",
            ),
            (
                Failure::Lost {
                    before: 100,
                    after: 98,
                },
                "the free pages after the test (no page lost)",
                "100, as before",
                "98",
            ),
            (
                Failure::Audit {
                    audited: 4,
                    nfree: 5,
                },
                "the free pages the audit walked",
                "5, kalloc::nfree()",
                "4",
            ),
        ];
        for (failure, what, expected, seen) in cases {
            let line = format!("{failure}");
            let back = CheckFailed::parse(&line).expect("a check's shape");
            assert_eq!(
                (back.what, back.expected, back.seen),
                (what, expected, seen),
                "{line}"
            );
            failure.words(|w, e, s| {
                assert_eq!(
                    (format!("{w}"), format!("{e}"), format!("{s}")),
                    (what.into(), expected.into(), seen.into())
                );
            });
        }
    }
}
