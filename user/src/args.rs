//! The arguments exec passed (`argc`, `argv`), and reading numbers from them.

use core::ffi::CStr;

/// A program's arguments: `argv[0]` is its name.
#[derive(Clone, Copy)]
pub struct Args {
    argc: usize,
    argv: *const *const u8,
}

impl Args {
    /// # Safety
    /// `argv` holds `argc` pointers to NUL-terminated strings that live as
    /// long as the program.
    pub unsafe fn new(argc: i32, argv: *const *const u8) -> Args {
        Args {
            argc: usize::try_from(argc).unwrap_or(0),
            argv,
        }
    }

    /// How many there are, the name included.
    pub fn len(&self) -> usize {
        self.argc
    }

    /// Whether there are none at all (not even the name).
    pub fn is_empty(&self) -> bool {
        self.argc == 0
    }

    /// Argument `i` as a C string.
    pub fn get(&self, i: usize) -> Option<&'static CStr> {
        if i >= self.argc {
            return None;
        }
        // SAFETY: i < argc, and argv[i] is a NUL-terminated string that
        // lives as long as the program (`new`'s contract).
        Some(unsafe { CStr::from_ptr((*self.argv.add(i)).cast()) })
    }

    /// Argument `i`'s bytes (no NUL), or an empty slice.
    pub fn bytes(&self, i: usize) -> &'static [u8] {
        self.get(i).map_or(&[], CStr::to_bytes)
    }

    /// Argument `i` as text (lossy: a non-UTF-8 argument becomes "?").
    pub fn str(&self, i: usize) -> &'static str {
        core::str::from_utf8(self.bytes(i)).unwrap_or("?")
    }

    /// The arguments after the program's name.
    pub fn rest(&self) -> impl Iterator<Item = &'static CStr> + '_ {
        (1..self.argc).filter_map(|i| self.get(i))
    }
}

/// A decimal number with an optional `-` sign, as xv6's `atoi` reads it but
/// strict: None for anything else or an overflow.
pub fn atoi(s: &[u8]) -> Option<i32> {
    let (neg, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: i32 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        let d = i32::from(c - b'0');
        n = n.checked_mul(10)?.checked_add(if neg { -d } else { d })?;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoi_reads_signed_decimals_and_refuses_the_rest() {
        assert_eq!(atoi(b"0"), Some(0));
        assert_eq!(atoi(b"42"), Some(42));
        assert_eq!(atoi(b"-7"), Some(-7));
        assert_eq!(atoi(b"2147483647"), Some(i32::MAX));
        assert_eq!(atoi(b"-2147483648"), Some(i32::MIN));
        assert_eq!(atoi(b"2147483648"), None);
        assert_eq!(atoi(b""), None);
        assert_eq!(atoi(b"-"), None);
        assert_eq!(atoi(b"12x"), None);
    }

    #[test]
    fn args_read_argv_as_exec_builds_it() {
        let strings = [c"echo", c"a", c"bc"];
        let ptrs: [*const u8; 3] = strings.map(|s| s.as_ptr().cast());
        // SAFETY: three pointers to NUL-terminated statics.
        let args = unsafe { Args::new(3, ptrs.as_ptr()) };
        assert_eq!(args.len(), 3);
        assert_eq!(args.str(0), "echo");
        assert_eq!(args.bytes(2), b"bc");
        assert_eq!(args.get(3), None);
        let rest: [&CStr; 2] = [c"a", c"bc"];
        assert!(args.rest().eq(rest));
    }
}
