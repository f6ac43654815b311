//! Open files (xv6's `file.c`): the system-wide file table (NFILE), each
//! entry a pipe end, an inode with an offset, or the console device;
//! `filealloc`, `filedup`, `fileclose`, `filestat`, `fileread`,
//! `filewrite`. A process's descriptors are indices into this table.

use crate::fs::Inode;
use crate::param::{CONSOLE, NFILE};
use crate::pipe::PipeRef;
use crate::spinlock::Spinlock;
use crate::stat::Stat;

/// What an open file is.
#[derive(Clone)]
pub enum Kind {
    None,
    Pipe(PipeRef),
    Inode(Inode),
    /// A device file (major number): only the console exists.
    Device(u16),
}

/// One file-table entry (xv6's `struct file`).
pub struct File {
    refs: usize,
    kind: Kind,
    pub readable: bool,
    pub writable: bool,
    off: u32,
}

impl File {
    const fn new() -> File {
        File {
            refs: 0,
            kind: Kind::None,
            readable: false,
            writable: false,
            off: 0,
        }
    }
}

static FTABLE: [Spinlock<File>; NFILE] =
    [const { Spinlock::new(crate::lockorder::FILE, File::new()) }; NFILE];

/// Take a free entry for `kind` (xv6's `filealloc`), or `None` if the
/// table is full.
pub fn filealloc(kind: Kind, readable: bool, writable: bool) -> Option<usize> {
    for (i, slot) in FTABLE.iter().enumerate() {
        let mut f = slot.lock();
        if f.refs == 0 {
            *f = File {
                refs: 1,
                kind,
                readable,
                writable,
                off: 0,
            };
            return Some(i);
        }
    }
    None
}

/// An entry for the console, readable and writable.
pub fn open_console() -> Option<usize> {
    filealloc(Kind::Device(CONSOLE), true, true)
}

/// One more reference to entry `f` (xv6's `filedup`); returns `f`.
pub fn filedup(f: usize) -> usize {
    let mut file = FTABLE[f].lock();
    assert!(file.refs > 0, "filedup: file {f} is not open");
    file.refs += 1;
    f
}

/// Drop a reference to entry `f`; the last closes it (xv6's `fileclose`):
/// a pipe end is closed, an inode let go.
pub fn fileclose(f: usize) {
    let kind = {
        let mut file = FTABLE[f].lock();
        assert!(file.refs > 0, "fileclose: file {f} is not open");
        file.refs -= 1;
        if file.refs > 0 {
            return;
        }
        let writable = file.writable;
        (core::mem::replace(&mut file.kind, Kind::None), writable)
    };
    if let (Kind::Pipe(p), writable) = kind {
        crate::pipe::pipeclose(p, writable);
    }
}

/// The `stat` of entry `f` (xv6's `filestat`); `None` for a pipe.
pub fn filestat(f: usize) -> Option<Stat> {
    let kind = FTABLE[f].lock().kind.clone();
    match kind {
        Kind::Inode(ip) => Some(ip.stati()),
        Kind::Device(major) => Some(device_stat(major)),
        _ => None,
    }
}

/// The stat of a device file opened without an inode (the first
/// process's console).
fn device_stat(_major: u16) -> Stat {
    Stat {
        kind: crate::stat::T_DEV as i16,
        dev: 0,
        ino: 0,
        nlink: 1,
        size: 0,
    }
}

/// Read from entry `f` into `dst` (xv6's `fileread`): bytes read, 0 at the
/// end, `None` if not readable or the reader was killed.
pub fn fileread(f: usize, dst: &mut [u8]) -> Option<usize> {
    let (kind, readable, off) = {
        let file = FTABLE[f].lock();
        (file.kind.clone(), file.readable, file.off)
    };
    if !readable {
        return None;
    }
    match kind {
        Kind::Pipe(p) => crate::pipe::piperead(p, dst),
        Kind::Device(major) if major == CONSOLE => crate::console::consoleread(dst),
        Kind::Inode(ip) if ip.kind() == crate::stat::T_DEV && ip.major() == CONSOLE => {
            crate::console::consoleread(dst)
        }
        Kind::Inode(ip) => {
            let n = ip.readi(dst, off);
            FTABLE[f].lock().off = off + n as u32;
            Some(n)
        }
        _ => None,
    }
}

/// Write `src` to entry `f` (xv6's `filewrite`): bytes written, `None` if
/// not writable (files of the read-only file system never are), the pipe's
/// reader is gone, or the writer was killed.
pub fn filewrite(f: usize, src: &[u8]) -> Option<usize> {
    let (kind, writable) = {
        let file = FTABLE[f].lock();
        (file.kind.clone(), file.writable)
    };
    if !writable {
        return None;
    }
    match kind {
        Kind::Pipe(p) => crate::pipe::pipewrite(p, src),
        Kind::Device(major) if major == CONSOLE => Some(crate::console::consolewrite(src)),
        Kind::Inode(ip) if ip.kind() == crate::stat::T_DEV && ip.major() == CONSOLE => {
            Some(crate::console::consolewrite(src))
        }
        _ => None,
    }
}

/// What entry `f` is (a copy).
pub fn kind(f: usize) -> Kind {
    FTABLE[f].lock().kind.clone()
}
