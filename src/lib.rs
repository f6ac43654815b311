//! xv6 for 32-bit x86, in Rust: the kernel's modules. `main.rs` holds the
//! kernel's entry and `main`; on the host this library builds the pure logic
//! for its unit tests and for the tools (`xtask`, the tests) that share its
//! constants.
#![cfg_attr(kernel, no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
// On the host only the pure logic is built, so much of it looks unused there.
#![cfg_attr(not(kernel), allow(dead_code))]

pub mod backtrace;
#[cfg(kernel)]
pub mod bench;
#[cfg(kernel)]
pub mod bootinfo;
pub mod cmdline;
#[cfg(kernel)]
pub mod console;
#[cfg(kernel)]
pub mod cpu;
pub mod cpufeature;
pub mod doublefault;
#[cfg(kernel)]
pub mod entry;
#[cfg(kernel)]
pub mod gdt;
#[cfg(kernel)]
pub mod hoard;
#[cfg(kernel)]
pub mod image;
pub mod input;
#[cfg(kernel)]
pub mod ioapic;
pub mod kalloc;
#[cfg(kernel)]
pub mod kalloctest;
pub mod kbd;
#[cfg(kernel)]
pub mod kstack;
pub mod ksyms;
#[cfg(kernel)]
pub mod ktest;
pub mod lab;
#[cfg(kernel)]
pub mod lapic;
#[cfg(kernel)]
pub mod lockstat;
#[cfg(kernel)]
pub mod machine;
pub mod memlayout;
pub mod memmap;
pub mod memory;
pub mod mmu;
pub mod monitor;
pub mod mp;
pub mod pageinfo;
pub mod param;
#[cfg(kernel)]
pub mod picirq;
pub mod pmap;
pub mod protocol;
#[cfg(test)]
mod sim;
#[cfg(kernel)]
pub mod smp;
#[cfg(kernel)]
pub mod spinlock;
#[cfg(kernel)]
pub mod timer;
#[cfg(kernel)]
pub mod trap;
pub mod traps;
#[cfg(kernel)]
pub mod tss;
#[cfg(kernel)]
pub mod uart;
#[cfg(kernel)]
pub mod vga;
pub mod vm;

/// Stop in the Bochs debugger here: `xchg bx, bx` is Bochs's "magic
/// breakpoint" (bochsrc has `magic_break: enabled=1`); anywhere else it is
/// an instruction that does nothing.
#[macro_export]
macro_rules! bochs_break {
    () => {
        // SAFETY: exchanging BX with itself changes no state.
        unsafe { core::arch::asm!("xchg bx, bx", options(nomem, nostack, preserves_flags)) }
    };
}
