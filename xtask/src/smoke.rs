//! `--setup`'s check: start each emulator and the debugger for a moment,
//! headless and with no host devices, so that a tool that cannot run on
//! this machine is named here rather than deep inside the tests. Each check
//! is bounded in time.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::bounded::{Captured, capture};
use crate::{Error, NAME, Result, paths};

/// Longest each tool may take to start and quit.
const LIMIT: Duration = Duration::from_secs(20);
/// How many of a failing tool's last lines are shown.
const TAIL: usize = 5;
/// RAM for Bochs's check, in MiB.
const BOCHS_CHECK_MEGS: &str = "32";

/// Lines of Bochs's output that say nothing about why it failed: its info
/// lines, banner and frame.
fn bochs_noise(line: &str) -> bool {
    let info = line
        .split_once("i[")
        .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    let frame = !line.is_empty() && line.bytes().all(|b| b == b'=');
    info || frame
        || [
            "Bochs x86 Emulator",
            "Built from SVN",
            "Timestamp:",
            "notify called",
        ]
        .iter()
        .any(|s| line.contains(s))
}

/// The last TAIL lines of `text`.
fn tail<'a>(lines: impl DoubleEndedIterator<Item = &'a str>) -> String {
    let mut last: Vec<&str> = lines.rev().take(TAIL).collect();
    last.reverse();
    last.iter().map(|l| format!("{l}\n")).collect()
}

/// The host sound driver Bochs's log says it loaded, if any.
pub fn sound_driver(log: &str) -> Option<&str> {
    const PREFIX: &str = "libbx_sound";
    const DRIVERS: [&str; 5] = ["alsa", "oss", "pulse", "sdl", "file"];
    log.match_indices(PREFIX).find_map(|(at, _)| {
        let rest = &log[at + PREFIX.len()..];
        DRIVERS
            .iter()
            .find(|d| rest.starts_with(&format!("{d}.so")))
            .map(|d| &log[at..at + PREFIX.len() + d.len() + ".so".len()])
    })
}

/// Run a check: its status (a time-out counts as a failure) and output.
fn check(cmd: &mut Command, input: &[u8]) -> Result<(i32, String)> {
    let c: Captured = capture(cmd, input, Some(LIMIT), true)
        .map_err(|e| Error::new(format!("cannot run {:?}: {e}", cmd.get_program())))?;
    let out = if c.timed_out() {
        format!("{}(killed after {LIMIT:?})\n", c.out)
    } else {
        c.out.clone()
    };
    // `timeout`'s status for a command it had to stop.
    const TIMED_OUT: i32 = 124;
    Ok((c.status.unwrap_or(TIMED_OUT), out))
}

/// Check that QEMU, Bochs (with `bochsrc`) and GDB start.
pub fn run(bochsrc: &Path) -> Result<()> {
    let mut failed = false;
    let (status, out) = check(
        Command::new("qemu-system-i386").args([
            "-machine",
            "none",
            "-display",
            "none",
            "-nodefaults",
            "-serial",
            "none",
            "-monitor",
            "stdio",
        ]),
        b"quit\n",
    )?;
    if status != 0 {
        eprint!(
            "{NAME}: QEMU does not start on this machine (status {status}); it printed:\n{}",
            tail(out.lines())
        );
        failed = true;
    }

    // Bochs with the project's own bochsrc (no disk): it initialises every
    // device, stops at its debugger's first prompt and quits there.
    let dir = std::env::temp_dir().join(format!("xv6-setup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| crate::kernel::io_error("create", &dir, e))?;
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| crate::kernel::io_error("write", &p, e))?;
        Ok::<_, Error>(p)
    };
    let quit = write("quit.rc", "q\n")?;
    let syms = write("empty.syms", "")?;
    let log = dir.join("bochs.log");
    let bochs = check(
        Command::new("bochs")
            .current_dir(paths::root())
            .args(["-q", "-f"])
            .arg(bochsrc)
            .arg("-rc")
            .arg(&quit)
            .args(["ata0-master: type=none", "boot: floppy"])
            .env("BOCHS_ISO", "/dev/null")
            .env("BOCHS_MEGS", BOCHS_CHECK_MEGS)
            .env("BOCHS_CPUS", "1")
            .env("BOCHS_SERIAL", "/dev/null")
            .env("BOCHS_LOG", &log)
            .env("BOCHS_SYMS", &syms),
        b"",
    );
    // A host sound driver aborts Debian's Bochs where there is no sound
    // card, and works where there is one: name it either way (Bochs's log
    // lists the plugins it loaded once it has read the bochsrc).
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    let (status, out) = bochs?;
    let rc = bochsrc.display();
    if status != 0 {
        eprint!(
            "{NAME}: Bochs does not start on this machine ({rc}, status {status}); it printed:\n{}",
            tail(out.lines().filter(|l| !bochs_noise(l)))
        );
        failed = true;
    }
    if let Some(driver) = sound_driver(&log_text) {
        eprintln!(
            "{NAME}: Bochs loaded the host sound driver {driver}, which aborts it on a machine without a sound card; {rc} needs 'speaker: enabled=0' and 'sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy'"
        );
        failed = true;
    }

    let (status, out) = check(
        Command::new("gdb").args(["-batch", "-nx", "-ex", "set architecture i386"]),
        b"",
    )?;
    if status != 0 {
        eprint!(
            "{NAME}: GDB does not start or has no i386 support (status {status}); it printed:\n{}",
            tail(out.lines())
        );
        failed = true;
    }
    if failed {
        return Err(Error::new(""));
    }
    eprintln!("{NAME}: QEMU, Bochs and GDB start");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sound_driver_is_named_from_the_log() {
        let log = "00000000000i[PLUGIN] loaded plugin libbx_soundalsa.so\n";
        assert_eq!(sound_driver(log), Some("libbx_soundalsa.so"));
        assert_eq!(sound_driver("libbx_soundmod.so libbx_sounddummy.so"), None);
        assert_eq!(
            sound_driver("x libbx_soundsdl.so y"),
            Some("libbx_soundsdl.so")
        );
    }

    #[test]
    fn bochs_noise_is_left_out_of_its_reason() {
        assert!(bochs_noise(
            "00000000000i[      ] reading configuration from boot/bochsrc"
        ));
        assert!(bochs_noise(
            "========================================================================"
        ));
        assert!(bochs_noise("                       Bochs x86 Emulator 2.7"));
        assert!(!bochs_noise(
            "00000000000p[      ] >>PANIC<< cpu directive malformed."
        ));
        assert_eq!(
            tail(["a", "b", "c", "d", "e", "f"].into_iter()),
            "b\nc\nd\ne\nf\n"
        );
    }
}
