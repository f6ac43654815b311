//! Hostile input, deterministically: a fixed-seed stream of random bytes,
//! control characters, overlong lines, out-of-range numbers and every
//! monitor command with random arguments. The kernel never panics, answers
//! each line (a refusal for the bad ones), and ends with the free-list audit
//! passing and every page it had free either still free or held by `alloc`.

mod common;

use xv6::memlayout::{KERNBASE, PAddr, PHYSTOP};
use xv6::mmu::PageStep;
use xv6::protocol::{KALLOCTEST_OK, LINE_TOO_LONG, UNKNOWN_COMMAND};

use common::{PROMPT, Session, launch as run_qemu};

/// A small, fixed PRNG (xorshift64*): the same lines on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

/// Lines the fuzzer sends.
const LINES: usize = 3000;
/// Bytes the line editor treats specially and the fuzzer must not send:
/// Ctrl-D and Ctrl-\\ (the end of input, which powers off), CR and LF
/// (end of line).
const NEVER: [u8; 4] = [0x04, xv6::protocol::HOST_INPUT_END, b'\r', b'\n'];
/// Commands that end the session.
const ENDING: [&str; 2] = ["halt", "reboot"];
/// Commands that run for a second or more when their arguments are good:
/// the fuzzer always gives them a bad first argument (they run once each,
/// properly, at the end).
const SLOW: [&str; 5] = ["kalloctest", "bench", "checks", "cow", "freelist"];

/// A number argument, good-looking or random, or (a quarter of the time)
/// a bad one; and whether it is bad.
fn argument(r: &mut Rng) -> (String, bool) {
    let kernel_page = |r: &mut Rng| {
        let pa = PAddr(r.below(u64::from(PHYSTOP.0)) as u32).page_down();
        format!("{:#x}", KERNBASE.0 + pa.0)
    };
    match r.below(4) {
        0 => (r.below(16).to_string(), false),
        1 => (format!("{:#x}", r.next() as u32), false),
        2 => (kernel_page(r), false),
        _ => (bad_argument(r), true),
    }
}

/// An argument no command takes: past u32 or u64, negative, or garbage.
fn bad_argument(r: &mut Rng) -> String {
    match r.below(6) {
        0 => (u64::from(u32::MAX) + 1 + r.below(1 << 40)).to_string(),
        1 => format!("{}{}", u64::MAX, r.below(10)),
        2 => format!("0x{:x}{:016x}", r.below(0xFFFF) + 1, r.next()),
        3 => "-1".into(),
        4 => "0x".into(),
        _ => {
            (0..1 + r.below(12))
                .map(|_| (b'!' + r.below(94) as u8) as char)
                .filter(|c| !c.is_ascii_digit())
                .collect::<String>()
                + "z"
        }
    }
}

/// What a line must get back, beyond "no panic".
#[derive(Debug)]
enum Expect {
    /// Nothing, or a refusal: an unknown command, a line too long.
    NothingOrRefusal,
    /// The line-too-long refusal.
    TooLong,
    /// A usage line: the command refused its arguments.
    Usage,
    /// Whatever the command prints.
    Anything,
}

/// One line of hostile input (without its newline), and what it must get.
fn hostile_line(r: &mut Rng, commands: &[String]) -> (Vec<u8>, Expect) {
    match r.below(8) {
        // Random bytes, control characters included.
        0 => (
            (0..r.below(100))
                .map(|_| r.next() as u8)
                .filter(|b| !NEVER.contains(b))
                .collect(),
            Expect::NothingOrRefusal,
        ),
        // A line far longer than the line editor holds.
        1 => {
            let mut l = r.pick(commands).clone().into_bytes();
            l.push(b' ');
            l.extend((0..10_000).map(|_| b'a' + r.below(26) as u8));
            (l, Expect::TooLong)
        }
        // Backspaces and Ctrl-U past the start of the line, then a command
        // (a slow one with a bad argument).
        2 => {
            let mut l: Vec<u8> = (0..r.below(20))
                .map(|_| *r.pick(&[0x08, 0x7F, 0x15]))
                .collect();
            let c = r.pick(commands).clone();
            let slow = SLOW.contains(&c.as_str());
            l.extend_from_slice(c.as_bytes());
            if slow {
                l.push(b' ');
                l.extend_from_slice(bad_argument(r).as_bytes());
            }
            (
                l,
                if slow {
                    Expect::Usage
                } else {
                    Expect::Anything
                },
            )
        }
        // A word that is no command, then random words.
        3 => {
            let mut words = vec![bad_argument(r)];
            words.extend((0..r.below(4)).map(|_| argument(r).0));
            (words.join(" ").into_bytes(), Expect::NothingOrRefusal)
        }
        // A command with random arguments (most often): any bad one, and
        // every argument a slow command is given first, must be refused.
        _ => {
            let c = r.pick(commands).clone();
            let slow = SLOW.contains(&c.as_str());
            let mut l = c;
            if slow {
                l.push(' ');
                l.push_str(&bad_argument(r));
            }
            let mut bad = slow;
            for _ in 0..r.below(4) {
                let (word, is_bad) = argument(r);
                l.push(' ');
                l.push_str(&word);
                bad |= is_bad;
            }
            let want = if bad { Expect::Usage } else { Expect::Anything };
            (l.into_bytes(), want)
        }
    }
}

/// Whether `answer` (the lines after the echoed line) is what `want` says.
fn answered_as(want: &Expect, answer: &str) -> bool {
    let refusal = |l: &str| l.starts_with(UNKNOWN_COMMAND) || l.starts_with(LINE_TOO_LONG);
    let lines: Vec<&str> = answer.lines().filter(|l| !l.trim().is_empty()).collect();
    match want {
        Expect::NothingOrRefusal => lines.iter().all(|l| refusal(l)),
        Expect::TooLong => lines.len() == 1 && lines[0].starts_with(LINE_TOO_LONG),
        Expect::Usage => lines.last().is_some_and(|l| l.starts_with("usage: ")),
        Expect::Anything => true,
    }
}

/// The first number after `label` in `text`.
fn number_after(text: &str, label: &str) -> usize {
    let at = text
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} in:\n{text}"));
    text[at + label.len()..]
        .split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no number after {label:?} in:\n{text}"))
}

#[test]
fn hostile_monitor_input_is_refused_and_loses_no_page() {
    let mut s = Session::start(&["--smp", "2", "--cmdline", "kalloc=percpu"]);
    let help = s.command("help");
    let commands: Vec<String> = help
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| !ENDING.contains(c))
        .map(str::to_string)
        .collect();
    assert!(commands.len() > 10, "help lists the commands:\n{help}");
    let free_before = number_after(&s.command("meminfo"), "free pages:");

    let mut r = Rng(0x5EED_0FC0_FFEE);
    for i in 0..LINES {
        let (line, want) = hostile_line(&mut r, &commands);
        s.send_bytes(&line);
        let text = s.expect(PROMPT);
        let shown = String::from_utf8_lossy(&line);
        assert!(
            !text.contains("panic"),
            "line {i} ({shown:?}) made the kernel panic:\n{text}"
        );
        // The echo is the first line (the editor shows what it kept).
        let answer = text.split_once('\n').map_or("", |(_, a)| a);
        let answer = answer.trim_end_matches(PROMPT);
        assert!(
            answered_as(&want, answer),
            "line {i} ({shown:?}) wants {want:?}; the kernel answered:\n{answer}"
        );
    }
    // The slow commands, once each with good arguments.
    for c in SLOW.iter().filter(|c| **c != "kalloctest") {
        let out = s.command(c);
        assert!(
            !out.contains("panic") && !out.contains("usage:"),
            "{c}:\n{out}"
        );
    }

    // Nothing lost: what alloc holds plus what is free is what was free.
    let meminfo = s.command("meminfo");
    let free_after = number_after(&meminfo, "free pages:");
    let held = number_after(&meminfo, "held by alloc:");
    assert_eq!(free_after + held, free_before, "{meminfo}");
    // kalloctest ends with the audit of every list.
    let test = s.command("kalloctest 1000");
    assert!(test.contains(KALLOCTEST_OK), "{test}");
    s.finish("halt").expect_status(0);
}

/// The remark lines a boot with `cmdline` printed, after checking that it
/// reached the monitor's `halt` option.
fn cmdline_remarks(cmdline: &str) -> Vec<String> {
    let run = run_qemu(&["--cmdline", cmdline]);
    run.expect_status(0);
    assert!(
        run.has("main: halt"),
        "{cmdline:?}: halt still works:\n{}",
        run.out
    );
    let lines = run.lines_starting("cmdline: ");
    lines.into_iter().map(str::to_string).collect()
}

#[test]
fn unknown_empty_repeated_and_long_command_line_words_are_named() {
    let remarks = cmdline_remarks("halt foo kalloc= kalloc=percpu halt=1 phystop kalloc=global");
    let want = [
        "cmdline: ignoring unknown word \"foo\" (known: halt bench ktest=... kalloc=... phystop=... monitor=... fork=... root=... powercut=...)",
        "cmdline: ignoring \"kalloc=\": the option needs a value",
        "cmdline: kalloc given 2 times; the last one counts",
        "cmdline: ignoring \"halt=1\": the flag takes no value",
        "cmdline: ignoring \"phystop\": the option needs a value",
    ];
    assert_eq!(remarks, want);
    // A 4,000-character word (GRUB's script reader stops at about 8 KiB).
    let long = format!("halt {}", "w".repeat(4000));
    let remarks = cmdline_remarks(&long);
    assert_eq!(remarks.len(), 1, "{remarks:?}");
    assert!(remarks[0].starts_with("cmdline: ignoring unknown word \"www"));
    assert!(
        cmdline_remarks("halt").is_empty(),
        "a clean command line draws no remark"
    );
}
