//! Formatted output: `core::fmt` into a small buffer that is handed to a
//! sink (a `write` system call) when full and at the end, so a short line
//! goes out in one write and does not interleave with other processes'.

use core::fmt;

/// Bytes gathered before a write.
pub const BUFSIZE: usize = 128;

/// A `fmt::Write` that buffers for `sink`.
pub struct Buffered<F: FnMut(&[u8])> {
    buf: [u8; BUFSIZE],
    len: usize,
    sink: F,
}

impl<F: FnMut(&[u8])> Buffered<F> {
    pub fn new(sink: F) -> Self {
        Buffered {
            buf: [0; BUFSIZE],
            len: 0,
            sink,
        }
    }

    /// Hand what is buffered to the sink.
    pub fn flush(&mut self) {
        if self.len > 0 {
            (self.sink)(&self.buf[..self.len]);
            self.len = 0;
        }
    }
}

impl<F: FnMut(&[u8])> fmt::Write for Buffered<F> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for chunk in s.as_bytes().chunks(BUFSIZE) {
            if self.len + chunk.len() > BUFSIZE {
                self.flush();
            }
            self.buf[self.len..self.len + chunk.len()].copy_from_slice(chunk);
            self.len += chunk.len();
        }
        Ok(())
    }
}

impl<F: FnMut(&[u8])> Drop for Buffered<F> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Format `args` to `sink`, in as few pieces as the buffer allows.
pub fn format_to(sink: impl FnMut(&[u8]), args: fmt::Arguments) {
    let mut out = Buffered::new(sink);
    let _ = fmt::Write::write_fmt(&mut out, args);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{format, string::String, vec::Vec};

    fn pieces(args: fmt::Arguments) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        format_to(|b: &[u8]| out.push(b.to_vec()), args);
        out
    }

    #[test]
    fn a_short_line_is_one_write() {
        assert_eq!(
            pieces(format_args!("{} {:>4}|{:<3}|\n", "pid", 7, 'x')),
            [b"pid    7|x  |\n".to_vec()]
        );
    }

    #[test]
    fn a_long_text_comes_out_whole_in_buffer_sized_pieces() {
        let long: String = (0..1000)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let got = pieces(format_args!("<{long}>"));
        assert!(got.iter().all(|p| !p.is_empty() && p.len() <= BUFSIZE));
        assert_eq!(got.concat(), format!("<{long}>").into_bytes());
    }
}
