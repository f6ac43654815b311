//! The monitor's commands for the counted pages: `page <addr>`, `checks`
//! and `cow`.

use crate::kalloc::{self, KfreeError};
use crate::memlayout::{KERNBASE, PAddr, VAddr, v2p};
use crate::mmu::{PGSIZE, pgaddr};
use crate::pageinfo::PageError;
use crate::pageinfo::{area, infos};
use crate::pmap::check::check_all;
use crate::pmap::cow::cow;
use crate::{println, vm};

use super::kernel::{Monitor, Result};
use super::{Args, mapping};

/// `page <addr>`: the page holding a physical address, or a kernel virtual
/// address (at or above KERNBASE): its count, whether it is free, and where
/// the kernel page directory maps it.
pub fn page<'a>(_: &mut Monitor, mut args: Args<'a>) -> Result<'a> {
    let addr = args.required("addr")?;
    args.done()?;
    let found = if addr >= KERNBASE.0 {
        infos().kva2page(VAddr(addr))
    } else {
        infos().pa2page(PAddr(addr))
    };
    let ppn = match found {
        Ok(ppn) => ppn,
        Err(e @ (PageError::InvalidPa { .. } | PageError::NotKernelVa { .. })) => {
            println!("page: refused: {e}");
            return Ok(());
        }
        Err(e) => unreachable!("a lookup fails only on the address: {e}"),
    };
    let pa = ppn.pa();
    let kfree_says = kalloc::check_free(ppn.kva());
    let state = match kfree_says {
        Err(KfreeError::DoubleFree { .. }) => "free (on a free list)",
        Ok(()) => "in use (allocated)",
        Err(_) if area().is_some_and(|a| ppn.kva() >= a.start && ppn.kva() < a.end) => {
            "never free: the page counts (boot_alloc)"
        }
        Err(_) => "never free: the allocator does not manage it",
    };
    let count = infos().count(pa).expect("pa2page found the page");
    println!(
        "page {:#010x} (page number {}, kva {:#010x}): count {count}, {state}",
        pa.0,
        ppn.index(),
        ppn.kva().0
    );
    if let Err(e) = kfree_says
        && !matches!(e, KfreeError::DoubleFree { .. })
    {
        println!("  kfree would refuse it: {e}");
    }
    let mut n = 0;
    let pd = vm::kpgdir_entries();
    for_each_mapping(pa, |va| {
        let m = mapping(va, pd[crate::mmu::pdx(va)].0, |table, index| {
            vm::page_table(PAddr(table))[index].0
        });
        println!("  mapped in the kernel page directory: {m}");
        n += 1;
    });
    if n == 0 {
        println!("  not mapped in the kernel page directory");
    }
    Ok(())
}

/// Call `f` with each virtual address the kernel page directory maps to
/// the page at `pa` through a page table.
fn for_each_mapping(pa: PAddr, mut f: impl FnMut(VAddr)) {
    let pd = vm::kpgdir_entries();
    for (i, pde) in pd.iter().enumerate().filter(|(_, e)| e.is_present()) {
        let table = vm::page_table(pde.address());
        for (j, pte) in table.iter().enumerate() {
            if pte.is_present() && pte.address() == pa {
                f(pgaddr(i, j, 0));
            }
        }
    }
}

/// `checks`: JOS's self-checks and check_cow.
pub fn checks<'a>(m: &mut Monitor, args: Args<'a>) -> Result<'a> {
    args.done()?;
    let before = kalloc::nfree();
    check_all(m.machine.phystop);
    println!(
        "checks: all passed; {} pages free, as before",
        kalloc::nfree()
    );
    assert_eq!(kalloc::nfree(), before, "checks: the checks leaked pages");
    Ok(())
}

/// `cow`: the copy-on-write demonstration, step by step.
pub fn cow_demo<'a>(m: &mut Monitor, args: Args<'a>) -> Result<'a> {
    args.done()?;
    cow(m.machine.phystop, true);
    Ok(())
}

/// `meminfo`'s line for the memory boot_alloc took for the counts.
pub fn counts_line() {
    if let Some(a) = area() {
        println!(
            "page counts:  {} pages [{:#010x}, {:#010x}) from boot_alloc, one byte for each of {} pages",
            (a.end.0 - a.start.0) as usize / PGSIZE,
            v2p(a.start).0,
            v2p(a.end).0,
            infos().npages()
        );
    }
}
