//! The GRUB ISO: one per (kernel, command line, module, loader), cached
//! under `target/iso` by a key from their contents. Several runs may build
//! ISOs at once (the tests do), so each is staged in a directory of its own
//! and renamed into place. The key is a SHA-256 (the `sha2` crate): a
//! hash whose algorithm is fixed, as a key kept on disk needs. The cache
//! keeps the [`KEEP`] ISOs used last: the tests alone make a few hundred.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::kernel::{Kernel, io_error};
use crate::options::{Loader, Options, kernel_cmdline};
use crate::{Error, Result, paths};

/// Where the kernel and the module are on the ISO.
const KERNEL_ON_ISO: &str = "/boot/kernel.elf";
const MODULE_ON_ISO: &str = "/boot/module.bin";

/// The GRUB modules the ISO carries: the two loaders, the menu, the serial
/// console. GRUB's fonts, locales and themes stay out too, which makes an
/// ISO 1.8 MB instead of 9.6 MB (no faster to boot; smaller on disk).
const GRUB_MODULES: &str = "multiboot2 multiboot normal serial terminal";

/// How many ISOs the cache keeps: the ones used last, so that a test run's
/// own ISOs are never the ones removed while it runs.
pub const KEEP: usize = 64;

/// GRUB's configuration: straight to the kernel, its console on the serial
/// port. The monitor commands go into the command line in single quotes.
pub fn grub_cfg(loader: Loader, cmdline: &str, monitor: &str, module: Option<&str>) -> String {
    let cmdline = kernel_cmdline(cmdline, monitor);
    let modline = match module {
        Some(name) => format!("module2 {MODULE_ON_ISO} {name}"),
        None => String::new(),
    };
    format!(
        "set timeout=0
set default=0
serial --unit=0 --speed=115200
terminal_output serial console
menuentry \"xv6\" {{
    {} {KERNEL_ON_ISO} {cmdline}
    {modline}
    boot
}}
",
        loader.grub_command()
    )
}

/// How many bytes of the hash the key keeps (as twice as many hex digits).
const KEY_BYTES: usize = 8;

/// The cache key of an ISO made of `parts` (the kernel, grub.cfg, the
/// module): the first hex digits of the SHA-256 of each part's length (8
/// bytes, little-endian) and bytes.
pub fn cache_key(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        let len = u64::try_from(p.len()).expect("a part's length fits 64 bits");
        h.update(len.to_le_bytes());
        h.update(p);
    }
    h.finalize()[..KEY_BYTES]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A staging directory, removed when dropped.
struct Stage(PathBuf);

impl Stage {
    fn new() -> Result<Stage> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = paths::at(paths::ISO_DIR).join(format!(
            "stage.{}.{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let grub = dir.join("boot/grub");
        fs::create_dir_all(&grub).map_err(|e| io_error("create", &grub, e))?;
        Ok(Stage(dir))
    }

    fn file(&self, rel: &str) -> PathBuf {
        self.0.join(rel.trim_start_matches('/'))
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Build the kernel (under its lock) and the ISO `opts` describe; return
/// the ISO's path relative to the root (what `--iso` prints).
pub fn build(opts: &Options) -> Result<PathBuf> {
    let kernel = Kernel::new(opts.junk);
    let stage = Stage::new()?;
    let elf = stage.file(KERNEL_ON_ISO);
    {
        let _lock = kernel.lock()?;
        kernel.build()?;
        if opts.strip {
            // Loadable sections only (.ksyms, which backtraces use, is one of them).
            let status = Command::new("strip")
                .arg("--strip-all")
                .arg("-o")
                .arg(&elf)
                .arg(kernel.elf())
                .stdin(Stdio::null())
                .status()
                .map_err(|e| {
                    Error::new(format!("cannot run strip (Debian package binutils): {e}"))
                })?;
            if !status.success() {
                return Err(Error::new(format!(
                    "strip {} failed ({status})",
                    kernel.elf().display()
                )));
            }
        } else {
            fs::copy(kernel.elf(), &elf).map_err(|e| io_error("copy", &kernel.elf(), e))?;
        }
    }
    let default_fs = match opts.default_fs {
        true => Some(crate::mkfs::default_image()?),
        false => None,
    };
    let module_name = match default_fs {
        Some(_) => crate::options::FS_MODULE,
        None => opts.module_name,
    };
    let module = match opts.module.as_ref().or(default_fs.as_ref()) {
        Some(m) => {
            let bytes = fs::read(m).map_err(|e| io_error("read", m, e))?;
            fs::write(stage.file(MODULE_ON_ISO), &bytes)
                .map_err(|e| io_error("write", &stage.file(MODULE_ON_ISO), e))?;
            Some(bytes)
        }
        None => None,
    };
    let name = module.as_ref().map(|_| module_name);
    let cfg = grub_cfg(opts.loader, &opts.cmdline, &opts.monitor, name);
    let cfg_path = stage.file("boot/grub/grub.cfg");
    fs::write(&cfg_path, &cfg).map_err(|e| io_error("write", &cfg_path, e))?;
    let kernel_bytes = fs::read(&elf).map_err(|e| io_error("read", &elf, e))?;
    let mut parts = vec![&kernel_bytes[..], cfg.as_bytes()];
    parts.extend(module.as_deref());
    let iso = Path::new(paths::ISO_DIR).join(format!("xv6-{}.iso", cache_key(&parts)));
    if mark_used(&paths::at(&iso)) {
        return Ok(iso);
    }
    mkrescue(&stage, &paths::at(&iso))?;
    evict(&paths::at(paths::ISO_DIR), KEEP);
    Ok(iso)
}

/// If the cached `iso` exists, mark it as used now (its modification
/// time, which [`evict`] goes by) and say so.
fn mark_used(iso: &Path) -> bool {
    fs::File::options()
        .append(true)
        .open(iso)
        .is_ok_and(|f| f.set_modified(SystemTime::now()).is_ok())
}

/// Remove all but the `keep` ISOs in `dir` used last. Best effort: another
/// run may be evicting at the same time, and a cache that stays too big for
/// a while is no error.
fn evict(dir: &Path, keep: usize) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let isos = entries.filter_map(|e| {
        let e = e.ok()?;
        let name = e.file_name();
        let name = name.to_str()?;
        let used = e.metadata().ok()?.modified().ok()?;
        (name.starts_with("xv6-") && name.ends_with(".iso")).then(|| (e.path(), used))
    });
    for old in least_recently_used(isos.collect(), keep) {
        let _ = fs::remove_file(old);
    }
}

/// Of `files` (each with when it was last used), the ones beyond the
/// `keep` used last.
fn least_recently_used(mut files: Vec<(PathBuf, SystemTime)>, keep: usize) -> Vec<PathBuf> {
    files.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    files.into_iter().skip(keep).map(|(p, _)| p).collect()
}

/// grub-mkrescue from the stage into `iso`.
fn mkrescue(stage: &Stage, iso: &Path) -> Result<()> {
    let out = stage.0.join("xv6.iso");
    let ok = Command::new("grub-mkrescue")
        .arg("-o")
        .arg(&out)
        .arg(format!("--install-modules={GRUB_MODULES}"))
        .args(["--fonts=", "--locales=", "--themes="])
        .arg(&stage.0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return Err(Error::new(format!(
            "grub-mkrescue failed; run it by hand to see why:\n  grub-mkrescue -o /tmp/xv6.iso {}",
            stage.0.display()
        )));
    }
    fs::rename(&out, iso).map_err(|e| io_error("rename", &out, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grub_cfg_boots_the_kernel_with_its_command_line() {
        assert_eq!(
            grub_cfg(Loader::Multiboot2, "ktest=all", "", None),
            "set timeout=0\nset default=0\nserial --unit=0 --speed=115200\n\
             terminal_output serial console\nmenuentry \"xv6\" {\n    \
             multiboot2 /boot/kernel.elf ktest=all\n    \n    boot\n}\n"
        );
    }

    #[test]
    fn grub_cfg_quotes_the_monitor_commands_and_names_the_module() {
        let cfg = grub_cfg(Loader::Multiboot1, "", "meminfo;halt", Some("module"));
        assert!(
            cfg.contains("\n    multiboot /boot/kernel.elf  'monitor=meminfo;halt'\n"),
            "{cfg}"
        );
        assert!(
            cfg.contains("\n    module2 /boot/module.bin module\n"),
            "{cfg}"
        );
    }

    #[test]
    fn the_cache_key_depends_on_every_part_and_where_it_ends() {
        let k = cache_key(&[b"kernel", b"cfg"]);
        assert_eq!(k.len(), 2 * KEY_BYTES);
        assert!(k.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(
            k,
            cache_key(&[b"kernel", b"cfg"]),
            "the same parts, the same key"
        );
        assert_ne!(k, cache_key(&[b"kernel", b"cfh"]));
        assert_ne!(
            k,
            cache_key(&[b"kerne", b"lcfg"]),
            "the parts' boundaries count"
        );
        assert_ne!(
            k,
            cache_key(&[b"kernel", b"cfg", b""]),
            "a module, even empty"
        );
    }

    #[test]
    fn eviction_keeps_the_isos_used_last() {
        let at = |s: u64| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(s);
        let files = vec![
            (PathBuf::from("b.iso"), at(30)),
            (PathBuf::from("a.iso"), at(10)),
            (PathBuf::from("c.iso"), at(20)),
            (PathBuf::from("d.iso"), at(40)),
        ];
        assert_eq!(
            least_recently_used(files.clone(), 2),
            [PathBuf::from("c.iso"), PathBuf::from("a.iso")]
        );
        assert!(least_recently_used(files.clone(), 4).is_empty());
        assert_eq!(least_recently_used(files, 0).len(), 4);
    }

    #[test]
    fn a_used_iso_outlives_newer_unused_ones_in_the_directory() {
        let dir = std::env::temp_dir().join(format!("xv6-iso-evict-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let old = |name: &str, secs: u64| {
            let path = dir.join(name);
            let f = fs::File::create(&path).unwrap();
            f.set_modified(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs))
                .unwrap();
            path
        };
        let reused = old("xv6-1.iso", 100);
        old("xv6-2.iso", 200);
        old("xv6-3.iso", 300);
        let other = old("stage.notes", 50);
        assert!(mark_used(&reused), "an ISO that exists is marked");
        assert!(!mark_used(&dir.join("xv6-none.iso")));
        evict(&dir, 2);
        let mut left: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(left, ["stage.notes", "xv6-1.iso", "xv6-3.iso"], "{other:?}");
    }

    /// The key names files kept on disk: it must not change from one
    /// build of the runner (or one Rust release) to the next.
    #[test]
    fn the_cache_key_is_the_same_in_every_build() {
        assert_eq!(cache_key(&[b"kernel", b"cfg"]), "fb53b451a0cf0f0a");
    }
}
