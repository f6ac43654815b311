//! The `kalloc=` boot option: how the free pages are kept.

use core::fmt;

use crate::protocol::KALLOC_MODES;

/// How the free pages are kept, chosen by the `kalloc=` boot option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// One list and one lock for every CPU (xv6's `kmem`), the default.
    Global,
    /// A list and a lock per CPU; a CPU whose list is empty steals a batch
    /// from another's (the lock lab's cure for a contended `kmem`).
    PerCpu,
    /// No list: the highest free page, found by scanning the free bits from
    /// the top, under one lock (Linux 0.01's `get_free_page`).
    Scan,
}

/// A `kalloc=` value that names no mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadMode<'a>(pub &'a str);

impl fmt::Display for BadMode<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let [modes @ .., last] = KALLOC_MODES;
        write!(f, "kalloc={}: the allocator mode is ", self.0)?;
        modes.iter().try_for_each(|m| write!(f, "{m}, "))?;
        write!(f, "or {last}")
    }
}

impl Mode {
    /// Every mode, in the order of [`KALLOC_MODES`] (the names the host
    /// side boots them by).
    pub const ALL: [Mode; 3] = [Mode::Global, Mode::PerCpu, Mode::Scan];

    /// The mode the `kalloc=` option's value names (`None`: no option).
    pub fn parse(value: Option<&str>) -> Result<Mode, BadMode<'_>> {
        let Some(name) = value else {
            return Ok(Mode::Global);
        };
        Mode::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or(BadMode(name))
    }

    pub fn name(self) -> &'static str {
        KALLOC_MODES[self as usize]
    }

    /// The mode the command line's `kalloc=` option names; a value that
    /// names none is refused, saying why, and `global` kept.
    #[cfg(kernel)]
    pub fn from_cmdline(cmdline: &str) -> Mode {
        Mode::parse(crate::cmdline::value(cmdline, crate::cmdline::KALLOC)).unwrap_or_else(|e| {
            crate::println!("kalloc: refusing {e}; keeping global");
            Mode::Global
        })
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_option_is_global_percpu_or_scan() {
        assert_eq!(Mode::parse(None), Ok(Mode::Global), "global by default");
        assert_eq!(Mode::parse(Some("global")), Ok(Mode::Global));
        assert_eq!(Mode::parse(Some("percpu")), Ok(Mode::PerCpu));
        assert_eq!(Mode::parse(Some("scan")), Ok(Mode::Scan));
        let e = Mode::parse(Some("per-cpu")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "kalloc=per-cpu: the allocator mode is global, percpu, or scan"
        );
        assert_eq!(Mode::PerCpu.to_string(), "percpu");
        for (m, name) in Mode::ALL.into_iter().zip(KALLOC_MODES) {
            assert_eq!(m.name(), name);
            assert_eq!(Mode::parse(Some(name)), Ok(m), "{name} round-trips");
        }
    }
}
