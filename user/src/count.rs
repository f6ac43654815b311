//! What `wc` counts: lines, words and bytes, fed in pieces as read returns
//! them (a word may straddle two pieces).

/// Running counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub lines: usize,
    pub words: usize,
    pub bytes: usize,
    /// Whether the last byte seen was inside a word.
    in_word: bool,
}

/// The separators xv6's wc uses between words.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\r' | b'\t' | b'\n' | 0x0b)
}

impl Counts {
    /// Count `buf`, which follows what was fed before.
    pub fn feed(&mut self, buf: &[u8]) {
        for &c in buf {
            self.bytes += 1;
            if c == b'\n' {
                self.lines += 1;
            }
            if is_space(c) {
                self.in_word = false;
            } else if !self.in_word {
                self.in_word = true;
                self.words += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(pieces: &[&[u8]]) -> (usize, usize, usize) {
        let mut c = Counts::default();
        pieces.iter().for_each(|p| c.feed(p));
        (c.lines, c.words, c.bytes)
    }

    #[test]
    fn counts_lines_words_bytes() {
        assert_eq!(count(&[b""]), (0, 0, 0));
        assert_eq!(count(&[b"hello world\n"]), (1, 2, 12));
        assert_eq!(count(&[b"  a\tb\r\n\nc"]), (2, 3, 9));
    }

    #[test]
    fn a_word_split_between_reads_counts_once() {
        assert_eq!(count(&[b"hel", b"lo wo", b"rld\n"]), (1, 2, 12));
    }
}
