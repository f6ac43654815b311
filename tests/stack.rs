//! Kernel stack overflow tests: unbounded recursion on the boot CPU and on
//! another CPU must end in a named panic (status 3), never in a triple
//! fault that resets the machine; the guard pages are unmapped.

mod common;

use common::{EXIT_PANIC, Run, hex, launch as run_qemu, symbol, words};
use xv6::memlayout::{BOOT_MAPPED, KERNBASE, kstack};

use xv6::mmu::PGSIZE_U32 as PGSIZE;

/// The (esp, guard page) of the overflow panic on `cpu`, after checking
/// that the machine stopped with the panic status without a reset
/// (`expect_status` fails on a second boot), that
/// the stack pointer lies at the guard page, and that the backtrace names
/// the recursion, past the double fault.
fn overflow_panic(run: &Run, cpu: usize) -> (u32, u32) {
    run.expect_status(EXIT_PANIC);
    let line = run.line("panic: kernel stack overflow");
    let w = words(line);
    let (esp, guard) = (hex(w[7]), hex(w[10]));
    assert_eq!(
        line,
        format!(
            "panic: kernel stack overflow on cpu{cpu} (esp {esp:#010x}, guard page {guard:#010x})"
        )
    );
    assert!(
        (guard - PGSIZE..=guard + PGSIZE).contains(&esp),
        "esp {esp:#x} is not at the guard page {guard:#x}"
    );
    run.line(&format!("on cpu {cpu} (APIC id {cpu})"));
    let after = run
        .out
        .split_once("-- the double fault interrupted:")
        .unwrap_or_else(|| panic!("no interrupted task in the backtrace:\n{}", run.out))
        .1;
    assert!(
        after.contains("in xv6::debug::ktest::stack::overflow_the_stack+"),
        "the backtrace does not name the recursion:\n{}",
        run.out
    );
    (esp, guard)
}

#[test]
fn a_stack_overflow_on_the_boot_cpu_is_a_named_panic() {
    let run = run_qemu(&["--cmdline", "ktest=stack_overflow"]);
    let (_, guard) = overflow_panic(&run, 0);
    // The boot stack's guard is the first page of `boot_stack` (.bss).
    assert_eq!(guard, symbol("boot_stack"), "the boot stack's guard page");
}

#[test]
fn a_stack_overflow_on_another_cpu_is_a_named_panic() {
    let run = run_qemu(&["--smp", "2", "--cmdline", "ktest=stack_overflow_on_cpu1"]);
    let (_, guard) = overflow_panic(&run, 1);
    assert_eq!(guard, kstack(1).guard.0, "cpu1's guard in the window");
}

#[test]
fn guard_pages_are_unmapped_and_the_stacks_above_them_mapped() {
    let boot_guard = symbol("boot_stack");
    let ap = kstack(1);
    let cmds = format!(
        "showmappings {boot_guard:#x} {:#x};showmappings {:#x} {:#x};halt",
        boot_guard + PGSIZE,
        ap.guard.0,
        ap.stack.0
    );
    let run = run_qemu(&["--smp", "2", "--monitor", &cmds]);
    run.expect_status(0);
    let row = |va: u32| run.line(&format!("  {va:#010x}  "));
    for guard in [boot_guard, ap.guard.0] {
        assert!(row(guard).ends_with("not mapped"), "{}", row(guard));
    }
    let boot_stack_pa = boot_guard + PGSIZE - KERNBASE.0;
    assert!(
        row(boot_guard + PGSIZE).contains(&format!("pa {boot_stack_pa:#010x}  P W - -")),
        "{}",
        row(boot_guard + PGSIZE)
    );
    // cpu1's stack is its kalloc'd page below 4 MiB, writable at its alias.
    let ap_row = words(row(ap.stack.0));
    assert_eq!(ap_row[7..], ["P", "W", "-", "-"], "{ap_row:?}");
    assert!(hex(ap_row[6]) < BOOT_MAPPED.0, "{ap_row:?}: below 4 MiB");
}
