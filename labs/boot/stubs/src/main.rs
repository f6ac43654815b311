    // LAB boot/kinit STUB
    let (end, low, top) = xv6::lab_todo!("boot", "kinit");
    // LAB boot/kinit BASE
    let end = image::end_addr(); // given until lab boot
    let (low, top) = (p2v(BOOT_MAPPED), p2v_end(phystop));
    // LAB boot/kinit END
