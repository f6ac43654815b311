    // LAB boot/kinit STUB
    let _ = phystop;
    xv6::lab_todo!("boot", "kinit")
    // LAB boot/kinit BASE
    use xv6::memlayout::{BOOT_MAPPED, p2v, p2v_end};
    let end = xv6::image::end_addr(); // given until lab boot
    (end, p2v(BOOT_MAPPED), p2v_end(phystop))
    // LAB boot/kinit END
