//! Finding the CPUs and the I/O APIC: the Intel MultiProcessor
//! Specification's tables, which the BIOS (SeaBIOS in QEMU, Bochs's own)
//! leaves in low memory (xv6's `mp.c` and `mp.h`).
//!
//! A 16-byte *floating pointer* ("_MP_") sits on a 16-byte boundary in one of
//! three places: the first KiB of the extended BIOS data area, the last KiB
//! of base memory, or the BIOS ROM at 0xF0000..0x100000. It points to the
//! *configuration table* ("PCMP"): a header with the local APIC's address,
//! then entries for each processor, bus, I/O APIC and interrupt line.
//!
//! Reading is pure: the tables come through a `read(pa) -> byte` function,
//! the direct map in the kernel and a simulated memory in the host's tests.

use core::fmt;

use crate::memlayout::{BDA_BASE_KIB, BDA_EBDA_SEGMENT, BIOS_ROM, PARAGRAPH, PAddr};
use crate::param::NCPU;

/// Bytes searched in the EBDA and at the top of base memory.
const SEARCH_LEN: u32 = 1024;

const FP_SIGNATURE: &[u8; 4] = b"_MP_";
const FP_LEN: u32 = 16;
const CONF_SIGNATURE: &[u8; 4] = b"PCMP";
const CONF_HEADER_LEN: u32 = 44;

/// Floating pointer fields (offsets into its 16 bytes).
const FP_PHYSADDR: u32 = 4;
const FP_TYPE: u32 = 11;
const FP_FEATURES2: u32 = 12;
/// Feature byte 2, bit 7: the machine has an IMCR and boots in PIC mode.
const FP_IMCR_PRESENT: u8 = 0x80;

/// Configuration table header fields.
const CONF_LENGTH: u32 = 4;
const CONF_VERSION: u32 = 6;
const CONF_ENTRIES: u32 = 34;
const CONF_LAPIC: u32 = 36;

/// Entry types, and the length of each (processor entries are longer).
const MPPROC: u8 = 0;
const MPBUS: u8 = 1;
const MPIOAPIC: u8 = 2;
const MPIOINTR: u8 = 3;
const MPLINTR: u8 = 4;
const PROC_ENTRY_LEN: u32 = 20;
const OTHER_ENTRY_LEN: u32 = 8;

/// Processor entry flags: usable, and the bootstrap processor.
const PROC_ENABLED: u8 = 1 << 0;
const PROC_BSP: u8 = 1 << 1;
/// I/O APIC entry flag: usable.
const IOAPIC_ENABLED: u8 = 1 << 0;
/// I/O interrupt entry type for an ordinary vectored interrupt.
const INTR_INT: u8 = 0;
/// A bus entry's type string for the ISA bus (space-padded to 6 bytes).
const BUS_ISA: &[u8; 6] = b"ISA   ";
/// Most bus ids a table can have (they are one byte).
const MAX_BUSES: usize = 256;

/// Number of ISA interrupt lines (the PIC's IRQ 0-15).
pub const NISA_IRQS: usize = 16;

/// One CPU the table lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuEntry {
    pub apicid: u8,
}

/// What the kernel needs from the tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MpConfig {
    /// The usable CPUs, the boot processor first (so it is `cpu0`, the
    /// index it has used since power-on); `ncpu` of them are valid.
    pub cpus: [CpuEntry; NCPU],
    pub ncpu: usize,
    /// Enabled CPUs the table lists beyond NCPU, which the kernel ignores.
    pub ignored_cpus: usize,
    /// The local APIC registers' physical address (the same for every CPU).
    pub lapic: PAddr,
    /// The first usable I/O APIC: its id and registers' physical address.
    pub ioapic_id: u8,
    pub ioapic: PAddr,
    /// The I/O APIC input each ISA IRQ is wired to (identity unless the
    /// table says otherwise: QEMU wires the timer's IRQ 0 to input 2).
    pub isa_pins: [u8; NISA_IRQS],
    /// The machine has an IMCR: the kernel must switch it to APIC mode.
    pub imcr: bool,
}

impl MpConfig {
    /// Add an enabled CPU: the boot processor first (it is `cpu0`), the
    /// others in table order, at most NCPU (the boot processor displaces
    /// the last one if need be). Whether it was kept.
    fn add_cpu(&mut self, apicid: u8, bsp: bool) -> bool {
        if self.ncpu == NCPU {
            self.ignored_cpus += 1;
            if !bsp {
                return false;
            }
            self.ncpu -= 1;
        }
        let slot = if bsp { 0 } else { self.ncpu };
        self.cpus.copy_within(slot..self.ncpu, slot + 1);
        self.cpus[slot] = CpuEntry { apicid };
        self.ncpu += 1;
        true
    }

    /// The APIC ids of the usable CPUs, `cpu0` first.
    pub fn apicids(&self) -> impl Iterator<Item = u8> + '_ {
        self.cpus[..self.ncpu].iter().map(|c| c.apicid)
    }
}

impl fmt::Display for MpConfig {
    /// The boot report's line, and a second one for CPUs past NCPU.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "mp: {} CPUs (APIC ids", self.ncpu)?;
        self.apicids().try_for_each(|id| write!(f, " {id}"))?;
        write!(
            f,
            "), local APICs at {:#010x}, I/O APIC {} at {:#010x}",
            self.lapic.0, self.ioapic_id, self.ioapic.0
        )?;
        if self.ignored_cpus > 0 {
            write!(
                f,
                "\nmp: ignoring {} more CPUs (NCPU is {NCPU})",
                self.ignored_cpus
            )?;
        }
        Ok(())
    }
}

/// Why the tables could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MpError {
    /// No "_MP_" with a good checksum in any of the three places.
    NoFloatingPointer,
    /// The floating pointer names one of the spec's default configurations
    /// instead of a table (a machine from before 1995; QEMU never does).
    DefaultConfiguration {
        kind: u8,
    },
    BadSignature {
        pa: u32,
    },
    BadChecksum {
        pa: u32,
        len: u32,
    },
    BadVersion {
        version: u8,
    },
    UnknownEntry {
        kind: u8,
        pa: u32,
    },
    /// The table goes past the length its header gives.
    Truncated {
        pa: u32,
    },
    NoBootCpu,
    NoIoApic,
}

impl fmt::Display for MpError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match *self {
            MpError::NoFloatingPointer => write!(
                f,
                "no MP floating pointer (\"_MP_\") in the EBDA, the top KiB of base memory \
                 or the BIOS ROM: this kernel needs an MP BIOS (QEMU and Bochs have one)"
            ),
            MpError::DefaultConfiguration { kind } => write!(
                f,
                "the MP floating pointer names default configuration {kind}, not a table; \
                 only tables are supported"
            ),
            MpError::BadSignature { pa } => {
                write!(f, "no \"PCMP\" signature at the MP table's address {pa:#x}")
            }
            MpError::BadChecksum { pa, len } => write!(
                f,
                "the {len} bytes at {pa:#x} do not add up to 0 (bad MP checksum)"
            ),
            MpError::BadVersion { version } => write!(
                f,
                "MP table version {version}: only 1 (spec 1.1) and 4 (spec 1.4) are known"
            ),
            MpError::UnknownEntry { kind, pa } => {
                write!(f, "MP table entry of unknown type {kind} at {pa:#x}")
            }
            MpError::Truncated { pa } => {
                write!(f, "MP table entry at {pa:#x} runs past the table's length")
            }
            MpError::NoBootCpu => write!(f, "the MP table lists no enabled boot processor"),
            MpError::NoIoApic => write!(f, "the MP table lists no enabled I/O APIC"),
        }
    }
}

/// Little-endian fields read through `read`.
fn u16_at(read: &impl Fn(u32) -> u8, pa: u32) -> u16 {
    u16::from_le_bytes([read(pa), read(pa + 1)])
}

fn u32_at(read: &impl Fn(u32) -> u8, pa: u32) -> u32 {
    u32::from_le_bytes([read(pa), read(pa + 1), read(pa + 2), read(pa + 3)])
}

/// Whether the `len` bytes at `pa` add up to 0 (mod 256), the MP spec's
/// checksum rule.
fn sums_to_zero(read: &impl Fn(u32) -> u8, pa: u32, len: u32) -> bool {
    (pa..pa + len).fold(0u8, |s, a| s.wrapping_add(read(a))) == 0
}

fn has_signature(read: &impl Fn(u32) -> u8, pa: u32, sig: &[u8]) -> bool {
    (0..sig.len()).all(|i| read(pa + i as u32) == sig[i])
}

/// Look for a floating pointer in `[start, start + len)` (xv6's `mpsearch1`).
fn search(read: &impl Fn(u32) -> u8, start: u32, len: u32) -> Option<u32> {
    (start..start + len)
        .step_by(PARAGRAPH as usize)
        .find(|&pa| has_signature(read, pa, FP_SIGNATURE) && sums_to_zero(read, pa, FP_LEN))
}

/// The floating pointer's physical address (xv6's `mpsearch`): the EBDA
/// first, then the last KiB of base memory, then the BIOS ROM.
pub fn mpsearch(read: &impl Fn(u32) -> u8) -> Option<u32> {
    let ebda = u32::from(u16_at(read, BDA_EBDA_SEGMENT.0)) * PARAGRAPH;
    if ebda != 0
        && let Some(pa) = search(read, ebda, SEARCH_LEN)
    {
        return Some(pa);
    }
    let base_top = u32::from(u16_at(read, BDA_BASE_KIB.0)) * 1024;
    if let Some(top_kib) = base_top.checked_sub(SEARCH_LEN)
        && let Some(pa) = search(read, top_kib, SEARCH_LEN)
    {
        return Some(pa);
    }
    search(read, BIOS_ROM.start, BIOS_ROM.end - BIOS_ROM.start)
}

/// Read the MP tables (xv6's `mpinit`, without its side effects).
pub fn mpconfig(read: &impl Fn(u32) -> u8) -> Result<MpConfig, MpError> {
    let fp = mpsearch(read).ok_or(MpError::NoFloatingPointer)?;
    let kind = read(fp + FP_TYPE);
    if kind != 0 {
        return Err(MpError::DefaultConfiguration { kind });
    }
    let conf = u32_at(read, fp + FP_PHYSADDR);
    if !has_signature(read, conf, CONF_SIGNATURE) {
        return Err(MpError::BadSignature { pa: conf });
    }
    let len = u32::from(u16_at(read, conf + CONF_LENGTH));
    if !sums_to_zero(read, conf, len) {
        return Err(MpError::BadChecksum { pa: conf, len });
    }
    let version = read(conf + CONF_VERSION);
    if version != 1 && version != 4 {
        return Err(MpError::BadVersion { version });
    }
    let mut cfg = MpConfig {
        cpus: [CpuEntry { apicid: 0 }; NCPU],
        ncpu: 0,
        ignored_cpus: 0,
        lapic: PAddr(u32_at(read, conf + CONF_LAPIC)),
        ioapic_id: 0,
        ioapic: PAddr(0),
        isa_pins: core::array::from_fn(|irq| irq as u8),
        imcr: read(fp + FP_FEATURES2) & FP_IMCR_PRESENT != 0,
    };
    let mut have_bsp = false;
    let mut have_ioapic = false;
    let mut isa_bus = [false; MAX_BUSES];
    let end = conf + len;
    let mut p = conf + CONF_HEADER_LEN;
    for _ in 0..u16_at(read, conf + CONF_ENTRIES) {
        let kind = read(p);
        let entry_len = match kind {
            MPPROC => PROC_ENTRY_LEN,
            MPBUS | MPIOAPIC | MPIOINTR | MPLINTR => OTHER_ENTRY_LEN,
            _ => return Err(MpError::UnknownEntry { kind, pa: p }),
        };
        if p + entry_len > end {
            return Err(MpError::Truncated { pa: p });
        }
        match kind {
            MPPROC => {
                let (apicid, flags) = (read(p + 1), read(p + 3));
                let bsp = flags & PROC_BSP != 0;
                if flags & PROC_ENABLED != 0 && cfg.add_cpu(apicid, bsp) {
                    have_bsp |= bsp;
                }
            }
            MPBUS => {
                let mut name = [0; 6];
                name.iter_mut().zip(p + 2..).for_each(|(b, a)| *b = read(a));
                isa_bus[usize::from(read(p + 1))] = &name == BUS_ISA;
            }
            MPIOAPIC => {
                if read(p + 3) & IOAPIC_ENABLED != 0 && !have_ioapic {
                    have_ioapic = true;
                    cfg.ioapic_id = read(p + 1);
                    cfg.ioapic = PAddr(u32_at(read, p + 4));
                }
            }
            MPIOINTR => {
                let (irqtype, bus, irq, pin) = (read(p + 1), read(p + 4), read(p + 5), read(p + 7));
                if irqtype == INTR_INT && isa_bus[usize::from(bus)] && usize::from(irq) < NISA_IRQS
                {
                    cfg.isa_pins[usize::from(irq)] = pin;
                }
            }
            _ => {}
        }
        p += entry_len;
    }
    if !have_bsp {
        return Err(MpError::NoBootCpu);
    }
    if !have_ioapic {
        return Err(MpError::NoIoApic);
    }
    Ok(cfg)
}

/// The IMCR (interrupt mode configuration register) of machines that boot
/// with the PICs wired straight to the CPU: select it, then set bit 0 to
/// route interrupts through the APICs (MP spec 3.6.2.1).
const IMCR_SELECT_PORT: u16 = 0x22;
const IMCR_DATA_PORT: u16 = 0x23;
const IMCR_REGISTER: u8 = 0x70;
const IMCR_APIC_MODE: u8 = 0x01;

/// Read the MP tables from physical memory (below `phystop`, which the
/// kernel maps), fill the CPU table and switch an IMCR to APIC mode (xv6's
/// `mpinit`). Panics with the reason if the tables are missing or broken.
#[cfg(kernel)]
pub fn mpinit(phystop: PAddr) -> MpConfig {
    let read = |pa: u32| -> u8 {
        assert!(
            pa < phystop.0,
            "mpinit: the MP tables reach {pa:#x}, above PHYSTOP {:#x}, which the kernel does not map",
            phystop.0
        );
        // SAFETY: `pa` is below PHYSTOP, so P2V(pa) is mapped kernel
        // memory; the BIOS's tables are only read.
        unsafe { (crate::memlayout::p2v(PAddr(pa)).0 as *const u8).read_volatile() }
    };
    let cfg = mpconfig(&read).unwrap_or_else(|e| panic!("mpinit: {e}"));
    crate::cpu::set_cpus(cfg.apicids());
    if cfg.imcr {
        // SAFETY: the MP spec's sequence for leaving PIC mode; the PICs are
        // about to be masked anyway.
        unsafe {
            use x86::io::{inb, outb};
            outb(IMCR_SELECT_PORT, IMCR_REGISTER);
            outb(IMCR_DATA_PORT, inb(IMCR_DATA_PORT) | IMCR_APIC_MODE);
        }
    }
    cfg
}

#[cfg(test)]
mod tests;
