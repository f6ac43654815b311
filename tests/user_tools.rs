//! The project's own file-system tools (user/src/bin: mkdir, rm, ln,
//! stressfs) and the shell's `>`, `>>` and `<` on our kernel's writable
//! RAM disk, on two CPUs; tests/user.rs runs the same tools on the C xv6.

mod common;

use std::time::Duration;

use common::{Session, sh};

/// How long one answer may take.
const ANSWER_LIMIT: Duration = Duration::from_secs(120);

/// Our programs and README in an image of this test's own.
fn image() -> String {
    let mut files = vec![(
        "README".to_string(),
        std::fs::read(xtask::paths::at(xtask::mkfs::DEFAULT_README)).unwrap(),
    )];
    for (name, path) in xtask::user::build().unwrap_or_else(|e| panic!("{e}")) {
        files.push((name, std::fs::read(path).unwrap()));
    }
    let bytes = xtask::mkfs::mkfs(&files).unwrap_or_else(|e| panic!("{e}"));
    let out = xtask::paths::at("target/user_tools.img");
    std::fs::write(&out, bytes).unwrap();
    out.to_str().expect("a UTF-8 path").to_string()
}

/// What `line` printed: the shell's output without the echoed line and
/// the next prompt, each line ended by `\n`.
fn run(s: &mut Session, line: &str) -> String {
    let out = sh(s, line).replace('\r', "");
    let out = out.strip_suffix(common::SH_PROMPT).unwrap_or(&out);
    out.lines().skip(1).map(|l| format!("{l}\n")).collect()
}

/// `ls`'s inode number for `name` in its output.
fn inode(ls: &str, name: &str) -> String {
    let line = ls
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("{name} not in:\n{ls}"));
    line.split_whitespace().nth(2).unwrap().to_string()
}

#[test]
fn mkdir_rm_ln_stressfs_and_redirection_work_on_our_kernel() {
    let img = image();
    let mut s = common::shell(&["--fs", &img, "--smp", "2"], ANSWER_LIMIT);
    assert_eq!(run(&mut s, "mkdir"), "usage: mkdir dir...\n");
    assert_eq!(run(&mut s, "rm"), "usage: rm file...\n");
    assert_eq!(run(&mut s, "ln a"), "usage: ln old new\n");

    assert_eq!(run(&mut s, "mkdir a b"), "");
    assert_eq!(
        run(&mut s, "mkdir a no/d"),
        "mkdir: cannot create a\nmkdir: cannot create no/d\n"
    );
    assert_eq!(run(&mut s, "echo first > a/f"), "");
    assert_eq!(run(&mut s, "echo second >> a/f"), "");
    assert_eq!(run(&mut s, "cat < a/f"), "first\nsecond\n");

    assert_eq!(run(&mut s, "ln a/f g"), "");
    let (f, g) = (run(&mut s, "ls a/f"), run(&mut s, "ls g"));
    assert_eq!(inode(&f, "f"), inode(&g, "g"), "{f}{g}");
    assert_eq!(run(&mut s, "ln a h"), "ln: cannot link h to a\n");

    assert_eq!(run(&mut s, "rm a/f"), "");
    assert_eq!(run(&mut s, "cat g"), "first\nsecond\n");
    assert_eq!(run(&mut s, "rm a nofile"), "rm: cannot remove nofile\n");
    let left = run(&mut s, "ls");
    assert!(
        !left
            .lines()
            .any(|l| l.split_whitespace().next() == Some("a")),
        "the emptied directory a is still there:\n{left}"
    );
    assert_eq!(run(&mut s, "rm a"), "rm: cannot remove a\n");
    assert_eq!(run(&mut s, "rm b g"), "");

    let out = run(&mut s, "stressfs 6");
    assert!(out.starts_with("stressfs: 6 processes"), "{out}");
    assert!(out.ends_with("stressfs: ok\n"), "{out}");
    assert!(!run(&mut s, "ls").contains("stressfs0"));
}
