//! Crash safety: the workload (`crashload`) on the IDE disk, the power cut
//! after N block writes for 50 values of N spread over the whole run
//! (`./run-qemu.sh --crash-sweep` takes every N), then a boot that lets
//! the log recover; then the image must pass `fsck` and keep the
//! workload's promise (`xtask::crash::promise`). A few runs kill QEMU
//! itself at seeded moments instead. The same harness runs on the C xv6
//! peer (kill runs only: it has no power-cut option), which shows the
//! checks pass on a kernel known to keep the promise.
//!
//! Every failure of a run is reported together, each naming its point
//! (N, or the kill's run and delay) and the rule it broke.

mod common;

use std::time::Instant;

use xtask::crash::{self, Point, Sweep};

/// Cut points the test takes (the least).
const CUT_POINTS: u32 = 50;
/// Kill runs on each kernel.
const KILL_RUNS: u32 = 3;
/// Emulators at once: the machine has two cores.
const JOBS: usize = 2;

/// The tests of this file take turns: each runs JOBS emulators itself.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

/// Run `points`; every failure reported together. How many calls had
/// returned at each point's crash, in order.
fn run(sweep: &Sweep, points: &[Point]) -> Vec<Option<usize>> {
    let started = Instant::now();
    let returned = std::sync::Mutex::new(Vec::new());
    let failures = sweep.run_all(points, JOBS, &|p, o| {
        returned.lock().unwrap().push((p, o.returned));
    });
    eprintln!("{} points in {:?}", points.len(), started.elapsed());
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        crash::report(&failures)
    );
    let returned = returned.into_inner().unwrap();
    points
        .iter()
        .map(|p| returned.iter().find(|(q, _)| q == p).and_then(|(_, n)| *n))
        .collect()
}

fn uncut(sweep: &Sweep) -> crash::Uncut {
    let started = Instant::now();
    let u = sweep
        .uncut()
        .unwrap_or_else(|lines| panic!("the run without a cut failed:\n{}", lines.join("\n")));
    eprintln!(
        "the run without a cut: {u:?}, {:?} in all",
        started.elapsed()
    );
    u
}

#[test]
fn every_call_that_returned_survives_a_power_cut_at_50_points() {
    let _ = common::kernel_elf();
    let _one = one_at_a_time();
    let sweep = Sweep::ours("cuts").unwrap_or_else(|e| panic!("{e}"));
    let u = uncut(&sweep);
    let writes = u.writes.expect("our kernel prints its block-write count");
    assert!(
        writes > CUT_POINTS,
        "the workload takes {writes} block writes: too few to spread {CUT_POINTS} cuts over"
    );
    let points: Vec<Point> = crash::spread(writes, CUT_POINTS)
        .into_iter()
        .map(Point::Cut)
        .collect();
    let returned = run(&sweep, &points);
    // The cuts land all over the workload: none of it done at the first,
    // all but its last call or two at the last, and never fewer calls at
    // a later cut.
    let returned: Vec<usize> = returned
        .iter()
        .map(|n| n.expect("each crash's call lines read"))
        .collect();
    eprintln!("calls returned at each cut: {returned:?}");
    assert_eq!(returned[0], 0, "{returned:?}");
    let all = xtask::crash::workload::SCRIPT.len();
    assert!(returned[returned.len() - 1] + 2 >= all, "{returned:?}");
    assert!(returned.windows(2).all(|w| w[0] <= w[1]), "{returned:?}");
}

#[test]
fn killing_qemu_mid_workload_loses_no_call_that_returned() {
    let _ = common::kernel_elf();
    let _one = one_at_a_time();
    let sweep = Sweep::ours("kills").unwrap_or_else(|e| panic!("{e}"));
    let u = uncut(&sweep);
    let returned = run(
        &sweep,
        &crash::kills(crash::KILL_SEED, KILL_RUNS, u.workload),
    );
    eprintln!("calls returned at each kill: {returned:?}");
}

#[test]
fn the_harness_passes_the_c_peer_killed_mid_workload() {
    let Some(p) = xtask::peer::available().unwrap_or_else(|e| panic!("{e}")) else {
        return;
    };
    let _one = one_at_a_time();
    let sweep = Sweep::peer(p).unwrap_or_else(|e| panic!("{e}"));
    let u = uncut(&sweep);
    assert_eq!(u.writes, None, "the peer prints no count");
    run(
        &sweep,
        &crash::kills(crash::KILL_SEED, KILL_RUNS, u.workload),
    );
}
