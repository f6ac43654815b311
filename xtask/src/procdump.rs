//! Ctrl-P's report, as the host reads it: the kernel prints its process
//! table (xv6's procdump), then `free pages N`. The tests, the soak and
//! the docs' shell samples count pages with it: the free count plus each
//! process's memory (its `sz`, in pages) stays the same unless pages leak,
//! however a shell's heap grows.

use crate::protocol::{CTRL_P, PROCDUMP_FREE};
use crate::session::Session;
use crate::{Error, Result};

/// Bytes in a page (the kernel's mmu.rs).
const PGSIZE: u64 = 4096;

/// One Ctrl-P report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Procdump {
    /// The process table: one line per process in use (`pid state name
    /// sz N`, a running one's ending in `cpu N`), and whatever the console
    /// printed before it since the last answer.
    pub table: String,
    /// The free page count, the report's last line.
    pub free: u64,
}

/// Type Ctrl-P alone and read the report.
///
/// No Enter follows it: a line end would make the shell fork a child for
/// the empty line while the kernel prints the table, and the table would
/// then show that child half made (its pages taken, its size not yet the
/// final one). At a prompt the shell sleeps in `read`, so the table and
/// the count are of a quiet machine.
pub fn ctrl_p(s: &mut Session) -> Result<Procdump> {
    s.send_raw(&[CTRL_P])?;
    let table = s.expect(PROCDUMP_FREE)?;
    let count = s.expect("\n")?;
    parse(&format!("{table}{count}"))
        .ok_or_else(|| Error::new(format!("Ctrl-P printed no free page count: {count:?}")))
}

/// The report in `answer`: everything up to its last `free pages N` line.
pub fn parse(answer: &str) -> Option<Procdump> {
    let start = answer.rfind(PROCDUMP_FREE)?;
    let (table, last) = answer.split_at(start);
    let free = last[PROCDUMP_FREE.len()..]
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()?;
    Some(Procdump {
        table: table.to_string(),
        free,
    })
}

impl Procdump {
    /// The pages of the processes' memories (the `sz` column, each rounded
    /// up to whole pages).
    pub fn user_pages(&self) -> u64 {
        self.table
            .lines()
            .filter_map(|l| l.rsplit_once(" sz ")?.1.split_whitespace().next())
            .filter_map(|sz| sz.parse::<u64>().ok())
            .map(|sz| sz.div_ceil(PGSIZE))
            .sum()
    }

    /// The processes' ids, in the table's order.
    pub fn pids(&self) -> Vec<u32> {
        self.table
            .lines()
            .filter(|l| l.contains(" sz "))
            .filter_map(|l| l.split_whitespace().next()?.parse().ok())
            .collect()
    }

    /// Free pages plus the processes' pages: what must come back.
    pub fn pages(&self) -> u64 {
        self.free + self.user_pages()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "1 sleep  init sz 12288\n2 run    sh sz 16384 cpu 1\nfree pages 57000\n";

    #[test]
    fn a_report_gives_its_table_and_its_count() {
        let d = parse(DUMP).unwrap();
        assert_eq!(d.free, 57000);
        assert_eq!(
            d.table,
            "1 sleep  init sz 12288\n2 run    sh sz 16384 cpu 1\n"
        );
        assert_eq!(d.user_pages(), 3 + 4);
        assert_eq!(d.pages(), 57000 + 7);
        assert_eq!(d.pids(), [1, 2]);
    }

    #[test]
    fn a_size_counts_in_whole_pages_and_a_cpu_column_is_no_size() {
        let d = parse("3 run sh sz 4097 cpu 1\nfree pages 1\n").unwrap();
        assert_eq!(d.user_pages(), 2);
    }

    #[test]
    fn an_answer_without_a_count_is_no_report() {
        assert_eq!(parse("1 sleep init sz 12288\n"), None);
        assert_eq!(parse("free pages many\n"), None);
    }

    #[test]
    fn the_last_count_is_the_reports() {
        let d = parse("free pages 5\n1 sleep init sz 4096\nfree pages 9\n").unwrap();
        assert_eq!((d.free, d.user_pages()), (9, 1));
    }

    #[test]
    fn the_ctrl_p_byte_is_the_keys() {
        // Ctrl-P is P's code with the control bit (0x40) cleared.
        assert_eq!(CTRL_P, b'P' & !0x40);
    }
}
