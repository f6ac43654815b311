//! Processes with a time limit: the one place that waits for a child and
//! kills it (by its own PID, with SIGKILL: Bochs ignores SIGTERM) when it
//! runs too long. The wait itself is the `wait-timeout` crate's (woken by
//! the child's end, not by polling); the silence watch is ours: how long
//! the child had printed nothing when it ended or was stopped.

use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use wait_timeout::ChildExt;

/// Wait for `child` at most `limit` (forever if None). On time-out, kill it,
/// reap it and return None.
pub fn wait(child: &mut Child, limit: Option<Duration>) -> std::io::Result<Option<ExitStatus>> {
    let Some(limit) = limit else {
        return child.wait().map(Some);
    };
    if let Some(status) = child.wait_timeout(limit)? {
        return Ok(Some(status));
    }
    // It may have ended just now: then kill fails and wait reaps it.
    let _ = child.kill();
    child.wait()?;
    Ok(None)
}

/// What a bounded run printed, and how it ended.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    /// The exit status as a shell reports it; None if it was killed for
    /// running past its limit.
    pub status: Option<i32>,
    pub out: String,
    pub err: String,
    /// How long the child had printed nothing when it ended (or was
    /// killed): from its last output, or from its start if it printed
    /// nothing. A hung child is quiet; one killed while printing is not.
    pub quiet: Duration,
}

impl Captured {
    pub fn timed_out(&self) -> bool {
        self.status.is_none()
    }
}

/// Read all of `r` on a thread of its own.
pub fn read_all(mut r: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut b = Vec::new();
        // A read error ends the output; what came before is kept.
        let _ = r.read_to_end(&mut b);
        b
    })
}

/// When some watched output last came.
type LastOutput = Arc<Mutex<Instant>>;

/// Read all of `r` on a thread of its own, noting in `last` when each
/// piece came.
fn read_watched(mut r: impl Read + Send + 'static, last: LastOutput) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut b = Vec::new();
        let mut chunk = [0u8; 4096];
        // A read error ends the output; what came before is kept.
        while let Ok(n @ 1..) = r.read(&mut chunk) {
            b.extend_from_slice(&chunk[..n]);
            *last.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        }
        b
    })
}

/// Write `input` to `w`, then close it, on a thread of its own (the child
/// may stop reading early: its output then says why).
pub fn feed(mut w: impl Write + Send + 'static, input: Vec<u8>) {
    thread::spawn(move || {
        let _ = w.write_all(&input);
    });
}

/// Run `cmd` with `input` on its standard input and its output captured,
/// for at most `limit`. `merged`: standard error goes into `out` too,
/// interleaved as the child wrote them (a shell's `2>&1`).
pub fn capture(
    cmd: &mut Command,
    input: &[u8],
    limit: Option<Duration>,
    merged: bool,
) -> std::io::Result<Captured> {
    cmd.stdin(Stdio::piped());
    let merged_reader = if merged {
        let (reader, writer) = std::io::pipe()?;
        cmd.stdout(writer.try_clone()?).stderr(writer);
        Some(reader)
    } else {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        None
    };
    let spawned = cmd.spawn();
    // The command keeps its copies of the pipe's writing end: drop them, or
    // the reader would never see the end of the output.
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = spawned?;
    let last: LastOutput = Arc::new(Mutex::new(Instant::now()));
    let (out, err) = match merged_reader {
        Some(reader) => (read_watched(reader, last.clone()), None),
        None => (
            read_watched(child.stdout.take().expect("stdout is piped"), last.clone()),
            Some(read_watched(
                child.stderr.take().expect("stderr is piped"),
                last.clone(),
            )),
        ),
    };
    feed(child.stdin.take().expect("stdin is piped"), input.to_vec());
    let status = wait(&mut child, limit)?;
    let quiet = last.lock().unwrap_or_else(|e| e.into_inner()).elapsed();
    Ok(Captured {
        status: status.map(crate::status::shell_status),
        out: text(out),
        err: err.map(text).unwrap_or_default(),
        quiet,
    })
}

/// What a reading thread read, as text.
pub fn text(reader: JoinHandle<Vec<u8>>) -> String {
    String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, limit: Duration) -> Captured {
        capture(
            Command::new("sh").args(["-c", script]),
            b"",
            Some(limit),
            false,
        )
        .expect("run sh")
    }

    #[test]
    fn a_killed_child_that_went_quiet_is_told_from_one_still_printing() {
        let hung = sh("echo started; sleep 30", Duration::from_secs(2));
        assert!(hung.timed_out());
        assert_eq!(hung.out, "started\n");
        assert!(hung.quiet >= Duration::from_millis(1500), "{hung:?}");
        let busy = sh(
            "while :; do echo more; sleep 0.05; done",
            Duration::from_secs(2),
        );
        assert!(busy.timed_out());
        assert!(busy.quiet < Duration::from_millis(1000), "{:?}", busy.quiet);
        let start = Instant::now();
        let done = sh("echo out; echo err >&2", Duration::from_secs(30));
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "a child that ends is not waited for up to the limit"
        );
        assert_eq!(
            (done.status, done.out.as_str(), done.err.as_str()),
            (Some(0), "out\n", "err\n")
        );
    }
}
