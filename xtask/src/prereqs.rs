//! The Debian packages the runner needs, each found by a command or a file
//! it gives; installed with apt-get when the runner is root, otherwise named
//! in the exact command to run. (`run-qemu.sh` itself checks the Rust
//! toolchain and its components before it starts the runner.)

use std::path::Path;
use std::process::Command;

use crate::{Error, NAME, Result};

/// How to tell that a package is installed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// A command on the PATH.
    Command(&'static str),
    /// A file or directory.
    Path(&'static str),
}

/// Each package and what it gives.
pub const PACKAGES: [(&str, Probe); 14] = [
    ("qemu-system-x86", Probe::Command("qemu-system-i386")),
    ("grub-pc-bin", Probe::Path("/usr/lib/grub/i386-pc")),
    ("grub-common", Probe::Command("grub-mkrescue")),
    ("xorriso", Probe::Command("xorriso")),
    ("mtools", Probe::Command("mformat")),
    ("binutils", Probe::Command("strip")),
    ("gdb", Probe::Command("gdb")),
    ("bochs", Probe::Command("bochs")),
    (
        "bochsbios",
        Probe::Path("/usr/share/bochs/BIOS-bochs-latest"),
    ),
    ("vgabios", Probe::Path("/usr/share/vgabios/vgabios.bin")),
    // `--lab-export` makes each handout a git repository.
    ("git", Probe::Command("git")),
    // The C xv6 peer the conformance tests and the benchmarks build
    // (its Makefile, its compiler, its vectors.pl).
    ("gcc", Probe::Command("gcc")),
    ("make", Probe::Command("make")),
    ("perl", Probe::Command("perl")),
];

/// Whether `name` is an executable file on the PATH.
pub fn on_path(name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            dir.join(name)
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// Whether this machine has what `probe` looks for.
pub fn present(probe: Probe) -> bool {
    match probe {
        Probe::Command(c) => on_path(c),
        Probe::Path(p) => Path::new(p).exists(),
    }
}

/// The packages whose probe `present` does not find.
pub fn missing(present: impl Fn(Probe) -> bool) -> Vec<&'static str> {
    PACKAGES
        .iter()
        .filter(|(_, probe)| !present(*probe))
        .map(|(pkg, _)| *pkg)
        .collect()
}

/// Install what is missing (as root with apt-get), or stop and say how.
pub fn ensure() -> Result<()> {
    let missing = missing(present).join(" ");
    if missing.is_empty() {
        return Ok(());
    }
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid() == 0
    });
    if !(root && on_path("apt-get")) {
        return Err(Error::new(format!(
            "missing Debian packages; run:\n  sudo apt-get install -y --no-install-recommends {missing}"
        )));
    }
    eprintln!("{NAME}: installing {missing}");
    apt_get(&["update", "-qq"])?;
    let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
    install.extend(missing.split(' '));
    apt_get(&install)
}

/// `apt-get ARGS`, non-interactive, its output on standard error.
fn apt_get(args: &[&str]) -> Result<()> {
    let status = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(crate::stderr_for_child()?)
        .status()
        .map_err(|e| Error::new(format!("cannot run apt-get: {e}")))?;
    if !status.success() {
        return Err(Error::new(format!(
            "apt-get {} failed ({status})",
            args.join(" ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_names_the_packages_whose_probe_fails() {
        assert!(missing(|_| true).is_empty());
        assert_eq!(missing(|_| false).len(), PACKAGES.len());
        let no_bochs = missing(|p| {
            !matches!(
                p,
                Probe::Command("bochs") | Probe::Path("/usr/share/vgabios/vgabios.bin")
            )
        });
        assert_eq!(no_bochs, ["bochs", "vgabios"]);
    }

    #[test]
    fn on_path_finds_executables_only() {
        assert!(on_path("sh"));
        assert!(!on_path("no-such-command-xv6"));
    }
}
