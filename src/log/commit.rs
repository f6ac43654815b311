//! The order of a commit's block writes, and recovery, over any disk: the
//! kernel runs them through the buffer cache (`log.rs`), the host tests
//! through a fake disk that can lose power after any write.
//!
//! A commit writes, in this order:
//! 1. each logged block's new contents into its log slot (`write_log`);
//! 2. the header naming them (`write_head`): the commit point;
//! 3. each slot's copy over its home block (`install_trans`);
//! 4. an empty header (`write_head`), so the log is not installed twice.
//!
//! A power cut before step 2 completes leaves the home blocks untouched
//! and an old empty header: the transaction never happened. A cut after
//! it leaves a header recovery finds at the next mount, and recovery does
//! steps 3 and 4 again (installing a block twice writes the same bytes).

use crate::fs::format::BSIZE;

use super::header::{LogArea, LogError, LogHeader};

/// The disk as the log sees it.
pub trait LogDisk {
    /// Block `blockno` as the cache holds it (the newest contents, maybe not
    /// yet on disk).
    fn read(&mut self, blockno: u32, out: &mut [u8; BSIZE]);
    /// Put `data` in block `blockno` and write it to the disk.
    fn write(&mut self, blockno: u32, data: &[u8; BSIZE]);
    /// Write block `from`'s contents (as the cache holds them) to block
    /// `to` on disk.
    fn copy(&mut self, from: u32, to: u32) {
        let mut data = [0; BSIZE];
        self.read(from, &mut data);
        self.write(to, &data);
    }
}

/// Copy each logged block from the cache into its slot.
pub fn write_log(d: &mut impl LogDisk, area: &LogArea, h: &LogHeader) {
    for (i, &home) in h.blocks().iter().enumerate() {
        d.copy(home, area.slot(i));
    }
}

/// Write `h` to the header block.
pub fn write_head(d: &mut impl LogDisk, area: &LogArea, h: &LogHeader) {
    let mut block = [0; BSIZE];
    h.encode(&mut block);
    d.write(area.start, &block);
}

/// Copy each slot over its home block.
pub fn install_trans(d: &mut impl LogDisk, area: &LogArea, h: &LogHeader) {
    for (i, &home) in h.blocks().iter().enumerate() {
        d.copy(area.slot(i), home);
    }
}

/// Commit the transaction `h` names: log, commit point, install, clear.
/// Nothing to write if it is empty.
pub fn commit(d: &mut impl LogDisk, area: &LogArea, h: &LogHeader) {
    if h.is_empty() {
        return;
    }
    write_log(d, area, h);
    write_head(d, area, h);
    install_trans(d, area, h);
    write_head(d, area, &LogHeader::EMPTY);
}

/// How many block writes committing `h` takes.
pub fn commit_writes(h: &LogHeader) -> usize {
    match h.len() {
        0 => 0,
        n => 2 * n + 2,
    }
}

/// Install what the log holds after a crash, then clear it (xv6's
/// `recover_from_log`): the number of blocks installed, or the header's
/// fault (nothing is written then).
pub fn recover(d: &mut impl LogDisk, area: &LogArea) -> Result<usize, LogError> {
    let mut block = [0; BSIZE];
    d.read(area.start, &mut block);
    let h = LogHeader::decode(&block, area)?;
    if h.is_empty() {
        return Ok(0);
    }
    install_trans(d, area, &h);
    write_head(d, area, &LogHeader::EMPTY);
    Ok(h.len())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::fs::format::{LOGSIZE, SuperBlock};

    const SIZE: u32 = 100;
    const LOGSTART: u32 = 2;

    /// A disk of SIZE blocks behind a cache that holds blocks changed but
    /// not written; the power goes after `writes_left` writes.
    struct FakeDisk {
        blocks: Vec<[u8; BSIZE]>,
        cache: HashMap<u32, [u8; BSIZE]>,
        writes_left: usize,
        writes: usize,
    }

    impl FakeDisk {
        fn new(blocks: Vec<[u8; BSIZE]>) -> FakeDisk {
            FakeDisk {
                blocks,
                cache: HashMap::new(),
                writes_left: usize::MAX,
                writes: 0,
            }
        }
    }

    impl LogDisk for FakeDisk {
        fn read(&mut self, blockno: u32, out: &mut [u8; BSIZE]) {
            *out = *self
                .cache
                .get(&blockno)
                .unwrap_or(&self.blocks[blockno as usize]);
        }
        fn write(&mut self, blockno: u32, data: &[u8; BSIZE]) {
            self.cache.insert(blockno, *data);
            if self.writes_left > 0 {
                self.writes_left -= 1;
                self.writes += 1;
                self.blocks[blockno as usize] = *data;
            }
        }
    }

    fn area() -> LogArea {
        LogArea::new(&SuperBlock {
            size: SIZE,
            nblocks: 0,
            ninodes: 0,
            nlog: LOGSIZE,
            logstart: LOGSTART,
            inodestart: LOGSTART + LOGSIZE,
            bmapstart: 0,
        })
        .unwrap()
    }

    /// A disk whose every home block is filled with `old`, an empty header.
    fn old_disk(old: u8) -> Vec<[u8; BSIZE]> {
        let mut blocks = vec![[old; BSIZE]; SIZE as usize];
        LogHeader::EMPTY.encode(&mut blocks[LOGSTART as usize]);
        blocks
    }

    /// A transaction changing `homes` to `new`, in the cache of `d`.
    fn transaction(d: &mut FakeDisk, homes: &[u32], new: u8) -> LogHeader {
        let mut h = LogHeader::EMPTY;
        for &b in homes {
            h.add(b, area().capacity).unwrap();
            d.cache.insert(b, [new; BSIZE]);
        }
        h
    }

    #[test]
    fn a_commit_puts_every_block_home_and_clears_the_header() {
        let a = area();
        let mut d = FakeDisk::new(old_disk(1));
        let homes = [a.first_home, 50, 99];
        let h = transaction(&mut d, &homes, 7);
        commit(&mut d, &a, &h);
        assert_eq!(d.writes, commit_writes(&h));
        for b in homes {
            assert_eq!(d.blocks[b as usize], [7; BSIZE]);
        }
        let mut disk = FakeDisk::new(d.blocks.clone());
        assert_eq!(recover(&mut disk, &a), Ok(0), "the header was cleared");
        assert_eq!(disk.writes, 0, "an empty log writes nothing at mount");
        let mut empty = FakeDisk::new(old_disk(1));
        commit(&mut empty, &a, &LogHeader::EMPTY);
        assert_eq!(empty.writes, 0);
    }

    /// The power goes after each possible number of the commit's writes;
    /// recovery at the next mount gives every home block its old contents
    /// or every one its new contents, never a mix.
    #[test]
    fn a_commit_cut_after_any_write_recovers_all_or_nothing() {
        let a = area();
        let homes = [60, a.first_home, 99, 45, 46];
        let total = {
            let mut d = FakeDisk::new(old_disk(1));
            let h = transaction(&mut d, &homes, 9);
            commit_writes(&h)
        };
        let mut outcomes = [0, 0];
        for cut in 0..=total {
            let mut d = FakeDisk::new(old_disk(1));
            let h = transaction(&mut d, &homes, 9);
            d.writes_left = cut;
            commit(&mut d, &a, &h);
            assert_eq!(d.writes, cut);
            // Power back: a new cache, recovery, then every block looks.
            let mut after = FakeDisk::new(d.blocks);
            let recovered = recover(&mut after, &a).unwrap();
            let committed = cut > homes.len(); // the header reached the disk
            let want = if committed { 9 } else { 1 };
            for b in 0..SIZE {
                let in_log = (a.start..a.first_home).contains(&b);
                if !in_log {
                    let expect = if homes.contains(&b) { want } else { 1 };
                    assert_eq!(
                        after.blocks[b as usize], [expect; BSIZE],
                        "cut {cut} block {b}"
                    );
                }
            }
            let header_cleared = cut == total;
            assert_eq!(
                recovered,
                if committed && !header_cleared {
                    homes.len()
                } else {
                    0
                },
                "cut {cut}"
            );
            assert_eq!(
                recover(&mut after, &a),
                Ok(0),
                "cut {cut}: recovery clears the log"
            );
            outcomes[committed as usize] += 1;
        }
        assert!(outcomes[0] > 0 && outcomes[1] > 0, "{outcomes:?}");
    }

    #[test]
    fn recovery_refuses_a_corrupt_header_and_writes_nothing() {
        let a = area();
        let mut blocks = old_disk(1);
        let mut h = LogHeader::EMPTY;
        h.add(SIZE - 1, a.capacity).unwrap();
        h.encode(&mut blocks[a.start as usize]);
        blocks[a.start as usize][4..8].copy_from_slice(&SIZE.to_le_bytes()); // past the end
        let mut d = FakeDisk::new(blocks);
        assert_eq!(
            recover(&mut d, &a),
            Err(LogError::BadBlock {
                slot: 0,
                block: SIZE,
                first: a.first_home,
                end: SIZE
            })
        );
        assert_eq!(d.writes, 0);
    }
}
