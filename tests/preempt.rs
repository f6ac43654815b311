//! Preemption on every CPU: the project's shell on 2 and 4 CPUs with more
//! CPU-bound processes (`spin`, which makes no system call) than CPUs. The
//! shell still answers, and `kill` ends every spinner: a killed process
//! leaves only at a trap, which for a spinner is a timer interrupt, so a
//! CPU without its own timer keeps its spinner for good. Then every page
//! comes back (free or in the remaining processes' memories). Also usertests on 2 CPUs.

mod common;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{Procdump, SH_PROMPT, Session, ctrl_p};

/// How long the spinners may take to go once killed: a few ticks each with
/// a timer on every CPU (0.2 s seen); without one on CPU 1, a spinner there
/// stayed for 15 s, until some other interrupt reached that CPU.
const KILL_LIMIT: Duration = Duration::from_secs(5);

/// Boot the project's own image on `cpus` CPUs; wait for the prompt.
fn shell(cpus: usize) -> Session {
    // Made once: tests in parallel would write the same file at once.
    static IMG: OnceLock<String> = OnceLock::new();
    let img = IMG.get_or_init(|| {
        let img = xtask::mkfs::default_image().expect("build the project's image");
        img.to_str().expect("a UTF-8 path").to_string()
    });
    let n = cpus.to_string();
    let mut s = Session::launch(&["--smp", &n, "--fs", img], &[]);
    s.expect(xv6::protocol::PROCESSES_READY);
    s.expect(SH_PROMPT);
    s
}

/// Whether a Ctrl-P report shows a spinner running on a CPU other than 0
/// (a running process's line ends with ` cpu N`).
fn spinner_elsewhere(report: &Procdump) -> bool {
    report.table.lines().any(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        w.get(2) == Some(&"spin") && w.len() == 7 && w[5] == "cpu" && w[6] != "0"
    })
}

/// Processes named spin in a Ctrl-P report.
fn spinners(report: &Procdump) -> usize {
    report
        .table
        .lines()
        .filter(|l| l.split_whitespace().nth(2) == Some("spin"))
        .count()
}

fn spinners_are_preempted_and_killed(cpus: usize) {
    let mut s = shell(cpus);
    let first = ctrl_p(&mut s);
    let n = cpus + 1;
    for _ in 0..n {
        s.send("spin &");
    }
    let mut pids = Vec::new();
    for _ in 0..n {
        s.expect("spin: pid ");
        let pid = s.expect("\n");
        pids.push(pid.trim().to_string());
    }
    // More spinners than CPUs, and the shell still runs a command.
    s.send("echo alive");
    s.expect("echo alive"); // the typed line, echoed
    s.expect("alive");
    // Ctrl-P at the prompt (the shell back in `read`, printing nothing).
    s.expect(SH_PROMPT);
    let report = ctrl_p(&mut s);
    assert_eq!(spinners(&report), n, "{n} spinners in:\n{}", report.table);
    // Spinners run on the other CPUs too (a CPU that is never woken once
    // idle would leave them all to cpu 0).
    let start = Instant::now();
    while !spinner_elsewhere(&ctrl_p(&mut s)) {
        assert!(
            start.elapsed() < KILL_LIMIT,
            "{cpus} CPUs: no spinner seen running on a CPU other than 0"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    s.send(&format!("kill {}", pids.join(" ")));
    let start = Instant::now();
    loop {
        let report = ctrl_p(&mut s);
        // Gone: the spinners, and kill itself (the first table's processes
        // are all there is again).
        if spinners(&report) == 0 && report.pids() == first.pids() {
            assert_eq!(
                report.pages(),
                first.pages(),
                "every page back once the spinners are gone:\n{report:?}"
            );
            break;
        }
        assert!(
            start.elapsed() < KILL_LIMIT,
            "{cpus} CPUs: spinners (or kill) still there {KILL_LIMIT:?} after kill {pids:?} (a CPU without timer ticks?):\n{}",
            report.table
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    s.send("echo done");
    s.expect("echo done");
    s.expect("done");
}

#[test]
fn spinners_on_two_cpus_are_preempted_and_killed() {
    spinners_are_preempted_and_killed(2);
}

#[test]
fn spinners_on_four_cpus_are_preempted_and_killed() {
    spinners_are_preempted_and_killed(4);
}

#[test]
fn usertests_pass_on_two_cpus() {
    let mut s = shell(2);
    s.send("usertests");
    s.expect("usertests starting");
    let out = s.expect("\nusertests: ");
    let verdict = s.expect("\n");
    assert_eq!(
        verdict.trim(),
        "ALL TESTS PASSED",
        "usertests on 2 CPUs:\n{out}{verdict}"
    );
}
