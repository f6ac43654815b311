//! What the host reads from the kernel: the exit statuses QEMU ends with and
//! the monitor's ready line and prompt. The kernel, `xtask` and the tests
//! all take them from here.

/// QEMU's `isa-debug-exit` device (the runner adds it at this port): a
/// write of `v` ends QEMU with exit status `(v << 1) | 1`.
pub const QEMU_EXIT_PORT: u16 = 0xF4;

/// A way the kernel ends QEMU through the exit port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QemuExit(pub u8);

impl QemuExit {
    /// The exit status QEMU ends with when the kernel writes this code.
    pub const fn status(self) -> i32 {
        ((self.0 as i32) << 1) | 1
    }
}

/// A kernel panic: QEMU exits with status 3.
pub const EXIT_PANIC: QemuExit = QemuExit(1);
/// The kernel was not started by a Multiboot2 loader: status 5.
pub const EXIT_BAD_BOOT: QemuExit = QemuExit(2);
/// The CPU lacks a feature the boot path needs (`cpufeature`): status 7.
pub const EXIT_NO_CPU_FEATURE: QemuExit = QemuExit(3);

/// The byte that ends all console input for good (Ctrl-\\): the runner
/// sends it after piped input to a shell, and the kernel powers off once a
/// reader reaches it (every line before it read and run). The monitor
/// takes Ctrl-D (0x04) for that.
pub const HOST_INPUT_END: u8 = 0x1C;

/// The kernel's first line; a second one in a run means the machine reset.
pub const BOOTING: &str = "xv6-rs: booting";
/// What the kernel says before it resets the machine on purpose (`reboot`).
pub const REBOOTING: &str = "reboot: restarting the machine";

/// The kernel reached a lab exercise not implemented yet (`lab_todo!`): status 9.
pub const EXIT_LAB_TODO: QemuExit = QemuExit(4);

/// The line `lab_todo!` prints before it ends QEMU with EXIT_LAB_TODO:
/// `lab <lab>: exercise <exercise> is not implemented yet (<file>:<line>)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LabTodo<'a> {
    pub lab: &'a str,
    pub exercise: &'a str,
    pub file: &'a str,
    pub line: u32,
}

const LAB_TODO_MIDDLE: &str = ": exercise ";
const LAB_TODO_END: &str = " is not implemented yet (";

impl core::fmt::Display for LabTodo<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        write!(
            f,
            "lab {}{LAB_TODO_MIDDLE}{}{LAB_TODO_END}{}:{})",
            self.lab, self.exercise, self.file, self.line
        )
    }
}

impl<'a> LabTodo<'a> {
    /// The stub line `line` is, if it is one (what the host reads back).
    pub fn parse(line: &'a str) -> Option<LabTodo<'a>> {
        let rest = line.trim_end().strip_prefix("lab ")?;
        let (lab, rest) = rest.split_once(LAB_TODO_MIDDLE)?;
        let (exercise, rest) = rest.split_once(LAB_TODO_END)?;
        let (file, line) = rest.strip_suffix(')')?.rsplit_once(':')?;
        Some(LabTodo {
            lab,
            exercise,
            file,
            line: line.parse().ok()?,
        })
    }
}

/// The allocator's modes, as the `kalloc=` boot option names them: xv6's
/// one list (the default), a list per CPU, Linux 0.01's scan.
pub const KALLOC_MODES: [&str; 3] = ["global", "percpu", "scan"];

/// The `bench` option measures the kalloc + kfree pair again with these
/// percents of the free pages taken and held first (0: only what boot
/// took), for `--bench`'s table by fill level.
pub const BENCH_FILL_PERCENT: [usize; 3] = [0, 50, 99];
/// Pairs at each fill level: fewer than at the start, since near full a
/// `scan` pair reads some 2,000 words of free bits.
pub const BENCH_FILL_PAIRS: u32 = 1_000;

/// The longest kernel command line the kernel reads (the runner refuses a
/// longer one; the kernel ignores it whole, saying so).
pub const CMDLINE_MAX: usize = 8 * 1024;

/// The monitor's first line: the kernel is up and reads its input from here
/// on (the runner holds piped input back until it appears).
pub const MONITOR_READY: &str =
    "monitor: type 'help' for the commands; 'halt' or Ctrl-D powers off";

/// The line the kernel prints when it starts processes instead of the
/// monitor: console input goes to them from here on (the runner then
/// passes piped input on, as after MONITOR_READY).
pub const PROCESSES_READY: &str = "main: processes run; the console is theirs";

/// What the process table's report (Ctrl-P, the monitor's `ps`) says when
/// no process exists: the monitor runs instead of init.
pub const NO_PROCESSES: &str = "ps: no processes (the monitor runs instead of init)";

/// Ctrl-P: the console prints the process table (xv6's procdump), then
/// its last line, the free page count: `PROCDUMP_FREE` and the number.
pub const CTRL_P: u8 = 0x10;
pub const PROCDUMP_FREE: &str = "free pages ";

/// Lines that say how a monitor command went, which the tests and the
/// runner's soak read: kalloctest's pass, the start of `checks`' pass, and
/// the starts of two refusals.
pub const KALLOCTEST_OK: &str = "kalloctest: OK";
pub const CHECKS_PASSED: &str = "checks: all passed";
pub const LINE_TOO_LONG: &str = "monitor: line too long";
pub const UNKNOWN_COMMAND: &str = "unknown command";

/// The monitor's prompt.
pub const PROMPT: &str = "K> ";

/// What `machine::poweroff` prints before it turns the power off: a run that
/// ends without it (QEMU's `-no-reboot` turns a reset into an exit) did not
/// power off, it crashed.
pub const POWEROFF: &str = "poweroff";

/// The panic handler's report: `panic: <message>` (the message may run
/// over several lines), `panic: at <file>:<line> on cpu N (APIC id N)`,
/// then `backtrace:` and one line per frame.
pub const PANIC: &str = "panic: ";
pub const PANIC_AT: &str = "panic: at ";
pub const BACKTRACE: &str = "backtrace:";

/// Where the in-kernel tests and the self-checks live: a panic in a file
/// starting so is a test's check that failed, a panic anywhere else is the
/// kernel's own.
pub const TEST_SOURCES: [&str; 3] = [
    "src/debug/ktest",
    "src/jos/pmap/check",
    "src/debug/cow_demo",
];

/// The port the boot path writes a byte to as it passes each stage before
/// `main` (QEMU's `isa-debugcon`, which the grader adds; elsewhere the
/// writes go nowhere, or to Bochs's console). When a machine resets before
/// `main` prints anything, the last byte says how far it got.
pub const BOOT_MARK_PORT: u16 = 0xE9;

/// The boot path's progress marks, in order (boot/entry.S writes them).
pub const MARK_START: u8 = b'S';
pub const MARK_CPU_OK: u8 = b'C';
pub const MARK_PAGING_NEXT: u8 = b'P';
pub const MARK_PAGING_ON: u8 = b'L';
pub const MARK_MAIN: u8 = b'M';

/// A stage of the boot path: its mark, what it means, and what a reset
/// right after it points at (empty: nothing in particular).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootStage {
    pub mark: u8,
    pub name: &'static str,
    pub hint: &'static str,
}

pub const BOOT_STAGES: [BootStage; 5] = [
    BootStage {
        mark: MARK_START,
        name: "_start (boot/entry.S) entered",
        hint: "",
    },
    BootStage {
        mark: MARK_CPU_OK,
        name: "the CPU check passed",
        hint: "",
    },
    BootStage {
        mark: MARK_PAGING_NEXT,
        name: "entrypgdir in CR3, paging about to go on",
        hint: "turning paging on reset the machine: the next instruction runs at its \
               low (physical) address, so entrypgdir must map VA 0..4 MiB to PA 0 \
               (entry 0: present, writable, a 4 MiB page)",
    },
    BootStage {
        mark: MARK_PAGING_ON,
        name: "paging on, still running at low addresses",
        hint: "the first high address (the boot stack, then main at KERNBASE) reset \
               the machine: entrypgdir must map KERNBASE..KERNBASE+4 MiB to PA 0 \
               (entry KERNBASE >> 22: present, writable, a 4 MiB page)",
    },
    BootStage {
        mark: MARK_MAIN,
        name: "main started",
        hint: "",
    },
];

impl BootStage {
    /// The stage whose mark is `mark`.
    pub fn of(mark: u8) -> Option<BootStage> {
        BOOT_STAGES.iter().copied().find(|s| s.mark == mark)
    }
}

/// What `kfree` writes over every byte of a freed page (kalloc's
/// `JUNK_FREE`): a pointer read out of a freed page is 0x01010101.
pub const JUNK_FREE: u8 = 0x01;
/// What `kalloc` writes over every byte of a page it hands out (kalloc's
/// `JUNK_ALLOC`): a pointer read out of a page nobody initialised is
/// 0x05050505.
pub const JUNK_ALLOC: u8 = 0x05;

/// A junk fill as the grader explains a fault at an address made of it:
/// its byte, its name and what such an address usually means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JunkFill {
    pub byte: u8,
    pub name: &'static str,
    pub meaning: &'static str,
}

pub const JUNK_FILLS: [JunkFill; 2] = [
    JunkFill {
        byte: JUNK_FREE,
        name: "kfree's junk (JUNK_FREE)",
        meaning: "a pointer was read out of a freed page: a page used after kfree, \
                  or a free list link the junk fill overwrote (kfree must fill the \
                  page before it writes the link)",
    },
    JunkFill {
        byte: JUNK_ALLOC,
        name: "kalloc's junk (JUNK_ALLOC)",
        meaning: "a pointer was read out of an allocated page nobody wrote: a page \
                  used before being initialised (kalloc's pages hold junk, not zeros), \
                  or a link read after kalloc filled the page",
    },
];

/// The kernel option `powercut=N` (the crash tests): the disk driver
/// carries out N block writes, drops every later one, as a disk does when
/// the power goes, prints [`Powercut`]'s line and stops the machine with
/// [`EXIT_POWERCUT`].
pub const POWERCUT_OPTION: &str = "powercut";
/// The machine stopped at a simulated power cut (`powercut=N`): status 11.
pub const EXIT_POWERCUT: QemuExit = QemuExit(5);

/// The line printed when the simulated power goes, after `writes` block
/// writes reached the disk: `powercut: power lost after N block writes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Powercut {
    pub writes: u32,
}

impl core::fmt::Display for Powercut {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        write!(f, "{POWERCUT_PREFIX}{} block writes", self.writes)
    }
}

const POWERCUT_PREFIX: &str = "powercut: power lost after ";

impl Powercut {
    /// The cut a line reports, if it is a power-cut line.
    pub fn parse(line: &str) -> Option<Powercut> {
        let rest = line.trim().strip_prefix(POWERCUT_PREFIX)?;
        let writes = rest.strip_suffix(" block writes")?.parse().ok()?;
        Some(Powercut { writes })
    }
}

/// The line the kernel prints as it powers off with a file system
/// mounted: `disk: N block writes since boot`. The crash sweep reads it
/// from a run without a cut to learn how many cut points a workload has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockWrites {
    pub writes: u32,
}

const BLOCK_WRITES_PREFIX: &str = "disk: ";
const BLOCK_WRITES_SUFFIX: &str = " block writes since boot";

impl core::fmt::Display for BlockWrites {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        write!(
            f,
            "{BLOCK_WRITES_PREFIX}{}{BLOCK_WRITES_SUFFIX}",
            self.writes
        )
    }
}

impl BlockWrites {
    /// The count a line reports, if it is the power-off count line.
    pub fn parse(line: &str) -> Option<BlockWrites> {
        let rest = line.trim().strip_prefix(BLOCK_WRITES_PREFIX)?;
        let writes = rest.strip_suffix(BLOCK_WRITES_SUFFIX)?.parse().ok()?;
        Some(BlockWrites { writes })
    }
}

/// The kernel option that picks the root file system's disk:
/// `root=ram` (the GRUB module `fs`, the default) or `root=ide` (the IDE
/// disk the runner attaches with `--disk FILE`).
pub const ROOT_OPTION: &str = "root";
pub const ROOT_RAM: &str = "ram";
pub const ROOT_IDE: &str = "ide";

/// The kernel command-line option that runs in-kernel tests:
/// `ktest=all` or `ktest=<name>`.
pub const KTEST_OPTION: &str = "ktest";
/// The kernel options that power off after the boot report (`halt`) or
/// the benchmarks (`bench`): the runner gives such boots no file system.
pub const HALT_OPTION: &str = "halt";
pub const BENCH_OPTION: &str = "bench";

/// The lines an in-kernel test (`ktest=<name>`) prints around itself:
/// `ktest: <name> ...` before, `ktest: <name> ok` after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ktest<'a> {
    Started(&'a str),
    Passed(&'a str),
}

impl core::fmt::Display for Ktest<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        match self {
            Ktest::Started(name) => write!(f, "ktest: {name} ..."),
            Ktest::Passed(name) => write!(f, "ktest: {name} ok"),
        }
    }
}

/// A failed check's message (an in-kernel test or a lab's self-check):
/// what was checked, then the value it expected and the value it saw, as
/// `<what>: expected <expected>, saw <seen>`. The kernel's checks fail
/// through `check!`, `check_eq!` and `check_ne!` (src/checks.rs), which
/// panic with this line, so that a student reads both values.
#[derive(Clone, Copy, Debug)]
pub struct CheckFailed<W, E, S> {
    pub what: W,
    pub expected: E,
    pub seen: S,
}

const CHECK_EXPECTED: &str = ": expected ";
const CHECK_SEEN: &str = ", saw ";

impl<W, E, S> core::fmt::Display for CheckFailed<W, E, S>
where
    W: core::fmt::Display,
    E: core::fmt::Display,
    S: core::fmt::Display,
{
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        write!(
            f,
            "{}{CHECK_EXPECTED}{}{CHECK_SEEN}{}",
            self.what, self.expected, self.seen
        )
    }
}

impl<'a> CheckFailed<&'a str, &'a str, &'a str> {
    /// Read a failed check's message back: what, expected and seen (the
    /// first `: expected ` and the last `, saw ` split it). None if the
    /// text is not one, or a part is empty.
    pub fn parse(text: &'a str) -> Option<Self> {
        let (what, rest) = text.split_once(CHECK_EXPECTED)?;
        let (expected, seen) = rest.rsplit_once(CHECK_SEEN)?;
        let parts = [what, expected, seen];
        (!parts.iter().any(|p| p.trim().is_empty())).then_some(CheckFailed {
            what,
            expected,
            seen,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_check_says_what_it_expected_and_what_it_saw() {
        let f = CheckFailed {
            what: "check_page: new perm (page_insert of a mapped page sets the new ones)",
            expected: "P | RW | US",
            seen: "P | RW",
        };
        let line = format!("{f}");
        assert_eq!(
            line,
            "check_page: new perm (page_insert of a mapped page sets the new ones): \
             expected P | RW | US, saw P | RW"
        );
        let back = CheckFailed::parse(&line).unwrap();
        assert_eq!(
            (back.what, back.expected, back.seen),
            (f.what, f.expected, f.seen)
        );
        // A value with a comma of its own stays whole.
        let pair = format!(
            "{}",
            CheckFailed {
                what: "counts",
                expected: "(1, 2)",
                seen: "(1, 1)"
            }
        );
        let back = CheckFailed::parse(&pair).unwrap();
        assert_eq!((back.expected, back.seen), ("(1, 2)", "(1, 1)"));
        for not in [
            "kfree: 0x80402004 is not page-aligned",
            "x: expected , saw 1",
            "x: expected 1",
        ] {
            assert!(CheckFailed::parse(not).is_none(), "{not}");
        }
    }

    #[test]
    fn exit_statuses_follow_isa_debug_exit() {
        assert_eq!(EXIT_PANIC.status(), 3);
        assert_eq!(EXIT_BAD_BOOT.status(), 5);
        assert_eq!(EXIT_NO_CPU_FEATURE.status(), 7);
        assert_ne!(EXIT_PANIC, EXIT_BAD_BOOT);
        assert_ne!(EXIT_BAD_BOOT, EXIT_NO_CPU_FEATURE);
        assert_eq!(EXIT_LAB_TODO.status(), 9);
        assert_eq!(EXIT_POWERCUT.status(), 11);
    }

    #[test]
    fn the_powercut_line_reads_back() {
        let cut = Powercut { writes: 37 };
        let line = format!("{cut}");
        assert_eq!(line, "powercut: power lost after 37 block writes");
        assert_eq!(Powercut::parse(&line), Some(cut));
        assert_eq!(
            Powercut::parse("powercut: power lost after x block writes"),
            None
        );
    }

    #[test]
    fn every_boot_stage_has_its_own_mark() {
        for (i, s) in BOOT_STAGES.iter().enumerate() {
            assert_eq!(BootStage::of(s.mark), Some(*s));
            assert!(BOOT_STAGES[i + 1..].iter().all(|t| t.mark != s.mark));
        }
        assert_eq!(BootStage::of(b'?'), None);
    }

    #[test]
    fn the_lab_todo_line_reads_back() {
        let todo = LabTodo {
            lab: "kalloc",
            exercise: "kfree",
            file: "src/kalloc.rs",
            line: 123,
        };
        let line = format!("{todo}");
        assert_eq!(
            line,
            "lab kalloc: exercise kfree is not implemented yet (src/kalloc.rs:123)"
        );
        assert_eq!(LabTodo::parse(&line), Some(todo));
        assert_eq!(LabTodo::parse("lab kalloc: exercise kfree done"), None);
        assert_eq!(
            LabTodo::parse("lab a: exercise b is not implemented yet (f.rs:x)"),
            None
        );
    }
}
