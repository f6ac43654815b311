//! sh: read a line, run it, repeat. `|` pipes, `;` sequences, `&` runs in
//! the background, `<`, `>` and `>>` redirect (see ulib::parse); `cd` is
//! the shell's own. As in xv6, the line is parsed in the child the shell
//! forks for it, so the shell itself never fills its heap. `( ... )`
//! groups a line into one command.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::ffi::CString;
use alloc::vec::Vec;
use ulib::parse::{Cmd, Redir, RedirKind, cd_target, parse};
use ulib::*;

entry!(main);

/// Longest line read.
const LINE: usize = 512;

/// Print the prompt and read a line into `buf`: its length, or None at
/// the end of input.
fn getcmd(buf: &mut [u8; LINE]) -> Option<usize> {
    fprint!(2, "$ ");
    let mut n = 0;
    while n < LINE {
        let mut c = [0u8];
        if read(0, &mut c) < 1 {
            break;
        }
        buf[n] = c[0];
        n += 1;
        if c[0] == b'\n' {
            break;
        }
    }
    (n > 0).then_some(n)
}

fn main(_: Args) {
    let mut buf = [0u8; LINE];
    while let Some(n) = getcmd(&mut buf) {
        let line = &buf[..n];
        if let Some(dir) = cd_target(line) {
            if chdir(&cstring(dir)) < 0 {
                eprintln!("cannot cd {}", text(dir));
            }
            continue;
        }
        match fork() {
            0 => match parse(line) {
                Ok(Some(cmd)) => run(&cmd),
                Ok(None) => exit(),
                Err(e) => die!("sh: {e}"),
            },
            pid if pid < 0 => eprintln!("sh: fork failed"),
            _ => {
                wait();
            }
        }
    }
}

/// A C string of `b` (a NUL inside cuts it short).
fn cstring(b: &[u8]) -> CString {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    CString::new(&b[..end]).unwrap_or_default()
}

/// Fork, dying if there is no room: a child's pid, or 0 in the child.
fn fork1() -> i32 {
    let pid = fork();
    if pid < 0 {
        die!("sh: fork failed");
    }
    pid
}

/// Put each file on standard input or output, dying if one cannot be
/// opened. xv6 has no truncation and no seek: `>` writes from the start
/// over what was there (a longer old file keeps its tail, as with xv6's
/// sh), and `>>` reads to the end first, so that writes land after it.
fn redirect(redirs: &[Redir]) {
    for r in redirs {
        let (fd, mode) = match r.kind {
            RedirKind::In => (0, fcntl::O_RDONLY),
            RedirKind::Out => (1, fcntl::O_WRONLY | fcntl::O_CREATE),
            RedirKind::Append => (1, fcntl::O_RDWR | fcntl::O_CREATE),
        };
        close(fd);
        if open(&cstring(&r.path), mode) < 0 {
            die!("open {} failed", text(&r.path));
        }
        if r.kind == RedirKind::Append {
            skip_to_end(fd);
        }
    }
}

/// Read `fd` to its end, leaving its offset there (a file only: reading a
/// device such as the console would wait for input).
fn skip_to_end(fd: i32) {
    if fstat(fd).is_none_or(|st| st.kind != stat::T_FILE as i16) {
        return;
    }
    let mut buf = [0u8; 512];
    while read(fd, &mut buf) > 0 {}
}

/// Run `cmd` in this (forked) process, then exit.
fn run(cmd: &Cmd) -> ! {
    match cmd {
        Cmd::Exec { argv, redirs } => {
            redirect(redirs);
            let args: Vec<CString> = argv.iter().map(|a| cstring(a)).collect();
            let refs: Vec<&core::ffi::CStr> = args.iter().map(|a| a.as_c_str()).collect();
            exec(refs[0], &refs);
            // Not here: try the root directory, where the programs are.
            if !argv[0].contains(&b'/') {
                let mut path = Vec::from(&b"/"[..]);
                path.extend_from_slice(&argv[0]);
                exec(&cstring(&path), &refs);
            }
            die!("exec {} failed", text(&argv[0]));
        }
        Cmd::Pipe(left, right) => {
            let Some([r, w]) = pipe() else {
                die!("sh: pipe failed");
            };
            if fork1() == 0 {
                close(1);
                dup(w);
                close(r);
                close(w);
                run(left);
            }
            if fork1() == 0 {
                close(0);
                dup(r);
                close(r);
                close(w);
                run(right);
            }
            close(r);
            close(w);
            wait();
            wait();
        }
        Cmd::List(first, then) => {
            if fork1() == 0 {
                run(first);
            }
            wait();
            run(then);
        }
        Cmd::Group(cmd, redirs) => {
            redirect(redirs);
            run(cmd);
        }
        Cmd::Back(cmd) => {
            if fork1() == 0 {
                run(cmd);
            }
        }
    }
    exit()
}
