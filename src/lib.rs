//! xv6 for 32-bit x86, in Rust: the kernel's modules. `main.rs` holds the
//! kernel's entry and `main`; on the host this library builds the pure logic
//! for its unit tests and for the tools (`xtask`, the tests) that share its
//! constants.
#![cfg_attr(kernel, no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
// On the host only the pure logic is built, so much of it looks unused there.
#![cfg_attr(not(kernel), allow(dead_code))]

// Files named after xv6's, as in its source listing.
#[cfg(kernel)]
pub mod bio;
#[cfg(kernel)]
pub mod console;
#[cfg(kernel)]
pub mod cpu; // proc.h's struct cpu, cpus[], mycpu()
pub mod disk; // the root device: the RAM disk's or the IDE disk's blocks
#[cfg(kernel)]
pub mod entry;
pub mod exec; // exec.c; elf.h in exec/elf.rs
pub mod fcntl; // fcntl.h
#[cfg(kernel)]
pub mod file;
pub mod fs; // fs.c; fs.h in fs/format.rs
#[cfg(kernel)]
pub mod ide; // ide.c: the IDE disk
pub mod input; // console.c's input buffer
#[cfg(kernel)]
pub mod ioapic;
pub mod kalloc;
pub mod kbd;
#[cfg(kernel)]
pub mod lapic;
pub mod log; // log.c: the write-ahead log
pub mod memlayout;
pub mod mmu;
pub mod mp;
pub mod param;
#[cfg(kernel)]
pub mod picirq;
pub mod pipe;
#[cfg(kernel)]
pub mod proc;
#[cfg(kernel)]
pub mod sleeplock;
#[cfg(kernel)]
pub mod smp; // main.c's startothers, mpenter, mpmain
#[cfg(kernel)]
pub mod spinlock;
pub mod stat; // stat.h
pub mod syscall; // syscall.c; syscall.h in syscall/number.rs
#[cfg(kernel)]
pub mod sysfile;
#[cfg(kernel)]
pub mod sysproc;
#[cfg(kernel)]
pub mod timer;
#[cfg(kernel)]
pub mod trap;
pub mod traps;
#[cfg(kernel)]
pub mod uart;
#[cfg(kernel)]
pub mod vga; // console.c's cgaputc
pub mod vm;

// The project's own: boot information, the memory map, the command line,
// the host's protocol, the monitor, guarded stacks, the machine.
#[cfg(kernel)]
pub mod bootinfo;
pub mod checks; // how the kernel's checks fail: expected and seen values
pub mod cmdline;
#[cfg(kernel)]
pub mod image;
#[cfg(kernel)]
pub mod kstack;
pub mod lab;
pub mod lockorder; // every spin lock's rank, and the check
#[cfg(kernel)]
pub mod machine;
#[cfg(kernel)]
pub mod memide; // memide.c: the RAM disk
pub mod memmap;
pub mod monitor;
pub mod powercut; // the simulated power cut and the block-write count
pub mod protocol;

// Code after other teaching systems, x86's own tables, and the tools.
pub mod arch;
pub mod debug;
pub mod jos;
pub mod linux;

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
