//! The kernel command line: words separated by spaces, each a flag (`halt`)
//! or an option (`ktest=all`). GRUB passes whatever follows the kernel's
//! path on its `multiboot2` line.

/// Whether the word `flag` appears on its own.
pub fn has_flag(cmdline: &str, flag: &str) -> bool {
    cmdline.split_ascii_whitespace().any(|w| w == flag)
}

/// The value of the last `key=value` word for `key` (a later word overrides
/// an earlier one, as on Linux).
pub fn value<'a>(cmdline: &'a str, key: &str) -> Option<&'a str> {
    cmdline
        .split_ascii_whitespace()
        .filter_map(|w| w.split_once('='))
        .filter(|(k, _)| *k == key)
        .map(|(_, v)| v)
        .next_back()
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
}
