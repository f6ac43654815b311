    // LAB percpu/mine STUB
    let _ = pin;
    crate::lab_todo!("percpu", "mine")
    // LAB percpu/mine BASE
    // Given until lab percpu: list 0, the one list of global mode.
    let _ = pin;
    0
    // LAB percpu/mine END

    // LAB percpu/kfree STUB
    let _ = (f, pin, mine);
    crate::lab_todo!("percpu", "kfree")
    // LAB percpu/kfree BASE
    // Given until lab percpu: the one list of global mode.
    let _ = (pin, mine);
    f(&mut *hold(0, None))
    // LAB percpu/kfree END

    // LAB percpu/kalloc STUB
    let _ = steal;
    crate::lab_todo!("percpu", "kalloc")
    // LAB percpu/kalloc BASE
    // Given until lab percpu: the one list of global mode, nothing to steal.
    let _ = steal;
    hold(0, None).alloc().map(Page)
    // LAB percpu/kalloc END

    // LAB percpu/steal STUB
    let _ = me;
    crate::lab_todo!("percpu", "steal")
    // LAB percpu/steal BASE
    // Given until lab percpu: there are no other lists to steal from.
    let _ = me;
    None
    // LAB percpu/steal END
