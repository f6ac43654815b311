//! What a graded test's run means: the verdict, read from what the kernel
//! printed and how its run ended, never from how long it took. Pure, so
//! that every verdict is unit-tested on canned output.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use xtask::protocol::{
    BACKTRACE, BOOTING, BootStage, JUNK_FILLS, Ktest, LabTodo, PANIC, PANIC_AT, POWEROFF,
    TEST_SOURCES,
};

use xtask::status;

/// How a graded test went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict")]
pub enum Verdict {
    #[serde(rename = "PASS")]
    Pass,
    /// The test ran and found the kernel wrong.
    #[serde(rename = "FAIL")]
    Fail { reason: String },
    /// The kernel reached a stub (`lab_todo!`) before the test could end.
    #[serde(rename = "NOT IMPLEMENTED")]
    NotImplemented { exercise: String, at: String },
    /// The kernel panicked outside the test's own checks.
    #[serde(rename = "PANIC")]
    Panic {
        message: String,
        at: String,
        backtrace: Vec<String>,
    },
    /// The kernel panicked before the test's start line (`ktest: <name>
    /// ...`): the boot failed, and the test never ran. Never a pass, even
    /// for a test that expects a panic with the same text.
    #[serde(rename = "BOOT FAILED")]
    BootFailed {
        ktest: String,
        message: String,
        at: String,
        backtrace: Vec<String>,
    },
    /// The machine reset (a triple fault) instead of ending: the last line
    /// it printed, the last boot stage it reached (protocol::BOOT_STAGES;
    /// empty if it passed no mark) and that stage's hint (may be empty;
    /// `stage_hint` in the results file, whose `hint` is the test's own).
    #[serde(rename = "CRASH")]
    Crash {
        last_line: String,
        stage: String,
        #[serde(rename = "stage_hint")]
        hint: String,
    },
    /// Still running at the limit: quiet (a hang) or still printing.
    #[serde(rename = "TIMEOUT")]
    Timeout {
        limit_s: u64,
        quiet_s: u64,
        printing: bool,
    },
}

impl Verdict {
    /// The word the grader prints (and the JSON's `verdict`).
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail { .. } => "FAIL",
            Verdict::NotImplemented { .. } => "NOT IMPLEMENTED",
            Verdict::Panic { .. } => "PANIC",
            Verdict::BootFailed { .. } => "BOOT FAILED",
            Verdict::Crash { .. } => "CRASH",
            Verdict::Timeout { .. } => "TIMEOUT",
        }
    }

    /// Why, in words for the student (empty for a pass; several lines for
    /// a panic's backtrace), with a hint line for an address made of a
    /// junk byte.
    pub fn reason(&self) -> String {
        let mut r = self.bare_reason();
        if let Some(hint) = junk_hint(&r) {
            // Right after the message, before a backtrace.
            let at = r.find(BACKTRACE_LINES).unwrap_or(r.len());
            r.insert_str(at, &format!("\n{hint}"));
        }
        r
    }

    fn bare_reason(&self) -> String {
        match self {
            Verdict::Pass => String::new(),
            Verdict::Fail { reason } => reason.clone(),
            Verdict::NotImplemented { exercise, at } => {
                format!("exercise {exercise} is not implemented yet ({at})")
            }
            Verdict::Panic {
                message,
                at,
                backtrace,
            } => format!("the kernel panicked: {message} (at {at})") + &frames(backtrace),
            Verdict::BootFailed {
                ktest,
                message,
                at,
                backtrace,
            } => {
                format!("the boot failed before ktest {ktest} started: {message} (at {at})")
                    + &frames(backtrace)
            }
            Verdict::Crash {
                last_line,
                stage,
                hint,
            } => {
                let mut r = format!(
                    "the machine reset (a triple fault: a fault the kernel could not handle, \
                     e.g. a bad page table or IDT); the last line it printed: {last_line:?}"
                );
                if !stage.is_empty() {
                    r.push_str(&format!("; the last boot stage it reached: {stage}"));
                }
                if !hint.is_empty() {
                    r.push_str(&format!("; {hint}"));
                }
                r
            }
            Verdict::Timeout {
                limit_s,
                quiet_s,
                printing: false,
            } => format!(
                "no output for {quiet_s} s, stopped at the limit of {limit_s} s: the kernel \
                 hangs (a loop that never ends? a lock never released?)"
            ),
            Verdict::Timeout {
                limit_s,
                printing: true,
                ..
            } => format!(
                "still printing at the limit of {limit_s} s: the test never ends (a loop \
                 that never ends?); raise the limit with GRADE_TIME_FACTOR if the machine \
                 is very slow"
            ),
        }
    }
}

/// A fault's address (`cr2 0x...`) or a pointer in a message, as
/// `0x`-hex words.
fn hex_words(text: &str) -> impl Iterator<Item = u32> + '_ {
    text.split("0x").skip(1).filter_map(|rest| {
        let n = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
        u32::from_str_radix(&rest[..n], 16).ok()
    })
}

/// The hint for the first address in `text` made of a junk fill's byte
/// (every byte but the lowest, so that a field's offset from a junk
/// pointer counts too): which junk it is and what it usually means.
pub fn junk_hint(text: &str) -> Option<String> {
    const OFFSET_BITS: u32 = u8::BITS;
    hex_words(text).find_map(|word| {
        JUNK_FILLS.iter().find_map(|j| {
            let junk = u32::from_ne_bytes([j.byte; 4]);
            (word >> OFFSET_BITS == junk >> OFFSET_BITS).then(|| {
                format!(
                    "hint: {word:#010x} is made of {}, {:#04x} in every byte: {}",
                    j.name, j.byte, j.meaning
                )
            })
        })
    })
}

/// Where a reason's backtrace starts.
const BACKTRACE_LINES: &str = "\nbacktrace:";

/// A backtrace's lines for a reason: none, or `backtrace:` and a line a
/// frame.
fn frames(backtrace: &[String]) -> String {
    let mut r = String::new();
    if !backtrace.is_empty() {
        r.push_str(BACKTRACE_LINES);
        for frame in backtrace {
            r.push_str("\n  ");
            r.push_str(frame);
        }
    }
    r
}

/// How one boot of a graded test ended.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The exit status; None if it was stopped at the limit.
    pub status: Option<i32>,
    /// The serial output.
    pub out: String,
    /// How long it had printed nothing when it ended or was stopped.
    pub quiet: Duration,
    pub limit: Duration,
    /// The boot path's progress marks, as written to the progress port.
    pub marks: Vec<u8>,
}

/// A run stopped at its limit counts as quiet (hung) when it had printed
/// nothing for this long, or for half its limit if that is shorter.
pub const QUIET: Duration = Duration::from_secs(10);

/// The panic report in `lines`: its message, where, and the backtrace.
struct PanicReport {
    message: String,
    at: String,
    backtrace: Vec<String>,
}

fn panic_report(lines: &[&str]) -> Option<PanicReport> {
    let start = lines
        .iter()
        .position(|l| l.starts_with(PANIC) && !l.starts_with(PANIC_AT))?;
    let mut message = vec![&lines[start][PANIC.len()..]];
    let mut at = String::new();
    let mut backtrace = Vec::new();
    let mut rest = lines[start + 1..].iter();
    for l in rest.by_ref() {
        if let Some(a) = l.strip_prefix(PANIC_AT) {
            at = a.split(" on cpu").next().unwrap_or(a).to_string();
        } else if l.starts_with(BACKTRACE) {
            break;
        } else if at.is_empty() {
            message.push(l);
        }
    }
    backtrace.extend(
        rest.take_while(|l| l.starts_with("  "))
            .map(|l| l.trim().to_string()),
    );
    Some(PanicReport {
        message: message.join("\n").trim_end().to_string(),
        at,
        backtrace,
    })
}

/// `line` without terminal escape sequences (GRUB clears the screen) and
/// control characters, trimmed: what a terminal shows of it.
pub fn printable(line: &str) -> String {
    without_escapes(line).trim().to_string()
}

/// `line` without terminal escape sequences and control characters (a
/// CR included), its indentation kept.
pub fn without_escapes(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            // ESC [ parameters, then a letter ends the sequence.
            '\x1b' => {
                for e in chars.by_ref() {
                    if e.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The verdict on a run of in-kernel test `ktest` that must end with
/// `ktest: <ktest> ok`, or, with `panic`, in a panic whose message
/// contains it. Only what the kernel printed after the test's start line
/// (`ktest: <ktest> ...`) counts for the test: a panic before it is the
/// boot's failure.
pub fn judge(ktest: &str, panic: Option<&str>, o: &Outcome) -> Verdict {
    let lines: Vec<&str> = o.out.lines().map(|l| l.trim_end_matches('\r')).collect();
    // A second boot is a reset (-no-reboot ends QEMU instead, but Bochs
    // and a reset that another run let through boot again).
    let mut boots = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains(BOOTING));
    let first_run = match boots.nth(1) {
        Some((second, _)) => &lines[..second],
        None => &lines[..],
    };
    let crashed = first_run.len() < lines.len();
    let last_line = || {
        first_run
            .iter()
            .rev()
            .map(|l| printable(l))
            .find(|l| !l.is_empty())
            .unwrap_or_default()
    };
    let crash = || {
        let stage = o.marks.last().and_then(|&m| BootStage::of(m));
        Verdict::Crash {
            last_line: last_line(),
            stage: stage.map_or(String::new(), |s| s.name.to_string()),
            hint: stage.map_or(String::new(), |s| s.hint.to_string()),
        }
    };
    let todo = first_run.iter().map(|l| printable(l)).find_map(|l| {
        LabTodo::parse(&l).map(|t| (t.exercise.to_string(), format!("{}:{}", t.file, t.line)))
    });
    if let Some((exercise, at)) = todo {
        return Verdict::NotImplemented { exercise, at };
    }
    if crashed {
        return crash();
    }
    let Some(status) = o.status else {
        let quiet_limit = QUIET.min(o.limit / 2);
        return Verdict::Timeout {
            limit_s: o.limit.as_secs(),
            quiet_s: o.quiet.as_secs(),
            printing: o.quiet < quiet_limit,
        };
    };
    let passed = Ktest::Passed(ktest).to_string();
    let started = Ktest::Started(ktest).to_string();
    // The test's own run: from its start line on (empty if it never
    // started).
    let own_run = first_run
        .iter()
        .position(|l| printable(l) == started)
        .map_or(&first_run[first_run.len()..], |s| &first_run[s..]);
    match status {
        status::PANIC if own_run.is_empty() => match panic_report(first_run) {
            Some(p) => Verdict::BootFailed {
                ktest: ktest.to_string(),
                message: p.message,
                at: p.at,
                backtrace: p.backtrace,
            },
            None => Verdict::Fail {
                reason: format!(
                    "the boot failed before ktest {ktest} started: the run ended with the \
                     panic status ({status}) but no panic report; the last line: {:?}",
                    last_line()
                ),
            },
        },
        status::PANIC => {
            let Some(p) = panic_report(own_run) else {
                return Verdict::Fail {
                    reason: format!(
                        "the run ended with the panic status ({status}) but no panic report; \
                         the last line: {:?}",
                        last_line()
                    ),
                };
            };
            match panic {
                Some(want) if p.message.contains(want) => Verdict::Pass,
                Some(want) => Verdict::Fail {
                    reason: format!(
                        "the kernel must panic with {want:?}, but it panicked with: {} (at {})",
                        p.message, p.at
                    ),
                },
                None if TEST_SOURCES.iter().any(|s| p.at.starts_with(s)) => {
                    Verdict::Fail { reason: p.message }
                }
                None => Verdict::Panic {
                    message: p.message,
                    at: p.at,
                    backtrace: p.backtrace,
                },
            }
        }
        status::POWEROFF if own_run.contains(&passed.as_str()) => match panic {
            Some(want) => Verdict::Fail {
                reason: format!("the test ran to its end; the kernel must panic with {want:?}"),
            },
            None => Verdict::Pass,
        },
        // With -no-reboot a reset ends QEMU as a power-off does, but
        // without the kernel's last word.
        status::POWEROFF if !first_run.contains(&POWEROFF) => crash(),
        _ => Verdict::Fail {
            reason: format!(
                "the run ended with status {status} without {passed:?}; the last line: {:?}",
                last_line()
            ),
        },
    }
}

/// What stands for a missing answer in an answers file.
pub const NO_ANSWER: &str = "(your answer)";

/// The questions of an answers file that have no answer, by number:
/// a question is a paragraph that starts with `Q<n>.`, its answer the
/// lines after that paragraph up to the next question. None if the file
/// has no question at all.
pub fn unanswered(text: &str) -> Option<Vec<String>> {
    let is_question = |l: &str| {
        let digits = l.strip_prefix('Q').unwrap_or("");
        let n = digits.bytes().take_while(u8::is_ascii_digit).count();
        (n > 0 && digits[n..].starts_with('.')).then(|| format!("Q{}", &digits[..n]))
    };
    let mut found = Vec::new();
    let mut missing = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(q) = is_question(line) else {
            continue;
        };
        // The rest of the question's paragraph.
        while lines.next_if(|l| !l.trim().is_empty()).is_some() {}
        let mut answer = String::new();
        while let Some(l) = lines.next_if(|l| is_question(l).is_none()) {
            if l.trim() != NO_ANSWER {
                answer.push_str(l.trim());
            }
        }
        if answer.is_empty() {
            missing.push(q.clone());
        }
        found.push(q);
    }
    (!found.is_empty()).then_some(missing)
}

/// The verdict on the answers file `file`, whose text is `text` (None: it
/// is missing).
pub fn judge_answers(file: &str, text: Option<&str>) -> Verdict {
    let Some(text) = text else {
        return Verdict::Fail {
            reason: format!("{file} is missing: it holds the lab's questions"),
        };
    };
    match unanswered(text) {
        None => Verdict::Fail {
            reason: format!("{file} has no questions (paragraphs starting Q1., Q2., ...)"),
        },
        Some(m) if m.is_empty() => Verdict::Pass,
        Some(m) => Verdict::NotImplemented {
            exercise: "questions".into(),
            at: format!(
                "{file}: {} without an answer; write it in place of {NO_ANSWER:?}",
                m.join(", ")
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xtask::protocol::{MARK_MAIN, MARK_PAGING_ON};

    const LIMIT: Duration = Duration::from_secs(60);

    fn ended(status: i32, out: &str) -> Outcome {
        Outcome {
            status: Some(status),
            out: format!("{BOOTING}\nkalloc: 100 pages free (global mode)\n{out}"),
            quiet: Duration::ZERO,
            limit: LIMIT,
            marks: vec![MARK_MAIN],
        }
    }

    fn passed(name: &str) -> String {
        format!(
            "{}\n{}\nktest: 1 passed, 0 failed\n{POWEROFF}\n",
            Ktest::Started(name),
            Ktest::Passed(name)
        )
    }

    #[test]
    fn a_test_that_reports_ok_and_powers_off_passes() {
        let o = ended(status::POWEROFF, &passed("lifo"));
        assert_eq!(judge("lifo", None, &o), Verdict::Pass);
        assert!(matches!(judge("other", None, &o), Verdict::Fail { .. }));
    }

    #[test]
    fn a_stub_line_after_grubs_escapes_is_found() {
        // The assembly stub prints before anything else of the kernel's,
        // right after GRUB's last bytes.
        let o = Outcome {
            status: Some(status::LAB_TODO),
            out: "\x1b[H\x1b[J  Booting `xv6'\r\n\r\n\x1b[0mlab boot: exercise entrypgdir is not \
                  implemented yet (boot/entry.S:86)\r\n"
                .into(),
            quiet: Duration::ZERO,
            limit: LIMIT,
            marks: b"SC".to_vec(),
        };
        assert_eq!(
            judge("x", None, &o),
            Verdict::NotImplemented {
                exercise: "entrypgdir".into(),
                at: "boot/entry.S:86".into()
            }
        );
    }

    #[test]
    fn a_stub_reached_is_not_implemented_with_its_exercise_and_place() {
        let o = ended(
            status::LAB_TODO,
            "lab kalloc: exercise freerange is not implemented yet (src/kalloc/freelist.rs:412)\n",
        );
        let v = judge("lifo", None, &o);
        assert_eq!(
            v,
            Verdict::NotImplemented {
                exercise: "freerange".into(),
                at: "src/kalloc/freelist.rs:412".into()
            }
        );
        assert_eq!(v.word(), "NOT IMPLEMENTED");
        assert!(
            v.reason()
                .contains("exercise freerange is not implemented yet")
        );
    }

    const PANIC_IN_TEST: &str = "ktest: junk_fill ...\r\n\
        panic: kalloc did not fill the page with the junk byte 0x05: byte 0 of 0x8efff000 is 0x01\r\n\
        panic: at src/debug/ktest.rs:502 on cpu 0 (APIC id 0)\r\n\
        backtrace:\r\n  #0 0x80101234 in xv6::debug::ktest::junk_fill+0x10\r\n  #1 0x80105678 in main+0x3b9\r\n";

    #[test]
    fn a_panic_in_the_test_is_a_fail_with_its_message() {
        let v = judge("junk_fill", None, &ended(status::PANIC, PANIC_IN_TEST));
        assert_eq!(
            v,
            Verdict::Fail {
                reason: "kalloc did not fill the page with the junk byte 0x05: byte 0 of \
                         0x8efff000 is 0x01"
                    .into()
            }
        );
    }

    #[test]
    fn a_panic_elsewhere_is_a_panic_with_the_named_backtrace() {
        let out = "ktest: lifo ...\npanic: assertion `left == right` failed\n  left: 1\n right: 2\n\
                   panic: at src/kalloc.rs:77 on cpu 0 (APIC id 0)\nbacktrace:\n\
                   \x20 #0 0x80101234 in xv6::kalloc::kalloc+0x10\n  #1 0x80105678 in main+0x3b9\n";
        let v = judge("lifo", None, &ended(status::PANIC, out));
        assert_eq!(
            v,
            Verdict::Panic {
                message: "assertion `left == right` failed\n  left: 1\n right: 2".into(),
                at: "src/kalloc.rs:77".into(),
                backtrace: vec![
                    "#0 0x80101234 in xv6::kalloc::kalloc+0x10".into(),
                    "#1 0x80105678 in main+0x3b9".into()
                ],
            }
        );
        let r = v.reason();
        assert!(r.starts_with("the kernel panicked: assertion"), "{r}");
        assert!(r.ends_with("\n  #1 0x80105678 in main+0x3b9"), "{r}");
    }

    #[test]
    fn a_test_that_must_panic_passes_only_with_its_message() {
        let out = "ktest: k ...\npanic: kfree: 0x80402004 is not page-aligned\n\
                   panic: at src/kalloc.rs:480 on cpu 0 (APIC id 0)\nbacktrace:\n";
        let run = ended(status::PANIC, out);
        assert_eq!(judge("k", Some("is not page-aligned"), &run), Verdict::Pass);
        let v = judge("k", Some("is at or above P2V(PHYSTOP)"), &run);
        assert_eq!(
            v.reason(),
            "the kernel must panic with \"is at or above P2V(PHYSTOP)\", but it panicked \
             with: kfree: 0x80402004 is not page-aligned (at src/kalloc.rs:480)"
        );
        let accepted = "ktest: k ...\npanic: internal error: entered unreachable code: kfree accepted 0x8f000000\n\
                        panic: at src/debug/ktest.rs:330 on cpu 0 (APIC id 0)\n";
        let v = judge("k", Some("P2V(PHYSTOP)"), &ended(status::PANIC, accepted));
        assert!(matches!(v, Verdict::Fail { .. }));
        assert!(v.reason().contains("kfree accepted 0x8f000000"), "{v:?}");
        let v = judge("k", Some("x"), &ended(status::POWEROFF, &passed("k")));
        assert_eq!(
            v.reason(),
            "the test ran to its end; the kernel must panic with \"x\""
        );
    }

    /// kinit1's panic when freerange does not round its start up: before
    /// any test starts.
    const BOOT_PANIC: &str = "panic: kfree: 0x80176be0 is not page-aligned\n\
        panic: at src/kalloc.rs:171 on cpu 0 (APIC id 0)\nbacktrace:\n\
        \x20 #0 0x8011fe01 in xv6::kalloc::kinit1+0x1f1\n";

    #[test]
    fn a_panic_before_the_test_starts_is_the_boots_failure_never_a_pass() {
        let run = ended(status::PANIC, BOOT_PANIC);
        let boot_failed = Verdict::BootFailed {
            ktest: "kfree_misaligned".into(),
            message: "kfree: 0x80176be0 is not page-aligned".into(),
            at: "src/kalloc.rs:171".into(),
            backtrace: vec!["#0 0x8011fe01 in xv6::kalloc::kinit1+0x1f1".into()],
        };
        // Its text is what the test expects, yet the test never ran.
        let v = judge("kfree_misaligned", Some("is not page-aligned"), &run);
        assert_eq!(v, boot_failed);
        assert_eq!(v.word(), "BOOT FAILED");
        assert_eq!(
            v.reason(),
            "the boot failed before ktest kfree_misaligned started: kfree: 0x80176be0 is \
             not page-aligned (at src/kalloc.rs:171)\nbacktrace:\n  \
             #0 0x8011fe01 in xv6::kalloc::kinit1+0x1f1"
        );
        assert_eq!(judge("kfree_misaligned", None, &run), boot_failed);
        // Another test's start line is not this test's.
        let other = ended(status::PANIC, &format!("ktest: lifo ...\n{BOOT_PANIC}"));
        assert!(matches!(
            judge("kfree_misaligned", Some("is not page-aligned"), &other),
            Verdict::BootFailed { .. }
        ));
        // A panic status without a report, before the start line.
        let v = judge("k", Some("x"), &ended(status::PANIC, "kinit1\n"));
        assert!(
            v.reason()
                .starts_with("the boot failed before ktest k started: the run ended with"),
            "{v:?}"
        );
    }

    #[test]
    fn a_panic_after_the_start_line_is_the_tests() {
        let run = ended(
            status::PANIC,
            &format!("{}\n{BOOT_PANIC}", Ktest::Started("kfree_misaligned")),
        );
        assert_eq!(
            judge("kfree_misaligned", Some("is not page-aligned"), &run),
            Verdict::Pass
        );
        // The panic report counted is the one after the start line.
        let both = ended(
            status::PANIC,
            &format!("panic: early\nktest: k ...\n{BOOT_PANIC}"),
        );
        assert_eq!(judge("k", Some("page-aligned"), &both), Verdict::Pass);
        assert!(matches!(
            judge("k", Some("early"), &both),
            Verdict::Fail { .. }
        ));
        // An ok line counts only after the test's start line.
        let ok_first = ended(
            status::POWEROFF,
            &format!("{}\nktest: k ...\n{POWEROFF}\n", Ktest::Passed("k")),
        );
        assert!(matches!(judge("k", None, &ok_first), Verdict::Fail { .. }));
    }

    #[test]
    fn an_address_made_of_junk_gets_a_hint_naming_the_junk() {
        let free =
            junk_hint("trap 14 (page fault): err 0x0, eip 0x80101234, cr2 0x01010101: x").unwrap();
        assert!(free.starts_with("hint: 0x01010101 is made of kfree's junk (JUNK_FREE), 0x01"));
        assert!(free.contains("kfree must fill the page before it writes the link"));
        // A field at an offset from a junk pointer; {:#x} drops the zero.
        let alloc = junk_hint("cr2 0x05050509").unwrap();
        assert!(
            alloc.contains("kalloc's junk (JUNK_ALLOC), 0x05"),
            "{alloc}"
        );
        assert!(alloc.contains("used before being initialised"), "{alloc}");
        assert!(junk_hint("read 0x1010101").unwrap().contains("JUNK_FREE"));
        for plain in [
            "cr2 0x80101010",
            "cr2 0x00000101",
            "0x",
            "0x0101",
            "no address",
        ] {
            assert_eq!(junk_hint(plain), None, "{plain}");
        }
        // In a verdict: a line of its own after the reason.
        let v = Verdict::Fail {
            reason: "the kernel must panic with \"double free\", but it panicked with: \
                     trap 14 (page fault): cr2 0x01010101 (at src/trap.rs:158)"
                .into(),
        };
        let r = v.reason();
        assert!(
            r.contains("(at src/trap.rs:158)\nhint: 0x01010101 is made of kfree's"),
            "{r}"
        );
        assert_eq!(Verdict::Fail { reason: "r".into() }.reason(), "r");
        // Before a backtrace.
        let v = Verdict::BootFailed {
            ktest: "k".into(),
            message: "trap 14 (page fault): cr2 0x05050505".into(),
            at: "src/trap.rs:158".into(),
            backtrace: vec!["#0 0x80101234 in f".into()],
        };
        let r = v.reason();
        assert!(r.contains("(at src/trap.rs:158)\nhint: 0x05050505"), "{r}");
        assert!(r.ends_with("\nbacktrace:\n  #0 0x80101234 in f"), "{r}");
    }

    #[test]
    fn a_reset_is_a_crash_with_the_last_line() {
        // -no-reboot: QEMU ends with status 0, without the power-off line.
        let o = ended(status::POWEROFF, "ktest: triple_fault ...\n\n");
        let v = judge("triple_fault", None, &o);
        assert_eq!(
            v,
            Verdict::Crash {
                last_line: "ktest: triple_fault ...".into(),
                stage: "main started".into(),
                hint: String::new(),
            }
        );
        assert!(v.reason().contains("triple fault"));
        assert!(
            v.reason()
                .ends_with("the last boot stage it reached: main started")
        );
        // Before main printed anything: the boot path's marks place it.
        let early = Outcome {
            status: Some(status::POWEROFF),
            out: "\x1b[H\x1b[J\x1b[1;1H  Booting `xv6'\r\n\n".into(),
            quiet: Duration::ZERO,
            limit: LIMIT,
            marks: b"SCPL".to_vec(),
        };
        let v = judge("x", None, &early);
        let stage = BootStage::of(MARK_PAGING_ON).unwrap();
        assert_eq!(
            v,
            Verdict::Crash {
                last_line: "Booting `xv6'".into(),
                stage: stage.name.into(),
                hint: stage.hint.into(),
            }
        );
        assert!(v.reason().contains("entrypgdir must map KERNBASE"), "{v:?}");
        // Without it: the machine boots again.
        let mut again = ended(status::POWEROFF, "ktest: x ...\n");
        again
            .out
            .push_str(&format!("{BOOTING}\nkalloc: 100 pages free\n"));
        again.out.push_str(&passed("x"));
        assert!(matches!(
            judge("x", None, &again),
            Verdict::Crash { last_line, .. } if last_line == "ktest: x ..."
        ));
    }

    #[test]
    fn a_timeout_tells_a_hang_from_a_test_still_printing() {
        let stopped = |quiet: u64| Outcome {
            status: None,
            out: format!("{BOOTING}\nktest: x ...\n"),
            quiet: Duration::from_secs(quiet),
            limit: LIMIT,
            marks: vec![],
        };
        let hung = judge("x", None, &stopped(20));
        assert_eq!(
            hung,
            Verdict::Timeout {
                limit_s: 60,
                quiet_s: 20,
                printing: false
            }
        );
        assert!(hung.reason().starts_with("no output for 20 s"));
        let busy = judge("x", None, &stopped(0));
        assert!(matches!(busy, Verdict::Timeout { printing: true, .. }));
        assert!(
            busy.reason()
                .starts_with("still printing at the limit of 60 s")
        );
        // A short limit: half of it quiet is a hang.
        let short = Outcome {
            limit: Duration::from_secs(8),
            ..stopped(5)
        };
        assert!(matches!(
            judge("x", None, &short),
            Verdict::Timeout {
                printing: false,
                ..
            }
        ));
    }

    #[test]
    fn another_ending_is_a_fail_with_the_status_and_the_last_line() {
        let v = judge("x", None, &ended(7, "xv6: this CPU has no TSC\n"));
        assert_eq!(
            v.reason(),
            "the run ended with status 7 without \"ktest: x ok\"; the last line: \
             \"xv6: this CPU has no TSC\""
        );
    }

    #[test]
    fn the_json_names_each_verdict_by_its_word() {
        for v in [
            Verdict::Pass,
            Verdict::Fail { reason: "r".into() },
            Verdict::NotImplemented {
                exercise: "e".into(),
                at: "f:1".into(),
            },
            Verdict::Panic {
                message: "m".into(),
                at: "f:1".into(),
                backtrace: vec![],
            },
            Verdict::BootFailed {
                ktest: "k".into(),
                message: "m".into(),
                at: "f:1".into(),
                backtrace: vec![],
            },
            Verdict::Crash {
                last_line: "l".into(),
                stage: "s".into(),
                hint: "h".into(),
            },
            Verdict::Timeout {
                limit_s: 1,
                quiet_s: 1,
                printing: true,
            },
        ] {
            let json = serde_json::to_value(&v).unwrap();
            assert_eq!(json["verdict"], v.word());
            assert_eq!(serde_json::from_value::<Verdict>(json).unwrap(), v);
        }
    }

    const ANSWERS: &str = "Lab x: questions.\n\nQ1. Why?\nSay why.\n\nBecause.\n\n\
                           Q2. How?\n\n(your answer)\n\nQ10. When\n\nNow.\n";

    #[test]
    fn answers_are_checked_question_by_question() {
        assert_eq!(unanswered(ANSWERS), Some(vec!["Q2".to_string()]));
        assert_eq!(unanswered("no questions here\n"), None);
        let v = judge_answers("labs/x/answers.txt", Some(ANSWERS));
        assert_eq!(
            v,
            Verdict::NotImplemented {
                exercise: "questions".into(),
                at: "labs/x/answers.txt: Q2 without an answer; write it in place of \
                     \"(your answer)\""
                    .into()
            }
        );
        let all = ANSWERS.replace("(your answer)", "Like so.");
        assert_eq!(judge_answers("f", Some(&all)), Verdict::Pass);
        assert!(matches!(judge_answers("f", None), Verdict::Fail { .. }));
        assert!(matches!(
            judge_answers("f", Some("nothing\n")),
            Verdict::Fail { .. }
        ));
    }
}
