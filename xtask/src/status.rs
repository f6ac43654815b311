//! The exit statuses of a run, in one place: what the kernel's exit codes
//! (`crate::protocol`) become, what Bochs gives, and the runner's own.

use crate::protocol::{
    EXIT_BAD_BOOT, EXIT_LAB_TODO, EXIT_NO_CPU_FEATURE, EXIT_PANIC, EXIT_POWERCUT,
};

/// The kernel powered the machine off (ACPI), QEMU ended normally.
pub const POWEROFF: i32 = 0;
/// A kernel panic (QEMU's `isa-debug-exit`).
pub const PANIC: i32 = EXIT_PANIC.status();
/// The kernel was not started by a Multiboot2 loader.
pub const BAD_BOOT: i32 = EXIT_BAD_BOOT.status();
/// The CPU lacks a feature the kernel needs (boot/entry.S's check).
pub const NO_CPU_FEATURE: i32 = EXIT_NO_CPU_FEATURE.status();
/// The kernel reached a lab exercise not written yet (`lab_todo!`).
pub const LAB_TODO: i32 = EXIT_LAB_TODO.status();
/// The machine stopped at a simulated power cut (`powercut=N`).
pub const POWERCUT: i32 = EXIT_POWERCUT.status();
/// Bochs's status when the guest powers off through ACPI.
pub const BOCHS_POWEROFF: i32 = 1;
/// The runner failed (a build, a tool, a test step).
pub const FAILED: i32 = 1;
/// The runner refused an option.
pub const BAD_OPTION: i32 = 2;
/// `--grade` graded every test, and some lost their points.
pub const NOT_FULL_MARKS: i32 = 4;
/// A shell's status for a process killed by a signal is this plus the signal.
pub const SIGNAL_BASE: i32 = 128;

/// A process's exit status as a shell reports it: its code, or
/// SIGNAL_BASE + the signal that killed it.
pub fn shell_status(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| SIGNAL_BASE + s))
        .unwrap_or(FAILED)
}
