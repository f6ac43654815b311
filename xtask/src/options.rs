//! The runner's options: the usage text, parsing and the checks of each
//! value, with the messages `run-qemu.sh` has always printed.

use std::path::PathBuf;

use crate::protocol::CMDLINE_MAX;
use crate::{NAME, paths};

/// `--help`, and what a refused option prints after its reason.
pub const USAGE: &str = "\
usage: ./run-qemu.sh [options] [-- extra QEMU arguments]

  --mem MIB       RAM for the guest (default 512, at least 7; PHYSTOP is
                  240 MiB)
  --smp N         number of CPUs (default 1)
  --cmdline STR   kernel command line, e.g. \"halt\" or \"ktest=all\"
  --monitor CMDS  monitor commands to run first, separated by ';', e.g.
                  \"meminfo;showmappings 0x80100000;halt\" (the kernel's
                  monitor= option; works in Bochs too)
  --gdb           start QEMU stopped before its first instruction, waiting
                  for GDB on localhost:$GDBPORT (default 1234); then run
                  gdb -x .gdbinit  in another terminal
  --iso           only build the kernel and the ISO; print the ISO's path
  --no-junk       build without the kalloc/kfree junk fill (feature \"junk\")
  --no-strip      put the whole kernel ELF on the ISO, debug info and symbol
                  table included (by default they are stripped from the ISO's
                  copy: GRUB loads every section, so they slow the boot, and
                  nothing at run time needs them; GDB and Bochs read
                  target/kernel/xv6). GRUB then puts its boot information
                  and modules above 4 MiB: the tests use both layouts
  --module FILE   hand FILE to the kernel as a Multiboot2 module
  --multiboot1    boot with GRUB's old `multiboot` command (the kernel must
                  refuse it with a clear message; used by the tests)
  --bochs         boot the same ISO in Bochs instead (headless; serial on
                  stdout; Bochs exits 1 when the kernel powers off)
  --bochs-debug   boot in Bochs and stop in its debugger at the first
                  instruction, kernel symbols loaded (docs/debugging.md)
  --test          run every test: formatting, clippy, host unit tests and
                  the boot tests in QEMU (what CI runs)
  --bench         measure the memory path and the boot time and print a
                  table and a JSON line (docs/benchmarks.md); BENCH_RUNS
                  runs of each wall-clock figure (default 5)
  --soak          4 CPUs, both allocator modes: kalloctest (a million
                  rounds per CPU, then shorter ones) and the self-checks
                  in a loop for SOAK_SECONDS (default 600), the free count
                  checked throughout; reports rounds and failures (not part
                  of --test)
  --time-boot N   launch QEMU N times and print the milliseconds from each
                  launch to the monitor's first line (used by --bench; add
                  --monitor halt so that each run ends by itself)
  --lab-export LAB DIR
                  write the handout of lab LAB (labs/LAB/lab.toml) to DIR,
                  new or empty, as a git repository with one commit: LAB's
                  exercises become lab_todo! stubs (docs/labs.md)
  --grade LAB [TEST]
                  grade lab LAB in this tree (or only its test TEST): each
                  test in a boot of its own, a line per test, the points
                  and the score; results in target/grade/LAB/. Time limits
                  are multiplied by GRADE_TIME_FACTOR (default 1)
  --grade-batch LAB DIR
                  grade a class: DIR holds a directory per student with
                  the files the student edits; each is graded over LAB's
                  handout; one table, and target/grade-batch/LAB/results.*
  --lab-check [LAB]
                  the labs' self-check (part of --test): each handout
                  boots to a stub and grades to 0, the solution scores
                  full marks, each mutant loses its tests' points
  --setup         only install what is missing, then check that QEMU,
                  Bochs and GDB start on this machine

With no options the kernel boots into its monitor (prompt K>). Input may be
piped: printf 'meminfo\\nhalt\\n' | ./run-qemu.sh. The end of piped input
(Ctrl-D on a terminal) powers the machine off.

Exit status: 0 when the kernel powers off, 3 after a kernel panic, 5 when the
kernel was not booted by a Multiboot2 loader, 7 when the CPU lacks a feature
the kernel needs, 9 when it reached a lab exercise not written yet (a
handout's lab_todo!), 1 when the runner fails (a build, a tool), 2 for a
refused option, other values from QEMU itself. --grade exits 0 on full marks,
4 when graded without full marks, 1 when it could not grade (a build
failed: no score).
";

/// RAM for the guest unless `--mem` says otherwise, in MiB.
pub const DEFAULT_MEM_MIB: u32 = 512;
/// The least `--mem` that boots: the image claims the first 4 MiB
/// (linker.ld), and GRUB needs room of its own above it to load the
/// kernel. With less, GRUB stops at "out of memory" and waits for ever.
pub const MIN_MEM_MIB: u32 = 7;
/// QEMU's GDB port unless `GDBPORT` says otherwise.
pub const DEFAULT_GDB_PORT: u16 = 1234;
/// Wall-clock runs of each figure `--bench` takes the median of, unless
/// `BENCH_RUNS` says otherwise.
pub const DEFAULT_BENCH_RUNS: u32 = 5;

/// Characters GRUB's script language gives a meaning of their own: the
/// kernel command line goes into grub.cfg unquoted.
const GRUB_SPECIAL: &[char] = &['"', '\'', '\\', '$', ';', '{', '}', '|', '&', '<', '>', '`'];
/// Characters that would break out of the single quotes the monitor
/// commands sit in inside grub.cfg (a backslash: GRUB's own re-quoting).
const MONITOR_SPECIAL: &[char] = &['\'', '\\', '"', '\n'];

/// Which GRUB command loads the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loader {
    Multiboot2,
    /// GRUB's old `multiboot` command, which the kernel refuses.
    Multiboot1,
}

impl Loader {
    /// The GRUB command.
    pub fn grub_command(self) -> &'static str {
        match self {
            Loader::Multiboot2 => "multiboot2",
            Loader::Multiboot1 => "multiboot",
        }
    }
}

/// Which machine boots the ISO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emulator {
    Qemu,
    Bochs,
    /// Bochs stopped at its debugger's first prompt.
    BochsDebug,
}

/// One boot (or `--iso`): everything the options and the environment say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub mem_mib: u32,
    pub cpus: u32,
    pub cmdline: String,
    pub monitor: String,
    pub gdb: bool,
    pub gdb_port: u16,
    pub iso_only: bool,
    pub emulator: Emulator,
    pub junk: bool,
    pub strip: bool,
    pub module: Option<PathBuf>,
    pub loader: Loader,
    /// `--time-boot N`: launch N times and time each; 0 for a normal boot.
    pub time_boot: u32,
    pub qemu_extra: Vec<String>,
    /// The Bochs configuration (`XV6_BOCHSRC`), relative to the root or absolute.
    pub bochsrc: PathBuf,
    /// Bochs's log (`BOCHS_LOG`).
    pub bochs_log: PathBuf,
    /// `$DISPLAY` is set: QEMU may open a window.
    pub display: bool,
}

impl Options {
    /// The defaults, with the environment's variables.
    pub fn new(env: &dyn Fn(&str) -> Option<String>) -> Options {
        Options {
            mem_mib: DEFAULT_MEM_MIB,
            cpus: 1,
            cmdline: String::new(),
            monitor: String::new(),
            gdb: false,
            gdb_port: DEFAULT_GDB_PORT,
            iso_only: false,
            emulator: Emulator::Qemu,
            junk: true,
            strip: true,
            module: None,
            loader: Loader::Multiboot2,
            time_boot: 0,
            qemu_extra: Vec::new(),
            bochsrc: env("XV6_BOCHSRC").map_or_else(|| paths::BOCHSRC.into(), PathBuf::from),
            bochs_log: env("BOCHS_LOG").map_or_else(|| paths::BOCHS_LOG.into(), PathBuf::from),
            display: env("DISPLAY").is_some_and(|d| !d.is_empty()),
        }
    }
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Help,
    /// Install what is missing, then check that the tools start.
    Setup {
        bochsrc: PathBuf,
    },
    /// Every test step.
    Test,
    /// The benchmarks, `runs` wall-clock runs each.
    Bench {
        runs: u32,
    },
    /// The soak: kalloctest and the self-checks for `seconds`.
    Soak {
        seconds: u32,
    },
    /// Write a lab's handout to a new directory.
    LabExport {
        lab: String,
        dir: PathBuf,
    },
    /// Grade a lab in this tree (one test of it, if `only`), with every
    /// time limit multiplied by `factor`.
    Grade {
        lab: String,
        only: Option<String>,
        factor: u32,
    },
    /// Grade a class: a directory of student trees.
    GradeBatch {
        lab: String,
        dir: PathBuf,
    },
    /// The labs' self-check (one lab, if `only`).
    LabCheck {
        only: Option<String>,
        factor: u32,
    },
    /// Build (and boot, unless `--iso`).
    Boot(Box<Options>),
}

/// A refused command line: the reason, and whether the usage follows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub reason: String,
    pub show_usage: bool,
}

impl Refusal {
    fn new(reason: String) -> Refusal {
        Refusal {
            reason,
            show_usage: false,
        }
    }

    /// What the runner prints on standard error.
    pub fn message(&self) -> String {
        let mut m = format!("{NAME}: {}\n", self.reason);
        if self.show_usage {
            m.push_str(USAGE);
        }
        m
    }
}

/// Parse `args` (the program name left out) with `env` giving the
/// environment's variables. `--setup`, `--test`, `--bench` and `--help` act
/// as soon as they are read, as they always have.
pub fn parse<S: AsRef<str>>(
    args: &[S],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Action, Refusal> {
    let mut o = Options::new(env);
    let mut mem = DEFAULT_MEM_MIB.to_string();
    let mut cpus = "1".to_string();
    let mut time_boot = "0".to_string();
    let mut args = args.iter().map(AsRef::as_ref);
    while let Some(arg) = args.next() {
        // The value after an option; `nonempty`: an empty one is missing too.
        let mut value = |need: &str, nonempty: bool| match args.next() {
            Some(v) if !(nonempty && v.is_empty()) => Ok(v.to_string()),
            _ => Err(Refusal::new(format!("{arg} needs {need}"))),
        };
        match arg {
            "--mem" => mem = value("a size in MiB", true)?,
            "--smp" => cpus = value("a CPU count", true)?,
            "--cmdline" => o.cmdline = value("a string", false)?,
            "--monitor" => o.monitor = value("commands", false)?,
            "--gdb" => o.gdb = true,
            "--bochs" if o.emulator == Emulator::Qemu => o.emulator = Emulator::Bochs,
            "--bochs" => {}
            "--bochs-debug" => o.emulator = Emulator::BochsDebug,
            "--iso" => o.iso_only = true,
            "--no-junk" => o.junk = false,
            "--no-strip" => o.strip = false,
            "--module" => o.module = Some(value("a file", true)?.into()),
            "--multiboot1" => o.loader = Loader::Multiboot1,
            "--time-boot" => time_boot = value("a number of runs", true)?,
            "--setup" => {
                return Ok(Action::Setup { bochsrc: o.bochsrc });
            }
            "--test" => return Ok(Action::Test),
            "--lab-export" => {
                let lab = value("a lab and a directory", true)?;
                let dir = value("a directory after the lab", true)?;
                return Ok(Action::LabExport {
                    lab,
                    dir: dir.into(),
                });
            }
            "--grade" => {
                let lab = value("a lab", true)?;
                let only = last_optional(&mut args, arg)?;
                let factor = time_factor(env)?;
                return Ok(Action::Grade { lab, only, factor });
            }
            "--grade-batch" => {
                let lab = value("a lab and a directory", true)?;
                let dir = value("a directory of student trees after the lab", true)?;
                return Ok(Action::GradeBatch {
                    lab,
                    dir: dir.into(),
                });
            }
            "--lab-check" => {
                let only = last_optional(&mut args, arg)?;
                let factor = time_factor(env)?;
                return Ok(Action::LabCheck { only, factor });
            }
            "--bench" => return bench_runs(env).map(|runs| Action::Bench { runs }),
            "--soak" => return soak_seconds(env).map(|seconds| Action::Soak { seconds }),
            "-h" | "--help" => return Ok(Action::Help),
            "--" => {
                o.qemu_extra = args.by_ref().map(str::to_string).collect();
            }
            _ => {
                return Err(Refusal {
                    reason: format!("unknown option '{arg}'"),
                    show_usage: true,
                });
            }
        }
    }
    o.mem_mib = whole_number(&mem)
        .ok_or_else(|| Refusal::new(format!("--mem '{mem}' is not a whole number of MiB")))?;
    if o.mem_mib < MIN_MEM_MIB {
        return Err(Refusal::new(format!(
            "--mem {mem} is below {MIN_MEM_MIB} MiB: the kernel image claims the first 4 MiB \
             and GRUB needs room above it to load the kernel"
        )));
    }
    o.cpus = whole_number(&cpus)
        .filter(|&n| n >= 1 && !cpus.starts_with('0'))
        .ok_or_else(|| Refusal::new(format!("--smp '{cpus}' is not a CPU count >= 1")))?;
    if o.cmdline.contains(GRUB_SPECIAL) {
        return Err(Refusal::new(format!(
            "--cmdline '{}' contains a character GRUB's config would interpret (one of \" ' \\ $ ; {{ }} | & < > `)",
            o.cmdline
        )));
    }
    let kernel_cmdline = crate::iso::kernel_cmdline(&o.cmdline, &o.monitor).len();
    if kernel_cmdline > CMDLINE_MAX {
        return Err(Refusal::new(format!(
            "--cmdline and --monitor make a kernel command line of {kernel_cmdline} bytes; \
             the kernel reads at most {CMDLINE_MAX} (CMDLINE_MAX, src/protocol.rs)"
        )));
    }
    if o.monitor.contains(MONITOR_SPECIAL) {
        return Err(Refusal::new(format!(
            "--monitor '{}' contains a quote, a backslash or a newline; separate commands with ';'",
            o.monitor
        )));
    }
    if let Some(port) = env("GDBPORT") {
        o.gdb_port = whole_number(&port)
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| Refusal::new(format!("GDBPORT '{port}' is not a port number")))?;
    }
    if let Some(m) = &o.module
        && !m.is_file()
    {
        return Err(Refusal::new(format!(
            "--module '{}' is not a file",
            m.display()
        )));
    }
    o.time_boot = whole_number(&time_boot).ok_or_else(|| {
        Refusal::new(format!(
            "--time-boot '{time_boot}' is not a whole number of runs"
        ))
    })?;
    Ok(Action::Boot(Box::new(o)))
}

/// The one optional value that may end the command line after `option`
/// (a word not starting with `-`); anything after it is refused.
fn last_optional<'a>(
    args: &mut impl Iterator<Item = &'a str>,
    option: &str,
) -> Result<Option<String>, Refusal> {
    let value = args.next().map(str::to_string);
    if let Some(v) = &value
        && v.starts_with('-')
    {
        return Err(Refusal::new(format!(
            "{option} takes no option after it; found '{v}'"
        )));
    }
    match args.next() {
        Some(extra) => Err(Refusal::new(format!(
            "{option}: unexpected '{extra}' after '{}'",
            value.unwrap_or_default()
        ))),
        None => Ok(value),
    }
}

/// `GRADE_TIME_FACTOR`'s default: every limit as the manifest gives it.
pub const DEFAULT_TIME_FACTOR: u32 = 1;

/// How long `--soak` runs unless SOAK_SECONDS says otherwise.
pub const DEFAULT_SOAK_SECONDS: u32 = 600;

/// The environment variable `var`, a whole number at least 1, or `default`
/// when it is not set; a refusal naming the value and `what` it must be.
fn at_least_1(
    env: &dyn Fn(&str) -> Option<String>,
    var: &str,
    default: u32,
    what: &str,
) -> Result<u32, Refusal> {
    match env(var) {
        None => Ok(default),
        Some(v) => whole_number(&v)
            .filter(|&n| n >= 1)
            .ok_or_else(|| Refusal::new(format!("{var} '{v}' is not {what}"))),
    }
}

/// `BENCH_RUNS`: wall-clock runs of each figure.
fn bench_runs(env: &dyn Fn(&str) -> Option<String>) -> Result<u32, Refusal> {
    at_least_1(
        env,
        "BENCH_RUNS",
        DEFAULT_BENCH_RUNS,
        "a number of runs >= 1",
    )
}

/// `SOAK_SECONDS`: how long `--soak` runs.
fn soak_seconds(env: &dyn Fn(&str) -> Option<String>) -> Result<u32, Refusal> {
    at_least_1(
        env,
        "SOAK_SECONDS",
        DEFAULT_SOAK_SECONDS,
        "a number of seconds >= 1",
    )
}

/// `GRADE_TIME_FACTOR`: what the graded tests' time limits are multiplied
/// by on a slow machine.
fn time_factor(env: &dyn Fn(&str) -> Option<String>) -> Result<u32, Refusal> {
    at_least_1(
        env,
        "GRADE_TIME_FACTOR",
        DEFAULT_TIME_FACTOR,
        "a whole number >= 1 (it multiplies the tests' time limits)",
    )
}

/// `s` if it is digits only and fits a u32.
fn whole_number(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn boot(args: &[&str]) -> Options {
        match parse(args, &no_env) {
            Ok(Action::Boot(o)) => *o,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    fn refused(args: &[&str]) -> Refusal {
        parse(args, &no_env).expect_err(&format!("{args:?} must be refused"))
    }

    #[test]
    fn no_options_boot_with_the_defaults() {
        let o = boot(&[]);
        assert_eq!((o.mem_mib, o.cpus, o.gdb_port), (512, 1, 1234));
        assert!(o.junk && o.strip && !o.gdb && !o.iso_only);
        assert_eq!(o.emulator, Emulator::Qemu);
        assert_eq!(o.loader.grub_command(), "multiboot2");
        assert_eq!(o.bochsrc, PathBuf::from("boot/bochsrc"));
    }

    #[test]
    fn each_option_sets_its_field() {
        let o = boot(&[
            "--mem",
            "64",
            "--smp",
            "4",
            "--cmdline",
            "ktest=all",
            "--monitor",
            "meminfo;halt",
            "--gdb",
            "--no-junk",
            "--no-strip",
            "--multiboot1",
            "--bochs",
            "--iso",
            "--time-boot",
            "3",
            "--",
            "-icount",
            "shift=0",
            "--mem",
        ]);
        assert_eq!((o.mem_mib, o.cpus, o.time_boot), (64, 4, 3));
        assert_eq!(
            (o.cmdline.as_str(), o.monitor.as_str()),
            ("ktest=all", "meminfo;halt")
        );
        assert!(o.gdb && !o.junk && !o.strip && o.iso_only);
        assert_eq!(o.loader, Loader::Multiboot1);
        assert_eq!(o.emulator, Emulator::Bochs);
        assert_eq!(
            o.qemu_extra,
            ["-icount", "shift=0", "--mem"],
            "all after -- goes to QEMU"
        );
        assert_eq!(boot(&["--bochs-debug"]).emulator, Emulator::BochsDebug);
    }

    #[test]
    fn the_environment_gives_the_port_bochsrc_and_display() {
        let env = |k: &str| match k {
            "GDBPORT" => Some("4321".to_string()),
            "XV6_BOCHSRC" => Some("/tmp/rc".to_string()),
            "DISPLAY" => Some(":0".to_string()),
            _ => None,
        };
        let Ok(Action::Boot(o)) = parse(&["--gdb"], &env) else {
            panic!("a boot")
        };
        assert_eq!(
            (o.gdb_port, o.bochsrc.to_str(), o.display),
            (4321, Some("/tmp/rc"), true)
        );
        let bad = |k: &str| (k == "GDBPORT").then(|| "12ab".to_string());
        assert_eq!(
            parse(&[] as &[&str], &bad).unwrap_err().reason,
            "GDBPORT '12ab' is not a port number"
        );
    }

    #[test]
    fn bad_values_are_refused_naming_the_value_and_the_rule() {
        for (args, reason) in [
            (
                &["--mem", "lots"][..],
                "--mem 'lots' is not a whole number of MiB",
            ),
            (
                &["--mem", "-1"][..],
                "--mem '-1' is not a whole number of MiB",
            ),
            (&["--smp", "0"][..], "--smp '0' is not a CPU count >= 1"),
            (&["--smp", "02"][..], "--smp '02' is not a CPU count >= 1"),
            (
                &["--time-boot", "x"][..],
                "--time-boot 'x' is not a whole number of runs",
            ),
            (
                &["--module", "/no/such/file"][..],
                "--module '/no/such/file' is not a file",
            ),
            (&["--mem"][..], "--mem needs a size in MiB"),
            (&["--mem", ""][..], "--mem needs a size in MiB"),
            (&["--cmdline"][..], "--cmdline needs a string"),
            (
                &["--mem", "6"][..],
                "--mem 6 is below 7 MiB: the kernel image claims the first 4 MiB \
                 and GRUB needs room above it to load the kernel",
            ),
            (
                &[
                    "--cmdline",
                    &"x".repeat(CMDLINE_MAX - 14),
                    "--monitor",
                    "halt",
                ][..],
                "--cmdline and --monitor make a kernel command line of 8193 bytes; \
                 the kernel reads at most 8192 (CMDLINE_MAX, src/protocol.rs)",
            ),
            (
                &["--monitor", "a'b"][..],
                "--monitor 'a'b' contains a quote, a backslash or a newline; separate commands with ';'",
            ),
        ] {
            let r = refused(args);
            assert_eq!(r.reason, reason, "{args:?}");
            assert!(!r.show_usage, "{args:?}");
        }
        for c in ["a;b", "a$b", "a`b", "a|b", "a{b", "a\"b"] {
            assert!(
                refused(&["--cmdline", c])
                    .reason
                    .contains("contains a character GRUB's config would interpret"),
                "{c}"
            );
        }
        for m in ["a\"b", "x\\y", "a\nb"] {
            assert!(
                refused(&["--monitor", m])
                    .reason
                    .contains("contains a quote, a backslash")
            );
        }
        assert_eq!(
            boot(&["--cmdline", ""]).cmdline,
            "",
            "an empty command line is allowed"
        );
    }

    #[test]
    fn an_unknown_option_is_refused_with_the_usage() {
        let r = refused(&["--bogus"]);
        assert_eq!(r.reason, "unknown option '--bogus'");
        assert!(r.show_usage);
        let m = r.message();
        assert!(
            m.starts_with("run-qemu.sh: unknown option '--bogus'\nusage: ./run-qemu.sh"),
            "{m}"
        );
    }

    #[test]
    fn actions_take_effect_where_they_are_read() {
        assert_eq!(parse(&["--help", "--bogus"], &no_env), Ok(Action::Help));
        assert_eq!(parse(&["-h"], &no_env), Ok(Action::Help));
        assert_eq!(
            parse(&["--mem", "lots", "--test"], &no_env),
            Ok(Action::Test)
        );
        assert!(matches!(
            parse(&["--setup"], &no_env),
            Ok(Action::Setup { .. })
        ));
        assert_eq!(parse(&["--bench"], &no_env), Ok(Action::Bench { runs: 5 }));
        assert_eq!(
            parse(&["--soak"], &no_env),
            Ok(Action::Soak { seconds: 600 })
        );
        let soak = |k: &str| (k == "SOAK_SECONDS").then(|| "x".to_string());
        assert_eq!(
            parse(&["--soak"], &soak).unwrap_err().reason,
            "SOAK_SECONDS 'x' is not a number of seconds >= 1"
        );
        assert!(parse(&["--bogus", "--test"], &no_env).is_err());
        assert_eq!(
            parse(&["--lab-export", "kalloc", "/tmp/h"], &no_env),
            Ok(Action::LabExport {
                lab: "kalloc".into(),
                dir: "/tmp/h".into()
            })
        );
        assert_eq!(
            parse(&["--lab-export", "kalloc"], &no_env)
                .unwrap_err()
                .reason,
            "--lab-export needs a directory after the lab"
        );
        assert_eq!(
            parse(&["--grade", "kalloc"], &no_env),
            Ok(Action::Grade {
                lab: "kalloc".into(),
                only: None,
                factor: 1
            })
        );
        let slow = |k: &str| (k == "GRADE_TIME_FACTOR").then(|| "3".to_string());
        assert_eq!(
            parse(&["--grade", "kalloc", "lifo"], &slow),
            Ok(Action::Grade {
                lab: "kalloc".into(),
                only: Some("lifo".into()),
                factor: 3
            })
        );
        let zero = |k: &str| (k == "GRADE_TIME_FACTOR").then(|| "0".to_string());
        assert_eq!(
            parse(&["--grade", "kalloc"], &zero).unwrap_err().reason,
            "GRADE_TIME_FACTOR '0' is not a whole number >= 1 (it multiplies the tests' time limits)"
        );
        assert_eq!(
            parse(&["--grade"], &no_env).unwrap_err().reason,
            "--grade needs a lab"
        );
        assert_eq!(
            parse(&["--grade", "kalloc", "lifo", "junk"], &no_env)
                .unwrap_err()
                .reason,
            "--grade: unexpected 'junk' after 'lifo'"
        );
        assert_eq!(
            parse(&["--grade", "kalloc", "--mem", "64"], &no_env)
                .unwrap_err()
                .reason,
            "--grade takes no option after it; found '--mem'"
        );
        assert_eq!(
            parse(&["--grade-batch", "kalloc", "class"], &no_env),
            Ok(Action::GradeBatch {
                lab: "kalloc".into(),
                dir: "class".into()
            })
        );
        assert_eq!(
            parse(&["--grade-batch", "kalloc"], &no_env)
                .unwrap_err()
                .reason,
            "--grade-batch needs a directory of student trees after the lab"
        );
        assert_eq!(
            parse(&["--lab-check"], &no_env),
            Ok(Action::LabCheck {
                only: None,
                factor: 1
            })
        );
        assert_eq!(
            parse(&["--lab-check", "kalloc"], &no_env),
            Ok(Action::LabCheck {
                only: Some("kalloc".into()),
                factor: 1
            })
        );
        let one = |k: &str| (k == "BENCH_RUNS").then(|| "1".to_string());
        assert_eq!(parse(&["--bench"], &one), Ok(Action::Bench { runs: 1 }));
        let zero = |k: &str| (k == "BENCH_RUNS").then(|| "0".to_string());
        assert_eq!(
            parse(&["--bench"], &zero).unwrap_err().reason,
            "BENCH_RUNS '0' is not a number of runs >= 1"
        );
    }

    #[test]
    fn the_usage_names_every_option() {
        for o in [
            "--mem",
            "--smp",
            "--cmdline",
            "--monitor",
            "--gdb",
            "--iso",
            "--no-junk",
            "--no-strip",
            "--module",
            "--multiboot1",
            "--bochs",
            "--bochs-debug",
            "--test",
            "--bench",
            "--time-boot",
            "--lab-export",
            "--grade",
            "--grade-batch",
            "--lab-check",
            "--setup",
        ] {
            assert!(USAGE.contains(&format!("  {o} ")), "{o}");
        }
    }

    /// The usage text is written by hand: it must name every default and
    /// exit status as the code has them.
    #[test]
    fn the_usage_names_the_defaults_and_statuses_the_code_uses() {
        use crate::status;
        let usage = USAGE.replace('\n', " ");
        for n in [
            DEFAULT_MEM_MIB,
            MIN_MEM_MIB,
            DEFAULT_BENCH_RUNS,
            DEFAULT_SOAK_SECONDS,
        ] {
            assert!(
                usage.contains(&format!("default {n}")) || usage.contains(&format!("least {n}")),
                "{n}"
            );
        }
        assert!(usage.contains(&format!("(default {DEFAULT_GDB_PORT})")));
        for (n, what) in [
            (status::POWEROFF, "when the kernel powers off"),
            (status::PANIC, "after a kernel panic"),
            (status::BAD_BOOT, "when the kernel was not booted"),
            (status::NO_CPU_FEATURE, "when the CPU lacks a feature"),
            (status::LAB_TODO, "when it reached a lab exercise"),
            (status::FAILED, "when the runner fails"),
            (status::BAD_OPTION, "for a refused option"),
            (status::NOT_FULL_MARKS, "when graded without full marks"),
        ] {
            assert!(usage.contains(&format!("{n} {what}")), "{n} {what}");
        }
    }
}
