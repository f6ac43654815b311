//! Booting the kernel from the host tests: through `run-qemu.sh`, the same
//! script a student uses, with its output captured and a time limit.

#![allow(dead_code)] // each test file uses its own part of this module

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Longest a boot may take once the kernel is built, on a busy 2-core
/// machine: a QEMU boot takes 2-4 s, a Bochs boot with 256 MiB and the
/// in-kernel tests about 40 s.
const BOOT_LIMIT: Duration = Duration::from_secs(300);

/// Exit status of run-qemu.sh after a kernel panic.
pub const EXIT_PANIC: i32 = xv6::protocol::EXIT_PANIC.status();
/// Exit status when the kernel refuses the boot loader.
pub const EXIT_BAD_BOOT: i32 = xv6::protocol::EXIT_BAD_BOOT.status();

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Build both kernels (junk fill on and off) once per test binary, outside
/// the boot time limit.
pub fn built() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        for extra in [&[][..], &["--no-junk"][..]] {
            let out = Command::new(root().join("run-qemu.sh"))
                .args(extra)
                .arg("--iso")
                .stdin(Stdio::null())
                .output()
                .expect("run ./run-qemu.sh --iso");
            assert!(
                out.status.success(),
                "building the kernel failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    });
}

/// The kernel ELF (junk fill on).
pub fn kernel_elf() -> PathBuf {
    built();
    root().join("target/kernel/xv6")
}

/// What one boot printed on the serial port, and how run-qemu.sh exited.
pub struct Run {
    pub status: Option<i32>,
    pub out: String,
    pub err: String,
}

impl Run {
    /// The first line containing `needle`, or a failure that shows the output.
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

    pub fn expect_status(&self, want: i32) -> &Self {
        assert_eq!(
            self.status,
            Some(want),
            "run-qemu.sh exit status; output:\n{}\nstderr:\n{}",
            self.out,
            self.err
        );
        self
    }
}

/// Run `./run-qemu.sh ARGS` (stdin not a terminal) and wait for it, killing
/// QEMU or Bochs (and only it: the script execs the emulator; SIGKILL, since
/// Bochs ignores SIGTERM) after BOOT_LIMIT.
pub fn run_qemu(args: &[&str]) -> Run {
    run_qemu_with_input(args, "")
}

/// Start `./run-qemu.sh ARGS` (once the kernel is built) with its standard
/// streams piped to the test.
fn spawn(args: &[&str]) -> std::process::Child {
    built();
    Command::new(root().join("run-qemu.sh"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ./run-qemu.sh")
}

/// As `run_qemu`, with `input` written at once on run-qemu.sh's standard
/// input, which is then closed (what `printf ... | ./run-qemu.sh` does).
pub fn run_qemu_with_input(args: &[&str], input: &str) -> Run {
    let mut child = spawn(args);
    let mut stdin = child.stdin.take().unwrap();
    let input = input.as_bytes().to_vec();
    std::thread::spawn(move || {
        use std::io::Write;
        // Fails only if run-qemu.sh stopped reading early; the run's
        // output then says why.
        let _ = stdin.write_all(&input);
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stdout.read_to_end(&mut b);
        b
    });
    let err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stderr.read_to_end(&mut b);
        b
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for run-qemu.sh") {
            break s;
        }
        if start.elapsed() > BOOT_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            let out = String::from_utf8_lossy(&out.join().unwrap()).into_owned();
            panic!(
                "run-qemu.sh {args:?} still running after {BOOT_LIMIT:?}; output so far:\n{out}"
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Run {
        status: status.code(),
        out: String::from_utf8_lossy(&out.join().unwrap()).into_owned(),
        err: String::from_utf8_lossy(&err.join().unwrap()).into_owned(),
    }
}

/// The value of symbol `name` in the kernel ELF.
pub fn symbol(name: &str) -> u32 {
    use object::{Object, ObjectSymbol};
    let bytes = std::fs::read(kernel_elf()).expect("read the kernel ELF");
    let elf = object::File::parse(&*bytes).expect("parse the kernel ELF");
    let sym = elf
        .symbols()
        .find(|s| s.name() == Ok(name))
        .unwrap_or_else(|| panic!("no symbol {name} in the kernel"));
    sym.address() as u32
}

/// Parse `0x...` hex.
pub fn hex(s: &str) -> u32 {
    let s = s.trim().trim_end_matches([',', ')', ']']);
    u32::from_str_radix(s.trim_start_matches("0x"), 16)
        .unwrap_or_else(|e| panic!("{s:?} is not hex: {e}"))
}

/// The whitespace-separated words of a line.
pub fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// How long an interactive session waits for one answer.
const ANSWER_LIMIT: Duration = Duration::from_secs(120);

pub use xv6::protocol::PROMPT;

/// An interactive monitor session: `./run-qemu.sh ARGS` with its standard
/// input a pipe the test writes commands into, as a student types them.
pub struct Session {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    chunks: std::sync::mpsc::Receiver<Vec<u8>>,
    err: std::thread::JoinHandle<Vec<u8>>,
    /// Everything read so far, and how much of it `expect` has consumed.
    out: String,
    seen: usize,
}

impl Session {
    /// Boot and wait for the first prompt.
    pub fn start(args: &[&str]) -> Session {
        let mut s = Session::launch(args, &[]);
        s.expect(PROMPT);
        s
    }

    /// Start run-qemu.sh with extra environment variables; do not wait.
    pub fn launch(args: &[&str], env: &[(&str, &str)]) -> Session {
        built();
        let mut child = Command::new(root().join("run-qemu.sh"))
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ./run-qemu.sh");
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let (tx, chunks) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let err = std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = stderr.read_to_end(&mut b);
            b
        });
        let stdin = child.stdin.take();
        Session {
            child,
            stdin,
            chunks,
            err,
            out: String::new(),
            seen: 0,
        }
    }

    /// The output consumed so far (the boot report, once started).
    pub fn out_so_far(&self) -> String {
        self.out[..self.seen].replace("\r\n", "\n")
    }

    /// Wait for `needle` in the output not yet consumed; return that output
    /// up to and including it (CRLF turned into LF).
    pub fn expect(&mut self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            if let Some(i) = self.out[self.seen..].find(needle) {
                let end = self.seen + i + needle.len();
                let text = self.out[self.seen..end].replace("\r\n", "\n");
                self.seen = end;
                return text;
            }
            let left = ANSWER_LIMIT.saturating_sub(start.elapsed());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.out.push_str(&String::from_utf8_lossy(&chunk)),
                Err(_) => {
                    let _ = self.child.kill();
                    panic!(
                        "waited for {needle:?}; the kernel ended or went quiet; output:\n{}",
                        self.out
                    );
                }
            }
        }
    }

    /// Send a line to the kernel's serial port.
    pub fn send(&mut self, line: &str) {
        self.send_bytes(line.as_bytes());
    }

    /// Send raw bytes, then a newline, to the kernel's serial port.
    pub fn send_bytes(&mut self, bytes: &[u8]) {
        use std::io::Write;
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(bytes).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    /// Run a monitor command (the previous prompt has been consumed) and
    /// return its answer: the lines between the echoed command and the
    /// next prompt.
    pub fn command(&mut self, line: &str) -> String {
        self.send(line);
        let text = self.expect(PROMPT);
        let (echo, answer) = text.split_once('\n').unwrap_or((&text, ""));
        assert_eq!(echo, line, "the monitor echoes the command");
        answer.trim_end_matches(PROMPT).to_string()
    }

    /// Send `line` (e.g. `halt`) and wait for the kernel to end; close the
    /// input first.
    pub fn finish(mut self, line: &str) -> Run {
        self.send(line);
        drop(self.stdin.take());
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait for run-qemu.sh") {
                break s;
            }
            if start.elapsed() > ANSWER_LIMIT {
                let _ = self.child.kill();
                panic!(
                    "the kernel did not stop after {line:?}; output:\n{}",
                    self.out
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        while let Ok(chunk) = self.chunks.recv_timeout(Duration::from_secs(5)) {
            self.out.push_str(&String::from_utf8_lossy(&chunk));
        }
        Run {
            status: status.code(),
            out: std::mem::take(&mut self.out),
            err: String::from_utf8_lossy(&self.err.join().unwrap()).into_owned(),
        }
    }
}
