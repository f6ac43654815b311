//! x86 exception vectors (xv6's `traps.h`): their numbers and names.

/// Page fault: the vector whose handler also reads CR2.
pub const T_PGFLT: u32 = 14;
/// Double fault: a task gate, so that it runs on a stack of its own.
pub const T_DBLFLT: u32 = 8;
/// Vectors 0..T_NEXCEPTIONS are the CPU's exceptions.
pub const T_NEXCEPTIONS: u32 = 32;
/// Non-maskable interrupt: how a panicking CPU stops the others.
pub const T_NMI: u32 = 2;
/// Interrupts: IRQ n arrives on vector T_IRQ0 + n (the I/O APIC and the
/// local APIC are set up so).
pub const T_IRQ0: u32 = 32;
/// Number of IRQ numbers in use: the 16 ISA lines and the APICs' own.
pub const NIRQS: u32 = 32;

/// IRQ lines of the devices the kernel drives (ISA numbering).
pub const IRQ_TIMER: u8 = 0;
pub const IRQ_KBD: u8 = 1;
pub const IRQ_COM1: u8 = 4;
/// The primary IDE channel (the IDE disk, `ide.rs`).
pub const IRQ_IDE: u8 = 14;
/// Each other CPU's local APIC timer, which preempts its user code (the
/// PIT's IRQ_TIMER counts the ticks, on one CPU only).
pub const IRQ_LOCAL_TIMER: u8 = 18;
/// The local APIC's error interrupt, as in xv6.
pub const IRQ_ERROR: u8 = 19;
/// The IPI that wakes a halted CPU to look for work (`smp::on_every_cpu`).
pub const IRQ_WAKE: u8 = 30;
/// The local APIC's spurious-interrupt vector, as in xv6.
pub const IRQ_SPURIOUS: u8 = 31;

/// The name of exception `trapno` (Intel SDM vol. 3, table 6-1).
pub fn exception_name(trapno: u32) -> &'static str {
    match trapno {
        0 => "divide error",
        1 => "debug exception",
        2 => "non-maskable interrupt",
        3 => "breakpoint",
        4 => "overflow",
        5 => "bound range exceeded",
        6 => "invalid opcode",
        7 => "device not available",
        8 => "double fault",
        9 => "coprocessor segment overrun",
        10 => "invalid TSS",
        11 => "segment not present",
        12 => "stack-segment fault",
        13 => "general protection fault",
        14 => "page fault",
        16 => "x87 floating-point error",
        17 => "alignment check",
        18 => "machine check",
        19 => "SIMD floating-point exception",
        20 => "virtualization exception",
        21 => "control protection exception",
        n if n < T_NEXCEPTIONS => "reserved exception",
        _ => "interrupt",
    }
}

/// A page fault's error code, decoded (Intel SDM vol. 3, 4.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageFaultCode {
    /// The page was present: a protection violation, not a missing page.
    pub present: bool,
    /// The access was a write (else a read).
    pub write: bool,
    /// The CPU was in user mode.
    pub user: bool,
}

impl PageFaultCode {
    pub fn decode(err: u32) -> Self {
        use bit_field::BitField;
        PageFaultCode {
            present: err.get_bit(0),
            write: err.get_bit(1),
            user: err.get_bit(2),
        }
    }
}

impl core::fmt::Display for PageFaultCode {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        write!(
            f,
            "{} {} in {} mode",
            if self.write { "write to" } else { "read from" },
            if self.present {
                "a present page (protection violation)"
            } else {
                "a not-present page"
            },
            if self.user { "user" } else { "kernel" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_fault_codes_decode() {
        assert_eq!(
            PageFaultCode::decode(0b011).to_string(),
            "write to a present page (protection violation) in kernel mode"
        );
        assert_eq!(
            PageFaultCode::decode(0b100).to_string(),
            "read from a not-present page in user mode"
        );
        assert_eq!(
            PageFaultCode::decode(0b010),
            PageFaultCode {
                present: false,
                write: true,
                user: false
            }
        );
    }

    #[test]
    fn exceptions_are_named() {
        assert_eq!(exception_name(T_PGFLT), "page fault");
        assert_eq!(exception_name(0), "divide error");
        assert_eq!(exception_name(15), "reserved exception");
        assert_eq!(exception_name(32), "interrupt");
    }
}
