//! xv6 for 32-bit x86, in Rust: the kernel's crate root and `main`.
#![cfg_attr(kernel, no_std, no_main)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
// On the host only the pure logic is built (for its unit tests), so much of
// it looks unused there.
#![cfg_attr(not(kernel), allow(dead_code))]

mod cmdline;
mod memlayout;
mod mmu;
mod param;

#[cfg(kernel)]
mod bootinfo;
#[cfg(kernel)]
mod console;
#[cfg(kernel)]
mod entry;
#[cfg(kernel)]
mod machine;
#[cfg(kernel)]
mod uart;
#[cfg(kernel)]
mod vga;

/// Where `boot/entry.S` jumps once paging is on, running on the boot stack at
/// its high address.
#[cfg(kernel)]
extern "C" fn main(magic: u32, bootinfo_pa: u32) -> ! {
    console::consoleinit();
    println!("xv6-rs: booting");
    let boot = match bootinfo::load(magic, bootinfo_pa) {
        Ok(b) => b,
        Err(e) => {
            println!("{e}");
            machine::fail(machine::QEMU_EXIT_BAD_BOOT);
        }
    };
    println!("bootinfo: loader {:?}, cmdline {:?}", boot.loader_name(), boot.cmdline());
    println!("bootinfo: {} bytes at {:#010x}, copied to {:#010x}", boot.size(), boot.original.0, boot.copy_addr());
    machine::poweroff();
}

#[cfg(kernel)]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    console::panic_print(format_args!("panic: {}\n", info.message()));
    if let Some(loc) = info.location() {
        console::panic_print(format_args!("panic: at {}:{}\n", loc.file(), loc.line()));
    }
    machine::fail(machine::QEMU_EXIT_PANIC)
}

/// On the host this crate is only a test bed for the pure logic.
#[cfg(not(kernel))]
fn main() {
    eprintln!("xv6 is a kernel: boot it with ./run-qemu.sh (this host build only runs unit tests)");
    std::process::exit(2);
}
