//! xv6 for 32-bit x86, in Rust: the kernel's entry and `main` (the modules
//! are in the library, `lib.rs`).
#![cfg_attr(kernel, no_std, no_main)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

#[cfg(kernel)]
use xv6::*;

/// Where `boot/entry.S` jumps once paging is on (with entrypgdir), running
/// on the boot stack at its high address. `magic` and `bootinfo_pa` are what
/// the boot loader left in EAX and EBX.
/// Its symbol is `main`, which `boot/entry.S` calls by name.
#[cfg(kernel)]
// SAFETY: no other symbol of the kernel is called main (a no_main crate).
#[unsafe(no_mangle)]
extern "C" fn main(magic: u32, bootinfo_pa: u32) -> ! {
    use memlayout::{BOOT_MAPPED, p2v, p2v_end};

    // Its own segments first: the console's lock asks `cpuid()`, which
    // reads the CPU's segment (the boot CPU is cpu 0).
    gdt::seginit(0);
    console::consoleinit();
    println!("xv6-rs: booting");
    let boot = bootinfo::load(magic, bootinfo_pa).unwrap_or_else(|e| {
        println!("{e}");
        machine::fail(machine::EXIT_BAD_BOOT)
    });
    println!(
        "bootinfo: loader {:?}, cmdline {:?}",
        boot.loader_name(),
        boot.cmdline()
    );
    println!(
        "bootinfo: {} bytes at pa {:#010x}, copied to {:#010x}",
        boot.size(),
        boot.original.0,
        boot.copy_addr()
    );
    // xv6 sets up traps later; here they come first, so that a fault
    // anywhere in the memory set-up is reported instead of triple faulting.
    trap::idtinit();

    let (mut ram, phystop) = machine_memory(&boot);

    // Stage 1: only the first 4 MiB are mapped (entrypgdir). First
    // boot_alloc takes the page counts from the end of the kernel image
    // (past anything GRUB left there); they are reserved like GRUB's data,
    // and kinit1 frees every other RAM page from the image's end on.
    let boot_top = p2v(BOOT_MAPPED.min(phystop));
    let mut boot_alloc = pageinfo::BootAlloc::new(image::end_addr(), boot_top);
    let counts = pageinfo::kernel::pageinit(&mut boot_alloc, phystop, |va| {
        ram.check_page(u64::from(memlayout::v2p(va).0)).is_ok()
    });
    println!(
        "boot_alloc: {} pages [{:#010x}, {:#010x}) for the counts of {} pages",
        (counts.end.0 - counts.start.0) as usize / mmu::PGSIZE,
        counts.start.0,
        counts.end.0,
        pageinfo::kernel::infos().npages()
    );
    let counts_pa = |va| u64::from(memlayout::v2p(va).0);
    ram.reserve(
        counts_pa(counts.start),
        counts_pa(boot_alloc.finish()),
        pageinfo::kernel::RESERVED_AS,
    );
    let mode = kalloc_mode(boot.cmdline());
    let start = bench::now();
    let k1 = kalloc::kinit1(ram, image::end_addr(), boot_top, p2v_end(phystop), mode);
    bench::record(bench::Stage::Kinit1, start, k1.pages);
    println!(
        "kinit1: freed {} pages [{:#010x}, {:#010x})",
        k1.pages, k1.start.0, k1.end.0
    );
    // The kernel page directory, from kinit1's pages; CR3 switches to it.
    let start = bench::now();
    let kvm = vm::kvmalloc(phystop);
    bench::record(bench::Stage::Kvmalloc, start, kvm.pages);
    println!(
        "kvmalloc: {} page-table pages, kpgdir {:#010x}",
        kvm.pages,
        p2v(kvm.pgdir).0
    );
    // The CPUs and interrupt controllers: the MP tables, this CPU's local
    // APIC, the I/O APIC in place of the PICs.
    let mp = mp::mpinit(phystop);
    print!("mp: {} CPUs (APIC ids", mp.ncpu);
    mp.apicids().for_each(|id| print!(" {id}"));
    println!(
        "), local APICs at {:#010x}, I/O APIC {} at {:#010x}",
        mp.lapic.0, mp.ioapic_id, mp.ioapic.0
    );
    if mp.ignored_cpus > 0 {
        println!(
            "mp: ignoring {} more CPUs (NCPU is {})",
            mp.ignored_cpus,
            param::NCPU
        );
    }
    lapic::lapicinit(mp.lapic);
    picirq::picinit();
    ioapic::ioapicinit(mp.ioapic, mp.ioapic_id, mp.isa_pins);
    println!("cpu0: started");
    let stacks = smp::startothers();
    println!(
        "startothers: {stacks} stack pages for {} other CPUs",
        cpu::ncpu() - 1
    );

    // Stage 2: everything else up to PHYSTOP, now mapped; the lock goes on.
    // It must come after startothers: each other CPU starts on entrypgdir,
    // which maps only the first 4 MiB, and uses a stack page from kalloc on
    // it. Until kinit2 every free page lies below 4 MiB; after it, kalloc
    // hands out the pages kinit2 freed last, far above.
    let start = bench::now();
    let k2 = kalloc::kinit2(boot_top, p2v_end(phystop));
    bench::record(bench::Stage::Kinit2, start, k2.pages);
    println!(
        "kinit2: freed {} pages [{:#010x}, {:#010x})",
        k2.pages, k2.start.0, k2.end.0
    );
    let nfree = kalloc::nfree();
    println!("kalloc: {nfree} pages free ({} mode)", mode.name());

    // The device interrupts are set up here, sent to this CPU; they come in
    // once the monitor (or an in-kernel test) turns interrupts on.
    timer::timerinit();
    uart::uartinit_interrupts();
    kbd::kbdinit();

    if let Some(spec) = cmdline::value(boot.cmdline(), "ktest") {
        let report = ktest::BootReport {
            phystop,
            kinit1: k1,
            kvm,
            stacks,
            kinit2: k2,
            nfree,
        };
        ktest::run(spec, &report, &boot);
        println!("main: in-kernel tests done");
        machine::poweroff();
    }
    // The `bench` option measures, prints and powers off (run-qemu.sh --bench).
    if cmdline::has_flag(boot.cmdline(), "bench") {
        bench::bench();
        machine::poweroff();
    }
    // The `halt` option asks for a power-off right after the report.
    if cmdline::has_flag(boot.cmdline(), "halt") {
        println!("main: halt");
        machine::poweroff();
    }

    println!(
        "main: interrupts on (timer at {} Hz, serial, keyboard)",
        timer::TICKS_PER_SEC
    );
    // SAFETY: the IDT is loaded, every vector has a handler and the PICs
    // deliver IRQs above the exception vectors; no spin lock is held here.
    unsafe { x86::irq::enable() };
    monitor::monitor(
        monitor::Machine { phystop, kvm },
        cmdline::value(boot.cmdline(), "monitor"),
    )
}

/// The machine's memory, printed as the boot report shows it: the map,
/// PHYSTOP clamped to the top of RAM, and what the allocator must never take
/// although the map calls it RAM (the kernel image, GRUB's boot information
/// and modules). Panics below the minimum RAM.
#[cfg(kernel)]
fn machine_memory(boot: &bootinfo::BootInfo) -> (memmap::Ram, memlayout::PAddr) {
    use memlayout::{EXTMEM, MIN_RAM, PAddr, v2p};

    let map = boot.memory_map();
    for r in map.regions() {
        println!("memory: [{:#010x}, {:#010x}) {}", r.start, r.end, r.kind);
    }
    assert!(
        map.top_of_ram() >= u64::from(MIN_RAM.0),
        "need at least {} MiB of RAM, found {} MiB",
        MIN_RAM.0 >> 20,
        map.top_of_ram() >> 20
    );
    let (phystop, why) = memmap::effective_phystop(phystop_cap(boot.cmdline()), &map);
    println!("phystop: {phystop:#010x} ({why})");

    let mut ram = memmap::Ram::new(map);
    let image_end = u64::from(v2p(image::end_addr()).0);
    ram.reserve(u64::from(EXTMEM.0), image_end, "the kernel image");
    let info = u64::from(boot.original.0);
    ram.reserve(info, info + boot.size() as u64, "the boot information");
    for (start, end) in boot.modules() {
        println!("module: [{start:#010x}, {end:#010x})");
        ram.reserve(u64::from(start), u64::from(end), "a GRUB module");
    }
    (ram, PAddr(phystop))
}

/// The allocator's mode from the `kalloc=` option: `global` unless it
/// says `percpu` (a value that is neither is refused, saying why).
#[cfg(kernel)]
fn kalloc_mode(cmdline: &str) -> kalloc::Mode {
    kalloc::Mode::parse(cmdline::value(cmdline, "kalloc")).unwrap_or_else(|e| {
        println!("kalloc: refusing {e}; keeping global");
        kalloc::Mode::Global
    })
}

/// The cap on PHYSTOP: the `phystop=` option if it is valid, else PHYSTOP
/// (saying why the option was refused).
#[cfg(kernel)]
fn phystop_cap(cmdline: &str) -> u32 {
    use memlayout::{BOOT_MAPPED, PHYSTOP, PHYSTOP_MAX};
    let Some(value) = cmdline::value(cmdline, "phystop") else {
        return PHYSTOP.0;
    };
    memmap::parse_phystop(value, BOOT_MAPPED.0, PHYSTOP_MAX.0).unwrap_or_else(|e| {
        println!(
            "phystop: refusing phystop={value}: {e}; allowed: page-aligned sizes from {:#x} to {:#x} \
             (P2V(PHYSTOP) must not pass DEVSPACE); keeping {:#x}",
            BOOT_MAPPED.0,
            PHYSTOP_MAX.0,
            PHYSTOP.0
        );
        PHYSTOP.0
    })
}

#[cfg(kernel)]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    // SAFETY: no interrupt may run on a kernel that has given up.
    unsafe { x86::irq::disable() };
    if machine::begin_panic() {
        machine::fail(machine::EXIT_PANIC);
    }
    if lapic::lapic_ready() {
        // Stop the other CPUs (their NMI handler halts once a panic is
        // under way), so that the report is the last thing printed.
        lapic::nmi_others();
    }
    console::panic_print(format_args!("panic: {}\n", info.message()));
    if let Some(loc) = info.location() {
        console::panic_print(format_args!(
            "panic: at {}:{} on cpu {} (APIC id {})\n",
            loc.file(),
            loc.line(),
            cpu::cpuid(),
            cpu::apicid()
        ));
    }
    console::panic_print(format_args!("backtrace:\n"));
    backtrace::print_backtrace(console::panic_print);
    machine::fail(machine::EXIT_PANIC)
}

/// On the host this crate is only a test bed for the pure logic.
#[cfg(not(kernel))]
fn main() {
    eprintln!("xv6 is a kernel: boot it with ./run-qemu.sh (this host build only runs unit tests)");
    std::process::exit(2);
}
