//! The project's own usertests (user/src/bin/usertests.rs) on our kernel:
//! ALL TESTS PASSED in both fork modes, on 1 and 2 CPUs, every page back
//! afterwards, every file-system test run (the full disk's included); the
//! hostile tests' traces are the kernel's lines for a killed process and
//! for an unknown system call; and in the least memory the runner boots,
//! the hostile tests still pass and the kernel stands.

mod common;

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use common::{KERNBASE, Session, ctrl_p, sh};
use xv6::traps::T_PGFLT;

/// How long one answer may take: usertests' memory hogs exhaust memory
/// ten times over, slow on a busy machine.
const ANSWER_LIMIT: Duration = Duration::from_secs(300);

/// usertests' last line when every test passed.
const PASSED: &str = "usertests: ALL TESTS PASSED";

/// Page-fault error code bits (Intel SDM vol. 3, 4.7): the page was
/// present, the access a write, made in user mode.
const PF_P: u32 = 1;
const PF_W: u32 = 2;
const PF_U: u32 = 4;
/// The general protection fault's vector, and its error code's bit that
/// says the selector index is an IDT entry (`index << 3 | GP_IDT`).
const T_GPFLT: u32 = 13;
const GP_IDT: u32 = 2;

use xtask::user::USERTESTS_FS as FS_TESTS;

/// The system call number usertests makes up (its NO_SUCH_CALL).
const NO_SUCH_CALL: u32 = 999;

/// Our programs and README in an image made once per test binary (not
/// target/fs.img, which run-qemu.sh remakes at each boot).
fn image() -> PathBuf {
    static IMG: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut img = IMG.lock().unwrap_or_else(|e| e.into_inner());
    img.get_or_insert_with(|| {
        let mut files = vec![(
            "README".to_string(),
            xtask::paths::at(xtask::mkfs::DEFAULT_README),
        )];
        files.extend(xtask::user::build().unwrap_or_else(|e| panic!("{e}")));
        let contents: Vec<(String, Vec<u8>)> = files
            .into_iter()
            .map(|(name, path)| {
                let data = std::fs::read(&path)
                    .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
                (name, data)
            })
            .collect();
        let bytes = xtask::mkfs::mkfs(&contents).unwrap_or_else(|e| panic!("{e}"));
        let out = xtask::paths::at("target/usertests.img");
        std::fs::write(&out, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
        out
    })
    .clone()
}

/// Boot our image with `cmdline` on `cpus` CPUs (and `extra` runner
/// options), at the first prompt.
fn boot(cmdline: &str, cpus: &str, extra: &[&str]) -> Session {
    let img = image();
    let img = img.to_str().expect("a UTF-8 path");
    let mut args = vec!["--fs", img, "--cmdline", cmdline, "--smp", cpus];
    args.extend(extra);
    common::shell(&args, ANSWER_LIMIT)
}

/// A kernel line `pid P NAME: trap T err E on cpu C eip 0xI addr
/// 0xA--kill proc`, its fields.
#[derive(Debug)]
struct Kill {
    name: String,
    trap: u32,
    err: u32,
    cpu: u32,
    eip: u32,
    addr: u32,
}

/// The kill line `line` parsed, or None if it is not one.
fn kill_line(line: &str) -> Option<Kill> {
    let rest = line.strip_prefix("pid ")?.strip_suffix("--kill proc")?;
    let (pid, rest) = rest.split_once(' ')?;
    pid.parse::<u32>().ok()?;
    let (name, rest) = rest.split_once(": ")?;
    let w: Vec<&str> = rest.split_whitespace().collect();
    let hex = |s: &str| u32::from_str_radix(s.strip_prefix("0x")?, 16).ok();
    match w[..] {
        ["trap", t, "err", e, "on", "cpu", c, "eip", i, "addr", a] => Some(Kill {
            name: name.to_string(),
            trap: t.parse().ok()?,
            err: e.parse().ok()?,
            cpu: c.parse().ok()?,
            eip: hex(i)?,
            addr: hex(a)?,
        }),
        _ => None,
    }
}

/// usertests with `cmdline` on `cpus` CPUs (and `extra` runner options):
/// its output, once the kernel has shown it still stands (no panic, the
/// shell runs) and every page came back.
fn run_usertests(cmdline: &str, cpus: &str, extra: &[&str]) -> String {
    let mut s = boot(cmdline, cpus, extra);
    let before = ctrl_p(&mut s);
    let out = sh(&mut s, "usertests");
    assert!(!out.contains("panic"), "{out}");
    assert!(out.contains("\nusertests: "), "no summary line:\n{out}");
    assert!(sh(&mut s, "echo alive").contains("alive"));
    common::assert_pages_back(
        &mut s,
        &before,
        &format!("usertests ({cmdline}, {cpus} CPUs, {extra:?})"),
    );
    out
}

/// usertests with `cmdline` on `cpus` CPUs: all passed, with the kernel's
/// lines for the hostile tests.
fn usertests_pass(cmdline: &str, cpus: &str) {
    let out = run_usertests(cmdline, cpus, &[]);
    assert!(out.contains(PASSED), "{out}");
    assert!(!out.contains("FAILED"), "{out}");
    // Every file-system test ran here, the full disk's too (xv6 skips
    // that one: it panics when its disk fills).
    for test in FS_TESTS {
        assert!(out.contains(&format!("\n{test}: ok\n")), "{test}:\n{out}");
    }

    // The kill lines: each names usertests, a CPU we have, an eip in user
    // memory; the kernel read's one a page fault at KERNBASE, a user-mode
    // read of a present page (error code: present, user).
    let kills: Vec<Kill> = out.lines().filter_map(kill_line).collect();
    assert!(!kills.is_empty(), "no kill line:\n{out}");
    let ncpu: u32 = cpus.parse().unwrap();
    for k in &kills {
        assert_eq!(k.name, "usertests", "{k:?}");
        assert!(k.cpu < ncpu, "{k:?}");
        assert!(k.eip < KERNBASE, "{k:?}");
    }
    let fault = |err: u32, addr: &dyn Fn(u32) -> bool, what: &str| {
        assert!(
            kills
                .iter()
                .any(|k| k.trap == T_PGFLT && k.err == err && addr(k.addr)),
            "no page fault {what} (err {err}) among {kills:?}"
        );
    };
    fault(PF_P | PF_U, &|a| a == KERNBASE, "reading KERNBASE");
    fault(PF_P | PF_W | PF_U, &|a| a > KERNBASE, "writing the kernel");
    fault(PF_U, &|a| a < KERNBASE, "reading past the end");
    // `int N` for a gate user code may not use: a general protection
    // fault whose error code names the IDT entry.
    for vector in [3, 65, 0x80, 255] {
        let err = (vector << 3) | GP_IDT;
        assert!(
            kills.iter().any(|k| k.trap == T_GPFLT && k.err == err),
            "no general protection fault for int {vector} (err {err}) among {kills:?}"
        );
    }
    // `in` and `out` from user mode: a general protection fault, error 0.
    let port_faults = kills
        .iter()
        .filter(|k| k.trap == T_GPFLT && k.err == 0)
        .count();
    assert!(
        port_faults >= 2,
        "in and out must each be killed with trap 13, err 0: {kills:?}"
    );
    let unknown = format!(" usertests: unknown sys call {NO_SUCH_CALL}");
    assert!(
        out.lines()
            .any(|l| l.ends_with(&unknown) && kill_line(l).is_none()),
        "no {unknown:?} line:\n{out}"
    );
}

/// usertests in the least memory the runner boots: a test that needs
/// more memory than there is may fail (fork_big_memory needs twice 4
/// MiB), but the hostile ones pass, the kernel stands and every page
/// comes back.
fn usertests_in_the_least_memory(cmdline: &str, cpus: &str) {
    let mib = xtask::options::MIN_MEM_MIB.to_string();
    let out = run_usertests(cmdline, cpus, &["--mem", &mib]);
    for test in [
        "fork_bounded",
        "kernel_write_kills",
        "wild_arguments",
        "exec_garbage",
        "fork_bomb",
        "sbrk_until_out",
        "ten_hogs",
    ] {
        assert!(out.contains(&format!("\n{test}: ok\n")), "{test}:\n{out}");
    }
}

#[test]
fn usertests_pass_with_copying_fork_on_one_cpu() {
    usertests_pass("fork=copy", "1");
}

#[test]
fn usertests_pass_with_cow_fork_on_two_cpus() {
    usertests_pass("fork=cow", "2");
}

#[test]
fn usertests_leave_the_kernel_standing_in_the_least_memory_with_cow_fork_on_two_cpus() {
    usertests_in_the_least_memory("fork=cow", "2");
}

#[test]
fn usertests_leave_the_kernel_standing_in_the_least_memory_with_copying_fork() {
    usertests_in_the_least_memory("fork=copy", "1");
}

#[test]
fn a_kill_line_is_parsed_and_others_are_not() {
    let k =
        kill_line("pid 7 usertests: trap 14 err 5 on cpu 1 eip 0x1a2b addr 0x80000000--kill proc")
            .expect("a kill line");
    assert_eq!(
        (k.name.as_str(), k.trap, k.err, k.cpu, k.eip, k.addr),
        ("usertests", 14, 5, 1, 0x1a2b, 0x8000_0000)
    );
    assert!(kill_line("7 usertests: unknown sys call 999").is_none());
    assert!(kill_line("pid 7 usertests: trap 14 err 5--kill proc").is_none());
}
