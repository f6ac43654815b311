//! The kernel monitor, as JOS's `monitor.c`: a prompt, `K> `, on the serial
//! console and the screen, and the commands a student inspects and pokes
//! the memory system with. Reading arguments and describing page-table
//! entries are pure code, host-tested, in the submodules.

pub mod args;
pub mod describe;

#[cfg(kernel)]
use crate::{
    console::{LineTooLong, readline},
    debug::{backtrace, cow_demo::cow},
    image,
    jos::{
        pageinfo::{PageError, area, infos},
        pmap::check::check_all,
    },
    kalloc::{self, KfreeError, Page, kalloc, kfree},
    machine,
    memlayout::{KERNBASE, KERNLINK, PAddr, VAddr, p2v, v2p},
    mmu::{NPDENTRIES, PDFlags, PGSIZE, PageStep, pgaddr},
    print, println,
    protocol::{CHECKS_PASSED, LINE_TOO_LONG, MONITOR_READY, PROMPT, UNKNOWN_COMMAND},
    timer,
    vm::{self, KallocTables, Kvm},
};
#[cfg(kernel)]
use args::{ArgError, Args};
#[cfg(kernel)]
use describe::{mapping, pde_runs};

/// The longest line the monitor reads (the console's buffer is as long).
#[cfg(kernel)]
const LINE_MAX: usize = crate::input::INPUT_BUF;
/// Pages `alloc` can hand out before some are freed: the monitor keeps each
/// one, so `free` can refuse addresses it never handed out.
#[cfg(kernel)]
const MAX_HELD: usize = 1024;
/// Default counts of `freelist` and `alloc`.
#[cfg(kernel)]
const FREELIST_DEFAULT: u32 = 8;
/// Where `help` starts the descriptions.
#[cfg(kernel)]
const HELP_COLUMN: usize = 26;
/// Most pages one `showmappings` prints.
#[cfg(kernel)]
const SHOWMAPPINGS_MAX: usize = 512;

/// What the boot found, for the commands to show.
#[cfg(kernel)]
pub struct Machine {
    /// The effective PHYSTOP.
    pub phystop: PAddr,
    /// The kernel page directory and its page count.
    pub kvm: Kvm,
}

/// The monitor's own state.
#[cfg(kernel)]
struct Monitor {
    machine: Machine,
    /// Pages handed out by `alloc` and not yet freed.
    held: [Option<Page>; MAX_HELD],
}

#[cfg(kernel)]
type Result<'a> = core::result::Result<(), ArgError<'a>>;

#[cfg(kernel)]
struct Command {
    name: &'static str,
    args: &'static str,
    help: &'static str,
    run: for<'a> fn(&mut Monitor, Args<'a>) -> Result<'a>,
}

#[cfg(kernel)]
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
        help: "the first N free pages, head first (highest first in scan mode; default 8)",
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
        run: page,
    },
    Command {
        name: "checks",
        args: "",
        help: "JOS's self-checks of pages and page tables, and check_cow",
        run: checks,
    },
    Command {
        name: "cow",
        args: "",
        help: "copy-on-write shown step by step on two address spaces",
        run: cow_demo,
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
        name: "ps",
        args: "",
        help: "the process table and the free count, as Ctrl-P prints them",
        run: |_, args| {
            args.done()?;
            crate::proc::procdump();
            Ok(())
        },
    },
    Command {
        name: "lockstat",
        args: "",
        help: "each spin lock's acquisitions and failed spins; tot= on kmem",
        run: |_, args| {
            args.done()?;
            crate::debug::lockstat::lockstat();
            Ok(())
        },
    },
    Command {
        name: "kalloctest",
        args: "[rounds]",
        help: "kalloc/check/kfree on every CPU (default 100000 rounds each)",
        run: |_, mut args| {
            let rounds = args.count(
                "rounds",
                crate::debug::kalloctest::DEFAULT_ROUNDS,
                1..=crate::debug::kalloctest::MAX_ROUNDS,
            )?;
            args.done()?;
            let _ = crate::debug::kalloctest::kalloctest(rounds);
            Ok(())
        },
    },
    Command {
        name: "bench",
        args: "",
        help: "boot stages' and kalloc+kfree's cost in TSC ticks (see --bench)",
        run: |_, args| {
            args.done()?;
            crate::debug::bench::bench();
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
#[cfg(kernel)]
pub fn monitor(machine: Machine, script: Option<&str>) -> ! {
    let mut m = Monitor {
        machine,
        held: [const { None }; MAX_HELD],
    };
    println!("{MONITOR_READY}");
    for command in script.into_iter().flat_map(args::script) {
        println!("{PROMPT}{command}");
        m.run(command);
    }
    let mut buf = [0u8; LINE_MAX];
    loop {
        print!("{PROMPT}");
        let n = match readline(&mut buf) {
            Some(Ok(n)) => n,
            Some(Err(LineTooLong)) => {
                println!(
                    "{LINE_TOO_LONG} (at most {} characters): ignored",
                    LINE_MAX - 1
                );
                continue;
            }
            None => {
                println!("monitor: end of input");
                machine::poweroff();
            }
        };
        match core::str::from_utf8(&buf[..n]) {
            Ok(line) => m.run(line),
            Err(_) => println!("monitor: the line is not text"),
        }
    }
}

#[cfg(kernel)]
impl Monitor {
    /// Run one command line; errors are printed with the usage line.
    fn run(&mut self, line: &str) {
        let mut words = line.split_ascii_whitespace();
        let Some(name) = words.next() else {
            return;
        };
        let Some(cmd) = COMMANDS.iter().find(|c| c.name == name) else {
            println!("{UNKNOWN_COMMAND} {name:?}; 'help' lists the commands");
            return;
        };
        if let Err(e) = (cmd.run)(self, Args::new(words)) {
            println!("{name}: {e}");
            println!("usage: {} {}", cmd.name, cmd.args);
        }
    }
}

#[cfg(kernel)]
fn help<'a>(_: &mut Monitor, args: Args<'a>) -> Result<'a> {
    args.done()?;
    for c in COMMANDS {
        let width = c.name.len() + 1 + c.args.len();
        let pad = HELP_COLUMN.saturating_sub(width);
        println!("  {} {}{:pad$}  {}", c.name, c.args, "", c.help);
    }
    Ok(())
}

#[cfg(kernel)]
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

#[cfg(kernel)]
fn meminfo<'a>(m: &mut Monitor, args: Args<'a>) -> Result<'a> {
    args.done()?;
    let free = kalloc::nfree();
    let phystop = m.machine.phystop.0;
    let image_end = v2p(image::end_addr())
        .page_up()
        .expect("the image ends below 4 MiB");
    let image_start = v2p(KERNLINK);
    println!("free pages:   {free} ({} KiB)", free * PGSIZE / 1024);
    println!("phystop:      {phystop:#010x} ({} MiB)", phystop >> 20);
    println!(
        "page tables:  {} pages (the kernel page directory and its tables)",
        m.machine.kvm.pages
    );
    println!(
        "kernel image: {} pages [{:#010x}, {:#010x})",
        image_start.pages_to(image_end),
        image_start.0,
        image_end.0
    );
    counts_line();
    println!("held by alloc: {} pages", m.held.iter().flatten().count());
    Ok(())
}

#[cfg(kernel)]
fn freelist<'a>(_: &mut Monitor, mut args: Args<'a>) -> Result<'a> {
    let n = args.count("N", FREELIST_DEFAULT, 1..=u32::MAX)?;
    args.done()?;
    // Each list is printed under its lock, so it cannot change meanwhile.
    let scan = kalloc::mode() == kalloc::Mode::Scan;
    kalloc::first_free(n as usize, |list, nfree, i, va| {
        let first = n.min(nfree as u32);
        match (i, scan) {
            (0, false) => {
                println!("freelist: {list}: {nfree} pages free; the first {first}, head first:")
            }
            (0, true) => println!(
                "freelist: no list in scan mode (kalloc scans the free bits from the top); \
                 {list}: {nfree} pages free; the first {first}, highest first:"
            ),
            _ => {}
        }
        println!("  {:#010x} (pa {:#010x})", va.0, v2p(va).0);
    });
    if kalloc::nfree() == 0 {
        println!("freelist: no free pages");
    }
    Ok(())
}

#[cfg(kernel)]
fn cpus<'a>(_: &mut Monitor, args: Args<'a>) -> Result<'a> {
    use core::sync::atomic::Ordering;
    args.done()?;
    let mode = kalloc::mode();
    let scan = mode == kalloc::Mode::Scan;
    println!("cpu  apic id  started  free pages ({mode} mode)");
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
            None if scan => println!("  - (no list: one scan for all: {})", kalloc::nfree()),
            None => println!("  - (one list for all: {})", kalloc::nfree()),
        }
    }
    Ok(())
}

#[cfg(kernel)]
fn alloc<'a>(m: &mut Monitor, mut args: Args<'a>) -> Result<'a> {
    let n = args.count("N", 1, 1..=u32::MAX)? as usize;
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

#[cfg(kernel)]
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
    match kalloc::mode() {
        kalloc::Mode::Scan => println!(
            "free: {:#010x} is free again (its free bit is set: scan mode keeps no list)",
            va.0
        ),
        _ => println!("free: {:#010x} is back on the free list", va.0),
    }
    Ok(())
}

#[cfg(kernel)]
fn showmappings<'a>(m: &mut Monitor, mut args: Args<'a>) -> Result<'a> {
    let first = VAddr(args.required("va")?).page_down();
    let last = args.optional("va2")?.map_or(first, VAddr).page_down();
    args.done()?;
    if last < first {
        println!(
            "showmappings: <va2> {:#010x} is below <va> {:#010x}",
            last.0, first.0
        );
        return Ok(());
    }
    let pages = first.pages_to(last) + 1;
    println!("showmappings: in the kernel page directory (bits: P W U PS)");
    for va in (0..pages.min(SHOWMAPPINGS_MAX)).map(|i| first.add_pages(i)) {
        println!("  {}", kernel_mapping(m, va));
    }
    if pages > SHOWMAPPINGS_MAX {
        println!(
            "showmappings: {} more pages not shown; ask for a smaller range",
            pages - SHOWMAPPINGS_MAX
        );
    }
    Ok(())
}

#[cfg(kernel)]
fn pgdir<'a>(m: &mut Monitor, args: Args<'a>) -> Result<'a> {
    args.done()?;
    let pd = vm::kpgdir_entries();
    let pgdir = m.machine.kvm.pgdir;
    println!(
        "pgdir: kernel page directory at {:#010x} (pa {:#010x}), {} present entries of {NPDENTRIES}",
        p2v(pgdir).0,
        pgdir.0,
        pde_runs(&pd).map(|r| r.last - r.first + 1).sum::<usize>()
    );
    for r in pde_runs(&pd) {
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

/// `page <addr>`: the page holding a physical address, or a kernel virtual
/// address (at or above KERNBASE): its count, whether it is free, and where
/// the kernel page directory maps it.
#[cfg(kernel)]
fn page<'a>(m: &mut Monitor, mut args: Args<'a>) -> Result<'a> {
    let addr = args.required("addr")?;
    args.done()?;
    let found = if addr >= KERNBASE.0 {
        infos().kva2page(VAddr(addr))
    } else {
        infos().pa2page(PAddr(addr))
    };
    let ppn = match found {
        Ok(ppn) => ppn,
        Err(e @ (PageError::InvalidPa { .. } | PageError::NotKernelVa { .. })) => {
            println!("page: refused: {e}");
            return Ok(());
        }
        Err(e) => unreachable!("a lookup fails only on the address: {e}"),
    };
    let pa = ppn.pa();
    let kfree_says = kalloc::check_free(ppn.kva());
    let state = match kfree_says {
        Err(KfreeError::DoubleFree { .. }) if kalloc::mode() == kalloc::Mode::Scan => {
            "free (marked free: scan mode keeps no list)"
        }
        Err(KfreeError::DoubleFree { .. }) => "free (on a free list)",
        Ok(()) => "in use (allocated)",
        Err(_) if area().is_some_and(|a| ppn.kva() >= a.start && ppn.kva() < a.end) => {
            "never free: the page counts (boot_alloc)"
        }
        Err(_) => "never free: the allocator does not manage it",
    };
    let count = infos().count(pa).expect("pa2page found the page");
    println!(
        "page {:#010x} (page number {}, kva {:#010x}): count {count}, {state}",
        pa.0,
        ppn.index(),
        ppn.kva().0
    );
    if let Err(e) = kfree_says
        && !matches!(e, KfreeError::DoubleFree { .. })
    {
        println!("  kfree would refuse it: {e}");
    }
    let mut n = 0;
    for_each_mapping(pa, |va| {
        let mapped = kernel_mapping(m, va);
        println!("  mapped in the kernel page directory: {mapped}");
        n += 1;
    });
    if n == 0 {
        println!("  not mapped in the kernel page directory");
    }
    Ok(())
}

/// How the kernel page directory maps `va`.
#[cfg(kernel)]
fn kernel_mapping(m: &Monitor, va: VAddr) -> describe::Mapping {
    mapping(&mut KallocTables::default(), m.machine.kvm.pgdir, va)
}

/// Call `f` with each virtual address the kernel page directory maps to
/// the page at `pa` through a page table.
#[cfg(kernel)]
fn for_each_mapping(pa: PAddr, mut f: impl FnMut(VAddr)) {
    let pd = vm::kpgdir_entries();
    for (i, pde) in pd.iter().enumerate().filter(|(_, e)| e.is_present()) {
        let table = vm::page_table(pde.address());
        for (j, pte) in table.iter().enumerate() {
            if pte.is_present() && pte.address() == pa {
                f(pgaddr(i, j, 0));
            }
        }
    }
}

/// `checks`: JOS's self-checks and check_cow.
#[cfg(kernel)]
fn checks<'a>(m: &mut Monitor, args: Args<'a>) -> Result<'a> {
    args.done()?;
    let before = kalloc::nfree();
    check_all(m.machine.phystop);
    println!("{CHECKS_PASSED}; {} pages free, as before", kalloc::nfree());
    assert_eq!(kalloc::nfree(), before, "checks: the checks leaked pages");
    Ok(())
}

/// `cow`: the copy-on-write demonstration, step by step.
#[cfg(kernel)]
fn cow_demo<'a>(m: &mut Monitor, args: Args<'a>) -> Result<'a> {
    args.done()?;
    cow(m.machine.phystop, true);
    Ok(())
}

/// `meminfo`'s line for the memory boot_alloc took for the counts.
#[cfg(kernel)]
fn counts_line() {
    if let Some(a) = area() {
        println!(
            "page counts:  {} pages [{:#010x}, {:#010x}) from boot_alloc, one byte for each of {} pages",
            a.start.pages_to(a.end),
            v2p(a.start).0,
            v2p(a.end).0,
            infos().npages()
        );
    }
}

#[cfg(test)]
mod tests;
