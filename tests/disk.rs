//! The IDE disk and the log, booted: `--disk FILE` keeps what the kernel
//! wrote across boots, the peer's image boots from it, `powercut=N` stops
//! the machine with exactly N block writes on the disk, the next boot
//! recovers a committed transaction from the log, a corrupt log header is
//! refused at mount, `root=ide` without a disk says so, and the peer's
//! usertests passes on the IDE disk.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use xv6::fs::format::{BSIZE, SUPERBLOCK, SuperBlock, put_word, word};
use xv6::protocol::{BlockWrites, EXIT_POWERCUT, HOST_INPUT_END, Powercut};

/// A directory of this test's own under the system's temporary one.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xv6-disk-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A copy of the project's own image (user/ and README) at `dir/name`.
fn our_image(dir: &Path, name: &str) -> PathBuf {
    let img = xtask::mkfs::default_image().unwrap_or_else(|e| panic!("mkfs: {e}"));
    let copy = dir.join(name);
    std::fs::copy(img, &copy).unwrap();
    copy
}

/// A copy of the peer's image (its mkfs, its programs), or None when the
/// peer cannot be built here (under CI=true that is a failure).
fn peer_image(dir: &Path) -> Option<PathBuf> {
    let peer = xtask::peer::available().unwrap_or_else(|e| panic!("{e}"))?;
    let copy = dir.join("peer-fs.img");
    std::fs::copy(&peer.fs_img, &copy).unwrap();
    Some(copy)
}

/// Boot `--disk img` (and `cmdline`) and type `input` at the shell; the
/// end of input powers the machine off (or a power cut stops it first).
fn boot_disk(img: &Path, cmdline: &str, input: &str) -> common::Run {
    let mut args = vec!["--disk", img.to_str().unwrap()];
    if !cmdline.is_empty() {
        args.extend(["--cmdline", cmdline]);
    }
    common::launch_with_input(&args, input.as_bytes())
}

fn superblock(img: &[u8]) -> SuperBlock {
    let at = SUPERBLOCK as usize * BSIZE;
    SuperBlock::read(&img[at..at + BSIZE])
}

/// The log header's count (word 0 of block logstart).
fn header_count(img: &[u8]) -> u32 {
    word(img, superblock(img).logstart as usize * BSIZE)
}

/// The blocks where two images differ.
fn changed_blocks(a: &[u8], b: &[u8]) -> Vec<usize> {
    assert_eq!(a.len(), b.len());
    (0..a.len() / BSIZE)
        .filter(|&i| a[i * BSIZE..(i + 1) * BSIZE] != b[i * BSIZE..(i + 1) * BSIZE])
        .collect()
}

/// What the workload types: create a file with a line in it.
const WRITE_F: &str = "echo hi > f\n";

#[test]
fn root_ide_without_a_disk_says_so_and_does_not_hang() {
    let run = common::launch(&["--cmdline", "root=ide", "--monitor", "halt"]);
    run.expect_status(0);
    assert_eq!(
        run.line("ide: "),
        "ide: no disk 1 on the primary IDE channel (./run-qemu.sh --disk FILE attaches one): \
         no root file system"
    );
}

#[test]
fn a_file_written_on_the_disk_is_there_at_the_next_boot() {
    let dir = scratch("persist");
    let img = our_image(&dir, "fs.img");
    let before = std::fs::read(&img).unwrap();
    let run = boot_disk(&img, "", WRITE_F);
    run.expect_status(0);
    assert!(run.out.contains("ide: disk 1 has "), "{}", run.out);
    let writes = BlockWrites::parse(run.line("since boot")).expect("the count line");
    assert!(writes.writes > 0, "{}", run.out);
    assert_ne!(std::fs::read(&img).unwrap(), before, "the file changed");
    let run = boot_disk(&img, "", "cat f\n");
    run.expect_status(0);
    assert!(
        run.out
            .lines()
            .any(|l| l.trim_end() == "hi" || l.ends_with("$ hi")),
        "{}",
        run.out
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_peers_image_boots_on_the_ide_disk_and_ls_lists_it() {
    let dir = scratch("peer");
    let Some(img) = peer_image(&dir) else {
        return;
    };
    let run = boot_disk(&img, "", "ls\n");
    run.expect_status(0);
    let blocks = std::fs::metadata(&img).unwrap().len() / BSIZE as u64;
    assert!(
        run.out
            .contains(&format!("ide: disk 1 has {blocks} blocks")),
        "{}",
        run.out
    );
    for name in ["README", "usertests", "stressfs", "ls"] {
        assert!(
            run.out
                .lines()
                .any(|l| l.split_whitespace().next() == Some(name)),
            "ls lists {name}:\n{}",
            run.out
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// The power cut: the runs the workload makes with its power cut after
/// every number of block writes from 0 to a few past the first commit
/// point, and after all of them.
#[test]
fn powercut_stops_with_exactly_n_writes_on_the_disk_and_the_log_recovers() {
    let dir = scratch("powercut");
    let original = std::fs::read(our_image(&dir, "original.img")).unwrap();
    // The uncut run: how many writes the workload makes, and its image.
    let uncut = dir.join("uncut.img");
    std::fs::write(&uncut, &original).unwrap();
    let run = boot_disk(&uncut, "", WRITE_F);
    run.expect_status(0);
    let total = BlockWrites::parse(run.line("since boot")).unwrap().writes;
    let uncut = std::fs::read(&uncut).unwrap();
    // Cut after n writes: status 11, the line, and the image one write
    // away from the image cut one write earlier.
    let cut_image = |n: u32| {
        let img = dir.join(format!("cut{n}.img"));
        std::fs::write(&img, &original).unwrap();
        let run = boot_disk(&img, &format!("powercut={n}"), WRITE_F);
        run.expect_status(EXIT_POWERCUT.status());
        assert_eq!(
            Powercut::parse(run.line("powercut: power lost")),
            Some(Powercut { writes: n }),
            "{}",
            run.out
        );
        (img.clone(), std::fs::read(&img).unwrap())
    };
    let (_, none) = cut_image(0);
    assert!(
        none == original,
        "a cut before the first write leaves the disk as it was"
    );
    // A cut after the last write never comes: the run powers off as the
    // uncut one did; one write earlier, the image is one block away.
    let all = dir.join("all.img");
    std::fs::write(&all, &original).unwrap();
    boot_disk(&all, &format!("powercut={total}"), WRITE_F).expect_status(0);
    assert!(
        std::fs::read(&all).unwrap() == uncut,
        "a cut after the last write leaves what the uncut run left"
    );
    let (_, last_but_one) = cut_image(total - 1);
    assert!(changed_blocks(&last_but_one, &uncut).len() <= 1);
    let mut previous = none;
    let mut committed = None;
    for n in 1..total.min(8) {
        let (img, bytes) = cut_image(n);
        let changed = changed_blocks(&previous, &bytes);
        assert!(
            changed.len() <= 1,
            "cut {n}: one more write changed blocks {changed:?}"
        );
        if committed.is_none() && header_count(&bytes) > 0 {
            committed = Some((img, header_count(&bytes)));
        }
        previous = bytes;
    }
    // A cut after a commit point: the next boot installs the log.
    let (img, n) = committed.expect("a commit point among the first cuts");
    let run = boot_disk(&img, "", "ls\n");
    run.expect_status(0);
    assert_eq!(run.line("log: "), format!("log: recovered {n} blocks"));
    assert_eq!(
        header_count(&std::fs::read(&img).unwrap()),
        0,
        "the log is cleared"
    );
    let run = boot_disk(&img, "", "ls\n");
    assert!(
        !run.out.contains("log: recovered"),
        "recovered once only:\n{}",
        run.out
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_corrupt_log_header_is_refused_at_mount_naming_the_field() {
    let dir = scratch("header");
    let img = our_image(&dir, "fs.img");
    let mut bytes = std::fs::read(&img).unwrap();
    let sb = superblock(&bytes);
    let at = sb.logstart as usize * BSIZE;
    let capacity = sb.nlog - 1; // the header takes one block
    put_word(&mut bytes, at, capacity + 1);
    std::fs::write(&img, &bytes).unwrap();
    let run = boot_disk(&img, "", "");
    assert!(
        run.out.contains(&format!(
            "log header n = {}: a header counts at most the log's {capacity} slots",
            capacity + 1
        )),
        "{}",
        run.out
    );
    assert!(!run.out.contains("panic"), "{}", run.out);
    put_word(&mut bytes, at, 1);
    put_word(&mut bytes, at + 4, sb.size);
    std::fs::write(&img, &bytes).unwrap();
    let run = boot_disk(&img, "", "");
    assert!(
        run.out
            .contains(&format!("log header block[0] = {}: ", sb.size)),
        "{}",
        run.out
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// The peer's own usertests, unmodified, on its own image on the IDE disk.
#[test]
fn the_peers_usertests_passes_on_the_ide_disk() {
    let dir = scratch("usertests");
    let Some(img) = peer_image(&dir) else {
        return;
    };
    let mut s = common::shell(&["--disk", img.to_str().unwrap()], Duration::from_secs(900));
    s.send("usertests");
    s.expect("ALL TESTS PASSED");
    s.expect(common::SH_PROMPT);
    let run = s.finish(&String::from_utf8(vec![HOST_INPUT_END]).unwrap());
    run.expect_status(0);
    std::fs::remove_dir_all(&dir).ok();
}

/// Bochs's ATA disk: the same image mounts from `ata0-slave`, and init and
/// the shell load from it (their reads go through IRQ 14). Bochs's serial
/// port takes no input, so the prompt is all there is to see; the session
/// kills Bochs by its PID when dropped.
#[test]
fn bochs_boots_the_shell_from_the_ide_disk() {
    let dir = scratch("bochs");
    let img = our_image(&dir, "fs.img");
    let blocks = std::fs::metadata(&img).unwrap().len() / BSIZE as u64;
    let o = xtask::launch::options(
        &["--bochs", "--mem", "64", "--disk", img.to_str().unwrap()],
        &[],
    );
    let mut s = xtask::session::Session::launch(&o, Duration::from_secs(400)).expect("start Bochs");
    let out = s
        .expect(common::SH_PROMPT)
        .unwrap_or_else(|e| panic!("{e}; output:\n{}", s.out()));
    for line in [
        &format!("ide: disk 1 has {blocks} blocks"),
        "fs: ",
        "init: starting sh",
    ] {
        assert!(out.contains(line), "no {line:?} before the prompt:\n{out}");
    }
    drop(s);
    std::fs::remove_dir_all(&dir).ok();
}
