//! `--soak`: four CPUs in each allocator mode, kalloctest and the
//! self-checks in a loop for a bounded time; then the project's usertests
//! in a loop on the shell. Each kalloctest ends with the audit of every
//! free list; after each round the free count must be what it was after
//! boot (the shell's: what Ctrl-P prints at its prompt). Not part of
//! `--test`: it runs for minutes.

use std::time::{Duration, Instant};

use crate::protocol::{CHECKS_PASSED, HOST_INPUT_END, KALLOC_MODES, KALLOCTEST_OK};

use crate::options::Options;
use crate::peer::SH_PROMPT;
use crate::session::Session;
use crate::{Error, Result, launch, procdump};

/// CPUs the soak runs on.
const CPUS: &str = "4";
/// Rounds per CPU of the first kalloctest, and of each one after it.
const FIRST_ROUNDS: u32 = 1_000_000;
const ROUNDS: u32 = 100_000;
/// How long one command may take (a million rounds on four emulated CPUs
/// take a few minutes on a busy 2-core machine).
const ANSWER_LIMIT: Duration = Duration::from_secs(1200);

/// What one mode's soak did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// kalloctest rounds per CPU, all runs together.
    pub rounds: u64,
    /// Passes of the self-checks.
    pub checks: u32,
    /// What went wrong, one line each.
    pub failures: Vec<String>,
}

/// The free pages `meminfo` reports.
pub fn free_pages(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("free pages:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Why a kalloctest answer is not a pass (OK, nothing lost), if it is not.
pub fn kalloctest_failure(answer: &str) -> Option<String> {
    let ok = answer.lines().any(|l| l.trim_end() == KALLOCTEST_OK);
    let bad = answer
        .lines()
        .find(|l| l.contains("FAIL") || l.starts_with("panic"));
    match (ok, bad) {
        (true, None) => None,
        (_, Some(l)) => Some(l.trim_end().to_string()),
        (false, None) => Some("kalloctest did not say OK".into()),
    }
}

/// Why a `checks` answer is not a pass, if it is not.
pub fn checks_failure(answer: &str) -> Option<String> {
    if let Some(l) = answer
        .lines()
        .find(|l| l.starts_with("panic") || l.contains("FAIL"))
    {
        return Some(l.trim_end().to_string());
    }
    let passed = answer.lines().any(|l| l.starts_with(CHECKS_PASSED));
    (!passed).then(|| format!("checks did not say {CHECKS_PASSED:?}"))
}

/// Soak one mode until `until`. A kernel that panics, resets or goes
/// quiet ends the mode with that failure and the end of its output.
fn soak_mode(mode: &str, until: Instant) -> Tally {
    let mut t = Tally::default();
    let cmdline = format!("kalloc={mode}");
    let o: Options = launch::options(&["--monitor", "--smp", CPUS, "--cmdline", &cmdline], &[]);
    let mut s = match Session::start(&o, ANSWER_LIMIT) {
        Ok(s) => s,
        Err(e) => {
            t.failures.push(format!("boot: {e}"));
            return t;
        }
    };
    if let Err(e) = rounds(&mut s, &mut t, until) {
        t.failures.push(with_last_lines(&e, &s));
        return t;
    }
    if let Err(e) = s.finish("halt") {
        t.failures.push(format!("halt: {e}"));
    }
    t
}

/// Lines of the kernel's output a failure shows.
const TAIL_LINES: usize = 20;

/// kalloctest, the checks and meminfo, again and again until `until` or a
/// failure.
fn rounds(s: &mut Session, t: &mut Tally, until: Instant) -> Result<()> {
    let free = free_pages(&s.command("meminfo")?)
        .ok_or_else(|| Error::new("meminfo printed no free count"))?;
    let mut rounds = FIRST_ROUNDS;
    loop {
        let answer = s.command(&format!("kalloctest {rounds}"))?;
        t.failures.extend(kalloctest_failure(&answer));
        t.rounds += u64::from(rounds);
        rounds = ROUNDS;
        let answer = s.command("checks")?;
        t.failures.extend(checks_failure(&answer));
        t.checks += 1;
        match free_pages(&s.command("meminfo")?) {
            Some(now) if now == free => {}
            now => t
                .failures
                .push(format!("free pages {now:?}, {free} after boot")),
        }
        if Instant::now() >= until || !t.failures.is_empty() {
            return Ok(());
        }
    }
}

/// What usertests prints when every test passed.
const USERTESTS_PASSED: &str = "usertests: ALL TESTS PASSED";
/// Why a usertests answer is not a pass, if it is not.
pub fn usertests_failure(answer: &str) -> Option<String> {
    if let Some(l) = answer
        .lines()
        .find(|l| l.starts_with("panic") || l.contains("FAIL"))
    {
        return Some(l.trim_end().to_string());
    }
    let passed = answer.lines().any(|l| l.trim_end() == USERTESTS_PASSED);
    (!passed).then(|| format!("usertests did not say {USERTESTS_PASSED:?}"))
}

/// The free count plus the processes' pages, read at the shell's prompt
/// with Ctrl-P: constant unless pages leak.
fn shell_free(s: &mut Session) -> Result<u64> {
    Ok(procdump::ctrl_p(s)?.pages())
}

/// usertests on the shell, again and again until `until` or a failure,
/// on CPUS CPUs with the project's own image.
fn soak_shell(until: Instant) -> Tally {
    let mut t = Tally::default();
    let o: Options = launch::options(&["--smp", CPUS], &[]);
    let mut s = match Session::launch(&o, ANSWER_LIMIT).and_then(|mut s| {
        s.expect(SH_PROMPT)?;
        Ok(s)
    }) {
        Ok(s) => s,
        Err(e) => {
            t.failures.push(format!("boot: {e}"));
            return t;
        }
    };
    if let Err(e) = shell_rounds(&mut s, &mut t, until) {
        t.failures.push(with_last_lines(&e, &s));
        return t;
    }
    if let Err(e) = s.finish(&char::from(HOST_INPUT_END).to_string()) {
        t.failures.push(format!("end of input: {e}"));
    }
    t
}

/// One usertests run per round, the free count compared after each.
fn shell_rounds(s: &mut Session, t: &mut Tally, until: Instant) -> Result<()> {
    let free = shell_free(s)?;
    loop {
        s.send_bytes(b"usertests")?;
        let answer = s.expect(SH_PROMPT)?;
        // usertests' own output may hold "$ " (its children's prompts are
        // none, but be safe): read on until its verdict line is in.
        let mut answer = answer;
        while !answer.contains(USERTESTS_PASSED) && !answer.contains("FAIL") {
            answer.push_str(&s.expect(SH_PROMPT)?);
        }
        t.failures.extend(usertests_failure(&answer));
        t.rounds += 1;
        match shell_free(s)? {
            now if now == free => {}
            now => t.failures.push(format!(
                "free pages {now} after a usertests round, {free} at the first prompt"
            )),
        }
        if Instant::now() >= until || !t.failures.is_empty() {
            return Ok(());
        }
    }
}

/// Run the soak for `seconds`, an equal share in each mode and on the
/// shell; print what it did. An error if anything failed.
pub fn run(seconds: u32) -> Result<()> {
    let share = Duration::from_secs(u64::from(seconds)) / (KALLOC_MODES.len() as u32 + 1);
    let mut failed = 0;
    for mode in KALLOC_MODES {
        let start = Instant::now();
        let t = soak_mode(mode, start + share);
        println!(
            "soak: {mode}, {CPUS} CPUs: {} kalloctest rounds per CPU, {} passes of the self-checks, {} failures in {:.0?}",
            t.rounds,
            t.checks,
            t.failures.len(),
            start.elapsed()
        );
        for f in &t.failures {
            println!("soak: {mode}: {f}");
        }
        failed += t.failures.len();
    }
    let start = Instant::now();
    let t = soak_shell(start + share);
    println!(
        "soak: shell, {CPUS} CPUs: {} usertests runs, {} failures in {:.0?}",
        t.rounds,
        t.failures.len(),
        start.elapsed()
    );
    for f in &t.failures {
        println!("soak: shell: {f}");
    }
    failed += t.failures.len();
    if failed > 0 {
        return Err(Error::new(format!("soak: {failed} failures")));
    }
    println!("soak: no failure");
    Ok(())
}

/// A failure `e`, with the kernel's last TAIL_LINES lines of the session.
fn with_last_lines(e: &dyn std::fmt::Display, s: &Session) -> String {
    let tail: Vec<&str> = s.out().lines().rev().take(TAIL_LINES).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    format!("{e}; the kernel's last lines:\n{}", tail.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_free_count_is_read_from_meminfo() {
        let m = "free pages:   60983 (243932 KiB)\nphystop:      0x0f000000 (240 MiB)\n";
        assert_eq!(free_pages(m), Some(60983));
        assert_eq!(free_pages("phystop: 1\n"), None);
    }

    #[test]
    fn kalloctest_passes_only_on_ok_without_a_failure() {
        assert_eq!(
            kalloctest_failure(&format!(
                "kalloctest: free pages before 5, after 5\n{KALLOCTEST_OK}\n"
            )),
            None
        );
        assert_eq!(
            kalloctest_failure(
                "kalloctest: FAIL: the free pages the audit walked: expected 5, kalloc::nfree(), saw 4\n"
            ),
            Some(
                "kalloctest: FAIL: the free pages the audit walked: expected 5, kalloc::nfree(), saw 4"
                    .into()
            )
        );
        assert!(kalloctest_failure("kalloctest: 10 pairs\n").is_some());
    }

    #[test]
    fn usertests_pass_only_with_their_verdict_and_no_failure() {
        assert_eq!(
            usertests_failure(&format!(
                "usertests starting\nfork: ok\n{USERTESTS_PASSED}\n"
            )),
            None
        );
        assert_eq!(
            usertests_failure("usertests: pipe: FAIL: short read\n"),
            Some("usertests: pipe: FAIL: short read".into())
        );
        assert!(usertests_failure("usertests starting\n").is_some());
        assert!(usertests_failure(&format!("panic: x\n{USERTESTS_PASSED}\n")).is_some());
    }

    /// One round of the shell's soak: boots QEMU and builds the user
    /// programs, so only on request (`cargo test -p xtask -- --ignored`).
    #[test]
    #[ignore]
    fn one_round_of_usertests_on_the_shell_passes() {
        let t = soak_shell(Instant::now());
        assert_eq!(t.failures, Vec::<String>::new());
        assert_eq!(t.rounds, 1);
    }

    #[test]
    fn checks_pass_only_with_their_closing_line_and_no_panic() {
        let ok = format!("check_page_alloc() succeeded!\n{CHECKS_PASSED}\n");
        assert_eq!(checks_failure(&ok), None);
        assert!(checks_failure("check_page_alloc() succeeded!\n").is_some());
        assert!(checks_failure("").is_some());
        assert!(checks_failure(&format!("panic: x\n{CHECKS_PASSED}\n")).is_some());
    }
}
