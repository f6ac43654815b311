//! JOS lab 2's page-table API over counted pages, as in JOS's `pmap.c`:
//! `pgdir_walk`, `page_insert`, `page_lookup`, `page_remove`,
//! `boot_map_region`, on a [`PhysPages`] memory (on the machine
//! `KernelPages`; in the host's tests simulated pages). docs/pages.md
//! says what is counted and why.

use crate::jos::pageinfo::{AllocFlags, Count};
#[cfg(kernel)]
use crate::jos::pageinfo::{count, page_alloc, page_decref, page_incref};
#[cfg(kernel)]
use crate::memlayout::p2v;
use crate::memlayout::{PAddr, VAddr};
use crate::mmu::{LARGE_PGSIZE, PTEntry, PTFlags};
#[cfg(kernel)]
use crate::mmu::{PD, PDE_USER_TABLE_FLAGS, PDFlags, PGSIZE, PT};
use crate::vm::{OutOfMemory, PageTableMemory};
#[cfg(kernel)]
use crate::vm::{direct_pd, direct_pt};

/// Physical pages with reference counts, and the MMU's TLB.
///
/// Its page-table pages are counted: `alloc_table` returns a zeroed page
/// with count 1 ([`alloc_counted_table`]) and `free_table` drops that count.
/// The counting methods panic, naming the page and the rule, on a broken
/// rule (see [`crate::jos::pageinfo::PageError`]): that is a kernel bug.
pub trait PhysPages: PageTableMemory {
    /// A page with count 0 (JOS's `page_alloc`), or `None` when memory is
    /// exhausted.
    fn alloc_page(&mut self, flags: AllocFlags) -> Option<PAddr>;

    /// How many page-table entries map the page at `pa`.
    fn count(&self, pa: PAddr) -> Count;

    /// Count one more mapping of the page at `pa`.
    fn incref(&mut self, pa: PAddr);

    /// Drop one mapping of the page at `pa`, freeing the page if it was the
    /// last (JOS's `page_decref`); `true` when it was freed.
    ///
    /// # Safety
    /// If this is the last mapping, nothing else uses the page.
    unsafe fn decref(&mut self, pa: PAddr) -> bool;

    /// Copy the contents of the page at `from` over the page at `to`.
    ///
    /// # Safety
    /// Nobody but the caller uses the page at `to`.
    unsafe fn copy_page(&mut self, from: PAddr, to: PAddr);

    /// Forget the TLB's translation of `va`, if `pgdir` is the directory in
    /// use (JOS's `tlb_invalidate`).
    fn invlpg(&mut self, pgdir: PAddr, va: VAddr);

    /// Forget every TLB translation, if `pgdir` is the directory in use
    /// (Linux's `invalidate`).
    fn flush_tlb(&mut self, pgdir: PAddr);
}

/// What a [`PhysPages`] memory's `alloc_table` does: a zeroed page whose
/// count is 1, for the directory entry (or the process) that will hold it.
pub fn alloc_counted_table<M: PhysPages>(mem: &mut M) -> Option<PAddr> {
    // LAB pages/pgdir_walk BEGIN
    use crate::jos::pageinfo::ALLOC_ZERO;
    let pa = mem.alloc_page(ALLOC_ZERO)?;
    mem.incref(pa);
    Some(pa)
    // LAB pages/pgdir_walk END
}

/// The page-table entry for `va` in the directory at `pgdir` (JOS's
/// `pgdir_walk`, xv6's `walkpgdir`). With `create`, a missing page table is
/// made (a zeroed page with count 1); without it, `Ok(None)` says there is
/// none. Runs out of memory only with `create`.
pub fn pgdir_walk<M: PhysPages>(
    mem: &mut M,
    pgdir: PAddr,
    va: VAddr,
    create: bool,
) -> Result<Option<&mut PTEntry>, OutOfMemory> {
    // LAB pages/pgdir_walk BEGIN
    use crate::vm::walkpgdir;
    walkpgdir(mem, pgdir, va, create)
    // LAB pages/pgdir_walk END
}

/// The present entry that maps `va`, if any.
pub(crate) fn mapped<M: PhysPages>(mem: &mut M, pgdir: PAddr, va: VAddr) -> Option<&mut PTEntry> {
    let pte = pgdir_walk(mem, pgdir, va, false).ok().flatten()?;
    pte.is_present().then_some(pte)
}

/// The page mapped at `va` and the entry's hardware flags (JOS's
/// `page_lookup`), or `None` if nothing is.
pub fn page_lookup<M: PhysPages>(mem: &mut M, pgdir: PAddr, va: VAddr) -> Option<(PAddr, PTFlags)> {
    // LAB pages/page_lookup BEGIN
    mapped(mem, pgdir, va).map(|pte| (pte.address(), pte.flags()))
    // LAB pages/page_lookup END
}

/// Unmap the page at `va`, if any (JOS's `page_remove`): clear the entry,
/// forget its TLB translation, then drop the page's count (which frees the
/// page if this was its last mapping).
///
/// # Safety
/// If this is the page's last mapping, nothing else uses the page (no
/// kernel pointer into it).
pub unsafe fn page_remove<M: PhysPages>(mem: &mut M, pgdir: PAddr, va: VAddr) {
    // LAB pages/page_remove BEGIN
    use crate::mmu::PageStep;
    let Some(pte) = mapped(mem, pgdir, va) else {
        return;
    };
    let pa = pte.address();
    *pte = PTEntry(0);
    mem.invlpg(pgdir, va.page_down());
    // SAFETY: the entry is gone; the caller vouches for other uses.
    unsafe { mem.decref(pa) };
    // LAB pages/page_remove END
}

/// Map the page at `pa` (page-aligned) at `va` with `perm` (JOS's
/// `page_insert`), counting the mapping. A page already mapped at `va` is
/// removed first. The count goes up before that removal, so re-inserting
/// the page that is already there (to change `perm`) keeps its count and
/// never frees it. Runs out of memory only for a new page table, and then
/// changes nothing.
///
/// # Safety
/// As for [`page_remove`], for a page this mapping replaces.
pub unsafe fn page_insert<M: PhysPages>(
    mem: &mut M,
    pgdir: PAddr,
    pa: PAddr,
    va: VAddr,
    perm: PTFlags,
) -> Result<(), OutOfMemory> {
    // LAB pages/page_insert BEGIN
    pgdir_walk(mem, pgdir, va, true)?;
    mem.incref(pa);
    // SAFETY: passed on from the caller.
    unsafe { page_remove(mem, pgdir, va) };
    let pte = pgdir_walk(mem, pgdir, va, false)?.expect("the table was made above");
    *pte = PTEntry::new(pa, perm | PTFlags::P);
    Ok(())
    // LAB pages/page_insert END
}

/// Map `[va, va+size)` to `[pa, pa+size)` with `perm` (JOS's
/// `boot_map_region`, xv6's `mappages`) for mappings that last as long as
/// the directory: the pages' counts are left alone (the page tables made
/// are counted). An empty range maps nothing; a remap panics, as in
/// `mappages`.
pub fn boot_map_region<M: PhysPages>(
    mem: &mut M,
    pgdir: PAddr,
    va: VAddr,
    size: u32,
    pa: PAddr,
    perm: PTFlags,
) -> Result<(), OutOfMemory> {
    // LAB pages/boot_map_region BEGIN
    use crate::vm::mappages;
    if size == 0 {
        return Ok(());
    }
    mappages(mem, pgdir, va, size, pa, perm)
    // LAB pages/boot_map_region END
}

/// Bytes one page table maps (JOS's `PTSIZE`): the unit of the spans of
/// `free_page_tables` and `copy_page_tables`.
pub const PTSIZE: u32 = LARGE_PGSIZE as u32;

/// Counted pages of physical memory, as [`PhysPages`] describes them. It
/// holds nothing: the counts are atomic and kalloc locks its own lists, so
/// any number of `KernelPages` may be in use at once (on different
/// directories: one directory is changed by one CPU at a time).
#[cfg(kernel)]
pub struct KernelPages;

/// The directory in this CPU's CR3.
#[cfg(kernel)]
pub fn rcr3() -> PAddr {
    // SAFETY: reading CR3 has no side effects.
    PAddr(unsafe { x86::controlregs::cr3() } as u32)
}

/// The word at virtual address `va`, through whatever maps it.
#[cfg(kernel)]
pub(crate) fn read(va: VAddr) -> u32 {
    // SAFETY: the callers (the checks and `cow`) read only addresses they
    // just mapped.
    unsafe { (va.0 as *const u32).read_volatile() }
}

/// Write `value` at virtual address `va`, through whatever maps it.
#[cfg(kernel)]
pub(crate) fn write(va: VAddr, value: u32) {
    // SAFETY: the callers write only pages they own, mapped writable (or
    // copy-on-write, which the page-fault handler resolves).
    unsafe { (va.0 as *mut u32).write_volatile(value) }
}

#[cfg(kernel)]
impl PageTableMemory for KernelPages {
    const PDE_FLAGS: PDFlags = PDE_USER_TABLE_FLAGS;

    fn alloc_table(&mut self) -> Option<PAddr> {
        alloc_counted_table(self)
    }

    unsafe fn free_table(&mut self, pa: PAddr) {
        // SAFETY: passed on from the caller: nothing refers to the table.
        unsafe { self.decref(pa) };
    }

    unsafe fn pd(&mut self, pa: PAddr) -> &mut PD {
        // SAFETY: passed on from the caller (a directory of ours, unique).
        unsafe { direct_pd(pa) }
    }

    unsafe fn pt(&mut self, pa: PAddr) -> &mut PT {
        // SAFETY: as for `pd`.
        unsafe { direct_pt(pa) }
    }
}

#[cfg(kernel)]
impl PhysPages for KernelPages {
    fn alloc_page(&mut self, flags: AllocFlags) -> Option<PAddr> {
        page_alloc(flags)
    }

    fn count(&self, pa: PAddr) -> Count {
        count(pa)
    }

    fn incref(&mut self, pa: PAddr) {
        page_incref(pa);
    }

    unsafe fn decref(&mut self, pa: PAddr) -> bool {
        // SAFETY: passed on from the caller.
        unsafe { page_decref(pa) }
    }

    unsafe fn copy_page(&mut self, from: PAddr, to: PAddr) {
        // One `rep movsl` (1,024 iterations, as icount counts them), where
        // `copy_nonoverlapping` is compiler_builtins' loop of several
        // instructions a word: fork=copy and copy-on-write faults copy
        // whole pages.
        // SAFETY: both pages are in the direct map; the caller owns `to`,
        // which is not `from` (it was just allocated), so they do not
        // overlap; the string instruction runs upwards (DF is clear in Rust
        // code, as the ABI requires) and touches only the two pages.
        unsafe {
            // LLVM keeps ESI for itself: swap it in and back out.
            core::arch::asm!(
                "xchg {src}, esi",
                "rep movsd",
                "mov esi, {src}",
                src = inout(reg) p2v(from).0 => _,
                inout("edi") p2v(to).0 => _,
                inout("ecx") PGSIZE / 4 => _,
                options(nostack, preserves_flags)
            )
        };
    }

    fn invlpg(&mut self, pgdir: PAddr, va: VAddr) {
        if rcr3() == pgdir {
            // SAFETY: forgetting a translation only costs a walk later.
            unsafe { x86::tlb::flush(va.0 as usize) };
        }
    }

    fn flush_tlb(&mut self, pgdir: PAddr) {
        if rcr3() == pgdir {
            // SAFETY: reloading CR3 with its own value keeps every mapping.
            unsafe { x86::tlb::flush_all() };
        }
    }
}

#[cfg(kernel)]
pub mod check;

#[cfg(test)]
mod tests;
