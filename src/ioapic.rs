//! The I/O APIC (xv6's `ioapic.c`): it takes the devices' interrupt lines
//! and sends each to a chosen CPU's local APIC. With several CPUs it
//! replaces the 8259 PICs, which can only interrupt the boot CPU.
//!
//! Its registers are reached through two words of a page at 0xFEC00000
//! (from the MP table, mapped 1:1 in DEVSPACE): write a register number to
//! IOREGSEL, then read or write that register through IOWIN.

use spin::Once;

use crate::memlayout::{DEVSPACE, PAddr};
use crate::mp::NISA_IRQS;
use crate::traps::T_IRQ0;

/// Offsets of the select and window words.
const IOREGSEL: u32 = 0x00;
const IOWIN: u32 = 0x10;

/// Registers: the id, the version (with the highest input's number), and
/// the redirection table, two registers per input from REG_TABLE.
const REG_ID: u32 = 0x00;
const REG_VER: u32 = 0x01;
const REG_TABLE: u32 = 0x10;
/// Where the id and the highest input number sit in their registers.
const ID_SHIFT: u32 = 24;
const VER_MAXINTR_SHIFT: u32 = 16;
const VER_MAXINTR_MASK: u32 = 0xFF;

/// Redirection entry, low word: masked. Unset bits mean what ISA lines
/// want: edge triggered, active high, fixed delivery to one physical APIC.
const INT_DISABLED: u32 = 0x1_0000;
/// High word: the destination APIC id's position.
const DEST_SHIFT: u32 = 24;

struct IoApic {
    base: u32,
    /// The input each ISA IRQ is wired to (from the MP table).
    isa_pins: [u8; NISA_IRQS],
}

static IOAPIC: Once<IoApic> = Once::new();

impl IoApic {
    fn read(&self, reg: u32) -> u32 {
        // SAFETY: the two words are the I/O APIC's, mapped 1:1 in DEVSPACE;
        // selecting then reading a register has no other effect. Only the
        // boot CPU programs the I/O APIC, before the others start, or under
        // `ioapicenable`'s callers' rules (one driver per line).
        unsafe {
            ((self.base + IOREGSEL) as *mut u32).write_volatile(reg);
            ((self.base + IOWIN) as *const u32).read_volatile()
        }
    }

    fn write(&self, reg: u32, value: u32) {
        // SAFETY: as in `read`; the registers written are redirection
        // entries, which only route interrupts.
        unsafe {
            ((self.base + IOREGSEL) as *mut u32).write_volatile(reg);
            ((self.base + IOWIN) as *mut u32).write_volatile(value);
        }
    }

    fn set_entry(&self, pin: u32, low: u32, dest_apicid: u8) {
        self.write(REG_TABLE + 2 * pin, low);
        self.write(
            REG_TABLE + 2 * pin + 1,
            u32::from(dest_apicid) << DEST_SHIFT,
        );
    }
}

/// Set up the I/O APIC at `base` with the id `id` the MP table gave
/// (xv6's `ioapicinit`): every input masked, input n set to vector
/// T_IRQ0 + n for when it is enabled.
pub fn ioapicinit(base: PAddr, id: u8, isa_pins: [u8; NISA_IRQS]) {
    assert!(
        base.0 >= DEVSPACE.0,
        "ioapicinit: the I/O APIC at {:#010x} is below DEVSPACE {:#010x}, which the kernel maps 1:1",
        base.0,
        DEVSPACE.0
    );
    let io = IOAPIC.call_once(|| IoApic {
        base: base.0,
        isa_pins,
    });
    let found = (io.read(REG_ID) >> ID_SHIFT) as u8;
    if found != id {
        crate::println!("ioapicinit: the I/O APIC says its id is {found}, the MP table says {id}");
    }
    let maxintr = (io.read(REG_VER) >> VER_MAXINTR_SHIFT) & VER_MAXINTR_MASK;
    for pin in 0..=maxintr {
        io.set_entry(pin, INT_DISABLED | (T_IRQ0 + pin), 0);
    }
}

/// Send ISA interrupt `irq` to the CPU with APIC id `apicid`, on vector
/// T_IRQ0 + irq whatever input the line is wired to (xv6's
/// `ioapicenable`).
pub fn ioapicenable(irq: u8, apicid: u8) {
    let io = IOAPIC.get().expect("ioapicenable before ioapicinit");
    let pin = *io
        .isa_pins
        .get(usize::from(irq))
        .unwrap_or_else(|| panic!("ioapicenable: IRQ {irq} is not an ISA line (0..{NISA_IRQS})"));
    io.set_entry(u32::from(pin), T_IRQ0 + u32::from(irq), apicid);
}
