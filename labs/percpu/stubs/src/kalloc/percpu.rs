    // LAB percpu/mine STUB
    let _ = pin;
    crate::lab_todo!("percpu", "mine")
    // LAB percpu/mine BASE
    // Given until lab percpu: list 0, as if there were one list.
    let _ = pin;
    0
    // LAB percpu/mine END

        // LAB percpu/kfree STUB
        let _ = (va, mine);
        crate::lab_todo!("percpu", "kfree")
        // LAB percpu/kfree BASE
        // Given until lab percpu: list 0, as if there were one list.
        let _ = mine;
        // SAFETY: passed on from the caller.
        unsafe { self.hold(0, None).list.push(va) }
        // LAB percpu/kfree END

        // LAB percpu/kalloc STUB
        let _ = Self::steal;
        crate::lab_todo!("percpu", "kalloc")
        // LAB percpu/kalloc BASE
        // Given until lab percpu: list 0, as if there were one list.
        let _ = Self::steal;
        self.hold(0, None).list.alloc()
        // LAB percpu/kalloc END

        // LAB percpu/steal STUB
        let _ = me;
        crate::lab_todo!("percpu", "steal")
        // LAB percpu/steal BASE
        // Given until lab percpu: there are no other lists to steal from.
        let _ = me;
        None
        // LAB percpu/steal END
