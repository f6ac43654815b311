//! stressfs [N]: N processes (4 by default) at once, each writing a file
//! of its own (`stressfsI`, past the direct blocks into the indirect one),
//! reading it back, checking every byte and its size, and removing it.
//! A line names each thing that failed; the last line is `stressfs: ok`
//! or says how many processes failed.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::ffi::CString;
use alloc::format;
use alloc::string::String;
use ulib::args::atoi;
use ulib::format::{BSIZE, NDIRECT};
use ulib::param::NPROC;
use ulib::*;

entry!(main);

/// Processes when no N is given (xv6's stressfs also runs four).
const DEFAULT_WORKERS: i32 = 4;
/// Blocks each file gets: past the direct ones, into the indirect block.
const BLOCKS: usize = NDIRECT + 4;

/// The byte at offset `at` of worker `w`'s file: each worker's files differ,
/// and so do its blocks.
fn pattern(w: usize, at: usize) -> u8 {
    (w * 37 + at + at / BSIZE * 11) as u8
}

fn main(args: Args) {
    let workers = match args.len() {
        1 => DEFAULT_WORKERS,
        2 => match atoi(args.bytes(1)) {
            Some(n) if (1..NPROC as i32 / 2).contains(&n) => n,
            _ => die!(
                "stressfs: {} is not a number of processes (1 to {})",
                args.str(1),
                NPROC / 2 - 1
            ),
        },
        _ => die!("usage: stressfs [processes]"),
    };
    println!(
        "stressfs: {workers} processes, each writing and reading back {} bytes",
        BLOCKS * BSIZE
    );
    let Some([r, w]) = pipe() else {
        die!("stressfs: pipe failed");
    };
    let mut started = 0;
    for i in 0..workers as usize {
        match fork() {
            0 => {
                close(r);
                match work(i) {
                    Ok(()) => {
                        write(w, b"y");
                    }
                    Err(why) => eprintln!("stressfs: stressfs{i}: {why}"),
                }
                exit();
            }
            pid if pid < 0 => eprintln!("stressfs: fork of process {i} failed"),
            _ => started += 1,
        }
    }
    close(w);
    let mut passed = 0;
    let mut b = [0u8];
    while read(r, &mut b) == 1 {
        passed += 1;
    }
    for _ in 0..started {
        wait();
    }
    if passed == workers {
        println!("stressfs: ok");
    } else {
        println!(
            "stressfs: {} of {workers} processes failed",
            workers - passed
        );
    }
}

/// Worker `w`'s whole job: Err says what went wrong, with the values.
fn work(w: usize) -> Result<(), String> {
    let name = CString::new(format!("stressfs{w}")).map_err(|_| "bad name")?;
    let mut buf = [0u8; BSIZE];
    let fd = open(&name, fcntl::O_CREATE | fcntl::O_RDWR);
    if fd < 0 {
        return Err("cannot create it".into());
    }
    for blk in 0..BLOCKS {
        for (k, b) in buf.iter_mut().enumerate() {
            *b = pattern(w, blk * BSIZE + k);
        }
        let n = write(fd, &buf);
        if n != BSIZE as i32 {
            close(fd);
            return Err(format!("write of block {blk} returned {n}, want {BSIZE}"));
        }
    }
    close(fd);
    let fd = open(&name, fcntl::O_RDONLY);
    if fd < 0 {
        return Err("cannot open it again".into());
    }
    let size = fstat(fd).map(|st| st.size);
    if size != Some((BLOCKS * BSIZE) as u32) {
        close(fd);
        return Err(format!("size {size:?}, want {}", BLOCKS * BSIZE));
    }
    for blk in 0..BLOCKS {
        let n = read(fd, &mut buf);
        if n != BSIZE as i32 {
            close(fd);
            return Err(format!("read of block {blk} returned {n}, want {BSIZE}"));
        }
        for (k, &b) in buf.iter().enumerate() {
            let want = pattern(w, blk * BSIZE + k);
            if b != want {
                close(fd);
                return Err(format!(
                    "byte {} is {b:#04x}, want {want:#04x}",
                    blk * BSIZE + k
                ));
            }
        }
    }
    let end = read(fd, &mut buf);
    close(fd);
    if end != 0 {
        return Err(format!("read past the end returned {end}, want 0"));
    }
    if unlink(&name) < 0 {
        return Err("cannot remove it".into());
    }
    Ok(())
}
