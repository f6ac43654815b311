//! Corrupt images (made by `xtask::corrupt`): each boots on our kernel
//! and is either refused at mount with a line naming what is wrong
//! (`fs: not mounted: <reason>`), or the one call that meets the damage
//! fails while the shell goes on answering. Never a panic, never a hang
//! (every boot is bounded). The checker finds each of them too
//! (`cargo test -p xtask corrupt`).

mod common;

use std::path::PathBuf;

use xtask::corrupt::{self, Corruption};

/// The line a refused mount prints, before its reason.
const NOT_MOUNTED: &str = "fs: not mounted: ";
/// What the shell is asked last: its answer shows it still runs.
const ALIVE: &str = "echo still-alive\n";

/// README and our programs, made into an image with `c` done to it;
/// its path.
fn broken(c: Corruption) -> PathBuf {
    let mut files = vec![(
        "README".to_string(),
        std::fs::read(xtask::paths::at(xtask::mkfs::DEFAULT_README)).unwrap(),
    )];
    for (name, path) in xtask::user::build().unwrap_or_else(|e| panic!("{e}")) {
        files.push((name, std::fs::read(path).unwrap()));
    }
    let img = corrupt::image(&files, c).unwrap_or_else(|e| panic!("{e}"));
    let dir = xtask::paths::at("target/corrupt");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{c:?}.img"));
    std::fs::write(&path, img).unwrap();
    path
}

/// Boot `img` on the RAM disk, then on the IDE disk, into the monitor
/// and power off: each mount must be refused with a reason containing
/// `names`, and the disk left as it was.
fn refused_at_mount(c: Corruption, names: &str) {
    let img = broken(c);
    let before = std::fs::read(&img).unwrap();
    let path = img.to_str().unwrap();
    for disk in ["--fs", "--disk"] {
        let run = common::launch(&[disk, path, "--monitor", "halt"]);
        run.expect_status(0);
        assert!(!run.has("panic: "), "{disk}:\n{}", run.out);
        let line = run.line(NOT_MOUNTED);
        eprintln!("{c:?} on {disk}: {line}");
        assert!(
            line.contains(names),
            "{c:?} on {disk}: the refusal must name {names:?}: {line}"
        );
    }
    assert!(
        std::fs::read(&img).unwrap() == before,
        "a refused disk is not written"
    );
}

/// Boot `img` on the RAM disk into the shell, type `input` and then
/// ALIVE: no panic, the shell answers to the end; the output.
fn shell_survives(c: Corruption, input: &str) -> String {
    let img = broken(c);
    let input = format!("{input}{ALIVE}");
    let run = common::launch_with_input(&["--fs", img.to_str().unwrap()], input.as_bytes());
    run.expect_status(0);
    assert!(!run.has("panic: "), "{c:?}:\n{}", run.out);
    assert!(
        !run.has(NOT_MOUNTED),
        "{c:?} is met by one call, not at mount:\n{}",
        run.out
    );
    assert!(
        run.out.lines().any(|l| l.trim_end() == "still-alive"),
        "{c:?}: the shell stopped answering:\n{}",
        run.out
    );
    run.out
}

#[test]
fn a_superblock_larger_than_the_disk_is_refused_at_mount() {
    refused_at_mount(Corruption::SuperblockSize, "size");
}

#[test]
fn a_log_header_counting_past_the_log_is_refused_at_mount() {
    refused_at_mount(Corruption::LogCountPastLog, "log");
}

#[test]
fn a_block_number_past_the_end_fails_the_read_of_that_file_only() {
    let out = shell_survives(Corruption::BlockPastEnd, "cat README\nls README\n");
    assert!(
        out.contains("cat: read error"),
        "the read must fail:\n{out}"
    );
    // fstat of the same file still answers: only the read meets the damage.
    assert!(
        out.lines()
            .any(|l| l.trim_start_matches("$ ").starts_with("README ")),
        "{out}"
    );
}

#[test]
fn a_directory_loop_neither_panics_nor_hangs_the_kernel() {
    let out = shell_survives(
        Corruption::DirectoryLoop,
        "ls /d/e/up\nls /d/e/up/e/up/e/up/e\ncat /d/e/up/e/up\n",
    );
    // /d/e/up is /d: it lists e.
    assert!(
        out.lines()
            .any(|l| l.trim_start_matches("$ ").starts_with("e ")),
        "{out}"
    );
}
