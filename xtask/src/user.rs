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
];

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

/// `cargo build` of the user crate for its target, output on standard error.
fn cargo_build() -> Result<()> {
    let user = paths::at("user");
    let status = Command::new("cargo")
        .current_dir(&user)
        .args(["build", "--release", "--target", "i686-xv6-user.json"])
        .args(["-Zbuild-std=core,alloc,compiler_builtins"])
        .args(["-Zbuild-std-features=compiler-builtins-mem"])
        .arg("--target-dir")
        .arg(paths::at(TARGET_DIR))
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
