//! The C xv6 peer (MIT's xv6-public): found at `$XV6_PUBLIC`, else at
//! `../shared/xv6-public` beside the project; built with its own Makefile
//! in a scratch copy under `target/peer/` (the source may be read-only),
//! once: later calls reuse the build. It gives the C kernel's disk image,
//! its `fs.img` and `mkfs`, images made by that `mkfs` from any programs
//! (ours), and `usertests9`: its unchanged usertests.c around our driver
//! (tests/peer/usertests9.c) running the nine process tests.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::kernel::io_error;
use crate::session::Session;
use crate::{Error, Result, paths};

/// gcc 12 rejects two warnings in the peer's unchanged sources.
const CC: &str = "gcc -Wno-error=infinite-recursion -Wno-error=array-bounds";

/// The peer's user-program flags (its Makefile's CFLAGS for user code).
const USER_CFLAGS: &[&str] = &[
    "-fno-pic",
    "-static",
    "-fno-builtin",
    "-fno-strict-aliasing",
    "-O2",
    "-Wall",
    "-m32",
    "-fno-omit-frame-pointer",
    "-fno-stack-protector",
    "-fno-pie",
    "-no-pie",
];

/// The library every peer program links with (its Makefile's ULIB).
const ULIB: &[&str] = &["ulib.o", "usys.o", "printf.o", "umalloc.o"];

/// Where the peer is built, relative to the root.
pub const DIR: &str = "target/peer";

/// What the `usertests9` driver prints when all nine tests passed.
pub const USERTESTS9_PASSED: &str = "usertests9: ALL TESTS PASSED";

/// The success line each of the nine process tests of the peer's
/// usertests.c prints, in its order (the driver runs them in that order).
pub const USERTESTS9_LINES: [&str; 9] = [
    "bss test ok",
    "sbrk test OK",
    "validate ok",
    "mem ok",
    "pipe1 ok",
    "preempt ok",
    "exitwait ok",
    "fork test OK",
    "uio test done",
];

/// xv6's shell prompt (its `sh` and ours).
pub const SH_PROMPT: &str = "$ ";

/// A built peer.
#[derive(Clone, Debug)]
pub struct Peer {
    /// The build (a copy of the source).
    pub dir: PathBuf,
    /// Its file system image (its own programs).
    pub fs_img: PathBuf,
    /// The C kernel's boot disk.
    pub xv6_img: PathBuf,
    /// Its image maker.
    pub mkfs: PathBuf,
}

/// The peer's source: `$XV6_PUBLIC`, else `../shared/xv6-public`; Err
/// says why there is none (for the tests' "skipped" line).
pub fn locate() -> std::result::Result<PathBuf, String> {
    locate_from(std::env::var_os("XV6_PUBLIC"))
}

/// `locate` with `$XV6_PUBLIC`'s value given.
fn locate_from(var: Option<std::ffi::OsString>) -> std::result::Result<PathBuf, String> {
    let (dir, from) = match var {
        Some(d) => (PathBuf::from(d), "$XV6_PUBLIC"),
        None => (paths::at("../shared/xv6-public"), "../shared/xv6-public"),
    };
    if dir.join("Makefile").is_file() && dir.join("usertests.c").is_file() {
        Ok(dir)
    } else {
        Err(format!(
            "no xv6-public peer at {} (from {from}): it has no Makefile and usertests.c",
            dir.display()
        ))
    }
}

/// For tests: the built peer, or None after saying on standard error that
/// the test is skipped and why; under `CI=true` a missing peer is an
/// error instead (CI must not pass by skipping), as is a failed build.
pub fn available() -> Result<Option<Peer>> {
    match locate() {
        Ok(_) => build().map(Some),
        Err(why) => skip(&why, std::env::var("CI").is_ok_and(|v| v == "true")),
    }
}

/// A missing peer: skipped (None), or an error under CI.
fn skip(why: &str, ci: bool) -> Result<Option<Peer>> {
    if ci {
        return Err(Error::new(format!(
            "the peer is missing and CI=true makes a skip a failure: {why}"
        )));
    }
    eprintln!("skipped: {why}");
    Ok(None)
}

/// Build the peer (or reuse the build): its kernel image, fs.img and mkfs.
pub fn build() -> Result<Peer> {
    let source = locate().map_err(Error::new)?;
    let _lock = lock()?;
    let dir = paths::at(DIR).join("xv6-public");
    let peer = Peer {
        fs_img: dir.join("fs.img"),
        xv6_img: dir.join("xv6.img"),
        mkfs: dir.join("mkfs"),
        dir: dir.clone(),
    };
    // The build is reused if it is complete and from the same source.
    let stamp = base_stamp(&dir);
    let from = source.display().to_string();
    let built = [&peer.fs_img, &peer.xv6_img, &peer.mkfs]
        .iter()
        .all(|p| p.is_file());
    if built && fs::read_to_string(&stamp).is_ok_and(|s| s == from) {
        return Ok(peer);
    }
    let _ = fs::remove_dir_all(&dir);
    run(Command::new("cp").arg("-r").arg(&source).arg(&dir))?;
    run(Command::new("make")
        .current_dir(&dir)
        .args(["xv6.img", "fs.img"])
        .arg(format!("CC={CC}")))?;
    fs::write(&stamp, from).map_err(|e| io_error("write", &stamp, e))?;
    Ok(peer)
}

/// The file naming the source a build in `dir` was copied from.
fn base_stamp(dir: &Path) -> PathBuf {
    dir.with_file_name("xv6-public.source")
}

/// Take the peer's build lock (several test processes build at once).
fn lock() -> Result<File> {
    let base = paths::at(DIR);
    fs::create_dir_all(&base).map_err(|e| io_error("create", &base, e))?;
    let path = base.join("build.lock");
    let file = File::create(&path).map_err(|e| io_error("create", &path, e))?;
    file.lock().map_err(|e| io_error("lock", &path, e))?;
    Ok(file)
}

/// Run `cmd`, its output on standard error; an error naming it if it fails.
fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .stdout(crate::stderr_for_child()?)
        .status()
        .map_err(|e| Error::new(format!("cannot run {cmd:?}: {e}")))?;
    if !status.success() {
        return Err(Error::new(format!("{cmd:?} failed ({status})")));
    }
    Ok(())
}

impl Peer {
    /// Make `out`, an image holding `files` (name in the file system, file
    /// to copy), with the peer's own mkfs. mkfs takes bare names only, so
    /// they are staged in a directory beside `out`.
    pub fn make_image(&self, out: &Path, files: &[(String, PathBuf)]) -> Result<()> {
        let mut stage = out.as_os_str().to_owned();
        stage.push(".files");
        let stage = PathBuf::from(stage);
        let _ = fs::remove_dir_all(&stage);
        fs::create_dir_all(&stage).map_err(|e| io_error("create", &stage, e))?;
        for (name, from) in files {
            if name.is_empty() || name.contains('/') || name.starts_with('_') {
                return Err(Error::new(format!(
                    "{name:?}: a file system name must be non-empty, without '/' \
                     and not start with '_' (mkfs strips it)"
                )));
            }
            let to = stage.join(name);
            fs::copy(from, &to).map_err(|e| io_error("copy", from, e))?;
        }
        let _ = fs::remove_file(out);
        let out = std::path::absolute(out).map_err(|e| io_error("find", out, e))?;
        run(Command::new(&self.mkfs)
            .current_dir(&stage)
            .arg(&out)
            .args(files.iter().map(|(name, _)| name)))
    }

    /// The peer's own user programs (its `_NAME` files, as its `mkfs`
    /// names them: without the `_`), sorted by name.
    pub fn programs(&self) -> Result<Vec<(String, PathBuf)>> {
        let entries = fs::read_dir(&self.dir).map_err(|e| io_error("read", &self.dir, e))?;
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error("read", &self.dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(bare) = name.strip_prefix('_')
                && entry.path().is_file()
            {
                found.push((bare.to_string(), entry.path()));
            }
        }
        found.sort();
        Ok(found)
    }

    /// The peer's usertests.c, unchanged, compiled with its `main` renamed
    /// and linked with our driver (tests/peer/usertests9.c): the ELF.
    pub fn usertests9(&self) -> Result<PathBuf> {
        let _lock = lock()?;
        let out = self.dir.join("_usertests9");
        let driver = paths::at("tests/peer/usertests9.c");
        let cc = |args: &[&str], src: &Path, obj: &str| {
            run(Command::new("gcc")
                .current_dir(&self.dir)
                .args(USER_CFLAGS)
                .args(args)
                .args(["-I.", "-c", "-o", obj])
                .arg(src))
        };
        cc(
            &["-Dmain=usertests_main"],
            Path::new("usertests.c"),
            "usertests_main.o",
        )?;
        cc(&[], &driver, "usertests9.o")?;
        run(Command::new("ld")
            .current_dir(&self.dir)
            .args(["-m", "elf_i386", "-N", "-e", "main", "-Ttext", "0", "-o"])
            .arg(&out)
            .args(["usertests9.o", "usertests_main.o"])
            .args(ULIB))?;
        Ok(out)
    }

    /// The QEMU command line that boots the C kernel with `fs_img` as its
    /// file system (as its Makefile's qemu-nox, one CPU). Both disks are
    /// snapshots: nothing is written back, and several runs may share them.
    pub fn qemu(&self, fs_img: &Path) -> Command {
        self.qemu_on(fs_img, true)
    }

    /// The same, but what the kernel writes to `fs_img` stays in it (the
    /// crash sweep's disk, booted again after a kill).
    pub fn qemu_keeping_writes(&self, fs_img: &Path) -> Command {
        self.qemu_on(fs_img, false)
    }

    fn qemu_on(&self, fs_img: &Path, fs_snapshot: bool) -> Command {
        let drive = |file: &Path, index: u32, snapshot: bool| {
            let snapshot = if snapshot { ",snapshot=on" } else { "" };
            format!(
                "file={},index={index},media=disk,format=raw{snapshot}",
                file.display()
            )
        };
        let mut cmd = Command::new("qemu-system-i386");
        cmd.args(["-nographic", "-no-reboot", "-smp", "1", "-m", "512"])
            .arg("-drive")
            .arg(drive(fs_img, 1, fs_snapshot))
            .arg("-drive")
            .arg(drive(&self.xv6_img, 0, true));
        cmd
    }

    /// Run `bench` from `img` (an image holding it and our `init` and
    /// `sh`) on the C kernel under `-icount shift=0`, where the TSC counts
    /// guest instructions: its figures (see `user::bench_figures`). Each
    /// step may take up to `limit`.
    pub fn bench(&self, img: &Path, limit: Duration) -> Result<Vec<(String, u64)>> {
        let mut cmd = self.qemu(img);
        cmd.args(["-icount", "shift=0"]);
        let mut s = Session::spawn(&mut cmd, limit)?;
        s.expect(SH_PROMPT)?;
        s.send_bytes(b"bench")?;
        let out = s.expect(crate::user::BENCH_DONE)?;
        // Dropping the session stops the emulator.
        crate::user::bench_figures(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_peer_skips_except_under_ci() {
        assert!(matches!(skip("no peer here", false), Ok(None)));
        let e = skip("no peer here", true).unwrap_err();
        assert!(e.message.contains("CI=true"), "{e}");
        assert!(e.message.contains("no peer here"), "{e}");
    }

    #[test]
    fn xv6_public_names_the_peer_and_a_wrong_one_says_why() {
        let here = paths::at("xtask");
        let why = locate_from(Some(here.clone().into())).unwrap_err();
        assert!(why.contains(&here.display().to_string()), "{why}");
        assert!(why.contains("$XV6_PUBLIC"), "{why}");
        let made = std::env::temp_dir().join(format!("peer-locate-{}", std::process::id()));
        fs::create_dir_all(&made).unwrap();
        fs::write(made.join("Makefile"), "").unwrap();
        fs::write(made.join("usertests.c"), "").unwrap();
        assert_eq!(locate_from(Some(made.clone().into())), Ok(made.clone()));
        fs::remove_dir_all(&made).unwrap();
    }
}
