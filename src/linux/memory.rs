//! Linux 0.01's page-table copy and teardown, as in its `mm/memory.c`:
//! `free_page_tables`, `copy_page_tables` (copy-on-write, for `fork`),
//! `un_wp_page` and the write fault `do_wp_page` built on them, over the
//! counted pages of [`crate::jos::pmap`]. docs/pages.md walks through them.

use core::fmt;
use core::ops::Range;
#[cfg(kernel)]
use core::sync::atomic::{AtomicUsize, Ordering};

#[cfg(kernel)]
use crate::jos::pmap::{KernelPages, rcr3};
use crate::jos::pmap::{PTSIZE, PhysPages};
use crate::memlayout::{KERNBASE, PAddr, VAddr};
use crate::mmu::{PDE_USER_TABLE_FLAGS, PDEntry, PDFlags, PTEntry, pdx, pgaddr};
#[cfg(kernel)]
use crate::spinlock::Spinlock;
#[cfg(kernel)]
use crate::traps::PageFaultCode;
use crate::vm::OutOfMemory;
#[cfg(kernel)]
use crate::vm::PageTableMemory;

/// The rule a span of whole page tables broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanRule {
    StartNotAligned,
    SizeNotAligned,
    /// The span reaches KERNBASE (or past 4 GiB): the kernel's mappings are
    /// not counted, so they are never freed or shared this way.
    ReachesKernel,
}

/// A span given to `free_page_tables` or `copy_page_tables` (named by
/// `op`) that is not whole page tables of user space. The kernel panics
/// with the message (Linux: "free_page_tables called with wrong
/// alignment").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanError {
    pub op: &'static str,
    pub from: VAddr,
    pub size: u32,
    pub rule: SpanRule,
}

impl fmt::Display for SpanError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let SpanError {
            op,
            from,
            size,
            rule,
        } = *self;
        match rule {
            SpanRule::StartNotAligned => write!(
                f,
                "{op}: start {:#010x} is not a multiple of 4 MiB: a span is whole page tables",
                from.0
            ),
            SpanRule::SizeNotAligned => write!(
                f,
                "{op}: size {size:#x} is not a multiple of 4 MiB: a span is whole page tables"
            ),
            SpanRule::ReachesKernel => write!(
                f,
                "{op}: span {:#010x}+{size:#x} reaches KERNBASE {:#010x}: only user mappings are counted",
                from.0, KERNBASE.0
            ),
        }
    }
}

/// The directory indices of the span `[from, from+size)`, checked.
fn span(op: &'static str, from: VAddr, size: u32) -> Result<Range<usize>, SpanError> {
    let rule = if !from.0.is_multiple_of(PTSIZE) {
        Some(SpanRule::StartNotAligned)
    } else if !size.is_multiple_of(PTSIZE) {
        Some(SpanRule::SizeNotAligned)
    } else if from.0.checked_add(size).is_none_or(|end| end > KERNBASE.0) {
        Some(SpanRule::ReachesKernel)
    } else {
        None
    };
    match rule {
        Some(rule) => Err(SpanError {
            op,
            from,
            size,
            rule,
        }),
        None => Ok(pdx(from)..pdx(from) + (size / PTSIZE) as usize),
    }
}

/// Entry `i` of the directory at `pgdir`.
fn pde_mut<M: PhysPages>(mem: &mut M, pgdir: PAddr, i: usize) -> &mut PDEntry {
    // SAFETY: `pgdir` is a directory this memory handed out.
    let pd = unsafe { mem.pd(pgdir) };
    &mut pd[i]
}

/// Entry `j` of the page table at `table`.
fn pte_mut<M: PhysPages>(mem: &mut M, table: PAddr, j: usize) -> &mut PTEntry {
    // SAFETY: `table` comes from a present entry of one of our directories.
    let pt = unsafe { mem.pt(table) };
    &mut pt[j]
}

/// Unmap every page of the span `[from, from+size)` and free its page
/// tables (Linux 0.01's `free_page_tables`, run on exit): each mapped
/// page's count drops (freeing the pages nobody else maps), each table is
/// freed, its directory entry cleared, then the TLB flushed. The span must
/// be whole page tables (4 MiB-aligned start and size) below KERNBASE;
/// otherwise nothing changes and the error says which rule broke.
///
/// # Safety
/// Nothing uses the span's addresses while this runs, and nothing else
/// uses the pages whose last mapping goes.
pub unsafe fn free_page_tables<M: PhysPages>(
    mem: &mut M,
    pgdir: PAddr,
    from: VAddr,
    size: u32,
) -> Result<(), SpanError> {
    // LAB cow/free_page_tables BEGIN
    let pdes = span("free_page_tables", from, size)?;
    for slot in pdes {
        let pde = core::mem::replace(pde_mut(mem, pgdir, slot), PDEntry(0));
        if pde.is_present() {
            // SAFETY: the directory no longer points at the table; the
            // caller vouches for the pages.
            unsafe { free_table(mem, pde.address()) };
        }
    }
    mem.flush_tlb(pgdir);
    Ok(())
    // LAB cow/free_page_tables END
}

/// Drop the count of every page the table at `table` maps, then the
/// table's own.
///
/// # Safety
/// As for [`free_page_tables`]; no directory points at the table.
unsafe fn free_table<M: PhysPages>(mem: &mut M, table: PAddr) {
    // LAB cow/free_page_tables BEGIN
    use crate::mmu::NPDENTRIES;
    for j in 0..NPDENTRIES {
        let pte = core::mem::replace(pte_mut(mem, table, j), PTEntry(0));
        if pte.is_present() {
            // SAFETY: passed on from the caller.
            unsafe { mem.decref(pte.address()) };
        }
    }
    // SAFETY: passed on from the caller.
    unsafe { mem.free_table(table) };
    // LAB cow/free_page_tables END
}

/// Why `copy_page_tables` copied nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyError {
    Span(SpanError),
    /// The destination already has a page table in the span (Linux:
    /// "copy_page_tables: already exist").
    AlreadyMapped {
        va: VAddr,
    },
    /// No page for a new page table; what was copied was undone.
    OutOfMemory,
}

impl fmt::Display for CopyError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match *self {
            CopyError::Span(e) => e.fmt(f),
            CopyError::AlreadyMapped { va } => write!(
                f,
                "copy_page_tables: the destination already has a page table at {:#010x}",
                va.0
            ),
            CopyError::OutOfMemory => f.write_str(
                "copy_page_tables: out of memory for a page-table page (the copy was undone)",
            ),
        }
    }
}

/// Share the span `[from, from+size)` of the directory `from_pgdir` with
/// `to_pgdir`, copy-on-write (Linux 0.01's `copy_page_tables`, run by
/// `fork`): the destination gets page tables of its own whose entries map
/// the same pages; a writable page loses its write bit on both sides and
/// gets the [`PTE_COW`](crate::mmu::PTE_COW) mark, and every shared page's count goes up by one.
/// The first write on either side then faults into [`un_wp_page`]. The
/// source's TLB is flushed (its pages just became read-only).
///
/// The span's rules are `free_page_tables`'s; the destination must have no
/// page table in it. If a page table cannot be allocated, everything copied
/// is undone (counts and the free list as before; the source's pages stay
/// write-protected, and `un_wp_page` gives the write bit back).
pub fn copy_page_tables<M: PhysPages>(
    mem: &mut M,
    from_pgdir: PAddr,
    to_pgdir: PAddr,
    from: VAddr,
    size: u32,
) -> Result<(), CopyError> {
    let pdes = span("copy_page_tables", from, size).map_err(CopyError::Span)?;
    if let Some(i) = pdes
        .clone()
        .find(|&i| pde_mut(mem, to_pgdir, i).is_present())
    {
        return Err(CopyError::AlreadyMapped {
            va: pgaddr(i, 0, 0),
        });
    }
    let shared = share_tables(mem, from_pgdir, to_pgdir, pdes);
    mem.flush_tlb(from_pgdir);
    if shared.is_err() {
        // SAFETY: the destination's span was empty, so it holds only what
        // share_tables made: tables nobody has used, and pages whose counts
        // it raised (so none drops to 0).
        unsafe { free_page_tables(mem, to_pgdir, from, size) }.expect("the span passed above");
        return Err(CopyError::OutOfMemory);
    }
    Ok(())
}

/// Give `to_pgdir` a copy of each present page table of `from_pgdir` among
/// the directory entries `pdes`.
fn share_tables<M: PhysPages>(
    mem: &mut M,
    from_pgdir: PAddr,
    to_pgdir: PAddr,
    pdes: Range<usize>,
) -> Result<(), OutOfMemory> {
    for i in pdes {
        let src = *pde_mut(mem, from_pgdir, i);
        if !src.is_present() {
            continue;
        }
        let table = mem.alloc_table().ok_or(OutOfMemory)?;
        *pde_mut(mem, to_pgdir, i) = PDEntry::new(table, user_pde_flags::<M>());
        share_table(mem, src.address(), table);
    }
    Ok(())
}

/// The directory-entry flags of a counted memory's tables, checked when
/// the kernel compiles: a user address space's directory lets the
/// page-table entries decide, so it has the user bit.
const fn user_pde_flags<M: PhysPages>() -> PDFlags {
    const {
        assert!(
            M::PDE_FLAGS.bits() == PDE_USER_TABLE_FLAGS.bits(),
            "a PhysPages memory makes user page tables (PDE_USER_TABLE_FLAGS)"
        )
    };
    M::PDE_FLAGS
}

/// Fill the empty table `dst` with the present entries of `src`, both
/// write-protected, counting each page once more.
fn share_table<M: PhysPages>(mem: &mut M, src: PAddr, dst: PAddr) {
    // LAB cow/copy_page_tables BEGIN
    use crate::mmu::NPDENTRIES;
    for j in 0..NPDENTRIES {
        let pte = *pte_mut(mem, src, j);
        if pte.is_present() {
            let shared = write_protect(pte);
            *pte_mut(mem, src, j) = shared;
            *pte_mut(mem, dst, j) = shared;
            mem.incref(pte.address());
        }
    }
    // LAB cow/copy_page_tables END
}

/// The entry both sides keep after a copy: a writable page becomes
/// read-only and copy-on-write; a read-only page stays as it was.
fn write_protect(pte: PTEntry) -> PTEntry {
    // LAB cow/copy_page_tables BEGIN
    use crate::mmu::{PTE_COW, PTFlags};
    if pte.is_writeable() {
        PTEntry((pte.0 & !PTFlags::RW.bits()) | PTE_COW)
    } else {
        pte
    }
    // LAB cow/copy_page_tables END
}

/// What [`un_wp_page`] did, for the kernel monitor to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CowStep {
    /// No other entry maps the page any more: it is writable again.
    MadeWritable { pa: PAddr },
    /// The page is still shared: the faulting side now maps a private copy.
    Copied { old: PAddr, new: PAddr },
}

impl CowStep {
    /// The page mapped writable now.
    pub fn page(self) -> PAddr {
        match self {
            CowStep::MadeWritable { pa } => pa,
            CowStep::Copied { new, .. } => new,
        }
    }
}

impl fmt::Display for CowStep {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match *self {
            CowStep::MadeWritable { pa } => write!(
                f,
                "page {:#010x} has no other mapping: writable again",
                pa.0
            ),
            CowStep::Copied { old, new } => write!(
                f,
                "page {:#010x} is shared: copied to {:#010x}, mapped writable",
                old.0, new.0
            ),
        }
    }
}

/// A write fault `un_wp_page` cannot resolve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CowError {
    NotMapped {
        va: VAddr,
    },
    /// The page was read-only before any copy: the write is a real
    /// protection fault.
    NotCopyOnWrite {
        va: VAddr,
        /// The raw entry, its software bits included.
        pte: u32,
    },
    /// No page for the private copy; nothing changed.
    OutOfMemory {
        va: VAddr,
        pa: PAddr,
    },
}

impl fmt::Display for CowError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match *self {
            CowError::NotMapped { va } => {
                write!(f, "un_wp_page: nothing is mapped at {:#010x}", va.0)
            }
            CowError::NotCopyOnWrite { va, pte } => write!(
                f,
                "un_wp_page: {:#010x} is not copy-on-write (pte {:#010x}): a real protection fault",
                va.0, pte
            ),
            CowError::OutOfMemory { va, pa } => write!(
                f,
                "un_wp_page: out of memory for a private copy of page {:#010x} at {:#010x}",
                pa.0, va.0
            ),
        }
    }
}

/// Resolve a write fault at `va` on a copy-on-write page (Linux 0.01's
/// `un_wp_page`, called by `do_wp_page`). If no other entry maps the page
/// (count 1), it just gets its write bit back; otherwise the faulting side
/// gets a private copy, mapped writable, and the shared page's count drops
/// by one (never to 0). Either way the TLB forgets `va`, and the
/// copy-on-write mark goes. Refuses a page that is not mapped or not
/// copy-on-write, and changes nothing when there is no page for the copy.
pub fn un_wp_page<M: PhysPages>(mem: &mut M, pgdir: PAddr, va: VAddr) -> Result<CowStep, CowError> {
    // LAB cow/un_wp_page BEGIN
    use crate::jos::pageinfo::AllocFlags;
    use crate::jos::pmap::mapped;
    use crate::mmu::{PTE_COW, PTFlags, PageStep};
    let va = va.page_down();
    let pte = *mapped(mem, pgdir, va).ok_or(CowError::NotMapped { va })?;
    if pte.0 & PTE_COW == 0 {
        return Err(CowError::NotCopyOnWrite { va, pte: pte.0 });
    }
    let old = pte.address();
    let step = match mem.count(old) {
        0 => panic!(
            "un_wp_page: page {:#010x} mapped at {:#010x} has count 0",
            old.0, va.0
        ),
        1 => CowStep::MadeWritable { pa: old },
        _ => {
            let new = mem
                .alloc_page(AllocFlags::default())
                .ok_or(CowError::OutOfMemory { va, pa: old })?;
            // SAFETY: `new` was just allocated, so only we use it.
            unsafe { mem.copy_page(old, new) };
            mem.incref(new);
            CowStep::Copied { old, new }
        }
    };
    // `flags()` keeps only the hardware bits, so the COW mark goes.
    *mapped(mem, pgdir, va).expect("mapped above") =
        PTEntry::new(step.page(), pte.flags() | PTFlags::RW);
    mem.invlpg(pgdir, va);
    if let CowStep::Copied { old, .. } = step {
        // SAFETY: the count was at least 2, so the page is not freed.
        unsafe { mem.decref(old) };
    }
    Ok(step)
    // LAB cow/un_wp_page END
}

/// Copy-on-write faults resolved since boot.
#[cfg(kernel)]
static COW_FAULTS: AtomicUsize = AtomicUsize::new(0);

/// The last copy-on-write fault: where, and what `un_wp_page` did.
#[cfg(kernel)]
static LAST_COW: Spinlock<Option<(VAddr, CowStep)>> = Spinlock::new(crate::lockorder::COW, None);

/// How many copy-on-write faults were resolved, and the last one.
#[cfg(kernel)]
pub fn cow_faults() -> (usize, Option<(VAddr, CowStep)>) {
    (COW_FAULTS.load(Ordering::Relaxed), *LAST_COW.lock())
}

/// The page-fault handler's first question (Linux 0.01's `do_wp_page`):
/// was this a write to a present copy-on-write page below KERNBASE in the
/// directory in CR3? If so, `un_wp_page` resolves it and the faulting write
/// may run again: `true`. Otherwise `false`, and the fault is a bug to
/// report. `Err(OutOfMemory)` if the page is copy-on-write but there is no
/// memory for the copy: the caller decides (the trap handler kills the
/// process whose page it is, or panics when no process is to blame).
#[cfg(kernel)]
pub fn do_wp_page(err: u32, va: VAddr) -> Result<bool, CowError> {
    let code = PageFaultCode::decode(err);
    if !(code.write && code.present) || va >= KERNBASE {
        return Ok(false);
    }
    let pgdir = rcr3();
    let mut mem = KernelPages;
    // Only directories with 4 KiB tables below KERNBASE get here: the
    // kernel's and those built on it; entrypgdir has no user half.
    // SAFETY: CR3 holds a page directory, which is in the direct map.
    let pde = unsafe { mem.pd(pgdir) }[pdx(va)];
    if !pde.is_present() || pde.flags().contains(PDFlags::PS) {
        return Ok(false);
    }
    let step = match un_wp_page(&mut mem, pgdir, va) {
        Ok(step) => step,
        Err(CowError::NotMapped { .. } | CowError::NotCopyOnWrite { .. }) => return Ok(false),
        Err(e @ CowError::OutOfMemory { .. }) => return Err(e),
    };
    COW_FAULTS.fetch_add(1, Ordering::Relaxed);
    *LAST_COW.lock() = Some((va, step));
    Ok(true)
}

/// Linux 0.01's whole-table operations on the machine's counted pages.
#[cfg(kernel)]
impl KernelPages {
    /// [`free_page_tables`], panicking, naming the value and the rule, on a
    /// span that is not whole page tables of user space (Linux:
    /// "free_page_tables called with wrong alignment").
    ///
    /// # Safety
    /// As for [`free_page_tables`].
    pub unsafe fn free_page_tables(&mut self, pgdir: PAddr, from: VAddr, size: u32) {
        // SAFETY: passed on from the caller.
        unsafe { free_page_tables(self, pgdir, from, size) }.unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`copy_page_tables`]: running out of memory for a page table is an
    /// error (everything copied is undone); a bad span or a destination
    /// that already has tables there is a bug and panics with its rule.
    pub fn copy_page_tables(
        &mut self,
        from_pgdir: PAddr,
        to_pgdir: PAddr,
        from: VAddr,
        size: u32,
    ) -> Result<(), OutOfMemory> {
        match copy_page_tables(self, from_pgdir, to_pgdir, from, size) {
            Ok(()) => Ok(()),
            Err(CopyError::OutOfMemory) => Err(OutOfMemory),
            Err(e) => panic!("{e}"),
        }
    }
}

#[cfg(test)]
mod tests;
