//! The kernel's page directory (the kernel half of xv6's `vm.c`): the `kmap`
//! table of what maps where, `walkpgdir`, `mappages` and `setupkvm`.
//!
//! Page-table pages are reached through a [`PageTableMemory`]: in the kernel
//! the direct map and `kalloc`, in the host's unit tests a simulation, so the
//! same code builds and checks the tables in both.

use core::fmt;

use crate::memlayout::{DEVSPACE, EXTMEM, KERNBASE, KERNLINK, PAddr, VAddr};
use crate::mmu::{
    PD, PDE_TABLE_FLAGS, PDEntry, PDFlags, PGSIZE, PT, PTEntry, PTFlags, pdx, pgrounddown, ptx,
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
    let data_pa = PAddr(data.0 - KERNBASE.0);
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
    map.iter()
        .find(|k| va.0 >= k.virt.0 && va.0 - k.virt.0 < k.size)
        .map(|k| (PAddr(k.phys.0 + (va.0 - k.virt.0)), k.perm))
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
    // SAFETY: `pgdir` is a page directory this memory handed out.
    let pde = unsafe { mem.pd(pgdir) }[pdx(va)];
    let table = if pde.is_present() {
        pde.address()
    } else if !alloc {
        return Ok(None);
    } else {
        let table = mem.alloc_table().ok_or(OutOfMemory)?;
        // SAFETY: as above.
        let pd = unsafe { mem.pd(pgdir) };
        pd[pdx(va)] = PDEntry::new(table, M::PDE_FLAGS);
        table
    };
    // SAFETY: present PDEs of our directories point at tables we allocated.
    Ok(Some(&mut unsafe { mem.pt(table) }[ptx(va)]))
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
    let first = pgrounddown(va.0);
    let last = pgrounddown(
        va.0.checked_add(size - 1)
            .unwrap_or_else(|| panic!("mappages: {:#010x} + {:#x} runs past 4 GiB", va.0, size)),
    );
    let mut pa = pgrounddown(pa.0);
    let mut a = first;
    loop {
        let pte = walkpgdir(mem, pgdir, VAddr(a), true)?.expect("walkpgdir allocates");
        assert!(
            !pte.is_present(),
            "mappages: remap of va {:#010x} (already maps pa {:#010x})",
            a,
            pte.address().0
        );
        *pte = PTEntry::new(PAddr(pa), perm | PTFlags::P);
        if a == last {
            return Ok(());
        }
        a += PGSIZE as u32;
        pa += PGSIZE as u32;
    }
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

/// Build a page directory holding the kernel's map (xv6's `setupkvm`) and
/// return its physical address. If a page table cannot be allocated part
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
    for k in kmap(data, phystop).iter().filter(|k| k.size > 0) {
        if let Err(e) = mappages(mem, pgdir, k.virt, k.size, k.phys, k.perm) {
            // SAFETY: the half-built directory was never installed.
            unsafe { freevm(mem, pgdir) };
            return Err(e);
        }
    }
    Ok(pgdir)
}

#[cfg(kernel)]
mod kernel;
#[cfg(kernel)]
pub use kernel::*;

#[cfg(test)]
mod tests;
