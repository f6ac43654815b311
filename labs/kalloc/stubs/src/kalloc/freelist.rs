        // LAB kalloc/kfree STUB
        let _ = va;
        crate::lab_todo!("kalloc", "kfree")
        // LAB kalloc/kfree END

        // LAB kalloc/kfree STUB
        let _ = (va, self.junk);
        crate::lab_todo!("kalloc", "kfree")
        // LAB kalloc/kfree END

        // LAB kalloc/kalloc STUB
        crate::lab_todo!("kalloc", "kalloc")
        // LAB kalloc/kalloc END

        // LAB kalloc/freerange STUB
        let _ = (start, end, Pool::ram_runs);
        crate::lab_todo!("kalloc", "freerange")
        // LAB kalloc/freerange END
