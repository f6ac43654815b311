//! The runner's command line: parse the options, then do what they ask,
//! with run-qemu.sh's messages and exit statuses.

use std::io::IsTerminal;
use std::os::unix::process::CommandExt;
use std::process::Stdio;

use xtask::options::{Action, Emulator, Options, parse};
use xtask::{
    Error, NAME, Result, bench, gate, iso, launch, prereqs, smoke, soak, space, status, steps,
};

/// Run with `args` (the program name left out); the exit status.
pub fn main(args: &[String]) -> i32 {
    let action = match parse(args) {
        Ok(a) => a,
        Err(refusal) => {
            // clap prints `--help` on standard output, a refusal on
            // standard error.
            let _ = refusal.print();
            return match refusal.use_stderr() {
                true => status::BAD_OPTION,
                false => 0,
            };
        }
    };
    match act(action) {
        Ok(code) => code,
        Err(e) => {
            if !e.message.is_empty() {
                eprintln!("{NAME}: {}", e.message);
            }
            e.status
        }
    }
}

/// Do what `action` asks; the exit status.
fn act(action: Action) -> Result<i32> {
    match action {
        Action::Setup { bochsrc } => {
            prereqs::ensure()?;
            smoke::run(&bochsrc)?;
            Ok(0)
        }
        Action::Test => {
            prereqs::ensure()?;
            space::before(&space::places())
                .iter()
                .for_each(|l| eprintln!("{l}"));
            let failed = steps::run_all(&steps::STEPS, steps::run_command, &mut std::io::stderr());
            if failed.is_empty() {
                return Ok(0);
            }
            space::after_failure(&space::places())
                .iter()
                .for_each(|l| eprintln!("{l}"));
            Ok(status::FAILED)
        }
        Action::Bench { runs } => {
            prereqs::ensure()?;
            bench::run(runs)?;
            Ok(0)
        }
        Action::Soak { seconds } => {
            prereqs::ensure()?;
            soak::run(seconds)?;
            Ok(0)
        }
        Action::LabExport { lab, dir } => {
            lab::export::export(&lab, &dir)?;
            Ok(0)
        }
        Action::Grade { lab, only, factor } => {
            prereqs::ensure()?;
            let report = lab::grade::grade(&lab, only.as_deref(), factor)?;
            Ok(match report.full_marks() {
                true => 0,
                false => status::NOT_FULL_MARKS,
            })
        }
        Action::GradeBatch { lab, dir, jobs } => {
            prereqs::ensure()?;
            lab::batch::run(&lab, &dir, jobs)?;
            Ok(0)
        }
        Action::LabCheck { only, factor } => {
            prereqs::ensure()?;
            lab::check::run(only.as_deref(), factor)
        }
        Action::Fsck { image } => {
            let bytes =
                std::fs::read(&image).map_err(|e| xtask::kernel::io_error("read", &image, e))?;
            let problems = xtask::fsck::fsck(&bytes);
            print!("{}", xtask::fsck::report(&problems));
            Ok(match problems.is_empty() {
                true => 0,
                false => status::FAILED,
            })
        }
        Action::CrashSweep => {
            prereqs::ensure()?;
            xtask::crash::sweep_all()
        }
        Action::LabMutate { lab, limit } => {
            prereqs::ensure()?;
            lab::mutate::run(&lab, limit)
        }
        Action::Boot(o) => {
            prereqs::ensure()?;
            boot(&o)
        }
    }
}

/// Build and boot (or only build, with `--iso`).
fn boot(o: &Options) -> Result<i32> {
    if o.iso_only {
        println!("{}", iso::build(o)?.display());
        return Ok(0);
    }
    if o.time_boot > 0 {
        launch::time_boot(o, o.time_boot, |ms| println!("boot-ms: {ms}"))?;
        return Ok(0);
    }
    let mut cmd = launch::prepare(o)?;
    let bochs = o.emulator != Emulator::Qemu;
    if o.emulator == Emulator::BochsDebug {
        eprintln!("{NAME}: Bochs stops in its debugger; docs/debugging.md has recipes");
    }
    if o.gdb && !bochs {
        eprintln!(
            "{NAME}: QEMU is stopped, waiting for GDB on localhost:{}; in another terminal:\n  gdb -nx -x .gdbinit     (docs/debugging.md has recipes)",
            o.gdb_port
        );
    }
    if bochs || o.gdb || std::io::stdin().is_terminal() {
        let e = cmd.exec();
        return Err(Error::new(format!(
            "cannot run {:?}: {e}",
            cmd.get_program()
        )));
    }
    // Piped input: held back until the monitor is ready (see `gate`).
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| Error::new(format!("cannot run QEMU: {e}")))?;
    let out = gate::pass(
        child.stdout.take().expect("stdout is piped"),
        child.stdin.take().expect("stdin is piped"),
        std::io::stdin(),
        std::io::stdout(),
    );
    let ended = child
        .wait()
        .map_err(|e| Error::new(format!("cannot wait for QEMU: {e}")))?;
    let _ = out.join();
    Ok(status::shell_status(ended))
}
