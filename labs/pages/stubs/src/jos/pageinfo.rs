    // LAB pages/page_alloc STUB
    let _ = (source, flags);
    crate::lab_todo!("pages", "page_alloc")
    // LAB pages/page_alloc END

        // LAB pages/page_free STUB
        let _ = pa;
        crate::lab_todo!("pages", "page_free")
        // LAB pages/page_free END
