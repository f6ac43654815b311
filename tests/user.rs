//! The project's own user programs (user/), run on the C xv6 kernel built
//! from the peer (it speaks the same ABI; our kernel's runs are the
//! processes' tests): a shell session, forktest, usertests and bench; the
//! peer's own usertests9 driver on the C kernel; and host unit tests of
//! the programs' pure logic (included from user/src by path).
//!
//! Without the peer the peer tests say they were skipped and why; under
//! `CI=true` that is a failure.

extern crate alloc;

use std::path::{Path, PathBuf};
use std::time::Duration;

use xtask::peer::{self, Peer};
use xtask::session::Session;

// The user library's host-testable parts, with their unit tests.
#[path = "../user/src/args.rs"]
#[allow(dead_code)]
mod args;
#[path = "../user/src/count.rs"]
mod count;
#[path = "../user/src/parse.rs"]
#[allow(dead_code)]
mod parse;
#[path = "../user/src/print.rs"]
#[allow(dead_code)]
mod print;
#[path = "../user/src/regex.rs"]
mod regex;

/// How long one answer of the C xv6 may take (its usertests and our
/// usertests' memory hogs take some seconds each on a busy machine).
const ANSWER_LIMIT: Duration = Duration::from_secs(240);

/// The shell's prompt.
const PS: &str = peer::SH_PROMPT;

/// The peer, built; None (after saying why) if there is none, a failure
/// under CI=true.
fn peer() -> Option<Peer> {
    peer::available().unwrap_or_else(|e| panic!("{e}"))
}

/// Our programs and the peer's README.
fn our_files(p: &Peer) -> Vec<(String, PathBuf)> {
    let mut files = xtask::user::build().unwrap_or_else(|e| panic!("{e}"));
    files.push(("README".into(), p.dir.join("README")));
    files
}

/// An image named `name` under target/peer holding `files`.
fn image(p: &Peer, name: &str, files: &[(String, PathBuf)]) -> PathBuf {
    let img = xtask::paths::at(peer::DIR).join(format!("{name}.img"));
    p.make_image(&img, files)
        .unwrap_or_else(|e| panic!("making {name}.img: {e}"));
    img
}

/// The C kernel booted with `img`, at the shell's first prompt.
struct Xv6(Session);

impl Xv6 {
    fn boot(p: &Peer, img: &Path) -> Xv6 {
        let s = Session::spawn(&mut p.qemu(img), ANSWER_LIMIT)
            .unwrap_or_else(|e| panic!("booting the C xv6: {e}"));
        let mut x = Xv6(s);
        x.expect("init: starting sh");
        x.expect(PS);
        x
    }

    fn expect(&mut self, needle: &str) -> String {
        let r = self.0.expect(needle);
        r.unwrap_or_else(|e| panic!("{e}; output:\n{}", self.0.out()))
    }

    /// Run a shell line: what it printed before the next prompt (the
    /// echoed line removed).
    fn sh(&mut self, line: &str) -> String {
        self.0.send_bytes(line.as_bytes()).unwrap();
        let text = self.expect(PS);
        let text = text.strip_suffix(PS).unwrap();
        let (echo, out) = text.split_once('\n').unwrap_or((text, ""));
        assert_eq!(echo, line, "the console echoes the line");
        // The C kernel's own line when an exec fails: sh's first try of a
        // program outside the root directory (it then tries /NAME).
        out.replace("exec: fail\n", "")
    }
}

#[test]
fn the_shell_and_the_tools_run_on_c_xv6() {
    let Some(p) = peer() else { return };
    let files = our_files(&p);
    let img = image(&p, "user-shell", &files);
    let mut x = Xv6::boot(&p, &img);

    assert_eq!(x.sh("echo hello | cat"), "hello\n");
    assert_eq!(x.sh("echo one two   three"), "one two three\n");
    assert_eq!(x.sh("echo a ; echo b;echo c"), "a\nb\nc\n");
    assert_eq!(x.sh("echo x | cat | cat | wc"), "1 1 2 \n");
    assert_eq!(x.sh("(echo a; echo b) | wc"), "2 2 4 \n");

    // wc and grep, against counts made here from the same README.
    let readme = std::fs::read_to_string(p.dir.join("README")).unwrap();
    let words = readme.split_ascii_whitespace().count();
    let lines = readme.matches('\n').count();
    assert_eq!(
        x.sh("wc README"),
        format!("{lines} {words} {} README\n", readme.len())
    );
    let matching: String = readme
        .lines()
        .filter(|l| l.contains("xv6"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(!matching.is_empty());
    assert_eq!(x.sh("grep xv6 README"), matching);
    assert_eq!(x.sh("grep ^xv6 < README | wc"), {
        let n = readme.lines().filter(|l| l.starts_with("xv6")).count();
        let w: usize = readme
            .lines()
            .filter(|l| l.starts_with("xv6"))
            .map(|l| l.split_ascii_whitespace().count())
            .sum();
        let b: usize = readme
            .lines()
            .filter(|l| l.starts_with("xv6"))
            .map(|l| l.len() + 1)
            .sum();
        format!("{n} {w} {b} \n")
    });

    // ls: every file with its type (2, a file) and size.
    let ls = x.sh("ls");
    for (name, path) in &files {
        let size = std::fs::metadata(path).unwrap().len();
        let line = ls
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} not in ls:\n{ls}"));
        let w: Vec<&str> = line.split_whitespace().collect();
        assert_eq!((w[1], w[3]), ("2", size.to_string().as_str()), "{line}");
        assert!(line.starts_with(&format!("{name:<14} ")), "{line}");
    }
    assert!(
        ls.lines().any(|l| l.starts_with(".              1 1 ")),
        "{ls}"
    );
    // Our init found no console descriptors on xv6 and made the device.
    assert!(
        ls.lines().any(|l| l.starts_with("console        3 ")),
        "{ls}"
    );

    // Redirection and cd: a new directory, a file made in it.
    assert_eq!(x.sh("mkdir d"), "");
    assert_eq!(x.sh("cd d"), "");
    assert_eq!(x.sh("echo made here > f"), "");
    let inside = x.sh("ls");
    let names: Vec<&str> = inside
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(names, [".", "..", "f"], "{inside}");
    assert_eq!(x.sh("cd /"), "");
    assert_eq!(x.sh("cat d/f"), "made here\n");
    assert_eq!(x.sh("cat < d/f"), "made here\n");
    assert_eq!(x.sh("cd nowhere"), "cannot cd nowhere\n");

    // Errors name what is wrong.
    assert_eq!(x.sh("nosuch"), "exec nosuch failed\n");
    assert_eq!(x.sh("echo |"), "sh: missing command\n");
    assert_eq!(x.sh("cat nofile"), "cat: cannot open nofile\n");
    assert_eq!(x.sh("kill 999"), "kill: no process 999\n");
    assert_eq!(x.sh("kill x"), "kill: x is not a pid\n");

    // & does not wait: the prompt may come before the job's output.
    x.0.send_bytes(b"echo background &").unwrap();
    x.expect("background\n");

    // kill: the shell (pid 2 on xv6: init is 1) dies; init starts another.
    x.0.send_bytes(b"kill 2").unwrap();
    x.expect("init: starting sh");
    x.expect(PS);
    assert_eq!(x.sh("echo again"), "again\n");
}

#[test]
fn mkdir_rm_ln_stressfs_and_redirection_work_on_c_xv6() {
    let Some(p) = peer() else { return };
    let img = image(&p, "user-fs", &our_files(&p));
    let mut x = Xv6::boot(&p, &img);

    // Usage lines, and each failure named.
    assert_eq!(x.sh("mkdir"), "usage: mkdir dir...\n");
    assert_eq!(x.sh("rm"), "usage: rm file...\n");
    assert_eq!(x.sh("ln a"), "usage: ln old new\n");
    assert_eq!(x.sh("ln a b c"), "usage: ln old new\n");

    // mkdir: several at once; one that exists or has no parent is named.
    assert_eq!(x.sh("mkdir a b"), "");
    assert_eq!(
        x.sh("mkdir a c no/d"),
        "mkdir: cannot create a\nmkdir: cannot create no/d\n"
    );
    let dirs = x.sh("ls");
    for d in ["a", "b", "c"] {
        assert!(
            dirs.lines().any(|l| l.starts_with(&format!("{d:<14} 1 "))),
            "{d} is not a directory:\n{dirs}"
        );
    }

    // > writes a file, < reads it, >> appends to it.
    assert_eq!(x.sh("echo first > a/f"), "");
    assert_eq!(x.sh("echo second >> a/f"), "");
    assert_eq!(x.sh("cat < a/f"), "first\nsecond\n");

    // ln: a second name for the same inode; a directory is refused.
    assert_eq!(x.sh("ln a/f g"), "");
    let ino = |ls: &str, name: &str| -> (String, String) {
        let line = ls
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} not in:\n{ls}"));
        let w: Vec<&str> = line.split_whitespace().collect();
        (w[2].to_string(), w[3].to_string())
    };
    let (f, g) = (x.sh("ls a/f"), x.sh("ls g"));
    assert_eq!(ino(&f, "f"), ino(&g, "g"), "{f}{g}");
    assert_eq!(x.sh("ln a h"), "ln: cannot link h to a\n");
    assert_eq!(x.sh("ln nofile h"), "ln: cannot link h to nofile\n");
    assert_eq!(x.sh("ln a/f g"), "ln: cannot link g to a/f\n");

    // rm: a name goes, the other keeps the data; a directory that is not
    // empty stays; an empty one goes.
    assert_eq!(x.sh("rm a/f"), "");
    assert_eq!(x.sh("cat g"), "first\nsecond\n");
    assert_eq!(x.sh("cat a/f"), "cat: cannot open a/f\n");
    assert_eq!(x.sh("echo x > a/y"), "");
    assert_eq!(
        x.sh("rm a nofile"),
        "rm: cannot remove a\nrm: cannot remove nofile\n"
    );
    assert_eq!(x.sh("rm a/y a b c g"), "");
    let left = x.sh("ls");
    for gone in ["a", "b", "c", "g"] {
        assert!(
            !left
                .lines()
                .any(|l| l.split_whitespace().next() == Some(gone)),
            "{gone} still there:\n{left}"
        );
    }

    // stressfs: four processes at once, then one line of verdict.
    let out = x.sh("stressfs");
    assert!(out.starts_with("stressfs: 4 processes"), "{out}");
    assert!(out.ends_with("stressfs: ok\n"), "{out}");
    let out = x.sh("stressfs 7");
    assert!(out.starts_with("stressfs: 7 processes"), "{out}");
    assert!(out.ends_with("stressfs: ok\n"), "{out}");
    assert_eq!(
        x.sh("stressfs 0"),
        "stressfs: 0 is not a number of processes (1 to 31)\n"
    );
    // It leaves nothing behind.
    assert!(!x.sh("ls").contains("stressfs0"));
}

#[test]
fn forktest_and_usertests_pass_on_c_xv6() {
    let Some(p) = peer() else { return };
    let img = image(&p, "user-tests", &our_files(&p));
    let mut x = Xv6::boot(&p, &img);
    let out = x.sh("forktest");
    assert_eq!(out, "fork test\nfork test OK\n");
    let out = x.sh("usertests");
    assert!(out.contains("usertests: ALL TESTS PASSED"), "{out}");
    for test in [
        "fork_bomb",
        "ten_hogs",
        "wild_arguments",
        "kernel_write_kills",
    ]
    .into_iter()
    .chain(
        xtask::user::USERTESTS_FS
            .into_iter()
            .filter(|t| *t != xtask::user::USERTESTS_FS_OURS_ONLY),
    ) {
        assert!(out.contains(&format!("\n{test}: ok\n")), "{out}");
    }
    // The C kernel panics on a full disk: that test is ours only.
    assert!(
        out.contains("\nfs_full_disk: skipped (xv6 panics in balloc when the disk is full)\n"),
        "{out}"
    );
    // The kernel still runs after all that.
    assert_eq!(x.sh("echo alive"), "alive\n");
}

#[test]
fn bench_prints_one_figure_per_operation_on_c_xv6() {
    let Some(p) = peer() else { return };
    let img = image(&p, "user-bench", &our_files(&p));
    let figures = p
        .bench(&img, ANSWER_LIMIT)
        .unwrap_or_else(|e| panic!("bench on the C xv6: {e}"));
    let out = format!("{figures:?}");
    let names: Vec<&str> = figures.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "getpid",
            "fork_exit_wait",
            "fork16m_exit_wait",
            "fork_exec_echo_wait",
            "pipe512_round_trip",
            "sbrk1m_touch",
            "create4k_unlink",
            "write1m_read1m",
            "ls_dir100"
        ],
        "{out}"
    );
    assert!(figures.iter().all(|f| f.1 > 0), "{out}");
    // A fork of 16 MiB copies more than a fork of a small process; a MiB
    // through the file system costs more than one 4 KiB file.
    assert!(figures[2].1 > figures[1].1, "{out}");
    assert!(figures[7].1 > figures[6].1, "{out}");
}

#[test]
fn the_peers_usertests9_driver_passes_on_c_xv6() {
    let Some(p) = peer() else { return };
    let ut9 = p.usertests9().unwrap_or_else(|e| panic!("{e}"));
    // The peer's own programs (its init and sh among them) and the driver.
    let mut files = p.programs().unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    for name in ["init", "sh", "usertests", "forktest", "ls"] {
        assert!(names.contains(&name), "{name} not among {names:?}");
    }
    files.retain(|f| f.0 != "usertests9");
    files.push(("usertests9".to_string(), ut9));
    let img = image(&p, "usertests9", &files);
    let mut x = Xv6::boot(&p, &img);
    let out = x.sh("usertests9");
    assert!(out.contains(peer::USERTESTS9_PASSED), "{out}");
    for test in peer::USERTESTS9_LINES {
        assert!(out.contains(test), "{test} missing:\n{out}");
    }
}
