//! The kernel command line: words separated by spaces, each a flag (`halt`)
//! or an option (`ktest=all`). GRUB passes whatever follows the kernel's
//! path on its `multiboot2` line. A word may hold spaces inside double
//! quotes: GRUB writes an argument that has spaces as `"key=a b"`, and
//! `key="a b"` works too; either way the value is `a b`.

/// The words of the command line; quoted spaces do not split a word.
fn words(cmdline: &str) -> impl Iterator<Item = &str> {
    let mut rest = cmdline;
    core::iter::from_fn(move || {
        rest = rest.trim_start_matches(' ');
        if rest.is_empty() {
            return None;
        }
        let mut quoted = false;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                if c == '"' {
                    quoted = !quoted;
                }
                c == ' ' && !quoted
            })
            .map_or(rest.len(), |(i, _)| i);
        let (word, tail) = rest.split_at(end);
        rest = tail;
        Some(word)
    })
}

/// `s` without one pair of double quotes around it, if it has them.
fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// Whether the word `flag` appears on its own.
pub fn has_flag(cmdline: &str, flag: &str) -> bool {
    words(cmdline).any(|w| unquote(w) == flag)
}

/// The value of the last `key=value` word for `key` (a later word overrides
/// an earlier one, as on Linux).
pub fn value<'a>(cmdline: &'a str, key: &str) -> Option<&'a str> {
    words(cmdline)
        .filter_map(|w| unquote(w).split_once('='))
        .filter(|(k, _)| *k == key)
        .map(|(_, v)| unquote(v))
        .last()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_whole_words() {
        let c = "/boot/kernel halt  ktest=all";
        assert!(has_flag(c, "halt"));
        assert!(!has_flag(c, "hal"));
        assert!(!has_flag(c, "ktest"), "an option is not a flag");
        assert!(!has_flag("", "halt"));
    }

    #[test]
    fn values_are_found_and_later_ones_win() {
        assert_eq!(value("ktest=all halt", "ktest"), Some("all"));
        assert_eq!(value("ktest=a ktest=b", "ktest"), Some("b"));
        assert_eq!(value("ktest= x", "ktest"), Some(""));
        assert_eq!(value("xktest=a", "ktest"), None);
        assert_eq!(value("halt", "halt"), None);
    }

    #[test]
    fn quoted_values_keep_their_spaces() {
        let grub = r#"/boot/kernel.elf "monitor=showmappings 0x80100000;halt" x=1"#;
        assert_eq!(value(grub, "monitor"), Some("showmappings 0x80100000;halt"));
        assert_eq!(value(grub, "x"), Some("1"));
        let typed = r#"monitor="meminfo; pgdir" halt"#;
        assert_eq!(value(typed, "monitor"), Some("meminfo; pgdir"));
        assert!(has_flag(typed, "halt"));
        assert!(!has_flag(typed, "pgdir\""), "the quoted part is one word");
        assert_eq!(value(r#"k="unterminated a=b"#, "a"), None);
    }
}
