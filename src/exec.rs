//! `exec` (xv6's `exec.c`): replace the running process's memory with an
//! ELF32 i386 executable from the file system: its PT_LOAD segments
//! copied in (never mapped from the file), then two pages, the lower an
//! inaccessible guard, the upper the stack with the arguments
//! (`stack.rs`). On any error the old image is left intact.

pub mod elf;
pub mod stack;

#[cfg(kernel)]
pub use kernel::exec;

#[cfg(kernel)]
mod kernel {
    use super::elf::{ELF_PROG_LOAD, ELFHDR_SIZE, ElfHdr, PROGHDR_SIZE, ProgHdr};
    use super::stack::arg_stack;
    use crate::fs::Inode;
    use crate::memlayout::{PAddr, USERTOP, VAddr};
    use crate::mmu::{PGSIZE_U32, pgroundup};
    use crate::proc::myproc;
    use crate::vm;

    /// Run `path` with `argv`: `Some(0)` (the system call's result, as
    /// xv6's), or `None` with the old image untouched.
    pub fn exec(path: &[u8], argv: &[&[u8]]) -> Option<usize> {
        let p = myproc()?;
        let loaded = {
            let _op = crate::fs::Op::begin();
            let ip = crate::fs::namei(path, p.cwd.as_ref()?)?;
            let pgdir = vm::setupuvm()?;
            (load(&ip, pgdir, argv), pgdir)
        };
        let (loaded, pgdir) = loaded;
        match loaded {
            Some((sz, entry, sp)) => {
                let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
                p.set_name(name);
                let old = p.pgdir;
                p.pgdir = pgdir;
                p.sz = sz;
                let tf = p.tf();
                tf.eip = entry;
                tf.esp = sp;
                vm::switchuvm(kstack_top(p), pgdir);
                vm::uvm::freevm(old);
                Some(0)
            }
            None => {
                vm::uvm::freevm(pgdir);
                None
            }
        }
    }

    fn kstack_top(p: &mut crate::proc::Proc) -> u32 {
        // The TSS already holds it: the process is running.
        let _ = p;
        crate::arch::tss::kernel_stack(crate::cpu::cpuid_unchecked())
    }

    /// Load the program and build its stack in `pgdir`: (size, entry,
    /// stack pointer).
    fn load(ip: &Inode, pgdir: PAddr, argv: &[&[u8]]) -> Option<(u32, u32, u32)> {
        let mut hdr = [0u8; ELFHDR_SIZE];
        if ip.readi(&mut hdr, 0) != ELFHDR_SIZE {
            return None;
        }
        let elf = ElfHdr::parse(&hdr).ok()?;
        let mut sz = 0u32;
        for i in 0..u32::from(elf.phnum) {
            let off = elf
                .phoff
                .checked_add(i.checked_mul(u32::from(elf.phentsize))?)?;
            let mut raw = [0u8; PROGHDR_SIZE];
            if ip.readi(&mut raw, off) != PROGHDR_SIZE {
                return None;
            }
            let ph = ProgHdr::parse(&raw).ok()?;
            if ph.kind != ELF_PROG_LOAD {
                continue;
            }
            let end = ph.check(USERTOP.0).ok()?;
            sz = vm::allocuvm(pgdir, sz, end).ok()?;
            vm::loaduvm(pgdir, ph.vaddr, ip, ph.off, ph.filesz).ok()?;
        }
        // The guard page, then the stack page.
        let base = pgroundup(sz)?;
        let top = base.checked_add(2 * PGSIZE_U32)?;
        sz = vm::allocuvm(pgdir, base, top).ok()?;
        vm::clearpteu(pgdir, VAddr(base));
        let layout = arg_stack(sz, sz - PGSIZE_U32, argv)?;
        for (arg, &at) in argv.iter().zip(&layout.strings) {
            vm::copyout(pgdir, at, arg).ok()?;
            vm::copyout(pgdir, at + arg.len() as u32, &[0]).ok()?;
        }
        let words = &layout.words[..layout.nwords];
        // SAFETY: u32 words viewed as their bytes (little-endian, as the
        // user program reads them).
        let bytes =
            unsafe { core::slice::from_raw_parts(words.as_ptr() as *const u8, words.len() * 4) };
        vm::copyout(pgdir, layout.sp, bytes).ok()?;
        Some((sz, elf.entry, layout.sp))
    }
}
