//! File system calls (xv6's `sysfile.c`): descriptors (`fdalloc`), dup,
//! read, write, close, fstat, link, unlink, open (with `create`), mkdir,
//! mknod, chdir, pipe, exec. Each call that may change the disk is one
//! file-system operation ([`Op`]: `begin_op` .. `end_op`); its inodes are
//! declared after the `Op`, so they are dropped (`iput`) before it ends.

use crate::fcntl::{O_CREATE, O_RDWR, O_WRONLY};
use crate::file::{self, Kind};
use crate::fs::{self, Inode, Op, report};
use crate::param::{MAXARG, NOFILE};
use crate::proc::myproc;
use crate::stat::{STAT_SIZE, T_DEV, T_DIR, T_FILE};
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
        if got < want || !file::is_inode(f) {
            break;
        }
    }
    done as i32
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

/// Make `path` a new inode of type `kind` (xv6's `create`), linked into
/// its directory; a directory gets "." and "..". Opening an existing
/// file with O_CREATE finds it (`kind` T_FILE only). Call inside an
/// operation.
fn create(path: &[u8], kind: u16, major: u16, minor: u16) -> Option<Inode> {
    let cwd = myproc()?.cwd.as_ref()?;
    let (dp, name) = fs::nameiparent(path, cwd)?;
    let mut dl = report(dp.ilock())?;
    if let Some((ip, _)) = report(dl.dirlookup(name))? {
        drop(dl);
        let il = report(ip.ilock())?;
        let reuse = kind == T_FILE && il.kind() == T_FILE;
        drop(il);
        return reuse.then_some(ip);
    }
    let ip = report(fs::ialloc(kind))?;
    let mut il = report(ip.ilock())?;
    il.d.major = major;
    il.d.minor = minor;
    il.d.nlink = 1;
    report(il.iupdate())?;
    let mut bumped = false;
    let linked = (|| {
        if kind == T_DIR {
            // ".." names the parent: one more link to it.
            let Some(more) = dl.d.nlink.checked_add(1) else {
                return Ok(false);
            };
            dl.d.nlink = more;
            bumped = true;
            dl.iupdate()?;
            if !il.dirlink(b".", ip.inum())? || !il.dirlink(b"..", dp.inum())? {
                return Ok(false);
            }
        }
        dl.dirlink(name, ip.inum())
    })();
    if report(linked) != Some(true) {
        // Undo: the inode is freed when dropped with no links.
        if bumped {
            dl.d.nlink -= 1;
            let _ = report(dl.iupdate());
        }
        il.d.nlink = 0;
        let _ = report(il.iupdate());
        return None;
    }
    drop(il);
    Some(ip)
}

pub fn sys_open() -> i32 {
    let (Some(path), Some(mode)) = (argstr(0), argint(1)) else {
        return -1;
    };
    let _op = Op::begin();
    let ip = if mode & O_CREATE != 0 {
        create(path, T_FILE, 0, 0)
    } else {
        myproc()
            .and_then(|p| p.cwd.as_ref())
            .and_then(|cwd| fs::namei(path, cwd))
    };
    let Some(ip) = ip else {
        return -1;
    };
    let Some(kind) = report(ip.ilock()).map(|l| l.kind()) else {
        return -1;
    };
    let writes = mode & (O_WRONLY | O_RDWR) != 0;
    if kind == T_DIR && writes {
        return -1;
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

pub fn sys_mkdir() -> i32 {
    let Some(path) = argstr(0) else {
        return -1;
    };
    let _op = Op::begin();
    create(path, T_DIR, 0, 0).map_or(-1, |_ip| 0)
}

pub fn sys_mknod() -> i32 {
    let (Some(path), Some(major), Some(minor)) = (argstr(0), argint(1), argint(2)) else {
        return -1;
    };
    let _op = Op::begin();
    create(path, T_DEV, major as u16, minor as u16).map_or(-1, |_ip| 0)
}

pub fn sys_chdir() -> i32 {
    let Some(path) = argstr(0) else {
        return -1;
    };
    let p = myproc().expect("a caller");
    let _op = Op::begin();
    let Some(ip) = p.cwd.as_ref().and_then(|cwd| fs::namei(path, cwd)) else {
        return -1;
    };
    if report(ip.ilock()).map(|l| l.kind()) != Some(T_DIR) {
        return -1;
    }
    p.cwd = Some(ip); // the old one is let go inside the operation
    0
}

/// Make `new` another name for the file `old` (xv6's `sys_link`).
pub fn sys_link() -> i32 {
    let (Some(old), Some(new)) = (argstr(0), argstr(1)) else {
        return -1;
    };
    let _op = Op::begin();
    let Some(cwd) = myproc().and_then(|p| p.cwd.as_ref()) else {
        return -1;
    };
    let Some(ip) = fs::namei(old, cwd) else {
        return -1;
    };
    {
        let Some(mut il) = report(ip.ilock()) else {
            return -1;
        };
        if il.kind() == T_DIR {
            return -1;
        }
        let Some(more) = il.d.nlink.checked_add(1) else {
            return -1;
        };
        il.d.nlink = more;
        if report(il.iupdate()).is_none() {
            return -1;
        }
    }
    let linked = fs::nameiparent(new, cwd).and_then(|(dp, name)| {
        let mut dl = report(dp.ilock())?;
        report(dl.dirlink(name, ip.inum()))?.then_some(())
    });
    if linked.is_some() {
        return 0;
    }
    if let Some(mut il) = report(ip.ilock()) {
        il.d.nlink -= 1;
        let _ = report(il.iupdate());
    }
    -1
}

/// Remove the directory entry `path` (xv6's `sys_unlink`): not "." or
/// "..", not a directory with entries. The inode goes when its last
/// link and reference do.
pub fn sys_unlink() -> i32 {
    let Some(path) = argstr(0) else {
        return -1;
    };
    let _op = Op::begin();
    let Some(cwd) = myproc().and_then(|p| p.cwd.as_ref()) else {
        return -1;
    };
    let Some((dp, name)) = fs::nameiparent(path, cwd) else {
        return -1;
    };
    if name == b"." || name == b".." {
        return -1;
    }
    let Some(mut dl) = report(dp.ilock()) else {
        return -1;
    };
    let Some(Some((ip, off))) = report(dl.dirlookup(name)) else {
        return -1;
    };
    if ip.inum() == dp.inum() {
        // Only a broken directory names itself under another name. Its
        // lock goes first: dropping `ip` (iput) takes the same lock.
        drop(dl);
        crate::println!(
            "fs: directory inode {} has an entry naming itself",
            dp.inum()
        );
        return -1;
    }
    let Some(mut il) = report(ip.ilock()) else {
        return -1;
    };
    if il.d.nlink < 1 {
        crate::println!("fs: inode {} has a directory entry but no links", il.inum());
        return -1;
    }
    if il.kind() == T_DIR && report(il.isdirempty()) != Some(true) {
        return -1;
    }
    if report(dl.dirclear(off)).is_none() {
        return -1;
    }
    if il.kind() == T_DIR {
        dl.d.nlink = dl.d.nlink.saturating_sub(1); // its ".." is gone
        let _ = report(dl.iupdate());
    }
    drop(dl);
    il.d.nlink -= 1;
    let _ = report(il.iupdate());
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
