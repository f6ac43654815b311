//! The file-system tests: files and the open modes, directories and
//! relative paths, links, a file through the indirect block up to MAXFILE,
//! a file open after its last name is gone, and a full disk. Every name a
//! test makes starts with `ut` and is removed at its start and its end, so
//! a failed run on a persistent disk does not fail the next.

use alloc::ffi::CString;
use alloc::vec::Vec;
use core::ffi::CStr;
use ulib::fcntl::{O_CREATE, O_RDONLY, O_RDWR, O_WRONLY};
use ulib::format::{BSIZE, DIRENT_SIZE, Dirent, MAXFILE, NDIRECT};
use ulib::stat::{T_DIR, T_FILE};
use ulib::*;

use super::{Outcome, check, expect};

/// Remove each of `names` if it is there.
fn remove(names: &[&CStr]) {
    for n in names {
        unlink(n);
    }
}

/// Make `path` (O_CREATE) holding `data`.
fn create(path: &CStr, data: &[u8]) -> Outcome {
    let fd = open(path, O_CREATE | O_WRONLY);
    check(fd >= 0, "cannot create a file")?;
    let n = write(fd, data);
    close(fd);
    expect(n, data.len() as i32, "write of a new file")
}

/// Everything `path` holds, read in pieces of odd sizes.
fn contents(path: &CStr) -> Result<Vec<u8>, alloc::string::String> {
    let fd = open(path, O_RDONLY);
    if fd < 0 {
        return Err(alloc::format!("cannot open {path:?}"));
    }
    let (mut all, mut buf) = (Vec::new(), [0u8; 97]);
    loop {
        let n = read(fd, &mut buf);
        if n <= 0 {
            close(fd);
            return if n == 0 {
                Ok(all)
            } else {
                Err(alloc::format!("read of {path:?} returned {n}"))
            };
        }
        all.extend_from_slice(&buf[..n as usize]);
    }
}

/// The status of `path`, or None if it cannot be opened.
fn stat(path: &CStr) -> Option<ulib::stat::Stat> {
    let fd = open(path, O_RDONLY);
    if fd < 0 {
        return None;
    }
    let st = fstat(fd);
    close(fd);
    st
}

/// `n` bytes that differ from block to block and within each.
fn pattern(seed: usize, n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (seed * 13 + i + i / BSIZE * 7) as u8)
        .collect()
}

/// Create, write, read back, size and type; unlink; then it is gone.
pub fn files() -> Outcome {
    let name = c"utfile";
    remove(&[name]);
    expect(open(name, O_RDONLY), -1, "open of a missing file")?;
    let data = pattern(1, 1000);
    create(name, &data)?;
    expect(contents(name)?, data.clone(), "what was read back")?;
    let st = stat(name).ok_or("cannot stat the new file")?;
    expect(st.kind, T_FILE as i16, "the new file's type")?;
    expect(st.size, 1000, "the new file's size")?;
    expect(st.nlink, 1, "the new file's links")?;
    // O_CREATE of an existing file opens it as it is.
    let fd = open(name, O_CREATE | O_RDWR);
    check(fd >= 0, "O_CREATE of an existing file failed")?;
    expect(fstat(fd).map(|s| s.size), Some(1000), "size after O_CREATE")?;
    close(fd);
    expect(unlink(name), 0, "unlink")?;
    expect(open(name, O_RDONLY), -1, "open after unlink")?;
    expect(unlink(name), -1, "a second unlink")
}

/// What each of O_RDONLY, O_WRONLY and O_RDWR allows, and what a
/// directory refuses.
pub fn open_modes() -> Outcome {
    let name = c"utmodes";
    remove(&[name]);
    let data = pattern(2, 600);
    create(name, &data)?;
    let mut buf = [0u8; 8];
    let fd = open(name, O_RDONLY);
    check(fd >= 0, "open O_RDONLY failed")?;
    expect(write(fd, b"x"), -1, "write to an O_RDONLY descriptor")?;
    close(fd);
    let fd = open(name, O_WRONLY);
    check(fd >= 0, "open O_WRONLY failed")?;
    expect(read(fd, &mut buf), -1, "read from an O_WRONLY descriptor")?;
    expect(write(fd, b"AB"), 2, "write to an O_WRONLY descriptor")?;
    close(fd);
    // O_RDWR: one offset for both; writes overwrite in place.
    let fd = open(name, O_RDWR);
    check(fd >= 0, "open O_RDWR failed")?;
    expect(read(fd, &mut buf[..3]), 3, "read from an O_RDWR descriptor")?;
    expect(&buf[..3], &[b'A', b'B', data[2]][..], "bytes after a write")?;
    expect(write(fd, b"CD"), 2, "write to an O_RDWR descriptor")?;
    close(fd);
    let mut want = data.clone();
    want[..5].copy_from_slice(&[b'A', b'B', data[2], b'C', b'D']);
    expect(contents(name)?, want, "the file after the writes")?;
    // A directory opens for reading only, and O_CREATE does not make it
    // a file; a file is no directory to create in.
    expect(open(c".", O_WRONLY), -1, "open of a directory O_WRONLY")?;
    expect(open(c".", O_RDWR), -1, "open of a directory O_RDWR")?;
    expect(open(c".", O_CREATE | O_RDWR), -1, "O_CREATE of a directory")?;
    expect(
        open(c"utmodes/x", O_CREATE | O_RDWR),
        -1,
        "O_CREATE inside a file",
    )?;
    expect(unlink(name), 0, "unlink")
}

/// The names a directory lists (its used entries), read as `ls` does.
fn listing(path: &CStr) -> Result<Vec<Vec<u8>>, alloc::string::String> {
    let all = contents(path)?;
    expect(all.len() % DIRENT_SIZE, 0, "a directory's size in entries")?;
    Ok(all
        .chunks(DIRENT_SIZE)
        .map(Dirent::read)
        .filter(|d| d.inum != 0)
        .map(|d| d.name().to_vec())
        .collect())
}

/// mkdir, chdir, relative paths and `..`; a directory that is not empty,
/// `.` and `..` cannot be unlinked.
pub fn dirs() -> Outcome {
    remove(&[c"utdir/f", c"utdir/g", c"utdir"]);
    expect(mkdir(c"utdir"), 0, "mkdir")?;
    expect(mkdir(c"utdir"), -1, "mkdir of an existing name")?;
    expect(mkdir(c"utnone/sub"), -1, "mkdir in a missing directory")?;
    let st = stat(c"utdir").ok_or("cannot stat the new directory")?;
    expect(st.kind, T_DIR as i16, "the new directory's type")?;
    let names = listing(c"utdir")?;
    expect(
        names,
        [b".".to_vec(), b"..".to_vec()].to_vec(),
        "a new directory's entries",
    )?;
    create(c"utdir/f", b"one")?;
    expect(chdir(c"utdir"), 0, "chdir")?;
    expect(
        contents(c"f")?,
        b"one".to_vec(),
        "f read by a relative path",
    )?;
    expect(contents(c"./f")?, b"one".to_vec(), "./f")?;
    expect(contents(c"../utdir/f")?, b"one".to_vec(), "../utdir/f")?;
    create(c"g", b"two")?;
    expect(chdir(c".."), 0, "chdir ..")?;
    expect(
        contents(c"utdir/g")?,
        b"two".to_vec(),
        "g made in the directory",
    )?;
    let names = listing(c"utdir")?;
    check(
        names.iter().any(|n| n == b"f") && names.iter().any(|n| n == b"g"),
        "the directory does not list f and g",
    )?;
    expect(chdir(c"utdir/f"), -1, "chdir to a file")?;
    expect(
        unlink(c"utdir"),
        -1,
        "unlink of a directory that is not empty",
    )?;
    expect(unlink(c"utdir/."), -1, "unlink of .")?;
    expect(unlink(c"utdir/.."), -1, "unlink of ..")?;
    expect(unlink(c"utdir/f"), 0, "unlink of utdir/f")?;
    expect(unlink(c"utdir/g"), 0, "unlink of utdir/g")?;
    expect(unlink(c"utdir"), 0, "unlink of the emptied directory")?;
    expect(
        open(c"utdir", O_RDONLY),
        -1,
        "open of the removed directory",
    )?;
    // The root's parent is the root.
    let root = stat(c"/").ok_or("cannot stat /")?;
    let up = stat(c"/..").ok_or("cannot stat /..")?;
    expect(up.ino, root.ino, "the inode of /..")
}

/// Two names, one inode: nlink counts them, each reaches the data, one
/// goes and the other stays; directories cannot be linked.
pub fn links() -> Outcome {
    let (a, b) = (c"utlinka", c"utlinkb");
    remove(&[a, b]);
    create(a, b"hello")?;
    expect(link(a, b), 0, "link")?;
    let (sa, sb) = (stat(a).ok_or("stat a")?, stat(b).ok_or("stat b")?);
    expect(sa.nlink, 2, "nlink after link")?;
    expect(sb.ino, sa.ino, "the two names' inode")?;
    expect(
        contents(b)?,
        b"hello".to_vec(),
        "the data through the new name",
    )?;
    expect(link(a, b), -1, "link to a name that is taken")?;
    expect(link(c"utnone", c"utlinkc"), -1, "link of a missing file")?;
    expect(link(c".", c"utlinkd"), -1, "link of a directory")?;
    expect(open(c"utlinkd", O_RDONLY), -1, "the refused link's name")?;
    expect(unlink(a), 0, "unlink of the first name")?;
    expect(open(a, O_RDONLY), -1, "open of the removed name")?;
    expect(contents(b)?, b"hello".to_vec(), "the data after the unlink")?;
    expect(stat(b).map(|s| s.nlink), Some(1), "nlink after the unlink")?;
    expect(unlink(b), 0, "unlink of the second name")
}

/// A file of MAXFILE blocks, through the indirect block, read back whole;
/// a write past MAXFILE fails and leaves the size.
pub fn big_file() -> Outcome {
    let name = c"utbig";
    remove(&[name]);
    let fd = open(name, O_CREATE | O_WRONLY);
    check(fd >= 0, "cannot create the big file")?;
    for blk in 0..MAXFILE {
        let n = write(fd, &pattern(blk, BSIZE));
        if n != BSIZE as i32 {
            close(fd);
            unlink(name);
            return expect(n, BSIZE as i32, &alloc::format!("write of block {blk}"));
        }
    }
    let max = (MAXFILE * BSIZE) as u32;
    expect(fstat(fd).map(|s| s.size), Some(max), "size at MAXFILE")?;
    let n = write(fd, b"x");
    check(n <= 0, &alloc::format!("a write past MAXFILE returned {n}"))?;
    expect(fstat(fd).map(|s| s.size), Some(max), "size after it")?;
    close(fd);
    let fd = open(name, O_RDONLY);
    check(fd >= 0, "cannot open the big file")?;
    let mut buf = [0u8; BSIZE];
    for blk in 0..MAXFILE {
        let n = read(fd, &mut buf);
        let what = alloc::format!("block {blk} (direct blocks: {NDIRECT})");
        if n != BSIZE as i32 || buf[..] != pattern(blk, BSIZE)[..] {
            close(fd);
            unlink(name);
            return Err(alloc::format!("{what}: read {n} bytes, not as written"));
        }
    }
    expect(read(fd, &mut buf), 0, "read past the end")?;
    close(fd);
    expect(unlink(name), 0, "unlink of the big file")
}

/// A file whose last name is gone lives on until its last descriptor
/// closes: it reads and writes as before.
pub fn open_after_unlink() -> Outcome {
    let name = c"utopen";
    remove(&[name]);
    create(name, b"kept")?;
    let fd = open(name, O_RDWR);
    check(fd >= 0, "cannot open the file")?;
    expect(unlink(name), 0, "unlink of an open file")?;
    expect(open(name, O_RDONLY), -1, "open by the removed name")?;
    expect(
        fstat(fd).map(|s| s.nlink),
        Some(0),
        "nlink after the unlink",
    )?;
    let mut buf = [0u8; 8];
    expect(read(fd, &mut buf), 4, "read after the unlink")?;
    expect(&buf[..4], &b"kept"[..], "the data after the unlink")?;
    expect(write(fd, b"more"), 4, "write after the unlink")?;
    expect(fstat(fd).map(|s| s.size), Some(8), "size after that write")?;
    expect(close(fd), 0, "close of the last descriptor")
}

/// The name of filler file `i`.
fn filler(i: usize) -> CString {
    CString::new(alloc::format!("utfill{i}")).unwrap_or_default()
}

/// Fill the disk with files of up to MAXFILE blocks until a write fails
/// (-1, or short); the file being written then has the size its
/// successful writes gave it, one more write fails too, and once the
/// fillers are gone the file system makes, writes and reads files again.
pub fn full_disk() -> Outcome {
    use ulib::format::{FSSIZE, NINODES};
    let most = NINODES as usize;
    for i in 0..most {
        unlink(&filler(i));
    }
    let block = pattern(3, BSIZE);
    let (mut files, mut full) = (0, false);
    let mut result = Ok(());
    'fill: while files < most {
        let name = filler(files);
        let fd = open(&name, O_CREATE | O_WRONLY);
        if fd < 0 {
            result = Err(alloc::format!(
                "cannot create {name:?} before the disk filled"
            ));
            break;
        }
        files += 1;
        let mut written = 0;
        for _ in 0..MAXFILE {
            let n = write(fd, &block);
            if n != BSIZE as i32 {
                written += n.max(0) as u32;
                full = true;
                let size = fstat(fd).map(|s| s.size);
                result = expect(
                    size,
                    Some(written),
                    "the size of the file that filled the disk",
                )
                .and_then(|()| {
                    let again = write(fd, &block);
                    check(
                        again <= 0,
                        &alloc::format!("a write to the full disk returned {again}"),
                    )
                });
                close(fd);
                break 'fill;
            }
            written += BSIZE as u32;
        }
        close(fd);
    }
    if !full && result.is_ok() {
        result = Err(alloc::format!(
            "{files} files of {MAXFILE} blocks did not fill a disk (FSSIZE {FSSIZE} by default)"
        ));
    }
    for i in 0..files {
        if unlink(&filler(i)) < 0 && result.is_ok() {
            result = Err(alloc::format!(
                "cannot remove {:?} from the full disk",
                filler(i)
            ));
        }
    }
    result?;
    let name = c"utafter";
    remove(&[name]);
    let data = pattern(4, 10 * BSIZE);
    create(name, &data)?;
    expect(contents(name)?, data, "a file made after the disk was full")?;
    expect(mkdir(c"utafterd"), 0, "mkdir after the disk was full")?;
    expect(unlink(c"utafterd"), 0, "unlink of that directory")?;
    expect(unlink(name), 0, "unlink of that file")
}
