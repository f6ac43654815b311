    # LAB boot/entrypgdir STUB
    LAB_TODO boot, entrypgdir, __LINE__
    # LAB boot/entrypgdir BASE
    movl $({entrypgdir} - {KERNBASE}), %edi # given until lab boot
    movl ${ENTRY_PDE}, %ecx                # (EAX holds the loader's magic)
    movl %ecx, (%edi)
    movl %ecx, 4 * {KERNBASE_PDX}(%edi)
    # LAB boot/entrypgdir END
