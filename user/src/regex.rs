//! `grep`'s patterns: the small language of xv6's grep (after Kernighan
//! and Pike): a literal character, `.` for any character, `c*` for any
//! number of `c` (or of anything, with `.*`), `^` at the start and `$` at
//! the end anchor the match. A pattern matches a line if it matches
//! anywhere in it.

/// Whether `re` matches somewhere in `text`.
pub fn matches(re: &[u8], text: &[u8]) -> bool {
    if let [b'^', rest @ ..] = re {
        return here(rest, text);
    }
    (0..=text.len()).any(|i| here(re, &text[i..]))
}

/// Whether `re` matches at the start of `text`.
fn here(re: &[u8], text: &[u8]) -> bool {
    match re {
        [] => true,
        [c, b'*', rest @ ..] => star(*c, rest, text),
        [b'$'] => text.is_empty(),
        [c, rest @ ..] => match text {
            [t, tail @ ..] if *c == b'.' || c == t => here(rest, tail),
            _ => false,
        },
    }
}

/// Whether `c*` followed by `re` matches at the start of `text`: try
/// every number of `c`, shortest first.
fn star(c: u8, re: &[u8], text: &[u8]) -> bool {
    let mut i = 0;
    loop {
        if here(re, &text[i..]) {
            return true;
        }
        match text.get(i) {
            Some(&t) if c == b'.' || t == c => i += 1,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn literals_match_anywhere() {
        assert!(matches(b"lo w", b"hello world"));
        assert!(!matches(b"low", b"hello world"));
        assert!(matches(b"", b"anything"));
    }

    #[test]
    fn anchors_dot_and_star() {
        assert!(matches(b"^he", b"hello"));
        assert!(!matches(b"^el", b"hello"));
        assert!(matches(b"lo$", b"hello"));
        assert!(!matches(b"l$", b"hello"));
        assert!(matches(b"h.l", b"hello"));
        assert!(matches(b"^hel*o$", b"hellllo"));
        assert!(matches(b"^hex*llo$", b"hello"));
        assert!(matches(b"^h.*d$", b"hello world"));
        assert!(!matches(b"^h.*x$", b"hello world"));
        assert!(matches(b"^$", b""));
    }
}
