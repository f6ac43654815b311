//! The peer's own `usertests`, unmodified, from the image its own `make
//! fs.img` built, on our kernel's writable file system on the RAM disk:
//! every test passes, on one CPU with copy-on-write fork and on two with
//! copying fork, and every page comes back afterwards (Ctrl-P's free
//! count plus the processes' own pages). The RAM disk is a copy in
//! memory, so the peer's image file is never changed.
//!
//! Without the peer each test says it was skipped and why; under
//! `CI=true` that is a failure.

mod common;

use std::time::Duration;

use common::{ctrl_p, sh};
use xtask::peer;

/// How long the whole run may take (about a minute on an idle machine).
const ANSWER_LIMIT: Duration = Duration::from_secs(600);

/// What usertests prints when every test passed.
const PASSED: &str = "ALL TESTS PASSED";

/// usertests on our kernel with `cmdline` on `cpus` CPUs.
fn usertests_pass(cmdline: &str, cpus: &str) {
    let Some(p) = peer::available().unwrap_or_else(|e| panic!("{e}")) else {
        return;
    };
    let img = p.fs_img.to_str().expect("a UTF-8 path");
    let mut s = common::shell(
        &["--fs", img, "--cmdline", cmdline, "--smp", cpus],
        ANSWER_LIMIT,
    );
    let before = ctrl_p(&mut s);
    let out = sh(&mut s, "usertests");
    assert!(out.contains(PASSED), "{out}");
    assert!(!out.contains("panic"), "{out}");
    assert!(
        !out.contains("fs: "),
        "the file system reported a fault:\n{out}"
    );
    assert!(sh(&mut s, "echo alive").contains("alive"));
    common::assert_pages_back(
        &mut s,
        &before,
        &format!("usertests ({cmdline}, {cpus} CPUs)"),
    );
}

#[test]
fn the_peers_usertests_pass_with_cow_fork_on_one_cpu() {
    usertests_pass("fork=cow", "1");
}

#[test]
fn the_peers_usertests_pass_with_copying_fork_on_two_cpus() {
    usertests_pass("fork=copy", "2");
}
