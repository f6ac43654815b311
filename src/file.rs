//! Open files (xv6's `file.c`): the system-wide file table (NFILE), each
//! entry a pipe end, an inode with an offset, or the console device;
//! `filealloc`, `filedup`, `fileclose`, `filestat`, `fileread`,
//! `filewrite`. A process's descriptors are indices into this table.
//!
//! An entry's kind is set when it is allocated and taken out at its last
//! close; in between, whoever holds a reference to the entry may use its
//! inode through an [`InodeRef`] without holding the table's lock (the
//! entry's own reference keeps the inode cached).

use crate::fs::format::BSIZE;
use crate::fs::{Inode, InodeRef, Op, report};
use crate::param::{CONSOLE, MAXOPBLOCKS, NFILE};
use crate::pipe::PipeRef;
use crate::spinlock::Spinlock;
use crate::stat::{Stat, T_DEV};

/// What an open file is.
pub enum Kind {
    None,
    Pipe(PipeRef),
    Inode(Inode),
    /// A device file (major number) with no inode: the first process's
    /// console.
    Device(u16),
}

/// What an operation on an entry needs, copied out of the table.
#[derive(Clone, Copy)]
enum Handle {
    None,
    Pipe(PipeRef),
    Inode(InodeRef),
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

    fn handle(&self) -> Handle {
        match &self.kind {
            Kind::None => Handle::None,
            Kind::Pipe(p) => Handle::Pipe(*p),
            Kind::Inode(ip) => Handle::Inode(ip.share()),
            Kind::Device(major) => Handle::Device(*major),
        }
    }
}

static FTABLE: [Spinlock<File>; NFILE] =
    [const { Spinlock::new(crate::lockorder::FILE, File::new()) }; NFILE];

/// Take a free entry for `kind` (xv6's `filealloc`), or `None` if the
/// table is full (an inode is then dropped: call inside the operation).
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
/// a pipe end is closed, an inode let go inside a file-system operation.
pub fn fileclose(f: usize) {
    let (kind, writable) = {
        let mut file = FTABLE[f].lock();
        assert!(file.refs > 0, "fileclose: file {f} is not open");
        file.refs -= 1;
        if file.refs > 0 {
            return;
        }
        (
            core::mem::replace(&mut file.kind, Kind::None),
            file.writable,
        )
    };
    match kind {
        Kind::Pipe(p) => crate::pipe::pipeclose(p, writable),
        Kind::Inode(ip) => {
            let _op = Op::begin();
            drop(ip); // iput
        }
        Kind::None | Kind::Device(_) => {}
    }
}

/// The `stat` of entry `f` (xv6's `filestat`); `None` for a pipe.
pub fn filestat(f: usize) -> Option<Stat> {
    let h = FTABLE[f].lock().handle();
    match h {
        Handle::Inode(ip) => Some(report(ip.ilock())?.stati()),
        Handle::Device(major) => Some(device_stat(major)),
        _ => None,
    }
}

/// The stat of a device file opened without an inode (the first
/// process's console).
fn device_stat(_major: u16) -> Stat {
    Stat {
        kind: T_DEV as i16,
        dev: 0,
        ino: 0,
        nlink: 1,
        size: 0,
    }
}

/// The major number of a device inode, or None for a file or directory.
fn device_of(ip: InodeRef) -> Option<Option<u16>> {
    let l = report(ip.ilock())?;
    Some((l.kind() == T_DEV).then(|| l.major()))
}

/// Read from entry `f` into `dst` (xv6's `fileread`): bytes read, 0 at the
/// end, `None` if not readable or the reader was killed.
pub fn fileread(f: usize, dst: &mut [u8]) -> Option<usize> {
    let (h, readable) = {
        let file = FTABLE[f].lock();
        (file.handle(), file.readable)
    };
    if !readable {
        return None;
    }
    match h {
        Handle::Pipe(p) => crate::pipe::piperead(p, dst),
        Handle::Device(CONSOLE) => crate::console::consoleread(dst),
        Handle::Inode(ip) => {
            let l = report(ip.ilock())?;
            if l.kind() == T_DEV {
                let major = l.major();
                drop(l);
                return match major {
                    CONSOLE => crate::console::consoleread(dst),
                    _ => None,
                };
            }
            let off = FTABLE[f].lock().off;
            let n = report(l.readi(dst, off))?;
            FTABLE[f].lock().off = off + n as u32;
            Some(n)
        }
        _ => None,
    }
}

/// Bytes one operation of `filewrite` writes at most: with the inode, the
/// indirect block and two bitmap blocks, two blocks per block of data
/// (an unaligned write touches two) must fit MAXOPBLOCKS.
const WRITE_CHUNK: usize = (MAXOPBLOCKS - 1 - 1 - 2) / 2 * BSIZE;

/// Write `src` to entry `f` (xv6's `filewrite`): bytes written, `None` if
/// not writable, the pipe's reader is gone, the writer was killed, or a
/// file could not take it all (a full disk).
pub fn filewrite(f: usize, src: &[u8]) -> Option<usize> {
    let (h, writable) = {
        let file = FTABLE[f].lock();
        (file.handle(), file.writable)
    };
    if !writable {
        return None;
    }
    match h {
        Handle::Pipe(p) => crate::pipe::pipewrite(p, src),
        Handle::Device(CONSOLE) => Some(crate::console::consolewrite(src)),
        Handle::Inode(ip) => match device_of(ip)? {
            Some(CONSOLE) => Some(crate::console::consolewrite(src)),
            Some(_) => None,
            None => write_inode(f, ip, src),
        },
        _ => None,
    }
}

/// A file's part of `filewrite`: a few blocks per operation, so that each
/// fits the log.
fn write_inode(f: usize, ip: InodeRef, src: &[u8]) -> Option<usize> {
    let mut done = 0;
    while done < src.len() {
        let n = (src.len() - done).min(WRITE_CHUNK);
        let _op = Op::begin();
        let mut l = report(ip.ilock())?;
        let off = FTABLE[f].lock().off;
        let wrote = report(l.writei(&src[done..done + n], off))?;
        FTABLE[f].lock().off = off + wrote as u32;
        drop(l);
        done += wrote;
        if wrote != n {
            return None;
        }
    }
    Some(done)
}

/// Whether entry `f` is an inode (a file, a directory or a device file).
pub fn is_inode(f: usize) -> bool {
    matches!(FTABLE[f].lock().kind, Kind::Inode(_))
}
