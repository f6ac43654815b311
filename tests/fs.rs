//! The file system's images: what the runner's `mkfs` makes reads back
//! through the kernel's own algorithms (`src/fs.rs`, built on the host),
//! the peer's image reads too, broken images are refused with a line
//! naming the fault, and the kernel mounts the RAM disk `--fs` hands it
//! and writes to it.

mod common;

use xtask::mkfs::mkfs;
use xv6::fs::format::{
    BSIZE, DIRSIZ, FSSIZE, MAXFILE, MKFS_FREE_BLOCKS, NDIRECT, ROOTINO, SUPERBLOCK, T_DIR, T_FILE,
};
use xv6::fs::{DiskFs, Fs, FsError};

/// Bytes that differ from block to block, so a block read from the wrong
/// place shows.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i / 7) as u8 ^ seed ^ (i % 251) as u8)
        .collect()
}

fn sample_files() -> Vec<(String, Vec<u8>)> {
    vec![
        ("README".into(), b"hello from mkfs\n".to_vec()),
        ("empty".into(), Vec::new()),
        ("oneblock".into(), pattern(BSIZE, 1)),
        // past the direct blocks: through the indirect one
        (
            "indirect".into(),
            pattern(NDIRECT * BSIZE + 3 * BSIZE + 17, 2),
        ),
        ("largest".into(), pattern(MAXFILE * BSIZE, 3)),
        ("fourteen_chars".into(), b"x".to_vec()),
    ]
}

/// All of a file, read in pieces of `chunk` bytes as a user program would.
fn read_all(fs: &Fs, path: &str, chunk: usize) -> Vec<u8> {
    let ip = fs
        .namei(path.as_bytes(), &fs.root())
        .unwrap()
        .unwrap_or_else(|| panic!("{path} not found"));
    let mut out = Vec::new();
    let mut buf = vec![0; chunk];
    loop {
        let n = fs.readi(&ip, &mut buf, out.len() as u32).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn every_file_mkfs_writes_reads_back_the_same_in_any_chunk_size() {
    let files = sample_files();
    let img = mkfs(&files).unwrap();
    assert_eq!(
        img.len(),
        FSSIZE as usize * BSIZE,
        "the files fit in FSSIZE blocks"
    );
    let fs = Fs::mount(&img).unwrap();
    for (name, data) in &files {
        for chunk in [1, 100, BSIZE, 3 * BSIZE + 5] {
            let got = read_all(&fs, &format!("/{name}"), chunk);
            assert!(
                got == *data,
                "{name} read in chunks of {chunk} differs from what mkfs wrote"
            );
        }
        let ip = fs.namei(name.as_bytes(), &fs.root()).unwrap().unwrap();
        let st = ip.stat_on(1);
        assert_eq!(
            (st.kind, st.size, st.nlink),
            (T_FILE as i16, data.len() as u32, 1),
            "{name}"
        );
    }
}

#[test]
fn the_root_lists_dot_dotdot_and_every_file_in_order() {
    let files = sample_files();
    let img = mkfs(&files).unwrap();
    let fs = Fs::mount(&img).unwrap();
    let root = fs.root();
    assert_eq!((root.inum(), root.kind()), (ROOTINO, T_DIR));
    assert_eq!(
        root.size() as usize % BSIZE,
        0,
        "a directory's size is whole blocks, as xv6's mkfs leaves it"
    );
    let names: Vec<String> = fs
        .entries(&root)
        .filter(|d| d.inum != 0)
        .map(|d| String::from_utf8_lossy(d.name()).into_owned())
        .collect();
    let mut want = vec![".".to_string(), "..".to_string()];
    want.extend(files.iter().map(|(n, _)| n.clone()));
    assert_eq!(names, want);
    for path in ["/.", "/..", "/./..", "//", "/"] {
        assert_eq!(
            fs.namei(path.as_bytes(), &root).unwrap().map(|i| i.inum()),
            Some(ROOTINO),
            "{path}"
        );
    }
}

#[test]
fn lookups_fail_for_missing_names_and_paths_through_files() {
    let img = mkfs(&sample_files()).unwrap();
    let fs = Fs::mount(&img).unwrap();
    let root = fs.root();
    for path in ["nosuch", "/README/x", "README/", "/empty/.."] {
        let got = fs.namei(path.as_bytes(), &root).unwrap();
        // "README/" names README itself in xv6 (trailing slashes skipped)
        if path == "README/" {
            assert!(got.is_some(), "{path}");
        } else {
            assert!(got.is_none(), "{path} must not be found, got {got:?}");
        }
    }
    let long = "fourteen_charsXYZ"; // longer than DIRSIZ: compared on the first 14 bytes
    assert!(long.len() > DIRSIZ);
    assert!(
        fs.namei(long.as_bytes(), &root).unwrap().is_some(),
        "{long}"
    );
}

#[test]
fn a_read_at_or_past_the_end_reads_nothing() {
    let img = mkfs(&sample_files()).unwrap();
    let fs = Fs::mount(&img).unwrap();
    let ip = fs.namei(b"oneblock", &fs.root()).unwrap().unwrap();
    let mut buf = [0u8; 10];
    assert_eq!(fs.readi(&ip, &mut buf, BSIZE as u32).unwrap(), 0);
    assert_eq!(fs.readi(&ip, &mut buf, u32::MAX).unwrap(), 0);
    assert_eq!(
        fs.readi(&ip, &mut buf, BSIZE as u32 - 4).unwrap(),
        4,
        "the last 4 bytes only"
    );
}

#[test]
fn mkfs_refuses_bad_names_and_files_too_big_naming_them() {
    for name in ["", "a/b", ".", ".."] {
        let e = mkfs(&[(name.to_string(), vec![1])]).unwrap_err();
        assert!(e.message.contains(&format!("{name:?}")), "{e}");
    }
    let e = mkfs(&[("abcdefghijklmno".into(), vec![])]).unwrap_err();
    assert!(e.message.contains("1 to 14 bytes"), "{e}");
    let e = mkfs(&[("big".into(), vec![0; MAXFILE * BSIZE + 1])]).unwrap_err();
    assert!(
        e.message.contains("big is") && e.message.contains("at most"),
        "{e}"
    );
}

#[test]
fn mkfs_grows_the_image_when_the_files_need_more_than_fssize() {
    // Each file takes MAXFILE blocks and an indirect one: enough of them
    // outgrow FSSIZE.
    let n = FSSIZE as usize / (MAXFILE + 1) + 1;
    let files: Vec<(String, Vec<u8>)> = (0..n)
        .map(|i| (format!("f{i}"), pattern(MAXFILE * BSIZE, i as u8)))
        .collect();
    let img = mkfs(&files).unwrap();
    assert!(img.len() > FSSIZE as usize * BSIZE);
    let fs = Fs::mount(&img).unwrap();
    assert_eq!(fs.superblock().size as usize * BSIZE, img.len());
    let sb = fs.superblock();
    let data = files.len() * (MAXFILE + 1);
    assert!(
        sb.nblocks as usize >= data + MKFS_FREE_BLOCKS as usize,
        "{} data blocks for {data} of files: MKFS_FREE_BLOCKS ({MKFS_FREE_BLOCKS}) must stay free",
        sb.nblocks
    );
    for (name, data) in &files {
        assert!(read_all(&fs, name, 4096) == *data, "{name}");
    }
}

/// An image with its superblock's word `index` set to `value`.
fn with_superblock_word(index: usize, value: u32) -> Vec<u8> {
    let mut img = mkfs(&sample_files()).unwrap();
    let at = SUPERBLOCK as usize * BSIZE + 4 * index;
    img[at..at + 4].copy_from_slice(&value.to_le_bytes());
    img
}

#[test]
fn broken_images_are_refused_with_the_field_and_the_rule() {
    let e = Fs::mount(&[0; BSIZE]).err().unwrap();
    assert_eq!(e, FsError::TooSmall { bytes: BSIZE });
    let cases = [
        (
            0,
            FSSIZE + 1,
            format!(
                "superblock size = {}: must be at least 1 and no more than the image's blocks",
                FSSIZE + 1
            ),
        ),
        (2, 0, "superblock ninodes = 0".to_string()),
        (
            5,
            FSSIZE - 1,
            format!(
                "superblock inodestart = {}: the inode table must fit",
                FSSIZE - 1
            ),
        ),
        (
            6,
            FSSIZE,
            format!("superblock bmapstart = {FSSIZE}: the bitmap must lie inside the image"),
        ),
        (
            4,
            FSSIZE - 2,
            format!(
                "superblock logstart = {}: the log must lie inside the image",
                FSSIZE - 2
            ),
        ),
    ];
    for (index, value, want) in cases {
        let img = with_superblock_word(index, value);
        let e = Fs::mount(&img)
            .err()
            .unwrap_or_else(|| panic!("word {index} = {value} must be refused"));
        assert!(
            e.to_string().starts_with(&want),
            "word {index} = {value}: got {e}"
        );
    }
}

#[test]
fn a_block_number_past_the_end_fails_the_read_naming_inode_and_block() {
    let mut img = mkfs(&sample_files()).unwrap();
    let fs = Fs::mount(&img).unwrap();
    let ip = fs.namei(b"README", &fs.root()).unwrap().unwrap();
    let sb = *fs.superblock();
    let inum = ip.inum();
    // addrs[0] of README's inode: byte 12 of its 64-byte slot
    let at = sb.iblock(inum) as usize * BSIZE + (inum as usize % 8) * 64 + 12;
    img[at..at + 4].copy_from_slice(&5000u32.to_le_bytes());
    let fs = Fs::mount(&img).unwrap();
    let ip = fs.namei(b"README", &fs.root()).unwrap().unwrap();
    let e = fs.readi(&ip, &mut [0; 4], 0).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("inode {inum} names block 5000, past the image's end ({FSSIZE} blocks)")
    );
}

#[test]
fn a_root_that_is_not_a_directory_is_refused() {
    let mut img = mkfs(&sample_files()).unwrap();
    let sb = *Fs::mount(&img).unwrap().superblock();
    let at = sb.iblock(ROOTINO) as usize * BSIZE + (ROOTINO as usize % 8) * 64;
    img[at..at + 2].copy_from_slice(&T_FILE.to_le_bytes());
    let e = Fs::mount(&img).err().unwrap();
    assert_eq!(
        e.to_string(),
        "root inode 1 has type 2, not a directory (1)"
    );
}

#[test]
fn the_peers_image_reads_its_readme_and_programs() {
    // The image the peer's own mkfs made (its programs and README), built
    // in target/peer/; without the peer the test says why it is skipped,
    // and under CI=true that is a failure.
    let Some(peer) = xtask::peer::available().unwrap_or_else(|e| panic!("{e}")) else {
        return;
    };
    let path = peer.fs_img;
    let img = std::fs::read(&path).unwrap();
    let fs = Fs::mount(&img).unwrap();
    let readme = std::fs::read(path.with_file_name("README")).unwrap();
    assert!(
        read_all(&fs, "/README", 512) == readme,
        "README differs from the peer's source"
    );
    for prog in ["init", "sh", "ls", "cat", "usertests"] {
        let elf = read_all(&fs, prog, 4096);
        assert_eq!(&elf[..4], b"\x7fELF", "{prog}");
        let built = std::fs::read(path.with_file_name(format!("_{prog}"))).unwrap();
        assert!(elf == built, "{prog} differs from the peer's _{prog}");
    }
}

#[test]
fn the_kernel_mounts_the_image_fs_hands_it() {
    let dir = std::env::temp_dir().join(format!("xv6-fs-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let img_path = dir.join("fs.img");
    std::fs::write(&img_path, mkfs(&sample_files()).unwrap()).unwrap();
    let run = common::launch(&["--fs", img_path.to_str().unwrap(), "--monitor", "halt"]);
    run.expect_status(0);
    let line = run.line("fs: ");
    assert_eq!(
        line,
        format!("fs: {FSSIZE} blocks, 200 inodes, data from block 59"),
        "{}",
        run.out
    );
    let broken = dir.join("broken.img");
    std::fs::write(&broken, with_superblock_word(0, FSSIZE + 1)).unwrap();
    let run = common::launch(&["--fs", broken.to_str().unwrap(), "--monitor", "halt"]);
    run.expect_status(0);
    assert_eq!(
        run.line("fs: "),
        format!(
            "fs: not mounted: superblock size = {}: must be at least 1 and no more than the image's blocks",
            FSSIZE + 1
        )
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// The peer's image with README's first block number past the end, a
/// root directory entry ("ghost") naming an inode outside the table, and
/// one ("loop") naming the root itself: each call that meets them fails
/// with a line saying why, a path through the loop still ends, and the
/// kernel runs on (xv6 would panic, read garbage or deadlock).
#[test]
fn the_kernel_fails_only_the_call_that_meets_a_broken_block_or_entry() {
    let Some(peer) = xtask::peer::available().unwrap_or_else(|e| panic!("{e}")) else {
        return;
    };
    let img = std::fs::read(&peer.fs_img).unwrap();
    let fs = Fs::mount(&img).unwrap();
    let mut readme = fs.namei(b"README", &fs.root()).unwrap().unwrap();
    readme.d.addrs[0] = 5000;
    fs.iupdate(&readme).unwrap();
    let ninodes = fs.superblock().ninodes;
    let mut root = fs.root();
    assert!(fs.dirlink(&mut root, b"ghost", ninodes + 7).unwrap());
    assert!(fs.dirlink(&mut root, b"loop", ROOTINO).unwrap());
    let size = fs.superblock().size;
    let dir = std::env::temp_dir().join(format!("xv6-fs-broken-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broken.img");
    std::fs::write(&path, fs.bytes()).unwrap();
    let mut s = common::shell(
        &["--fs", path.to_str().unwrap()],
        std::time::Duration::from_secs(120),
    );
    let cat = common::sh(&mut s, "cat README");
    assert!(
        cat.contains(&format!(
            "fs: inode {} names block 5000, past the image's end ({size} blocks)",
            readme.inum()
        )),
        "{cat}"
    );
    let ghost = common::sh(&mut s, "cat ghost");
    assert!(
        ghost.contains(&format!(
            "fs: inode {} is outside the inode table (1..{ninodes})",
            ninodes + 7
        )),
        "{ghost}"
    );
    let rm = common::sh(&mut s, "rm loop");
    assert!(
        rm.contains("fs: directory inode 1 has an entry naming itself"),
        "{rm}"
    );
    assert!(common::sh(&mut s, "cat loop/loop/loop/ghost").contains("outside the inode table"));
    // The rest of the disk works, writes included.
    common::sh(&mut s, "echo still > alive");
    assert!(common::sh(&mut s, "cat alive").contains("still"));
    assert!(!s.out_so_far().contains("panic"), "{}", s.out_so_far());
    std::fs::remove_dir_all(&dir).ok();
}

/// Before any process exists nobody can wait: a sleep lock taken twice at
/// boot, and a `bread` with all NBUF buffers held, each panic naming what
/// was held (a process would sleep instead; xv6 spins or panics "no
/// buffers").
#[test]
fn at_boot_a_held_sleep_lock_and_a_full_buffer_cache_panic_by_name() {
    common::expect_panic(
        "sleeplock_twice_at_boot",
        "acquiresleep: ktest held by pid 0 and no process to sleep for it",
    );
    let img = xtask::mkfs::default_image().unwrap();
    let run = common::launch(&[
        "--fs",
        img.to_str().unwrap(),
        "--cmdline",
        "ktest=bget_all_held_at_boot",
    ]);
    run.expect_status(common::EXIT_PANIC);
    let nbuf = xv6::param::NBUF;
    assert_eq!(
        run.line("panic: "),
        format!("panic: bget: all {nbuf} buffers are held at boot (wanted block {nbuf})"),
        "{}",
        run.out
    );
}
