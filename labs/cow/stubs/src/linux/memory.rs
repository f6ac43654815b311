    // LAB cow/free_page_tables STUB
    let _ = (mem, pgdir, from, size, free_table::<M>);
    crate::lab_todo!("cow", "free_page_tables")
    // LAB cow/free_page_tables BASE
    // Given until lab cow.
    for n in span("free_page_tables", from, size)? {
        let entry = *pde_mut(mem, pgdir, n);
        *pde_mut(mem, pgdir, n) = PDEntry(0);
        if entry.is_present() {
            // SAFETY: unhooked from the directory first; the caller
            // answers for the pages.
            unsafe { free_table(mem, entry.address()) };
        }
    }
    mem.flush_tlb(pgdir); // given until lab cow
    Ok(())
    // LAB cow/free_page_tables END

    // LAB cow/free_page_tables STUB
    let _ = (mem, table, pte_mut::<M>);
    crate::lab_todo!("cow", "free_page_tables")
    // LAB cow/free_page_tables BASE
    // Given until lab cow.
    use crate::mmu::NPDENTRIES;
    for k in 0..NPDENTRIES {
        let entry = *pte_mut(mem, table, k);
        *pte_mut(mem, table, k) = PTEntry(0);
        if entry.is_present() {
            // SAFETY: the caller's promise, for each page.
            unsafe { mem.decref(entry.address()) };
        }
    }
    // SAFETY: the caller's promise, for the table.
    unsafe { M::free_table(mem, table) };
    // LAB cow/free_page_tables END

    // LAB cow/copy_page_tables STUB
    let _ = (mem, src, dst, write_protect);
    crate::lab_todo!("cow", "copy_page_tables")
    // LAB cow/copy_page_tables END

    // LAB cow/copy_page_tables STUB
    let _ = pte;
    crate::lab_todo!("cow", "copy_page_tables")
    // LAB cow/copy_page_tables END

    // LAB cow/un_wp_page STUB
    let _ = (mem, pgdir, va);
    crate::lab_todo!("cow", "un_wp_page")
    // LAB cow/un_wp_page END
