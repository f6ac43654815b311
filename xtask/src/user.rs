//! The project's own user programs (the `user/` crate): built for their
//! bare-metal target (`user/i686-xv6-user.json`, core and alloc from
//! rust-src) into `target/user/`, each ELF copied to `target/user/bin/NAME`
//! under the name it has in the file system.

use std::fs::{self, File};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

use crate::kernel::io_error;
use crate::{Error, Result, paths};

/// The programs, as named in the file system (and in `user/src/bin/`).
pub const PROGRAMS: &[&str] = &[
    "init",
    "sh",
    "echo",
    "cat",
    "ls",
    "wc",
    "grep",
    "kill",
    "forktest",
    "usertests",
    "bench",
    "spin",
    "mkdir",
    "rm",
    "ln",
    "stressfs",
    "crashload",
];

/// Our usertests' file-system tests, each printing `NAME: ok` when it
/// passes (user/src/bin/usertests/fs.rs), for the tests that read them.
pub const USERTESTS_FS: [&str; 7] = [
    "fs_files",
    "fs_open_modes",
    "fs_dirs",
    "fs_links",
    "fs_big_file",
    "fs_open_after_unlink",
    "fs_full_disk",
];
/// The one of them that runs on our kernel only (the C xv6 panics when
/// its disk is full), so on xv6 it says it was skipped.
pub const USERTESTS_FS_OURS_ONLY: &str = "fs_full_disk";

/// cargo's target directory for the user crate, relative to the root.
pub const TARGET_DIR: &str = "target/user";

/// Where the built programs are copied, relative to the root.
pub const BIN_DIR: &str = "target/user/bin";

/// Build the user programs (once per process; several processes take
/// turns through a lock file): each program's name and its ELF.
pub fn build() -> Result<Vec<(String, PathBuf)>> {
    static DONE: Mutex<bool> = Mutex::new(false);
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    let target = paths::at(TARGET_DIR);
    let bin = paths::at(BIN_DIR);
    if !*done {
        fs::create_dir_all(&bin).map_err(|e| io_error("create", &bin, e))?;
        let lock_path = target.join("build.lock");
        let lock = File::create(&lock_path).map_err(|e| io_error("create", &lock_path, e))?;
        lock.lock().map_err(|e| io_error("lock", &lock_path, e))?;
        cargo_build()?;
        let built = target.join("i686-xv6-user/release");
        for name in PROGRAMS {
            let from = built.join(name);
            let bytes = fs::read(&from).map_err(|e| io_error("read", &from, e))?;
            crate::kernel::replace(&bin.join(name), &bytes)?;
        }
        *done = true;
    }
    Ok(PROGRAMS
        .iter()
        .map(|name| (name.to_string(), bin.join(name)))
        .collect())
}

/// `cargo ubuild` (.cargo/config.toml: the user crate for its target,
/// into TARGET_DIR), output on standard error.
fn cargo_build() -> Result<()> {
    let status = Command::new("cargo")
        .current_dir(paths::root())
        .arg("ubuild")
        .stdout(crate::stderr_for_child()?)
        .status()
        .map_err(|e| Error::new(format!("cannot run cargo: {e}")))?;
    if !status.success() {
        return Err(Error {
            message: format!("building the user programs (user/) failed ({status})"),
            status: crate::status::shell_status(status),
        });
    }
    Ok(())
}

/// `bench`'s last line.
pub const BENCH_DONE: &str = "bench: done";

/// The figures `bench` printed (`bench: NAME COUNT` lines, up to `bench:
/// done`): each operation's name and its count, in order.
pub fn bench_figures(out: &str) -> Result<Vec<(String, u64)>> {
    let mut figures = Vec::new();
    for line in out
        .lines()
        .filter_map(|l| l.trim_end().strip_prefix("bench: "))
    {
        if line == "done" {
            return Ok(figures);
        }
        let parsed = line
            .split_once(' ')
            .and_then(|(name, n)| Some((name.to_string(), n.parse().ok()?)));
        match parsed {
            Some(f) => figures.push(f),
            None => {
                return Err(Error::new(format!(
                    "bench printed {line:?}: not `NAME COUNT`"
                )));
            }
        }
    }
    Err(Error::new("bench did not finish (no `bench: done`)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_program_in_user_src_bin_is_built_and_no_other() {
        let dir = paths::at("user/src/bin");
        let mut files: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter_map(|n| n.strip_suffix(".rs").map(str::to_string))
            .collect();
        files.sort();
        let mut listed: Vec<&str> = PROGRAMS.to_vec();
        listed.sort();
        assert_eq!(files, listed);
    }

    #[test]
    fn bench_figures_are_read_in_order_up_to_done() {
        let out = "$ bench\r\nbench: getpid 1407\r\nbench: fork_exit_wait 19\nbench: done\n$ ";
        let figures = bench_figures(out).unwrap();
        assert_eq!(
            figures,
            [
                ("getpid".to_string(), 1407),
                ("fork_exit_wait".to_string(), 19)
            ]
        );
        assert!(bench_figures("bench: getpid 12\n").is_err());
        let bad = bench_figures("bench: getpid many\nbench: done\n").unwrap_err();
        assert!(bad.message.contains("getpid many"), "{bad}");
    }
}
