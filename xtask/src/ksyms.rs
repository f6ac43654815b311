//! The kernel's symbol table (`src/debug/ksyms.rs` reads it for backtraces) and
//! the Bochs symbol file, both made from the ELF's function symbols.
//!
//! The table lists what `nm -n -S -C --defined-only` shows as `t` or `T`
//! (local or global symbols in an executable section), sorted by address,
//! then by mangled name, one `start size name` line each (hex, 8 digits;
//! the name demangled without its hash). The Bochs file has the same
//! symbols as `0xSTART NAME`, spaces in names turned into `_`.

use object::elf::SHF_EXECINSTR;
use object::{Object, ObjectSection, ObjectSymbol, SectionFlags, SymbolKind, SymbolSection};

use crate::{Error, Result};

/// The section the linker reserves for the table (linker.ld, src/debug/ksyms.rs).
pub const SECTION: &str = ".ksyms";

/// One function symbol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    pub start: u32,
    pub size: u32,
    /// As the ELF has it (mangled).
    pub raw: String,
}

impl Function {
    /// The name as `nm -C` prints it: demangled, without the hash.
    pub fn name(&self) -> String {
        format!("{:#}", rustc_demangle::demangle(&self.raw))
    }
}

/// The ELF's function symbols, in the table's order.
pub fn functions(elf: &object::File) -> Vec<Function> {
    let mut found: Vec<Function> = elf
        .symbols()
        .filter(|s| !s.is_weak() && !matches!(s.kind(), SymbolKind::Section | SymbolKind::File))
        .filter(|s| match s.section() {
            SymbolSection::Section(i) => elf.section_by_index(i).is_ok_and(|sec| {
                matches!(sec.flags(), SectionFlags::Elf { sh_flags } if sh_flags & u64::from(SHF_EXECINSTR) != 0)
            }),
            _ => false,
        })
        .filter_map(|s| {
            Some(Function {
                start: u32::try_from(s.address()).ok()?,
                size: u32::try_from(s.size()).ok()?,
                raw: s.name().ok()?.to_string(),
            })
        })
        .collect();
    found.sort_by(|a, b| (a.start, a.raw.as_bytes()).cmp(&(b.start, b.raw.as_bytes())));
    found
}

/// The kernel's table: `start size name` lines.
pub fn table(functions: &[Function]) -> String {
    functions
        .iter()
        .map(|f| format!("{:08x} {:08x} {}\n", f.start, f.size, f.name()))
        .collect()
}

/// The Bochs symbol file: `0xSTART NAME` lines, no spaces in names.
pub fn bochs(functions: &[Function]) -> String {
    functions
        .iter()
        .map(|f| format!("0x{:08x} {}\n", f.start, f.name().replace(' ', "_")))
        .collect()
}

/// Where `.ksyms` lies in the ELF file: offset and size.
pub fn section_range(elf: &object::File) -> Result<(usize, usize)> {
    let section = elf
        .section_by_name(SECTION)
        .ok_or_else(|| Error::new("the kernel has no .ksyms section (linker.ld)"))?;
    let (offset, size) = section.file_range().ok_or_else(|| {
        Error::new("the kernel's .ksyms section has no bytes in the file (linker.ld)")
    })?;
    Ok((offset as usize, size as usize))
}

/// `table` zero-padded to `size` bytes (the table ends at its first zero):
/// an error naming both sizes if it does not fit with a zero after it.
pub fn padded(table: &str, size: usize) -> Result<Vec<u8>> {
    if table.len() >= size {
        return Err(Error::new(format!(
            "the symbol table takes {} bytes but .ksyms holds {size}; raise KSYMS_SIZE in src/debug/ksyms.rs",
            table.len()
        )));
    }
    let mut bytes = table.as_bytes().to_vec();
    bytes.resize(size, 0);
    Ok(bytes)
}

/// What the build writes: the ELF with its table filled in, the padded
/// table and the Bochs file.
pub struct Filled {
    pub elf: Vec<u8>,
    pub table: Vec<u8>,
    pub bochs: String,
}

/// Fill the table of the ELF `bytes`.
pub fn fill(mut bytes: Vec<u8>) -> Result<Filled> {
    let (functions, (offset, size)) = {
        let elf = object::File::parse(&*bytes).map_err(|e| {
            Error::new(format!(
                "the kernel is not an ELF file object can read: {e}"
            ))
        })?;
        (functions(&elf), section_range(&elf)?)
    };
    let table = padded(&table(&functions), size)?;
    bytes[offset..offset + size].copy_from_slice(&table);
    Ok(Filled {
        elf: bytes,
        table,
        bochs: bochs(&functions),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(start: u32, size: u32, raw: &str) -> Function {
        Function {
            start,
            size,
            raw: raw.into(),
        }
    }

    #[test]
    fn lines_are_hex_start_size_and_the_demangled_name() {
        let fs = [
            f(0x8010_0024, 0, "_start"),
            // v0 mangling of xv6::trap::trap, with a crate disambiguator
            f(0x8010_1820, 0x4e, "_RNvNtCs1234_3xv64trap4trap"),
        ];
        assert_eq!(
            table(&fs),
            "80100024 00000000 _start\n80101820 0000004e xv6::trap::trap\n"
        );
    }

    #[test]
    fn the_bochs_file_has_no_spaces_in_names() {
        let fs = [f(
            0x8010_1870,
            0x30,
            "<xv6::uart::Uart as core::fmt::Write>::write_str",
        )];
        assert_eq!(
            bochs(&fs),
            "0x80101870 <xv6::uart::Uart_as_core::fmt::Write>::write_str\n"
        );
    }

    #[test]
    fn the_table_must_leave_room_for_its_end() {
        assert_eq!(padded("ab\n", 5).unwrap(), b"ab\n\0\0");
        let e = padded("abcd\n", 5).unwrap_err();
        assert_eq!(
            e.message,
            "the symbol table takes 5 bytes but .ksyms holds 5; raise KSYMS_SIZE in src/debug/ksyms.rs"
        );
    }
}
