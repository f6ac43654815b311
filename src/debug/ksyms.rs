//! The kernel's own symbol table, so that backtraces show function names
//! without a debugger.
//!
//! The kernel cannot know its final addresses when it is compiled, so the
//! image reserves a section, `.ksyms`, of KSYMS_SIZE zero bytes, and
//! `run-qemu.sh`'s runner fills it after linking (`xtask/src/ksyms.rs`: the
//! ELF's function symbols, written at the section's file offset). The
//! table is plain text, one function per line, sorted by address:
//!
//! ```text
//! 80101820 0000004e xv6::trap::trap
//! ```
//!
//! (start, size in bytes, both hex; then the demangled name), and ends at
//! the first zero byte. A kernel built by plain `cargo` has an empty table
//! and prints addresses only.

/// Bytes reserved for the table (run-qemu.sh reads the section's size from
/// the ELF and stops with a message if the table does not fit). About 48 KiB
/// are in use; every page reserved here is a page less in kinit1's pool,
/// which at the largest PHYSTOP with 8 CPUs has only a few to spare.
pub const KSYMS_SIZE: usize = 64 * 1024;

/// A function the table knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Symbol<'a> {
    pub start: u32,
    pub size: u32,
    pub name: &'a str,
}

/// The table's lines that parse, in order.
fn entries(table: &[u8]) -> impl Iterator<Item = Symbol<'_>> {
    let end = table.iter().position(|&b| b == 0).unwrap_or(table.len());
    table[..end].split(|&b| b == b'\n').filter_map(|line| {
        let line = core::str::from_utf8(line).ok()?;
        let (start, rest) = line.split_once(' ')?;
        let (size, name) = rest.split_once(' ')?;
        Some(Symbol {
            start: u32::from_str_radix(start, 16).ok()?,
            size: u32::from_str_radix(size, 16).ok()?,
            name,
        })
    })
}

/// The function containing `addr`: the last one starting at or below it,
/// if `addr` is inside its size (a size of 0, as assembly labels have,
/// stretches to the next symbol).
pub fn lookup(table: &[u8], addr: u32) -> Option<Symbol<'_>> {
    let found = entries(table).take_while(|s| s.start <= addr).last()?;
    (found.size == 0 || addr - found.start < found.size).then_some(found)
}

/// Number of functions in the table.
pub fn count(table: &[u8]) -> usize {
    entries(table).count()
}

#[cfg(kernel)]
mod kernel {
    use super::KSYMS_SIZE;

    core::arch::global_asm!(
        ".pushsection .ksyms, \"a\"",
        ".globl ksyms",
        "ksyms:",
        ".space {size}",
        ".popsection",
        size = const KSYMS_SIZE,
    );

    unsafe extern "C" {
        /// The reserved section (see the module comment).
        static ksyms: [u8; KSYMS_SIZE];
    }

    /// The table as run-qemu.sh wrote it (all zeroes if it did not).
    pub fn table() -> &'static [u8] {
        // SAFETY: `ksyms` is KSYMS_SIZE bytes of read-only data, written
        // only by the runner before boot. It is an extern static, so the
        // compiler cannot assume the zeroes the assembler put there.
        unsafe { &ksyms }
    }
}

#[cfg(kernel)]
pub use kernel::table;

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[u8] = b"80100024 00000000 _start\n\
        80101820 0000004e xv6::trap::trap\n\
        80101870 00000030 <xv6::uart::Uart as core::fmt::Write>::write_str\n\
        801018a0 00000010 xv6::main\n\0\0\0garbage after the end";

    #[test]
    fn an_address_inside_a_function_finds_it() {
        let s = lookup(TABLE, 0x8010_1830).unwrap();
        assert_eq!((s.start, s.name), (0x8010_1820, "xv6::trap::trap"));
        assert_eq!(
            lookup(TABLE, 0x8010_1870).unwrap().name,
            "<xv6::uart::Uart as core::fmt::Write>::write_str",
            "names may hold spaces"
        );
        assert_eq!(lookup(TABLE, 0x8010_18af).unwrap().name, "xv6::main");
    }

    #[test]
    fn addresses_outside_every_function_find_nothing() {
        assert_eq!(lookup(TABLE, 0x8010_0000), None, "below the first");
        assert_eq!(lookup(TABLE, 0x8010_186e), None, "past trap's size");
        assert_eq!(lookup(TABLE, 0x8010_18b0), None, "past the last");
    }

    #[test]
    fn a_sizeless_label_reaches_the_next_symbol() {
        assert_eq!(lookup(TABLE, 0x8010_1000).unwrap().name, "_start");
    }

    #[test]
    fn the_table_ends_at_the_first_zero_and_bad_lines_are_skipped() {
        assert_eq!(count(TABLE), 4);
        assert_eq!(count(b"zz 1 x\n80100000 10 f\n"), 1);
        assert_eq!(count(&[0; 64]), 0);
        assert_eq!(lookup(&[0; 64], 0x8010_0000), None);
    }
}
