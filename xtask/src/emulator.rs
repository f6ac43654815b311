//! The emulators' command lines: QEMU with the kernel's exit port, or Bochs
//! with `boot/bochsrc` (headless, serial on standard output).

use std::path::Path;
use std::process::Command;

use crate::protocol::QEMU_EXIT_PORT;

use crate::kernel::Kernel;
use crate::options::{Emulator, Options};
use crate::paths;

/// Bytes of I/O space the exit device takes at QEMU_EXIT_PORT.
const QEMU_EXIT_IOSIZE: u16 = 4;

/// QEMU's arguments for booting `iso` (relative to the root).
pub fn qemu_args(o: &Options, iso: &Path) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "-cdrom".into(),
        iso.display().to_string(),
        "-m".into(),
        o.mem_mib.to_string(),
        "-smp".into(),
        format!("cpus={0},sockets={0}", o.cpus),
        "-serial".into(),
        "stdio".into(),
        "-device".into(),
        format!("isa-debug-exit,iobase={QEMU_EXIT_PORT:#x},iosize={QEMU_EXIT_IOSIZE:#04x}"),
    ];
    if !o.display {
        a.extend(["-display".into(), "none".into()]);
    }
    if let Some(disk) = &o.disk {
        a.extend(["-drive".into(), qemu_disk(disk)]);
    }
    if o.gdb {
        a.extend(["-S".into(), "-gdb".into(), format!("tcp::{}", o.gdb_port)]);
    }
    a.extend(o.qemu_extra.iter().cloned());
    a
}

/// QEMU's `-drive` for `--disk FILE`: disk 1 of the primary IDE channel
/// (the CD-ROM is index 2), raw bytes. QEMU doubles a comma in a name.
fn qemu_disk(disk: &Path) -> String {
    let file = disk.display().to_string().replace(',', ",,");
    format!("file={file},format=raw,index=1,media=disk")
}

/// Where `--bochs --disk` writes its Bochs configuration, relative to the
/// root: the usual one and the disk's line.
const BOCHSRC_WITH_DISK: &str = "target/bochsrc-disk";
/// Bytes per sector, and the most cylinders Bochs takes: `--disk` gives
/// Bochs one head of one sector per cylinder, so that the geometry's size
/// is the file's exactly (Bochs refuses a flat image that differs).
const SECTOR: u64 = 512;
const BOCHS_MAX_CYLINDERS: u64 = 65_535;

/// Bochs's line for `--disk FILE`: ata0-slave (the CD-ROM is ata0-master),
/// the kernel's disk 1 of the primary channel.
fn bochs_disk_line(disk: &Path, bytes: u64) -> crate::Result<String> {
    let cylinders = bytes / SECTOR;
    if !bytes.is_multiple_of(SECTOR) || cylinders == 0 || cylinders > BOCHS_MAX_CYLINDERS {
        return Err(crate::Error::new(format!(
            "--bochs --disk: {} is {bytes} bytes; Bochs takes a whole number of \
             {SECTOR}-byte sectors, 1 to {BOCHS_MAX_CYLINDERS}",
            disk.display()
        )));
    }
    Ok(format!(
        "ata0-slave: type=disk, path=\"{}\", mode=flat, cylinders={cylinders}, heads=1, spt=1\n",
        disk.display()
    ))
}

/// The options to boot with: `o`, except that with Bochs and `--disk` the
/// configuration is a copy of `o.bochsrc` with the disk's line added.
pub fn with_disk(o: &Options) -> crate::Result<Options> {
    let (Some(disk), Emulator::Bochs | Emulator::BochsDebug) = (&o.disk, o.emulator) else {
        return Ok(o.clone());
    };
    let io = |what: &str, p: &Path, e: std::io::Error| {
        crate::Error::new(format!("cannot {what} {}: {e}", p.display()))
    };
    let bytes = std::fs::metadata(disk)
        .map_err(|e| io("read", disk, e))?
        .len();
    let rc = paths::at(&o.bochsrc);
    let mut text = std::fs::read_to_string(&rc).map_err(|e| io("read", &rc, e))?;
    text.push_str(&bochs_disk_line(disk, bytes)?);
    let out = paths::at(BOCHSRC_WITH_DISK);
    std::fs::write(&out, text).map_err(|e| io("write", &out, e))?;
    let mut with = o.clone();
    with.bochsrc = out;
    Ok(with)
}

/// The command that boots `iso` as `o` says, run from the root.
pub fn command(o: &Options, iso: &Path) -> Command {
    let mut cmd = match o.emulator {
        Emulator::Qemu => {
            let mut c = Command::new("qemu-system-i386");
            c.args(qemu_args(o, iso));
            c
        }
        Emulator::Bochs | Emulator::BochsDebug => {
            let mut c = Command::new("bochs");
            c.arg("-q").arg("-f").arg(&o.bochsrc);
            if o.emulator == Emulator::Bochs {
                // Without -rc Bochs stops at its <bochs:1> prompt before the BIOS runs.
                c.arg("-rc").arg(paths::BOCHS_CONTINUE);
            }
            c.env("BOCHS_ISO", iso)
                .env("BOCHS_CPUS", o.cpus.to_string())
                .env("BOCHS_MEGS", o.mem_mib.to_string())
                .env("BOCHS_SERIAL", "/dev/stdout")
                .env("BOCHS_LOG", &o.bochs_log)
                .env("BOCHS_SYMS", Kernel::new(o.junk).bochs_syms());
            c
        }
    };
    cmd.current_dir(paths::root());
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{Action, parse_with_env};

    fn opts(args: &[&str]) -> Options {
        match parse_with_env(args, &[]) {
            Ok(Action::Boot(o)) => *o,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn qemu_gets_the_exit_port_the_cpus_as_sockets_and_the_extra_arguments() {
        let a = qemu_args(
            &opts(&["--smp", "4", "--mem", "64", "--", "-icount", "shift=0"]),
            Path::new("x.iso"),
        );
        assert_eq!(
            a.join(" "),
            "-cdrom x.iso -m 64 -smp cpus=4,sockets=4 -serial stdio \
             -device isa-debug-exit,iobase=0xf4,iosize=0x04 -display none -icount shift=0"
        );
    }

    #[test]
    fn disk_is_qemu_s_disk_1_on_the_primary_channel() {
        let img = std::env::current_exe().unwrap();
        let a = qemu_args(
            &opts(&["--disk", img.to_str().unwrap()]),
            Path::new("x.iso"),
        );
        let at = a.iter().position(|x| x == "-drive").expect("a -drive");
        assert_eq!(
            a[at + 1],
            format!("file={},format=raw,index=1,media=disk", img.display())
        );
        assert_eq!(
            qemu_disk(Path::new("/a,b")),
            "file=/a,,b,format=raw,index=1,media=disk"
        );
    }

    #[test]
    fn bochs_gets_the_disk_as_ata0_slave_with_its_exact_size() {
        let line = bochs_disk_line(Path::new("/d/fs.img"), 512_000).unwrap();
        assert_eq!(
            line,
            "ata0-slave: type=disk, path=\"/d/fs.img\", mode=flat, cylinders=1000, heads=1, spt=1\n"
        );
        for bad in [0, 511, 513, SECTOR * (BOCHS_MAX_CYLINDERS + 1)] {
            let e = bochs_disk_line(Path::new("/d/x"), bad).unwrap_err();
            assert!(
                e.message.contains(&format!("/d/x is {bad} bytes")),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn bochs_gets_the_cpu_count() {
        let c = command(&opts(&["--bochs", "--smp", "2"]), Path::new("x.iso"));
        let cpus = c
            .get_envs()
            .find(|(k, _)| *k == "BOCHS_CPUS")
            .and_then(|(_, v)| v);
        assert_eq!(cpus, Some(std::ffi::OsStr::new("2")));
    }

    #[test]
    fn gdb_stops_qemu_and_listens_on_its_port() {
        let a = qemu_args(&opts(&["--gdb"]), Path::new("x.iso")).join(" ");
        assert!(a.ends_with("-display none -S -gdb tcp::1234"), "{a}");
    }
}
