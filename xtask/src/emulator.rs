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
    if o.gdb {
        a.extend(["-S".into(), "-gdb".into(), format!("tcp::{}", o.gdb_port)]);
    }
    a.extend(o.qemu_extra.iter().cloned());
    a
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
