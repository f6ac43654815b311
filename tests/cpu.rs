//! CPUs the kernel cannot run on are named, never a silent reset: entry.S
//! checks CPUID and each feature in `xv6::arch::cpufeature` before paging is on.
//! Older and other machine models that have what it needs boot.

mod common;

use common::launch as run_qemu;
use xtask::status::NO_CPU_FEATURE;
use xv6::arch::cpufeature::{APIC, CMOV, CX8, Feature, NEEDED, NO_CPUID, PSE, TSC};

/// QEMU's name for each feature's CPUID flag (`-cpu MODEL,-flag` clears it).
fn qemu_flag(f: &Feature) -> &'static str {
    [
        (&PSE, "pse"),
        (&TSC, "tsc"),
        (&CX8, "cx8"),
        (&CMOV, "cmov"),
        (&APIC, "apic"),
    ]
    .into_iter()
    .find(|(g, _)| g.edx_bit == f.edx_bit)
    .map(|(_, name)| name)
    .unwrap_or_else(|| panic!("no QEMU flag known for {:?}", f.missing))
}

/// The lines a boot on `-cpu CPU` printed that say a feature is missing,
/// after checking that it ended with the missing-feature status before
/// main ran.
fn missing_lines(cpu: &str) -> Vec<String> {
    let run = run_qemu(&["--cmdline", "halt", "--", "-cpu", cpu]);
    run.expect_status(NO_CPU_FEATURE);
    assert!(
        !run.has(xv6::protocol::BOOTING),
        "-cpu {cpu}: the check runs before main:\n{}",
        run.out
    );
    let lines = run.lines_starting("xv6: this CPU has no ");
    lines.into_iter().map(str::to_string).collect()
}

#[test]
fn each_missing_feature_is_named_with_what_needs_it() {
    for f in NEEDED {
        let cpu = format!("pentium2,-{}", qemu_flag(f));
        assert_eq!(missing_lines(&cpu), [f.missing], "-cpu {cpu}");
    }
}

#[test]
fn a_486_and_a_pentium_are_refused_by_name() {
    // QEMU's 486 has CPUID and PSE only; the Pentium adds the TSC,
    // CMPXCHG8B and the local APIC but still lacks CMOV, which the compiled
    // code uses.
    assert_eq!(
        missing_lines("486"),
        [TSC.missing, CX8.missing, CMOV.missing, APIC.missing]
    );
    assert_eq!(missing_lines("pentium"), [CMOV.missing]);
}

#[test]
fn a_cpu_without_a_cpuid_feature_leaf_is_refused_by_name() {
    assert_eq!(missing_lines("486,level=0"), [NO_CPUID]);
}

#[test]
fn a_pentium_2_and_the_q35_machine_boot_with_one_and_two_cpus() {
    for extra in [["-cpu", "pentium2"], ["-machine", "q35"]] {
        for cpus in ["1", "2"] {
            let mut args = vec!["--smp", cpus, "--cmdline", "halt", "--"];
            args.extend(extra);
            let run = run_qemu(&args);
            run.expect_status(0);
            let started = run.out.lines().filter(|l| l.contains(": started")).count();
            assert_eq!(
                started.to_string(),
                cpus,
                "{args:?}: every CPU starts:\n{}",
                run.out
            );
            assert!(
                run.has("kalloc: ") && run.has("main: halt"),
                "{args:?}:\n{}",
                run.out
            );
        }
    }
}
