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

/// Every feature entry.S checks (its table `cpu_needs`), in its order.
pub const NEEDED: [&Feature; 5] = [&PSE, &TSC, &CX8, &CMOV, &APIC];

/// `line` as entry.S prints it: CR LF, then a NUL that ends the string.
/// `N` must be `line.len() + 3`.
pub const fn asciz_line<const N: usize>(line: &str) -> [u8; N] {
    let b = line.as_bytes();
    assert!(
        N == b.len() + 3,
        "asciz_line: N must be the line's length + 3"
    );
    let mut out = [0u8; N];
    let mut i = 0;
    while i < b.len() {
        out[i] = b[i];
        i += 1;
    }
    out[i] = b'\r';
    out[i + 1] = b'\n';
    out
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
        const L: [u8; 5] = asciz_line("ab");
        assert_eq!(&L, b"ab\r\n\0");
    }
}
