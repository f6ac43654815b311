//! xv6 for 32-bit x86, in Rust: the kernel's entry and `main` (the modules
//! are in the library, `lib.rs`).
#![cfg_attr(kernel, no_std, no_main)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

#[cfg(kernel)]
use xv6::memlayout::{PAddr, VAddr};
#[cfg(kernel)]
use xv6::{
    arch::gdt,
    bootinfo, cmdline, console, cpu,
    debug::{backtrace, bench, ktest},
    fs, ioapic,
    jos::pageinfo,
    kalloc, kbd, lapic, machine, monitor, mp, picirq, println, protocol, smp, timer, trap, uart,
    vm,
};

/// Where the two stages split free memory: kinit1 frees from the kernel's
/// end to what entrypgdir maps, kinit2 from there to P2V(PHYSTOP), once
/// kvmalloc has mapped it.
#[cfg(kernel)]
fn kinit_bounds(phystop: PAddr) -> (VAddr, VAddr, VAddr) {
    // LAB boot/kinit BEGIN
    use xv6::image;
    use xv6::memlayout::{BOOT_MAPPED, p2v, p2v_end};
    (image::end_addr(), p2v(BOOT_MAPPED), p2v_end(phystop))
    // LAB boot/kinit END
}

/// Where `boot/entry.S` jumps once paging is on (with entrypgdir), running
/// on the boot stack at its high address. `magic` and `bootinfo_pa` are what
/// the boot loader left in EAX and EBX. Each stage prints its line of the
/// boot report; docs/boot.md says what each does.
#[cfg(kernel)]
// SAFETY: no other symbol of the kernel is called main (a no_main crate).
#[unsafe(no_mangle)]
extern "C" fn main(magic: u32, bootinfo_pa: u32) -> ! {
    use bench::Stage;
    use kalloc::{kinit1, kinit2};
    use timer::TICKS_PER_SEC;

    machine::boot_mark(protocol::MARK_MAIN); // the boot got here (a reset is then not entry.S's)
    gdt::seginit(0); // segments first: cpuid() reads this CPU's %gs
    console::consoleinit(); // serial port and VGA text
    println!("{}", protocol::BOOTING);
    let boot = bootinfo::load(magic, bootinfo_pa); // GRUB's boot information (Multiboot2)
    println!("{boot}");
    trap::idtinit(); // earlier than xv6: a fault while setting up memory is reported
    let (mut ram, phystop) = bootinfo::machine_memory(&boot); // the map, PHYSTOP, what is taken
    let counts = pageinfo::pageinit(&mut ram, phystop); // a count per page, from boot_alloc
    println!("{counts}");
    let mode = kalloc::Mode::from_cmdline(boot.cmdline()); // kalloc=global, percpu or scan
    let (end, low, top) = kinit_bounds(phystop);
    let k1 = Stage::Kinit1.timed(|| kinit1(ram, counts.counts, end, low, top, mode));
    println!("{k1}"); // phys page allocator: RAM below 4 MiB, no lock yet
    let kvm = Stage::Kvmalloc.timed(|| vm::kvmalloc(phystop)); // kernel page table
    println!("{kvm}");
    fs::fsinit(&boot, phystop); // the file system on the RAM disk, if GRUB loaded one
    let mp = mp::mpinit(phystop); // detect other processors
    println!("{mp}");
    lapic::lapicinit(mp.lapic); // interrupt controller
    picirq::picinit(); // disable pic
    ioapic::ioapicinit(mp.ioapic, mp.ioapic_id, mp.isa_pins); // another interrupt controller
    let others = smp::startothers(); // start other processors
    println!("{others}");
    let k2 = Stage::Kinit2.timed(|| kinit2(low, top, vm::kpgdir())); // must come after startothers()
    println!("{k2}"); // the rest of RAM up to PHYSTOP; the locks on
    let free = kalloc::free(); // what the two stages left free
    println!("{free}");
    timer::timerinit(); // the PIT, sent to this CPU
    uart::uartinit_interrupts(); // serial port
    kbd::kbdinit(); // keyboard
    let report = ktest::BootReport::new(phystop, k1, kvm, others, k2, free.pages);
    ktest::boot_options(&boot, &report); // ktest=, bench or halt: each powers off
    println!("main: interrupts on (timer at {TICKS_PER_SEC} Hz, serial, keyboard)");
    // SAFETY: the IDT is loaded, every vector has a handler and the PICs
    // deliver IRQs above the exception vectors; no spin lock is held here.
    unsafe { x86::irq::enable() };
    if let Some(root) =
        xv6::fs::root().filter(|_| cmdline::value(boot.cmdline(), cmdline::MONITOR).is_none())
    {
        start_processes(boot.cmdline(), root);
    }
    let machine = monitor::Machine { phystop, kvm };
    monitor::monitor(machine, cmdline::value(boot.cmdline(), cmdline::MONITOR)) // K> until halt
}

/// With a file system: the first process, then the scheduler on every
/// CPU (the others leave their idle loop for it at the wake-up IPI).
#[cfg(kernel)]
fn start_processes(cmdline_text: &str, root: xv6::fs::Inode) -> ! {
    use xv6::proc::{self, ForkMode};
    let mode = ForkMode::parse(cmdline::value(cmdline_text, cmdline::FORK)).unwrap_or_else(|bad| {
        println!("main: fork={bad} is neither copy nor cow: using cow");
        ForkMode::Cow
    });
    proc::set_fork_mode(mode);
    proc::userinit(root);
    println!("main: first process started (fork={mode:?})");
    println!("{}", protocol::PROCESSES_READY);
    if xv6::cpu::ncpu() > 1 {
        timer::calibrate(); // the other CPUs' own timers, before they start
        lapic::ipi_others(xv6::traps::T_IRQ0 + u32::from(xv6::traps::IRQ_WAKE));
    }
    proc::scheduler()
}

#[cfg(kernel)]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    // SAFETY: no interrupt may run on a kernel that has given up.
    unsafe { x86::irq::disable() };
    match machine::begin_panic(cpu::cpuid()) {
        machine::PanicStart::First => {}
        // Another CPU is reporting its panic: let it finish (it ends the
        // machine), or this CPU's report could end it before it is printed.
        machine::PanicStart::OnAnotherCpu => machine::halt(),
        // A panic while reporting one on this CPU: end the machine now.
        machine::PanicStart::Nested => machine::fail(machine::EXIT_PANIC),
    }
    if lapic::lapic_ready() {
        // Stop the other CPUs (their NMI handler halts once a panic is
        // under way), so that the report is the last thing printed.
        lapic::nmi_others();
    }
    console::panic_print(format_args!("{}{}\n", protocol::PANIC, info.message()));
    if let Some(loc) = info.location() {
        console::panic_print(format_args!(
            "{}{}:{} on cpu {} (APIC id {})\n",
            protocol::PANIC_AT,
            loc.file(),
            loc.line(),
            cpu::cpuid(),
            cpu::apicid()
        ));
    }
    console::panic_print(format_args!("{}\n", protocol::BACKTRACE));
    backtrace::print_backtrace(console::panic_print);
    machine::fail(machine::EXIT_PANIC)
}

/// On the host this crate is only a test bed for the pure logic.
#[cfg(not(kernel))]
fn main() {
    eprintln!("xv6 is a kernel: boot it with ./run-qemu.sh (this host build only runs unit tests)");
    std::process::exit(2);
}
