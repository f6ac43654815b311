//! The simulated power cut (`powercut=N`, protocol::POWERCUT_OPTION) and
//! the count of block writes: the crash tests' two hooks in the disk
//! driver (`disk::write`, whichever disk is the root).
//!
//! Every block write asks `before_write` first and reports `after_write`.
//! With `powercut=N` the first N writes go through; the N+1th is dropped
//! and the machine stops right there (protocol::Powercut's line, then QEMU
//! exits with protocol::EXIT_POWERCUT), so the disk holds exactly the first
//! N writes, as a disk whose power went while the kernel went on writing.
//! A write already under way on another CPU is waited for (boundedly)
//! before the stop.
//!
//! Whenever a file system was mounted, the power-off path prints
//! protocol::BlockWrites's line: how many writes the run made, from which
//! the crash sweep picks its cut points.

/// The cut a `powercut=` value asks for: None without one; a value that is
/// not a whole number is refused with the rule.
pub fn parse(value: Option<&str>) -> Result<Option<u32>, &'static str> {
    match value {
        None => Ok(None),
        Some(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
            v.parse().map(Some).map_err(|_| TOO_BIG)
        }
        Some(_) => Err(NOT_A_NUMBER),
    }
}

const NOT_A_NUMBER: &str = "is not a whole number of block writes";
const TOO_BIG: &str = "is more block writes than a 32-bit count holds";

/// Whether write number `n` (counting from 0) may reach the disk under a
/// cut after `limit` writes.
pub fn allowed(n: u32, limit: Option<u32>) -> bool {
    limit.is_none_or(|l| n < l)
}

#[cfg(kernel)]
pub use kernel::{after_write, before_write, init, mounted};

#[cfg(kernel)]
mod kernel {
    use core::sync::atomic::{AtomicU32, Ordering};

    use crate::protocol::{BlockWrites, EXIT_POWERCUT, POWERCUT_OPTION, Powercut};

    /// No cut.
    const NO_CUT: u32 = u32::MAX;
    /// Polls for a write under way on another CPU before the stop.
    const DRAIN_SPINS: u32 = 50_000_000;

    /// The cut: writes allowed (NO_CUT: all).
    static LIMIT: AtomicU32 = AtomicU32::new(NO_CUT);
    /// Writes asked for, and writes that reached the disk.
    static STARTED: AtomicU32 = AtomicU32::new(0);
    static DONE: AtomicU32 = AtomicU32::new(0);

    /// Read `powercut=N` from the kernel command line (at boot, before the
    /// first write).
    pub fn init(cmdline: &str) {
        let value = crate::cmdline::value(cmdline, POWERCUT_OPTION);
        match super::parse(value) {
            Ok(Some(n)) => {
                crate::println!("powercut: the power goes after {n} block writes");
                LIMIT.store(n, Ordering::SeqCst);
            }
            Ok(None) => {}
            Err(rule) => crate::println!(
                "powercut: {POWERCUT_OPTION}={} {rule}: no power cut",
                value.unwrap_or_default()
            ),
        }
    }

    fn limit() -> Option<u32> {
        Some(LIMIT.load(Ordering::SeqCst)).filter(|&l| l != NO_CUT)
    }

    /// Called before each block write: returns if the write may go to the
    /// disk; at the cut, stops the machine instead.
    pub fn before_write() {
        let n = STARTED.fetch_add(1, Ordering::SeqCst);
        let limit = limit();
        if super::allowed(n, limit) {
            return;
        }
        let writes = limit.unwrap_or(n);
        // Let a write another CPU started before the cut finish.
        for _ in 0..DRAIN_SPINS {
            if DONE.load(Ordering::SeqCst) >= writes {
                break;
            }
            core::hint::spin_loop();
        }
        crate::println!("{}", Powercut { writes });
        crate::machine::fail(EXIT_POWERCUT)
    }

    /// Called after each block write reached the disk.
    pub fn after_write() {
        DONE.fetch_add(1, Ordering::SeqCst);
    }

    /// A file system was mounted: every power-off from now on reports
    /// the count.
    pub fn mounted() {
        crate::machine::at_poweroff(report);
    }

    /// At power-off: the block-write count line.
    fn report() {
        let writes = DONE.load(Ordering::SeqCst);
        crate::println!("{}", BlockWrites { writes });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_is_a_whole_number_or_refused_with_the_rule() {
        assert_eq!(parse(None), Ok(None));
        assert_eq!(parse(Some("0")), Ok(Some(0)));
        assert_eq!(parse(Some("37")), Ok(Some(37)));
        for bad in ["", "x", "-1", "3x", " 3"] {
            assert_eq!(parse(Some(bad)), Err(NOT_A_NUMBER), "{bad:?}");
        }
        assert_eq!(parse(Some("99999999999")), Err(TOO_BIG));
    }

    #[test]
    fn exactly_the_first_n_writes_are_allowed() {
        assert!((0..1000).all(|n| allowed(n, None)));
        for limit in [0, 1, 5] {
            let through = (0..100).filter(|&n| allowed(n, Some(limit))).count();
            assert_eq!(through, limit as usize);
            assert!(!allowed(limit, Some(limit)), "the N+1th write is the cut");
        }
    }
}
