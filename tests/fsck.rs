//! The checker against images real kernels wrote: the C xv6 peer's own
//! programs (mkdir, ln, rm, stressfs, sh's `>`) run on its fs.img, first
//! on the C kernel, then on ours (`--disk`); fsck must find both images
//! clean, and see what the commands made. Its rules, one by one, are
//! unit-tested on hand-broken images (`cargo test -p xtask fsck`).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use xtask::crash::machine::{Kernel, PROMPT, Purpose};
use xtask::fsimage::Image;
use xtask::mkfs::format::T_DIR;
use xtask::{fsck, peer};

/// What both kernels run: directories, a file by redirection, a second
/// name and the first one removed, an empty directory made and removed,
/// and the peer's stressfs (five processes writing at once).
const COMMANDS: &[&str] = &[
    "mkdir a",
    "mkdir a/b",
    "echo hello > a/f",
    "ln a/f g",
    "rm a/f",
    "mkdir c",
    "rm c",
    "stressfs",
];

const LIMIT: Duration = Duration::from_secs(120);

/// A copy of the peer's fs.img for `name`.
fn copy(p: &peer::Peer, name: &str) -> PathBuf {
    let dir = xtask::paths::at("target/fsck-test");
    std::fs::create_dir_all(&dir).unwrap();
    let to = dir.join(format!("{name}.img"));
    std::fs::copy(&p.fs_img, &to).unwrap();
    to
}

/// fsck finds `img` clean, and the commands' results are there.
fn clean_with_results(img: &Path) {
    let bytes = std::fs::read(img).unwrap();
    let problems = fsck::fsck(&bytes);
    assert!(
        problems.is_empty(),
        "{}:\n{}",
        img.display(),
        fsck::report(&problems)
    );
    let i = Image::new(&bytes).unwrap();
    let a = i.inode(i.lookup("/a").expect("/a")).unwrap();
    assert_eq!((a.kind, a.nlink), (T_DIR, 2), "a: its entry and b's ..");
    let g = i.inode(i.lookup("/g").expect("/g")).unwrap();
    assert_eq!(i.read(&g).as_deref(), Some(&b"hello\n"[..]));
    assert_eq!(i.lookup("/a/f"), None, "rm a/f");
    assert_eq!(i.lookup("/c"), None, "rm c");
    assert!(i.lookup("/stressfs0").is_some(), "stressfs's files");
}

#[test]
fn images_the_c_kernel_and_ours_wrote_are_clean() {
    let Some(p) = peer::available().unwrap_or_else(|e| panic!("{e}")) else {
        return;
    };
    let input: String = COMMANDS.iter().map(|c| format!("{c}\n")).collect();

    // The C kernel: each command after the prompt, then stopped once the
    // last prompt shows (its commit is done before the shell prompts).
    let theirs = copy(&p, "c-kernel");
    let mut m = Kernel::Peer(p.clone())
        .boot(&theirs, Purpose::Workload { cut: None })
        .unwrap();
    assert!(m.wait_for(PROMPT, LIMIT), "{}", m.out());
    for c in COMMANDS {
        let prompts = m.out().matches(PROMPT).count();
        m.send(format!("{c}\n").as_bytes()).unwrap();
        let start = std::time::Instant::now();
        while m.out().matches(PROMPT).count() <= prompts && start.elapsed() < LIMIT {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let out = m.kill().out;
    assert!(out.contains("stressfs"), "{out}");
    clean_with_results(&theirs);

    // Ours, on the IDE disk; the input's end powers off.
    let ours = copy(&p, "our-kernel");
    let run = common::launch_with_input(&["--disk", ours.to_str().unwrap()], input.as_bytes());
    run.expect_status(0);
    assert!(!run.has("panic: "), "{}", run.out);
    clean_with_results(&ours);
}

#[test]
fn run_qemu_fsck_exits_0_on_a_clean_image_and_1_with_a_line_per_fault() {
    let dir = xtask::paths::at("target/fsck-test");
    std::fs::create_dir_all(&dir).unwrap();
    let files = vec![("README".to_string(), b"hello\n".to_vec())];
    let clean = dir.join("clean.img");
    std::fs::write(&clean, xtask::mkfs::mkfs(&files).unwrap()).unwrap();
    let run = common::run_script(&["--fsck", clean.to_str().unwrap()], "");
    assert_eq!((run.status, run.out.as_str()), (Some(0), ""), "{}", run.err);

    let mut ed = xtask::fsedit::Editor::new(std::fs::read(&clean).unwrap());
    let leak = ed.sb.size - 1;
    ed.mark(leak, true);
    let readme = Image::new(&ed.bytes).unwrap().lookup("README").unwrap();
    ed.edit_inode(readme, |d| d.nlink = 3);
    let broken = dir.join("broken.img");
    std::fs::write(&broken, &ed.bytes).unwrap();
    let run = common::run_script(&["--fsck", broken.to_str().unwrap()], "");
    assert_eq!(run.status, Some(xtask::status::FAILED), "{}", run.err);
    let lines: Vec<&str> = run.out.lines().collect();
    assert_eq!(
        lines,
        [
            format!(
                "fsck: block {leak}: marked in use in the bitmap but owned by nothing (a leak)"
            ),
            format!("fsck: inode {readme}: nlink 3 but 1 directory entries name it"),
        ],
        "{}",
        run.out
    );
}
