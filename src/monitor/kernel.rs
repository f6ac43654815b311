//! The monitor's loop and commands on the real machine.

use crate::console::readline;
use crate::kalloc::{self, Page, kalloc, kfree};
use crate::machine;
use crate::memlayout::{KERNLINK, PAddr, VAddr, p2v, v2p};
use crate::mmu::{NPDENTRIES, PDFlags, PGSIZE, pdx, pgrounddown, pgroundup};
use crate::protocol::{MONITOR_READY, PROMPT};
use crate::vm::{self, Kvm};
use crate::{backtrace, image, print, println, timer};

use super::{ArgError, Args, mapping, pde_runs};

/// The longest line the monitor reads (the console's buffer is as long).
const LINE_MAX: usize = crate::input::INPUT_BUF;
/// Pages `alloc` can hand out before some are freed: the monitor keeps each
/// one, so `free` can refuse addresses it never handed out.
const MAX_HELD: usize = 1024;
/// Default counts of `freelist` and `alloc`.
const FREELIST_DEFAULT: u32 = 8;
/// Where `help` starts the descriptions.
const HELP_COLUMN: usize = 26;
/// Most pages one `showmappings` prints.
const SHOWMAPPINGS_MAX: u32 = 512;

/// What the boot found, for the commands to show.
pub struct Machine {
    /// The effective PHYSTOP.
    pub phystop: PAddr,
    /// The kernel page directory and its page count.
    pub kvm: Kvm,
}

/// The monitor's own state.
pub struct Monitor {
    pub machine: Machine,
    /// Pages handed out by `alloc` and not yet freed.
    held: [Option<Page>; MAX_HELD],
}

pub type Result<'a> = core::result::Result<(), ArgError<'a>>;

struct Command {
    name: &'static str,
    args: &'static str,
    help: &'static str,
    run: for<'a> fn(&mut Monitor, Args<'a>) -> Result<'a>,
}

static COMMANDS: &[Command] = &[
    Command {
        name: "help",
        args: "",
        help: "list the commands",
        run: help,
    },
    Command {
        name: "kerninfo",
        args: "",
        help: "the kernel image: entry point, sections, sizes; uptime",
        run: kerninfo,
    },
    Command {
        name: "meminfo",
        args: "",
        help: "free pages, PHYSTOP, pages in page tables and in the kernel",
        run: meminfo,
    },
    Command {
        name: "freelist",
        args: "[N]",
        help: "the first N free pages, head first (default 8)",
        run: freelist,
    },
    Command {
        name: "alloc",
        args: "[N]",
        help: "allocate N pages (default 1) and print their addresses",
        run: alloc,
    },
    Command {
        name: "free",
        args: "<va>",
        help: "give back a page `alloc` handed out (anything else is refused)",
        run: free,
    },
    Command {
        name: "showmappings",
        args: "<va> [<va2>]",
        help: "PDE, PTE, physical address and P/W/U/PS bits of each page",
        run: showmappings,
    },
    Command {
        name: "pgdir",
        args: "",
        help: "the present entries of the kernel page directory",
        run: pgdir,
    },
    Command {
        name: "page",
        args: "<addr>",
        help: "a page's count, free or not, and its mappings (pa, or kernel va)",
        run: super::pages::page,
    },
    Command {
        name: "checks",
        args: "",
        help: "JOS's self-checks of pages and page tables, and check_cow",
        run: super::pages::checks,
    },
    Command {
        name: "cow",
        args: "",
        help: "copy-on-write shown step by step on two address spaces",
        run: super::pages::cow_demo,
    },
    Command {
        name: "backtrace",
        args: "",
        help: "the calls that led here, with function names",
        run: |_, args| {
            args.done()?;
            backtrace::backtrace();
            Ok(())
        },
    },
    Command {
        name: "cpus",
        args: "",
        help: "each CPU: APIC id, started, pages on its free list (percpu)",
        run: cpus,
    },
    Command {
        name: "lockstat",
        args: "",
        help: "each spin lock's acquisitions and failed spins; tot= on kmem",
        run: |_, args| {
            args.done()?;
            crate::lockstat::lockstat();
            Ok(())
        },
    },
    Command {
        name: "kalloctest",
        args: "[rounds]",
        help: "kalloc/check/kfree on every CPU (default 100000 rounds each)",
        run: |_, mut args| {
            let rounds = args.count("rounds", crate::kalloctest::DEFAULT_ROUNDS, 1)?;
            args.done()?;
            crate::kalloctest::kalloctest(rounds);
            Ok(())
        },
    },
    Command {
        name: "bench",
        args: "",
        help: "boot stages' and kalloc+kfree's cost in TSC ticks (see --bench)",
        run: |_, args| {
            args.done()?;
            crate::bench::bench();
            Ok(())
        },
    },
    Command {
        name: "halt",
        args: "",
        help: "power the machine off (run-qemu.sh exits with status 0)",
        run: |_, args| {
            args.done()?;
            machine::poweroff()
        },
    },
    Command {
        name: "reboot",
        args: "",
        help: "restart the machine",
        run: |_, args| {
            args.done()?;
            machine::reboot()
        },
    },
];

/// Run the monitor: first the commands of the `monitor=` option (`script`),
/// then those typed on the console, until `halt`, `reboot` or the end of the
/// input (Ctrl-D), which powers off. Interrupts must be on.
pub fn monitor(machine: Machine, script: Option<&str>) -> ! {
    let mut m = Monitor {
        machine,
        held: [const { None }; MAX_HELD],
    };
    println!("{MONITOR_READY}");
    for command in script.into_iter().flat_map(super::script) {
        println!("{PROMPT}{command}");
        m.run(command);
    }
    let mut buf = [0u8; LINE_MAX];
    loop {
        print!("{PROMPT}");
        let Some(n) = readline(&mut buf) else {
            println!("monitor: end of input");
            machine::poweroff();
        };
        match core::str::from_utf8(&buf[..n]) {
            Ok(line) => m.run(line),
            Err(_) => println!("monitor: the line is not text"),
        }
    }
}

impl Monitor {
    /// Run one command line; errors are printed with the usage line.
    fn run(&mut self, line: &str) {
        let mut words = line.split_ascii_whitespace();
        let Some(name) = words.next() else {
            return;
        };
        let Some(cmd) = COMMANDS.iter().find(|c| c.name == name) else {
            println!("unknown command {name:?}; 'help' lists the commands");
            return;
        };
        if let Err(e) = (cmd.run)(self, Args::new(words)) {
            println!("{name}: {e}");
            println!("usage: {} {}", cmd.name, cmd.args);
        }
    }
}

fn help<'a>(_: &mut Monitor, args: Args<'a>) -> Result<'a> {
    args.done()?;
    for c in COMMANDS {
        let width = c.name.len() + 1 + c.args.len();
        let pad = HELP_COLUMN.saturating_sub(width);
        println!("  {} {}{:pad$}  {}", c.name, c.args, "", c.help);
    }
    Ok(())
}

fn kerninfo<'a>(_: &mut Monitor, args: Args<'a>) -> Result<'a> {
    args.done()?;
    let entry = image::entry_addr();
    println!(
        "kernel entry point: {:#010x} (pa {:#010x})",
        entry.0,
        v2p(entry).0
    );
    let sections = [
        ("text", KERNLINK, image::etext_addr()),
        ("rodata", image::etext_addr(), image::data_addr()),
        ("data", image::data_addr(), image::edata_addr()),
        ("bss", image::edata_addr(), image::end_addr()),
    ];
    for (name, start, end) in sections {
        println!(
            "  {name:6} [{:#010x}, {:#010x})  {} bytes",
            start.0,
            end.0,
            end.0 - start.0
        );
    }
    let end = image::end_addr();
    println!(
        "  end    {:#010x} (pa {:#010x}): the image takes {} KiB",
        end.0,
        v2p(end).0,
        (end.0 - KERNLINK.0).div_ceil(1024)
    );
    println!(
        "uptime: {} ticks ({} per second)",
        timer::ticks(),
        timer::TICKS_PER_SEC
    );
    Ok(())
}

fn meminfo<'a>(m: &mut Monitor, args: Args<'a>) -> Result<'a> {
    args.done()?;
    let free = kalloc::nfree();
    let phystop = m.machine.phystop.0;
    let image_end = pgroundup(v2p(image::end_addr()).0).expect("the image ends below 4 MiB");
    let image_start = v2p(KERNLINK).0;
    println!("free pages:   {free} ({} KiB)", free * PGSIZE / 1024);
    println!("phystop:      {phystop:#010x} ({} MiB)", phystop >> 20);
    println!(
        "page tables:  {} pages (the kernel page directory and its tables)",
        m.machine.kvm.pages
    );
    println!(
        "kernel image: {} pages [{image_start:#010x}, {image_end:#010x})",
        (image_end - image_start) as usize / PGSIZE
    );
    super::pages::counts_line();
    println!("held by alloc: {} pages", m.held.iter().flatten().count());
    Ok(())
}

fn freelist<'a>(_: &mut Monitor, mut args: Args<'a>) -> Result<'a> {
    let n = args.count("N", FREELIST_DEFAULT, 1)?;
    args.done()?;
    // Each list is printed under its lock, so it cannot change meanwhile.
    kalloc::first_free(n as usize, |list, nfree, i, va| {
        if i == 0 {
            println!(
                "freelist: {list}: {nfree} pages free; the first {}, head first:",
                n.min(nfree as u32)
            );
        }
        println!("  {:#010x} (pa {:#010x})", va.0, v2p(va).0);
    });
    if kalloc::nfree() == 0 {
        println!("freelist: no free pages");
    }
    Ok(())
}

fn cpus<'a>(_: &mut Monitor, args: Args<'a>) -> Result<'a> {
    use core::sync::atomic::Ordering;
    args.done()?;
    println!(
        "cpu  apic id  started  free pages ({} mode)",
        kalloc::mode().name()
    );
    for i in 0..crate::cpu::ncpu() {
        let c = crate::cpu::cpu(i);
        let started = if c.started.load(Ordering::Acquire) {
            "yes"
        } else {
            "no"
        };
        print!("{i:3}  {:7}  {started:7}", c.apicid.load(Ordering::Relaxed));
        match kalloc::cpu_nfree(i) {
            Some(n) => println!("  {n}"),
            None => println!("  - (one list for all: {})", kalloc::nfree()),
        }
    }
    Ok(())
}

fn alloc<'a>(m: &mut Monitor, mut args: Args<'a>) -> Result<'a> {
    let n = args.count("N", 1, 1)? as usize;
    args.done()?;
    let room = m.held.iter().filter(|p| p.is_none()).count();
    if n > room {
        println!(
            "alloc: refused: the monitor holds at most {MAX_HELD} pages and has room for {room}; free some first"
        );
        return Ok(());
    }
    for i in 0..n {
        let Some(page) = kalloc() else {
            println!("alloc: out of memory after {i} of {n} pages");
            return Ok(());
        };
        println!(
            "alloc: {:#010x} (pa {:#010x})",
            page.va().0,
            v2p(page.va()).0
        );
        let slot = m.held.iter_mut().find(|p| p.is_none());
        *slot.expect("room was counted above") = Some(page);
    }
    Ok(())
}

fn free<'a>(m: &mut Monitor, mut args: Args<'a>) -> Result<'a> {
    let va = VAddr(args.required("va")?);
    args.done()?;
    // First the rules kfree panics on, so the student learns which one the
    // address breaks; then the monitor's own: only pages it handed out.
    if let Err(e) = kalloc::check_free(va) {
        println!("free: refused: {e}");
        return Ok(());
    }
    let Some(slot) = m
        .held
        .iter_mut()
        .find(|p| p.as_ref().is_some_and(|p| p.va() == va))
    else {
        println!(
            "free: refused: {:#010x} was not handed out by `alloc` (the kernel may be using it)",
            va.0
        );
        return Ok(());
    };
    kfree(slot.take().expect("found above"));
    println!("free: {:#010x} is back on the free list", va.0);
    Ok(())
}

fn showmappings<'a>(_: &mut Monitor, mut args: Args<'a>) -> Result<'a> {
    let first = pgrounddown(args.required("va")?);
    let last = pgrounddown(args.optional("va2")?.unwrap_or(first));
    args.done()?;
    if last < first {
        println!("showmappings: <va2> {last:#010x} is below <va> {first:#010x}");
        return Ok(());
    }
    let pages = (last - first) / PGSIZE as u32 + 1;
    let pd = vm::kpgdir_entries();
    println!("showmappings: in the kernel page directory (bits: P W U PS)");
    for i in 0..pages.min(SHOWMAPPINGS_MAX) {
        let va = VAddr(first + i * PGSIZE as u32);
        let m = mapping(va, pd[pdx(va)].0, |table, index| {
            vm::page_table(PAddr(table))[index].0
        });
        println!("  {m}");
    }
    if pages > SHOWMAPPINGS_MAX {
        println!(
            "showmappings: {} more pages not shown; ask for a smaller range",
            pages - SHOWMAPPINGS_MAX
        );
    }
    Ok(())
}

fn pgdir<'a>(m: &mut Monitor, args: Args<'a>) -> Result<'a> {
    args.done()?;
    let pd = vm::kpgdir_entries();
    let raw: [u32; NPDENTRIES] = core::array::from_fn(|i| pd[i].0);
    let pgdir = m.machine.kvm.pgdir;
    println!(
        "pgdir: kernel page directory at {:#010x} (pa {:#010x}), {} present entries of {NPDENTRIES}",
        p2v(pgdir).0,
        pgdir.0,
        pde_runs(&raw).map(|r| r.last - r.first + 1).sum::<usize>()
    );
    for r in pde_runs(&raw) {
        let (start, end) = r.span();
        let last = (end - 1) as u32;
        let what = if r.flags.contains(PDFlags::PS) {
            "4 MiB pages"
        } else {
            "page tables"
        };
        println!(
            "  PDE {:4}-{:<4}  va {start:#010x}-{last:#010x}  {}  {what}",
            r.first,
            r.last,
            r.bits()
        );
    }
    Ok(())
}
