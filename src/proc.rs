//! Processes (xv6's `proc.c`): the process table, `allocproc`, `userinit`,
//! `growproc`, `fork`, `exit`, `wait`, the per-CPU `scheduler`, `sched`,
//! `yield_`, `sleep`, `wakeup`, `kill` and `procdump`.
//!
//! As in xv6, one lock (`PTABLE_LOCK`) guards every process's `state`,
//! `chan`, `parent` and `killed`, and is held across the context switch:
//! the thread that takes it before `swtch` is not the one that releases it
//! after. That is why it is a bare lock ([`RawLock`]) and not a
//! [`Spinlock`] guard, which would remember the CPU it was taken on.
//! Every other field belongs to the process itself (only its own kernel
//! thread touches it), or to its parent once it is a zombie.

mod kstack;
mod raw;

use core::cell::UnsafeCell;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

pub use raw::RawLock;

use crate::fs::Inode;
use crate::memlayout::PAddr;
use crate::mmu::{FL_IF, PGSIZE_U32, UCODE, UDATA};
use crate::param::{NCPU, NOFILE, NPROC};
use crate::spinlock::{Spinlock, SpinlockGuard};
use crate::trap::TrapFrame;
use crate::{file, vm};

/// What a process is doing (xv6's `enum procstate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcState {
    Unused,
    Embryo,
    Sleeping,
    Runnable,
    Running,
    Zombie,
}

impl ProcState {
    /// The name `procdump` prints.
    pub fn name(self) -> &'static str {
        match self {
            ProcState::Unused => "unused",
            ProcState::Embryo => "embryo",
            ProcState::Sleeping => "sleep ",
            ProcState::Runnable => "runble",
            ProcState::Running => "run   ",
            ProcState::Zombie => "zombie",
        }
    }
}

/// The registers `swtch` saves for a kernel thread that is not running
/// (xv6's `struct context`): the callee-saved ones and the return address,
/// in the order `swtch.S` pushes them.
#[repr(C)]
#[derive(Default)]
pub struct Context {
    pub edi: u32,
    pub esi: u32,
    pub ebx: u32,
    pub ebp: u32,
    pub eip: u32,
}

core::arch::global_asm!(include_str!("swtch.S"), options(att_syntax));

unsafe extern "C" {
    /// Save the running thread's Context, record it in `*old`, and resume
    /// the one at `new`.
    ///
    /// # Safety
    /// `new` is a Context `swtch` saved (or `allocproc` built) on a live
    /// kernel stack; the process table lock is held (sched's rules).
    fn swtch(old: *mut *mut Context, new: *mut Context);
    /// The tail of `alltraps` (trapasm.S): pops a TrapFrame and `iret`s.
    fn trapret();
}

/// Longest process name kept (xv6's `name[16]`).
pub const NAME_LEN: usize = 16;

/// One process (xv6's `struct proc`).
pub struct Proc {
    /// Bytes of user memory, from address 0.
    pub sz: u32,
    /// Its page directory (meaningful unless Unused).
    pub pgdir: PAddr,
    /// Its kernel stack, while it has one.
    kstack: Option<kstack::KernelStack>,
    pub state: ProcState,
    pub pid: i32,
    /// Index of the parent in the table.
    parent: Option<usize>,
    /// The trap frame of the current system call or interrupt from user
    /// mode, at the top of the kernel stack.
    pub tf: *mut TrapFrame,
    /// Where `swtch` left its kernel thread.
    context: *mut Context,
    /// What it sleeps on, if Sleeping.
    chan: usize,
    /// Killed: it exits at its next return to user mode.
    pub killed: bool,
    /// Open files: indices into the file table.
    pub ofile: [Option<usize>; NOFILE],
    /// Current directory.
    pub cwd: Option<Inode>,
    pub name: [u8; NAME_LEN],
}

impl Proc {
    const fn new() -> Proc {
        Proc {
            sz: 0,
            pgdir: PAddr(0),
            kstack: None,
            state: ProcState::Unused,
            pid: 0,
            parent: None,
            tf: core::ptr::null_mut(),
            context: core::ptr::null_mut(),
            chan: 0,
            killed: false,
            ofile: [None; NOFILE],
            cwd: None,
            name: [0; NAME_LEN],
        }
    }

    /// The name as text (up to its first NUL).
    pub fn name(&self) -> &str {
        let len = self.name.iter().position(|&b| b == 0).unwrap_or(NAME_LEN);
        core::str::from_utf8(&self.name[..len]).unwrap_or("?")
    }

    /// Set the name from `bytes` (cut to NAME_LEN - 1).
    pub fn set_name(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(NAME_LEN - 1);
        self.name = [0; NAME_LEN];
        self.name[..n].copy_from_slice(&bytes[..n]);
    }

    /// The trap frame of the system call it is making.
    pub fn tf(&mut self) -> &mut TrapFrame {
        // SAFETY: `tf` points into this process's own kernel stack, set by
        // allocproc and never moved; only this process's thread uses it.
        unsafe { &mut *self.tf }
    }
}

/// A table slot. Its fields are guarded as the module doc says.
struct ProcCell(UnsafeCell<Proc>);

// SAFETY: the cells are reached under PTABLE_LOCK, or by their own process
// (the fields only it uses), as xv6 does.
unsafe impl Sync for ProcCell {}

static PTABLE: [ProcCell; NPROC] = [const { ProcCell(UnsafeCell::new(Proc::new())) }; NPROC];
/// The process table's lock (xv6's `ptable.lock`).
static PTABLE_LOCK: RawLock = RawLock::new("ptable");
static NEXTPID: AtomicI32 = AtomicI32::new(1);
/// The table index of the first process (`init`), once it exists.
static INITPROC: AtomicUsize = AtomicUsize::new(NO_PROC);
const NO_PROC: usize = usize::MAX;

/// The process each CPU runs (a table index, or NO_PROC).
static CPU_PROC: [AtomicUsize; NCPU] = [const { AtomicUsize::new(NO_PROC) }; NCPU];

/// Where each CPU's scheduler thread was left by `swtch`.
struct SchedCell(UnsafeCell<*mut Context>);
// SAFETY: each CPU touches only its own cell, with interrupts off.
unsafe impl Sync for SchedCell {}
static CPU_SCHED: [SchedCell; NCPU] =
    [const { SchedCell(UnsafeCell::new(core::ptr::null_mut())) }; NCPU];

/// Table slot `i`.
///
/// # Safety
/// The caller holds PTABLE_LOCK, or is process `i` touching its own
/// fields, or is `i`'s parent reaping it (it is a zombie), and keeps the
/// reference no longer than that.
#[allow(clippy::mut_from_ref)]
unsafe fn slot(i: usize) -> &'static mut Proc {
    // SAFETY: the caller's promise.
    unsafe { &mut *PTABLE[i].0.get() }
}

/// The index of the process running on this CPU, if any.
fn my_index() -> Option<usize> {
    let pinned = crate::spinlock::NoInterrupts::new();
    match CPU_PROC[pinned.cpu()].load(Ordering::Relaxed) {
        NO_PROC => None,
        i => Some(i),
    }
}

/// The process running on this CPU (xv6's `myproc`), if any.
pub fn myproc() -> Option<&'static mut Proc> {
    // SAFETY: the running process's own fields are its thread's.
    my_index().map(|i| unsafe { slot(i) })
}

/// Whether any process exists (the scheduler runs).
pub fn started() -> bool {
    INITPROC.load(Ordering::Acquire) != NO_PROC
}

/// Find an Unused slot, make it an Embryo with a pid and a kernel stack
/// whose top holds a trap frame, `trapret`'s address and a Context that
/// starts in `forkret` (xv6's `allocproc`). `None` if the table is full or
/// there is no memory for the stack.
fn allocproc() -> Option<usize> {
    let i = {
        let _lock = PTABLE_LOCK.lock();
        // SAFETY: PTABLE_LOCK is held.
        let i = (0..NPROC).find(|&i| unsafe { slot(i) }.state == ProcState::Unused)?;
        // SAFETY: as above.
        let p = unsafe { slot(i) };
        p.state = ProcState::Embryo;
        p.pid = NEXTPID.fetch_add(1, Ordering::Relaxed);
        i
    };
    // SAFETY: an Embryo belongs to whoever made it: us.
    let p = unsafe { slot(i) };
    let Some(stack) = kstack::KernelStack::alloc(i) else {
        let _lock = PTABLE_LOCK.lock();
        p.state = ProcState::Unused;
        return None;
    };
    let mut sp = stack.top();
    sp -= core::mem::size_of::<TrapFrame>() as u32;
    p.tf = sp as *mut TrapFrame;
    sp -= 4;
    // SAFETY: the stack's pages were just mapped, writable, for this
    // process alone; every write below lies inside them.
    unsafe { (sp as *mut u32).write(trapret as *const () as u32) };
    sp -= core::mem::size_of::<Context>() as u32;
    p.context = sp as *mut Context;
    // SAFETY: as above.
    unsafe {
        p.context.write(Context {
            eip: forkret as *const () as u32,
            ..Context::default()
        })
    };
    p.kstack = Some(stack);
    p.killed = false;
    p.chan = 0;
    Some(i)
}

/// Where a new process's kernel thread starts: it comes from the
/// scheduler's `swtch` holding PTABLE_LOCK, releases it, and returns into
/// `trapret`, which enters user mode (xv6's `forkret`).
extern "C" fn forkret() {
    // SAFETY: the scheduler took the lock before switching here.
    unsafe { PTABLE_LOCK.release() };
}

// The first user program (xv6's initcode.S): `exec("/init", {"/init", 0})`,
// and `exit()` forever if that fails. Its bytes run at user address 0,
// so every address in it is an offset from its start.
core::arch::global_asm!(
    ".section .rodata.initcode, \"a\"",
    ".globl initcode_start",
    ".globl initcode_end",
    "initcode_start:",
    "    pushl $(initcode_argv - initcode_start)  # argv",
    "    pushl $(initcode_init - initcode_start)  # path",
    "    pushl $0                                 # where a caller's return address would be",
    "    movl ${SYS_EXEC}, %eax                   # exec(path, argv)",
    "    int ${T_SYSCALL}",
    "1:  movl ${SYS_EXIT}, %eax                   # exec failed: exit(), again and again",
    "    int ${T_SYSCALL}",
    "    jmp 1b",
    "initcode_init:",
    "    .asciz \"/init\"",
    "    .p2align 2",
    "initcode_argv:",
    "    .long initcode_init - initcode_start     # argv[0] = \"/init\"",
    "    .long 0                                  # argv[1] = 0",
    "initcode_end:",
    ".previous",
    SYS_EXEC = const crate::syscall::number::SYS_EXEC,
    SYS_EXIT = const crate::syscall::number::SYS_EXIT,
    T_SYSCALL = const crate::syscall::number::T_SYSCALL,
    options(att_syntax)
);

unsafe extern "C" {
    static initcode_start: u8;
    static initcode_end: u8;
}

/// The bytes of the first user program.
fn initcode() -> &'static [u8] {
    // SAFETY: both labels lie in .rodata, the first not after the second,
    // delimiting the bytes assembled above.
    unsafe {
        let start = &raw const initcode_start;
        let len = (&raw const initcode_end).offset_from(start) as usize;
        core::slice::from_raw_parts(start, len)
    }
}

/// Make the first process (xv6's `userinit`): `initcode` at address 0,
/// its files 0, 1 and 2 open on the console, its directory the root.
/// Panics if memory or the file table cannot hold it (at boot, a bug).
pub fn userinit(root: Inode) {
    let i = allocproc().expect("userinit: no process slot or kernel stack");
    // SAFETY: an Embryo belongs to its maker.
    let p = unsafe { slot(i) };
    p.pgdir = vm::setupuvm().expect("userinit: out of memory for a page directory");
    vm::inituvm(p.pgdir, initcode()).expect("userinit: out of memory for initcode");
    p.sz = PGSIZE_U32;
    let tf = p.tf();
    // SAFETY: a zeroed frame is a valid TrapFrame (all integers).
    *tf = unsafe { core::mem::zeroed() };
    tf.cs = u32::from(UCODE.bits());
    tf.ds = u32::from(UDATA.bits());
    tf.es = tf.ds;
    tf.ss = tf.ds;
    tf.eflags = FL_IF;
    tf.esp = PGSIZE_U32;
    tf.eip = 0; // initcode's first byte
    p.set_name(b"initcode");
    p.cwd = Some(root);
    let console = file::open_console().expect("userinit: no file for the console");
    p.ofile[0] = Some(console);
    p.ofile[1] = Some(file::filedup(console));
    p.ofile[2] = Some(file::filedup(console));
    INITPROC.store(i, Ordering::Release);
    let _lock = PTABLE_LOCK.lock();
    p.state = ProcState::Runnable;
}

/// Grow (or with a negative `n`, shrink) the running process's memory by
/// `n` bytes (xv6's `growproc`); the old size, or `None` if memory ran
/// out or the size would leave user space (nothing changed then).
pub fn growproc(n: i32) -> Option<u32> {
    let p = myproc().expect("growproc without a process");
    let old = p.sz;
    let new = old.checked_add_signed(n)?;
    if new > old {
        vm::allocuvm(p.pgdir, old, new).ok()?;
    } else if new < old {
        vm::deallocuvm(p.pgdir, old, new);
    }
    p.sz = new;
    vm::switchuvm(p.kstack_top(), p.pgdir);
    Some(old)
}

impl Proc {
    /// The top of its kernel stack (what the TSS's esp0 gets).
    fn kstack_top(&self) -> u32 {
        self.kstack
            .as_ref()
            .expect("a live process has a kernel stack")
            .top()
    }
}

/// How `fork` copies user memory (the `fork=` option).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForkMode {
    /// xv6's `copyuvm`: every page copied at once.
    Copy,
    /// Linux 0.01's `copy_page_tables`: pages shared read-only, copied on
    /// the first write.
    Cow,
}

impl ForkMode {
    /// The mode a `fork=` value names (`None` when absent: the default,
    /// copy-on-write); `Err` names a value that is neither.
    pub fn parse(value: Option<&str>) -> Result<ForkMode, &str> {
        match value {
            None | Some("cow") => Ok(ForkMode::Cow),
            Some("copy") => Ok(ForkMode::Copy),
            Some(other) => Err(other),
        }
    }
}

static FORK_COPY: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Choose how `fork` copies memory.
pub fn set_fork_mode(mode: ForkMode) {
    FORK_COPY.store(mode == ForkMode::Copy, Ordering::Relaxed);
}

/// The mode `fork` uses.
pub fn fork_mode() -> ForkMode {
    match FORK_COPY.load(Ordering::Relaxed) {
        true => ForkMode::Copy,
        false => ForkMode::Cow,
    }
}

/// Make a child that is a copy of the running process and returns 0 from
/// the same system call (xv6's `fork`); the child's pid, or `None` when
/// the table is full or memory ran out (nothing is left behind then).
pub fn fork() -> Option<i32> {
    let me = my_index().expect("fork without a process");
    // SAFETY: our own fields.
    let cur = unsafe { slot(me) };
    let i = allocproc()?;
    // SAFETY: an Embryo belongs to its maker.
    let np = unsafe { slot(i) };
    let copied = match fork_mode() {
        ForkMode::Copy => vm::copyuvm(cur.pgdir, cur.sz),
        ForkMode::Cow => vm::cowuvm(cur.pgdir),
    };
    let Some(pgdir) = copied else {
        np.kstack = None; // its pages go back
        let _lock = PTABLE_LOCK.lock();
        np.state = ProcState::Unused;
        return None;
    };
    np.pgdir = pgdir;
    np.sz = cur.sz;
    np.parent = Some(me);
    // SAFETY: both frames are live TrapFrames on their processes' stacks.
    unsafe { core::ptr::copy_nonoverlapping(cur.tf, np.tf, 1) };
    np.tf().eax = 0; // the child's fork returns 0
    for (mine, theirs) in cur.ofile.iter().zip(np.ofile.iter_mut()) {
        *theirs = mine.map(file::filedup);
    }
    np.cwd = cur.cwd.as_ref().map(Inode::idup);
    np.name = cur.name;
    let pid = np.pid;
    let _lock = PTABLE_LOCK.lock();
    np.state = ProcState::Runnable;
    Some(pid)
}

/// End the running process (xv6's `exit`): close its files, give its
/// children to init, wake its parent, and become a zombie for `wait` to
/// reap. Never returns. Panics if init exits.
pub fn exit() -> ! {
    let me = my_index().expect("exit without a process");
    let init = INITPROC.load(Ordering::Acquire);
    // SAFETY: our own fields.
    let p = unsafe { slot(me) };
    assert!(me != init, "init exiting");
    for f in p.ofile.iter_mut() {
        if let Some(f) = f.take() {
            file::fileclose(f);
        }
    }
    {
        let _op = crate::fs::Op::begin();
        p.cwd = None; // iput, inside an operation
    }
    PTABLE_LOCK.acquire();
    if let Some(parent) = p.parent {
        // SAFETY: PTABLE_LOCK is held.
        wakeup1(parent_chan(parent));
    }
    for c in 0..NPROC {
        // SAFETY: PTABLE_LOCK is held.
        let child = unsafe { slot(c) };
        if child.parent == Some(me) && child.state != ProcState::Unused {
            child.parent = Some(init);
            if child.state == ProcState::Zombie {
                wakeup1(parent_chan(init));
            }
        }
    }
    p.state = ProcState::Zombie;
    sched();
    panic!("exit: zombie {} ran again", p.pid);
}

/// What a parent waiting for its children sleeps on.
fn parent_chan(i: usize) -> usize {
    PTABLE[i].0.get() as usize
}

/// Wait for a child to exit and return its pid (xv6's `wait`), freeing
/// its kernel stack and memory; `None` if there are no children or this
/// process was killed.
pub fn wait() -> Option<i32> {
    let me = my_index().expect("wait without a process");
    PTABLE_LOCK.acquire();
    loop {
        let mut havekids = false;
        for c in 0..NPROC {
            // SAFETY: PTABLE_LOCK is held.
            let child = unsafe { slot(c) };
            if child.parent != Some(me) || child.state == ProcState::Unused {
                continue;
            }
            havekids = true;
            if child.state == ProcState::Zombie {
                let pid = child.pid;
                child.kstack = None; // unmapped and freed
                vm::uvm::freevm(child.pgdir);
                child.pgdir = PAddr(0);
                child.sz = 0;
                child.pid = 0;
                child.parent = None;
                child.name = [0; NAME_LEN];
                child.killed = false;
                child.state = ProcState::Unused;
                // SAFETY: taken above.
                unsafe { PTABLE_LOCK.release() };
                return Some(pid);
            }
        }
        // SAFETY: our own field, read under the lock kill writes it with.
        if !havekids || unsafe { slot(me) }.killed {
            // SAFETY: taken above.
            unsafe { PTABLE_LOCK.release() };
            return None;
        }
        sleep_locked(parent_chan(me));
    }
}

/// Each CPU's loop (xv6's `scheduler`): pick a Runnable process, switch to
/// its address space and kernel thread; when it gives the CPU back, go on
/// looking. Halts (interrupts on) when nothing is runnable.
pub fn scheduler() -> ! {
    let cpu = {
        let pinned = crate::spinlock::NoInterrupts::new();
        pinned.cpu()
    };
    loop {
        // SAFETY: interrupts on between rounds, so that devices can make a
        // process runnable; no lock is held here.
        unsafe { x86::irq::enable() };
        PTABLE_LOCK.acquire();
        let mut ran = false;
        for i in 0..NPROC {
            // SAFETY: PTABLE_LOCK is held.
            let p = unsafe { slot(i) };
            if p.state != ProcState::Runnable {
                continue;
            }
            ran = true;
            CPU_PROC[cpu].store(i, Ordering::Relaxed);
            vm::switchuvm(p.kstack_top(), p.pgdir);
            p.state = ProcState::Running;
            // SAFETY: the context was saved by swtch or built by
            // allocproc on p's kernel stack; the lock is held.
            unsafe { swtch(CPU_SCHED[cpu].0.get(), p.context) };
            vm::switchkvm();
            CPU_PROC[cpu].store(NO_PROC, Ordering::Relaxed);
        }
        // SAFETY: taken above.
        unsafe { PTABLE_LOCK.release() };
        if !ran {
            // SAFETY: `sti; hlt` waits for the next interrupt, which
            // cannot slip in between the two (sti's one-instruction delay).
            unsafe { core::arch::asm!("sti", "hlt", options(nomem, nostack)) };
        }
    }
}

/// Give the CPU back to this CPU's scheduler (xv6's `sched`). The caller
/// holds PTABLE_LOCK and nothing else, and has changed its state from
/// Running. The interrupt flag the outermost lock saved is this thread's,
/// so it is kept across the switch.
fn sched() {
    let pinned_cpu = crate::cpu::cpuid();
    let me = CPU_PROC[pinned_cpu].load(Ordering::Relaxed);
    assert!(PTABLE_LOCK.holding(), "sched: ptable lock not held");
    let cpu = crate::cpu::cpu(pinned_cpu);
    assert_eq!(
        cpu.ncli.load(Ordering::Relaxed),
        1,
        "sched: locks held besides ptable"
    );
    // SAFETY: PTABLE_LOCK is held.
    let p = unsafe { slot(me) };
    assert!(p.state != ProcState::Running, "sched: process running");
    assert!(!crate::cpu::interrupts_enabled(), "sched: interruptible");
    let intena = cpu.intena.load(Ordering::Relaxed);
    // SAFETY: the scheduler's context was saved by its own swtch on this
    // CPU; the lock is held.
    unsafe { swtch(&raw mut p.context, *CPU_SCHED[pinned_cpu].0.get()) };
    // Possibly on another CPU now.
    crate::cpu::mycpu().intena.store(intena, Ordering::Relaxed);
}

/// Give up the CPU for one scheduling round (xv6's `yield`).
pub fn yield_() {
    let me = my_index().expect("yield without a process");
    PTABLE_LOCK.acquire();
    // SAFETY: PTABLE_LOCK is held.
    unsafe { slot(me) }.state = ProcState::Runnable;
    sched();
    // SAFETY: taken above (by this thread, before the switch).
    unsafe { PTABLE_LOCK.release() };
}

/// Sleep on `chan` with PTABLE_LOCK held (it is still held on return).
fn sleep_locked(chan: usize) {
    let me = my_index().expect("sleep without a process");
    // SAFETY: PTABLE_LOCK is held.
    let p = unsafe { slot(me) };
    p.chan = chan;
    p.state = ProcState::Sleeping;
    sched();
    p.chan = 0;
}

/// Atomically release `guard` (of `lock`) and sleep on `chan`; take the
/// lock again when woken (xv6's `sleep`). No wakeup can be lost between
/// the release and the sleep: `wakeup` needs PTABLE_LOCK, taken first.
pub fn sleep<'a, T>(
    chan: usize,
    lock: &'a Spinlock<T>,
    guard: SpinlockGuard<'a, T>,
) -> SpinlockGuard<'a, T> {
    PTABLE_LOCK.acquire();
    drop(guard);
    sleep_locked(chan);
    // SAFETY: taken above by this thread.
    unsafe { PTABLE_LOCK.release() };
    lock.lock()
}

/// Wake every process sleeping on `chan`; PTABLE_LOCK held.
fn wakeup1(chan: usize) {
    for i in 0..NPROC {
        // SAFETY: PTABLE_LOCK is held.
        let p = unsafe { slot(i) };
        if p.state == ProcState::Sleeping && p.chan == chan {
            p.state = ProcState::Runnable;
        }
    }
}

/// Wake every process sleeping on `chan` (xv6's `wakeup`).
pub fn wakeup(chan: usize) {
    if !started() {
        return;
    }
    let _lock = PTABLE_LOCK.lock();
    wakeup1(chan);
}

/// Mark process `pid` killed (xv6's `kill`); a sleeping victim is woken
/// so that it notices. `false` if there is no such process.
pub fn kill(pid: i32) -> bool {
    let _lock = PTABLE_LOCK.lock();
    for i in 0..NPROC {
        // SAFETY: PTABLE_LOCK is held.
        let p = unsafe { slot(i) };
        if p.pid == pid && p.state != ProcState::Unused {
            p.killed = true;
            if p.state == ProcState::Sleeping {
                p.state = ProcState::Runnable;
            }
            return true;
        }
    }
    false
}

/// Whether the running process was killed (read under the table lock).
pub fn killed() -> bool {
    let Some(me) = my_index() else {
        return false;
    };
    let _lock = PTABLE_LOCK.lock();
    // SAFETY: PTABLE_LOCK is held.
    unsafe { slot(me) }.killed
}

/// Mark the running process killed.
pub fn kill_me() {
    if let Some(me) = my_index() {
        let _lock = PTABLE_LOCK.lock();
        // SAFETY: PTABLE_LOCK is held.
        unsafe { slot(me) }.killed = true;
    }
}

/// One line per process: pid, state, name, size (xv6's `procdump`, which
/// Ctrl-P prints; the monitor's `ps`), then the free count. Takes no lock
/// on the table, as xv6's does not, so that it works even when the table
/// is stuck; the lines are printed whole, on lines of their own, even
/// while processes print (`console::print_lines`).
pub fn procdump() {
    let free = crate::kalloc::nfree();
    crate::console::print_lines(|out| {
        if ps(out)? == 0 {
            writeln!(out, "{}", crate::protocol::NO_PROCESSES)?;
        }
        writeln!(out, "{}{free}", crate::protocol::PROCDUMP_FREE)
    });
}

/// Write procdump's line of each process in use (a running one's ends
/// with its CPU: ` cpu N`); how many there were.
fn ps(out: &mut dyn Write) -> Result<usize, fmt::Error> {
    let mut n = 0;
    for (i, cell) in PTABLE.iter().enumerate() {
        // SAFETY: a report that may read a field mid-change: every field
        // read is a plain integer or byte array.
        let p = unsafe { &*cell.0.get() };
        if p.state == ProcState::Unused {
            continue;
        }
        let (pid, state, name, sz) = (p.pid, p.state.name(), p.name(), p.sz);
        // A running process: on which CPU (which CPUs do work).
        let cpu = (0..crate::cpu::ncpu()).find(|&c| CPU_PROC[c].load(Ordering::Relaxed) == i);
        match cpu {
            Some(c) if p.state == ProcState::Running => {
                writeln!(out, "{pid} {state} {name} sz {sz} cpu {c}")?
            }
            _ => writeln!(out, "{pid} {state} {name} sz {sz}")?,
        }
        n += 1;
    }
    Ok(n)
}

/// The running process's pid and name, and its kernel stack's guard page,
/// for reports (double fault).
pub fn describe_current() -> Option<(i32, [u8; NAME_LEN], crate::memlayout::VAddr)> {
    let i = my_index()?;
    // SAFETY: the running process's own fields are its thread's.
    let p = unsafe { slot(i) };
    Some((p.pid, p.name, crate::memlayout::process_kstack(i).guard))
}
