//! The runner's options: the command line as clap reads it (the options,
//! their help and the environment variables behind some), the rule each
//! value must follow, and what the whole line asks for (an [`Action`]).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, FromArgMatches, Parser};

use crate::protocol::{self, CMDLINE_MAX};
use crate::{NAME, paths};

/// RAM for the guest unless `--mem` says otherwise, in MiB.
pub const DEFAULT_MEM_MIB: u32 = 512;
/// The least `--mem` that boots to the shell: the image claims the first
/// 4 MiB (linker.ld), and GRUB needs room of its own above it to load the
/// kernel (7 MiB) and the 512 KB file system image beside it (8 MiB).
/// With less, GRUB stops at "out of memory" and waits for ever.
pub const MIN_MEM_MIB: u32 = 8;
/// CPUs unless `--smp` says otherwise.
pub const DEFAULT_CPUS: u32 = 1;
/// QEMU's GDB port unless `GDBPORT` says otherwise.
pub const DEFAULT_GDB_PORT: u16 = 1234;
/// Wall-clock runs of each figure `--bench` takes the median of, unless
/// `BENCH_RUNS` says otherwise.
pub const DEFAULT_BENCH_RUNS: u32 = 5;
/// How long `--soak` runs unless `SOAK_SECONDS` says otherwise.
pub const DEFAULT_SOAK_SECONDS: u32 = 600;
/// `GRADE_TIME_FACTOR`'s default: every limit as the manifest gives it.
pub const DEFAULT_TIME_FACTOR: u32 = 1;

/// Characters GRUB's script language gives a meaning of their own: the
/// kernel command line goes into grub.cfg unquoted.
const GRUB_SPECIAL: &[char] = &['"', '\'', '\\', '$', ';', '{', '}', '|', '&', '<', '>', '`'];
/// Characters that would break out of the single quotes the monitor
/// commands sit in inside grub.cfg (a backslash: GRUB's own re-quoting).
const MONITOR_SPECIAL: &[char] = &['\'', '\\', '"', '\n'];

/// The widest `--help` gets (on a wider terminal).
const HELP_WIDTH: usize = 100;
/// `--help`'s heading of the options that shape a boot.
const BOOT_HEADING: &str = "Boot options";
/// `--help`'s heading of the actions, each a mode of its own.
const ACTION_HEADING: &str = "Actions (each alone, without boot options)";

/// What `--help` prints after the options.
const AFTER_HELP: &str = "\
With no options the kernel boots from the project's own file system image
(user/, made by the runner's mkfs) into init and the shell ($ ); with
--monitor, into its monitor (K>). Input may be piped:
printf 'meminfo\\nhalt\\n' | ./run-qemu.sh --monitor. The end of piped input
(Ctrl-D on a terminal) powers the machine off.

Environment: GDBPORT (--gdb's port, default 1234), BENCH_RUNS (--bench's
runs of each wall-clock figure, default 5), SOAK_SECONDS (how long --soak
runs, default 600), GRADE_TIME_FACTOR (multiplies --grade's and
--lab-check's time limits, default 1), XV6_BOCHSRC (the Bochs
configuration, default boot/bochsrc), BOCHS_LOG (Bochs's log, default
target/bochs.log), DISPLAY (set: QEMU may open a window).

Exit status: 0 when the kernel powers off, 3 after a kernel panic, 5 when the
kernel was not booted by a Multiboot2 loader, 7 when the CPU lacks a feature
the kernel needs, 9 when it reached a lab exercise not written yet (a
handout's lab_todo!), 11 at a simulated power cut (powercut=N), 1 when the runner fails (a build, a tool), 2 for a
refused option, other values from QEMU itself. --grade exits 0 on full marks,
4 when graded without full marks, 1 when it could not grade (a build
failed: no score).";

/// The command line as clap reads it. The boot options and the actions
/// (each a mode of its own) exclude each other; so do the actions. An
/// option's value may start with '-' (`--mem -1` is refused for the
/// value, not taken for an option). The environment's variables are
/// options too, hidden: `--help` names them after the options.
#[derive(Parser, Debug)]
#[command(
    name = NAME,
    bin_name = "./run-qemu.sh",
    about = "Build the kernel, put it on a GRUB ISO and boot it in QEMU (or Bochs); \
             run the tests, the benchmarks and the labs' tools.",
    after_help = AFTER_HELP,
    disable_version_flag = true,
    max_term_width = HELP_WIDTH,
)]
struct Cli {
    #[command(flatten, next_help_heading = BOOT_HEADING)]
    boot: Boot,
    #[command(flatten, next_help_heading = ACTION_HEADING)]
    action: Actions,
    #[command(flatten)]
    env: Environment,
    /// With --grade-batch: grade N students at a time, each job in a
    /// grading tree of its own (each tree's first build is from scratch);
    /// the results are those of one job [default: 1]
    #[arg(long, value_name = "N", value_parser = job_count, help_heading = ACTION_HEADING)]
    jobs: Option<u32>,
    /// With --lab-mutate: grade only the first N mutants (they come one
    /// of each kind in turn, so any N samples every kind)
    #[arg(long, value_name = "N", value_parser = mutant_count, help_heading = ACTION_HEADING)]
    limit: Option<u32>,
}

/// The options that shape a boot.
#[derive(Args, Debug)]
#[group(id = "boot", multiple = true)]
struct Boot {
    /// RAM for the guest, in MiB (at least 8; PHYSTOP is 240 MiB)
    #[arg(long, value_name = "MIB", default_value_t = DEFAULT_MEM_MIB, value_parser = mem_mib,
          allow_hyphen_values = true)]
    mem: u32,

    /// Number of CPUs
    #[arg(long = "smp", value_name = "N", default_value_t = DEFAULT_CPUS, value_parser = cpu_count,
          allow_hyphen_values = true)]
    cpus: u32,

    /// Kernel command line, e.g. "halt" or "ktest=all"
    #[arg(long, value_name = "STR", default_value = "", hide_default_value = true,
          value_parser = grub_word, allow_hyphen_values = true)]
    cmdline: String,

    /// Boot into the kernel monitor (K>) instead of the shell, running
    /// CMDS first if given, separated by ';', e.g.
    /// "meminfo;showmappings 0x80100000;halt" (the kernel's monitor= option;
    /// works in Bochs too)
    #[arg(long, value_name = "CMDS", num_args = 0..=1, default_missing_value = "",
          value_parser = monitor_commands)]
    monitor: Option<String>,

    /// Start QEMU stopped before its first instruction, waiting for GDB on
    /// localhost:$GDBPORT (default 1234); then run  gdb -nx -x .gdbinit  in
    /// another terminal
    #[arg(long)]
    gdb: bool,

    /// Only build the kernel and the ISO; print the ISO's path
    #[arg(long)]
    iso: bool,

    /// Build without the kalloc/kfree junk fill (feature "junk")
    #[arg(long)]
    no_junk: bool,

    /// Put the whole kernel ELF on the ISO, debug info and symbol table
    /// included (by default they are stripped from the ISO's copy: GRUB
    /// loads every section, so they slow the boot, and nothing at run time
    /// needs them; GDB and Bochs read target/kernel/xv6). GRUB then puts its
    /// boot information and modules above 4 MiB: the tests use both layouts
    #[arg(long)]
    no_strip: bool,

    /// Hand FILE to the kernel as a Multiboot2 module
    #[arg(long, value_name = "FILE", value_parser = a_file, allow_hyphen_values = true,
          conflicts_with = "fs")]
    module: Option<PathBuf>,

    /// Boot with IMG, an image in xv6's file-system format (the peer's
    /// fs.img, or one mkfs made), as the RAM disk: the Multiboot2 module
    /// named `fs`
    #[arg(long, value_name = "IMG", value_parser = a_file, allow_hyphen_values = true)]
    fs: Option<PathBuf>,

    /// Boot with FILE, an image in xv6's file-system format (the peer's
    /// fs.img or ours: copy it first), as the root file system on the IDE
    /// disk (the kernel's root=ide); what the kernel writes stays in FILE
    #[arg(long, value_name = "FILE", value_parser = a_file, allow_hyphen_values = true,
          conflicts_with = "fs")]
    disk: Option<PathBuf>,

    /// Boot with GRUB's old `multiboot` command (the kernel must refuse it
    /// with a clear message; used by the tests)
    #[arg(long)]
    multiboot1: bool,

    /// Boot the same ISO in Bochs instead (headless; serial on stdout; Bochs
    /// exits 1 when the kernel powers off)
    #[arg(long)]
    bochs: bool,

    /// Boot in Bochs and stop in its debugger at the first instruction,
    /// kernel symbols loaded (docs/debugging.md)
    #[arg(long)]
    bochs_debug: bool,

    /// Launch QEMU N times and print the milliseconds from each launch to
    /// the monitor's first line (used by --bench; add --monitor halt so that
    /// each run ends by itself)
    #[arg(long, value_name = "N", default_value_t = 0, hide_default_value = true,
          value_parser = runs, allow_hyphen_values = true)]
    time_boot: u32,

    /// Extra arguments for QEMU, after --
    #[arg(last = true, value_name = "QEMU ARGS")]
    qemu_extra: Vec<String>,
}

/// The actions, each a mode of its own: one at a time, without boot
/// options (clap names the options it refuses with one).
#[derive(Args, Debug)]
#[group(id = "action", multiple = false, conflicts_with = "boot")]
struct Actions {
    /// Run every test: formatting, clippy, host unit tests and the boot
    /// tests in QEMU (what CI runs)
    #[arg(long)]
    test: bool,

    /// Measure the memory path and the boot time and print a table and a
    /// JSON line (docs/benchmarks.md); BENCH_RUNS runs of each wall-clock
    /// figure (default 5)
    #[arg(long)]
    bench: bool,

    /// 4 CPUs, every allocator mode: kalloctest (a million rounds per CPU,
    /// then shorter ones) and the self-checks in a loop for SOAK_SECONDS
    /// (default 600), then the project's usertests on the shell in a loop,
    /// the free count checked throughout; reports rounds and failures (not
    /// part of --test)
    #[arg(long)]
    soak: bool,

    /// Write the handout of lab LAB (labs/LAB/lab.toml) to DIR, new or
    /// empty, as a git repository with one commit: LAB's exercises become
    /// lab_todo! stubs (docs/labs.md)
    #[arg(long, num_args = 2, value_names = ["LAB", "DIR"])]
    lab_export: Option<Vec<String>>,

    /// Grade lab LAB in this tree (or only its test TEST): each test in a
    /// boot of its own, a line per test, the points and the score; results
    /// in target/grade/LAB/. Time limits are multiplied by GRADE_TIME_FACTOR
    /// (default 1)
    #[arg(long, num_args = 1..=2, value_names = ["LAB", "TEST"])]
    grade: Option<Vec<String>>,

    /// Grade a class: DIR holds a directory per student with the files the
    /// student edits; each is graded over LAB's handout; one table, and
    /// target/grade-batch/LAB/results.*
    #[arg(long, num_args = 2, value_names = ["LAB", "DIR"])]
    grade_batch: Option<Vec<String>>,

    /// The labs' self-check (part of --test): each handout boots to a stub
    /// and grades to 0, the solution scores full marks, each mutant loses
    /// its tests' points
    #[arg(long, num_args = 0..=1, value_name = "LAB")]
    lab_check: Option<Option<String>>,

    /// The teacher's mutation sweep of lab LAB: mutants of its solution
    /// regions made mechanically, each graded; a report with each
    /// survivor's diff in target/lab-mutate/LAB.md (not part of --test)
    #[arg(long, value_name = "LAB")]
    lab_mutate: Option<String>,

    /// Only install what is missing, then check that QEMU, Bochs and GDB
    /// start on this machine
    #[arg(long)]
    setup: bool,

    // The file-system checker and the crash sweep (xtask::fsck, xtask::crash).
    /// Check IMG, an xv6 file-system image: print one line per
    /// inconsistency (bitmap, ownership, nlink, sizes, ".." and loops, the
    /// log); exit 0 when it is clean, 1 otherwise
    #[arg(long, value_name = "IMG", value_parser = a_file, allow_hyphen_values = true)]
    fsck: Option<PathBuf>,

    /// Cut the power at every block write of the crash workload
    /// (crashload) on the IDE disk, recover, check each image with --fsck
    /// and the workload's promise; minutes (tests/crash.rs runs a sample)
    #[arg(long)]
    crash_sweep: bool,
}

/// The environment's variables the runner reads, each behind a hidden
/// option (`env =`), read by clap.
#[derive(Args, Debug)]
struct Environment {
    /// QEMU's GDB port for --gdb
    #[arg(long, env = "GDBPORT", value_name = "GDBPORT", hide = true,
          default_value_t = DEFAULT_GDB_PORT, value_parser = port)]
    gdb_port: u16,

    /// --bench's runs of each wall-clock figure (read when --bench runs)
    #[arg(long, env = "BENCH_RUNS", value_name = "BENCH_RUNS", hide = true)]
    bench_runs: Option<String>,

    /// How long --soak runs (read when --soak runs)
    #[arg(long, env = "SOAK_SECONDS", value_name = "SOAK_SECONDS", hide = true)]
    soak_seconds: Option<String>,

    /// What the graded tests' time limits are multiplied by on a slow
    /// machine (read when --grade or --lab-check runs)
    #[arg(
        long,
        env = "GRADE_TIME_FACTOR",
        value_name = "GRADE_TIME_FACTOR",
        hide = true
    )]
    grade_time_factor: Option<String>,

    /// The Bochs configuration, relative to the root or absolute
    #[arg(long, env = "XV6_BOCHSRC", value_name = "XV6_BOCHSRC", hide = true,
          default_value = paths::BOCHSRC)]
    bochsrc: PathBuf,

    /// Bochs's log
    #[arg(long, env = "BOCHS_LOG", value_name = "BOCHS_LOG", hide = true,
          default_value = paths::BOCHS_LOG)]
    bochs_log: PathBuf,

    /// The X display: set, QEMU may open a window
    #[arg(long, env = "DISPLAY", value_name = "DISPLAY", hide = true)]
    display: Option<String>,
}

/// `s` if it is digits only and fits a u32.
fn whole_number(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `--mem`: a whole number of MiB, at least MIN_MEM_MIB.
fn mem_mib(s: &str) -> Result<u32, String> {
    let mib = whole_number(s).ok_or("not a whole number of MiB")?;
    if mib < MIN_MEM_MIB {
        return Err(format!(
            "at least {MIN_MEM_MIB} MiB are needed: the kernel image claims the first 4 MiB \
             and GRUB needs room above it to load the kernel and the file system image"
        ));
    }
    Ok(mib)
}

/// `--smp`: a CPU count, at least 1, without a leading zero.
fn cpu_count(s: &str) -> Result<u32, String> {
    whole_number(s)
        .filter(|&n| n >= 1 && !s.starts_with('0'))
        .ok_or_else(|| "not a CPU count >= 1".into())
}

/// `--jobs`: a whole number of grading jobs, at least 1.
fn job_count(s: &str) -> Result<u32, String> {
    whole_number(s)
        .filter(|&n| n >= 1 && !s.starts_with('0'))
        .ok_or_else(|| "not a number of jobs >= 1".into())
}

/// `--limit`: a whole number of mutants, at least 1.
fn mutant_count(s: &str) -> Result<u32, String> {
    whole_number(s)
        .filter(|&n| n >= 1)
        .ok_or_else(|| "not a number of mutants >= 1".into())
}

/// `--time-boot`: a whole number of runs (0: a normal boot).
fn runs(s: &str) -> Result<u32, String> {
    whole_number(s).ok_or_else(|| "not a whole number of runs".into())
}

/// `--cmdline`: nothing GRUB's config would interpret.
fn grub_word(s: &str) -> Result<String, String> {
    if s.contains(GRUB_SPECIAL) {
        return Err(
            "contains a character GRUB's config would interpret (one of \" ' \\ $ ; { } | & < > `)"
                .into(),
        );
    }
    Ok(s.to_string())
}

/// Does this boot go to the shell on the project's own image? Not when
/// another image or module is given, the monitor is asked for, or the
/// kernel's command line ends the boot before (ktest=, bench, halt).
fn boots_to_shell(b: &Boot) -> bool {
    let ends_first = b.cmdline.split_whitespace().any(|w| {
        w == protocol::HALT_OPTION
            || w == protocol::BENCH_OPTION
            || w.starts_with(protocol::KTEST_OPTION)
    });
    b.fs.is_none() && b.disk.is_none() && b.module.is_none() && b.monitor.is_none() && !ends_first
}

/// `--monitor`: nothing that breaks out of grub.cfg's single quotes.
fn monitor_commands(s: &str) -> Result<String, String> {
    if s.contains(MONITOR_SPECIAL) {
        return Err(
            "contains a quote, a backslash or a newline; separate commands with ';'".into(),
        );
    }
    Ok(s.to_string())
}

/// The name `--module` gives its file, and the one `--fs` gives (the
/// kernel's `memide::FS_MODULE`).
pub const MODULE: &str = "module";
pub const FS_MODULE: &str = "fs";

/// `--module`: a file that is there.
fn a_file(s: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(s);
    match path.is_file() {
        true => Ok(path),
        false => Err("not a file".into()),
    }
}

/// An environment variable read only by the action that uses it (so that
/// a bad one does not stop other commands): a whole number >= 1, or
/// `default` when it is not set; the refusal names `var`, its value and
/// `what` it must be.
fn at_least_1(var: &str, value: &Option<String>, default: u32, what: &str) -> Result<u32, String> {
    match value {
        None => Ok(default),
        Some(v) => whole_number(v)
            .filter(|&n| n >= 1)
            .ok_or_else(|| format!("invalid value '{v}' for '{var}': not {what}")),
    }
}

/// `GDBPORT`: a port number.
fn port(s: &str) -> Result<u16, String> {
    whole_number(s)
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(|| "not a port number".into())
}

/// The kernel command line as grub.cfg writes it: `cmdline`, then the
/// monitor commands in single quotes (GRUB hands the kernel as many bytes).
pub fn kernel_cmdline(cmdline: &str, monitor: &str) -> String {
    let mut line = cmdline.to_string();
    if !monitor.is_empty() {
        line.push_str(&format!(" 'monitor={monitor}'"));
    }
    line
}

/// The kernel command line with `--disk`: `cmdline` and `root=ide`.
fn disk_cmdline(cmdline: &str) -> String {
    let root = format!("{}={}", protocol::ROOT_OPTION, protocol::ROOT_IDE);
    match cmdline.is_empty() {
        true => root,
        false => format!("{cmdline} {root}"),
    }
}

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
    /// The module's name on its `module2` line: `fs` for `--fs`.
    pub module_name: &'static str,
    /// `--disk FILE`: the IDE disk (absolute), the root file system.
    pub disk: Option<PathBuf>,
    /// No `--fs`, `--module` or `--monitor`, and a command line that does
    /// not power off first: boot the project's own image into the shell.
    pub default_fs: bool,
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

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Install what is missing, then check that the tools start.
    Setup { bochsrc: PathBuf },
    /// Every test step.
    Test,
    /// The benchmarks, `runs` wall-clock runs each.
    Bench { runs: u32 },
    /// The soak: kalloctest and the self-checks for `seconds`.
    Soak { seconds: u32 },
    /// Write a lab's handout to a new directory.
    LabExport { lab: String, dir: PathBuf },
    /// Grade a lab in this tree (one test of it, if `only`), with every
    /// time limit multiplied by `factor`.
    Grade {
        lab: String,
        only: Option<String>,
        factor: u32,
    },
    /// Grade a class: a directory of student trees, `jobs` students at a
    /// time.
    GradeBatch {
        lab: String,
        dir: PathBuf,
        jobs: u32,
    },
    /// The labs' self-check (one lab, if `only`).
    LabCheck { only: Option<String>, factor: u32 },
    /// Check an image (`--fsck`).
    Fsck { image: PathBuf },
    /// Every cut point of the crash workload (`--crash-sweep`).
    CrashSweep,
    /// The mutation sweep of a lab, its first `limit` mutants (all: None).
    LabMutate { lab: String, limit: Option<u32> },
    /// Build (and boot, unless `--iso`).
    Boot(Box<Options>),
}

/// A refused command line, or `--help`: clap's error, which prints
/// itself (the help on standard output, a refusal on standard error).
pub type Refusal = clap::Error;

/// Parse `args` (the program name left out), the environment's variables
/// read from this process's environment.
pub fn parse<S: AsRef<str>>(args: &[S]) -> Result<Action, Refusal> {
    parse_with(Cli::command(), args.iter().map(|a| a.as_ref().to_string()))
}

/// Parse `args` with `env` as the whole environment (the process's own is
/// not read): for callers that must not depend on it, the tests among them.
pub fn parse_with_env<S: AsRef<str>>(args: &[S], env: &[(&str, &str)]) -> Result<Action, Refusal> {
    let command = Cli::command();
    // Each variable becomes the hidden option it backs, put first.
    let mut given = Vec::new();
    for (var, value) in env {
        let option = command
            .get_arguments()
            .find(|a| a.get_env().is_some_and(|e| e == *var))
            .and_then(|a| a.get_long());
        if let Some(long) = option {
            given.push(format!("--{long}={value}"));
        }
    }
    let command = command.mut_args(|a| a.env(None));
    parse_with(
        command,
        given
            .into_iter()
            .chain(args.iter().map(|a| a.as_ref().to_string())),
    )
}

/// Parse `args` with `command`, then check what no single option can.
fn parse_with(
    mut command: clap::Command,
    args: impl Iterator<Item = String>,
) -> Result<Action, Refusal> {
    let argv = std::iter::once(OsString::from(NAME)).chain(args.map(OsString::from));
    let matches = command.try_get_matches_from_mut(argv)?;
    let cli = Cli::from_arg_matches(&matches)?;
    let mut refuse = |why: String| command.error(ErrorKind::ValueValidation, why);
    let factor = || {
        at_least_1(
            "GRADE_TIME_FACTOR",
            &cli.env.grade_time_factor,
            DEFAULT_TIME_FACTOR,
            "a whole number >= 1 (it multiplies the tests' time limits)",
        )
    };
    let two = |values: &[String]| (values[0].clone(), values[1].clone());
    if cli.jobs.is_some() && cli.action.grade_batch.is_none() {
        return Err(refuse("--jobs <N> goes with --grade-batch only".into()));
    }
    if let Some(lab) = &cli.action.lab_mutate {
        let (lab, limit) = (lab.clone(), cli.limit);
        return Ok(Action::LabMutate { lab, limit });
    }
    if cli.limit.is_some() {
        return Err(refuse("--limit <N> goes with --lab-mutate only".into()));
    }
    if cli.action.setup {
        return Ok(Action::Setup {
            bochsrc: cli.env.bochsrc,
        });
    }
    if cli.action.test {
        return Ok(Action::Test);
    }
    if cli.action.bench {
        let runs = at_least_1(
            "BENCH_RUNS",
            &cli.env.bench_runs,
            DEFAULT_BENCH_RUNS,
            "a number of runs >= 1",
        )
        .map_err(refuse)?;
        return Ok(Action::Bench { runs });
    }
    if cli.action.soak {
        let seconds = at_least_1(
            "SOAK_SECONDS",
            &cli.env.soak_seconds,
            DEFAULT_SOAK_SECONDS,
            "a number of seconds >= 1",
        )
        .map_err(refuse)?;
        return Ok(Action::Soak { seconds });
    }
    if let Some(v) = &cli.action.lab_export {
        let (lab, dir) = two(v);
        let dir = dir.into();
        return Ok(Action::LabExport { lab, dir });
    }
    if let Some(v) = &cli.action.grade {
        let factor = factor().map_err(refuse)?;
        let (lab, only) = (v[0].clone(), v.get(1).cloned());
        return Ok(Action::Grade { lab, only, factor });
    }
    if let Some(v) = &cli.action.grade_batch {
        let (lab, dir) = two(v);
        let dir = dir.into();
        let jobs = cli.jobs.unwrap_or(1);
        return Ok(Action::GradeBatch { lab, dir, jobs });
    }
    if let Some(only) = &cli.action.lab_check {
        let factor = factor().map_err(refuse)?;
        let only = only.clone();
        return Ok(Action::LabCheck { only, factor });
    }
    if let Some(image) = cli.action.fsck {
        return Ok(Action::Fsck { image });
    }
    if cli.action.crash_sweep {
        return Ok(Action::CrashSweep);
    }
    let default_fs = boots_to_shell(&cli.boot);
    let mut cli = cli;
    // --disk: the kernel mounts the IDE disk instead of the RAM disk.
    let disk = cli
        .boot
        .disk
        .take()
        .map(|d| std::path::absolute(&d).unwrap_or(d));
    if disk.is_some() {
        cli.boot.cmdline = disk_cmdline(&cli.boot.cmdline);
    }
    let monitor = cli.boot.monitor.unwrap_or_default();
    let kernel_cmdline = kernel_cmdline(&cli.boot.cmdline, &monitor).len();
    if kernel_cmdline > CMDLINE_MAX {
        return Err(refuse(format!(
            "--cmdline and --monitor make a kernel command line of {kernel_cmdline} bytes; \
             the kernel reads at most {CMDLINE_MAX} (CMDLINE_MAX, src/protocol.rs)"
        )));
    }
    Ok(Action::Boot(Box::new(Options {
        mem_mib: cli.boot.mem,
        cpus: cli.boot.cpus,
        cmdline: cli.boot.cmdline,
        monitor,
        default_fs,
        gdb: cli.boot.gdb,
        gdb_port: cli.env.gdb_port,
        iso_only: cli.boot.iso,
        emulator: match (cli.boot.bochs_debug, cli.boot.bochs) {
            (true, _) => Emulator::BochsDebug,
            (false, true) => Emulator::Bochs,
            (false, false) => Emulator::Qemu,
        },
        junk: !cli.boot.no_junk,
        strip: !cli.boot.no_strip,
        module_name: match cli.boot.fs {
            Some(_) => FS_MODULE,
            None => MODULE,
        },
        module: cli.boot.module.or(cli.boot.fs),
        disk,
        loader: match cli.boot.multiboot1 {
            true => Loader::Multiboot1,
            false => Loader::Multiboot2,
        },
        time_boot: cli.boot.time_boot,
        qemu_extra: cli.boot.qemu_extra,
        bochsrc: cli.env.bochsrc,
        bochs_log: cli.env.bochs_log,
        display: cli.env.display.is_some_and(|d| !d.is_empty()),
    })))
}

/// What `--help` prints.
pub fn help() -> String {
    Cli::command().render_long_help().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Action, Refusal> {
        parse_with_env(args, &[])
    }

    fn boot(args: &[&str]) -> Options {
        match parse(args) {
            Ok(Action::Boot(o)) => *o,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    /// What the runner prints for the refusal of `args`.
    fn refused(args: &[&str]) -> String {
        let e = parse(args).expect_err(&format!("{args:?} must be refused"));
        assert_ne!(e.kind(), ErrorKind::DisplayHelp, "{args:?}");
        assert_eq!(e.exit_code(), crate::status::BAD_OPTION, "{args:?}");
        e.render().to_string()
    }

    #[test]
    fn no_options_boot_with_the_defaults() {
        let o = boot(&[]);
        assert_eq!((o.mem_mib, o.cpus, o.gdb_port), (512, 1, 1234));
        assert!(o.junk && o.strip && !o.gdb && !o.iso_only && !o.display);
        assert_eq!((o.cmdline.as_str(), o.monitor.as_str()), ("", ""));
        assert_eq!((o.time_boot, o.module.clone()), (0, None));
        assert_eq!(o.emulator, Emulator::Qemu);
        assert_eq!(o.loader.grub_command(), "multiboot2");
        assert_eq!(o.bochsrc, PathBuf::from("boot/bochsrc"));
        assert_eq!(o.bochs_log, PathBuf::from("target/bochs.log"));
    }

    #[test]
    fn a_plain_boot_goes_to_the_shell_and_the_monitor_is_one_option_away() {
        let img = std::env::current_exe().unwrap();
        let img = img.to_str().unwrap();
        for args in [
            &[][..],
            &["--smp", "2"],
            &["--cmdline", "fork=copy"],
            &["--gdb"],
        ] {
            assert!(boot(args).default_fs, "{args:?} boots the shell");
        }
        for args in [
            &["--monitor"][..],
            &["--monitor", "meminfo;halt"],
            &["--monitor", "--smp", "2"],
            &["--fs", img],
            &["--module", img],
            &["--cmdline", "ktest=all"],
            &["--cmdline", "halt"],
            &["--cmdline", "kalloc=percpu bench"],
        ] {
            assert!(
                !boot(args).default_fs,
                "{args:?} does not boot the project's image"
            );
        }
        let o = boot(&["--monitor", "--smp", "2"]);
        assert_eq!(
            (o.monitor.as_str(), o.cpus),
            ("", 2),
            "--monitor takes no value that starts with -"
        );
    }

    #[test]
    fn fs_hands_its_image_over_as_the_module_named_fs() {
        let img = std::env::current_exe().unwrap();
        let img = img.to_str().unwrap();
        let o = boot(&["--fs", img]);
        assert_eq!(
            (o.module.as_deref(), o.module_name),
            (Some(std::path::Path::new(img)), FS_MODULE)
        );
        assert_eq!(boot(&["--module", img]).module_name, MODULE);
        let both = refused(&["--fs", img, "--module", img]);
        assert!(both.contains("cannot be used with"), "{both}");
        let missing = refused(&["--fs", "/no/such/fs.img"]);
        assert!(
            missing.contains("'/no/such/fs.img'") && missing.contains("not a file"),
            "{missing}"
        );
    }

    #[test]
    fn disk_boots_its_file_on_the_ide_disk_and_a_missing_one_is_named() {
        let img = std::env::current_exe().unwrap();
        let img = img.to_str().unwrap();
        let o = boot(&["--disk", img, "--cmdline", "fork=copy"]);
        assert_eq!(o.disk.as_deref(), Some(std::path::Path::new(img)));
        assert_eq!(o.cmdline, "fork=copy root=ide");
        assert!(
            !o.default_fs,
            "the root is the disk, not the project's RAM image"
        );
        assert_eq!(boot(&["--disk", img]).cmdline, "root=ide");
        assert_eq!(boot(&[]).disk, None);
        let missing = refused(&["--disk", "/no/such/disk.img"]);
        assert!(
            missing.contains("invalid value '/no/such/disk.img' for '--disk <FILE>': not a file"),
            "{missing}"
        );
        assert!(refused(&["--disk", img, "--fs", img]).contains("cannot be used with"));
    }

    #[test]
    fn each_option_sets_its_field() {
        let module = std::env::current_exe().unwrap();
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
            "--module",
            module.to_str().unwrap(),
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
        assert_eq!(o.module, Some(module));
        assert_eq!(o.loader, Loader::Multiboot1);
        assert_eq!(o.emulator, Emulator::Bochs);
        assert_eq!(
            o.qemu_extra,
            ["-icount", "shift=0", "--mem"],
            "all after -- goes to QEMU"
        );
        assert_eq!(boot(&["--bochs-debug"]).emulator, Emulator::BochsDebug);
        assert_eq!(
            boot(&["--bochs-debug", "--bochs"]).emulator,
            Emulator::BochsDebug,
            "--bochs-debug is Bochs with its debugger, whatever the order"
        );
    }

    #[test]
    fn the_environment_gives_the_port_bochsrc_log_and_display() {
        let env = [
            ("GDBPORT", "4321"),
            ("XV6_BOCHSRC", "/tmp/rc"),
            ("BOCHS_LOG", "/tmp/log"),
            ("DISPLAY", ":0"),
            ("HOME", "/root"),
        ];
        let Ok(Action::Boot(o)) = parse_with_env(&["--gdb"], &env) else {
            panic!("a boot")
        };
        assert_eq!(
            (
                o.gdb_port,
                o.bochsrc.to_str(),
                o.bochs_log.to_str(),
                o.display
            ),
            (4321, Some("/tmp/rc"), Some("/tmp/log"), true)
        );
        let Ok(Action::Boot(o)) = parse_with_env(&[] as &[&str], &[("DISPLAY", "")]) else {
            panic!("a boot")
        };
        assert!(!o.display, "an empty DISPLAY is no display");
        let e = parse_with_env(&[] as &[&str], &[("GDBPORT", "12ab")]).unwrap_err();
        let m = e.render().to_string();
        assert!(
            m.contains("invalid value '12ab'")
                && m.contains("GDBPORT")
                && m.contains("not a port number"),
            "{m}"
        );
    }

    /// clap reads each variable the runner documents from the process's
    /// environment: the `env =` of the option it backs.
    #[test]
    fn each_variable_is_read_from_the_environment_by_clap() {
        let command = Cli::command();
        let vars: Vec<&str> = command
            .get_arguments()
            .filter_map(|a| a.get_env())
            .map(|e| e.to_str().unwrap())
            .collect();
        assert_eq!(
            vars,
            [
                "GDBPORT",
                "BENCH_RUNS",
                "SOAK_SECONDS",
                "GRADE_TIME_FACTOR",
                "XV6_BOCHSRC",
                "BOCHS_LOG",
                "DISPLAY"
            ]
        );
        let help = help().replace('\n', " ");
        for var in vars {
            assert!(help.contains(var), "--help names {var}");
        }
    }

    #[test]
    fn bad_values_are_refused_naming_the_value_and_the_rule() {
        for (args, says) in [
            (
                &["--mem", "lots"][..],
                "invalid value 'lots' for '--mem <MIB>': not a whole number of MiB",
            ),
            (
                &["--mem", "-1"][..],
                "invalid value '-1' for '--mem <MIB>': not a whole number of MiB",
            ),
            (
                &["--mem", ""][..],
                "invalid value '' for '--mem <MIB>': not a whole number of MiB",
            ),
            (
                &["--smp", "0"][..],
                "invalid value '0' for '--smp <N>': not a CPU count >= 1",
            ),
            (
                &["--smp", "02"][..],
                "invalid value '02' for '--smp <N>': not a CPU count >= 1",
            ),
            (
                &["--time-boot", "x"][..],
                "invalid value 'x' for '--time-boot <N>': not a whole number of runs",
            ),
            (
                &["--module", "/no/such/file"][..],
                "invalid value '/no/such/file' for '--module <FILE>': not a file",
            ),
            (&["--mem"][..], "a value is required for '--mem <MIB>'"),
            (
                &["--cmdline"][..],
                "a value is required for '--cmdline <STR>'",
            ),
            (
                &["--mem", "7"][..],
                "invalid value '7' for '--mem <MIB>': at least 8 MiB are needed: the kernel \
                 image claims the first 4 MiB and GRUB needs room above it to load the kernel \
                 and the file system image",
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
                "invalid value 'a'b' for '--monitor [<CMDS>]': contains a quote, a backslash \
                 or a newline; separate commands with ';'",
            ),
        ] {
            let m = refused(args);
            assert!(m.contains(says), "{args:?}: {m}");
        }
        for c in ["a;b", "a$b", "a`b", "a|b", "a{b", "a\"b"] {
            let m = refused(&["--cmdline", c]);
            assert!(
                m.contains(&format!(
                    "invalid value '{c}' for '--cmdline <STR>': \
                     contains a character GRUB's config would interpret"
                )),
                "{m}"
            );
        }
        for m in ["a\"b", "x\\y", "a\nb"] {
            assert!(refused(&["--monitor", m]).contains("contains a quote, a backslash"));
        }
        assert_eq!(
            boot(&["--cmdline", ""]).cmdline,
            "",
            "an empty command line is allowed"
        );
    }

    #[test]
    fn an_unknown_option_is_refused_naming_it() {
        let m = refused(&["--bogus"]);
        assert!(m.contains("unexpected argument '--bogus'"), "{m}");
        assert!(m.contains("Usage: ./run-qemu.sh"), "{m}");
    }

    #[test]
    fn help_is_asked_for_anywhere() {
        for args in [&["--help"][..], &["-h"], &["--mem", "64", "--help"]] {
            let e = parse(args).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::DisplayHelp, "{args:?}");
            assert_eq!(e.exit_code(), 0);
        }
    }

    #[test]
    fn each_action_and_its_values() {
        assert_eq!(parse(&["--test"]).unwrap(), Action::Test);
        assert!(matches!(parse(&["--setup"]), Ok(Action::Setup { .. })));
        assert_eq!(parse(&["--bench"]).unwrap(), Action::Bench { runs: 5 });
        assert_eq!(parse(&["--soak"]).unwrap(), Action::Soak { seconds: 600 });
        assert_eq!(
            parse(&["--lab-export", "kalloc", "/tmp/h"]).unwrap(),
            Action::LabExport {
                lab: "kalloc".into(),
                dir: "/tmp/h".into()
            }
        );
        assert_eq!(
            parse(&["--grade", "kalloc"]).unwrap(),
            Action::Grade {
                lab: "kalloc".into(),
                only: None,
                factor: 1
            }
        );
        assert_eq!(
            parse_with_env(
                &["--grade", "kalloc", "lifo"],
                &[("GRADE_TIME_FACTOR", "3")]
            )
            .unwrap(),
            Action::Grade {
                lab: "kalloc".into(),
                only: Some("lifo".into()),
                factor: 3
            }
        );
        assert_eq!(
            parse(&["--grade-batch", "kalloc", "class"]).unwrap(),
            Action::GradeBatch {
                lab: "kalloc".into(),
                dir: "class".into(),
                jobs: 1
            }
        );
        assert_eq!(
            parse(&["--grade-batch", "kalloc", "class", "--jobs", "3"]).unwrap(),
            Action::GradeBatch {
                lab: "kalloc".into(),
                dir: "class".into(),
                jobs: 3
            }
        );
        assert_eq!(
            parse(&["--lab-check"]).unwrap(),
            Action::LabCheck {
                only: None,
                factor: 1
            }
        );
        assert_eq!(
            parse(&["--lab-check", "kalloc"]).unwrap(),
            Action::LabCheck {
                only: Some("kalloc".into()),
                factor: 1
            }
        );
        assert_eq!(
            parse(&["--lab-mutate", "kalloc", "--limit", "3"]).unwrap(),
            Action::LabMutate {
                lab: "kalloc".into(),
                limit: Some(3)
            }
        );
        assert_eq!(
            parse(&["--lab-mutate", "cow"]).unwrap(),
            Action::LabMutate {
                lab: "cow".into(),
                limit: None
            }
        );
        assert_eq!(
            parse_with_env(&["--bench"], &[("BENCH_RUNS", "1")]).unwrap(),
            Action::Bench { runs: 1 }
        );
    }

    #[test]
    fn an_actions_values_are_checked_and_a_variable_only_by_its_action() {
        let refused_with = |args: &[&str], env: &[(&str, &str)]| {
            parse_with_env(args, env)
                .expect_err(&format!("{args:?} {env:?} must be refused"))
                .render()
                .to_string()
        };
        for (args, env, says) in [
            (
                &["--soak"][..],
                &[("SOAK_SECONDS", "x")][..],
                "invalid value 'x' for 'SOAK_SECONDS': not a number of seconds >= 1",
            ),
            (
                &["--bench"],
                &[("BENCH_RUNS", "0")],
                "invalid value '0' for 'BENCH_RUNS': not a number of runs >= 1",
            ),
            (
                &["--grade", "kalloc"],
                &[("GRADE_TIME_FACTOR", "0")],
                "invalid value '0' for 'GRADE_TIME_FACTOR': not a whole number >= 1 \
                 (it multiplies the tests' time limits)",
            ),
            (
                &["--lab-export", "kalloc"],
                &[],
                "2 values required for '--lab-export <LAB> <DIR>' but 1 was provided",
            ),
            (
                &["--grade-batch", "kalloc"],
                &[],
                "2 values required for '--grade-batch <LAB> <DIR>' but 1 was provided",
            ),
            (
                &["--grade"],
                &[],
                "a value is required for '--grade <LAB> [TEST]'",
            ),
            (
                &["--grade-batch", "kalloc", "class", "--jobs", "0"],
                &[],
                "invalid value '0' for '--jobs <N>': not a number of jobs >= 1",
            ),
            (
                &["--grade", "kalloc", "--jobs", "2"],
                &[],
                "--jobs <N> goes with --grade-batch only",
            ),
            (
                &["--grade", "kalloc", "--limit", "2"],
                &[],
                "--limit <N> goes with --lab-mutate only",
            ),
            (
                &["--lab-mutate", "kalloc", "--limit", "0"],
                &[],
                "invalid value '0' for '--limit <N>': not a number of mutants >= 1",
            ),
            (
                &["--grade", "kalloc", "lifo", "junk"],
                &[],
                "unexpected argument 'junk' found",
            ),
        ] {
            let m = refused_with(args, env);
            assert!(m.contains(says), "{args:?} {env:?}: {m}");
        }
        // Read only where used: a boot does not look at --bench's runs.
        assert!(matches!(
            parse_with_env(
                &[] as &[&str],
                &[("BENCH_RUNS", "0"), ("SOAK_SECONDS", "x")]
            ),
            Ok(Action::Boot(_))
        ));
    }

    /// An action is a mode of its own: it takes no boot option and no
    /// other action.
    #[test]
    fn an_action_excludes_the_boot_options_and_the_other_actions() {
        for args in [
            &["--grade", "kalloc", "--mem", "64"][..],
            &["--mem", "64", "--grade", "kalloc"],
            &["--test", "--mem", "64"],
            &["--bench", "--no-junk"],
            &["--test", "--bench"],
            &["--lab-check", "--", "-icount"],
        ] {
            let m = refused(args);
            assert!(m.contains("cannot be used with"), "{args:?}: {m}");
        }
    }

    #[test]
    fn the_help_names_every_option() {
        let help = help();
        for o in [
            "--mem <MIB>",
            "--smp <N>",
            "--cmdline <STR>",
            "--monitor [<CMDS>]",
            "--gdb",
            "--iso",
            "--no-junk",
            "--no-strip",
            "--module <FILE>",
            "--disk <FILE>",
            "--multiboot1",
            "--bochs",
            "--bochs-debug",
            "--test",
            "--bench",
            "--soak",
            "--time-boot <N>",
            "--lab-export <LAB> <DIR>",
            "--grade <LAB> [TEST]",
            "--grade-batch <LAB> <DIR>",
            "--jobs <N>",
            "--lab-check [<LAB>]",
            "--setup",
            "-h, --help",
        ] {
            assert!(help.contains(&format!("  {o}")), "{o}\n{help}");
        }
    }

    /// The help's prose is written by hand: it must name every default and
    /// exit status as the code has them.
    #[test]
    fn the_help_names_the_defaults_and_statuses_the_code_uses() {
        use crate::status;
        let help = help().split_whitespace().collect::<Vec<_>>().join(" ");
        for n in [DEFAULT_MEM_MIB, DEFAULT_CPUS] {
            assert!(help.contains(&format!("[default: {n}]")), "{n}");
        }
        assert!(help.contains(&format!("at least {MIN_MEM_MIB}")));
        for (var, n) in [
            ("GDBPORT", DEFAULT_GDB_PORT.into()),
            ("BENCH_RUNS", DEFAULT_BENCH_RUNS),
            ("SOAK_SECONDS", DEFAULT_SOAK_SECONDS),
            ("GRADE_TIME_FACTOR", DEFAULT_TIME_FACTOR),
        ] {
            assert!(help.contains(&format!(", default {n})")), "{var} {n}");
        }
        for (n, what) in [
            (status::POWEROFF, "when the kernel powers off"),
            (status::PANIC, "after a kernel panic"),
            (status::BAD_BOOT, "when the kernel was not booted"),
            (status::NO_CPU_FEATURE, "when the CPU lacks a feature"),
            (status::LAB_TODO, "when it reached a lab exercise"),
            (status::POWERCUT, "at a simulated power cut"),
            (status::FAILED, "when the runner fails"),
            (status::BAD_OPTION, "for a refused option"),
            (status::NOT_FULL_MARKS, "when graded without full marks"),
        ] {
            assert!(help.contains(&format!("{n} {what}")), "{n} {what}");
        }
    }

    #[test]
    fn fsck_takes_an_image_and_crash_sweep_stands_alone() {
        let img = std::env::current_exe().unwrap();
        let path = img.to_str().unwrap();
        assert_eq!(
            parse(&["--fsck", path]).unwrap(),
            Action::Fsck { image: img.clone() }
        );
        assert_eq!(parse(&["--crash-sweep"]).unwrap(), Action::CrashSweep);
        let missing = refused(&["--fsck", "/no/such.img"]);
        assert!(missing.contains("not a file"), "{missing}");
        let both = refused(&["--fsck", path, "--smp", "2"]);
        assert!(both.contains("cannot be used with"), "{both}");
        let help = help();
        assert!(help.contains("  --fsck <IMG>") && help.contains("  --crash-sweep"));
    }
}
