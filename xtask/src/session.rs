//! An interactive monitor session: the kernel booted through the one launch
//! path with its serial input a pipe, commands sent one at a time as a
//! student types them, each answer read up to the next prompt. The tests
//! and `--soak` use it.

use std::io::{Read, Write};
use std::process::{Child, ChildStdin};
use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::protocol::PROMPT;

use crate::launch::Run;
use crate::options::Options;
use crate::{Error, Result, bounded, launch, status};

/// A booted kernel and what it has printed so far.
pub struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    chunks: Receiver<Vec<u8>>,
    err: Option<JoinHandle<Vec<u8>>>,
    /// Everything read so far, and how much of it `expect` has consumed.
    out: String,
    seen: usize,
    /// The boots and reboots in `out[..counted]`, which ends at a line's end.
    resets: launch::Resets,
    counted: usize,
    /// How long one answer may take.
    limit: Duration,
}

impl Session {
    /// Boot as `o` says; do not wait for anything.
    pub fn launch(o: &Options, limit: Duration) -> Result<Session> {
        Session::of(launch::spawn(o)?, limit)
    }

    /// Run `cmd` (another emulator command line: the C xv6 peer's) with
    /// its standard streams piped; do not wait for anything.
    pub fn spawn(cmd: &mut std::process::Command, limit: Duration) -> Result<Session> {
        use std::process::Stdio;
        let child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::new(format!("cannot start {cmd:?}: {e}")))?;
        Session::of(child, limit)
    }

    /// A session over a started emulator whose streams are pipes.
    fn of(mut child: Child, limit: Duration) -> Result<Session> {
        let mut stdout = child.stdout.take().expect("spawn pipes standard output");
        let (tx, chunks) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let err = Some(bounded::read_all(
            child.stderr.take().expect("spawn pipes standard error"),
        ));
        let stdin = child.stdin.take();
        Ok(Session {
            child,
            stdin,
            chunks,
            err,
            out: String::new(),
            seen: 0,
            resets: launch::Resets::default(),
            counted: 0,
            limit,
        })
    }

    /// Boot and wait for the first prompt.
    pub fn start(o: &Options, limit: Duration) -> Result<Session> {
        let mut s = Session::launch(o, limit)?;
        s.expect(PROMPT)?;
        Ok(s)
    }

    /// Everything the kernel printed so far.
    pub fn out(&self) -> &str {
        &self.out
    }

    /// The output consumed so far (the boot report, once started).
    pub fn out_so_far(&self) -> String {
        self.out[..self.seen].replace("\r\n", "\n")
    }

    /// Wait for `needle` in the output not yet consumed; return that output
    /// up to and including it (CRLF turned into LF). An error, the emulator
    /// killed, if it does not come within the limit.
    pub fn expect(&mut self, needle: &str) -> Result<String> {
        let start = Instant::now();
        loop {
            if let Some(nl) = self.out[self.counted..].rfind('\n') {
                let end = self.counted + nl + 1;
                self.resets.count(&self.out[self.counted..end]);
                self.counted = end;
            }
            let resets = self.resets.silent();
            if resets > 0 {
                let _ = self.child.kill();
                return Err(Error::new(format!(
                    "the machine reset {resets} times without the kernel asking (a triple fault?)"
                )));
            }
            if let Some(i) = self.out[self.seen..].find(needle) {
                let end = self.seen + i + needle.len();
                let text = self.out[self.seen..end].replace("\r\n", "\n");
                self.seen = end;
                return Ok(text);
            }
            let left = self.limit.saturating_sub(start.elapsed());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.out.push_str(&String::from_utf8_lossy(&chunk)),
                Err(_) => {
                    let _ = self.child.kill();
                    return Err(Error::new(format!(
                        "waited {:?} for {needle:?}; the kernel ended or went quiet",
                        self.limit
                    )));
                }
            }
        }
    }

    /// Send raw bytes, then a newline, to the kernel's serial port.
    pub fn send_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        self.send_raw(&[bytes, b"\n"].concat())
    }

    /// Send raw bytes alone (a control key, say) to the kernel's serial port.
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<()> {
        let stdin = self.stdin.as_mut().expect("stdin is open until finish");
        stdin
            .write_all(bytes)
            .and_then(|()| stdin.flush())
            .map_err(|e| Error::new(format!("cannot write to the kernel's serial port: {e}")))
    }

    /// Run a monitor command (the previous prompt has been consumed) and
    /// return its answer: the lines between the echoed command and the
    /// next prompt.
    pub fn command(&mut self, line: &str) -> Result<String> {
        self.send_bytes(line.as_bytes())?;
        let text = self.expect(PROMPT)?;
        let (echo, answer) = text.split_once('\n').unwrap_or((&text, ""));
        if echo != line {
            return Err(Error::new(format!(
                "the monitor echoed {echo:?} for {line:?}"
            )));
        }
        Ok(answer.trim_end_matches(PROMPT).to_string())
    }

    /// Send `line` (e.g. `halt`), close the input and wait for the kernel to
    /// end.
    pub fn finish(mut self, line: &str) -> Result<Run> {
        self.send_bytes(line.as_bytes())?;
        drop(self.stdin.take());
        let waited = bounded::wait(&mut self.child, Some(self.limit))
            .map_err(|e| Error::new(format!("cannot wait for the emulator: {e}")))?;
        let Some(exit) = waited else {
            return Err(Error::new(format!(
                "the kernel did not stop within {:?} after {line:?}",
                self.limit
            )));
        };
        while let Ok(chunk) = self.chunks.recv_timeout(Duration::from_secs(5)) {
            self.out.push_str(&String::from_utf8_lossy(&chunk));
        }
        Ok(Run {
            status: Some(status::shell_status(exit)),
            out: std::mem::take(&mut self.out),
            err: self.err.take().map(bounded::text).unwrap_or_default(),
        })
    }
}

impl Drop for Session {
    /// A session dropped before `finish` (a failed test) leaves no emulator
    /// behind.
    fn drop(&mut self) {
        if self.stdin.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
