//! Piped input for the kernel's monitor. QEMU would pass the first bytes of
//! its input to the serial port at once, and GRUB and the kernel reset the
//! port's FIFO while they boot, losing them. So the input is held back
//! until the monitor prints its ready line, then passed on; at its end
//! comes Ctrl-D, which the monitor takes as the end of input (it powers off),
//! or, for a shell, Ctrl-\\ (`HOST_INPUT_END`), which powers off once the
//! shell has read every line before it (a Ctrl-D would only end one
//! shell, and init would start the next).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::ChildStdin;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};

use crate::protocol::{HOST_INPUT_END, MONITOR_READY, PROCESSES_READY};

/// What the monitor takes as the end of input (Ctrl-D).
pub const END_OF_INPUT: u8 = 0x04;

/// Whether `line` (as read from the serial port, line end included) is the
/// monitor's ready line, or the one that says processes (a shell) take
/// the console.
pub fn is_ready(line: &[u8]) -> bool {
    line.starts_with(MONITOR_READY.as_bytes()) || line.starts_with(PROCESSES_READY.as_bytes())
}

/// Copy the emulator's `output` to `to` (flushed as it comes) and, once the
/// ready line has gone by, `input` to the emulator's `stdin`, then Ctrl-D.
/// If the emulator ends first, the input is not waited for. The returned
/// thread ends with the output and gives `to` back.
pub fn pass<R, I, W>(output: R, stdin: ChildStdin, input: I, to: W) -> JoinHandle<W>
where
    R: Read + Send + 'static,
    I: Read + Send + 'static,
    W: Write + Send + 'static,
{
    let (ready, wait) = mpsc::channel::<u8>();
    thread::spawn(move || feed_after_ready(wait, stdin, input));
    thread::spawn(move || copy_until_end(output, to, ready))
}

/// The input side: wait for the ready line (or the emulator's end), then
/// pass the input on and end it.
fn feed_after_ready(wait: mpsc::Receiver<u8>, mut stdin: ChildStdin, mut input: impl Read) {
    // Err: the output ended without the ready line; pass the input on
    // anyway, as the emulator may still read it.
    let end = wait.recv().unwrap_or(END_OF_INPUT);
    let mut buf = [0u8; 4096];
    loop {
        match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if stdin
                    .write_all(&buf[..n])
                    .and_then(|()| stdin.flush())
                    .is_err()
                {
                    return; // the emulator ended
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let _ = stdin.write_all(&[end]);
}

/// The byte that ends the input after the ready line `line`.
pub fn end_byte(line: &[u8]) -> u8 {
    match line.starts_with(PROCESSES_READY.as_bytes()) {
        true => HOST_INPUT_END,
        false => END_OF_INPUT,
    }
}

/// The output side: line by line up to the ready line, then as it comes.
fn copy_until_end<W: Write>(output: impl Read, mut to: W, ready: mpsc::Sender<u8>) -> W {
    let mut output = BufReader::new(output);
    let mut line = Vec::new();
    let end = loop {
        line.clear();
        match output.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return to, // `ready` drops: the feeder goes on
            Ok(_) => {
                let _ = to.write_all(&line).and_then(|()| to.flush());
                if is_ready(&line) {
                    break end_byte(&line);
                }
            }
        }
    };
    let _ = ready.send(end);
    let mut buf = [0u8; 4096];
    loop {
        match output.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let _ = to.write_all(&buf[..n]).and_then(|()| to.flush());
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    to
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shell_gets_ctrl_backslash_at_the_end_and_the_monitor_ctrl_d() {
        assert_eq!(
            end_byte(format!("{PROCESSES_READY}\r\n").as_bytes()),
            HOST_INPUT_END
        );
        assert_eq!(
            end_byte(format!("{MONITOR_READY}\r\n").as_bytes()),
            END_OF_INPUT
        );
    }

    #[test]
    fn the_ready_line_is_the_monitors_first_line() {
        assert!(is_ready(format!("{MONITOR_READY}\r\n").as_bytes()));
        assert!(!is_ready(b"kalloc: 1234 pages free\r\n"));
        assert!(!is_ready(format!("x{MONITOR_READY}").as_bytes()));
    }

    /// `cat` stands in for the emulator: the input must come after the
    /// ready line, then Ctrl-D.
    #[test]
    fn input_follows_the_ready_line_then_ctrl_d() {
        use std::process::{Command, Stdio};
        let mut child = Command::new("sh")
            .args([
                "-c",
                "printf 'boot\\n%s\\n' \"$1\"; cat",
                "sh",
                MONITOR_READY,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = pass(
            child.stdout.take().unwrap(),
            child.stdin.take().unwrap(),
            &b"meminfo\n"[..],
            Vec::new(),
        );
        let out = out.join().unwrap();
        child.wait().unwrap();
        assert_eq!(
            out,
            format!("boot\n{MONITOR_READY}\nmeminfo\n\u{4}").into_bytes()
        );
    }
}
