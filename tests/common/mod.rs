//! What the boot tests share: booting the kernel through the runner's
//! library (`xtask`, the same launch path `run-qemu.sh` takes), running
//! `run-qemu.sh` itself for the tests of the script, an interactive monitor
//! session, and reading the kernel's ELF and output.

#![allow(dead_code, unused_imports)] // each test file uses its own part of this module

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub use xtask::launch::Run;
pub use xtask::procdump::Procdump;
pub use xtask::status::{BAD_BOOT as EXIT_BAD_BOOT, BOCHS_POWEROFF, PANIC as EXIT_PANIC};
pub use xv6::protocol::PROMPT;

/// Longest a boot may take once the kernel is built, on a busy 2-core
/// machine: a QEMU boot takes 2-4 s, a Bochs boot with 256 MiB and the
/// in-kernel tests about 40 s.
const BOOT_LIMIT: Duration = Duration::from_secs(300);

/// How long an interactive session waits for one answer.
const ANSWER_LIMIT: Duration = Duration::from_secs(120);

/// Bytes in a page, as a u64 for the tests' address arithmetic.
pub const PG: u64 = xv6::mmu::PGSIZE as u64;

// The layout (src/memlayout.rs) as the 32-bit numbers the report prints;
// the tests compute their expectations from these, never from a run.
pub const KERNBASE: u32 = xv6::memlayout::KERNBASE.0;
pub const KERNLINK: u32 = xv6::memlayout::KERNLINK.0;
pub const PHYSTOP: u32 = xv6::memlayout::PHYSTOP.0;
pub const PGSIZE: u32 = xv6::mmu::PGSIZE_U32;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The kernel ELF (junk fill on), built once per test binary.
pub fn kernel_elf() -> PathBuf {
    let kernel = xtask::kernel::Kernel::new(true);
    let built = kernel.lock().and_then(|_lock| kernel.build());
    if let Err(e) = built {
        panic!("building the kernel failed: {e}");
    }
    kernel.elf()
}

/// Boot with run-qemu.sh's options `args` through the runner's library,
/// input empty (the monitor powers off at its end), and wait for it,
/// killing the emulator after BOOT_LIMIT.
pub fn launch(args: &[&str]) -> Run {
    launch_with_input(args, b"")
}

/// `launch` with `input` piped in, as `printf ... | ./run-qemu.sh` does:
/// held back until the monitor listens, its end powering the machine off.
pub fn launch_with_input(args: &[&str], input: &[u8]) -> Run {
    let args = &monitor_unless_chosen(args, &[]);
    let o = xtask::launch::options(args, &[]);
    let run = xtask::launch::run(&o, input, Some(BOOT_LIMIT))
        .unwrap_or_else(|e| panic!("booting with {args:?} failed: {e}"));
    if run.status.is_none() {
        panic!(
            "{args:?} still running after {BOOT_LIMIT:?}; output so far:\n{}",
            run.out
        );
    }
    run
}

/// `args`, with `--monitor` added where they would boot the shell on the
/// project's own image: the boot tests drive the monitor unless they ask
/// for a file system (`--fs`) themselves.
pub fn monitor_unless_chosen<'a>(args: &[&'a str], env: &[(&str, &str)]) -> Vec<&'a str> {
    let mut args = args.to_vec();
    let boot = xtask::options::parse_with_env(&args, env);
    if matches!(boot, Ok(xtask::options::Action::Boot(o)) if o.default_fs) {
        let at = args.iter().position(|&a| a == "--").unwrap_or(args.len());
        args.insert(at, "--monitor");
    }
    args
}

/// Run `./run-qemu.sh ARGS` itself with `input` written at once on its
/// standard input, which is then closed (what `printf ... | ./run-qemu.sh`
/// does), killing it after BOOT_LIMIT.
pub fn run_script(args: &[&str], input: &str) -> Run {
    let args = &monitor_unless_chosen(args, &[]);
    let mut cmd = Command::new(root().join("run-qemu.sh"));
    cmd.args(args);
    let run: Run = xtask::bounded::capture(&mut cmd, input.as_bytes(), Some(BOOT_LIMIT), false)
        .expect("run ./run-qemu.sh")
        .into();
    if run.status.is_none() {
        panic!(
            "run-qemu.sh {args:?} still running after {BOOT_LIMIT:?}; output so far:\n{}",
            run.out
        );
    }
    run
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

/// The first line of `text` that starts with `prefix` after its
/// indentation, without the indentation.
pub fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .map(str::trim_start)
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{text}"))
}

/// `free pages:` of a `meminfo` answer.
pub fn free_pages(meminfo: &str) -> u32 {
    words(line(meminfo, "free pages:"))[2].parse().unwrap()
}

/// The addresses an `alloc` answer (or any output holding one) printed.
pub fn allocated(answer: &str) -> Vec<u32> {
    answer
        .lines()
        .filter(|l| l.starts_with("alloc: 0x"))
        .map(|l| hex(words(l)[1]))
        .collect()
}

/// Boot with `ktest=NAME kalloc=MODE` and expect it to panic on cpu0 as a
/// panic must: status EXIT_PANIC, the message, then `file:line` and the
/// CPU, then a backtrace, and no `ktest: NAME ok`. The caller checks the
/// message (`panic_message`).
pub fn ktest_panic(mode: &str, name: &str) -> Run {
    let run = launch(&["--cmdline", &format!("ktest={name} kalloc={mode}")]);
    run.expect_status(EXIT_PANIC);
    run.line("panic: ");
    let at = run.line("panic: at src/");
    assert!(at.contains(".rs:"), "file:line follows the message: {at}");
    assert!(at.ends_with(" on cpu 0 (APIC id 0)"), "and the CPU: {at}");
    run.line("backtrace:");
    assert!(!run.has(&format!("ktest: {name} ok")));
    run
}

/// `ktest_panic` in allocator mode `mode`, whose message must contain
/// `message`.
pub fn expect_panic_in(mode: &str, name: &str, message: &str) -> Run {
    let run = ktest_panic(mode, name);
    let line = run.line("panic: ");
    assert!(
        line.contains(message),
        "{name}: panic line {line:?} lacks {message:?}"
    );
    run
}

/// `expect_panic_in` in the default allocator mode, global.
pub fn expect_panic(name: &str, message: &str) -> Run {
    expect_panic_in("global", name, message)
}

/// Pages boot_alloc's page counts take for `phystop`: one byte per page
/// below it, in whole pages.
pub fn counts_pages(phystop: u64) -> u64 {
    (phystop / PG).div_ceil(PG)
}

/// Where boot_alloc puts the page counts (physical): the image's end page
/// (`end_pa` rounded up). linker.ld claims the first 4 MiB for the image, so
/// GRUB leaves nothing of its own there.
pub fn counts_start(end_pa: u64) -> u64 {
    end_pa.div_ceil(PG) * PG
}

/// An interactive monitor session (the runner's `Session`), each failure a
/// test failure that shows the output.
pub struct Session(xtask::session::Session);

impl Session {
    /// Boot and wait for the first prompt.
    pub fn start(args: &[&str]) -> Session {
        let mut s = Session::launch(args, &[]);
        s.expect(PROMPT);
        s
    }

    /// Boot with run-qemu.sh's options `args` and its environment
    /// variables `env` (e.g. GDBPORT); do not wait.
    pub fn launch(args: &[&str], env: &[(&str, &str)]) -> Session {
        Session::launch_waiting(args, env, ANSWER_LIMIT)
    }

    /// `launch`, each answer waited for up to `limit` (for long user
    /// programs such as usertests).
    pub fn launch_waiting(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Session {
        let args = &monitor_unless_chosen(args, env);
        let o = xtask::launch::options(args, env);
        let s = xtask::session::Session::launch(&o, limit)
            .unwrap_or_else(|e| panic!("booting {args:?} failed: {e}"));
        Session(s)
    }

    /// The output consumed so far (the boot report, once started).
    pub fn out_so_far(&self) -> String {
        self.0.out_so_far()
    }

    fn ok<T>(&self, r: xtask::Result<T>) -> T {
        r.unwrap_or_else(|e| panic!("{e}; output:\n{}", self.0.out()))
    }

    /// Wait for `needle` in the output not yet consumed; return that output
    /// up to and including it (CRLF turned into LF).
    pub fn expect(&mut self, needle: &str) -> String {
        let r = self.0.expect(needle);
        self.ok(r)
    }

    /// Send a line to the kernel's serial port.
    pub fn send(&mut self, line: &str) {
        self.send_bytes(line.as_bytes());
    }

    /// Send raw bytes, then a newline, to the kernel's serial port.
    pub fn send_bytes(&mut self, bytes: &[u8]) {
        let r = self.0.send_bytes(bytes);
        self.ok(r)
    }

    /// Run a monitor command (the previous prompt has been consumed) and
    /// return its answer: the lines between the echoed command and the
    /// next prompt.
    pub fn command(&mut self, line: &str) -> String {
        let r = self.0.command(line);
        self.ok(r)
    }

    /// Send `line` (e.g. `halt`) and wait for the kernel to end; close the
    /// input first.
    pub fn finish(self, line: &str) -> Run {
        self.0
            .finish(line)
            .unwrap_or_else(|e| panic!("finishing with {line:?}: {e}"))
    }
}

/// xv6's shell prompt (the peer's `sh` and ours).
pub const SH_PROMPT: &str = xtask::peer::SH_PROMPT;

/// Boot a file system's shell (`args` name it with `--fs`), each answer
/// waited for up to `limit`, and wait for its first prompt.
pub fn shell(args: &[&str], limit: Duration) -> Session {
    let mut s = Session::launch_waiting(args, &[], limit);
    s.expect(xv6::protocol::PROCESSES_READY);
    s.expect(SH_PROMPT);
    s
}

/// Run `line` in a shell session: its output up to the next prompt.
pub fn sh(s: &mut Session, line: &str) -> String {
    s.send(line);
    s.expect(SH_PROMPT)
}

/// Ctrl-P at a shell's prompt: the kernel's process table and free page
/// count (`pages()`: both together, constant unless pages leak).
pub fn ctrl_p(s: &mut Session) -> Procdump {
    let r = xtask::procdump::ctrl_p(&mut s.0);
    s.ok(r)
}

/// Ctrl-P again: every page counted in `before` must have come back
/// (`what` names the run in the failure, with both tables). Processes
/// that are still going (an orphan init has not reaped yet) are waited
/// for, up to `SETTLE_LIMIT`: only the same processes hold the same pages.
pub fn assert_pages_back(s: &mut Session, before: &Procdump, what: &str) {
    let start = Instant::now();
    let mut after = ctrl_p(s);
    while after.pids() != before.pids() && start.elapsed() < SETTLE_LIMIT {
        std::thread::sleep(SETTLE_PAUSE);
        after = ctrl_p(s);
    }
    assert_eq!(
        before.pages(),
        after.pages(),
        "pages lost by {what}:\n{}{}\n{}{}",
        before.table,
        before.free,
        after.table,
        after.free
    );
}

/// How long `assert_pages_back` waits for the processes of its first
/// table, and how long between its looks.
const SETTLE_LIMIT: Duration = Duration::from_secs(10);
const SETTLE_PAUSE: Duration = Duration::from_millis(200);
