//! Booting a disk for the crash sweep: the project's kernel with the
//! image on its IDE disk (`--disk`), or the C xv6 peer with it as its
//! file-system disk (its log recovers at boot too; it has no power-cut
//! option, so on it only the SIGKILL runs apply). A run types into the
//! shell and reads the console as it comes, so it can be killed at any
//! moment.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::peer::{Peer, SH_PROMPT};
use crate::{Error, Result, bounded, status};

/// Which kernel boots the disk.
#[derive(Clone, Debug)]
pub enum Kernel {
    /// This project's, with `powercut=N` when a cut is asked for.
    Ours,
    /// The C xv6 peer (no power cut).
    Peer(Peer),
}

/// A machine running, its console read on a thread into `out`.
pub struct Live {
    child: Child,
    stdin: Option<ChildStdin>,
    out: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
    /// A file to remove once the emulator has ended (its ISO).
    remove_at_end: Option<std::path::PathBuf>,
}

/// How a run ended: its console output and exit status (None: killed).
#[derive(Debug)]
pub struct Ended {
    pub out: String,
    pub status: Option<i32>,
}

/// RAM for our kernel in the sweep's boots: enough for the workload, and
/// a boot frees (and QEMU faults in) far fewer pages than at the default.
const MEM_MIB: &str = "64";

/// Why a disk is booted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// To the shell, for the workload; the power cut after `cut` block
    /// writes, if given (ours only).
    Workload { cut: Option<u32> },
    /// Only to mount it, so the log recovers: ours mounts in `main` and
    /// powers off from its monitor (`--monitor halt`); the peer recovers
    /// before its first process and is stopped at its shell's prompt.
    Recover,
}

impl Kernel {
    /// Boot `disk` (written in place) for `purpose`.
    pub fn boot(&self, disk: &Path, purpose: Purpose) -> Result<Live> {
        match self {
            Kernel::Ours => {
                let disk = disk
                    .to_str()
                    .ok_or_else(|| Error::new("a disk path that is not UTF-8"))?;
                let mut args = vec!["--disk", disk, "--mem", MEM_MIB];
                let cmdline;
                let mut cut_iso = false;
                match purpose {
                    Purpose::Workload { cut: Some(n) } => {
                        cmdline = format!("{}={n}", crate::protocol::POWERCUT_OPTION);
                        args.extend(["--cmdline", &cmdline]);
                        cut_iso = true;
                    }
                    Purpose::Workload { cut: None } => {}
                    Purpose::Recover => args.extend(["--monitor", "halt"]),
                }
                let o = match crate::options::parse_with_env(&args, &[]) {
                    Ok(crate::options::Action::Boot(o)) => o,
                    other => {
                        return Err(Error::new(format!(
                            "the runner does not take {args:?} as a boot: {other:?}"
                        )));
                    }
                };
                let iso = crate::iso::build(&o)?;
                let mut live = Live::spawn(&mut crate::emulator::command(&o, &iso))?;
                // Each cut point's command line makes an ISO of its own
                // (about 2 MB): removed once the run is over.
                if cut_iso {
                    live.remove_at_end = Some(iso);
                }
                Ok(live)
            }
            Kernel::Peer(p) => match purpose {
                Purpose::Workload { cut: Some(_) } => {
                    Err(Error::new("the C xv6 peer has no power-cut option"))
                }
                _ => Live::spawn(&mut p.qemu_keeping_writes(disk)),
            },
        }
    }

    /// Does this kernel power off when its console input ends?
    pub fn powers_off(&self) -> bool {
        matches!(self, Kernel::Ours)
    }
}

impl Live {
    fn spawn(cmd: &mut Command) -> Result<Live> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::new(format!("cannot start {cmd:?}: {e}")))?;
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let out = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&out);
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(&buf[..n]);
            }
        });
        Ok(Live {
            stdin: child.stdin.take(),
            child,
            out,
            reader: Some(reader),
            remove_at_end: None,
        })
    }

    /// The console output so far.
    pub fn out(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// Wait until the output holds `needle` (true), the machine ends or
    /// `limit` passes (false).
    pub fn wait_for(&mut self, needle: &str, limit: Duration) -> bool {
        let start = Instant::now();
        loop {
            if self.out().contains(needle) {
                return true;
            }
            if start.elapsed() > limit || matches!(self.child.try_wait(), Ok(Some(_))) {
                return self.out().contains(needle);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Type `bytes` on the console.
    pub fn send(&mut self, bytes: &[u8]) -> Result<()> {
        let stdin = self.stdin.as_mut().expect("input open until the end");
        stdin
            .write_all(bytes)
            .and_then(|()| stdin.flush())
            .map_err(|e| Error::new(format!("cannot type on the console: {e}")))
    }

    /// Wait for the machine to end by itself, at most `limit`, then kill
    /// it (status None).
    pub fn wait(mut self, limit: Duration) -> Result<Ended> {
        let waited = bounded::wait(&mut self.child, Some(limit))
            .map_err(|e| Error::new(format!("cannot wait for the emulator: {e}")))?;
        Ok(self.ended(waited.map(status::shell_status)))
    }

    /// Kill the emulator now (SIGKILL: the power goes mid-whatever).
    pub fn kill(mut self) -> Ended {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.ended(None)
    }

    fn ended(&mut self, status: Option<i32>) -> Ended {
        drop(self.stdin.take());
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        if let Some(f) = self.remove_at_end.take() {
            let _ = std::fs::remove_file(f);
        }
        Ended {
            out: self.out().replace("\r\n", "\n"),
            status,
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if self.reader.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if let Some(f) = self.remove_at_end.take() {
            let _ = std::fs::remove_file(f);
        }
    }
}

/// The shell's prompt, which both kernels' shells print.
pub const PROMPT: &str = SH_PROMPT;
