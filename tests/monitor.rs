//! The kernel monitor, driven over the serial port as a student would: every
//! command with good and bad arguments, the answers checked against the
//! kernel's own state (its ELF symbols, its boot report, and other commands).

mod common;

use xv6::protocol::{NO_PROCESSES, UNKNOWN_COMMAND};

use common::{
    BOCHS_POWEROFF, KERNBASE, KERNLINK, PGSIZE, PHYSTOP, PROMPT, Run, Session, allocated,
    free_pages, hex, launch, line, run_script, symbol, words,
};

/// The commands `help` must list, each with a description.
const COMMANDS: [&str; 12] = [
    "help",
    "ps",
    "kerninfo",
    "meminfo",
    "freelist",
    "alloc",
    "free",
    "showmappings",
    "pgdir",
    "backtrace",
    "halt",
    "reboot",
];

/// The page addresses `freelist` printed, head first.
fn free_list(answer: &str) -> Vec<u32> {
    answer.lines().skip(1).map(|l| hex(words(l)[0])).collect()
}

fn uptime(kerninfo: &str) -> u32 {
    words(line(kerninfo, "uptime:"))[1].parse().unwrap()
}

/// Run `cmd`, expect it to be refused with `usage: <name> ...` and `why`.
fn expect_usage(s: &mut Session, cmd: &str, why: &str) {
    let answer = s.command(cmd);
    let name = cmd.split(' ').next().unwrap();
    assert!(answer.contains(why), "{cmd}: {answer}");
    assert!(
        answer.contains(&format!("usage: {name}")),
        "{cmd} prints its usage line: {answer}"
    );
}

#[test]
fn every_command_answers_from_the_kernels_own_state() {
    every_command_answers("global");
}

/// The same commands with no free list: `kalloc=scan` hands out and shows
/// the highest free pages first.
#[test]
fn every_command_answers_from_the_kernels_own_state_in_scan_mode() {
    every_command_answers("scan");
}

fn every_command_answers(mode: &str) {
    let scan = mode == "scan";
    let mut s = Session::start(&["--cmdline", &format!("kalloc={mode}")]);
    let boot = s.out_so_far();
    let boot_free: u32 = words(line(&boot, "kalloc:"))[1].parse().unwrap();
    let boot_tables: u32 = words(line(&boot, "kvmalloc:"))[1].parse().unwrap();
    let kpgdir = hex(words(line(&boot, "kvmalloc:"))[5]);

    // help: every command, with its description
    let help = s.command("help");
    for name in COMMANDS {
        let l = line(&help, &format!("{name} "));
        assert!(
            l.split_whitespace().count() > 2,
            "{name} has a description: {l}"
        );
    }

    // kerninfo: the linker's symbols
    let info = s.command("kerninfo");
    assert!(line(&info, "kernel entry point:").contains(&format!("{:#010x}", symbol("_start"))));
    for (name, start, end) in [
        ("text", KERNLINK, symbol("etext")),
        ("rodata", symbol("etext"), symbol("data")),
        ("data", symbol("data"), symbol("edata")),
        ("bss", symbol("edata"), symbol("end")),
    ] {
        assert_eq!(
            line(&info, &format!("{name} ")),
            format!(
                "{name:6} [{start:#010x}, {end:#010x})  {} bytes",
                end - start
            )
        );
    }
    let t1 = uptime(&info);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let t2 = uptime(&s.command("kerninfo"));
    assert!(t2 > t1, "the timer ticks: {t1} then {t2}");

    // meminfo: the boot report's figures
    let mem = s.command("meminfo");
    assert_eq!(free_pages(&mem), boot_free);
    assert_eq!(
        line(&mem, "phystop:"),
        format!("phystop:      {PHYSTOP:#010x} (240 MiB)")
    );
    assert!(line(&mem, "page tables:").starts_with(&format!("page tables:  {boot_tables} pages")));
    let image_pages = (symbol("end") - KERNLINK).div_ceil(PGSIZE);
    assert!(line(&mem, "kernel image:").starts_with(&format!("kernel image: {image_pages} pages")));

    // freelist, then alloc takes from the head (LIFO); in scan mode the
    // highest free pages, which freelist shows in that order
    let list = free_list(&s.command("freelist 3"));
    assert_eq!(list.len(), 3);
    if scan {
        assert!(list.is_sorted_by(|a, b| a > b), "highest first: {list:x?}");
    }
    let pages = allocated(&s.command("alloc 3"));
    assert_eq!(pages, list, "alloc pops the free list's head");
    let mem = s.command("meminfo");
    assert_eq!(free_pages(&mem), boot_free - 3, "alloc 3 then meminfo");
    assert!(line(&mem, "held by alloc:").contains(" 3 pages"));
    let head = free_list(&s.command("freelist 1"))[0];
    assert!(!pages.contains(&head));

    // free: each bad address refused with kfree's reason, the kernel runs on
    // GRUB's boot information: "bootinfo: N bytes at pa 0x..., copied to ..."
    let info_line = boot
        .lines()
        .find(|l| l.contains(" bytes at pa "))
        .expect(&boot);
    let info_pa = hex(words(info_line.split(" at pa ").nth(1).unwrap())[0]);
    let info_size: u32 = words(info_line)[1].parse().unwrap();
    // Its last page: above 4 MiB, on pages of its own (the image claims the
    // first 4 MiB).
    let info_va = KERNBASE + ((info_pa + info_size - 1) & !(PGSIZE - 1));
    assert!(info_va >= symbol("end"), "boot info at {info_pa:#x}");
    let info_why = "inside the boot information";
    for (addr, why) in [
        (
            format!("{:#x}", pages[0] + 4),
            "is not page-aligned".to_string(),
        ),
        (format!("{KERNLINK:#x}"), "is below the kernel's end".into()),
        (
            format!("{:#x}", KERNBASE + PHYSTOP),
            "is at or above P2V(PHYSTOP)".into(),
        ),
        ("0xff000000".into(), "is at or above P2V(PHYSTOP)".into()),
        (format!("{head:#x}"), "double free of page".into()),
        (format!("{info_va:#x}"), info_why.into()),
        // the kernel page directory: in use, so kfree would take it
        (
            format!("{kpgdir:#x}"),
            "was not handed out by `alloc`".into(),
        ),
    ] {
        let answer = s.command(&format!("free {addr}"));
        assert!(
            answer.starts_with("free: refused: "),
            "free {addr}: {answer}"
        );
        assert!(
            answer.contains(&why),
            "free {addr}: want {why:?}, got {answer}"
        );
    }
    expect_usage(&mut s, "free", "missing <va>");
    expect_usage(&mut s, "free zz", "<va> \"zz\" is not a number");
    expect_usage(
        &mut s,
        "free 0x1000 0x2000",
        "unexpected argument \"0x2000\"",
    );
    assert_eq!(
        free_pages(&s.command("meminfo")),
        boot_free - 3,
        "refusals change nothing"
    );

    for p in &pages {
        let answer = s.command(&format!("free {p:#x}"));
        let back = match scan {
            true => "is free again (its free bit is set: scan mode keeps no list)",
            false => "is back on the free list",
        };
        assert_eq!(answer.trim_end(), format!("free: {p:#010x} {back}"));
        let page = s.command(&format!("page {p:#x}"));
        let free = match scan {
            true => "count 0, free (marked free: scan mode keeps no list)",
            false => "count 0, free (on a free list)",
        };
        assert!(page.contains(free), "{page}");
    }
    assert_eq!(free_pages(&s.command("meminfo")), boot_free);
    let (first, order) = match scan {
        true => (pages[0], "the highest free page first"),
        false => (pages[2], "freed last, listed first"),
    };
    assert_eq!(free_list(&s.command("freelist 1"))[0], first, "{order}");
    let again = s.command(&format!("free {:#x}", pages[2]));
    assert!(again.contains("double free of page"), "{again}");

    expect_usage(&mut s, "alloc 0", "<N> 0 is below 1");
    expect_usage(&mut s, "alloc x", "<N> \"x\" is not a number");
    expect_usage(&mut s, "freelist 0", "<N> 0 is below 1");

    // showmappings: text read-only, data writable, low memory unmapped
    let text = symbol("_start") & !(PGSIZE - 1);
    let m = s.command(&format!("showmappings {text:#x}"));
    assert!(
        m.contains(&format!("pa {:#010x}  P - - -", text - KERNBASE)),
        "text is present, read-only, kernel-only: {m}"
    );
    let data = symbol("data");
    let m = s.command(&format!("showmappings {data:#x} {:#x}", data + 2 * PGSIZE));
    let rows: Vec<_> = m
        .lines()
        .filter(|l| l.trim_start().starts_with("0x"))
        .collect();
    assert_eq!(rows.len(), 3, "one row per page: {m}");
    // The boot stack's guard page (its symbol's page, in .bss) may follow
    // the data closely: it is the one page there that is not mapped.
    let guard = symbol("boot_stack");
    for (i, row) in rows.iter().enumerate() {
        let va = data + i as u32 * PGSIZE;
        if va == guard {
            assert!(row.contains("not mapped"), "the guard page: {row}");
        } else {
            let pa = va - KERNBASE;
            assert!(row.contains(&format!("pa {pa:#010x}  P W - -")), "{row}");
        }
    }
    let m = s.command("showmappings 0x1000");
    assert!(m.contains("not mapped (no page table)"), "{m}");
    let m = s.command("showmappings 0x80200000 0x80100000");
    assert!(m.contains("is below <va>"), "{m}");
    expect_usage(&mut s, "showmappings", "missing <va>");
    expect_usage(
        &mut s,
        "showmappings 0x80100000 hi",
        "<va2> \"hi\" is not a number",
    );

    // pgdir: the runs of the kernel map (the kernel-stacks window just below
    // KERNBASE, then KERNBASE..P2V(PHYSTOP); DEVSPACE..4G): every table but
    // the directory itself
    let pd = s.command("pgdir");
    let want_entries = xv6::vm::kvm_pages(xv6::memlayout::PAddr(PHYSTOP)) - 1;
    assert_eq!(want_entries, (PHYSTOP / (4 << 20) + 8 + 1) as usize);
    assert!(
        line(&pd, "pgdir:").contains(&format!(", {want_entries} present entries")),
        "{pd}"
    );
    assert!(
        pd.contains(&format!(
            "PDE  511-{:<4}  va {:#010x}-{:#010x}  P W - -  page tables",
            511 + PHYSTOP / (4 << 20),
            xv6::memlayout::KSTACKS.0,
            KERNBASE + PHYSTOP - 1
        )),
        "{pd}"
    );
    assert!(
        pd.contains("PDE 1016-1023  va 0xfe000000-0xffffffff  P W - -  page tables"),
        "{pd}"
    );

    // backtrace: names, innermost first
    let bt = s.command("backtrace");
    let monitor = bt.find("in xv6::monitor::monitor+").expect(&bt);
    let main = bt.find("in main+").expect(&bt);
    assert!(monitor < main, "{bt}");

    // nonsense never panics
    let answer = s.command("frobnicate 1 2");
    assert!(
        answer.contains(&format!("{UNKNOWN_COMMAND} \"frobnicate\"")),
        "{answer}"
    );
    expect_usage(&mut s, "meminfo now", "unexpected argument \"now\"");
    assert!(s.command("").is_empty(), "an empty line just prompts again");

    let run = s.finish("halt");
    run.expect_status(0);
    assert!(run.has("poweroff"));
}

#[test]
fn piped_commands_run_in_order_and_the_end_of_input_powers_off() {
    // Written all at once, before GRUB has even started: run-qemu.sh must
    // hold it back until the monitor listens.
    let run = run_script(&[], "meminfo\nbogus\n\nalloc 2\n");
    run.expect_status(0);
    let out = run.out.replace("\r\n", "\n");
    let at = |s: &str| out.find(s).unwrap_or_else(|| panic!("no {s:?} in:\n{out}"));
    // Each command appears after its prompt, then its answer, in order.
    assert!(at("K> meminfo\nfree pages:") < at("K> bogus\nunknown command"));
    assert!(at("K> bogus\n") < at("K> alloc 2\nalloc: 0x"));
    assert!(at("K> alloc 2\n") < at("monitor: end of input"));
    assert!(at("monitor: end of input") < at("poweroff"));
}

#[test]
fn reboot_restarts_into_the_monitor() {
    let mut s = Session::start(&[]);
    s.send("reboot");
    s.expect("reboot: restarting the machine");
    s.expect("xv6-rs: booting");
    s.expect(PROMPT);
    let info = s.command("kerninfo");
    assert!(info.contains("kernel entry point"));
    s.finish("halt").expect_status(0);
}

#[test]
fn the_monitor_option_runs_commands_before_the_prompt() {
    let run = launch(&["--monitor", "meminfo; showmappings 0x80100000 ;halt"]);
    check_monitor_option(&run);
    run.expect_status(0);
}

#[test]
fn ps_in_the_monitor_says_there_are_no_processes_and_the_free_count() {
    let run = launch(&["--monitor", "ps; meminfo; ps now; halt"]);
    run.expect_status(0);
    let out = run.out.replace("\r\n", "\n");
    let answer = out
        .split(&format!("{PROMPT}ps\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("no ps answer in:\n{out}"));
    let mut lines = answer.lines();
    assert_eq!(lines.next(), Some(NO_PROCESSES), "{out}");
    let free = words(lines.next().expect("ps prints the free count"));
    assert_eq!(free[..2], ["free", "pages"], "{out}");
    assert_eq!(
        free[2],
        words(run.line("free pages:"))[2],
        "ps and meminfo agree on the free count"
    );
    assert!(run.has("unexpected argument \"now\""), "{out}");
}

/// What `--monitor "meminfo; showmappings 0x80100000 ;halt"` must print.
pub fn check_monitor_option(run: &Run) {
    let boot_free = words(run.line("kalloc:"))[1];
    let free = words(run.line("free pages:"))[2];
    assert_eq!(free, boot_free, "meminfo agrees with the boot report");
    assert!(run.has(&format!("{PROMPT}showmappings 0x80100000")));
    assert!(
        run.line("  0x80100000  pde ")
            .contains("pa 0x00100000  P - - -"),
        "{}",
        run.out
    );
    assert!(run.has(&format!("{PROMPT}halt")));
    assert!(run.has("poweroff"));
}

#[test]
fn bochs_runs_monitor_commands() {
    let run = launch(&[
        "--bochs",
        "--mem",
        "64",
        "--monitor",
        "meminfo; showmappings 0x80100000 ;halt",
    ]);
    check_monitor_option(&run);
    run.expect_status(BOCHS_POWEROFF);
}

#[test]
fn run_qemu_refuses_quotes_in_monitor_commands() {
    for bad in ["meminfo'", "a\"b", "x\\y"] {
        let run = run_script(&["--monitor", bad], "");
        run.expect_status(xtask::status::BAD_OPTION);
        assert!(
            run.err.contains("contains a quote, a backslash"),
            "{}",
            run.err
        );
    }
}

/// QEMU's human monitor on a Unix socket (`-monitor unix:...`): a test can
/// press keys on the guest's PS/2 keyboard and save guest memory.
struct QemuMonitor {
    stream: std::os::unix::net::UnixStream,
}

impl QemuMonitor {
    fn connect(path: &std::path::Path) -> QemuMonitor {
        let stream = std::os::unix::net::UnixStream::connect(path).expect("QEMU's monitor socket");
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(60)))
            .unwrap();
        let mut m = QemuMonitor { stream };
        m.wait_prompt();
        m
    }

    /// QEMU's output up to its next prompt.
    fn wait_prompt(&mut self) -> String {
        use std::io::Read;
        let mut seen = Vec::new();
        while !seen.ends_with(b"(qemu) ") {
            let mut byte = [0u8; 1];
            self.stream
                .read_exact(&mut byte)
                .expect("QEMU monitor output");
            seen.push(byte[0]);
        }
        String::from_utf8_lossy(&seen).into_owned()
    }

    /// Run one monitor command, wait until QEMU is done with it and return
    /// what it said.
    fn command(&mut self, line: &str) -> String {
        use std::io::Write;
        writeln!(self.stream, "{line}").unwrap();
        self.wait_prompt()
    }

    /// Type `text` and Enter, as a student would in the QEMU window.
    fn type_line(&mut self, text: &str) {
        for c in text.chars() {
            let key = if c == ' ' {
                "spc".to_string()
            } else {
                c.to_string()
            };
            self.command(&format!("sendkey {key}"));
        }
        self.command("sendkey ret");
    }
}

#[test]
fn the_ps2_keyboard_types_commands_and_the_screen_shows_them() {
    let dir = std::env::temp_dir().join(format!("xv6-kbd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("qemu-monitor.sock");
    let screen = dir.join("screen.bin");
    let monitor = format!("unix:{},server=on,wait=off", sock.display());
    let mut s = Session::start(&["--", "-monitor", &monitor]);
    let mut qemu = QemuMonitor::connect(&sock);
    qemu.type_line("meminfo");
    // Keys are echoed and the answer printed on the serial line too.
    let answer = s.expect(PROMPT);
    assert!(answer.starts_with("meminfo\n"), "{answer}");
    assert!(answer.contains("free pages:"), "{answer}");
    // The VGA text screen: 80x25 cells of (character, colour) at 0xB8000.
    let said = qemu.command(&format!("pmemsave 0xb8000 4000 \"{}\"", screen.display()));
    let cells = std::fs::read(&screen)
        .unwrap_or_else(|e| panic!("QEMU did not save the screen ({e}); it said {said:?}"));
    let text: String = cells.iter().step_by(2).map(|&b| b as char).collect();
    assert!(
        text.contains("K> meminfo"),
        "the screen shows the typed command:\n{text}"
    );
    assert!(text.contains("free pages:"), "and its answer:\n{text}");
    drop(qemu);
    s.finish("halt").expect_status(0);
    let _ = std::fs::remove_dir_all(&dir);
}
