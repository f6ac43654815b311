//! The workload's promise, checked on a recovered image: the calls whose
//! lines came before the power went are all there, whole, and nothing
//! else is, except that the one call after them may be there too (it can
//! commit and lose its line to the cut). Files hold the workload's
//! pattern and whole writes only.

use std::collections::{BTreeMap, BTreeSet};

use super::workload::{Op, SCRIPT, pattern};
use crate::fsimage::Image;
use crate::mkfs::format::{T_DIR, T_FILE};

/// The names the workload's calls leave, as the host models them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Model {
    /// The directories made.
    dirs: BTreeSet<String>,
    /// Each file name, and the file it names (the path it was created as).
    names: BTreeMap<String, String>,
    /// Each file (by the path it was created as) and its size.
    sizes: BTreeMap<String, u32>,
}

impl Model {
    /// What `ops`, from the script's start, leave.
    pub fn after(ops: &[Op]) -> Model {
        let mut m = Model::default();
        for op in ops {
            match *op {
                Op::Mkdir(p) => {
                    m.dirs.insert(p.into());
                }
                Op::Create(p) => {
                    m.names.insert(p.into(), p.into());
                    m.sizes.insert(p.into(), 0);
                }
                Op::Write { path, off, len } => {
                    m.sizes.insert(path.into(), off + len);
                }
                Op::Link { old, new } => {
                    let file = m.names.get(old).cloned().unwrap_or_default();
                    m.names.insert(new.into(), file);
                }
                Op::Unlink(p) => {
                    m.names.remove(p);
                }
                // Closing a file that still has a name changes nothing
                // on disk.
                Op::Close(_) => {}
            }
        }
        m
    }

    /// The names the model puts in directory `dir` (`/`, `/d`, ...).
    fn children(&self, dir: &str) -> BTreeSet<String> {
        let in_dir = |p: &String| parent(p) == dir;
        self.dirs
            .iter()
            .chain(self.names.keys())
            .filter(|p| in_dir(p))
            .map(|p| p.rsplit('/').next().unwrap_or_default().to_string())
            .collect()
    }
}

/// The directory part of `/a/b` (`/a`; `/` for `/a`).
fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The calls of the script that `out` (a run's console output) reports
/// as returned, in order: each whole line (ended by a newline) that is a
/// call's line. An error if they are not the script's first calls.
pub fn returned(out: &str) -> Result<Vec<Op<'static>>, String> {
    let whole = match out.rfind('\n') {
        Some(i) => &out[..i],
        None => "",
    };
    let seen: Vec<Op> = whole.lines().filter_map(Op::parse).collect();
    for (i, op) in seen.iter().enumerate() {
        if SCRIPT.get(i) != Some(op) {
            return Err(format!(
                "call line {} is `{op}`, but the script's call {} is {}",
                i + 1,
                i + 1,
                SCRIPT
                    .get(i)
                    .map_or("none".to_string(), |s| format!("`{s}`"))
            ));
        }
    }
    Ok(SCRIPT[..seen.len()].to_vec())
}

/// Check `img` against the promise of `done` calls having returned: it
/// must show the state after them, or after them and the next call.
/// `root` is what the root directory held before the workload. Each
/// broken rule is one line.
pub fn check(img: &Image, root: &BTreeSet<String>, done: usize) -> Result<(), Vec<String>> {
    let now = differences(img, root, &Model::after(&SCRIPT[..done]));
    if now.is_empty() {
        return Ok(());
    }
    if done < SCRIPT.len() && differences(img, root, &Model::after(&SCRIPT[..=done])).is_empty() {
        return Ok(());
    }
    let next = SCRIPT.get(done).map_or(String::new(), |op| {
        format!(" nor after the next one (`{op}`)")
    });
    let mut lines = vec![format!(
        "the image shows neither the state after the {done} calls that printed their line{next}:"
    )];
    lines.extend(now.into_iter().map(|l| format!("  {l}")));
    Err(lines)
}

/// How `img` differs from `m` (empty: it shows exactly that state).
pub fn differences(img: &Image, root: &BTreeSet<String>, m: &Model) -> Vec<String> {
    let mut out = Vec::new();
    for dir in &m.dirs {
        let kind = img.lookup(dir).and_then(|i| img.inode(i)).map(|d| d.kind);
        if kind != Some(T_DIR) {
            out.push(format!(
                "mkdir {dir} returned, but {dir} is not a directory there"
            ));
        }
    }
    let mut inums: BTreeMap<&str, (u32, &str)> = BTreeMap::new();
    for (name, file) in &m.names {
        let want = m.sizes.get(file).copied().unwrap_or(0);
        let Some((inum, d)) = img
            .lookup(name)
            .and_then(|i| Some((i, img.inode(i)?)))
            .filter(|(_, d)| d.kind == T_FILE)
        else {
            out.push(format!(
                "{name}: the calls that returned made it a file, but it is missing or not a file"
            ));
            continue;
        };
        if let Some(&(other, first)) = inums.get(file.as_str())
            && other != inum
        {
            out.push(format!(
                "{first} and {name}: link made them one file, but they are inodes {other} and {inum}"
            ));
        }
        inums.entry(file.as_str()).or_insert((inum, name.as_str()));
        if d.size != want {
            out.push(format!(
                "{name}: size {}, but the writes that returned make {want} (writes are all or nothing)",
                d.size
            ));
            continue;
        }
        match img.read(&d) {
            None => out.push(format!("{name}: its blocks cannot be read back")),
            Some(bytes) => {
                let bad = (0..want).find(|&i| bytes[i as usize] != pattern(file, i));
                if let Some(i) = bad {
                    out.push(format!(
                        "{name}: byte {i} is {}, the workload wrote {} there (a block torn, lost or misplaced)",
                        bytes[i as usize],
                        pattern(file, i)
                    ));
                }
            }
        }
    }
    let dirs = std::iter::once("/".to_string()).chain(m.dirs.iter().cloned());
    for dir in dirs {
        let Some(d) = img.lookup(&dir).and_then(|i| img.inode(i)) else {
            continue;
        };
        let mut want = m.children(&dir);
        if dir == "/" {
            want.extend(root.iter().cloned());
        }
        let have: BTreeSet<String> = img
            .entries(&d)
            .unwrap_or_default()
            .into_iter()
            .map(|(_, e)| String::from_utf8_lossy(e.name()).into_owned())
            .filter(|n| n != "." && n != "..")
            .collect();
        for extra in have.difference(&want) {
            let path = match dir.as_str() {
                "/" => format!("/{extra}"),
                d => format!("{d}/{extra}"),
            };
            out.push(format!(
                "{path} is there, but no call that returned left it (half-made, or an unlink undone)"
            ));
        }
    }
    out
}

/// The names in `img`'s root directory (`.` and `..` left out).
pub fn root_names(img: &Image) -> BTreeSet<String> {
    img.inode(crate::mkfs::format::ROOTINO)
        .and_then(|d| img.entries(&d))
        .unwrap_or_default()
        .into_iter()
        .map(|(_, e)| String::from_utf8_lossy(e.name()).into_owned())
        .filter(|n| n != "." && n != "..")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsedit::Editor;
    use crate::mkfs::format::ROOTINO;
    use crate::mkfs::mkfs;

    /// An image where the host has carried out the first `done` calls as
    /// the kernel would.
    fn replay(done: usize) -> Editor {
        let mut ed = Editor::new(mkfs(&[("README".into(), b"hi".to_vec())]).unwrap());
        let mut files: BTreeMap<&str, u32> = BTreeMap::new();
        let at = |ed: &Editor, p: &str| Image::new(&ed.bytes).unwrap().lookup(p).unwrap();
        for op in &SCRIPT[..done] {
            match *op {
                Op::Mkdir(p) => {
                    let dir = at(&ed, parent(p));
                    ed.mkdir(dir, p.rsplit('/').next().unwrap());
                }
                Op::Create(p) => {
                    let dir = at(&ed, parent(p));
                    files.insert(p, ed.create(dir, p.rsplit('/').next().unwrap(), b""));
                }
                Op::Write { path, off, len } => {
                    let data: Vec<u8> = (off..off + len).map(|i| pattern(path, i)).collect();
                    ed.append(files[path], &data);
                }
                Op::Link { old, new } => {
                    let dir = at(&ed, parent(new));
                    ed.link(dir, new.rsplit('/').next().unwrap(), at(&ed, old));
                }
                Op::Close(_) => {}
                Op::Unlink(p) => {
                    // Only the entry goes; the checker reads names only.
                    let dir = at(&ed, parent(p));
                    let name = p.rsplit('/').next().unwrap();
                    let d = ed.inode(dir);
                    let img = Image::new(&ed.bytes).unwrap();
                    let (slot, _) = img
                        .entries(&d)
                        .unwrap()
                        .into_iter()
                        .find(|(_, e)| e.is(name.as_bytes()))
                        .unwrap();
                    ed.set_entry(dir, slot, "", 0);
                }
            }
        }
        ed
    }

    fn root() -> BTreeSet<String> {
        BTreeSet::from(["README".to_string()])
    }

    #[test]
    fn every_prefix_of_the_script_keeps_its_own_promise_and_the_next_one_s() {
        for done in 0..=SCRIPT.len() {
            let ed = replay(done);
            let img = Image::new(&ed.bytes).unwrap();
            assert_eq!(check(&img, &root(), done), Ok(()), "after {done} calls");
            if done > 0 {
                assert_eq!(
                    check(&img, &root(), done - 1),
                    Ok(()),
                    "one more call may have committed"
                );
            }
            let visible = |i: usize| !matches!(SCRIPT[i], Op::Close(_));
            if done > 1 && visible(done - 1) && visible(done - 2) {
                assert!(
                    check(&img, &root(), done - 2).is_err(),
                    "but not two: {done}"
                );
            }
            if done < SCRIPT.len() && visible(done) {
                assert!(
                    check(&img, &root(), done + 1).is_err(),
                    "a call that returned is there: {done}"
                );
            }
        }
    }

    #[test]
    fn a_torn_write_and_a_wrong_byte_are_named() {
        // /d/a after its first two writes.
        let mut ed = replay(4);
        let img = Image::new(&ed.bytes).unwrap();
        let a = img.lookup("/d/a").unwrap();
        ed.edit_inode(a, |d| d.size = 700);
        let img = Image::new(&ed.bytes).unwrap();
        let e = check(&img, &root(), 4).unwrap_err().join("\n");
        assert!(
            e.contains("/d/a: size 700, but the writes that returned make 1024"),
            "{e}"
        );
        let mut ed = replay(4);
        let b = ed.inode(a).addrs[1];
        ed.block_mut(b)[5] ^= 0xff;
        let img = Image::new(&ed.bytes).unwrap();
        let e = check(&img, &root(), 4).unwrap_err().join("\n");
        assert!(e.contains("/d/a: byte 517 is"), "{e}");
    }

    #[test]
    fn a_name_no_call_left_is_half_made() {
        let mut ed = replay(2);
        let d = Image::new(&ed.bytes).unwrap().lookup("/d").unwrap();
        ed.create(d, "zz", b"");
        let img = Image::new(&ed.bytes).unwrap();
        let e = check(&img, &root(), 2).unwrap_err().join("\n");
        assert!(
            e.contains("/d/zz is there, but no call that returned left it"),
            "{e}"
        );
        assert!(e.contains("neither the state after the 2 calls"), "{e}");
        let _ = ROOTINO;
    }

    #[test]
    fn call_lines_are_read_from_whole_lines_in_script_order() {
        let out = format!("$ {}\r\n{}\r\n{}", SCRIPT[0], SCRIPT[1], SCRIPT[2]);
        assert_eq!(
            returned(&out).unwrap(),
            SCRIPT[..2].to_vec(),
            "the last line is not whole"
        );
        let wrong = format!("{}\n{}\n", SCRIPT[1], SCRIPT[0]);
        let e = returned(&wrong).unwrap_err();
        assert!(
            e.contains("call line 1 is `crashload: ok create /d/a`"),
            "{e}"
        );
        for op in SCRIPT {
            assert_eq!(Op::parse(&op.to_string()), Some(op));
        }
        assert_eq!(Op::parse("crashload: ok write /x 5 at"), None);
    }
}
