//! The kernel's page directory, as xv6's `vm.c`: the `kmap` table,
//! `walkpgdir`, `mappages`, `setupkvm`, and on the machine `kvmalloc` and
//! `switchkvm`. Tables are reached through a [`PageTableMemory`], so the
//! host's unit tests run the same code on simulated pages.

use core::fmt;

#[cfg(kernel)]
use spin::Once;

use crate::memlayout::{DEVSPACE, EXTMEM, KERNBASE, KERNLINK, PAddr, VAddr, v2p};
use crate::mmu::{LARGE_PGSIZE, PD, PDE_TABLE_FLAGS, PDFlags, PT, PTEntry, PTFlags};
#[cfg(kernel)]
use crate::{
    image,
    kalloc::{kalloc, kfree_addr},
    memlayout::p2v,
};

/// Where page-table pages come from and how to reach them.
pub trait PageTableMemory {
    /// Flags of the directory entries [`walkpgdir`] makes for new tables:
    /// the kernel's present and writable; a memory for user address spaces
    /// adds the user bit ([`crate::mmu::PDE_USER_TABLE_FLAGS`]).
    const PDE_FLAGS: PDFlags = PDE_TABLE_FLAGS;

    /// A new zeroed page for a page directory or table, or `None` when
    /// memory is exhausted.
    fn alloc_table(&mut self) -> Option<PAddr>;

    /// Give back a page `alloc_table` returned.
    ///
    /// # Safety
    /// Nothing refers to the page any more.
    unsafe fn free_table(&mut self, pa: PAddr);

    /// The page directory at `pa`.
    ///
    /// # Safety
    /// `pa` came from `alloc_table` and nothing else refers to that page.
    unsafe fn pd(&mut self, pa: PAddr) -> &mut PD;

    /// The page table at `pa`.
    ///
    /// # Safety
    /// As for [`PageTableMemory::pd`].
    unsafe fn pt(&mut self, pa: PAddr) -> &mut PT;
}

/// A page-table page could not be allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfMemory;

impl fmt::Display for OutOfMemory {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("out of memory for a page-table page")
    }
}

/// One region of the kernel's address space (xv6's `struct kmap`): `size`
/// bytes from `virt` map to `phys` with permission `perm` (never the user
/// bit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kmap {
    pub name: &'static str,
    pub virt: VAddr,
    pub phys: PAddr,
    pub size: u32,
    pub perm: PTFlags,
}

/// The kernel's map, given where its writable data starts (`data`, from the
/// linker) and the top of physical memory used:
///
/// | virtual                    | physical          | perm |
/// |----------------------------|-------------------|------|
/// | KERNBASE..KERNBASE+EXTMEM  | 0..EXTMEM (I/O)   | W    |
/// | KERNLINK..data             | text and rodata   | R    |
/// | data..P2V(phystop)         | data, free memory | W    |
/// | DEVSPACE..4 GiB            | same (devices)    | W    |
pub fn kmap(data: VAddr, phystop: PAddr) -> [Kmap; 4] {
    let data_pa = v2p(data);
    [
        Kmap {
            name: "I/O space",
            virt: KERNBASE,
            phys: PAddr(0),
            size: EXTMEM.0,
            perm: PTFlags::RW,
        },
        Kmap {
            name: "kernel text+rodata",
            virt: KERNLINK,
            phys: EXTMEM,
            size: data.0 - KERNLINK.0,
            perm: PTFlags::empty(),
        },
        Kmap {
            name: "kernel data+memory",
            virt: data,
            phys: data_pa,
            size: phystop.0.saturating_sub(data_pa.0),
            perm: PTFlags::RW,
        },
        Kmap {
            name: "devices",
            virt: DEVSPACE,
            phys: PAddr(DEVSPACE.0),
            size: 0u32.wrapping_sub(DEVSPACE.0),
            perm: PTFlags::RW,
        },
    ]
}

/// Where `va` maps according to `map`, and with what permission.
pub fn kmap_lookup(map: &[Kmap], va: VAddr) -> Option<(PAddr, PTFlags)> {
    map.iter().find_map(|k| {
        let offset = va.0.checked_sub(k.virt.0).filter(|&o| o < k.size)?;
        Some((k.phys + offset, k.perm))
    })
}

/// The page-table entry for `va` in the directory at `pgdir` (xv6's
/// `walkpgdir`). With `alloc`, a missing page table is created; without it,
/// `Ok(None)` says there is none.
pub fn walkpgdir<M: PageTableMemory>(
    mem: &mut M,
    pgdir: PAddr,
    va: VAddr,
    alloc: bool,
) -> Result<Option<&mut PTEntry>, OutOfMemory> {
    // LAB boot/walkpgdir BEGIN
    use crate::mmu::{PDEntry, pdx, ptx};
    // SAFETY: `pgdir` is a page directory this memory handed out.
    let pde = unsafe { mem.pd(pgdir)[pdx(va)] };
    let table = if pde.is_present() {
        pde.address()
    } else if !alloc {
        return Ok(None);
    } else {
        let table = mem.alloc_table().ok_or(OutOfMemory)?; // zeroed: no entry present
        // SAFETY: as above.
        let dir = unsafe { mem.pd(pgdir) };
        dir[pdx(va)] = PDEntry::new(table, M::PDE_FLAGS);
        table
    };
    // SAFETY: present PDEs of our directories point at tables we allocated.
    Ok(Some(&mut unsafe { mem.pt(table) }[ptx(va)]))
    // LAB boot/walkpgdir END
}

/// Map `size` bytes from `va` to physical `pa` with `perm` (xv6's
/// `mappages`). `va` and `size` need not be page-aligned; every page they
/// touch is mapped. Panics on a page that is already mapped (a remap is a
/// kernel bug) and on `size == 0`.
pub fn mappages<M: PageTableMemory>(
    mem: &mut M,
    pgdir: PAddr,
    va: VAddr,
    size: u32,
    pa: PAddr,
    perm: PTFlags,
) -> Result<(), OutOfMemory> {
    assert!(size > 0, "mappages: empty range at {:#010x}", va.0);
    let last =
        va.0.checked_add(size - 1)
            .map(VAddr)
            .unwrap_or_else(|| panic!("mappages: {:#010x} + {:#x} runs past 4 GiB", va.0, size));
    // LAB boot/mappages BEGIN
    use crate::mmu::PageStep;
    let last = last.page_down();
    let mut pa = pa.page_down();
    let mut a = va.page_down();
    loop {
        let pte = walkpgdir(mem, pgdir, a, true)?.expect("walkpgdir allocates");
        map_page(pte, a, pa, perm);
        if a == last {
            return Ok(());
        }
        a = a.add_pages(1);
        pa = pa.add_pages(1);
    }
    // LAB boot/mappages END
}

/// Make `pte`, the entry for page `va`, map physical page `pa` with `perm`
/// (present too). Panics if it maps a page already: a remap is a kernel bug.
fn map_page(pte: &mut PTEntry, va: VAddr, pa: PAddr, perm: PTFlags) {
    assert!(
        !pte.is_present(),
        "mappages: remap of va {:#010x} (already maps pa {:#010x})",
        va.0,
        pte.address().0
    );
    *pte = PTEntry::new(pa, PTFlags::P | perm);
}

/// Free the page tables of the directory at `pgdir`, then the directory
/// (xv6's `freevm`, for a directory that maps no pages of its own: the
/// kernel's maps only the kernel and devices, which are not freed).
///
/// # Safety
/// Nothing uses the directory any more (it is not in CR3).
pub unsafe fn freevm<M: PageTableMemory>(mem: &mut M, pgdir: PAddr) {
    // SAFETY: `pgdir` is a directory from this memory, unused now.
    let pd = *unsafe { mem.pd(pgdir) };
    for pde in pd.iter().filter(|e| e.is_present()) {
        // SAFETY: a present PDE of our directory points at a table from
        // `alloc_table`, referred to by this entry only.
        unsafe { mem.free_table(pde.address()) };
    }
    // SAFETY: as above.
    unsafe { mem.free_table(pgdir) };
}

/// Pages a kernel page directory for `phystop` takes, the directory
/// included: one table for each 4 MiB of KERNBASE..P2V(phystop) and of
/// DEVSPACE..4 GiB, and one for the kernel-stacks window (KSTACKS). The
/// boot report's `kvmalloc:` count; the tests compute it with this too.
pub fn kvm_pages(phystop: PAddr) -> usize {
    let span = LARGE_PGSIZE as u64;
    let direct = u64::from(phystop.0).div_ceil(span);
    let devices = ((1u64 << 32) - u64::from(DEVSPACE.0)) / span;
    /// The directory itself and the kernel-stacks window's table.
    const DIRECTORY_AND_WINDOW: u64 = 2;
    (DIRECTORY_AND_WINDOW + direct + devices) as usize
}

/// Build a page directory holding the kernel's map (xv6's `setupkvm`) and
/// an empty page table for the kernel-stacks window (`startothers` maps
/// the other CPUs' stacks there), and return its physical address. If a page table cannot be allocated part
/// way, every page taken so far is given back before the error is returned.
/// Panics if `phystop` would put its direct mapping above DEVSPACE.
pub fn setupkvm<M: PageTableMemory>(
    mem: &mut M,
    data: VAddr,
    phystop: PAddr,
) -> Result<PAddr, OutOfMemory> {
    let top = KERNBASE
        .0
        .checked_add(phystop.0)
        .filter(|&t| t <= DEVSPACE.0);
    assert!(
        top.is_some(),
        "setupkvm: PHYSTOP {:#010x} puts P2V(PHYSTOP) above DEVSPACE {:#010x}",
        phystop.0,
        DEVSPACE.0
    );
    let pgdir = mem.alloc_table().ok_or(OutOfMemory)?;
    // LAB boot/setupkvm BEGIN
    use crate::memlayout::KSTACKS;
    let built = kmap(data, phystop)
        .iter()
        .filter(|k| k.size > 0)
        .try_for_each(|k| mappages(mem, pgdir, k.virt, k.size, k.phys, k.perm))
        .and_then(|()| walkpgdir(mem, pgdir, KSTACKS, true).map(|_| ()));
    if let Err(out_of_memory) = built {
        // SAFETY: the half-built directory was never installed.
        unsafe { freevm(mem, pgdir) };
        return Err(out_of_memory);
    }
    Ok(pgdir)
    // LAB boot/setupkvm END
}

/// What `kvmalloc` built.
#[cfg(kernel)]
#[derive(Clone, Copy, Debug)]
pub struct Kvm {
    /// Physical address of the kernel page directory.
    pub pgdir: PAddr,
    /// Page-table pages taken from kalloc, the directory included.
    pub pages: usize,
}

/// The boot report's line.
#[cfg(kernel)]
impl fmt::Display for Kvm {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "kvmalloc: {} page-table pages, kpgdir {:#010x}",
            self.pages,
            p2v(self.pgdir).0
        )
    }
}

#[cfg(kernel)]
static KVM: Once<Kvm> = Once::new();

/// Build the kernel page directory, mapping physical memory up to
/// `phystop`, take the boot stack's guard page out of it, and switch to it
/// (xv6's `kvmalloc`). Runs between kinit1 and kinit2, so every page-table
/// page comes from the first 4 MiB.
// Never inlined: a function of its own for breakpoints in GDB and Bochs.
#[cfg(kernel)]
#[inline(never)]
pub fn kvmalloc(phystop: PAddr) -> Kvm {
    let kvm = KVM.call_once(|| {
        let free = crate::kalloc::nfree();
        let (pgdir, pages) = setupkvm_kalloc(phystop).unwrap_or_else(|e| {
            panic!(
                "kvmalloc: {e}: the page tables for PHYSTOP {:#x} come from the {free} pages \
                 kinit1 freed below 4 MiB (it gave back what it had taken)",
                phystop.0
            )
        });
        guard_boot_stack(pgdir);
        Kvm { pgdir, pages }
    });
    switchkvm();
    *kvm
}

/// Take the boot stack's guard page out of the directory `pgdir` (the
/// kernel's, before `switchkvm` loads it: loading CR3 flushes the TLB).
#[cfg(kernel)]
fn guard_boot_stack(pgdir: PAddr) {
    let guard = crate::entry::boot_stack_guard();
    let mut mem = KallocTables::default();
    let entry = walkpgdir(&mut mem, pgdir, guard, false)
        .expect("a walk without allocation cannot run out")
        .unwrap_or_else(|| panic!("kstack: no page table for {:#010x}", guard.0));
    assert!(
        entry.is_present(),
        "kstack: the boot stack's guard page {:#010x} is not in the direct map",
        guard.0
    );
    *entry = PTEntry(0);
}

/// Build a directory holding the kernel's map from kalloc pages, without
/// installing it (kvmalloc installs the one it builds; the tests build
/// extra ones to run out of memory). Returns the directory and the pages it
/// took.
#[cfg(kernel)]
pub fn setupkvm_kalloc(phystop: PAddr) -> Result<(PAddr, usize), OutOfMemory> {
    let mut mem = KallocTables::default();
    setupkvm(&mut mem, image::data_addr(), phystop).map(|pgdir| (pgdir, mem.allocated))
}

/// Free a directory built by [`setupkvm_kalloc`].
///
/// # Safety
/// The directory is not in use (not in CR3).
#[cfg(kernel)]
pub unsafe fn freekvm(pgdir: PAddr) {
    // SAFETY: the caller guarantees the directory is unused.
    unsafe { freevm(&mut KallocTables::default(), pgdir) };
}

/// The kernel page directory, once `kvmalloc` has built it.
#[cfg(kernel)]
pub fn kpgdir() -> Option<PAddr> {
    KVM.get().map(|k| k.pgdir)
}

/// Load the kernel page directory into CR3 (xv6's `switchkvm`), and give
/// this CPU's double-fault task the same directory.
#[cfg(kernel)]
pub fn switchkvm() {
    let pgdir = kpgdir().expect("switchkvm before kvmalloc");
    let pinned = crate::spinlock::NoInterrupts::new();
    crate::arch::tss::set_double_fault_cr3(pinned.cpu(), pgdir.0);
    // SAFETY: the directory maps the kernel's text, data, stack and every
    // page in use exactly where entrypgdir did (KERNBASE + pa), so the code
    // running now keeps running; only the low identity mapping goes away
    // (and the boot stack's guard page, which nothing uses).
    unsafe { x86::controlregs::cr3_write(u64::from(pgdir.0)) };
}

/// A snapshot of the kernel page directory's entries.
#[cfg(kernel)]
pub fn kpgdir_entries() -> PD {
    let pa = kpgdir().expect("kpgdir_entries before kvmalloc");
    // SAFETY: the kernel page directory is mapped and only written by
    // kvmalloc, which has finished.
    unsafe { core::ptr::read(p2v(pa).0 as *const PD) }
}

/// A snapshot of the page table at `pa` (from a present kernel PDE).
#[cfg(kernel)]
pub fn page_table(pa: PAddr) -> PT {
    // SAFETY: `pa` is a page table of the kernel page directory, mapped and
    // no longer written.
    unsafe { core::ptr::read(p2v(pa).0 as *const PT) }
}

/// Page-table pages from `kalloc`, reached through the direct map; counts
/// the pages taken. The kernel page directory is one of its directories.
#[cfg(kernel)]
#[derive(Default)]
pub struct KallocTables {
    allocated: usize,
}

#[cfg(kernel)]
impl PageTableMemory for KallocTables {
    fn alloc_table(&mut self) -> Option<PAddr> {
        let mut page = kalloc()?;
        page.zero();
        self.allocated += 1;
        Some(page.into_pa())
    }

    unsafe fn free_table(&mut self, pa: PAddr) {
        // SAFETY: the caller no longer refers to the page, which came from
        // kalloc through `alloc_table`.
        unsafe { kfree_addr(p2v(pa)) };
    }

    unsafe fn pd(&mut self, pa: PAddr) -> &mut PD {
        // SAFETY: `pa` is a page from `alloc_table`, used only as this
        // directory.
        unsafe { direct_pd(pa) }
    }

    unsafe fn pt(&mut self, pa: PAddr) -> &mut PT {
        // SAFETY: as for `pd`.
        unsafe { direct_pt(pa) }
    }
}

/// The page directory at `pa`, through the direct map.
///
/// # Safety
/// `pa` is a page-aligned page below PHYSTOP holding a directory, and the
/// caller keeps the reference unique while it lives.
#[cfg(kernel)]
pub unsafe fn direct_pd<'a>(pa: PAddr) -> &'a mut PD {
    // SAFETY: the direct map maps every page below PHYSTOP at P2V(pa);
    // the rest is the caller's promise.
    unsafe { &mut *(p2v(pa).0 as *mut PD) }
}

/// The page table at `pa`, through the direct map.
///
/// # Safety
/// As for [`direct_pd`], for a page table.
#[cfg(kernel)]
pub unsafe fn direct_pt<'a>(pa: PAddr) -> &'a mut PT {
    // SAFETY: as for `direct_pd`.
    unsafe { &mut *(p2v(pa).0 as *mut PT) }
}

/// User address spaces.
#[cfg(kernel)]
pub mod uvm;
#[cfg(kernel)]
pub use uvm::{
    allocuvm, clearpteu, copyout, copyuvm, cowuvm, deallocuvm, inituvm, loaduvm, setupuvm,
    switchuvm, uva2ka,
};

#[cfg(test)]
mod tests;
