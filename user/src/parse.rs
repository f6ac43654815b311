//! The shell's command language, parsed into a tree:
//!
//! ```text
//! line     = pipeline { "&" } [ ";" ] [ line ]   (after "&" or ";")
//! pipeline = command [ "|" pipeline ]
//! command  = "(" line ")" { redir } | { word | redir }   (at least one word)
//! redir    = "<" word | ">" word | ">>" word
//! ```
//!
//! Words are separated by blanks; `| ; & < > ( )` end a word. Pure logic, so
//! that the host tests can check it.

use alloc::boxed::Box;
use alloc::vec::Vec;

/// A parsed command line.
#[derive(Debug, PartialEq, Eq)]
pub enum Cmd {
    /// Run a program: its arguments (the first is its name) and redirections.
    Exec {
        argv: Vec<Vec<u8>>,
        redirs: Vec<Redir>,
    },
    /// `left | right`: left's output is right's input.
    Pipe(Box<Cmd>, Box<Cmd>),
    /// `first ; then`: one after the other.
    List(Box<Cmd>, Box<Cmd>),
    /// `cmd &`: without waiting for it.
    Back(Box<Cmd>),
    /// `( line )`: a whole line as one command, with its redirections.
    Group(Box<Cmd>, Vec<Redir>),
}

/// Which way a file is attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedirKind {
    /// `< file` on standard input.
    In,
    /// `> file` on standard output, created if missing.
    Out,
    /// `>> file`: as `>` (xv6's file system has no append mode).
    Append,
}

/// A file put on standard input or output.
#[derive(Debug, PartialEq, Eq)]
pub struct Redir {
    pub kind: RedirKind,
    pub path: Vec<u8>,
}

/// What is wrong with a line.
#[derive(Debug, PartialEq, Eq)]
pub enum ParseError {
    /// An operator with no command where one must be (`| x`, `;;`, `&`).
    MissingCommand,
    /// `<` or `>` without a file name.
    MissingFile,
    /// Something left after a whole line (a stray symbol).
    Trailing(u8),
    /// A `(` without its `)`.
    Unclosed,
}

impl core::fmt::Display for ParseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ParseError::MissingCommand => f.write_str("missing command"),
            ParseError::MissingFile => f.write_str("missing file name after < or >"),
            ParseError::Trailing(c) => write!(f, "unexpected '{}'", char::from(*c)),
            ParseError::Unclosed => f.write_str("missing )"),
        }
    }
}

/// One token of a line.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token<'a> {
    Word(&'a [u8]),
    /// One of `| ; & <`, or `>` (and `+` for `>>`).
    Symbol(u8),
}

/// Characters that separate words.
fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | 0x0b)
}

/// Characters that are tokens by themselves.
const SYMBOLS: &[u8] = b"|;&<>()";

fn tokens(line: &[u8]) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < line.len() {
        let c = line[i];
        if is_blank(c) {
            i += 1;
        } else if c == b'>' && line.get(i + 1) == Some(&b'>') {
            out.push(Token::Symbol(b'+'));
            i += 2;
        } else if SYMBOLS.contains(&c) {
            out.push(Token::Symbol(c));
            i += 1;
        } else {
            let start = i;
            while i < line.len() && !is_blank(line[i]) && !SYMBOLS.contains(&line[i]) {
                i += 1;
            }
            out.push(Token::Word(&line[start..i]));
        }
    }
    out
}

/// Parse a line: None if it holds no command at all.
pub fn parse(line: &[u8]) -> Result<Option<Cmd>, ParseError> {
    let toks = tokens(line);
    if toks.is_empty() {
        return Ok(None);
    }
    let mut p = Parser { toks, at: 0 };
    let cmd = p.line()?;
    match p.toks.get(p.at) {
        None => Ok(Some(cmd)),
        Some(Token::Symbol(c)) => Err(ParseError::Trailing(*c)),
        Some(Token::Word(w)) => Err(ParseError::Trailing(w[0])),
    }
}

struct Parser<'a> {
    toks: Vec<Token<'a>>,
    at: usize,
}

impl<'a> Parser<'a> {
    /// Take symbol `c` if it comes next.
    fn eat(&mut self, c: u8) -> bool {
        if self.toks.get(self.at) == Some(&Token::Symbol(c)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn line(&mut self) -> Result<Cmd, ParseError> {
        let mut cmd = self.pipeline()?;
        let mut ended = false;
        while self.eat(b'&') {
            cmd = Cmd::Back(Box::new(cmd));
            ended = true;
        }
        ended |= self.eat(b';');
        let more = !matches!(self.toks.get(self.at), None | Some(Token::Symbol(b')')));
        if ended && more {
            let rest = self.line()?;
            cmd = Cmd::List(Box::new(cmd), Box::new(rest));
        }
        Ok(cmd)
    }

    fn pipeline(&mut self) -> Result<Cmd, ParseError> {
        let left = self.command()?;
        if self.eat(b'|') {
            let right = self.pipeline()?;
            return Ok(Cmd::Pipe(Box::new(left), Box::new(right)));
        }
        Ok(left)
    }

    fn command(&mut self) -> Result<Cmd, ParseError> {
        if self.eat(b'(') {
            let inner = self.line()?;
            if !self.eat(b')') {
                return Err(ParseError::Unclosed);
            }
            let mut redirs = Vec::new();
            while let Some(r) = self.redir()? {
                redirs.push(r);
            }
            return Ok(Cmd::Group(Box::new(inner), redirs));
        }
        let mut argv = Vec::new();
        let mut redirs = Vec::new();
        loop {
            if let Some(Token::Word(w)) = self.toks.get(self.at) {
                argv.push(w.to_vec());
                self.at += 1;
            } else if let Some(r) = self.redir()? {
                redirs.push(r);
            } else {
                break;
            }
        }
        if argv.is_empty() {
            return Err(ParseError::MissingCommand);
        }
        Ok(Cmd::Exec { argv, redirs })
    }

    /// A redirection if one comes next.
    fn redir(&mut self) -> Result<Option<Redir>, ParseError> {
        let kind = match self.toks.get(self.at) {
            Some(Token::Symbol(b'<')) => RedirKind::In,
            Some(Token::Symbol(b'>')) => RedirKind::Out,
            Some(Token::Symbol(b'+')) => RedirKind::Append,
            _ => return Ok(None),
        };
        self.at += 1;
        let Some(Token::Word(path)) = self.toks.get(self.at) else {
            return Err(ParseError::MissingFile);
        };
        self.at += 1;
        Ok(Some(Redir {
            kind,
            path: path.to_vec(),
        }))
    }
}

/// `cd DIR` is the shell's own command (a child's chdir would be lost):
/// the directory if `line` is one.
pub fn cd_target(line: &[u8]) -> Option<&[u8]> {
    let toks = tokens(line);
    match toks.as_slice() {
        [Token::Word(b"cd"), Token::Word(dir)] => Some(dir),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    fn exec(words: &[&str]) -> Cmd {
        Cmd::Exec {
            argv: words.iter().map(|w| w.as_bytes().to_vec()).collect(),
            redirs: vec![],
        }
    }

    fn ok(line: &str) -> Cmd {
        parse(line.as_bytes()).unwrap().unwrap()
    }

    #[test]
    fn words_and_blank_lines() {
        assert_eq!(parse(b"  \t\n"), Ok(None));
        assert_eq!(
            ok("echo  hello\tworld\n"),
            exec(&["echo", "hello", "world"])
        );
    }

    #[test]
    fn pipes_nest_to_the_right() {
        let b = |c| Box::new(c);
        assert_eq!(
            ok("echo hi|cat | wc"),
            Cmd::Pipe(
                b(exec(&["echo", "hi"])),
                b(Cmd::Pipe(b(exec(&["cat"])), b(exec(&["wc"]))))
            )
        );
    }

    #[test]
    fn lists_and_background() {
        let b = |c| Box::new(c);
        assert_eq!(
            ok("a & ; b;"),
            Cmd::List(b(Cmd::Back(b(exec(&["a"])))), b(exec(&["b"])))
        );
        assert_eq!(ok("a &"), Cmd::Back(b(exec(&["a"]))));
        assert_eq!(
            ok("a | b & c"),
            Cmd::List(
                b(Cmd::Back(b(Cmd::Pipe(b(exec(&["a"])), b(exec(&["b"])))))),
                b(exec(&["c"]))
            )
        );
    }

    #[test]
    fn groups_run_a_line_as_one_command() {
        let b = |c| Box::new(c);
        assert_eq!(
            ok("(a; b &) | c"),
            Cmd::Pipe(
                b(Cmd::Group(
                    b(Cmd::List(b(exec(&["a"])), b(Cmd::Back(b(exec(&["b"])))))),
                    vec![]
                )),
                b(exec(&["c"]))
            )
        );
        assert_eq!(
            ok("(a)>f"),
            Cmd::Group(
                b(exec(&["a"])),
                vec![Redir {
                    kind: RedirKind::Out,
                    path: b"f".to_vec()
                }]
            )
        );
        assert_eq!(parse(b"(a"), Err(ParseError::Unclosed));
        assert_eq!(parse(b"a)"), Err(ParseError::Trailing(b')')));
        assert_eq!(parse(b"()"), Err(ParseError::MissingCommand));
    }

    #[test]
    fn redirections() {
        assert_eq!(
            ok("wc<README >out >>log"),
            Cmd::Exec {
                argv: vec![b"wc".to_vec()],
                redirs: vec![
                    Redir {
                        kind: RedirKind::In,
                        path: b"README".to_vec()
                    },
                    Redir {
                        kind: RedirKind::Out,
                        path: b"out".to_vec()
                    },
                    Redir {
                        kind: RedirKind::Append,
                        path: b"log".to_vec()
                    },
                ],
            }
        );
    }

    #[test]
    fn errors_name_what_is_wrong() {
        assert_eq!(parse(b"| cat"), Err(ParseError::MissingCommand));
        assert_eq!(parse(b"echo |"), Err(ParseError::MissingCommand));
        assert_eq!(parse(b";"), Err(ParseError::MissingCommand));
        assert_eq!(parse(b"cat <"), Err(ParseError::MissingFile));
        assert_eq!(parse(b"cat > |"), Err(ParseError::MissingFile));
    }

    #[test]
    fn cd_is_recognised_only_with_one_directory() {
        assert_eq!(cd_target(b"cd /"), Some(&b"/"[..]));
        assert_eq!(cd_target(b"  cd  sub\n"), Some(&b"sub"[..]));
        assert_eq!(cd_target(b"cd"), None);
        assert_eq!(cd_target(b"cd a b"), None);
        assert_eq!(cd_target(b"cdx a"), None);
    }
}
