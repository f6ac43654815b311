//! Conformance with the C xv6 peer: our kernel runs the peer's own
//! programs, unchanged, from the peer's own image (its mkfs, built by
//! xtask::peer). Its init starts its sh, which runs pipes, ls, wc, grep
//! and forktest; its usertests' nine process tests (the usertests9
//! driver) pass on 1 and 2 CPUs, in both fork modes; Ctrl-P's process
//! table ends with the free page count, which comes back after each
//! workload.
//!
//! Without the peer each test says it was skipped and why; under
//! `CI=true` that is a failure.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use common::{Session, ctrl_p, sh};
use xtask::peer::{self, Peer, USERTESTS9_LINES};

/// How long one answer may take: usertests9's sbrktest grows a process
/// to 100 MiB and its mem test exhausts memory, slow on a busy machine.
const ANSWER_LIMIT: Duration = Duration::from_secs(300);

/// The peer, built; None (after saying why) if there is none.
fn peer() -> Option<Peer> {
    peer::available().unwrap_or_else(|e| panic!("{e}"))
}

/// Boot our kernel with `img` as its file system and `cmdline` (plus
/// `extra` runner options), at the shell's first prompt.
fn boot(img: &Path, cmdline: &str, extra: &[&str]) -> Session {
    let img = img.to_str().expect("a UTF-8 path");
    let mut args = vec!["--fs", img];
    if !cmdline.is_empty() {
        args.extend(["--cmdline", cmdline]);
    }
    args.extend(extra);
    common::shell(&args, ANSWER_LIMIT)
}

#[test]
fn the_peers_shell_runs_a_pipe_ls_wc_and_grep() {
    let Some(p) = peer() else { return };
    let mut s = boot(&p.fs_img, "", &[]);
    let piped = sh(&mut s, "echo hello | cat");
    assert!(piped.contains("\nhello\n"), "echo hello | cat:\n{piped}");
    let ls = sh(&mut s, "ls");
    for name in ["README", "cat", "sh", "forktest", "usertests"] {
        assert!(
            ls.lines().any(|l| l.starts_with(name)),
            "ls lacks {name}:\n{ls}"
        );
    }
    // wc and grep, against counts made here from the same README.
    let readme = std::fs::read_to_string(p.dir.join("README")).expect("the peer's README");
    let words = readme.split_ascii_whitespace().count();
    let lines = readme.matches('\n').count();
    let wc = sh(&mut s, "wc README");
    let want = format!("{lines} {words} {} README", readme.len());
    assert!(wc.lines().any(|l| l == want), "wc: want {want:?} in {wc}");
    // grep's output after the echoed command line, before the prompt.
    let grep = sh(&mut s, "grep xv6 README");
    let body = grep
        .strip_suffix(common::SH_PROMPT)
        .expect("ends at the prompt");
    let got: Vec<&str> = body.lines().skip(1).collect();
    let want: Vec<&str> = readme.lines().filter(|l| l.contains("xv6")).collect();
    assert!(want.len() >= 2, "the README names xv6");
    assert_eq!(got, want, "grep: {grep}");
}

#[test]
fn ctrl_p_lists_the_processes() {
    let Some(p) = peer() else { return };
    let mut s = boot(&p.fs_img, "", &[]);
    let d = ctrl_p(&mut s);
    // Typed after the prompt `$ `: the table starts on a line of its own.
    assert_eq!(
        d.table.lines().next().map(str::trim),
        Some(""),
        "the table's first line is the prompt's:\n{}",
        d.table
    );
    assert!(d.table.contains(" init "), "no init in:\n{}", d.table);
    assert!(d.table.contains(" sh "), "no sh in:\n{}", d.table);
    // Ctrl-P alone gives the shell no line: no child is forked for it.
    assert_eq!(d.pids(), [1, 2], "{}", d.table);
    assert!(d.free > 0, "{d:?}");
}

/// forktest, then a pipeline: every page comes back.
fn forktest_leaks_nothing(cmdline: &str) {
    let Some(p) = peer() else { return };
    let mut s = boot(&p.fs_img, cmdline, &[]);
    let before = ctrl_p(&mut s);
    let out = sh(&mut s, "forktest");
    assert!(out.contains("fork test OK"), "{out}");
    sh(&mut s, "echo a b c | wc");
    common::assert_pages_back(&mut s, &before, &format!("forktest with {cmdline:?}"));
}

#[test]
fn forktest_passes_and_leaks_nothing_with_cow_fork() {
    forktest_leaks_nothing("fork=cow");
}

#[test]
fn forktest_passes_and_leaks_nothing_with_copying_fork() {
    forktest_leaks_nothing("fork=copy");
}

#[test]
fn a_wild_command_fails_only_itself() {
    let Some(p) = peer() else { return };
    let mut s = boot(&p.fs_img, "", &[]);
    let out = sh(&mut s, "nosuchprogram");
    assert!(out.contains("exec nosuchprogram failed"), "{out}");
    assert!(sh(&mut s, "echo still").contains("still"));
}

/// The peer's programs and its usertests9 driver, in an image made once
/// per test binary by the peer's mkfs.
fn usertests9_image(p: &Peer) -> PathBuf {
    static IMG: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut img = IMG.lock().unwrap_or_else(|e| e.into_inner());
    img.get_or_insert_with(|| {
        let ut9 = p.usertests9().unwrap_or_else(|e| panic!("{e}"));
        let mut files = p.programs().unwrap_or_else(|e| panic!("{e}"));
        files.retain(|f| f.0 != "usertests9");
        files.push(("usertests9".to_string(), ut9));
        // Not the name tests/user.rs uses: both may run at once.
        let out = xtask::paths::at(peer::DIR).join("usertests9-ours.img");
        p.make_image(&out, &files)
            .unwrap_or_else(|e| panic!("making {}: {e}", out.display()));
        out
    })
    .clone()
}

/// usertests9 on our kernel with `cmdline` on `cpus` CPUs: every test
/// passes, the kernel lives on, and every page comes back.
fn usertests9_passes(cmdline: &str, cpus: &str) {
    let Some(p) = peer() else { return };
    let img = usertests9_image(&p);
    let mut s = boot(&img, cmdline, &["--smp", cpus]);
    let before = ctrl_p(&mut s);
    let out = sh(&mut s, "usertests9");
    assert!(out.contains(peer::USERTESTS9_PASSED), "{out}");
    for line in USERTESTS9_LINES {
        assert!(out.contains(line), "{line:?} missing:\n{out}");
    }
    assert!(!out.contains("panic"), "{out}");
    assert!(sh(&mut s, "echo alive").contains("alive"));
    common::assert_pages_back(
        &mut s,
        &before,
        &format!("usertests9 ({cmdline}, {cpus} CPUs)"),
    );
}

#[test]
fn the_peers_usertests9_pass_with_cow_fork_on_one_cpu() {
    usertests9_passes("fork=cow", "1");
}

#[test]
fn the_peers_usertests9_pass_with_copying_fork_on_two_cpus() {
    usertests9_passes("fork=copy", "2");
}
