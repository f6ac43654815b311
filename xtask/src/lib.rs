//! The runner behind `run-qemu.sh` (the xtask convention): it builds the
//! kernel, fills its symbol table, makes the GRUB ISO and boots it in QEMU or
//! Bochs; it also runs the test steps, the benchmarks and the set-up checks.
//! The wrapper script only makes sure the Rust toolchain is there.
//!
//! The integration tests use this library to boot the kernel, so that one
//! launch path, one time limit helper and one table of exit statuses serve
//! both. One job per module; `cli` ties them together for the binary.

pub mod bench;
pub mod bounded;
pub mod corrupt;
pub mod crash;
pub mod emulator;
pub mod fsck;
pub mod fsedit;
pub mod fsimage;
pub mod gate;
pub mod iso;
pub mod kernel;
pub mod ksyms;
pub mod launch;
pub mod mkfs;
pub mod options;
pub mod paths;
pub mod peer;
pub mod prereqs;
pub mod procdump;
/// What the host reads from the kernel: the kernel's own `src/protocol.rs`,
/// compiled into the runner rather than taken from the kernel's crate, so
/// that a student's kernel code that does not compile leaves the runner
/// (and `--grade`, which says so) working.
#[path = "../../src/protocol.rs"]
pub mod protocol;
pub mod session;
pub mod smoke;
pub mod soak;
pub mod space;
pub mod status;
pub mod steps;
pub mod user;

use std::fmt;

/// A failure the runner reports and stops on: the message (without the
/// `run-qemu.sh: ` prefix; empty if it was reported already) and the exit
/// status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub message: String,
    pub status: i32,
}

impl Error {
    /// A failure with status 1.
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            status: status::FAILED,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// What the runner's functions return.
pub type Result<T> = std::result::Result<T, Error>;

/// The name the runner's messages start with: users run the script.
pub const NAME: &str = "run-qemu.sh";

/// This process's standard error, for a child's standard output: the
/// runner's standard output carries only the kernel's serial output (and
/// what `--iso` and `--bench` print).
pub fn stderr_for_child() -> Result<std::process::Stdio> {
    use std::os::fd::AsFd;
    std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map(std::process::Stdio::from)
        .map_err(|e| Error::new(format!("cannot duplicate standard error: {e}")))
}
