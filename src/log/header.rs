//! The log's header block: its layout on disk, and the rules a header read
//! back at mount must follow before recovery trusts it.
//!
//! ```text
//! block  logstart      logstart+1 .. logstart+nlog-1
//!       [ header ]    [ slot 0 ][ slot 1 ] ...
//! header: word 0 = n (blocks committed), words 1..=n = their home block numbers
//! ```
//!
//! A header with `n` = 0 means "nothing to install". Slot i holds the copy
//! of home block `block[i]`. Words past `n` are left as they were and never
//! read.

use core::fmt;

use crate::fs::format::{BSIZE, LOGSIZE, SuperBlock, put_word, word};

/// Bytes of one word of the header.
const WORD: usize = 4;

// The header block holds the count and LOGSIZE block numbers.
const _: () = assert!((1 + LOGSIZE as usize) * WORD <= BSIZE);

/// Where the log lies and which blocks it may name, from the superblock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogArea {
    /// The header's block.
    pub start: u32,
    /// How many blocks a transaction may log: the slots after the header,
    /// at most LOGSIZE (the header has no room for more).
    pub capacity: u32,
    /// The first block the log may name: the one after the log.
    pub first_home: u32,
    /// Blocks in the image: every home block lies below.
    pub fs_size: u32,
}

/// What makes a log unusable: the mount refuses the file system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogError {
    /// The superblock's log has no room for a header and one slot, or
    /// runs past the image.
    BadArea {
        field: &'static str,
        value: u32,
        rule: &'static str,
    },
    /// The header counts more blocks than the log has slots.
    TooMany { n: u32, capacity: u32 },
    /// The header names a block in the boot block, the superblock, the log
    /// itself, or past the image's end.
    BadBlock {
        slot: u32,
        block: u32,
        first: u32,
        end: u32,
    },
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match *self {
            LogError::BadArea { field, value, rule } => {
                write!(f, "superblock {field} = {value}: {rule}")
            }
            LogError::TooMany { n, capacity } => write!(
                f,
                "log header n = {n}: a header counts at most the log's {capacity} slots \
                 (a truncated or corrupt header)"
            ),
            LogError::BadBlock {
                slot,
                block,
                first,
                end,
            } => write!(
                f,
                "log header block[{slot}] = {block}: a logged block lies after the log and \
                 inside the image ({first}..{end})"
            ),
        }
    }
}

impl LogArea {
    /// The log the superblock describes, if it has a header and a slot and
    /// ends inside the image.
    pub fn new(sb: &SuperBlock) -> Result<LogArea, LogError> {
        if sb.nlog < 2 {
            return Err(LogError::BadArea {
                field: "nlog",
                value: sb.nlog,
                rule: "the log needs a header block and at least one slot (nlog >= 2)",
            });
        }
        let end = sb.logstart.checked_add(sb.nlog).filter(|&e| e <= sb.size);
        let Some(first_home) = end else {
            return Err(LogError::BadArea {
                field: "logstart",
                value: sb.logstart,
                rule: "the log (logstart + nlog) must end inside the image (size)",
            });
        };
        if sb.logstart < 2 {
            return Err(LogError::BadArea {
                field: "logstart",
                value: sb.logstart,
                rule: "the log starts after the boot block and the superblock (logstart >= 2)",
            });
        }
        Ok(LogArea {
            start: sb.logstart,
            capacity: (sb.nlog - 1).min(LOGSIZE),
            first_home,
            fs_size: sb.size,
        })
    }

    /// The block of slot `i`.
    pub fn slot(&self, i: usize) -> u32 {
        self.start + 1 + i as u32
    }
}

/// The header: how many blocks a committed transaction holds, and their
/// home block numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogHeader {
    n: u32,
    block: [u32; LOGSIZE as usize],
}

impl LogHeader {
    /// Nothing logged.
    pub const EMPTY: LogHeader = LogHeader {
        n: 0,
        block: [0; LOGSIZE as usize],
    };

    /// The home block numbers logged, in slot order.
    pub fn blocks(&self) -> &[u32] {
        &self.block[..self.n as usize]
    }

    pub fn len(&self) -> usize {
        self.n as usize
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Log home block `b` (absorption: a block already logged keeps its
    /// slot). `Some(true)` if it took a new slot, `Some(false)` if it was
    /// there already, `None` if the log's `capacity` is used up.
    pub fn add(&mut self, b: u32, capacity: u32) -> Option<bool> {
        if self.blocks().contains(&b) {
            return Some(false);
        }
        if self.n >= capacity.min(LOGSIZE) {
            return None;
        }
        self.block[self.n as usize] = b;
        self.n += 1;
        Some(true)
    }

    /// The header as it lies in its block (the rest of `out` zeroed).
    pub fn encode(&self, out: &mut [u8; BSIZE]) {
        out.fill(0);
        put_word(out, 0, self.n);
        for (i, &b) in self.blocks().iter().enumerate() {
            put_word(out, (1 + i) * WORD, b);
        }
    }

    /// The header in `block`, checked against `area`: never trusted blindly,
    /// since recovery writes wherever it points.
    pub fn decode(block: &[u8; BSIZE], area: &LogArea) -> Result<LogHeader, LogError> {
        let n = word(block, 0);
        if n > area.capacity {
            return Err(LogError::TooMany {
                n,
                capacity: area.capacity,
            });
        }
        let mut h = LogHeader::EMPTY;
        for slot in 0..n {
            let b = word(block, (1 + slot as usize) * WORD);
            if b < area.first_home || b >= area.fs_size {
                return Err(LogError::BadBlock {
                    slot,
                    block: b,
                    first: area.first_home,
                    end: area.fs_size,
                });
            }
            h.block[slot as usize] = b;
        }
        h.n = n;
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sb() -> SuperBlock {
        SuperBlock {
            size: 1000,
            nblocks: 941,
            ninodes: 200,
            nlog: LOGSIZE,
            logstart: 2,
            inodestart: 2 + LOGSIZE,
            bmapstart: 58,
        }
    }

    #[test]
    fn the_area_follows_the_superblock() {
        let a = LogArea::new(&sb()).unwrap();
        assert_eq!(a.start, 2);
        assert_eq!(a.capacity, LOGSIZE - 1, "one block is the header");
        assert_eq!(a.first_home, 2 + LOGSIZE);
        assert_eq!(a.slot(0), 3);
        let big = LogArea::new(&SuperBlock {
            nlog: 4 * LOGSIZE,
            ..sb()
        });
        assert_eq!(
            big.unwrap().capacity,
            LOGSIZE,
            "the header holds LOGSIZE names"
        );
    }

    #[test]
    fn a_log_without_room_or_past_the_image_is_refused_naming_the_field() {
        for (bad, field) in [
            (SuperBlock { nlog: 1, ..sb() }, "nlog"),
            (SuperBlock { nlog: 0, ..sb() }, "nlog"),
            (
                SuperBlock {
                    logstart: 990,
                    ..sb()
                },
                "logstart",
            ),
            (
                SuperBlock {
                    logstart: u32::MAX,
                    ..sb()
                },
                "logstart",
            ),
            (
                SuperBlock {
                    logstart: 1,
                    ..sb()
                },
                "logstart",
            ),
        ] {
            let e = LogArea::new(&bad).unwrap_err();
            let line = e.to_string();
            assert!(
                line.starts_with(&format!("superblock {field} = ")),
                "{line}"
            );
        }
    }

    #[test]
    fn a_header_reads_back_what_was_written() {
        let a = LogArea::new(&sb()).unwrap();
        let mut h = LogHeader::EMPTY;
        for b in [40, 500, 41, 999] {
            assert_eq!(h.add(b, a.capacity), Some(true));
        }
        let mut block = [0xAAu8; BSIZE];
        h.encode(&mut block);
        assert_eq!(LogHeader::decode(&block, &a), Ok(h));
        assert_eq!(
            LogHeader::decode(&block, &a).unwrap().blocks(),
            [40, 500, 41, 999]
        );
        LogHeader::EMPTY.encode(&mut block);
        assert!(LogHeader::decode(&block, &a).unwrap().is_empty());
    }

    #[test]
    fn a_block_logged_twice_takes_one_slot_and_a_full_log_takes_no_more() {
        let mut h = LogHeader::EMPTY;
        assert_eq!(h.add(50, 3), Some(true));
        assert_eq!(h.add(50, 3), Some(false));
        assert_eq!(h.add(51, 3), Some(true));
        assert_eq!(h.add(52, 3), Some(true));
        assert_eq!(h.len(), 3);
        assert_eq!(h.add(53, 3), None, "past capacity");
        assert_eq!(h.add(51, 3), Some(false), "absorbed even when full");
    }

    #[test]
    fn a_corrupt_header_is_refused_naming_the_field_and_the_rule() {
        let a = LogArea::new(&sb()).unwrap();
        let mut block = [0u8; BSIZE];
        put_word(&mut block, 0, a.capacity + 1);
        assert_eq!(
            LogHeader::decode(&block, &a),
            Err(LogError::TooMany {
                n: a.capacity + 1,
                capacity: a.capacity
            })
        );
        assert!(
            LogHeader::decode(&block, &a)
                .unwrap_err()
                .to_string()
                .starts_with(&format!(
                    "log header n = {}: a header counts at most the log's {} slots",
                    a.capacity + 1,
                    a.capacity
                ))
        );
        for bad in [0, 1, a.start, a.slot(3), a.fs_size, u32::MAX] {
            put_word(&mut block, 0, 2);
            put_word(&mut block, WORD, a.first_home);
            put_word(&mut block, 2 * WORD, bad);
            let e = LogHeader::decode(&block, &a).unwrap_err();
            assert_eq!(
                e,
                LogError::BadBlock {
                    slot: 1,
                    block: bad,
                    first: a.first_home,
                    end: a.fs_size
                }
            );
            assert!(
                e.to_string()
                    .starts_with(&format!("log header block[1] = {bad}: "))
            );
        }
        // Words past n are not read: garbage there is no error.
        put_word(&mut block, 0, 1);
        assert!(LogHeader::decode(&block, &a).is_ok());
    }
}
