//! File system calls (xv6's `sysfile.c`): descriptors (`fdalloc`), dup,
//! read, write, close, fstat, open, chdir, pipe, exec. The file system is
//! read-only until the next issue: whatever would write to it returns -1.

use crate::fcntl::{O_CREATE, O_RDWR, O_WRONLY};
use crate::file::{self, Kind};
use crate::param::{MAXARG, NOFILE};
use crate::proc::myproc;
use crate::stat::{STAT_SIZE, T_DIR, T_FILE};
use crate::syscall::{argint, argptr, argstr, fetchint, fetchstr};

/// Argument `n` as an open descriptor and its file.
fn argfd(n: u32) -> Option<(usize, usize)> {
    let fd = usize::try_from(argint(n)?).ok()?;
    let f = (*myproc()?.ofile.get(fd)?)?;
    Some((fd, f))
}

/// Give file `f` the lowest free descriptor (xv6's `fdalloc`).
fn fdalloc(f: usize) -> Option<usize> {
    let p = myproc()?;
    let fd = p.ofile.iter().position(Option::is_none)?;
    p.ofile[fd] = Some(f);
    Some(fd)
}

pub fn sys_dup() -> i32 {
    let Some((_, f)) = argfd(0) else {
        return -1;
    };
    match fdalloc(f) {
        Some(fd) => {
            file::filedup(f);
            fd as i32
        }
        None => -1,
    }
}

/// Bytes a read moves through the kernel at a time.
const CHUNK: usize = 512;

pub fn sys_read() -> i32 {
    let (Some((_, f)), Some(n)) = (argfd(0), argint(2)) else {
        return -1;
    };
    let Ok(n) = u32::try_from(n) else {
        return -1;
    };
    let Some(dst) = argptr(1, n) else {
        return -1;
    };
    let pgdir = myproc().expect("a caller").pgdir;
    let mut done = 0u32;
    let mut buf = [0u8; CHUNK];
    while done < n {
        let want = ((n - done) as usize).min(CHUNK);
        let Some(got) = file::fileread(f, &mut buf[..want]) else {
            return if done > 0 { done as i32 } else { -1 };
        };
        if crate::vm::copyout(pgdir, dst + done, &buf[..got]).is_err() {
            return -1;
        }
        done += got as u32;
        // Only files keep going: a pipe or the console returns what it had.
        if got < want || !is_inode(f) {
            break;
        }
    }
    done as i32
}

fn is_inode(f: usize) -> bool {
    matches!(file::kind(f), Kind::Inode(_))
}

pub fn sys_write() -> i32 {
    let (Some((_, f)), Some(n)) = (argfd(0), argint(2)) else {
        return -1;
    };
    let Ok(n) = u32::try_from(n) else {
        return -1;
    };
    let Some(src) = argptr(1, n) else {
        return -1;
    };
    // SAFETY: `[src, src+n)` is inside the process's memory (argptr),
    // mapped in the directory in CR3; only this process changes it.
    let bytes = unsafe { core::slice::from_raw_parts(src as *const u8, n as usize) };
    file::filewrite(f, bytes).map_or(-1, |w| w as i32)
}

pub fn sys_close() -> i32 {
    let Some((fd, f)) = argfd(0) else {
        return -1;
    };
    myproc().expect("a caller").ofile[fd] = None;
    file::fileclose(f);
    0
}

pub fn sys_fstat() -> i32 {
    let (Some((_, f)), Some(st)) = (argfd(0), argptr(1, STAT_SIZE as u32)) else {
        return -1;
    };
    let Some(stat) = file::filestat(f) else {
        return -1;
    };
    // SAFETY: Stat is repr(C) plain integers, STAT_SIZE bytes.
    let bytes = unsafe { core::slice::from_raw_parts(&raw const stat as *const u8, STAT_SIZE) };
    let pgdir = myproc().expect("a caller").pgdir;
    crate::vm::copyout(pgdir, st, bytes).map_or(-1, |()| 0)
}

/// Calls that would write to the read-only file system (link, unlink,
/// mkdir, mknod): -1 until the writable file system comes.
pub fn sys_readonly() -> i32 {
    -1
}

pub fn sys_open() -> i32 {
    let (Some(path), Some(mode)) = (argstr(0), argint(1)) else {
        return -1;
    };
    if mode & O_CREATE != 0 {
        return -1; // read-only file system
    }
    let p = myproc().expect("a caller");
    let Some(ip) = p.cwd.as_ref().and_then(|cwd| crate::fs::namei(path, cwd)) else {
        return -1;
    };
    let writes = mode & (O_WRONLY | O_RDWR) != 0;
    if (ip.kind() == T_DIR || ip.kind() == T_FILE) && writes {
        return -1; // no writing to directories, nor to files for now
    }
    let readable = mode & O_WRONLY == 0;
    let Some(f) = file::filealloc(Kind::Inode(ip), readable, writes) else {
        return -1;
    };
    match fdalloc(f) {
        Some(fd) => fd as i32,
        None => {
            file::fileclose(f);
            -1
        }
    }
}

pub fn sys_chdir() -> i32 {
    let Some(path) = argstr(0) else {
        return -1;
    };
    let p = myproc().expect("a caller");
    let Some(ip) = p.cwd.as_ref().and_then(|cwd| crate::fs::namei(path, cwd)) else {
        return -1;
    };
    if ip.kind() != T_DIR {
        return -1;
    }
    p.cwd = Some(ip);
    0
}

pub fn sys_exec() -> i32 {
    let (Some(path), Some(uargv)) = (argstr(0), argint(1)) else {
        return -1;
    };
    let mut argv: [&[u8]; MAXARG] = [&[]; MAXARG];
    let mut argc = 0;
    loop {
        if argc >= MAXARG {
            return -1;
        }
        let Some(at) = (uargv as u32).checked_add(4 * argc as u32) else {
            return -1;
        };
        let Some(uarg) = fetchint(at) else {
            return -1;
        };
        if uarg == 0 {
            break;
        }
        let Some(arg) = fetchstr(uarg) else {
            return -1;
        };
        argv[argc] = arg;
        argc += 1;
    }
    crate::exec::exec(path, &argv[..argc]).map_or(-1, |r| r as i32)
}

pub fn sys_pipe() -> i32 {
    let Some(fds) = argptr(0, 8) else {
        return -1;
    };
    let Some((r, w)) = crate::pipe::pipealloc() else {
        return -1;
    };
    let Some(fd0) = fdalloc(r) else {
        file::fileclose(r);
        file::fileclose(w);
        return -1;
    };
    let Some(fd1) = fdalloc(w) else {
        myproc().expect("a caller").ofile[fd0] = None;
        file::fileclose(r);
        file::fileclose(w);
        return -1;
    };
    let p = myproc().expect("a caller");
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&(fd0 as i32).to_le_bytes());
    out[4..].copy_from_slice(&(fd1 as i32).to_le_bytes());
    if crate::vm::copyout(p.pgdir, fds, &out).is_err() {
        p.ofile[fd0] = None;
        p.ofile[fd1] = None;
        file::fileclose(r);
        file::fileclose(w);
        return -1;
    }
    0
}

const _: () = assert!(NOFILE > 2);
