//! Reading the monitor's arguments: numbers in decimal or `0x` hex, each
//! checked, with errors that name the argument and the rule.

use core::fmt;

/// Why an argument was refused; shown with the command's usage line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgError<'a> {
    /// A required argument is missing.
    Missing(&'static str),
    /// Not a number: decimal, or hex with `0x`.
    NotANumber(&'static str, &'a str),
    /// Below the least value allowed.
    TooSmall(&'static str, u32, u32),
    /// Above the most allowed.
    TooLarge(&'static str, u32, u32),
    /// More arguments than the command takes.
    Extra(&'a str),
}

impl fmt::Display for ArgError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match *self {
            ArgError::Missing(what) => write!(f, "missing <{what}>"),
            ArgError::NotANumber(what, s) => write!(
                f,
                "<{what}> {s:?} is not a number (decimal, or hex starting 0x)"
            ),
            ArgError::TooSmall(what, v, min) => write!(f, "<{what}> {v} is below {min}"),
            ArgError::TooLarge(what, v, max) => write!(f, "<{what}> {v} is above {max}"),
            ArgError::Extra(s) => write!(f, "unexpected argument {s:?}"),
        }
    }
}

/// Parse a 32-bit number: `0x` hex or decimal.
pub fn parse_number(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// The words after a command's name, taken one by one.
pub struct Args<'a> {
    words: core::str::SplitAsciiWhitespace<'a>,
}

impl<'a> Args<'a> {
    pub fn new(words: core::str::SplitAsciiWhitespace<'a>) -> Args<'a> {
        Args { words }
    }

    /// The next argument as a number, if there is one.
    pub fn optional(&mut self, what: &'static str) -> Result<Option<u32>, ArgError<'a>> {
        self.words
            .next()
            .map(|w| parse_number(w).ok_or(ArgError::NotANumber(what, w)))
            .transpose()
    }

    /// The next argument as a number; it must be there.
    pub fn required(&mut self, what: &'static str) -> Result<u32, ArgError<'a>> {
        self.optional(what)?.ok_or(ArgError::Missing(what))
    }

    /// An optional count: `default` when absent, else within `allowed`.
    pub fn count(
        &mut self,
        what: &'static str,
        default: u32,
        allowed: core::ops::RangeInclusive<u32>,
    ) -> Result<u32, ArgError<'a>> {
        let n = self.optional(what)?.unwrap_or(default);
        if n < *allowed.start() {
            return Err(ArgError::TooSmall(what, n, *allowed.start()));
        }
        if n > *allowed.end() {
            return Err(ArgError::TooLarge(what, n, *allowed.end()));
        }
        Ok(n)
    }

    /// Refuse anything left over.
    pub fn done(mut self) -> Result<(), ArgError<'a>> {
        match self.words.next() {
            Some(w) => Err(ArgError::Extra(w)),
            None => Ok(()),
        }
    }
}

/// The `monitor=` option's commands: separated by `;`, blank ones skipped.
pub fn script(option: &str) -> impl Iterator<Item = &str> {
    option.split(';').map(str::trim).filter(|c| !c.is_empty())
}
