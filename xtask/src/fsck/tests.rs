//! One test per rule: a clean image from our mkfs (and one edited as
//! xv6's calls would), then hand-broken copies, each expected to report
//! exactly its problem, worded.

use super::*;
use crate::fsedit::Editor;
use crate::mkfs::format::{LOGSIZE, NDIRECT, T_FILE};
use crate::mkfs::mkfs;

/// A big file's size: past the direct blocks, into the indirect one.
const BIG: usize = (NDIRECT + 2) * BSIZE + 100;

fn base() -> Editor {
    let files = vec![
        ("README".to_string(), b"hello\n".to_vec()),
        ("big".to_string(), vec![7u8; BIG]),
    ];
    Editor::new(mkfs(&files).unwrap())
}

/// `base` grown as xv6's calls would: /d, /d/e, /d/f (a file), and a
/// link /g to /d/f.
fn edited() -> (Editor, Names) {
    let mut ed = base();
    let d = ed.mkdir(ROOTINO, "d");
    let e = ed.mkdir(d, "e");
    let f = ed.create(d, "f", &[1u8; 600]);
    ed.link(ROOTINO, "g", f);
    (ed, Names { d, e, f })
}

struct Names {
    d: u32,
    e: u32,
    f: u32,
}

fn inum_of(ed: &Editor, path: &str) -> u32 {
    Image::new(&ed.bytes).unwrap().lookup(path).unwrap()
}

/// The problems of `ed`, which must be exactly `want`; each line must
/// contain its `words`.
fn expect(ed: &Editor, want: &[Problem], words: &[&str]) {
    let got = fsck(&ed.bytes);
    assert_eq!(got, want, "{}", report(&got));
    let text = report(&got);
    for w in words {
        assert!(text.contains(w), "{w:?} not in:\n{text}");
    }
}

#[test]
fn our_mkfs_image_is_clean() {
    expect(&base(), &[], &[]);
}

#[test]
fn an_image_grown_as_xv6_grows_it_is_clean() {
    let (ed, n) = edited();
    expect(&ed, &[], &[]);
    // xv6's conventions, seen from the other side: the root's nlink counts
    // its own ".." and d's; d's counts its entry and e's "..".
    assert_eq!(ed.inode(ROOTINO).nlink, 2);
    assert_eq!(ed.inode(n.d).nlink, 2);
    assert_eq!(ed.inode(n.e).nlink, 1);
    assert_eq!(ed.inode(n.f).nlink, 2);
}

#[test]
fn a_block_in_use_but_free_in_the_bitmap() {
    let mut ed = base();
    let big = inum_of(&ed, "big");
    let b = ed.inode(big).addrs[3];
    ed.mark(b, false);
    let owner = Owner::Inode {
        inum: big,
        slot: Slot::Direct(3),
    };
    expect(
        &ed,
        &[Problem::NotMarked { block: b, owner }],
        &[&format!(
            "block {b}: in use by inode {big} (addrs[3]) but free in the bitmap"
        )],
    );
}

#[test]
fn a_metadata_block_free_in_the_bitmap() {
    let mut ed = base();
    let log = ed.sb.logstart + 1;
    ed.mark(log, false);
    expect(
        &ed,
        &[Problem::NotMarked {
            block: log,
            owner: Owner::Metadata,
        }],
        &["in use by the metadata but free in the bitmap"],
    );
}

#[test]
fn a_marked_block_nothing_owns_is_a_leak() {
    let mut ed = base();
    let b = ed.sb.size - 1;
    ed.mark(b, true);
    expect(
        &ed,
        &[Problem::Leak { block: b }],
        &[&format!(
            "block {b}: marked in use in the bitmap but owned by nothing (a leak)"
        )],
    );
}

#[test]
fn a_block_owned_by_two_inodes() {
    let mut ed = base();
    let (readme, big) = (inum_of(&ed, "README"), inum_of(&ed, "big"));
    let shared = ed.inode(big).addrs[0];
    let old = ed.inode(readme).addrs[0];
    ed.edit_inode(readme, |d| d.addrs[0] = shared);
    ed.mark(old, false);
    let got = fsck(&ed.bytes);
    let twice = got
        .iter()
        .find(|p| matches!(p, Problem::OwnedTwice { block, .. } if *block == shared))
        .unwrap_or_else(|| panic!("no owned-twice problem: {}", report(&got)));
    let line = twice.to_string();
    assert!(
        line.contains(&format!("block {shared}: owned twice")),
        "{line}"
    );
    assert!(
        line.contains(&format!("inode {readme} (addrs[0])")),
        "{line}"
    );
    assert!(line.contains(&format!("inode {big} (addrs[0])")), "{line}");
    assert_eq!(got.len(), 1, "{}", report(&got));
}

#[test]
fn nlink_must_count_the_entries() {
    let (mut ed, n) = edited();
    ed.edit_inode(n.f, |d| d.nlink = 1);
    expect(
        &ed,
        &[Problem::Nlink {
            inum: n.f,
            nlink: 1,
            entries: 2,
        }],
        &[&format!(
            "inode {}: nlink 1 but 2 directory entries name it",
            n.f
        )],
    );
}

#[test]
fn a_directory_s_nlink_counts_its_children_s_dotdot() {
    let (mut ed, n) = edited();
    // As if mkdir e had forgotten the parent's nlink++.
    ed.edit_inode(n.d, |d| d.nlink = 1);
    expect(
        &ed,
        &[Problem::Nlink {
            inum: n.d,
            nlink: 1,
            entries: 2,
        }],
        &["nlink 1 but 2 directory entries"],
    );
}

#[test]
fn an_inode_in_use_that_nothing_names_is_an_orphan() {
    let mut ed = base();
    let inum = ed.ialloc(T_FILE);
    expect(
        &ed,
        &[Problem::Orphan { inum }],
        &[&format!(
            "inode {inum}: in use with nlink 0 and no entry naming it"
        )],
    );
}

#[test]
fn an_entry_naming_a_free_inode() {
    let (mut ed, n) = edited();
    let free = ed.sb.ninodes - 1;
    ed.dirlink(n.d, "ghost", free);
    expect(
        &ed,
        &[Problem::EntryNamesFree {
            dir: n.d,
            name: "ghost".into(),
            inum: free,
        }],
        &[&format!(
            "inode {}: entry \"ghost\" names inode {free}, which is free",
            n.d
        )],
    );
}

#[test]
fn an_entry_past_the_last_inode() {
    let mut ed = base();
    let past = ed.sb.ninodes + 5;
    ed.dirlink(ROOTINO, "far", past);
    expect(
        &ed,
        &[Problem::EntryPastLast {
            dir: ROOTINO,
            name: "far".into(),
            inum: past,
            ninodes: ed.sb.ninodes,
        }],
        &["past the last"],
    );
}

#[test]
fn a_size_below_its_blocks_leaves_a_block_past_the_size() {
    let mut ed = base();
    let big = inum_of(&ed, "big");
    let last = ed.inode(big);
    // One block fewer than the blocks mapped: the indirect's last slot is
    // past the size.
    let size = (BIG.div_ceil(BSIZE) - 1) * BSIZE;
    ed.edit_inode(big, |d| d.size = size as u32);
    let got = fsck(&ed.bytes);
    assert_eq!(got.len(), 1, "{}", report(&got));
    let Problem::BlockPastSize { inum, slot, .. } = &got[0] else {
        panic!("{}", report(&got));
    };
    assert_eq!(
        (*inum, *slot),
        (big, Slot::InIndirect(BIG.div_ceil(BSIZE) - 1 - NDIRECT))
    );
    assert!(
        got[0]
            .to_string()
            .contains(&format!("past its size ({size} bytes)"))
    );
    assert_ne!(last.addrs[NDIRECT], 0);
}

#[test]
fn an_indirect_block_under_a_small_size_is_past_the_size() {
    let mut ed = base();
    let big = inum_of(&ed, "big");
    let ind = ed.inode(big).addrs[NDIRECT];
    // Keep the indirect block but drop what it maps, and shrink the file
    // to its direct blocks.
    let mapped: Vec<u32> = (0..BIG.div_ceil(BSIZE) - NDIRECT)
        .map(|i| ed.word(ind, 4 * i))
        .collect();
    for (i, b) in mapped.into_iter().enumerate() {
        ed.put_word(ind, 4 * i, 0);
        ed.mark(b, false);
    }
    ed.edit_inode(big, |d| d.size = (NDIRECT * BSIZE) as u32);
    expect(
        &ed,
        &[Problem::BlockPastSize {
            inum: big,
            slot: Slot::Indirect,
            block: ind,
            size: (NDIRECT * BSIZE) as u32,
        }],
        &["(the indirect block) holds block"],
    );
}

#[test]
fn a_size_above_its_blocks_is_a_hole() {
    let mut ed = base();
    let readme = inum_of(&ed, "README");
    ed.edit_inode(readme, |d| d.size = (2 * BSIZE) as u32);
    expect(
        &ed,
        &[Problem::Hole {
            inum: readme,
            file_block: 1,
            size: (2 * BSIZE) as u32,
        }],
        &[&format!(
            "inode {readme}: file block 1 is missing below its size"
        )],
    );
}

#[test]
fn a_size_past_the_largest_file() {
    let mut ed = base();
    let readme = inum_of(&ed, "README");
    let size = (MAXFILE * BSIZE + 1) as u32;
    ed.edit_inode(readme, |d| d.size = size);
    let got = fsck(&ed.bytes);
    assert!(
        got.contains(&Problem::SizePastMaxfile { inum: readme, size }),
        "{}",
        report(&got)
    );
}

#[test]
fn a_block_number_past_the_end_or_in_the_metadata() {
    let mut ed = base();
    let readme = inum_of(&ed, "README");
    let old = ed.inode(readme).addrs[0];
    ed.mark(old, false);
    let end = ed.sb.size + 40;
    ed.edit_inode(readme, |d| d.addrs[0] = end);
    let owner = Owner::Inode {
        inum: readme,
        slot: Slot::Direct(0),
    };
    let size = ed.sb.size;
    let got = fsck(&ed.bytes);
    assert!(
        got.contains(&Problem::BlockPastEnd {
            owner,
            block: end,
            size
        }),
        "{}",
        report(&got)
    );
    assert!(report(&got).contains(&format!(
        "block {end}: named by inode {readme} (addrs[0]), past the end of the image"
    )));
    let inodes = ed.sb.inodestart;
    ed.edit_inode(readme, |d| d.addrs[0] = inodes);
    let got = fsck(&ed.bytes);
    assert!(
        report(&got).contains(&format!(
            "block {inodes}: named by inode {readme} (addrs[0]), inside the metadata"
        )),
        "{}",
        report(&got)
    );
}

#[test]
fn a_type_no_inode_has() {
    let mut ed = base();
    let readme = inum_of(&ed, "README");
    ed.edit_inode(readme, |d| d.kind = 9);
    let got = fsck(&ed.bytes);
    assert!(
        got.contains(&Problem::BadType {
            inum: readme,
            kind: 9
        }),
        "{}",
        report(&got)
    );
}

#[test]
fn a_free_inode_keeping_its_blocks() {
    let mut ed = base();
    let readme = inum_of(&ed, "README");
    ed.edit_inode(readme, |d| d.kind = 0);
    let got = fsck(&ed.bytes);
    assert!(
        got.contains(&Problem::FreeNotClear { inum: readme }),
        "{}",
        report(&got)
    );
    // Its entry now names a free inode, and its block is a leak.
    assert!(report(&got).contains("which is free"), "{}", report(&got));
    assert!(report(&got).contains("(a leak)"), "{}", report(&got));
}

#[test]
fn a_directory_of_a_torn_entry_size() {
    let (mut ed, n) = edited();
    ed.edit_inode(n.e, |d| d.size = 2 * DIRENT_SIZE as u32 + 3);
    let got = fsck(&ed.bytes);
    assert!(
        got.contains(&Problem::DirSize {
            inum: n.e,
            size: 2 * DIRENT_SIZE as u32 + 3
        }),
        "{}",
        report(&got)
    );
}

#[test]
fn dot_must_name_the_directory_itself() {
    let (mut ed, n) = edited();
    ed.set_entry(n.e, 0, ".", n.d);
    expect(
        &ed,
        &[Problem::Dot { inum: n.e }],
        &["first entry must be \".\" naming itself"],
    );
}

#[test]
fn dotdot_must_name_the_parent() {
    let (mut ed, n) = edited();
    // e's ".." names the root instead of d: the counts move too.
    ed.set_entry(n.e, 1, "..", ROOTINO);
    ed.edit_inode(n.d, |d| d.nlink -= 1);
    ed.edit_inode(ROOTINO, |d| d.nlink += 1);
    expect(
        &ed,
        &[Problem::DotDot {
            inum: n.e,
            found: Some(ROOTINO),
            parent: n.d,
        }],
        &[&format!(
            "inode {}: \"..\" names inode {ROOTINO}, but its parent is inode {}",
            n.e, n.d
        )],
    );
}

#[test]
fn a_directory_loop_is_reachable_twice() {
    let (mut ed, n) = edited();
    // /d/e/up names d again: a loop (nlink kept right, so only the loop
    // is left to report).
    ed.link(n.e, "up", n.d);
    expect(
        &ed,
        &[Problem::ReachedTwice {
            inum: n.d,
            first: "/d".into(),
            second: "/d/e/up".into(),
        }],
        &[&format!(
            "inode {}: directory reachable twice, as /d and as /d/e/up",
            n.d
        )],
    );
}

#[test]
fn a_loop_back_to_the_root() {
    let (mut ed, n) = edited();
    ed.link(n.e, "top", ROOTINO);
    let got = fsck(&ed.bytes);
    assert!(
        got.contains(&Problem::ReachedTwice {
            inum: ROOTINO,
            first: "/".into(),
            second: "/d/e/top".into()
        }),
        "{}",
        report(&got)
    );
}

#[test]
fn the_root_must_be_a_directory() {
    let mut ed = base();
    ed.edit_inode(ROOTINO, |d| d.kind = T_FILE);
    let got = fsck(&ed.bytes);
    assert!(
        got.contains(&Problem::RootNotDir { kind: T_FILE }),
        "{}",
        report(&got)
    );
}

#[test]
fn a_committed_log_not_installed_is_pending() {
    let mut ed = base();
    let head = ed.sb.logstart;
    ed.put_word(head, 0, 2);
    ed.put_word(head, 4, 70);
    ed.put_word(head, 8, 71);
    expect(
        &ed,
        &[Problem::LogPending {
            blocks: vec![70, 71],
        }],
        &["log header: 2 committed blocks not installed (recovery pending): [70, 71]"],
    );
}

#[test]
fn a_log_count_past_the_log() {
    let mut ed = base();
    let head = ed.sb.logstart;
    ed.put_word(head, 0, LOGSIZE + 1);
    expect(
        &ed,
        &[Problem::LogCountPastLog {
            n: LOGSIZE + 1,
            nlog: LOGSIZE - 1,
        }],
        &[&format!(
            "log header: count {} is past the log's {} blocks",
            LOGSIZE + 1,
            LOGSIZE - 1
        )],
    );
}

#[test]
fn a_superblock_larger_than_the_image_stops_the_check() {
    let mut ed = base();
    ed.sb.size += 1;
    ed.write_superblock();
    let size = ed.sb.size;
    expect(
        &ed,
        &[Problem::Superblock(format!(
            "size is {size} blocks but the image holds {}",
            size - 1
        ))],
        &["superblock (block 1): size is"],
    );
}

#[test]
fn superblock_regions_must_not_overlap() {
    let mut ed = base();
    ed.sb.inodestart = ed.sb.logstart + 1;
    ed.write_superblock();
    let got = fsck(&ed.bytes);
    assert_eq!(got.len(), 1, "{}", report(&got));
    assert!(
        report(&got).contains("inodestart is block"),
        "{}",
        report(&got)
    );
    assert!(
        report(&got).contains("inside the region before it"),
        "{}",
        report(&got)
    );
    let mut ed = base();
    ed.sb.nblocks = ed.sb.size + 1;
    ed.write_superblock();
    assert!(report(&fsck(&ed.bytes)).contains("nblocks"));
    let torn = vec![0u8; BSIZE + 3];
    assert!(report(&fsck(&torn)).contains("not a whole number"));
}

#[test]
fn random_damage_is_reported_never_a_panic() {
    let (ed, _) = edited();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    // Damage in the superblock, log, inodes, bitmap and the first data
    // blocks (the directories), a few bytes at a time.
    let span = (ed.sb.size - ed.sb.nblocks + 20) as usize * BSIZE;
    let mut found = 0;
    for _ in 0..300 {
        let mut bytes = ed.bytes.clone();
        for _ in 0..1 + next() % 8 {
            let at = BSIZE + (next() as usize % (span - BSIZE));
            bytes[at] = next() as u8;
        }
        let problems = fsck(&bytes);
        found += usize::from(!problems.is_empty());
        let _ = report(&problems);
    }
    eprintln!("{found} of 300 damaged images reported");
    // Much of that span is unused (free inodes' slots, the log's blocks,
    // bitmap bits past the image): not every change is a fault.
    assert!(found >= 150, "{found} of 300");
}
