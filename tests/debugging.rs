//! The debugging workflow: GDB attached to QEMU through run-qemu.sh --gdb and
//! the project's .gdbinit, and the Bochs symbol file the build writes.

mod common;

use std::process::Command;

use common::{BOCHS_POWEROFF, PROMPT, Session, kernel_elf, symbol, words};

/// A TCP port nobody listens on now (the tests run in parallel).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    l.local_addr().unwrap().port()
}

#[test]
fn gdb_stops_at_kinit2_and_reads_the_allocator() {
    let port = free_port().to_string();
    let mut s = Session::launch(&["--gdb"], &[("GDBPORT", &port)]);
    let gdb = Command::new("gdb")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("GDBPORT", &port)
        .args(["-batch", "-nx", "-x", ".gdbinit"])
        .args(["-ex", "set tcp connect-timeout 120"])
        .args(["-ex", "hbreak xv6::kalloc::kinit2"])
        .args(["-ex", "continue"])
        .args(["-ex", "print xv6::kalloc::KMEM.lock.inner.data.value.nfree"])
        .args(["-ex", "print/x $cr0"])
        .args(["-ex", "detach"])
        .output()
        .expect("run gdb (Debian package gdb)");
    let out =
        String::from_utf8_lossy(&gdb.stdout).into_owned() + &String::from_utf8_lossy(&gdb.stderr);
    assert!(
        out.contains("Breakpoint 1, xv6::kalloc::kinit2"),
        "gdb stopped at kinit2:\n{out}"
    );
    let value = |n: &str| {
        let l = out
            .lines()
            .find(|l| l.starts_with(&format!("${n} = ")))
            .unwrap_or_else(|| panic!("no ${n} in:\n{out}"));
        l.split(" = ").nth(1).unwrap().to_string()
    };
    let nfree: u32 = value("1").parse().unwrap();
    let cr0 = u32::from_str_radix(value("2").trim_start_matches("0x"), 16).unwrap();
    assert_ne!(
        cr0 & 0x8000_0001,
        0,
        "paging and protection are on at kinit2"
    );

    // Detached: the kernel runs on to the monitor. At kinit2's first line
    // the list holds what kinit1 freed less what kvmalloc took.
    s.expect(PROMPT);
    let boot = s.out_so_far();
    let field = |prefix: &str, i: usize| -> u32 {
        let l = boot.lines().find(|l| l.starts_with(prefix)).expect(&boot);
        words(l)[i].parse().unwrap()
    };
    assert_eq!(nfree, field("kinit1:", 2) - field("kvmalloc:", 1), "{out}");
    s.finish("halt").expect_status(0);
}

#[test]
fn the_build_writes_a_bochs_symbol_file() {
    use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};
    let path = kernel_elf().with_extension("bochs-syms");
    let text = std::fs::read_to_string(&path).expect("the Bochs symbol file");
    let lines: Vec<(u32, &str)> = text
        .lines()
        .map(|l| {
            let w = words(l);
            assert_eq!(w.len(), 2, "Bochs wants \"0xADDR NAME\", no spaces: {l:?}");
            let addr = w[0].strip_prefix("0x").expect(l);
            (u32::from_str_radix(addr, 16).expect(l), w[1])
        })
        .collect();

    // Every function of the ELF is there under its demangled name...
    let bytes = std::fs::read(kernel_elf()).unwrap();
    let elf = object::File::parse(&*bytes).unwrap();
    let text_section = elf.section_by_name(".text").expect(".text").index();
    let functions: Vec<(u32, String)> = elf
        .symbols()
        .filter(|s| s.section_index() == Some(text_section))
        .filter(|s| !matches!(s.kind(), SymbolKind::Section | SymbolKind::File))
        .filter_map(|s| {
            let name = format!("{:#}", rustc_demangle::demangle(s.name().ok()?));
            Some((s.address() as u32, name))
        })
        .collect();
    for name in [
        "main",
        "xv6::trap::trap",
        "xv6::console::readline",
        "_start",
    ] {
        let (addr, _) = functions
            .iter()
            .find(|(_, n)| n == name)
            .unwrap_or_else(|| panic!("no function {name} in the ELF"));
        assert!(
            lines.contains(&(*addr, name)),
            "{path:?} lacks \"{addr:#010x} {name}\""
        );
    }
    // ...and nothing else: one line per function.
    assert_eq!(lines.len(), functions.len(), "{path:?}");
    assert_eq!(
        symbol("_start"),
        lines.iter().find(|l| l.1 == "_start").unwrap().0
    );
}

/// The table the build writes into `.ksyms` (src/debug/ksyms.rs reads it) is
/// exactly what `nm -n -S -C` lists as functions (`t`, `T`): sorted by
/// address, with sizes, names demangled.
#[test]
fn the_kernel_symbol_table_is_nms_list_of_functions() {
    use object::{Object, ObjectSection};
    let kernel = kernel_elf();
    let nm = Command::new("nm")
        .args(["-n", "-S", "-C", "--defined-only"])
        .arg(&kernel)
        .output()
        .expect("run nm (Debian package binutils)");
    assert!(
        nm.status.success(),
        "{}",
        String::from_utf8_lossy(&nm.stderr)
    );
    let mut want = String::new();
    for line in String::from_utf8(nm.stdout).unwrap().lines() {
        // "start size type name" or, for symbols without a size, "start type name"
        let f: Vec<&str> = line.splitn(4, ' ').collect();
        let (start, size, kind, name) = if f.len() == 4 && f[1].len() == 8 && f[2].len() == 1 {
            (f[0], f[1], f[2], f[3])
        } else {
            let f: Vec<&str> = line.splitn(3, ' ').collect();
            (f[0], "00000000", f[1], f[2])
        };
        if kind == "t" || kind == "T" {
            want.push_str(&format!("{start} {size} {name}\n"));
        }
    }
    let bytes = std::fs::read(&kernel).unwrap();
    let elf = object::File::parse(&*bytes).unwrap();
    let section = elf.section_by_name(".ksyms").expect("a .ksyms section");
    let data = section.data().unwrap();
    let end = data
        .iter()
        .position(|&b| b == 0)
        .expect("the table ends with a zero");
    assert_eq!(std::str::from_utf8(&data[..end]).unwrap(), want);
    assert!(want.lines().count() > 100, "{want}");
    assert_eq!(
        xv6::debug::ksyms::lookup(data, symbol("main")).map(|s| s.name),
        Some("main"),
        "the kernel's reader finds main"
    );
}

/// Bochs's debugger commands for the test: a breakpoint on kinit2 by name
/// (from the symbol file), run to it, show the control registers, run to
/// the magic breakpoint, run on to the end.
const BOCHS_RC: &str = "lb \"xv6::kalloc::kinit2\"\nc\ncreg\nc\nc\n";

/// Longest the Bochs run may take.
const BOCHS_LIMIT: std::time::Duration = std::time::Duration::from_secs(240);

/// Run --bochs-debug's Bochs (no -rc of its own) with 64 MiB, `extra`
/// boot options and the debugger commands `commands`, in a scratch
/// directory named after `name`; its exit status (None: killed at the
/// limit) and its standard output and error together.
fn bochs_debugger(name: &str, extra: &[&str], commands: &str) -> (Option<i32>, String) {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rc = dir.join("rc");
    std::fs::write(&rc, commands).unwrap();
    let mut args = vec!["--bochs-debug", "--mem", "64"];
    args.extend_from_slice(extra);
    let o = xtask::launch::options(&args, &[]);
    let mut bochs = xtask::launch::prepare(&o).expect("build the ISO");
    bochs
        .arg("-rc")
        .arg(&rc)
        .env("BOCHS_LOG", dir.join("bochs.log"));
    // Bochs ignores SIGTERM: the bounded run kills it by PID if it hangs.
    let out =
        xtask::bounded::capture(&mut bochs, b"", Some(BOCHS_LIMIT), false).expect("run bochs");
    (out.status, out.out + &out.err)
}

#[test]
fn bochs_stops_at_kinit2_by_name_and_at_the_magic_breakpoint() {
    let (status, text) = bochs_debugger(
        "xv6-bochs-break",
        &["--cmdline", "ktest=bochs_break"],
        BOCHS_RC,
    );
    let at = |s: &str| {
        text.find(s)
            .unwrap_or_else(|| panic!("no {s:?} in:\n{text}"))
    };
    // The breakpoint by name: at kinit2's first instruction, paging on.
    let kinit2 = at("(xv6::kalloc::kinit2+0)");
    assert!(at("Breakpoint 1") < kinit2, "{text}");
    let cr0 = &text[at("CR0=0x")..];
    let cr0 = cr0.lines().next().unwrap();
    assert!(kinit2 < at("CR0=0x"), "{text}");
    assert!(cr0.contains(": PG "), "CR0.PG is set at kinit2: {cr0}");
    assert!(kinit2 < at("kinit2: freed"), "it stopped before kinit2 ran");
    // The magic breakpoint, named from the symbol file too.
    assert!(
        at("Magic breakpoint") < at("(<xv6::debug::ktest::TESTS::{closure#"),
        "{text}"
    );
    assert!(at("Magic breakpoint") < at("ktest: bochs_break: past the magic breakpoint"));
    at("ktest: bochs_break ok");
    assert_eq!(
        status,
        Some(BOCHS_POWEROFF),
        "Bochs's status after an ACPI power-off: {:?}\n{text}",
        status
    );
}

/// `./run-qemu.sh --setup` with `XV6_BOCHSRC` set (and nothing else to
/// install): its status and what it printed on standard error.
fn setup_with_bochsrc(bochsrc: &std::path::Path) -> (Option<i32>, String) {
    let out = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/run-qemu.sh"))
        .arg("--setup")
        .env("XV6_BOCHSRC", bochsrc)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run ./run-qemu.sh --setup");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// boot/bochsrc with `extra` lines appended, or with the lines that start
/// with `drop` left out, in a file of this test's own.
fn bochsrc_variant(name: &str, drop: &[&str], extra: &str) -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("boot/bochsrc")).expect("read boot/bochsrc");
    let kept: String = text
        .lines()
        .filter(|l| !drop.iter().any(|d| l.starts_with(d)))
        .map(|l| format!("{l}\n"))
        .collect();
    let dir = root.join("target/test-bochsrc");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, kept + extra).unwrap();
    path
}

#[test]
fn setup_checks_that_qemu_bochs_and_gdb_start() {
    let rc = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("boot/bochsrc");
    let (status, err) = setup_with_bochsrc(&rc);
    assert_eq!(status, Some(0), "--setup failed:\n{err}");
    assert!(
        err.contains("QEMU, Bochs and GDB start"),
        "--setup says the tools start:\n{err}"
    );
}

#[test]
fn setup_names_a_bochs_that_cannot_start() {
    let rc = bochsrc_variant("bad-cpu", &[], "cpu: model=no_such_cpu\n");
    let (status, err) = setup_with_bochsrc(&rc);
    assert_eq!(status, Some(1), "--setup must fail:\n{err}");
    assert!(
        err.contains("Bochs does not start on this machine") && err.contains("cpu directive"),
        "--setup names Bochs and shows its reason:\n{err}"
    );
    assert!(!err.contains("QEMU, Bochs and GDB start"), "{err}");
}

/// The bochsrc without its sound lines loads Bochs's ALSA driver: on a
/// machine without a sound card Bochs aborts, on one with a card it starts.
/// --setup must name the driver either way, so the check does not depend on
/// the machine it runs on.
#[test]
fn setup_names_a_bochs_that_uses_the_host_sound() {
    let rc = bochsrc_variant("with-sound", &["speaker:", "sound:"], "");
    let (status, err) = setup_with_bochsrc(&rc);
    assert_eq!(status, Some(1), "--setup must fail:\n{err}");
    assert!(
        err.contains("Bochs loaded the host sound driver libbx_sound")
            && err.contains("speaker: enabled=0"),
        "--setup names the sound driver and the fix:\n{err}"
    );
}

/// The user program whose system call the GDB recipe follows, and the
/// command line that runs it.
const USER_PROGRAM: &str = "target/user/bin/echo";
const USER_COMMAND: &str = "echo hello";

/// The address of `name` in the ELF at `path` (relative to the project).
fn elf_symbol(path: &str, name: &str) -> u32 {
    use object::{Object, ObjectSymbol};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {path:?}: {e}"));
    let elf = object::File::parse(&*bytes).expect("parse the ELF");
    let sym = elf
        .symbols()
        .find(|s| s.name() == Ok(name))
        .unwrap_or_else(|| panic!("no symbol {name} in {path:?}"));
    sym.address() as u32
}

/// docs/debugging.md's recipe: GDB with echo's symbols beside the kernel's
/// stops at echo's `int $64` in `sys_write` (the write system call's
/// number in eax), steps into the kernel's vector 64, runs to the kernel's
/// `sys_write` (called from `syscall` from `trap`), and back to the user
/// instruction after the `int`, with the count written in eax; GDB says
/// no warning on the way.
#[test]
fn gdb_follows_a_user_system_call_into_the_kernel_and_back() {
    use xv6::syscall::number::{SYS_WRITE, T_SYSCALL};
    let port = free_port().to_string();
    let o = xtask::launch::options(&["--gdb"], &[("GDBPORT", &port)]);
    let mut s = xtask::session::Session::launch(&o, std::time::Duration::from_secs(240))
        .expect("boot with --gdb");
    // The user stub: `mov $SYS_WRITE, %eax` (5 bytes), `int $64` (2), `ret`.
    let stub = elf_symbol(USER_PROGRAM, "sys_write");
    let (int, after) = (stub + 5, stub + 7);
    let mut gdb = Command::new("gdb")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("GDBPORT", &port)
        .args(["-batch", "-nx", "-x", ".gdbinit"])
        .args(["-ex", "set tcp connect-timeout 120"])
        .args(["-ex", &format!("add-symbol-file {USER_PROGRAM}")])
        .args(["-ex", &format!("hbreak *{int:#x} if $eax == {SYS_WRITE}")])
        .args(["-ex", "continue"])
        .args(["-ex", "x/i $pc"])
        .args(["-ex", "stepi"])
        .args(["-ex", "x/i $pc"])
        .args(["-ex", "delete"])
        .args(["-ex", "hbreak xv6::sysfile::sys_write"])
        .args(["-ex", "continue"])
        .args(["-ex", "backtrace 7"])
        .args(["-ex", "delete"])
        .args(["-ex", &format!("hbreak *{after:#x}")])
        .args(["-ex", "continue"])
        .args(["-ex", "x/i $pc"])
        .args(["-ex", "print $eax"])
        .args(["-ex", "delete"])
        .args(["-ex", "detach"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run gdb (Debian package gdb)");
    s.expect(xtask::peer::SH_PROMPT)
        .expect("the shell's prompt");
    s.send_bytes(USER_COMMAND.as_bytes())
        .expect("type the command");
    let waited = xtask::bounded::wait(&mut gdb, Some(std::time::Duration::from_secs(240)))
        .expect("wait for gdb");
    let mut out = String::new();
    let mut err = String::new();
    use std::io::Read;
    gdb.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    gdb.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let all = format!("{out}\n--- stderr:\n{err}");
    assert!(waited.is_some(), "gdb did not end:\n{all}");
    assert!(
        !all.to_lowercase().contains("warning"),
        "GDB warned:\n{all}"
    );
    let at = |needle: &str| {
        all.find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} in GDB's output:\n{all}"))
    };
    // at the user's int $64, with echo's symbol
    let user_int = at(&format!("{int:#x} <sys_write+5>:\tint    ${T_SYSCALL:#x}"));
    // one instruction later: the kernel's entry stub for vector 64
    let vector = at("<vector64>");
    let kernel = at("xv6::sysfile::sys_write");
    let (syscall, trap) = (at("xv6::syscall::kernel::syscall"), at("xv6::trap::"));
    let back = at(&format!("{after:#x} <sys_write+7>:\tret"));
    assert!(user_int < vector && vector < kernel && kernel < syscall && syscall < trap);
    assert!(trap < back, "{all}");
    let eax = all[back..]
        .lines()
        .find_map(|l| l.strip_prefix("$1 = "))
        .unwrap_or_else(|| panic!("no $1 after the return:\n{all}"));
    let written: usize = eax.trim().parse().expect("a count");
    assert!(
        (1..=USER_COMMAND.len()).contains(&written),
        "sys_write returned {written} bytes:\n{all}"
    );
    drop(s); // kills QEMU
}

/// The program whose first write the Bochs recipe follows: init's
/// `init: starting sh` (Bochs's serial port takes no input, so nothing can
/// be typed there).
const BOCHS_USER_PROGRAM: &str = "target/user/bin/init";

/// docs/debugging.md's Bochs recipe: a linear breakpoint at init's
/// `int $64` in `sys_write`, a step into the kernel's vector 64 (named from
/// the symbol file), the kernel's `sys_write` by name, and back at the
/// user instruction after the `int`; then quit.
#[test]
fn bochs_follows_a_user_system_call_into_the_kernel_and_back() {
    let stub = elf_symbol(BOCHS_USER_PROGRAM, "sys_write");
    let (int, after) = (stub + 5, stub + 7);
    let commands = format!(
        "lb {int:#x}\nc\nr\ns\nd 1\nlb \"xv6::sysfile::sys_write\"\nc\nd 2\nlb {after:#x}\nc\nr\nq\n"
    );
    let (status, text) = bochs_debugger("xv6-bochs-syscall", &[], &commands);
    eprintln!("{text}");
    let at = |s: &str| {
        text.find(s)
            .unwrap_or_else(|| panic!("no {s:?} in:\n{text}"))
    };
    let user_int = at("int 0x40");
    let vector = at("(vector64+0)");
    let kernel = at("(xv6::sysfile::sys_write+0)");
    assert!(user_int < vector && vector < kernel, "{text}");
    assert!(
        kernel < text[kernel..].find("ret").map_or(0, |i| kernel + i),
        "{text}"
    );
    assert!(status.is_some(), "Bochs quit on `q`:\n{text}");
}
