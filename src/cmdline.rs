//! The kernel command line: words separated by spaces, each a flag (`halt`)
//! or an option (`ktest=all`). GRUB passes whatever follows the kernel's
//! path on its `multiboot2` line. A word may hold spaces inside double
//! quotes: GRUB writes an argument that has spaces as `"key=a b"`, and
//! `key="a b"` works too; either way the value is `a b`.
//!
//! Every word the kernel does not use is reported at boot ([`remarks`]):
//! an unknown word, an option with no value, a repeated option, a command
//! line too long to trust. Nothing on the command line is dropped silently.

use core::fmt;

pub use crate::protocol::CMDLINE_MAX;

/// Flags: words that stand alone.
pub const HALT: &str = crate::protocol::HALT_OPTION;
pub const BENCH: &str = crate::protocol::BENCH_OPTION;
/// Options: `key=value` words.
pub const KTEST: &str = crate::protocol::KTEST_OPTION;
pub const KALLOC: &str = "kalloc";
pub const PHYSTOP: &str = "phystop";
pub const MONITOR: &str = "monitor";
/// How `fork` copies memory: `copy` or `cow` (the default).
pub const FORK: &str = "fork";
/// The root file system's disk (`ram` or `ide`), and the simulated power
/// cut after N block writes.
pub const ROOT: &str = crate::protocol::ROOT_OPTION;
pub const POWERCUT: &str = crate::protocol::POWERCUT_OPTION;

const FLAGS: [&str; 2] = [HALT, BENCH];
const OPTIONS: [&str; 7] = [KTEST, KALLOC, PHYSTOP, MONITOR, FORK, ROOT, POWERCUT];

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
/// an earlier one, as on Linux). An empty value counts as none.
pub fn value<'a>(cmdline: &'a str, key: &str) -> Option<&'a str> {
    words(cmdline)
        .filter_map(|w| unquote(w).split_once('='))
        .filter(|(k, _)| *k == key)
        .map(|(_, v)| unquote(v))
        .filter(|v| !v.is_empty())
        .last()
}

/// The command line the kernel acts on: all of `raw`, or nothing when it is
/// longer than [`CMDLINE_MAX`] (the runner never passes such a one).
pub fn usable(raw: &str) -> &str {
    if raw.len() > CMDLINE_MAX { "" } else { raw }
}

/// Something on the command line that the kernel does not use as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Remark<'a> {
    /// More than CMDLINE_MAX bytes: all of it is ignored.
    TooLong(usize),
    /// A word that is neither a flag nor an option.
    Unknown(&'a str),
    /// `halt=1`: a flag takes no value.
    FlagWithValue(&'a str),
    /// `kalloc` or `kalloc=`: an option needs a value.
    NoValue(&'a str),
    /// An option or flag given more than once; the last one counts.
    Repeated { key: &'a str, times: usize },
}

impl fmt::Display for Remark<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match *self {
            Remark::TooLong(n) => write!(
                f,
                "cmdline: ignoring the whole command line: {n} bytes, more than CMDLINE_MAX ({CMDLINE_MAX})"
            ),
            Remark::Unknown(w) => {
                write!(f, "cmdline: ignoring unknown word {w:?} (known:")?;
                FLAGS.iter().try_for_each(|k| write!(f, " {k}"))?;
                OPTIONS.iter().try_for_each(|k| write!(f, " {k}=..."))?;
                write!(f, ")")
            }
            Remark::FlagWithValue(w) => {
                write!(f, "cmdline: ignoring {w:?}: the flag takes no value")
            }
            Remark::NoValue(w) => write!(f, "cmdline: ignoring {w:?}: the option needs a value"),
            Remark::Repeated { key, times } => {
                write!(f, "cmdline: {key} given {times} times; the last one counts")
            }
        }
    }
}

/// What a word is to the kernel: `Ok(key)` for a flag or option it uses as
/// written, else the remark that says why not.
fn classify(word: &str) -> Result<&'static str, Remark<'_>> {
    let w = unquote(word);
    let (key, value) = match w.split_once('=') {
        Some((k, v)) => (k, Some(unquote(v))),
        None => (w, None),
    };
    if let Some(flag) = FLAGS.iter().find(|f| **f == key) {
        return if value.is_none() {
            Ok(flag)
        } else {
            Err(Remark::FlagWithValue(w))
        };
    }
    if let Some(option) = OPTIONS.iter().find(|o| **o == key) {
        return if value.is_some_and(|v| !v.is_empty()) {
            Ok(option)
        } else {
            Err(Remark::NoValue(w))
        };
    }
    Err(Remark::Unknown(w))
}

/// Every remark on `raw`, in the order of its words (a repeated key once,
/// at its first use).
pub fn remarks(raw: &str) -> impl Iterator<Item = Remark<'_>> {
    let too_long = (raw.len() > CMDLINE_MAX).then_some(Remark::TooLong(raw.len()));
    let cmdline = usable(raw);
    let uses = move |key| words(cmdline).filter(move |w| classify(w) == Ok(key));
    let word_remarks = words(cmdline).enumerate().filter_map(move |(i, word)| {
        let key = match classify(word) {
            Ok(key) => key,
            Err(remark) => return Some(remark),
        };
        let first = words(cmdline).position(|w| classify(w) == Ok(key)) == Some(i);
        let times = uses(key).count();
        (first && times > 1).then_some(Remark::Repeated { key, times })
    });
    too_long.into_iter().chain(word_remarks)
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
        assert_eq!(value("ktest= x", "ktest"), None, "an empty value is none");
        assert_eq!(value("ktest=a ktest=", "ktest"), Some("a"));
        assert_eq!(value("xktest=a", "ktest"), None);
        assert_eq!(value("halt", "halt"), None);
    }

    fn all(c: &str) -> Vec<String> {
        remarks(c).map(|r| r.to_string()).collect()
    }

    #[test]
    fn known_words_used_once_draw_no_remark() {
        assert!(all("").is_empty());
        assert!(all(r#"halt bench ktest=all kalloc=percpu phystop=64M "monitor=a; b""#).is_empty());
        assert!(all("root=ide powercut=12").is_empty());
    }

    #[test]
    fn unknown_empty_and_misused_words_are_named() {
        assert_eq!(
            remarks("foo halt=1 kalloc kalloc= x=1").collect::<Vec<_>>(),
            [
                Remark::Unknown("foo"),
                Remark::FlagWithValue("halt=1"),
                Remark::NoValue("kalloc"),
                Remark::NoValue("kalloc="),
                Remark::Unknown("x=1"),
            ]
        );
        let line = &all("frob")[0];
        assert!(
            line.starts_with(
                r#"cmdline: ignoring unknown word "frob" (known: halt bench ktest=..."#
            ),
            "{line}"
        );
    }

    #[test]
    fn a_repeated_key_is_named_once() {
        let r: Vec<_> = remarks("kalloc=global halt kalloc=percpu halt kalloc=global").collect();
        assert_eq!(
            r,
            [
                Remark::Repeated {
                    key: "kalloc",
                    times: 3
                },
                Remark::Repeated {
                    key: "halt",
                    times: 2
                },
            ]
        );
        assert_eq!(
            value("kalloc=global kalloc=percpu", "kalloc"),
            Some("percpu")
        );
    }

    #[test]
    fn a_command_line_past_the_limit_is_ignored_whole() {
        let long = "halt ".repeat(CMDLINE_MAX / 5 + 1);
        assert_eq!(usable(&long), "");
        assert!(!has_flag(usable(&long), "halt"));
        assert_eq!(
            remarks(&long).collect::<Vec<_>>(),
            [Remark::TooLong(long.len())]
        );
        let fits = "x".repeat(CMDLINE_MAX);
        assert_eq!(usable(&fits), fits);
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
