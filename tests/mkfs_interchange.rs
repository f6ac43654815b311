//! The two mkfs programs are interchangeable: the peer's C `mkfs` and the
//! runner's own (`xtask::mkfs`) build images of the same files; both
//! pass `fsck`, hold the same bytes under the same inode numbers, and
//! boot on our kernel to the same `ls` answers (type, inode and size of
//! every entry, which `ls` reads with `fstat`), line by line.

mod common;

use std::path::{Path, PathBuf};

use xtask::fsimage::Image;
use xtask::{fsck, peer};

/// README and our user programs: (name, file).
fn files() -> Vec<(String, PathBuf)> {
    let mut files = vec![(
        "README".to_string(),
        xtask::paths::at(xtask::mkfs::DEFAULT_README),
    )];
    files.extend(xtask::user::build().unwrap_or_else(|e| panic!("{e}")));
    files
}

/// The `ls` entries in `out`: lines of a name and three numbers (type,
/// inode, size), the shell's prompt taken off.
fn ls_entries(out: &str) -> Vec<(String, u32, u32, u32)> {
    out.lines()
        .map(|l| l.trim_end_matches('\r').trim_start_matches("$ "))
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            match w[..] {
                [name, kind, inum, size] => Some((
                    name.to_string(),
                    kind.parse().ok()?,
                    inum.parse().ok()?,
                    size.parse().ok()?,
                )),
                _ => None,
            }
        })
        .collect()
}

/// `ls`, `ls README` and `ls crashload` on our kernel, `img` on the RAM disk.
fn ls_on_our_kernel(img: &Path) -> Vec<(String, u32, u32, u32)> {
    let run = common::launch_with_input(
        &["--fs", img.to_str().unwrap()],
        b"ls\nls README\nls crashload\n",
    );
    run.expect_status(0);
    assert!(!run.has("panic: "), "{}", run.out);
    ls_entries(&run.out)
}

#[test]
fn images_from_either_mkfs_read_the_same_on_our_kernel() {
    let Some(p) = peer::available().unwrap_or_else(|e| panic!("{e}")) else {
        return;
    };
    let files = files();
    let dir = xtask::paths::at("target/interchange");
    std::fs::create_dir_all(&dir).unwrap();
    let theirs = dir.join("peer-mkfs.img");
    p.make_image(&theirs, &files)
        .unwrap_or_else(|e| panic!("{e}"));
    let contents: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(n, path)| (n.clone(), std::fs::read(path).unwrap()))
        .collect();
    let ours = dir.join("our-mkfs.img");
    std::fs::write(&ours, xtask::mkfs::mkfs(&contents).unwrap()).unwrap();

    // On the host: both clean, each file's bytes and inode the same.
    let (a, b) = (
        std::fs::read(&theirs).unwrap(),
        std::fs::read(&ours).unwrap(),
    );
    for (which, bytes) in [("the peer's mkfs", &a), ("our mkfs", &b)] {
        let problems = fsck::fsck(bytes);
        assert!(problems.is_empty(), "{which}:\n{}", fsck::report(&problems));
    }
    let (ia, ib) = (Image::new(&a).unwrap(), Image::new(&b).unwrap());
    for (name, data) in &contents {
        let (na, nb) = (ia.lookup(name).unwrap(), ib.lookup(name).unwrap());
        assert_eq!(na, nb, "{name}: the same inode number from both");
        let (da, db) = (ia.inode(na).unwrap(), ib.inode(nb).unwrap());
        assert_eq!(
            (da.kind, da.nlink, da.size),
            (db.kind, db.nlink, db.size),
            "{name}"
        );
        assert!(
            ia.read(&da).as_ref() == Some(data),
            "{name} whole in the peer's image"
        );
        assert!(ib.read(&db).as_ref() == Some(data), "{name} whole in ours");
    }

    // On our kernel: `ls` answers the same, entry by entry.
    let (la, lb) = (ls_on_our_kernel(&theirs), ls_on_our_kernel(&ours));
    assert_eq!(
        la.len(),
        lb.len(),
        "\npeer's mkfs: {la:?}\nour mkfs: {lb:?}"
    );
    for (ea, eb) in la.iter().zip(&lb) {
        assert_eq!(ea, eb, "one entry, two answers");
    }
    // Every file listed, as a file of its own size; "ls README" and
    // "ls crashload" fstat the file itself.
    for (name, data) in &contents {
        let n = la.iter().filter(|e| e.0 == *name).count();
        let want = if name == "README" || name == "crashload" {
            2
        } else {
            1
        };
        assert_eq!(n, want, "{name} in {la:?}");
        let e = la.iter().find(|e| e.0 == *name).unwrap();
        assert_eq!(
            (e.1, e.3),
            (2, data.len() as u32),
            "{name}: a file of its size"
        );
    }
    assert_eq!(la[0].0, ".", "the root lists itself first");
}
