//! Process system calls (xv6's `sysproc.c`): fork, exit, wait, kill,
//! getpid, sbrk, sleep, uptime, and this kernel's freepages.

use crate::proc::{self, myproc};
use crate::spinlock::Spinlock;
use crate::syscall::argint;

pub fn sys_fork() -> i32 {
    proc::fork().unwrap_or(-1)
}

pub fn sys_exit() -> i32 {
    proc::exit()
}

pub fn sys_wait() -> i32 {
    proc::wait().unwrap_or(-1)
}

pub fn sys_kill() -> i32 {
    match argint(0) {
        Some(pid) if proc::kill(pid) => 0,
        _ => -1,
    }
}

pub fn sys_getpid() -> i32 {
    myproc().map_or(-1, |p| p.pid)
}

/// Grow or shrink memory by `n` bytes; the old break, or -1.
pub fn sys_sbrk() -> i32 {
    argint(0)
        .and_then(proc::growproc)
        .map_or(-1, |old| old as i32)
}

/// Guards the sleepers' check of the tick count (xv6's `tickslock`).
static TICKSLOCK: Spinlock<()> = Spinlock::new(crate::lockorder::TIME, ());

fn ticks_chan() -> usize {
    &TICKSLOCK as *const _ as usize
}

/// One timer tick: count it and wake the sleepers (called by `trap`).
pub fn clock_tick() {
    let lock = TICKSLOCK.lock();
    crate::timer::tick();
    drop(lock);
    proc::wakeup(ticks_chan());
}

/// Sleep `n` ticks; -1 if killed meanwhile.
pub fn sys_sleep() -> i32 {
    let Some(n) = argint(0) else {
        return -1;
    };
    let mut guard = TICKSLOCK.lock();
    let start = crate::timer::ticks();
    while crate::timer::ticks().wrapping_sub(start) < n.max(0) as u32 {
        if proc::killed() {
            return -1;
        }
        guard = proc::sleep(ticks_chan(), &TICKSLOCK, guard);
    }
    0
}

/// Ticks since boot.
pub fn sys_uptime() -> i32 {
    crate::timer::ticks() as i32
}

/// The free page count (this kernel's own call, for leak tests).
pub fn sys_freepages() -> i32 {
    crate::kalloc::nfree() as i32
}
