//! The image checker (`./run-qemu.sh --fsck IMG`): every inconsistency of
//! an xv6 image, each a [`Problem`] whose line names the block or inode
//! and the rule it breaks. The crash sweep runs it after every recovery.
//!
//! The rules, as xv6 keeps its image:
//! - the superblock's regions fit the image and do not overlap;
//! - the log's header is empty (n == 0) once recovery ran;
//! - every block in use (the metadata, every inode's data and indirect
//!   blocks) is marked in the bitmap and owned once; a marked block that
//!   nothing owns is a leak;
//! - an inode's nlink is the number of directory entries naming it, `.`
//!   entries not counted and each directory's `..` counted for its parent
//!   (xv6's `mkdir` gives a new directory nlink 1 and its parent one more;
//!   mkfs gives the root nlink 1, for its own `..`); an inode in use with
//!   nlink 0 that nothing names is an orphan;
//! - no entry names a free inode or one past the last;
//! - a file's blocks are exactly those below its size: none above it, no
//!   hole below it (xv6's `writei` allocates each block it reaches);
//! - a directory starts with `.` naming itself and `..` naming its parent
//!   (the root's names the root), and is reachable by one path only.

use std::collections::HashMap;
use std::fmt;

use crate::fsimage::{Image, Slot};
use crate::mkfs::format::{
    BPB, BSIZE, DIRENT_SIZE, Dinode, IPB, MAXFILE, NDIRECT, ROOTINO, SUPERBLOCK, T_DEV, T_DIR,
    T_FILE, word,
};

/// Who owns a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// The boot block, superblock, log, inode blocks and bitmap.
    Metadata,
    /// Inode `inum`, through `slot`.
    Inode { inum: u32, slot: Slot },
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Owner::Metadata => write!(f, "the metadata"),
            Owner::Inode { inum, slot } => write!(f, "inode {inum} ({slot})"),
        }
    }
}

/// One inconsistency: where it is and the rule it breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The superblock does not describe this image; nothing else is checked.
    Superblock(String),
    /// The log's header counts more blocks than the log has.
    LogCountPastLog {
        n: u32,
        nlog: u32,
    },
    /// The log holds a committed transaction not installed yet.
    LogPending {
        blocks: Vec<u32>,
    },
    BadType {
        inum: u32,
        kind: u16,
    },
    /// A free inode (type 0) still has a size or block numbers.
    FreeNotClear {
        inum: u32,
    },
    BlockPastEnd {
        owner: Owner,
        block: u32,
        size: u32,
    },
    BlockInMetadata {
        owner: Owner,
        block: u32,
        data_start: u32,
    },
    OwnedTwice {
        block: u32,
        first: Owner,
        second: Owner,
    },
    NotMarked {
        block: u32,
        owner: Owner,
    },
    Leak {
        block: u32,
    },
    SizePastMaxfile {
        inum: u32,
        size: u32,
    },
    BlockPastSize {
        inum: u32,
        slot: Slot,
        block: u32,
        size: u32,
    },
    Hole {
        inum: u32,
        file_block: usize,
        size: u32,
    },
    Nlink {
        inum: u32,
        nlink: u16,
        entries: u32,
    },
    Orphan {
        inum: u32,
    },
    EntryNamesFree {
        dir: u32,
        name: String,
        inum: u32,
    },
    EntryPastLast {
        dir: u32,
        name: String,
        inum: u32,
        ninodes: u32,
    },
    DirSize {
        inum: u32,
        size: u32,
    },
    Dot {
        inum: u32,
    },
    DotDot {
        inum: u32,
        found: Option<u32>,
        parent: u32,
    },
    ReachedTwice {
        inum: u32,
        first: String,
        second: String,
    },
    RootNotDir {
        kind: u16,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        use Problem::*;
        match self {
            Superblock(why) => write!(f, "superblock (block {SUPERBLOCK}): {why}"),
            LogCountPastLog { n, nlog } => write!(
                f,
                "log header: count {n} is past the log's {nlog} blocks (a torn or corrupt header)"
            ),
            LogPending { blocks } => write!(
                f,
                "log header: {} committed blocks not installed (recovery pending): {blocks:?}",
                blocks.len()
            ),
            BadType { inum, kind } => write!(
                f,
                "inode {inum}: type {kind} is none of 0 (free), {T_DIR} (dir), {T_FILE} (file), {T_DEV} (device)"
            ),
            FreeNotClear { inum } => write!(
                f,
                "inode {inum}: free (type 0) but keeps a size or block numbers (itrunc clears them)"
            ),
            BlockPastEnd { owner, block, size } => write!(
                f,
                "block {block}: named by {owner}, past the end of the image ({size} blocks)"
            ),
            BlockInMetadata {
                owner,
                block,
                data_start,
            } => write!(
                f,
                "block {block}: named by {owner}, inside the metadata (data starts at block {data_start})"
            ),
            OwnedTwice {
                block,
                first,
                second,
            } => write!(f, "block {block}: owned twice, by {first} and by {second}"),
            NotMarked { block, owner } => {
                write!(f, "block {block}: in use by {owner} but free in the bitmap")
            }
            Leak { block } => write!(
                f,
                "block {block}: marked in use in the bitmap but owned by nothing (a leak)"
            ),
            SizePastMaxfile { inum, size } => write!(
                f,
                "inode {inum}: size {size} is past the most a file holds ({} bytes)",
                MAXFILE * BSIZE
            ),
            BlockPastSize {
                inum,
                slot,
                block,
                size,
            } => write!(
                f,
                "inode {inum}: {slot} holds block {block}, past its size ({size} bytes)"
            ),
            Hole {
                inum,
                file_block,
                size,
            } => write!(
                f,
                "inode {inum}: file block {file_block} is missing below its size ({size} bytes): a hole"
            ),
            Nlink {
                inum,
                nlink,
                entries,
            } => write!(
                f,
                "inode {inum}: nlink {nlink} but {entries} directory entries name it"
            ),
            Orphan { inum } => write!(
                f,
                "inode {inum}: in use with nlink 0 and no entry naming it (an orphan; its blocks leak)"
            ),
            EntryNamesFree { dir, name, inum } => write!(
                f,
                "inode {dir}: entry {name:?} names inode {inum}, which is free"
            ),
            EntryPastLast {
                dir,
                name,
                inum,
                ninodes,
            } => write!(
                f,
                "inode {dir}: entry {name:?} names inode {inum}, past the last ({ninodes} inodes)"
            ),
            DirSize { inum, size } => write!(
                f,
                "inode {inum}: directory size {size} is not a whole number of {DIRENT_SIZE}-byte entries"
            ),
            Dot { inum } => write!(
                f,
                "inode {inum}: a directory's first entry must be \".\" naming itself"
            ),
            DotDot {
                inum,
                found,
                parent,
            } => match found {
                Some(found) => write!(
                    f,
                    "inode {inum}: \"..\" names inode {found}, but its parent is inode {parent}"
                ),
                None => write!(
                    f,
                    "inode {inum}: a directory's second entry must be \"..\" (its parent is inode {parent})"
                ),
            },
            ReachedTwice {
                inum,
                first,
                second,
            } => write!(
                f,
                "inode {inum}: directory reachable twice, as {first} and as {second} (a loop or a directory hard link)"
            ),
            RootNotDir { kind } => write!(
                f,
                "inode {ROOTINO}: the root is not a directory (type {kind})"
            ),
        }
    }
}

/// Every problem of the image in `bytes`, in the order found (empty: the
/// image is consistent).
pub fn fsck(bytes: &[u8]) -> Vec<Problem> {
    let img = match check_superblock(bytes) {
        Ok(img) => img,
        Err(why) => return vec![Problem::Superblock(why)],
    };
    let mut c = Checker {
        img,
        problems: Vec::new(),
        owners: HashMap::new(),
        data_start: img.sb.size - img.sb.nblocks,
    };
    c.log();
    c.inodes();
    c.bitmap();
    c.directories();
    c.problems
}

/// The image, if its superblock's regions fit it in xv6's order (boot
/// block, superblock, log, inodes, bitmap, data) without overlapping;
/// otherwise the field and the rule broken.
pub fn check_superblock(bytes: &[u8]) -> Result<Image<'_>, String> {
    if !bytes.len().is_multiple_of(BSIZE) {
        return Err(format!(
            "the image is {} bytes, not a whole number of {BSIZE}-byte blocks",
            bytes.len()
        ));
    }
    let img = Image::new(bytes).ok_or_else(|| {
        format!(
            "the image is {} bytes, too small to hold a superblock",
            bytes.len()
        )
    })?;
    let sb = img.sb;
    let (size, blocks) = (u64::from(sb.size), u64::from(img.blocks()));
    if size > blocks {
        return Err(format!(
            "size is {size} blocks but the image holds {blocks}"
        ));
    }
    if sb.nblocks > sb.size {
        return Err(format!(
            "nblocks {} is more than size {}",
            sb.nblocks, sb.size
        ));
    }
    if sb.ninodes <= ROOTINO {
        return Err(format!("ninodes {} leaves no root inode", sb.ninodes));
    }
    let log_end = u64::from(sb.logstart) + u64::from(sb.nlog);
    let inode_end = u64::from(sb.inodestart) + u64::from(sb.ninodes).div_ceil(IPB as u64);
    let bitmap_end = u64::from(sb.bmapstart) + size.div_ceil(BPB as u64);
    let data_start = size - u64::from(sb.nblocks);
    let order = [
        (
            "logstart",
            u64::from(sb.logstart),
            u64::from(SUPERBLOCK) + 1,
        ),
        ("inodestart", u64::from(sb.inodestart), log_end),
        ("bmapstart", u64::from(sb.bmapstart), inode_end),
        ("the data (size - nblocks)", data_start, bitmap_end),
    ];
    for (field, at, least) in order {
        if at < least {
            return Err(format!(
                "{field} is block {at}, inside the region before it (which ends at block {least})"
            ));
        }
    }
    if sb.nlog < 2 || u64::from(sb.nlog) > (BSIZE / 4) as u64 {
        return Err(format!(
            "nlog {} is not a log size (a header and at least one block, at most {} blocks)",
            sb.nlog,
            BSIZE / 4
        ));
    }
    Ok(img)
}

/// The lines `--fsck` prints, one per problem.
pub fn report(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("fsck: {p}\n")).collect()
}

struct Checker<'a> {
    img: Image<'a>,
    problems: Vec<Problem>,
    /// Every block some inode names, and who named it first.
    owners: HashMap<u32, Owner>,
    data_start: u32,
}

impl Checker<'_> {
    fn log(&mut self) {
        let sb = self.img.sb;
        let Some(header) = self.img.block(sb.logstart) else {
            return;
        };
        let n = word(header, 0);
        // The header holds its count, then one block number per log block
        // after the header.
        let room = sb.nlog - 1;
        if n > room {
            self.problems
                .push(Problem::LogCountPastLog { n, nlog: room });
        } else if n > 0 {
            let blocks = (0..n as usize).map(|i| word(header, 4 + 4 * i)).collect();
            self.problems.push(Problem::LogPending { blocks });
        }
    }

    /// Each inode's type, block numbers and size; fills `owners`.
    fn inodes(&mut self) {
        for inum in 1..self.img.sb.ninodes {
            let Some(d) = self.img.inode(inum) else {
                continue;
            };
            match d.kind {
                0 => {
                    if d.size != 0 || d.addrs.iter().any(|&a| a != 0) {
                        self.problems.push(Problem::FreeNotClear { inum });
                    }
                }
                T_DIR | T_FILE | T_DEV => self.blocks_of(inum, &d),
                kind => self.problems.push(Problem::BadType { inum, kind }),
            }
        }
    }

    fn blocks_of(&mut self, inum: u32, d: &Dinode) {
        let size = self.img.sb.size;
        if d.size as usize > MAXFILE * BSIZE {
            self.problems
                .push(Problem::SizePastMaxfile { inum, size: d.size });
        }
        let nblocks = (d.size as usize).div_ceil(BSIZE);
        let mut mapped = vec![false; nblocks.min(MAXFILE)];
        for (slot, block) in self.img.slots(d) {
            let owner = Owner::Inode { inum, slot };
            if block >= size {
                self.problems
                    .push(Problem::BlockPastEnd { owner, block, size });
                continue;
            }
            if block < self.data_start {
                self.problems.push(Problem::BlockInMetadata {
                    owner,
                    block,
                    data_start: self.data_start,
                });
                continue;
            }
            match self.owners.get(&block) {
                Some(&first) => self.problems.push(Problem::OwnedTwice {
                    block,
                    first,
                    second: owner,
                }),
                None => {
                    self.owners.insert(block, owner);
                }
            }
            let past = match slot.file_block() {
                Some(fb) if fb < nblocks => {
                    mapped[fb] = true;
                    false
                }
                Some(_) => true,
                // The indirect block is needed once the size passes the
                // direct blocks.
                None => nblocks <= NDIRECT,
            };
            if past {
                self.problems.push(Problem::BlockPastSize {
                    inum,
                    slot,
                    block,
                    size: d.size,
                });
            }
        }
        if let Some(file_block) = mapped.iter().position(|&m| !m) {
            self.problems.push(Problem::Hole {
                inum,
                file_block,
                size: d.size,
            });
        }
    }

    /// The bitmap against the metadata and `owners`.
    fn bitmap(&mut self) {
        let sb = self.img.sb;
        for block in 0..sb.size {
            let Some(bits) = self.img.block(sb.bblock(block)) else {
                continue;
            };
            let bit = block as usize % BPB;
            let marked = bits[bit / 8] & (1 << (bit % 8)) != 0;
            let owner = if block < self.data_start {
                Some(Owner::Metadata)
            } else {
                self.owners.get(&block).copied()
            };
            match (marked, owner) {
                (false, Some(owner)) => self.problems.push(Problem::NotMarked { block, owner }),
                (true, None) => self.problems.push(Problem::Leak { block }),
                _ => {}
            }
        }
    }

    /// Entries, nlink, `.` and `..`, and reachability from the root.
    fn directories(&mut self) {
        let sb = self.img.sb;
        let inodes: Vec<Option<Dinode>> = (0..sb.ninodes).map(|i| self.img.inode(i)).collect();
        let kind = |i: u32| inodes[i as usize].map_or(0, |d| d.kind);
        // Entries naming each inode, over every directory in use.
        let mut named = vec![0u32; sb.ninodes as usize];
        for dir in 1..sb.ninodes {
            let Some(d) = inodes[dir as usize].filter(|d| d.kind == T_DIR) else {
                continue;
            };
            if !(d.size as usize).is_multiple_of(DIRENT_SIZE) {
                self.problems.push(Problem::DirSize {
                    inum: dir,
                    size: d.size,
                });
            }
            for (_, e) in self.img.entries(&d).unwrap_or_default() {
                let inum = u32::from(e.inum);
                let name = String::from_utf8_lossy(e.name()).into_owned();
                if inum >= sb.ninodes {
                    self.problems.push(Problem::EntryPastLast {
                        dir,
                        name,
                        inum,
                        ninodes: sb.ninodes,
                    });
                } else if kind(inum) == 0 {
                    self.problems
                        .push(Problem::EntryNamesFree { dir, name, inum });
                } else if e.name() != b"." {
                    named[inum as usize] += 1;
                }
            }
        }
        for inum in 1..sb.ninodes {
            let Some(d) = inodes[inum as usize].filter(|d| d.kind != 0) else {
                continue;
            };
            let entries = named[inum as usize];
            if d.nlink == 0 && entries == 0 {
                self.problems.push(Problem::Orphan { inum });
            } else if u32::from(d.nlink) != entries {
                self.problems.push(Problem::Nlink {
                    inum,
                    nlink: d.nlink,
                    entries,
                });
            }
        }
        if kind(ROOTINO) != T_DIR {
            self.problems.push(Problem::RootNotDir {
                kind: kind(ROOTINO),
            });
            return;
        }
        self.walk(&inodes);
    }

    /// From the root, each directory once: `.` and `..` checked against
    /// the path it was reached by, a second path reported.
    fn walk(&mut self, inodes: &[Option<Dinode>]) {
        let mut reached: HashMap<u32, String> = HashMap::new();
        reached.insert(ROOTINO, "/".to_string());
        let mut todo = vec![(ROOTINO, ROOTINO, "/".to_string())];
        while let Some((dir, parent, path)) = todo.pop() {
            let Some(d) = inodes[dir as usize] else {
                continue;
            };
            let entries = self.img.entries(&d).unwrap_or_default();
            let at = |slot: usize| entries.iter().find(|(i, _)| *i == slot).map(|(_, e)| e);
            if !at(0).is_some_and(|e| e.name() == b"." && u32::from(e.inum) == dir) {
                self.problems.push(Problem::Dot { inum: dir });
            }
            match at(1).filter(|e| e.name() == b"..") {
                Some(e) if u32::from(e.inum) == parent => {}
                other => self.problems.push(Problem::DotDot {
                    inum: dir,
                    found: other.map(|e| u32::from(e.inum)),
                    parent,
                }),
            }
            for (_, e) in &entries {
                let inum = u32::from(e.inum);
                if e.name() == b"." || e.name() == b".." || inum >= inodes.len() as u32 {
                    continue;
                }
                if !inodes[inum as usize].is_some_and(|c| c.kind == T_DIR) {
                    continue;
                }
                let name = String::from_utf8_lossy(e.name());
                let child = match path.as_str() {
                    "/" => format!("/{name}"),
                    p => format!("{p}/{name}"),
                };
                match reached.get(&inum) {
                    Some(first) => self.problems.push(Problem::ReachedTwice {
                        inum,
                        first: first.clone(),
                        second: child,
                    }),
                    None => {
                        reached.insert(inum, child.clone());
                        todo.push((inum, dir, child));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
