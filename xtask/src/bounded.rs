//! Processes with a time limit: the one place that waits for a child and
//! kills it (by its own PID, with SIGKILL: Bochs ignores SIGTERM) when it
//! runs too long.

use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How often a bounded wait looks at the child.
const POLL: Duration = Duration::from_millis(50);

/// Wait for `child` at most `limit` (forever if None). On time-out, kill it,
/// reap it and return None.
pub fn wait(child: &mut Child, limit: Option<Duration>) -> std::io::Result<Option<ExitStatus>> {
    let Some(limit) = limit else {
        return child.wait().map(Some);
    };
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if start.elapsed() >= limit {
            // It may have ended just now: then kill fails and wait reaps it.
            let _ = child.kill();
            child.wait()?;
            return Ok(None);
        }
        thread::sleep(POLL);
    }
}

/// What a bounded run printed, and how it ended.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    /// The exit status as a shell reports it; None if it was killed for
    /// running past its limit.
    pub status: Option<i32>,
    pub out: String,
    pub err: String,
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
    let (out, err) = match merged_reader {
        Some(reader) => (read_all(reader), None),
        None => (
            read_all(child.stdout.take().expect("stdout is piped")),
            Some(read_all(child.stderr.take().expect("stderr is piped"))),
        ),
    };
    feed(child.stdin.take().expect("stdin is piped"), input.to_vec());
    let status = wait(&mut child, limit)?;
    Ok(Captured {
        status: status.map(crate::status::shell_status),
        out: text(out),
        err: err.map(text).unwrap_or_default(),
    })
}

/// What a reading thread read, as text.
pub fn text(reader: JoinHandle<Vec<u8>>) -> String {
    String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned()
}
