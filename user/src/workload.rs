//! The crash workload's script and promise, shared by `crashload` (which
//! runs it) and the runner's crash sweep (`xtask/src/crash.rs`, which
//! includes this file and checks a recovered image against it): the
//! calls in order, the line each prints once it returned, and the bytes
//! every file holds.
//!
//! Each write is at most [`WRITE_MAX`] bytes, so that the kernel commits
//! it in one transaction: after a cut a file holds whole writes only.

use core::fmt;

/// Every line of the workload starts so.
pub const PREFIX: &str = "crashload: ";
/// What a call's line says after the prefix before the call itself.
const OK: &str = "ok ";
/// The last line, once every call returned.
pub const DONE: &str = "crashload: done";

/// Bytes per block (the file system's; a write of up to 2 of them,
/// aligned, fits one of xv6's transactions with room to spare).
const BLOCK: u32 = 512;
/// The largest write the script makes.
pub const WRITE_MAX: u32 = 2 * BLOCK;

/// One system call of the script, as its line names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op<'a> {
    Mkdir(&'a str),
    /// `open(path, O_CREATE | O_RDWR)` of a new file.
    Create(&'a str),
    /// `write` of `len` bytes at `off` (the file's end) to the file
    /// created as `path`.
    Write {
        path: &'a str,
        off: u32,
        len: u32,
    },
    Link {
        old: &'a str,
        new: &'a str,
    },
    /// `close` of the file created as `path`, once its writes are done
    /// (before any unlink of it: a file unlinked while open stays on disk
    /// with no name until it is closed, and after a crash for ever).
    Close(&'a str),
    Unlink(&'a str),
}

/// The script, in order. `/big` gets 14 blocks, past the 12 direct
/// ones, so its last writes go through the indirect block.
pub const SCRIPT: [Op<'static>; 29] = [
    Op::Mkdir("/d"),
    Op::Create("/d/a"),
    Op::Write {
        path: "/d/a",
        off: 0,
        len: BLOCK,
    },
    Op::Write {
        path: "/d/a",
        off: BLOCK,
        len: BLOCK,
    },
    Op::Write {
        path: "/d/a",
        off: 2 * BLOCK,
        len: 100,
    },
    Op::Close("/d/a"),
    Op::Link {
        old: "/d/a",
        new: "/l",
    },
    Op::Mkdir("/d/e"),
    Op::Create("/d/e/f"),
    Op::Write {
        path: "/d/e/f",
        off: 0,
        len: 700,
    },
    Op::Close("/d/e/f"),
    Op::Create("/big"),
    Op::Write {
        path: "/big",
        off: 0,
        len: WRITE_MAX,
    },
    Op::Write {
        path: "/big",
        off: WRITE_MAX,
        len: WRITE_MAX,
    },
    Op::Write {
        path: "/big",
        off: 2 * WRITE_MAX,
        len: WRITE_MAX,
    },
    Op::Write {
        path: "/big",
        off: 3 * WRITE_MAX,
        len: WRITE_MAX,
    },
    Op::Write {
        path: "/big",
        off: 4 * WRITE_MAX,
        len: WRITE_MAX,
    },
    Op::Write {
        path: "/big",
        off: 5 * WRITE_MAX,
        len: WRITE_MAX,
    },
    Op::Write {
        path: "/big",
        off: 6 * WRITE_MAX,
        len: WRITE_MAX,
    },
    Op::Close("/big"),
    Op::Unlink("/l"),
    Op::Create("/d/t"),
    Op::Write {
        path: "/d/t",
        off: 0,
        len: 300,
    },
    Op::Close("/d/t"),
    Op::Unlink("/d/t"),
    Op::Unlink("/d/a"),
    Op::Create("/d/g"),
    Op::Write {
        path: "/d/g",
        off: 0,
        len: BLOCK,
    },
    Op::Close("/d/g"),
];

/// The byte at `off` of the file created as `path`: a function of both,
/// so that a block of another file, or of another offset of this one
/// (512 is not a multiple of 251), or a zeroed block does not pass.
pub fn pattern(path: &str, off: u32) -> u8 {
    let seed = path
        .bytes()
        .fold(17u32, |h, b| h.wrapping_mul(31) ^ u32::from(b));
    ((seed % 251 + off.wrapping_mul(7)) % 251) as u8 + 1
}

impl fmt::Display for Op<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{PREFIX}{OK}")?;
        match self {
            Op::Mkdir(p) => write!(f, "mkdir {p}"),
            Op::Create(p) => write!(f, "create {p}"),
            Op::Close(p) => write!(f, "close {p}"),
            Op::Write { path, off, len } => write!(f, "write {path} {len} at {off}"),
            Op::Link { old, new } => write!(f, "link {old} {new}"),
            Op::Unlink(p) => write!(f, "unlink {p}"),
        }
    }
}

impl<'a> Op<'a> {
    /// The call a line reports, wherever it starts in the line (the
    /// shell's prompt may come first).
    pub fn parse(line: &'a str) -> Option<Op<'a>> {
        let at = line.find(PREFIX)?;
        let rest = line[at + PREFIX.len()..].trim_end().strip_prefix(OK)?;
        let mut words = rest.split(' ');
        let op = match (words.next()?, words.next()?) {
            ("mkdir", p) => Op::Mkdir(p),
            ("create", p) => Op::Create(p),
            ("close", p) => Op::Close(p),
            ("unlink", p) => Op::Unlink(p),
            ("link", old) => Op::Link {
                old,
                new: words.next()?,
            },
            ("write", path) => {
                let len = words.next()?.parse().ok()?;
                if words.next()? != "at" {
                    return None;
                }
                let off = words.next()?.parse().ok()?;
                Op::Write { path, off, len }
            }
            _ => return None,
        };
        words.next().is_none().then_some(op)
    }
}
