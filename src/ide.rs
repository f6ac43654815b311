//! The IDE disk (xv6's `ide.c`): disk 1 of the primary ATA channel (QEMU's
//! `-drive ...,index=1`, Bochs's `ata0-slave`; the boot CD-ROM is
//! elsewhere), driven by programmed I/O, one 512-byte sector per block.
//!
//! Two ways to wait for the disk. While a process runs (`iderw` from a
//! system call), requests go on a queue; the disk raises IRQ 14 through the
//! I/O APIC when it has finished one, and `ideintr` completes it, wakes its
//! process and starts the next, as xv6 does. With no process to put to
//! sleep (the mount and log recovery at boot, the monitor), `iderw` polls
//! the status register instead, with the disk's interrupt turned off (nIEN)
//! so that no stray IRQ 14 follows. Every wait is bounded: a disk that
//! does not answer is an error, not a hang.

use core::sync::atomic::{AtomicBool, Ordering};

use spin::Once;
use x86::io::{inb, inl, outb, outl};

use crate::disk::error::IdeError;
use crate::fs::format::BSIZE;
use crate::spinlock::Spinlock;
use crate::traps::IRQ_IDE;

/// The primary channel's command block and control register.
const PORT_DATA: u16 = 0x1F0;
const PORT_ERROR: u16 = 0x1F1;
const PORT_COUNT: u16 = 0x1F2;
const PORT_LBA0: u16 = 0x1F3;
const PORT_LBA1: u16 = 0x1F4;
const PORT_LBA2: u16 = 0x1F5;
const PORT_DRIVE: u16 = 0x1F6;
const PORT_STATUS: u16 = 0x1F7;
const PORT_COMMAND: u16 = 0x1F7;
const PORT_CONTROL: u16 = 0x3F6;

/// Status bits.
const STATUS_BSY: u8 = 0x80;
const STATUS_DRDY: u8 = 0x40;
const STATUS_DF: u8 = 0x20;
const STATUS_DRQ: u8 = 0x08;
const STATUS_ERR: u8 = 0x01;
/// What a channel with no drive reads: nothing drives the bus (0xFF on
/// hardware) or the emulator answers 0.
const STATUS_FLOATING: u8 = 0xFF;

/// The drive register: LBA addressing (and the two bits ATA requires set),
/// the drive select bit, and the LBA's top four bits.
const DRIVE_LBA: u8 = 0xE0;
const DRIVE_SLAVE: u8 = 0x10;
const LBA_TOP_MASK: u32 = 0x0F;
/// The control register's bit that keeps the drive from interrupting.
const CONTROL_NIEN: u8 = 0x02;

/// Commands: read and write sectors (one at a time, PIO), and IDENTIFY.
const CMD_READ: u8 = 0x20;
const CMD_WRITE: u8 = 0x30;
const CMD_IDENTIFY: u8 = 0xEC;

/// Bytes per sector; a block is one sector.
const SECTOR_SIZE: usize = 512;
const _: () = assert!(BSIZE == SECTOR_SIZE);
/// Dwords of one sector's transfer (`insl`/`outsl`).
const SECTOR_DWORDS: usize = SECTOR_SIZE / 4;
/// IDENTIFY's words 60-61: the sectors LBA28 addressing reaches, as the
/// dword of that index.
const IDENTIFY_LBA28_SECTORS: usize = 30;
/// Sectors LBA28 can address at most.
const LBA28_LIMIT: u32 = 1 << 28;

/// Status reads before a wait gives up (each is an emulator exit, about a
/// microsecond): seconds, far longer than any emulated disk takes.
const WAIT_SPINS: u32 = 5_000_000;
/// Status reads after selecting a drive before its status counts (the
/// 400 ns ATA asks for).
const SELECT_DELAY_READS: u32 = 4;

/// Which way a block goes, with its bytes.
pub enum Transfer<'a> {
    /// From the disk into these bytes.
    Read(&'a mut [u8; BSIZE]),
    /// These bytes to the disk.
    Write(&'a [u8; BSIZE]),
}

/// One request: a block, its data, and its outcome. It lives on the
/// requesting process's stack while that process sleeps, so the queue
/// holds pointers to it.
struct Request {
    blockno: u32,
    write: bool,
    /// The caller's bytes: written through only for a read, whose
    /// caller lent them mutably (`Transfer::Read`).
    data: *mut [u8; BSIZE],
    /// Set by `ideintr` under the IDE lock.
    done: AtomicBool,
    result: Result<(), IdeError>,
    next: *mut Request,
}

/// The queue of requests; the head is the one the disk is working on.
struct Queue {
    head: *mut Request,
}

// SAFETY: the pointers are only followed under the IDE lock, and each
// request outlives its time on the queue (its process sleeps until done).
unsafe impl Send for Queue {}

static IDE: Spinlock<Queue> = Spinlock::new(
    crate::lockorder::IDE,
    Queue {
        head: core::ptr::null_mut(),
    },
);

/// Blocks on disk 1, once `ideinit` found it.
static DISK: Once<u32> = Once::new();
/// IRQ 14 routed by the I/O APIC (done at the first request that sleeps).
static IRQ_ROUTED: Once<()> = Once::new();

fn status() -> u8 {
    // SAFETY: reading the status register only acknowledges the drive's
    // interrupt.
    unsafe { inb(PORT_STATUS) }
}

/// Wait until the drive is not busy and `want` bits are all set (or it
/// reports an error, which the caller reads from the status returned).
fn wait_for(want: u8, what: &'static str) -> Result<u8, IdeError> {
    let mut s = 0;
    for _ in 0..WAIT_SPINS {
        s = status();
        if s & STATUS_BSY == 0 && (s & want == want || s & (STATUS_ERR | STATUS_DF) != 0) {
            return Ok(s);
        }
    }
    Err(IdeError::Timeout { what, status: s })
}

/// The drive's error, if `s` reports one for `blockno`.
fn check(s: u8, blockno: u32) -> Result<(), IdeError> {
    if s & (STATUS_ERR | STATUS_DF) == 0 {
        return Ok(());
    }
    // SAFETY: reading the error register has no side effects.
    let error = unsafe { inb(PORT_ERROR) };
    Err(IdeError::Device {
        blockno,
        status: s,
        error,
    })
}

fn select(top: u8) {
    // SAFETY: selecting a drive and its LBA's top bits.
    unsafe { outb(PORT_DRIVE, DRIVE_LBA | DRIVE_SLAVE | top) };
    for _ in 0..SELECT_DELAY_READS {
        status();
    }
}

/// Find disk 1 and its size (xv6's `ideinit`, which only looks for it):
/// select it, check that something answers, and ask it to IDENTIFY
/// itself. Polled: interrupts are not set up yet.
pub fn ideinit() -> Result<u32, IdeError> {
    // SAFETY: no interrupt from the drive while it is probed.
    unsafe { outb(PORT_CONTROL, CONTROL_NIEN) };
    select(0);
    let s = status();
    if s == 0 || s == STATUS_FLOATING {
        return Err(IdeError::NoDisk);
    }
    wait_for(0, "coming ready").map_err(|_| IdeError::NoDisk)?;
    // SAFETY: the IDENTIFY command; its answer is read below.
    unsafe { outb(PORT_COMMAND, CMD_IDENTIFY) };
    if status() == 0 {
        return Err(IdeError::NoDisk);
    }
    let s = wait_for(STATUS_DRQ, "identifying itself")?;
    if s & STATUS_ERR != 0 {
        return Err(IdeError::NotAta);
    }
    let mut id = [0u32; SECTOR_DWORDS];
    for w in id.iter_mut() {
        // SAFETY: the drive offers IDENTIFY's 256 words (DRQ).
        *w = unsafe { inl(PORT_DATA) };
    }
    let blocks = id[IDENTIFY_LBA28_SECTORS].min(LBA28_LIMIT - 1);
    DISK.call_once(|| blocks);
    Ok(blocks)
}

/// Blocks on the disk, if `ideinit` found it.
pub fn blocks() -> Option<u32> {
    DISK.get().copied()
}

/// Send `r`'s command to the drive (xv6's `idestart`); for a write, its
/// data too. `interrupt`: let the drive raise IRQ 14 when done.
fn idestart(r: &Request, interrupt: bool) -> Result<(), IdeError> {
    wait_for(STATUS_DRDY, "getting ready for a command")?;
    let lba = r.blockno;
    // SAFETY: the command block's registers of the primary channel; the
    // caller holds the IDE lock, so no one else talks to the drive.
    unsafe {
        outb(PORT_CONTROL, if interrupt { 0 } else { CONTROL_NIEN });
        select(((lba >> 24) & LBA_TOP_MASK) as u8);
        outb(PORT_COUNT, 1);
        outb(PORT_LBA0, lba as u8);
        outb(PORT_LBA1, (lba >> 8) as u8);
        outb(PORT_LBA2, (lba >> 16) as u8);
        outb(PORT_COMMAND, if r.write { CMD_WRITE } else { CMD_READ });
    }
    if r.write {
        let s = wait_for(STATUS_DRQ, "taking a block")?;
        check(s, r.blockno)?;
        // SAFETY: `data` is the request's block, alive while it is queued.
        let data = unsafe { &*r.data };
        for chunk in data.chunks_exact(4) {
            let w = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            // SAFETY: the drive wants the sector's dwords (DRQ).
            unsafe { outl(PORT_DATA, w) };
        }
    }
    Ok(())
}

/// Finish `r` once the drive has: check its status, and for a read take
/// the data.
fn idefinish(r: &mut Request) -> Result<(), IdeError> {
    let want = if r.write { 0 } else { STATUS_DRQ };
    let s = wait_for(want, "finishing a block")?;
    check(s, r.blockno)?;
    if !r.write {
        // SAFETY: `data` is the request's block, alive while it is queued
        // and, for a read, lent mutably by its caller (`Transfer::Read`).
        let data = unsafe { &mut *r.data };
        for chunk in data.chunks_exact_mut(4) {
            // SAFETY: the drive offers the sector's dwords (DRQ).
            chunk.copy_from_slice(&unsafe { inl(PORT_DATA) }.to_le_bytes());
        }
    }
    Ok(())
}

/// Read or write block `blockno` of disk 1 (xv6's `iderw`). Sleeps until
/// the disk is done when a process runs, polls otherwise.
pub fn iderw(blockno: u32, transfer: Transfer) -> Result<(), IdeError> {
    let blocks = blocks().ok_or(IdeError::NoDisk)?;
    if blockno >= blocks {
        return Err(IdeError::PastEnd { blockno, blocks });
    }
    let (write, data) = match transfer {
        Transfer::Read(d) => (false, d as *mut [u8; BSIZE]),
        Transfer::Write(d) => (true, (d as *const [u8; BSIZE]).cast_mut()),
    };
    let mut r = Request {
        blockno,
        write,
        data,
        done: AtomicBool::new(false),
        result: Ok(()),
        next: core::ptr::null_mut(),
    };
    if crate::proc::myproc().is_none() {
        return poll(&mut r);
    }
    IRQ_ROUTED.call_once(|| crate::ioapic::ioapicenable(IRQ_IDE, crate::cpu::apicid()));
    let mut q = IDE.lock();
    let me: *mut Request = &mut r;
    // Append to the queue; start the disk if it was idle.
    if q.head.is_null() {
        q.head = me;
        // SAFETY: `me` is `r`, alive until this returns.
        if let Err(e) = idestart(unsafe { &*me }, true) {
            q.head = core::ptr::null_mut();
            return Err(e);
        }
    } else {
        let mut p = q.head;
        // SAFETY: queued requests are alive (their processes sleep), and
        // the IDE lock is held.
        unsafe {
            while !(*p).next.is_null() {
                p = (*p).next;
            }
            (*p).next = me;
        }
    }
    // SAFETY: `me` is `r`; `done` is set under the IDE lock, which `sleep`
    // gives back before this reads it again.
    while !unsafe { &(*me).done }.load(Ordering::Acquire) {
        q = crate::proc::sleep(me as usize, &IDE, q);
    }
    drop(q);
    // SAFETY: off the queue now: only this thread sees `r`.
    unsafe { (*me).result }
}

/// Do `r` by polling, when there is no process to put to sleep; waits for
/// any queued request to finish first.
fn poll(r: &mut Request) -> Result<(), IdeError> {
    loop {
        let q = IDE.lock();
        if q.head.is_null() {
            idestart(r, false)?;
            return idefinish(r);
        }
        drop(q);
        core::hint::spin_loop();
    }
}

/// The disk finished the request at the queue's head (xv6's `ideintr`):
/// complete it, wake its process, start the next.
pub fn ideintr() {
    let mut q = IDE.lock();
    let head = q.head;
    if head.is_null() {
        status(); // acknowledge a stray interrupt
        return;
    }
    // SAFETY: the head is alive (its process sleeps until done) and the
    // IDE lock is held.
    let r = unsafe { &mut *head };
    r.result = idefinish(r);
    r.done.store(true, Ordering::Release);
    q.head = r.next;
    crate::proc::wakeup(head as usize);
    // Start the next; one that cannot start completes with its error.
    while !q.head.is_null() {
        // SAFETY: as above.
        let next = unsafe { &mut *q.head };
        match idestart(next, true) {
            Ok(()) => break,
            Err(e) => {
                next.result = Err(e);
                next.done.store(true, Ordering::Release);
                q.head = next.next;
                crate::proc::wakeup(next as *mut Request as usize);
            }
        }
    }
}
