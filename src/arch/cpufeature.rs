//! What the kernel needs of the CPU. `boot/entry.S` checks each feature
//! before it turns paging on; a CPU that lacks one gets its line on the
//! serial port and QEMU ends with [`EXIT_NO_CPU_FEATURE`], where it would
//! otherwise reset or hang with no word of why.

pub use crate::protocol::EXIT_NO_CPU_FEATURE;

/// EFLAGS.ID: software can flip this bit exactly when the CPU has CPUID.
pub const EFLAGS_ID: u32 = 1 << 21;
/// The CPUID leaf that gives the highest leaf there is, and the one with
/// the feature bits.
pub const CPUID_MAX_LEAF: u32 = 0;
pub const CPUID_FEATURES: u32 = 1;

/// Said when CPUID is missing (or has no feature leaf).
pub const NO_CPUID: &str = "xv6: this CPU has no CPUID (or no CPUID leaf 1), which the boot path needs to find out what the CPU has";

/// A feature in CPUID leaf 1's EDX, and the line said when it is missing.
pub struct Feature {
    pub edx_bit: u32,
    pub missing: &'static str,
}

/// 4 MiB pages: entrypgdir maps the kernel with two of them.
pub const PSE: Feature = Feature {
    edx_bit: 1 << 3,
    missing: "xv6: this CPU has no PSE (4 MiB pages), which entrypgdir needs to map the kernel",
};
/// The time-stamp counter: the boot times its stages with `rdtsc`.
pub const TSC: Feature = Feature {
    edx_bit: 1 << 4,
    missing: "xv6: this CPU has no TSC (time-stamp counter), which the boot's stage timing reads",
};
/// CMPXCHG8B: the compiler's 64-bit atomics (the boot's stage timings).
pub const CX8: Feature = Feature {
    edx_bit: 1 << 8,
    missing: "xv6: this CPU has no CMPXCHG8B, which the kernel's 64-bit atomic counters use",
};
/// CMOV: `i686-xv6.json` targets the Pentium 4, so the compiled code uses it.
pub const CMOV: Feature = Feature {
    edx_bit: 1 << 15,
    missing: "xv6: this CPU has no CMOV, which the kernel's compiled code uses (i686-xv6.json targets a Pentium 4)",
};
/// The local APIC: the timer, interrupt routing and starting other CPUs.
pub const APIC: Feature = Feature {
    edx_bit: 1 << 9,
    missing: "xv6: this CPU has no local APIC, which the timer, interrupts and the other CPUs need",
};

/// Every feature entry.S checks, in its order ([`needs`] makes its table).
pub const NEEDED: [&Feature; 5] = [&PSE, &TSC, &CX8, &CMOV, &APIC];

/// Bytes each line takes in entry.S's table: the longest line, CR LF and
/// the NUL that ends it must fit.
pub const LINE_SLOT: usize = 128;

/// `line` as entry.S prints it: CR LF, then NULs to the slot's end.
pub const fn line_slot(line: &str) -> [u8; LINE_SLOT] {
    let b = line.as_bytes();
    assert!(
        b.len() + 3 <= LINE_SLOT,
        "a missing-feature line is longer than LINE_SLOT"
    );
    let mut out = [0u8; LINE_SLOT];
    let mut i = 0;
    while i < b.len() {
        out[i] = b[i];
        i += 1;
    }
    out[i] = b'\r';
    out[i + 1] = b'\n';
    out
}

/// One entry of the table entry.S walks: a feature's bit in CPUID leaf 1's
/// EDX (0 ends the table) and the line to say if it is missing.
#[repr(C)]
pub struct Need {
    pub edx_bit: u32,
    pub line: [u8; LINE_SLOT],
}

/// Offset of [`Need::line`], for entry.S.
pub const NEED_LINE: usize = core::mem::offset_of!(Need, line);

/// The table entry.S walks: every feature in [`NEEDED`], then an end mark.
pub const fn needs() -> [Need; NEEDED.len() + 1] {
    let mut t = [const {
        Need {
            edx_bit: 0,
            line: [0; LINE_SLOT],
        }
    }; NEEDED.len() + 1];
    let mut i = 0;
    while i < NEEDED.len() {
        t[i] = Need {
            edx_bit: NEEDED[i].edx_bit,
            line: line_slot(NEEDED[i].missing),
        };
        i += 1;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_missing_line_names_the_feature_and_what_needs_it() {
        for line in NEEDED.iter().map(|f| f.missing).chain([NO_CPUID]) {
            assert!(line.starts_with("xv6: this CPU has no "), "{line}");
            assert!(line.contains(", which "), "{line}");
        }
        let bits: Vec<u32> = NEEDED.iter().map(|f| f.edx_bit).collect();
        assert!(bits.iter().all(|b| b.is_power_of_two()));
        assert_eq!(
            bits.len(),
            bits.iter().collect::<std::collections::BTreeSet<_>>().len()
        );
    }

    #[test]
    fn lines_end_in_crlf_and_nul() {
        const L: [u8; LINE_SLOT] = line_slot("ab");
        assert_eq!(&L[..5], b"ab\r\n\0");
        assert!(L[5..].iter().all(|&b| b == 0));
    }

    #[test]
    fn the_table_lists_every_needed_feature_then_ends() {
        let t = needs();
        for (need, f) in t.iter().zip(NEEDED) {
            assert_eq!(need.edx_bit, f.edx_bit);
            assert_eq!(&need.line[..f.missing.len()], f.missing.as_bytes());
        }
        assert_eq!(t[NEEDED.len()].edx_bit, 0, "the end mark");
    }
}
