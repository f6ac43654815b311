//! User address spaces (the second half of xv6's `vm.c`): `setupuvm`,
//! `inituvm`, `loaduvm`, `allocuvm`, `deallocuvm`, `freevm`, `copyuvm`,
//! `clearpteu`, `uva2ka`, `copyout` and `switchuvm`, over the counted
//! pages of `jos::pmap` so that `fork=cow` (Linux 0.01's
//! `copy_page_tables`) and `fork=copy` share one teardown
//! (`free_page_tables`).
//!
//! A user directory maps `[0, USERTOP)` with tables of its own; its
//! entries from USERTOP (the kernel-stacks window) up are copies of the
//! kernel directory's, so its tables are shared and never freed here.
//! SCRATCH, below USERTOP, is never copied.

use crate::fs::Inode;
use crate::jos::pageinfo::{ALLOC_ZERO, AllocFlags, page_free};
use crate::jos::pmap::{KernelPages, PhysPages, alloc_counted_table, page_insert};
use crate::memlayout::{PAddr, USERTOP, VAddr, p2v};
use crate::mmu::{
    LARGE_PGSIZE, NPDENTRIES, PGSIZE, PGSIZE_U32, PTE_COW, PTEntry, PTFlags, PageStep, pdx, ptx,
};
use crate::vm::{OutOfMemory, PageTableMemory, walkpgdir};

/// The file ended before the segment `loaduvm` was asked to load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShortFile;

/// A user address the kernel may not write for the process: not a user
/// page, read-only, or no memory for a private copy of a shared one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadUserWrite;

/// Permission of ordinary user pages.
const PTE_USER_RW: PTFlags = PTFlags::from_bits_truncate(PTFlags::RW.bits() | PTFlags::US.bits());

/// A new user page directory: no user mapping, the kernel's above
/// USERTOP (xv6's `setupkvm` for a process). `None` without memory.
pub fn setupuvm() -> Option<PAddr> {
    let mut mem = KernelPages;
    let pgdir = alloc_counted_table(&mut mem)?;
    let kernel = crate::vm::kpgdir_entries();
    // SAFETY: just allocated, ours alone.
    let pd = unsafe { mem.pd(pgdir) };
    let kernel_half = pdx(USERTOP)..NPDENTRIES;
    pd[kernel_half.clone()].copy_from_slice(&kernel[kernel_half]);
    Some(pgdir)
}

/// Load `code` at address 0 of `pgdir` (xv6's `inituvm`): one page.
pub fn inituvm(pgdir: PAddr, code: &[u8]) -> Result<(), OutOfMemory> {
    assert!(
        code.len() <= PGSIZE,
        "inituvm: {} bytes is more than a page",
        code.len()
    );
    allocuvm(pgdir, 0, PGSIZE_U32)?;
    copyout(pgdir, 0, code).expect("inituvm: the page was just mapped");
    Ok(())
}

/// The entry for user page `va`, if mapped.
fn user_pte(pgdir: PAddr, va: VAddr) -> Option<&'static mut PTEntry> {
    let mut mem = KernelPages;
    let pte = walkpgdir(&mut mem, pgdir, va, false).ok().flatten()?;
    // SAFETY: the table belongs to `pgdir`, which the caller owns (its
    // process's own directory, or one being built).
    let pte = unsafe { &mut *(pte as *mut PTEntry) };
    pte.is_present().then_some(pte)
}

/// Read `sz` bytes of `ip` at `offset` into the pages of `pgdir` from
/// `addr` (page-aligned), which must be mapped (xv6's `loaduvm`). `Err`
/// if the file is shorter.
pub fn loaduvm(pgdir: PAddr, addr: u32, ip: &Inode, offset: u32, sz: u32) -> Result<(), ShortFile> {
    assert!(
        addr.is_multiple_of(PGSIZE_U32),
        "loaduvm: addr {addr:#x} not page aligned"
    );
    let mut i = 0;
    while i < sz {
        let pte = user_pte(pgdir, VAddr(addr + i)).expect("loaduvm: address should exist");
        let n = (sz - i).min(PGSIZE_U32) as usize;
        // SAFETY: a page of this new directory, mapped above and in the
        // direct map; nothing else uses it yet.
        let dst = unsafe { core::slice::from_raw_parts_mut(p2v(pte.address()).0 as *mut u8, n) };
        if ip.readi(dst, offset + i) != n {
            return Err(ShortFile);
        }
        i += PGSIZE_U32;
    }
    Ok(())
}

/// Grow the user memory of `pgdir` from `oldsz` to `newsz` bytes with
/// zeroed pages (xv6's `allocuvm`); the new size. On running out of memory
/// (or past USERTOP) what was added is given back.
pub fn allocuvm(pgdir: PAddr, oldsz: u32, newsz: u32) -> Result<u32, OutOfMemory> {
    if newsz > USERTOP.0 {
        return Err(OutOfMemory);
    }
    if newsz < oldsz {
        return Ok(oldsz);
    }
    let start = VAddr(oldsz).page_up().expect("below USERTOP");
    let end = VAddr(newsz).page_up().expect("below USERTOP");
    let mut mem = KernelPages;
    // A page table at a time: one walk of the directory (making the table
    // if need be) for up to 1,024 pages, where `page_insert` walks three
    // times a page (it first removes what was mapped, here nothing).
    let mut a = start;
    while a < end {
        let table_end = table_end(a).min(end);
        if walkpgdir(&mut mem, pgdir, a, true).is_err() {
            deallocuvm(pgdir, a.0, oldsz);
            return Err(OutOfMemory);
        }
        // SAFETY: the caller's directory; walkpgdir made the entry present.
        let table = unsafe { mem.pd(pgdir) }[pdx(a)].address();
        for va in a.pages_until(table_end) {
            let Some(pa) = mem.alloc_page(ALLOC_ZERO) else {
                deallocuvm(pgdir, va.0, oldsz);
                return Err(OutOfMemory);
            };
            // SAFETY: a page table of the caller's directory.
            let pte = &mut unsafe { mem.pt(table) }[ptx(va)];
            assert!(
                !pte.is_present(),
                "allocuvm: {:#010x} is mapped already (above the old size {oldsz:#x})",
                va.0
            );
            *pte = PTEntry::new(pa, PTE_USER_RW | PTFlags::P);
            PhysPages::incref(&mut mem, pa);
        }
        a = table_end;
    }
    Ok(newsz)
}

/// The end of the span of addresses the page table for `va` maps (no
/// overflow: `va` is below USERTOP, a multiple of the span below KERNBASE).
fn table_end(va: VAddr) -> VAddr {
    VAddr((va.0 & !(TABLE_SPAN - 1)) + TABLE_SPAN)
}

/// Shrink the user memory of `pgdir` from `oldsz` to `newsz` bytes,
/// unmapping (and freeing the last mappings of) the pages above
/// (xv6's `deallocuvm`); the new size.
pub fn deallocuvm(pgdir: PAddr, oldsz: u32, newsz: u32) -> u32 {
    if newsz >= oldsz {
        return oldsz;
    }
    let start = VAddr(newsz).page_up().expect("below USERTOP");
    let end = VAddr(oldsz).page_up().expect("below USERTOP");
    let mut mem = KernelPages;
    // A page table at a time (`page_remove` would walk the directory for
    // every page, and forget each translation on its own).
    let mut a = start;
    while a < end {
        let table_end = table_end(a).min(end);
        // SAFETY: the caller's directory, which it owns.
        let pde = unsafe { mem.pd(pgdir) }[pdx(a)];
        if let Some(table) = pde.is_present().then(|| pde.address()) {
            for va in a.pages_until(table_end) {
                // SAFETY: a page table of `pgdir` (user tables are never
                // large pages), the caller's too.
                let pt = unsafe { mem.pt(table) };
                let gone = core::mem::replace(&mut pt[ptx(va)], PTEntry(0));
                if let Some(page) = gone.is_present().then(|| gone.address()) {
                    // SAFETY: the process gives these addresses up; this
                    // CPU's stale translations of them are flushed below,
                    // before any user code runs again; a page shared
                    // copy-on-write keeps its other mapping.
                    unsafe { PhysPages::decref(&mut mem, page) };
                }
            }
        }
        a = table_end;
    }
    PhysPages::flush_tlb(&mut mem, pgdir); // once, for every page above
    newsz
}

/// Bytes of address space one page table maps.
const TABLE_SPAN: u32 = LARGE_PGSIZE as u32;

/// Free a user directory: every user page (its last mapping), every user
/// page table, then the directory (xv6's `freevm`, through Linux 0.01's
/// `free_page_tables`).
pub fn freevm(pgdir: PAddr) {
    let mut mem = KernelPages;
    // SAFETY: the directory's process is gone or never ran: nothing uses
    // its user addresses (and it is not in CR3: the scheduler switched
    // away, or exec has switched to the new one).
    unsafe {
        mem.free_page_tables(pgdir, VAddr(0), USERTOP.0);
        mem.free_table(pgdir);
    }
}

/// A copy of the user memory `[0, sz)` of `pgdir`, page by page (xv6's
/// `copyuvm`, for `fork=copy`); `None` (nothing kept) if memory runs out.
pub fn copyuvm(pgdir: PAddr, sz: u32) -> Option<PAddr> {
    let new = setupuvm()?;
    let mut mem = KernelPages;
    let end = VAddr(sz).page_up().expect("below USERTOP");
    for a in VAddr(0).pages_until(end) {
        let pte =
            *user_pte(pgdir, a).unwrap_or_else(|| panic!("copyuvm: {:#010x} not mapped", a.0));
        let copied = mem.alloc_page(AllocFlags::default()).and_then(|pa| {
            // SAFETY: `pa` was just allocated; nothing else uses it.
            unsafe { mem.copy_page(pte.address(), pa) };
            let perm = pte.flags() & !PTFlags::P;
            // A page shared copy-on-write is the parent's to write: the copy is.
            let perm = if pte.0 & PTE_COW != 0 {
                perm | PTFlags::RW
            } else {
                perm
            };
            // SAFETY: nothing is mapped at `a` in the new directory.
            match unsafe { page_insert(&mut mem, new, pa, a, perm) } {
                Ok(()) => Some(()),
                Err(_) => {
                    // SAFETY: never mapped (count 0), ours alone.
                    unsafe { page_free(pa) };
                    None
                }
            }
        });
        if copied.is_none() {
            freevm(new);
            return None;
        }
    }
    Some(new)
}

/// A copy-on-write sharing of all user memory of `pgdir` (for
/// `fork=cow`): Linux 0.01's `copy_page_tables` over `[0, USERTOP)`.
/// `None` (nothing kept) if memory runs out.
pub fn cowuvm(pgdir: PAddr) -> Option<PAddr> {
    let new = setupuvm()?;
    let mut mem = KernelPages;
    match mem.copy_page_tables(pgdir, new, VAddr(0), USERTOP.0) {
        Ok(()) => Some(new),
        Err(OutOfMemory) => {
            freevm(new);
            None
        }
    }
}

/// Make the page at `va` inaccessible to user code (xv6's `clearpteu`):
/// the guard page below the user stack.
pub fn clearpteu(pgdir: PAddr, va: VAddr) {
    let pte = user_pte(pgdir, va).unwrap_or_else(|| panic!("clearpteu: {:#010x} not mapped", va.0));
    *pte = PTEntry(pte.0 & !PTFlags::US.bits());
}

/// The kernel address of user address `va`'s page in `pgdir`, if user
/// code may reach it (xv6's `uva2ka`).
pub fn uva2ka(pgdir: PAddr, va: VAddr) -> Option<VAddr> {
    let pte = user_pte(pgdir, va.page_down())?;
    pte.flags()
        .contains(PTFlags::US)
        .then(|| p2v(pte.address()))
}

/// Make user page `va` of `pgdir` writable for the kernel to write: a
/// copy-on-write page gets its private copy now (`un_wp_page`). `Err` if
/// it is not a user page, is read-only, or memory runs out.
fn writable(pgdir: PAddr, va: VAddr) -> Result<VAddr, BadUserWrite> {
    let pte = *user_pte(pgdir, va.page_down()).ok_or(BadUserWrite)?;
    if !pte.flags().contains(PTFlags::US) {
        return Err(BadUserWrite);
    }
    if pte.0 & PTE_COW != 0 {
        crate::linux::memory::un_wp_page(&mut KernelPages, pgdir, va.page_down())
            .map_err(|_| BadUserWrite)?;
    } else if !pte.flags().contains(PTFlags::RW) {
        return Err(BadUserWrite);
    }
    uva2ka(pgdir, va).ok_or(BadUserWrite)
}

/// Copy `data` to user address `va` of `pgdir`, page by page through the
/// direct map, breaking copy-on-write sharing where it writes (xv6's
/// `copyout`). `Err` on a page user code may not write, or no memory for
/// a private copy (what came before is written).
pub fn copyout(pgdir: PAddr, va: u32, data: &[u8]) -> Result<(), BadUserWrite> {
    let mut done = 0;
    while done < data.len() {
        let at = va.checked_add(done as u32).ok_or(BadUserWrite)?;
        let page = writable(pgdir, VAddr(at))?;
        let offset = (at % PGSIZE_U32) as usize;
        let n = (PGSIZE - offset).min(data.len() - done);
        // SAFETY: a user page of `pgdir` mapped writable, reached through
        // the direct map; `offset + n` stays inside it.
        unsafe {
            core::ptr::copy_nonoverlapping(
                data[done..].as_ptr(),
                (page.0 as *mut u8).add(offset),
                n,
            )
        };
        done += n;
    }
    Ok(())
}

/// Switch this CPU to a process's address space: the TSS's esp0 to the
/// top of its kernel stack, CR3 to its directory (xv6's `switchuvm`).
pub fn switchuvm(kstack_top: u32, pgdir: PAddr) {
    let pinned = crate::spinlock::NoInterrupts::new();
    crate::arch::tss::set_kernel_stack(pinned.cpu(), kstack_top);
    // SAFETY: a user directory maps the kernel exactly as the kernel's
    // does (its entries above USERTOP are the kernel's), so the running
    // code and stack stay mapped.
    unsafe { x86::controlregs::cr3_write(u64::from(pgdir.0)) };
}
