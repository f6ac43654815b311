//! ELF32 headers (xv6's `elf.h`): the file header and program headers
//! `exec` reads, parsed from bytes with their rules checked.

/// "\x7fELF" read as a little-endian word.
pub const ELF_MAGIC: u32 = 0x464C_457F;
/// Program header type of a loadable segment.
pub const ELF_PROG_LOAD: u32 = 1;
/// Bytes of the file header `exec` reads, and of a program header.
pub const ELFHDR_SIZE: usize = 52;
pub const PROGHDR_SIZE: usize = 32;

fn word(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn half(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

/// What `exec` needs of the file header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ElfHdr {
    pub entry: u32,
    pub phoff: u32,
    pub phnum: u16,
    pub phentsize: u16,
}

/// Why a file is not an executable `exec` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// Shorter than a header.
    Short,
    BadMagic(u32),
    /// A segment whose memory size is below its file size.
    MemszBelowFilesz,
    /// A segment whose end wraps past 4 GiB or leaves user space.
    OutOfUserSpace,
    /// A segment not starting on a page boundary.
    Unaligned(u32),
}

impl ElfHdr {
    pub fn parse(b: &[u8]) -> Result<ElfHdr, ElfError> {
        if b.len() < ELFHDR_SIZE {
            return Err(ElfError::Short);
        }
        match word(b, 0) {
            ELF_MAGIC => Ok(ElfHdr {
                entry: word(b, 24),
                phoff: word(b, 28),
                phentsize: half(b, 42),
                phnum: half(b, 44),
            }),
            m => Err(ElfError::BadMagic(m)),
        }
    }
}

/// A program header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgHdr {
    pub kind: u32,
    pub off: u32,
    pub vaddr: u32,
    pub filesz: u32,
    pub memsz: u32,
}

impl ProgHdr {
    pub fn parse(b: &[u8]) -> Result<ProgHdr, ElfError> {
        if b.len() < PROGHDR_SIZE {
            return Err(ElfError::Short);
        }
        Ok(ProgHdr {
            kind: word(b, 0),
            off: word(b, 4),
            vaddr: word(b, 8),
            filesz: word(b, 16),
            memsz: word(b, 20),
        })
    }

    /// Check a loadable segment against exec's rules for user space below
    /// `top`; its end address.
    pub fn check(&self, top: u32) -> Result<u32, ElfError> {
        if self.memsz < self.filesz {
            return Err(ElfError::MemszBelowFilesz);
        }
        let end = self
            .vaddr
            .checked_add(self.memsz)
            .filter(|&e| e <= top)
            .ok_or(ElfError::OutOfUserSpace)?;
        if !crate::mmu::is_page_aligned(self.vaddr) {
            return Err(ElfError::Unaligned(self.vaddr));
        }
        Ok(end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(magic: u32) -> [u8; ELFHDR_SIZE] {
        let mut b = [0u8; ELFHDR_SIZE];
        b[0..4].copy_from_slice(&magic.to_le_bytes());
        b[24..28].copy_from_slice(&0x1234u32.to_le_bytes());
        b[28..32].copy_from_slice(&52u32.to_le_bytes());
        b[42..44].copy_from_slice(&32u16.to_le_bytes());
        b[44..46].copy_from_slice(&2u16.to_le_bytes());
        b
    }

    #[test]
    fn a_header_parses_and_garbage_is_refused() {
        let h = ElfHdr::parse(&header(ELF_MAGIC)).unwrap();
        assert_eq!(
            (h.entry, h.phoff, h.phentsize, h.phnum),
            (0x1234, 52, 32, 2)
        );
        assert_eq!(
            ElfHdr::parse(&header(0xdead)),
            Err(ElfError::BadMagic(0xdead))
        );
        assert_eq!(ElfHdr::parse(&[0x7f, b'E']), Err(ElfError::Short));
    }

    #[test]
    fn segments_follow_execs_rules() {
        let seg = |vaddr, filesz, memsz| ProgHdr {
            kind: ELF_PROG_LOAD,
            off: 0x80,
            vaddr,
            filesz,
            memsz,
        };
        assert_eq!(seg(0, 0x100, 0x200).check(0x8000_0000), Ok(0x200));
        assert_eq!(
            seg(0, 0x200, 0x100).check(0x8000_0000),
            Err(ElfError::MemszBelowFilesz)
        );
        assert_eq!(
            seg(0xffff_f000, 0, 0x2000).check(u32::MAX),
            Err(ElfError::OutOfUserSpace)
        );
        assert_eq!(
            seg(0x7000_0000, 0, 0x2000).check(0x7000_1000),
            Err(ElfError::OutOfUserSpace)
        );
        assert_eq!(
            seg(0x10, 0, 0x20).check(0x8000_0000),
            Err(ElfError::Unaligned(0x10))
        );
    }
}
