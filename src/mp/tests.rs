//! Host tests of the MP table reader on a simulated first megabyte.

use super::*;

/// The first MiB of physical memory, zeroed.
struct LowMemory(Vec<u8>);

const EBDA: u32 = 0x9_FC00;
const TABLE: u32 = 0xF_5A00;
const LAPIC: u32 = 0xFEE0_0000;
const IOAPIC: u32 = 0xFEC0_0000;
/// Where `machine` puts the floating pointer: in the ROM, below the table.
const FP_ROM: u32 = 0xF_5900;

impl LowMemory {
    fn new() -> LowMemory {
        LowMemory(vec![0; BIOS_ROM.end as usize])
    }

    fn read(&self) -> impl Fn(u32) -> u8 + '_ {
        |pa| self.0[pa as usize]
    }

    fn put(&mut self, pa: u32, bytes: &[u8]) {
        self.0[pa as usize..pa as usize + bytes.len()].copy_from_slice(bytes);
    }

    /// Set the byte at `pa + at` so that `len` bytes from `pa` sum to 0.
    fn fix_checksum(&mut self, pa: u32, len: u32, at: u32) {
        self.0[(pa + at) as usize] = 0;
        let sum = (pa..pa + len).fold(0u8, |s, a| s.wrapping_add(self.0[a as usize]));
        self.0[(pa + at) as usize] = sum.wrapping_neg();
    }

    /// A floating pointer at `pa` to a table at `table`.
    fn floating_pointer(&mut self, pa: u32, table: u32, features2: u8) {
        let mut fp = [0u8; FP_LEN as usize];
        fp[..4].copy_from_slice(FP_SIGNATURE);
        fp[4..8].copy_from_slice(&table.to_le_bytes());
        fp[8] = 1; // length in 16-byte units
        fp[9] = 4; // spec 1.4
        fp[FP_FEATURES2 as usize] = features2;
        self.put(pa, &fp);
        self.fix_checksum(pa, FP_LEN, 10);
    }

    /// A configuration table at `pa` holding `entries`.
    fn table(&mut self, pa: u32, entries: &[Vec<u8>]) {
        let body: Vec<u8> = entries.concat();
        let len = CONF_HEADER_LEN + body.len() as u32;
        let mut h = [0u8; CONF_HEADER_LEN as usize];
        h[..4].copy_from_slice(CONF_SIGNATURE);
        h[4..6].copy_from_slice(&(len as u16).to_le_bytes());
        h[CONF_VERSION as usize] = 4;
        h[8..16].copy_from_slice(b"TESTOEM ");
        h[CONF_ENTRIES as usize..][..2].copy_from_slice(&(entries.len() as u16).to_le_bytes());
        h[CONF_LAPIC as usize..][..4].copy_from_slice(&LAPIC.to_le_bytes());
        self.put(pa, &h);
        self.put(pa + CONF_HEADER_LEN, &body);
        self.fix_checksum(pa, len, 7);
    }
}

fn cpu(apicid: u8, flags: u8) -> Vec<u8> {
    let mut e = vec![0; PROC_ENTRY_LEN as usize];
    e[..4].copy_from_slice(&[MPPROC, apicid, 0x14, flags]);
    e
}

fn bus(id: u8, name: &[u8; 6]) -> Vec<u8> {
    let mut e = vec![MPBUS, id];
    e.extend_from_slice(name);
    e
}

fn ioapic(id: u8, flags: u8, addr: u32) -> Vec<u8> {
    let mut e = vec![MPIOAPIC, id, 0x11, flags];
    e.extend_from_slice(&addr.to_le_bytes());
    e
}

fn intr(kind: u8, bus: u8, irq: u8, apic: u8, pin: u8) -> Vec<u8> {
    vec![MPIOINTR, kind, 0, 0, bus, irq, apic, pin]
}

/// What SeaBIOS builds for `-smp cpus=n`: CPUs, an ISA bus, one I/O APIC,
/// the ISA lines with the timer moved to input 2.
fn qemu_like(n: u8) -> Vec<Vec<u8>> {
    let mut e: Vec<Vec<u8>> = (0..n)
        .map(|i| cpu(i, PROC_ENABLED | if i == 0 { PROC_BSP } else { 0 }))
        .collect();
    e.push(bus(0, b"PCI   "));
    e.push(bus(1, BUS_ISA));
    e.push(ioapic(n, IOAPIC_ENABLED, IOAPIC));
    for irq in 0..16u8 {
        e.push(intr(INTR_INT, 1, irq, n, if irq == 0 { 2 } else { irq }));
    }
    e.push(vec![MPLINTR, 3, 0, 0, 1, 0, 0xFF, 0]);
    e
}

/// Base memory as QEMU's BIOS reports it, in KiB.
const BASE_KIB: u16 = 639;

/// Low memory with the BIOS data area filled in (EBDA at EBDA, 639 KiB of
/// base memory) and nothing else.
fn with_bda() -> LowMemory {
    let mut m = LowMemory::new();
    m.put(
        BDA_EBDA_SEGMENT.0,
        &((EBDA / PARAGRAPH) as u16).to_le_bytes(),
    );
    m.put(BDA_BASE_KIB.0, &BASE_KIB.to_le_bytes());
    m
}

fn machine(entries: &[Vec<u8>]) -> LowMemory {
    let mut m = with_bda();
    m.floating_pointer(FP_ROM, TABLE, 0);
    m.table(TABLE, entries);
    m
}

#[test]
fn a_qemu_like_table_gives_cpus_apics_and_the_timer_override() {
    let m = machine(&qemu_like(4));
    let c = mpconfig(&m.read()).unwrap();
    assert_eq!(c.apicids().collect::<Vec<_>>(), [0, 1, 2, 3]);
    assert_eq!(c.ignored_cpus, 0);
    assert_eq!(c.lapic, PAddr(LAPIC));
    assert_eq!((c.ioapic_id, c.ioapic), (4, PAddr(IOAPIC)));
    assert_eq!(c.isa_pins[0], 2, "the timer's override");
    assert_eq!(c.isa_pins[1], 1);
    assert_eq!(c.isa_pins[4], 4);
    assert!(!c.imcr);
    assert_eq!(
        c.to_string(),
        "mp: 4 CPUs (APIC ids 0 1 2 3), local APICs at 0xfee00000, I/O APIC 4 at 0xfec00000"
    );
}

#[test]
fn the_floating_pointer_is_found_in_each_of_the_three_places() {
    let base_top = u32::from(BASE_KIB) * 1024;
    for place in [EBDA + 0x40, base_top - SEARCH_LEN + 0x10, 0xF_FF00] {
        let mut m = with_bda();
        m.floating_pointer(place, TABLE, 0);
        assert_eq!(mpsearch(&m.read()), Some(place), "at {place:#x}");
    }
    assert_eq!(mpsearch(&LowMemory::new().read()), None);
}

#[test]
fn a_signature_with_a_bad_checksum_is_not_a_floating_pointer() {
    let mut m = machine(&qemu_like(1));
    m.0[FP_ROM as usize + 10] ^= 1;
    assert_eq!(mpconfig(&m.read()), Err(MpError::NoFloatingPointer));
}

#[test]
fn the_boot_processor_comes_first_whatever_its_place() {
    let mut e = qemu_like(0);
    e.insert(0, cpu(5, PROC_ENABLED));
    e.insert(1, cpu(7, PROC_ENABLED | PROC_BSP));
    e.insert(2, cpu(6, PROC_ENABLED));
    let c = mpconfig(&machine(&e).read()).unwrap();
    assert_eq!(c.apicids().collect::<Vec<_>>(), [7, 5, 6]);
}

#[test]
fn disabled_cpus_are_skipped_and_extra_ones_counted() {
    let mut e = qemu_like(0);
    e.push(cpu(0, PROC_ENABLED | PROC_BSP));
    e.push(cpu(1, 0));
    for id in 2..(NCPU as u8 + 4) {
        e.push(cpu(id, PROC_ENABLED));
    }
    let c = mpconfig(&machine(&e).read()).unwrap();
    assert_eq!(c.ncpu, NCPU);
    assert_eq!(c.ignored_cpus, 3);
    let report = c.to_string();
    assert!(
        report.ends_with(&format!("\nmp: ignoring 3 more CPUs (NCPU is {NCPU})")),
        "{report}"
    );
    assert!(!c.apicids().any(|id| id == 1), "cpu 1 is disabled");
}

#[test]
fn a_late_boot_processor_displaces_the_last_cpu_of_a_full_table() {
    let mut e = qemu_like(0);
    for id in 0..NCPU as u8 {
        e.push(cpu(id, PROC_ENABLED));
    }
    e.push(cpu(42, PROC_ENABLED | PROC_BSP));
    let c = mpconfig(&machine(&e).read()).unwrap();
    assert_eq!(c.cpus[0].apicid, 42);
    assert_eq!(c.ncpu, NCPU);
    assert_eq!(c.ignored_cpus, 1);
}

#[test]
fn overrides_on_other_buses_and_disabled_ioapics_are_ignored() {
    let mut e = qemu_like(1);
    e.retain(|x| x[0] != MPIOAPIC);
    e.insert(1, ioapic(9, 0, 0xDEAD_0000));
    e.insert(2, ioapic(3, IOAPIC_ENABLED, IOAPIC));
    e.push(intr(INTR_INT, 0, 1, 3, 17)); // PCI bus 0, not ISA
    let c = mpconfig(&machine(&e).read()).unwrap();
    assert_eq!((c.ioapic_id, c.ioapic), (3, PAddr(IOAPIC)));
    assert_eq!(c.isa_pins[1], 1);
}

#[test]
fn the_imcr_flag_is_read() {
    let mut m = machine(&qemu_like(1));
    m.floating_pointer(FP_ROM, TABLE, FP_IMCR_PRESENT);
    assert!(mpconfig(&m.read()).unwrap().imcr);
}

#[test]
fn broken_tables_are_refused_with_the_reason() {
    let mut m = machine(&qemu_like(2));
    m.0[TABLE as usize + 50] ^= 0x40;
    assert!(matches!(
        mpconfig(&m.read()),
        Err(MpError::BadChecksum { pa: TABLE, .. })
    ));

    let mut e = qemu_like(1);
    e.push(vec![9, 0, 0, 0, 0, 0, 0, 0]);
    assert!(matches!(
        mpconfig(&machine(&e).read()),
        Err(MpError::UnknownEntry { kind: 9, .. })
    ));

    let no_bsp = vec![cpu(1, PROC_ENABLED), ioapic(2, IOAPIC_ENABLED, IOAPIC)];
    assert_eq!(mpconfig(&machine(&no_bsp).read()), Err(MpError::NoBootCpu));
    let no_ioapic = vec![cpu(0, PROC_ENABLED | PROC_BSP)];
    assert_eq!(
        mpconfig(&machine(&no_ioapic).read()),
        Err(MpError::NoIoApic)
    );

    let mut m = machine(&qemu_like(1));
    m.0[TABLE as usize] = b'X';
    assert_eq!(
        mpconfig(&m.read()),
        Err(MpError::BadSignature { pa: TABLE })
    );
    let mut m = machine(&qemu_like(1));
    m.0[(FP_ROM + FP_TYPE) as usize] = 5;
    m.fix_checksum(FP_ROM, FP_LEN, 10);
    assert_eq!(
        mpconfig(&m.read()),
        Err(MpError::DefaultConfiguration { kind: 5 })
    );
}

#[test]
fn an_entry_count_beyond_the_length_is_truncation() {
    let mut m = machine(&qemu_like(1));
    let count = u16::from_le_bytes([m.0[(TABLE + CONF_ENTRIES) as usize], 0]) + 1;
    m.put(TABLE + CONF_ENTRIES, &count.to_le_bytes());
    let len = u32::from(u16_at(&m.read(), TABLE + CONF_LENGTH));
    m.fix_checksum(TABLE, len, 7);
    // The byte after the table is 0, a processor entry, which cannot fit.
    assert_eq!(
        mpconfig(&m.read()),
        Err(MpError::Truncated { pa: TABLE + len })
    );
}

#[test]
fn messages_name_the_value_and_the_rule() {
    let e = MpError::BadChecksum {
        pa: 0xF5A00,
        len: 300,
    };
    assert_eq!(
        e.to_string(),
        "the 300 bytes at 0xf5a00 do not add up to 0 (bad MP checksum)"
    );
    assert!(MpError::NoFloatingPointer.to_string().contains("_MP_"));
}
