//! Booting the kernel: the one launch path that the runner and the tests
//! share. `prepare` builds the kernel and the ISO and gives the emulator's
//! command; `run` boots with piped input and captures what it printed.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::options::{Action, Emulator, Options};
use crate::{Error, Result, bounded, emulator, gate, iso};

/// The options `args` give (as run-qemu.sh's arguments), with `env` as
/// the environment's variables (the process's own are not read). Panics
/// on a refusal or on an action other than a boot: for callers whose
/// arguments are fixed.
pub fn options(args: &[&str], env: &[(&str, &str)]) -> Options {
    match crate::options::parse_with_env(args, env) {
        Ok(Action::Boot(o)) => *o,
        Ok(other) => panic!("{args:?} is not a boot but {other:?}"),
        Err(r) => panic!("{args:?}: {}", r.render()),
    }
}

/// Build what `o` boots and return the emulator's command (standard
/// streams not set).
pub fn prepare(o: &Options) -> Result<Command> {
    let iso = iso::build(o)?;
    Ok(emulator::command(&emulator::with_disk(o)?, &iso))
}

/// Start the emulator with its standard streams piped to the caller.
pub fn spawn(o: &Options) -> Result<Child> {
    prepare(o)?
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::new(format!("cannot start the emulator: {e}")))
}

/// How often the machine reset in `out` without the kernel saying it would
/// (`reboot`): each boot after the first is a reset, and only those the
/// kernel announced are not silent. A triple fault resets QEMU, GRUB boots
/// the kernel again, and a test that only looks at the end would pass.
pub fn silent_resets(out: &str) -> usize {
    let mut r = Resets::default();
    r.count(out);
    r.silent()
}

/// The boots and announced reboots seen so far in output read piece by
/// piece (an interactive session counts each line once, not the whole
/// output again at every answer).
#[derive(Debug, Default, Clone, Copy)]
pub struct Resets {
    boots: usize,
    asked: usize,
}

impl Resets {
    /// Count the boot and reboot lines in `text`, whole lines only.
    pub fn count(&mut self, text: &str) {
        self.boots += text.matches(crate::protocol::BOOTING).count();
        self.asked += text.matches(crate::protocol::REBOOTING).count();
    }

    /// Resets the kernel did not announce.
    pub fn silent(&self) -> usize {
        self.boots.saturating_sub(1 + self.asked)
    }
}

/// What one boot printed, and how it ended.
#[derive(Debug, Clone)]
pub struct Run {
    /// The exit status; None if the run was killed at its time limit.
    pub status: Option<i32>,
    /// The serial output.
    pub out: String,
    /// The emulator's standard error.
    pub err: String,
}

impl Run {
    /// The first line containing `needle` (its `\r` trimmed); a panic that
    /// shows the output if there is none.
    pub fn line(&self, needle: &str) -> &str {
        self.out
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in the output:\n{}", self.out))
            .trim_end_matches('\r')
    }

    pub fn has(&self, needle: &str) -> bool {
        self.out.contains(needle)
    }

    /// Every line starting with `prefix` (CRs trimmed), in order.
    pub fn lines_starting(&self, prefix: &str) -> Vec<&str> {
        self.out
            .lines()
            .map(|l| l.trim_matches('\r'))
            .filter(|l| l.starts_with(prefix))
            .collect()
    }

    /// Panic, showing the output, unless the run ended with `want`.
    pub fn expect_status(&self, want: i32) -> &Self {
        let resets = silent_resets(&self.out);
        assert_eq!(
            resets, 0,
            "the machine reset {resets} times without the kernel asking (a triple fault?); output:\n{}",
            self.out
        );
        assert_eq!(
            self.status,
            Some(want),
            "exit status; output:\n{}\nstderr:\n{}",
            self.out,
            self.err
        );
        self
    }
}

impl From<bounded::Captured> for Run {
    fn from(c: bounded::Captured) -> Run {
        Run {
            status: c.status,
            out: c.out,
            err: c.err,
        }
    }
}

/// Boot as `o` says with `input` piped in, for at most `limit`. In QEMU the
/// input waits for the monitor's ready line and ends with Ctrl-D (see
/// `gate`); Bochs's serial port reads no input.
pub fn run(o: &Options, input: &[u8], limit: Option<Duration>) -> Result<Run> {
    let mut cmd = prepare(o)?;
    let io = |e: std::io::Error| Error::new(format!("cannot run the emulator: {e}"));
    if o.emulator != Emulator::Qemu || o.gdb {
        return bounded::capture(&mut cmd, input, limit, false)
            .map(Run::from)
            .map_err(io);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io)?;
    let err = bounded::read_all(child.stderr.take().expect("stderr is piped"));
    let out = gate::pass(
        child.stdout.take().expect("stdout is piped"),
        child.stdin.take().expect("stdin is piped"),
        std::io::Cursor::new(input.to_vec()),
        Vec::new(),
    );
    let status = bounded::wait(&mut child, limit).map_err(io)?;
    let out = out.join().unwrap_or_default();
    Ok(Run {
        status: status.map(crate::status::shell_status),
        out: String::from_utf8_lossy(&out).into_owned(),
        err: bounded::text(err),
    })
}

/// `runs` launches of QEMU as `o` says, input empty; after each, `each` gets
/// the milliseconds from the launch to the monitor's ready line (if it came).
pub fn time_boot(o: &Options, runs: u32, mut each: impl FnMut(u128)) -> Result<()> {
    use std::io::{BufRead, BufReader};
    let io = |e: std::io::Error| Error::new(format!("cannot run QEMU: {e}"));
    let mut cmd = prepare(o)?;
    for _ in 0..runs {
        let start = std::time::Instant::now();
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(io)?;
        let out = BufReader::new(child.stdout.take().expect("stdout is piped"));
        for line in out.split(b'\n') {
            if gate::is_ready(&line.map_err(io)?) {
                each(start.elapsed().as_millis());
            }
        }
        child.wait().map_err(io)?;
    }
    let _ = std::io::stdout().flush();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{BOOTING, REBOOTING};

    #[test]
    fn a_second_boot_is_a_silent_reset_unless_the_kernel_asked() {
        assert_eq!(silent_resets(""), 0);
        assert_eq!(silent_resets(&format!("{BOOTING}\nK> ")), 0);
        assert_eq!(silent_resets(&format!("{BOOTING}\n{BOOTING}\n")), 1);
        assert_eq!(
            silent_resets(&format!("{BOOTING}\n{REBOOTING}\n{BOOTING}\n")),
            0
        );
        assert_eq!(
            silent_resets(&format!("{BOOTING}\n{REBOOTING}\n{BOOTING}\n{BOOTING}\n")),
            1
        );
    }
}
