//! The crash sweep: the workload (`crashload`, its script in
//! `user/src/workload.rs`) runs on a fresh image on the IDE disk, and
//! the power goes at one block write after another (`powercut=N`); after
//! each cut the image boots again (the log recovers at mount), and then
//! the checker (`fsck`) must find it clean and the workload's promise
//! (`promise`) must hold. A few runs kill the emulator itself (SIGKILL)
//! at a moment chosen from a seed instead. `./run-qemu.sh --crash-sweep`
//! cuts at every write; tests/crash.rs at a spread of them.

#[path = "../../user/src/workload.rs"]
pub mod workload;

pub mod machine;
pub mod promise;

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::fsimage::Image;
use crate::kernel::io_error;
use crate::protocol::{BlockWrites, HOST_INPUT_END, PANIC, POWEROFF, Powercut};
use crate::{Error, Result, fsck, paths};
use machine::{Ended, Kernel, PROMPT, Purpose};
use workload::DONE;

/// Where the sweep keeps its images, relative to the root.
pub const DIR: &str = "target/crash";
/// Longest one boot of a run may take on a busy machine.
const BOOT_LIMIT: Duration = Duration::from_secs(120);
/// The file init makes in the root at its first boot (both kernels'
/// init: `mknod console`), which the workload did not.
const INIT_MAKES: &str = "console";
/// What the shell is given to type.
const COMMAND: &[u8] = b"crashload\n";

/// One run of the sweep: a power cut after `N` block writes, or the
/// emulator killed `delay` after the workload's first line (run `run` of
/// the seeded ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Point {
    Cut(u32),
    Kill { run: u32, delay: Duration },
}

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Point::Cut(n) => write!(f, "cut after {n} block writes"),
            Point::Kill { run, delay } => {
                write!(
                    f,
                    "kill run {run} ({} ms into the workload)",
                    delay.as_millis()
                )
            }
        }
    }
}

/// A broken rule at one point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub point: Point,
    pub rule: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}: {}", self.point, self.rule)
    }
}

/// Every failure, one per line.
pub fn report(failures: &[Failure]) -> String {
    failures.iter().map(|f| format!("crash: {f}\n")).collect()
}

/// How one point went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub failures: Vec<Failure>,
    /// The calls whose lines came before the crash (None if the run did
    /// not get that far or its lines were out of order).
    pub returned: Option<usize>,
}

/// What the run without a cut showed.
#[derive(Clone, Copy, Debug)]
pub struct Uncut {
    /// Block writes from boot to power-off (ours; the peer does not say).
    pub writes: Option<u32>,
    /// From the workload's first line to its last.
    pub workload: Duration,
}

/// A sweep over one kernel: the fresh image and where the copies go.
pub struct Sweep {
    pub kernel: Kernel,
    fresh: Vec<u8>,
    dir: PathBuf,
    /// The fresh image's root directory (the workload adds to it).
    root: BTreeSet<String>,
}

impl Sweep {
    /// A sweep on our kernel: an image from our mkfs with README and the
    /// user programs (crashload among them); its copies go to
    /// `target/crash/LABEL/` (one label per sweep running at once).
    pub fn ours(label: &str) -> Result<Sweep> {
        let mut files = vec![(
            "README".to_string(),
            read(&paths::at(crate::mkfs::DEFAULT_README))?,
        )];
        for (name, path) in crate::user::build()? {
            files.push((name, read(&path)?));
        }
        Sweep::new(Kernel::Ours, label, crate::mkfs::mkfs(&files)?)
    }

    /// A sweep on the C xv6 peer: an image from its own mkfs with its
    /// programs and our crashload.
    pub fn peer(p: crate::peer::Peer) -> Result<Sweep> {
        let mut files = p.programs()?;
        let ours = crate::user::build()?;
        files.extend(ours.into_iter().filter(|(n, _)| n == "crashload"));
        let dir = paths::at(DIR).join("peer");
        std::fs::create_dir_all(&dir).map_err(|e| io_error("create", &dir, e))?;
        let img = dir.join("fresh.img");
        p.make_image(&img, &files)?;
        let bytes = read(&img)?;
        Sweep::new(Kernel::Peer(p), "peer", bytes)
    }

    fn new(kernel: Kernel, name: &str, fresh: Vec<u8>) -> Result<Sweep> {
        let dir = paths::at(DIR).join(name);
        std::fs::create_dir_all(&dir).map_err(|e| io_error("create", &dir, e))?;
        let problems = fsck::fsck(&fresh);
        if !problems.is_empty() {
            return Err(Error::new(format!(
                "the fresh image is not clean:\n{}",
                fsck::report(&problems)
            )));
        }
        let mut root = Image::new(&fresh)
            .map(|img| promise::root_names(&img))
            .unwrap_or_default();
        // init makes the console's device file at its first boot.
        root.insert(INIT_MAKES.to_string());
        Ok(Sweep {
            kernel,
            fresh,
            dir,
            root,
        })
    }

    /// A fresh copy of the image for `name`.
    fn copy(&self, name: &str) -> Result<PathBuf> {
        let path = self.dir.join(format!("{name}.img"));
        std::fs::write(&path, &self.fresh).map_err(|e| io_error("write", &path, e))?;
        Ok(path)
    }

    /// Run the workload to its end on a fresh copy: how many block writes
    /// it takes and how long; the final image must be clean and whole.
    pub fn uncut(&self) -> std::result::Result<Uncut, Vec<String>> {
        let one = |e: Error| vec![e.message];
        let disk = self.copy("uncut").map_err(one)?;
        let mut m = self
            .kernel
            .boot(&disk, Purpose::Workload { cut: None })
            .map_err(one)?;
        if !m.wait_for(PROMPT, BOOT_LIMIT) {
            return Err(vec![format!("no shell prompt:\n{}", m.kill().out)]);
        }
        m.send(COMMAND).map_err(one)?;
        m.wait_for(&first_line(), BOOT_LIMIT);
        let start = Instant::now();
        let finished = m.wait_for(DONE, BOOT_LIMIT);
        let workload = start.elapsed();
        let ended = match self.kernel.powers_off() {
            true => {
                m.send(&[HOST_INPUT_END]).map_err(one)?;
                m.wait(BOOT_LIMIT).map_err(one)?
            }
            false => m.kill(),
        };
        let mut broken = Vec::new();
        if !finished {
            broken.push(format!("the workload did not finish:\n{}", ended.out));
        }
        let writes = ended
            .out
            .lines()
            .find_map(BlockWrites::parse)
            .map(|b| b.writes);
        if self.kernel.powers_off() {
            if ended.status != Some(crate::status::POWEROFF) {
                broken.push(format!(
                    "status {:?}, not a power-off:\n{}",
                    ended.status, ended.out
                ));
            }
            if writes.is_none() {
                broken.push(format!(
                    "no `{}` line:\n{}",
                    BlockWrites { writes: 0 },
                    ended.out
                ));
            }
        }
        broken.extend(self.check_image(&disk, &ended));
        match broken.is_empty() {
            true => Ok(Uncut { writes, workload }),
            false => Err(broken),
        }
    }

    /// Run `point` on a fresh copy: the cut or the kill, the recovery
    /// boot, the checks. Its failures (empty: it passed) and how many
    /// calls returned before the crash; the copy is removed when it
    /// passed and kept, named in the failure, otherwise.
    pub fn run(&self, point: Point) -> Outcome {
        let name = match point {
            Point::Cut(n) => format!("cut-{n}"),
            Point::Kill { run, .. } => format!("kill-{run}"),
        };
        let (rules, returned) = match self.copy(&name) {
            Ok(disk) => {
                let (mut rules, returned) = self.crash_and_check(point, &disk);
                match rules.is_empty() {
                    true => {
                        let _ = std::fs::remove_file(&disk);
                    }
                    false => rules.push(format!("the image is kept at {}", disk.display())),
                }
                (rules, returned)
            }
            Err(e) => (vec![e.message], None),
        };
        Outcome {
            failures: rules
                .into_iter()
                .map(|rule| Failure { point, rule })
                .collect(),
            returned,
        }
    }

    fn crash_and_check(&self, point: Point, disk: &Path) -> (Vec<String>, Option<usize>) {
        let crashed = match self.crash(point, disk) {
            Ok(ended) => ended,
            Err(rules) => return (rules, None),
        };
        let returned = promise::returned(&crashed.out).ok().map(|r| r.len());
        let mut rules = Vec::new();
        if let Point::Cut(n) = point {
            if crashed.status != Some(crate::protocol::EXIT_POWERCUT.status()) {
                rules.push(format!(
                    "the run ended with status {:?}, not the power cut's {}",
                    crashed.status,
                    crate::protocol::EXIT_POWERCUT.status()
                ));
            }
            let cut = crashed.out.lines().find_map(Powercut::parse);
            if cut != Some(Powercut { writes: n }) {
                rules.push(format!(
                    "no line `{}` (found {cut:?})",
                    Powercut { writes: n }
                ));
            }
        }
        if crashed.out.contains(PANIC) {
            rules.push(format!(
                "the kernel panicked before the cut:\n{}",
                crashed.out
            ));
        }
        match self.recover(disk) {
            Ok(recovered) => rules.extend(
                self.check_image(disk, &crashed).into_iter().chain(
                    recovered
                        .out
                        .contains(PANIC)
                        .then(|| format!("the recovery boot panicked:\n{}", recovered.out)),
                ),
            ),
            Err(why) => rules.push(why),
        }
        (rules, returned)
    }

    /// The crash itself: the workload typed, then the cut or the kill.
    fn crash(&self, point: Point, disk: &Path) -> std::result::Result<Ended, Vec<String>> {
        let one = |e: Error| vec![e.message];
        let cut = match point {
            Point::Cut(n) => Some(n),
            Point::Kill { .. } => None,
        };
        let mut m = self
            .kernel
            .boot(disk, Purpose::Workload { cut })
            .map_err(one)?;
        if !m.wait_for(PROMPT, BOOT_LIMIT) {
            let ended = m.kill();
            // A cut during the boot itself (the first mount's writes)
            // ends the machine before the shell: that is a crash too.
            if ended.out.lines().any(|l| Powercut::parse(l).is_some()) {
                return Ok(ended);
            }
            return Err(vec![format!("no shell prompt:\n{}", ended.out)]);
        }
        m.send(COMMAND).map_err(one)?;
        match point {
            Point::Cut(_) => {
                // The input's end powers off after the workload, if the
                // cut never comes.
                if self.kernel.powers_off() {
                    m.send(&[HOST_INPUT_END]).map_err(one)?;
                }
                m.wait(BOOT_LIMIT).map_err(one)
            }
            Point::Kill { delay, .. } => {
                m.wait_for(&first_line(), BOOT_LIMIT);
                std::thread::sleep(delay);
                Ok(m.kill())
            }
        }
    }

    /// Boot the crashed disk once, so the log recovers, and stop.
    fn recover(&self, disk: &Path) -> std::result::Result<Ended, String> {
        let mut m = self
            .kernel
            .boot(disk, Purpose::Recover)
            .map_err(|e| e.message)?;
        if !self.kernel.powers_off() {
            return match m.wait_for(PROMPT, BOOT_LIMIT) {
                true => Ok(m.kill()),
                false => Err(format!(
                    "the recovery boot reached no shell prompt:\n{}",
                    m.kill().out
                )),
            };
        }
        let ended = m.wait(BOOT_LIMIT).map_err(|e| e.message)?;
        if ended.status != Some(crate::status::POWEROFF) || !ended.out.contains(POWEROFF) {
            return Err(format!(
                "the recovery boot ended with status {:?}, not a power-off:\n{}",
                ended.status, ended.out
            ));
        }
        Ok(ended)
    }

    /// fsck and the promise on `disk`, against the calls `crashed` saw
    /// return.
    fn check_image(&self, disk: &Path, crashed: &Ended) -> Vec<String> {
        let bytes = match std::fs::read(disk) {
            Ok(b) => b,
            Err(e) => return vec![format!("cannot read {}: {e}", disk.display())],
        };
        let mut rules: Vec<String> = fsck::fsck(&bytes)
            .iter()
            .map(|p| format!("fsck: {p}"))
            .collect();
        let done = match promise::returned(&crashed.out) {
            Ok(done) => done.len(),
            Err(why) => {
                rules.push(why);
                return rules;
            }
        };
        if let Some(img) = Image::new(&bytes)
            && let Err(lines) = promise::check(&img, &self.root, done)
        {
            rules.push(lines.join("\n"));
        }
        rules
    }

    /// Run every point, `jobs` at a time (each its own emulator and copy);
    /// `each` hears of every point as it ends. All failures, in point order.
    pub fn run_all(
        &self,
        points: &[Point],
        jobs: usize,
        each: &(dyn Fn(Point, &Outcome) + Sync),
    ) -> Vec<Failure> {
        let next = AtomicUsize::new(0);
        let found: Mutex<Vec<(usize, Vec<Failure>)>> = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..jobs.max(1) {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(&point) = points.get(i) else { break };
                        let outcome = self.run(point);
                        each(point, &outcome);
                        found
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push((i, outcome.failures));
                    }
                });
            }
        });
        let mut found = found.into_inner().unwrap_or_else(|e| e.into_inner());
        found.sort_by_key(|(i, _)| *i);
        found.into_iter().flat_map(|(_, f)| f).collect()
    }
}

/// The workload's first call's line: it is under way.
fn first_line() -> String {
    workload::SCRIPT[0].to_string()
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| io_error("read", path, e))
}

/// `count` cut points spread evenly over `0..writes` (every one of them
/// if there are no more than `count`), the first and last among them.
pub fn spread(writes: u32, count: u32) -> Vec<u32> {
    if writes <= count || count < 2 {
        return (0..writes).collect();
    }
    let last = u64::from(writes - 1);
    let mut points: Vec<u32> = (0..u64::from(count))
        .map(|i| (i * last / u64::from(count - 1)) as u32)
        .collect();
    points.dedup();
    points
}

/// `runs` kill points: moments in `0..within`, from a fixed seed, so a
/// failure can be run again with the same delays.
pub fn kills(seed: u64, runs: u32, within: Duration) -> Vec<Point> {
    let mut x = seed | 1;
    (0..runs)
        .map(|run| {
            // xorshift64: a fixed, portable sequence.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let ms = within.as_millis().max(1) as u64;
            Point::Kill {
                run,
                delay: Duration::from_millis(x % ms),
            }
        })
        .collect()
}

/// The kill runs' seed.
pub const KILL_SEED: u64 = 0x5eed_c0de;

/// `--crash-sweep`: our kernel, every cut point and some kill runs, two
/// emulators at a time; a line per failure, exit status 1 if any.
pub fn sweep_all() -> Result<i32> {
    let sweep = Sweep::ours("sweep")?;
    let uncut = sweep.uncut().map_err(|lines| {
        Error::new(format!(
            "the run without a cut failed:\n{}",
            lines.join("\n")
        ))
    })?;
    let writes = uncut
        .writes
        .ok_or_else(|| Error::new("the run without a cut printed no block-write count"))?;
    let mut points: Vec<Point> = (0..writes).map(Point::Cut).collect();
    points.extend(kills(KILL_SEED, 10, uncut.workload));
    eprintln!("crash: {} cut points and 10 kill runs", writes);
    let failures = sweep.run_all(&points, 2, &|p, o| {
        let verdict = if o.failures.is_empty() {
            "ok"
        } else {
            "FAILED"
        };
        let calls = o.returned.map_or("?".to_string(), |n| n.to_string());
        eprintln!("crash: {p}: {verdict} ({calls} calls had returned)");
    });
    print!("{}", report(&failures));
    let bad: BTreeSet<String> = failures.iter().map(|f| f.point.to_string()).collect();
    println!("crash: {} of {} points failed", bad.len(), points.len());
    Ok(match failures.is_empty() {
        true => 0,
        false => crate::status::FAILED,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_points_cover_both_ends_evenly() {
        assert_eq!(spread(5, 50), vec![0, 1, 2, 3, 4]);
        let p = spread(200, 50);
        assert_eq!(p.len(), 50);
        assert_eq!((p[0], p[49]), (0, 199));
        assert!(
            p.windows(2).all(|w| w[1] > w[0] && w[1] - w[0] <= 5),
            "{p:?}"
        );
    }

    #[test]
    fn kill_moments_come_from_the_seed_inside_the_workload() {
        let within = Duration::from_millis(900);
        let a = kills(KILL_SEED, 5, within);
        assert_eq!(
            a,
            kills(KILL_SEED, 5, within),
            "the same seed, the same moments"
        );
        assert_ne!(a, kills(KILL_SEED + 2, 5, within));
        for p in a {
            let Point::Kill { delay, .. } = p else {
                panic!()
            };
            assert!(delay < within);
        }
    }

    #[test]
    fn a_failure_names_its_point_and_rule() {
        let f = Failure {
            point: Point::Cut(37),
            rule: "fsck: block 9: a leak".into(),
        };
        assert_eq!(
            report(&[f]),
            "crash: cut after 37 block writes: fsck: block 9: a leak\n"
        );
    }
}
