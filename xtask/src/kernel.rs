//! The kernel build: `cargo kbuild` into a target directory per flavour
//! (junk fill on or off), then the kernel with its symbol table filled in,
//! beside the Bochs symbol file.
//!
//! Several runs may start at once (the tests do): a lock file lets one at a
//! time build, fill the table and copy the kernel for the ISO. Every file is
//! written under a temporary name and renamed into place, so a debugger or
//! Bochs reading the old one keeps its copy instead of seeing it change.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::{Error, Result, ksyms, paths};

/// One flavour of the kernel and its files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kernel {
    /// cargo's target directory for this flavour.
    pub target_dir: PathBuf,
    pub junk: bool,
}

impl Kernel {
    /// The kernel built with (`junk`) or without the junk fill.
    pub fn new(junk: bool) -> Kernel {
        let dir = if junk {
            "target/kernel"
        } else {
            "target/kernel-nojunk"
        };
        Kernel {
            target_dir: paths::at(dir),
            junk,
        }
    }

    /// What cargo links (it relinks it on every build).
    pub fn built(&self) -> PathBuf {
        self.target_dir.join("i686-xv6/release/xv6")
    }

    /// The kernel with its symbol table: what GDB, Bochs and the ISO use.
    pub fn elf(&self) -> PathBuf {
        self.target_dir.join("xv6")
    }

    /// The table as written into `.ksyms` (zero-padded).
    pub fn table(&self) -> PathBuf {
        self.target_dir.join("xv6.syms")
    }

    /// The Bochs symbol file.
    pub fn bochs_syms(&self) -> PathBuf {
        self.target_dir.join("xv6.bochs-syms")
    }

    /// Take the build lock (released when the file is dropped).
    pub fn lock(&self) -> Result<File> {
        lock_file(&self.target_dir.join("run-qemu.lock"), || {})
    }

    /// Build the kernel and fill its symbol table, once per process for
    /// each flavour (the caller holds the lock).
    pub fn build(&self) -> Result<()> {
        static DONE: Mutex<Vec<bool>> = Mutex::new(Vec::new());
        let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
        if done.contains(&self.junk) {
            return Ok(());
        }
        self.cargo_build()?;
        self.fill_symbols()?;
        done.push(self.junk);
        Ok(())
    }

    /// `cargo kbuild`, its output on standard error.
    fn cargo_build(&self) -> Result<()> {
        let mut cmd = Command::new("cargo");
        cmd.current_dir(paths::root())
            .arg("kbuild")
            .arg("--target-dir")
            .arg(&self.target_dir);
        if !self.junk {
            cmd.arg("--no-default-features");
        }
        let status = cmd
            .stdout(crate::stderr_for_child()?)
            .status()
            .map_err(|e| Error::new(format!("cannot run cargo: {e}")))?;
        if !status.success() {
            return Err(Error {
                message: format!("cargo kbuild failed ({status})"),
                status: crate::status::shell_status(status),
            });
        }
        Ok(())
    }

    /// Write the kernel with its table, the table and the Bochs file.
    fn fill_symbols(&self) -> Result<()> {
        let built = self.built();
        let bytes = fs::read(&built).map_err(|e| io_error("read", &built, e))?;
        let filled = ksyms::fill(bytes)?;
        replace(&self.bochs_syms(), filled.bochs.as_bytes())?;
        replace(&self.table(), &filled.table)?;
        replace(&self.elf(), &filled.elf)
    }
}

/// Write `path` under a temporary name of this process and thread's own
/// and rename it into place (so that runs making the same file at once,
/// such as the default image, never write into each other's).
pub fn replace(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(
        ".tmp.{}.{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, bytes).map_err(|e| io_error("write", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| io_error("rename", &tmp, e))
}

/// Hold the lock file `path` (made, with its directory, if missing),
/// calling `waiting` first if another process holds it; the lock goes
/// when the file is dropped.
pub fn lock_file(path: &Path, waiting: impl FnOnce()) -> Result<File> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| io_error("create", dir, e))?;
    }
    let file = File::create(path).map_err(|e| io_error("create", path, e))?;
    match file.try_lock() {
        Ok(()) => return Ok(file),
        Err(fs::TryLockError::WouldBlock) => waiting(),
        Err(fs::TryLockError::Error(e)) => return Err(io_error("lock", path, e)),
    }
    file.lock().map_err(|e| io_error("lock", path, e))?;
    Ok(file)
}

/// An I/O failure on `path`.
pub fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::new(format!("cannot {what} {}: {e}", path.display()))
}
