//! The console's input buffer and line editing (xv6's `input` in console.c).
//!
//! Bytes typed on the serial line or the keyboard arrive one by one from the
//! interrupt handlers. Until Enter, the current line can still be edited
//! (Backspace, Ctrl-U); Enter commits it, and only committed lines can be
//! read. Ctrl-D ends the input: on an empty line it is read as the end, on
//! a partly typed line it commits that line first. Pure logic, so the host
//! tests drive it byte by byte.

/// Bytes the buffer holds: committed lines plus the line being edited.
pub const INPUT_BUF: usize = 128;

const BACKSPACE: u8 = 0x08;
const DELETE: u8 = 0x7F;
/// Ctrl-U: erase the whole line being edited.
const KILL_LINE: u8 = 0x15;
/// Ctrl-D: end of input.
const END_OF_INPUT: u8 = 0x04;
/// Ctrl-\\: the end of all input, for good (what the runner sends after
/// piped input to a shell: the machine powers off once it is read).
const HOST_INPUT_END: u8 = crate::protocol::HOST_INPUT_END;
const CR: u8 = b'\r';
const LF: u8 = b'\n';
const TAB: u8 = b'\t';
/// Stands in the ring for a line that was too long: a control byte the
/// editor never stores from input, so it cannot be typed.
const CUT_MARK: u8 = 0x18;

/// What the console should show for a byte it received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Echo {
    Nothing,
    /// Print this byte (`\n` for a committed line).
    Byte(u8),
    /// Erase this many characters from the screen.
    Erase(usize),
}

/// What [`Input::take_line`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line {
    /// A committed line of `len` bytes (copied, without its newline), whose
    /// bytes from `echo_from` on, and then the newline, were never shown
    /// (`echo_from > len`: all shown, the newline too).
    Text { len: usize, echo_from: usize },
    /// A line longer than the buffer holds: its bytes are dropped, so that
    /// no command runs on a cut line. `echo_newline`: its newline was never
    /// shown.
    TooLong { echo_newline: bool },
    /// The input ended (Ctrl-D): no more lines will come.
    End,
    /// All input ended for good (Ctrl-\\, [`HOST_INPUT_END`]): every
    /// line before it was read; the machine should power off.
    HostEnd,
}

/// A ring of bytes with three indices, as in xv6: `r` is the next byte to
/// read, `w` the end of the committed lines, `e` the end of the line being
/// edited (`r <= w <= e <= r + INPUT_BUF`; they only grow, and index the
/// ring modulo its size).
///
/// Echo is deferred while nobody listens: bytes typed (or piped) while the
/// monitor runs a command are shown when it next reads, after its prompt,
/// so a transcript reads `K> halt`, not a command mixed into the output of
/// the one before. `shown` marks how far the bytes have been echoed.
pub struct Input {
    buf: [u8; INPUT_BUF],
    r: usize,
    w: usize,
    e: usize,
    shown: usize,
    /// A reader is waiting: new bytes are echoed as they come.
    listening: bool,
    /// Ctrl-D seen: `take_line` reports `End` once the lines before it are read.
    ended: bool,
    /// Ctrl-\\ came: the end stays, whoever reads.
    host_ended: bool,
    /// The last byte was CR, so an LF right after it is the same Enter
    /// (a file with CRLF line ends gives one line per line).
    after_cr: bool,
    /// The line being edited lost bytes that did not fit.
    cut: bool,
}

impl Default for Input {
    fn default() -> Self {
        Self::new()
    }
}

impl Input {
    pub const fn new() -> Input {
        Input {
            buf: [0; INPUT_BUF],
            r: 0,
            w: 0,
            e: 0,
            shown: 0,
            listening: false,
            ended: false,
            host_ended: false,
            after_cr: false,
            cut: false,
        }
    }

    /// Whether a byte added now is shown at once: someone listens, has no
    /// committed line still to read (bytes after it belong to the next
    /// prompt), and everything before it is on the screen.
    fn echo_now(&self) -> bool {
        self.listening && self.w == self.r && self.shown == self.e
    }

    /// Take one received byte; returns what to echo.
    pub fn push(&mut self, c: u8) -> Echo {
        let after_cr = core::mem::replace(&mut self.after_cr, c == CR);
        let echo = self.echo_now();
        match c {
            LF if after_cr => Echo::Nothing,
            CR | LF => {
                self.commit();
                self.echoed(echo, LF)
            }
            BACKSPACE | DELETE if self.e > self.w => {
                self.e -= 1;
                self.unshow()
            }
            KILL_LINE if self.e > self.w || self.cut => {
                self.e = self.w;
                self.cut = false;
                self.unshow()
            }
            END_OF_INPUT => {
                self.commit_if_typed();
                self.ended = true;
                Echo::Nothing
            }
            HOST_INPUT_END => {
                self.commit_if_typed();
                self.host_ended = true;
                Echo::Nothing
            }
            // The last free byte is kept for the newline, so a line that
            // is too long is cut rather than left uncommittable.
            b' '..=b'~' | TAB if self.e - self.r < INPUT_BUF - 1 => {
                self.buf[self.e % INPUT_BUF] = c;
                self.e += 1;
                self.echoed(echo, c)
            }
            b' '..=b'~' | TAB => {
                self.cut = true;
                Echo::Nothing
            }
            _ => Echo::Nothing,
        }
    }

    /// After adding a byte: show it if `echo` said so.
    fn echoed(&mut self, echo: bool, c: u8) -> Echo {
        if echo {
            self.shown = self.e;
            Echo::Byte(c)
        } else {
            Echo::Nothing
        }
    }

    /// After erasing back to `e`: erase from the screen what was shown.
    fn unshow(&mut self) -> Echo {
        let n = self.shown.saturating_sub(self.e);
        self.shown = self.shown.min(self.e);
        if n == 0 {
            Echo::Nothing
        } else {
            Echo::Erase(n)
        }
    }

    fn commit(&mut self) {
        if self.cut {
            // Only a mark stays of a line that did not fit.
            let shown_any = self.shown > self.w;
            self.e = self.w;
            self.buf[self.e % INPUT_BUF] = CUT_MARK;
            self.e += 1;
            self.shown = if shown_any {
                self.e
            } else {
                self.shown.min(self.e)
            };
            self.cut = false;
        }
        if self.e - self.r < INPUT_BUF {
            self.buf[self.e % INPUT_BUF] = LF;
            self.e += 1;
        }
        self.w = self.e;
    }

    fn commit_if_typed(&mut self) {
        if self.e > self.w || self.cut {
            self.commit();
        }
    }

    /// Whether the drivers should go on reading their devices. Not when the
    /// buffer is full and a committed line waits for the reader: the serial
    /// port then holds the bytes back (and QEMU stops reading its standard
    /// input) until the line has been read. With no committed line the
    /// drivers read on, or the Enter that frees the buffer could never come.
    pub fn accepts_more(&self) -> bool {
        self.e - self.r < INPUT_BUF - 1 || self.w == self.r
    }

    /// Copy the oldest committed line into `out` (cut to its length) and
    /// say which part still has to be echoed; `End` after Ctrl-D once every
    /// line is read; `None` while no line is complete. Reading stops the
    /// listening: bytes that come before the next `listen` wait unshown.
    pub fn take_line(&mut self, out: &mut [u8]) -> Option<Line> {
        if self.r == self.w {
            return match (self.host_ended, self.ended) {
                (true, _) => Some(Line::HostEnd),
                (false, true) => Some(Line::End),
                (false, false) => None,
            };
        }
        self.listening = false;
        if self.buf[self.r % INPUT_BUF] == CUT_MARK {
            while self.r < self.w && self.buf[self.r % INPUT_BUF] != LF {
                self.r += 1;
            }
            self.r = (self.r + 1).min(self.w);
            let echo_newline = self.shown < self.r;
            self.shown = self.shown.max(self.r);
            return Some(Line::TooLong { echo_newline });
        }
        let start = self.r;
        let mut len = 0;
        while self.r < self.w {
            let c = self.buf[self.r % INPUT_BUF];
            self.r += 1;
            if c == LF {
                break;
            }
            if len < out.len() {
                out[len] = c;
                len += 1;
            }
        }
        let echo_from = self.shown.max(start) - start;
        self.shown = self.shown.max(self.r);
        Some(Line::Text { len, echo_from })
    }

    /// Forget a Ctrl-D once a reader has seen it as the end (a process's
    /// `read` returns 0 once; later reads wait for new input, as xv6's).
    pub fn forget_end(&mut self) {
        self.ended = false;
    }

    /// A reader starts waiting: from now on bytes are echoed as they come.
    /// Copies into `out` the part of the line being edited that was typed
    /// ahead and never shown (the caller shows it now); returns its length.
    pub fn listen(&mut self, out: &mut [u8]) -> usize {
        self.listening = true;
        let from = self.shown.max(self.w);
        let mut n = 0;
        for i in from..self.e {
            if n < out.len() {
                out[n] = self.buf[i % INPUT_BUF];
                n += 1;
            }
        }
        self.shown = self.e;
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(input: &mut Input, bytes: &[u8]) -> Vec<Echo> {
        bytes.iter().map(|&b| input.push(b)).collect()
    }

    /// The next line, with what the reader would still echo for it.
    fn line_echo(input: &mut Input) -> Option<(String, String)> {
        let mut out = [0u8; INPUT_BUF];
        match input.take_line(&mut out)? {
            Line::Text { len, echo_from } => {
                let text = String::from_utf8(out[..len].to_vec()).unwrap();
                let mut echo = text.get(echo_from.min(len)..).unwrap().to_string();
                if echo_from <= len {
                    echo.push('\n');
                }
                Some((text, echo))
            }
            Line::TooLong { echo_newline } => Some((
                "<too long>".into(),
                if echo_newline {
                    "\n".into()
                } else {
                    String::new()
                },
            )),
            Line::End => Some(("<end>".into(), String::new())),
            Line::HostEnd => Some(("<host end>".into(), String::new())),
        }
    }

    #[test]
    fn ctrl_backslash_ends_for_good_after_every_line_before_it() {
        let mut i = Input::new();
        feed(&mut i, b"ls\necho\x1c");
        assert_eq!(line(&mut i).as_deref(), Some("ls"));
        assert_eq!(
            line(&mut i).as_deref(),
            Some("echo"),
            "a typed line is committed first"
        );
        assert_eq!(line(&mut i).as_deref(), Some("<host end>"));
        i.forget_end();
        assert_eq!(
            line(&mut i).as_deref(),
            Some("<host end>"),
            "no reader forgets it"
        );
        let mut d = Input::new();
        feed(&mut d, b"\x04");
        assert_eq!(
            line(&mut d).as_deref(),
            Some("<end>"),
            "Ctrl-D stays the one-shot end"
        );
    }

    fn line(input: &mut Input) -> Option<String> {
        line_echo(input).map(|(text, _)| text)
    }

    fn listening() -> Input {
        let mut i = Input::new();
        assert_eq!(i.listen(&mut [0; INPUT_BUF]), 0);
        i
    }

    #[test]
    fn a_line_is_readable_only_after_enter() {
        let mut i = listening();
        assert_eq!(feed(&mut i, b"ab"), [Echo::Byte(b'a'), Echo::Byte(b'b')]);
        assert_eq!(line(&mut i), None);
        assert_eq!(i.push(b'\r'), Echo::Byte(b'\n'));
        assert_eq!(
            line_echo(&mut i),
            Some(("ab".into(), "".into())),
            "all shown"
        );
        assert_eq!(line(&mut i), None);
    }

    #[test]
    fn backspace_and_kill_edit_only_the_uncommitted_line() {
        let mut i = listening();
        feed(&mut i, b"ls\n");
        assert_eq!(i.push(BACKSPACE), Echo::Nothing, "the committed line stays");
        assert_eq!(line(&mut i).as_deref(), Some("ls"));
        i.listen(&mut [0; INPUT_BUF]);
        feed(&mut i, b"hx");
        assert_eq!(i.push(DELETE), Echo::Erase(1));
        feed(&mut i, b"elp");
        assert_eq!(i.push(KILL_LINE), Echo::Erase(4));
        assert_eq!(i.push(KILL_LINE), Echo::Nothing);
        feed(&mut i, b"halt\n");
        assert_eq!(line(&mut i).as_deref(), Some("halt"));
    }

    #[test]
    fn typed_ahead_input_is_echoed_when_read() {
        let mut i = listening();
        assert_eq!(
            feed(&mut i, b"meminfo\n"),
            [
                Echo::Byte(b'm'),
                Echo::Byte(b'e'),
                Echo::Byte(b'm'),
                Echo::Byte(b'i'),
                Echo::Byte(b'n'),
                Echo::Byte(b'f'),
                Echo::Byte(b'o'),
                Echo::Byte(b'\n')
            ]
        );
        assert_eq!(
            i.push(b'x'),
            Echo::Nothing,
            "after Enter, bytes wait for the next prompt"
        );
        assert_eq!(i.push(BACKSPACE), Echo::Nothing);
        assert_eq!(line_echo(&mut i), Some(("meminfo".into(), "".into())));
        // The monitor is busy now: nothing is shown until it reads.
        assert!(
            feed(&mut i, b"alloc 2\nfr")
                .iter()
                .all(|e| *e == Echo::Nothing)
        );
        assert_eq!(
            i.push(BACKSPACE),
            Echo::Nothing,
            "erasing unshown bytes shows nothing"
        );
        assert_eq!(
            line_echo(&mut i),
            Some(("alloc 2".into(), "alloc 2\n".into()))
        );
        let mut ahead = [0u8; INPUT_BUF];
        let n = i.listen(&mut ahead);
        assert_eq!(&ahead[..n], b"f", "the typed-ahead part of the next line");
        assert_eq!(i.push(b'r'), Echo::Byte(b'r'));
        assert_eq!(i.push(DELETE), Echo::Erase(1));
    }

    #[test]
    fn a_line_shown_in_part_echoes_the_rest() {
        let mut i = listening();
        feed(&mut i, b"x\n");
        line(&mut i);
        i.listen(&mut [0; INPUT_BUF]);
        feed(&mut i, b"he");
        // The reader stops listening (say, it took a line another way).
        i.listening = false;
        feed(&mut i, b"lp\n");
        assert_eq!(line_echo(&mut i), Some(("help".into(), "lp\n".into())));
    }

    #[test]
    fn crlf_is_one_line_and_lf_alone_is_one_line() {
        let mut i = Input::new();
        feed(&mut i, b"a\r\nb\n\nc\r\r");
        let lines: Vec<_> = std::iter::from_fn(|| line(&mut i)).collect();
        assert_eq!(lines, ["a", "b", "", "c", ""]);
    }

    #[test]
    fn control_bytes_are_ignored() {
        let mut i = listening();
        assert_eq!(
            feed(&mut i, b"\x1b\x07x\n"),
            [
                Echo::Nothing,
                Echo::Nothing,
                Echo::Byte(b'x'),
                Echo::Byte(b'\n')
            ]
        );
        assert_eq!(line(&mut i).as_deref(), Some("x"));
    }

    #[test]
    fn ctrl_d_ends_the_input_after_the_pending_lines() {
        let mut i = Input::new();
        feed(&mut i, b"meminfo\nhal");
        assert_eq!(i.push(END_OF_INPUT), Echo::Nothing);
        assert_eq!(line(&mut i).as_deref(), Some("meminfo"));
        assert_eq!(
            line(&mut i).as_deref(),
            Some("hal"),
            "the typed part commits"
        );
        assert_eq!(line(&mut i).as_deref(), Some("<end>"));
        assert_eq!(line(&mut i).as_deref(), Some("<end>"), "and stays ended");

        let mut i = Input::new();
        i.push(END_OF_INPUT);
        assert_eq!(line(&mut i).as_deref(), Some("<end>"));
    }

    #[test]
    fn an_overlong_line_is_refused_whole_and_the_next_one_reads() {
        let mut i = listening();
        let long = vec![b'x'; 3 * INPUT_BUF];
        let echoes = feed(&mut i, &long);
        let kept = echoes.iter().filter(|e| **e == Echo::Byte(b'x')).count();
        assert_eq!(kept, INPUT_BUF - 1, "what fits is shown as it is typed");
        assert!(i.accepts_more(), "the Enter must still get in");
        assert_eq!(i.push(b'\n'), Echo::Byte(b'\n'));
        assert!(i.accepts_more(), "only a mark of the cut line stays");
        assert_eq!(
            line_echo(&mut i),
            Some(("<too long>".into(), String::new()))
        );
        feed(&mut i, b"meminfo\n");
        assert_eq!(line(&mut i).as_deref(), Some("meminfo"));
    }

    #[test]
    fn an_overlong_line_typed_ahead_echoes_only_its_newline() {
        let mut i = Input::new();
        feed(&mut i, &vec![b'y'; 2 * INPUT_BUF]);
        feed(&mut i, b"\nhelp\n");
        assert_eq!(line_echo(&mut i), Some(("<too long>".into(), "\n".into())));
        assert_eq!(line_echo(&mut i), Some(("help".into(), "help\n".into())));
    }

    #[test]
    fn ctrl_u_forgets_that_a_line_was_cut() {
        let mut i = listening();
        feed(&mut i, &vec![b'z'; 2 * INPUT_BUF]);
        feed(&mut i, &[KILL_LINE]);
        feed(&mut i, b"help\n");
        assert_eq!(line(&mut i).as_deref(), Some("help"));
    }

    #[test]
    fn ctrl_d_after_an_overlong_line_refuses_it_then_ends() {
        let mut i = listening();
        feed(&mut i, &vec![b'z'; 2 * INPUT_BUF]);
        feed(&mut i, &[END_OF_INPUT]);
        assert_eq!(
            line_echo(&mut i).map(|l| l.0).as_deref(),
            Some("<too long>")
        );
        assert_eq!(line_echo(&mut i).map(|l| l.0).as_deref(), Some("<end>"));
    }

    #[test]
    fn the_ring_wraps_around_over_many_lines() {
        let mut i = Input::new();
        for n in 0..1000 {
            let text = format!("line {n}");
            feed(&mut i, text.as_bytes());
            i.push(b'\n');
            assert_eq!(line_echo(&mut i), Some((text.clone(), format!("{text}\n"))));
        }
    }

    #[test]
    fn a_long_line_is_cut_to_the_reader_buffer() {
        let mut i = Input::new();
        feed(&mut i, b"abcdef\nxy\n");
        let mut out = [0u8; 3];
        assert_eq!(
            i.take_line(&mut out),
            Some(Line::Text {
                len: 3,
                echo_from: 0
            })
        );
        assert_eq!(&out, b"abc");
        assert_eq!(line(&mut i).as_deref(), Some("xy"), "the rest is dropped");
    }
}
