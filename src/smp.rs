//! Starting the other CPUs (xv6's `startothers`, `mpenter` and `mpmain` in
//! main.c), and running the same work on every CPU (`kalloctest`).
//!
//! The boot CPU copies the trampoline (`boot/entryother.S`) to AP_START and
//! starts each other CPU there with INIT and STARTUP IPIs, one at a time.
//! The new CPU enters protected mode, turns paging on with entrypgdir as
//! the boot CPU did, and calls `mpenter` on the stack page it was given;
//! that loads its own GDT (and with it `%gs` and its TSS), switches to the
//! kernel's page directory and moves onto the guarded alias of its stack
//! page (`src/kstack.rs`); `mpmain` then loads the IDT, sets up its local
//! APIC and says `cpu<N>: started`. It then waits, halted, for work from
//! `on_every_cpu`.

use core::sync::atomic::{AtomicU32, Ordering};

use crate::cpu::{cpu, cpuid, interrupts_enabled, ncpu};
use crate::entry::ENTRYPGDIR;
use crate::kalloc::kalloc;
use crate::memlayout::{AP_START, BOOT_MAPPED, KERNBASE, p2v};
use crate::mmu::{CR0_BOOT, CR0_PE, CR4_BOOT, PGSIZE};
use crate::mmu::{KCODE, KDATA};
use crate::param::APSTACKSIZE;
use crate::spinlock::Spinlock;
use crate::traps::{IRQ_WAKE, T_IRQ0};
use crate::{lapic, println};

core::arch::global_asm!(
    include_str!("../boot/entryother.S"),
    AP_START = const AP_START.0,
    CR0_PE = const CR0_PE,
    CR4_BOOT = const CR4_BOOT,
    CR0_BOOT = const CR0_BOOT,
    KCODE = const KCODE.bits(),
    KDATA = const KDATA.bits(),
    KERNBASE = const KERNBASE.0,
    entrypgdir = sym ENTRYPGDIR,
    mpenter = sym mpenter,
    options(att_syntax)
);

unsafe extern "C" {
    /// The trampoline's first and one-past-last bytes, and its stack word.
    static entryother_start: u8;
    static entryother_end: u8;
    static entryother_stack: u8;
}

// Each other CPU's stack is one page from kalloc.
const _: () = assert!(APSTACKSIZE == PGSIZE);

/// How long the boot CPU waits for a started CPU to report, in
/// microseconds (generous: an emulated CPU on a busy host can be slow).
const START_WAIT_US: u32 = 10_000_000;
/// Microseconds between two looks at the `started` flag.
const START_POLL_US: u32 = 10;

/// What `startothers` did: the stack pages it took for the other CPUs.
#[derive(Clone, Copy, Debug)]
pub struct Started {
    pub stacks: usize,
    pub others: usize,
}

impl core::fmt::Display for Started {
    /// The boot report's line.
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        write!(
            f,
            "startothers: {} stack pages for {} other CPUs",
            self.stacks, self.others
        )
    }
}

/// Start every CPU but the boot CPU, one at a time (xv6's `startothers`),
/// after the boot CPU's own `started` line (the others print theirs in
/// `mpenter`). Each gets a kernel stack page from `kalloc`, which it keeps
/// for good.
pub fn startothers() -> Started {
    println!("cpu0: started");
    let start = &raw const entryother_start as usize;
    let len = &raw const entryother_end as usize - start;
    let stack_word = &raw const entryother_stack as usize - start;
    let copy = p2v(AP_START).0 as *mut u8;
    // SAFETY: AP_START..+len is low memory that nothing else uses (below
    // the kernel, above the BIOS data area; the boot information was copied
    // away in entry.S), mapped at P2V; the source is the trampoline's code.
    unsafe { core::ptr::copy_nonoverlapping(start as *const u8, copy, len) };

    for i in 1..ncpu() {
        let c = cpu(i);
        let apicid = c.apicid.load(Ordering::Relaxed);
        let stack = kalloc()
            .unwrap_or_else(|| panic!("startothers: no free page for cpu{i}'s stack"))
            .into_pa();
        assert!(
            stack.0 + APSTACKSIZE as u32 <= BOOT_MAPPED.0,
            "startothers: cpu{i}'s stack at pa {:#010x} is above the {:#x} bytes entrypgdir maps \
             (kinit2 must come after startothers)",
            stack.0,
            BOOT_MAPPED.0
        );
        // It starts on the page's direct-map address (entrypgdir maps only
        // that) and moves to the alias in mpenter: that alias is its stack.
        let pgdir = crate::vm::kpgdir().expect("startothers after kvmalloc");
        c.set_stack(crate::kstack::map_stack(pgdir, i, stack));
        c.stack_pa.store(stack.0, Ordering::Relaxed);
        let top = p2v(stack).0 + APSTACKSIZE as u32;
        // SAFETY: the stack word lies inside the copy made above; the CPU
        // started before this one has already read it (it reported).
        unsafe { (copy.add(stack_word) as *mut u32).write_volatile(top) };

        lapic::lapicstartap(apicid, AP_START);
        let mut waited = 0;
        while !c.started.load(Ordering::Acquire) {
            assert!(
                waited < START_WAIT_US,
                "startothers: cpu{i} (APIC id {apicid}) did not report within {} s of its STARTUP IPI",
                START_WAIT_US / 1_000_000
            );
            lapic::microdelay(START_POLL_US);
            waited += START_POLL_US;
        }
    }
    Started {
        stacks: ncpu() - 1,
        others: ncpu() - 1,
    }
}

/// Where each other CPU enters the kernel, from the trampoline, with
/// entrypgdir and its stack page at P2V(pa) (xv6's `mpenter`): once on the
/// kernel page directory, it moves to that page's guarded alias.
extern "C" fn mpenter() -> ! {
    crate::arch::gdt::seginit(crate::cpu::cpuid_by_apic());
    crate::vm::switchkvm();
    let top = cpu(cpuid()).stack().end;
    // SAFETY: startothers mapped this CPU's stack page at its alias, which
    // ends at `top` (page-aligned); the direct-map stack is left for good.
    unsafe { crate::kstack::switch_stack(top, mpmain) }
}

/// The rest of a CPU's start-up, on its guarded stack (xv6's `mpmain`).
extern "C" fn mpmain() -> ! {
    crate::trap::idtinit();
    lapic::lapicinit(lapic::base());
    let me = cpuid();
    println!("cpu{me}: started");
    cpu(me).started.store(true, Ordering::Release);
    idle()
}

/// Work for every CPU: a function and its argument.
#[derive(Clone, Copy)]
struct Job {
    run: fn(u32),
    arg: u32,
}

static JOB: Spinlock<Option<Job>> = Spinlock::new(crate::lockorder::JOB, None);
/// Bumped for each new job; a CPU runs the job when this differs from the
/// last one it saw.
static JOB_GENERATION: AtomicU32 = AtomicU32::new(0);
/// How many other CPUs have finished the current job.
static JOB_DONE: AtomicU32 = AtomicU32::new(0);

/// The statistics of the job lock.
pub fn lock_stats(mut f: impl FnMut(crate::spinlock::LockStats)) {
    f(JOB.stats());
}

/// What the other CPUs do when they have no work: halt until an interrupt
/// (the wake-up IPI), then run the job if there is a new one.
fn idle() -> ! {
    let mut seen = 0;
    loop {
        // SAFETY: interrupts off while looking for work, so that a wake-up
        // arriving after the look is not lost: `sti; hlt` below takes it
        // (sti lets interrupts in only after the next instruction).
        unsafe { x86::irq::disable() };
        let generation = JOB_GENERATION.load(Ordering::Acquire);
        if generation == seen && !crate::proc::started() {
            // SAFETY: halting with interrupts on until the next interrupt.
            unsafe { core::arch::asm!("sti", "hlt", options(nomem, nostack)) };
            continue;
        }
        seen = generation;
        if crate::proc::started() {
            // Processes run: this CPU schedules them from now on, its own
            // timer preempting them (the PIT interrupts another CPU).
            crate::timer::local_start();
            crate::proc::scheduler();
        }
        let job = JOB.lock().expect("a new job generation comes with a job");
        // SAFETY: no lock is held; the job runs like any kernel code.
        unsafe { x86::irq::enable() };
        (job.run)(job.arg);
        JOB_DONE.fetch_add(1, Ordering::Release);
    }
}

/// Run `run(arg)` on every started CPU, this one included, and return when
/// all have finished. Called by one CPU at a time (the monitor's).
pub fn on_every_cpu(run: fn(u32), arg: u32) {
    *JOB.lock() = Some(Job { run, arg });
    JOB_DONE.store(0, Ordering::Relaxed);
    JOB_GENERATION.fetch_add(1, Ordering::Release);
    let others = ncpu() as u32 - 1;
    if others > 0 {
        lapic::ipi_others(T_IRQ0 + u32::from(IRQ_WAKE));
    }
    run(arg);
    while JOB_DONE.load(Ordering::Acquire) < others {
        if interrupts_enabled() {
            // SAFETY: halting until the next interrupt (the timer ticks
            // 100 times a second), then looking again.
            unsafe { x86::halt() };
        } else {
            core::hint::spin_loop();
        }
    }
}
