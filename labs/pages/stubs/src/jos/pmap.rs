    // LAB pages/pgdir_walk STUB
    let _ = mem;
    crate::lab_todo!("pages", "pgdir_walk")
    // LAB pages/pgdir_walk END

    // LAB pages/pgdir_walk STUB
    let _ = (mem, pgdir, va, create);
    crate::lab_todo!("pages", "pgdir_walk")
    // LAB pages/pgdir_walk END

    // LAB pages/page_lookup STUB
    let _ = (mem, pgdir, va, mapped::<M>);
    crate::lab_todo!("pages", "page_lookup")
    // LAB pages/page_lookup END

    // LAB pages/page_remove STUB
    let _ = (mem, pgdir, va);
    crate::lab_todo!("pages", "page_remove")
    // LAB pages/page_remove END

    // LAB pages/page_insert STUB
    let _ = (mem, pgdir, pa, va, perm);
    crate::lab_todo!("pages", "page_insert")
    // LAB pages/page_insert END

    // LAB pages/boot_map_region STUB
    let _ = (mem, pgdir, va, size, pa, perm);
    crate::lab_todo!("pages", "boot_map_region")
    // LAB pages/boot_map_region END
