    // LAB boot/walkpgdir STUB
    let _ = (mem, pgdir, va, alloc);
    crate::lab_todo!("boot", "walkpgdir")
    // LAB boot/walkpgdir BASE
    // Given until lab boot.
    use crate::mmu::{PDEntry, pdx, ptx};
    // SAFETY: the directory at `pgdir` came from this memory.
    let entry = unsafe { &mut mem.pd(pgdir)[pdx(va)] };
    let t = match (entry.is_present(), alloc) {
        (true, _) => entry.address(),
        (false, false) => return Ok(None),
        (false, true) => {
            let fresh = mem.alloc_table().ok_or(OutOfMemory)?;
            // SAFETY: the same directory, asked for again.
            unsafe { mem.pd(pgdir)[pdx(va)] = PDEntry::new(fresh, M::PDE_FLAGS) };
            fresh
        }
    };
    // SAFETY: `t` is a table of this memory, in the directory.
    let entries = unsafe { mem.pt(t) };
    Ok(entries.get_mut(ptx(va)))
    // LAB boot/walkpgdir END

    // LAB boot/mappages STUB
    let _ = (mem, pgdir, last, pa, perm, map_page);
    crate::lab_todo!("boot", "mappages")
    // LAB boot/mappages BASE
    // Given until lab boot.
    use crate::mmu::PageStep;
    let first = va.page_down();
    // Counted, not stepped past the end: the last page may end at 4 GiB.
    for i in 0..=first.pages_to(last.page_down()) {
        let page = first.add_pages(i);
        let entry = walkpgdir(mem, pgdir, page, true)?.expect("a table, made if missing");
        map_page(entry, page, pa.page_down().add_pages(i), perm);
    }
    Ok(())
    // LAB boot/mappages END

    // LAB boot/setupkvm STUB
    let _ = (mem, data, pgdir, freevm::<M>);
    crate::lab_todo!("boot", "setupkvm")
    // LAB boot/setupkvm BASE
    // Given until lab boot.
    use crate::memlayout::KSTACKS;
    let mut built = Ok(());
    for region in kmap(data, phystop) {
        if built.is_ok() && region.size != 0 {
            built = mappages(
                mem,
                pgdir,
                region.virt,
                region.size,
                region.phys,
                region.perm,
            );
        }
    }
    let built = built
        .and_then(|()| walkpgdir(mem, pgdir, KSTACKS, true))
        .map(drop);
    if let Err(oom) = built {
        // SAFETY: the directory is not in use yet.
        unsafe { freevm(mem, pgdir) }; // given until lab boot
        return Err(oom);
    }
    Ok(pgdir)
    // LAB boot/setupkvm END
