//! The peer's own file-system programs, unmodified, from the image its
//! own `make fs.img` built, on our kernel's writable RAM disk: its sh
//! with `>` redirection, mkdir, ln, rm, ls and stressfs (five processes
//! writing and reading files at once, on two CPUs).
//!
//! Without the peer each test says it was skipped and why; under
//! `CI=true` that is a failure.

mod common;

use std::time::Duration;

use common::{Session, sh};
use xtask::peer;

/// How long one answer may take.
const ANSWER_LIMIT: Duration = Duration::from_secs(120);

/// Our kernel with the peer's image on `cpus` CPUs, at the first prompt.
fn boot(cpus: &str) -> Option<Session> {
    let p = peer::available().unwrap_or_else(|e| panic!("{e}"))?;
    let img = p.fs_img.to_str().expect("a UTF-8 path").to_string();
    Some(common::shell(&["--fs", &img, "--smp", cpus], ANSWER_LIMIT))
}

/// `ls`'s line for `name` in its output: (type, inode, size).
fn ls_entry(ls: &str, name: &str) -> Option<(u32, u32, u32)> {
    ls.lines().find_map(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        match w.as_slice() {
            [n, t, i, s] if *n == name => Some((t.parse().ok()?, i.parse().ok()?, s.parse().ok()?)),
            _ => None,
        }
    })
}

/// The lines a command printed, without its echo and the next prompt.
fn body(out: &str) -> Vec<&str> {
    let out = out.strip_suffix(common::SH_PROMPT).unwrap_or(out);
    out.lines().skip(1).collect()
}

#[test]
fn redirection_mkdir_ln_rm_and_ls_change_the_disk_as_asked() {
    let Some(mut s) = boot("1") else { return };
    let booted = s.out_so_far().len();
    sh(&mut s, "echo hello disk > greeting");
    assert_eq!(body(&sh(&mut s, "cat greeting")), ["hello disk"]);
    let ls = sh(&mut s, "ls");
    let (kind, inum, size) = ls_entry(&ls, "greeting").unwrap_or_else(|| panic!("{ls}"));
    assert_eq!((kind, size), (2, "hello disk\n".len() as u32), "{ls}");

    // A second name for the same inode.
    sh(&mut s, "ln greeting hi");
    let ls = sh(&mut s, "ls");
    assert_eq!(ls_entry(&ls, "hi").map(|e| e.1), Some(inum), "{ls}");
    sh(&mut s, "rm greeting");
    let ls = sh(&mut s, "ls");
    assert!(ls_entry(&ls, "greeting").is_none(), "{ls}");
    assert_eq!(body(&sh(&mut s, "cat hi")), ["hello disk"]);

    // A directory, a file in it, and the refusal to remove it non-empty.
    sh(&mut s, "mkdir dir");
    let ls = sh(&mut s, "ls");
    assert_eq!(ls_entry(&ls, "dir").map(|e| e.0), Some(1), "{ls}");
    sh(&mut s, "echo inside > dir/f");
    let ls = sh(&mut s, "ls dir");
    for name in [".", "..", "f"] {
        assert!(ls_entry(&ls, name).is_some(), "{name} missing:\n{ls}");
    }
    assert!(sh(&mut s, "rm dir").contains("rm: dir failed to delete"));
    sh(&mut s, "rm dir/f");
    sh(&mut s, "rm dir");
    let ls = sh(&mut s, "ls");
    assert!(ls_entry(&ls, "dir").is_none(), "{ls}");
    assert!(sh(&mut s, "cd dir").contains("cannot cd dir"));

    // Appending through `>` twice replaces nothing in xv6 (no O_TRUNC):
    // the second, shorter write overwrites the start.
    sh(&mut s, "echo abcdef > t");
    sh(&mut s, "echo xy > t");
    assert_eq!(body(&sh(&mut s, "cat t")), ["xy", "def"]);
    let after_boot = &s.out_so_far()[booted..];
    assert!(
        !after_boot.contains("fs: "),
        "a fault reported:\n{after_boot}"
    );
}

#[test]
fn stressfs_writes_and_reads_five_files_at_once_on_two_cpus() {
    let Some(mut s) = boot("2") else { return };
    let out = sh(&mut s, "stressfs");
    // Its processes print a byte per write: on two CPUs their lines
    // interleave, so only the line before the forks is checked whole; the
    // files tell the rest (each waits for its child before it exits).
    assert!(out.contains("stressfs starting"), "{out}");
    let ls = sh(&mut s, "ls");
    for i in 0..5 {
        let name = format!("stressfs{i}");
        let entry = ls_entry(&ls, &name).unwrap_or_else(|| panic!("{name}:\n{ls}"));
        assert_eq!(entry.2, 20 * 512, "{name}:\n{ls}");
    }
    assert!(!out.contains("panic"), "{out}");
}
