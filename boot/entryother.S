# boot/entryother.S: where the other CPUs start (xv6's entryother.S).
#
# A CPU other than the boot CPU starts in 16-bit real mode, at the start of
# the page a STARTUP IPI names, which must lie below 1 MiB. startothers
# (src/smp.rs) copies the bytes from entryother_start to entryother_end to
# physical AP_START, stores the new CPU's stack top in the copy's
# entryother_stack word, and sends the IPI. The CPU then runs the copy with
# CS = AP_START / 16, IP = 0, paging and interrupts off.
#
# The code runs at AP_START, not where it is linked, so each absolute
# address below is written `label - entryother_start + AP_START`. From
# protected mode on it does what boot/entry.S does for the boot CPU: the
# same entrypgdir, then a call into the kernel (mpenter), which switches to
# the kernel's page directory.

.section .text
.code16
.globl entryother_start
entryother_start:
    cli                                     # no interrupts: there is no IDT yet
    xorw %ax, %ax                           # flat real-mode segments:
    movw %ax, %ds                           #   data,
    movw %ax, %es                           #   extra,
    movw %ax, %ss                           #   and stack segment all 0

    # Load the temporary GDT below and turn on protected mode.
    lgdtl (ap_gdtdesc - entryother_start + {AP_START})
    movl %cr0, %eax                         # read CR0
    orl ${CR0_PE}, %eax                     # set CR0.PE (protection enable)
    movl %eax, %cr0                         # protected mode, still 16-bit code
    # A far jump loads CS from the GDT: 32-bit code from here.
    ljmpl ${KCODE}, $(ap_start32 - entryother_start + {AP_START})

.code32
ap_start32:
    movw ${KDATA}, %ax                      # the kernel data segment for
    movw %ax, %ds                           #   data,
    movw %ax, %es                           #   extra,
    movw %ax, %ss                           #   and stack
    xorw %ax, %ax                           # FS and GS unused:
    movw %ax, %fs                           #   the null selector
    movw %ax, %gs

    # Paging as on the boot CPU: 4 MiB pages, entrypgdir, then CR0.PG/WP.
    movl %cr4, %eax                         # read CR4
    orl ${CR4_BOOT}, %eax                   # set CR4.PSE
    movl %eax, %cr4
    movl $({entrypgdir} - {KERNBASE}), %eax # entrypgdir's physical address
    movl %eax, %cr3                         # page-directory base register
    movl %cr0, %eax                         # read CR0
    orl ${CR0_BOOT}, %eax                   # set CR0.PG and CR0.WP
    movl %eax, %cr0                         # paging is on from here

    # The stack startothers gave this CPU: a page kinit1 freed, below 4 MiB,
    # so entrypgdir maps it (that is why kinit2 runs after startothers).
    movl (entryother_stack - entryother_start + {AP_START}), %esp
    xorl %ebp, %ebp                         # frame-pointer chain ends here
    movl ${mpenter}, %eax                   # mpenter's high (KERNBASE) address:
    call *%eax                              #   an absolute call
    # mpenter never returns; if it did, stop here.
1:
    cli                                     # no interrupts can wake us
    hlt                                     # stop the CPU
    jmp 1b                                  # (an NMI could: stop again)

# A flat segment descriptor (Intel SDM vol. 3, 3.4.5): base 0, limit 4 GiB
# in 4 KiB units, present, ring 0, 32-bit, of the given type.
.macro FLAT_SEGMENT type
    .word 0xFFFF                            # limit bits 15..0
    .word 0                                 # base bits 15..0
    .byte 0                                 # base bits 23..16
    .byte 0x90 | \type                      # present, DPL 0, code/data, type
    .byte 0xCF                              # 4 KiB units, 32-bit, limit 19..16
    .byte 0                                 # base bits 31..24
.endm

# The temporary GDT: the kernel's layout (null, code, data), so the
# selectors above are the kernel's; mpenter loads the CPU's own GDT.
.balign 8
ap_gdt:
    .quad 0                                 # the null descriptor
    FLAT_SEGMENT 0xA                        # code: execute, read
    FLAT_SEGMENT 0x2                        # data: read, write
ap_gdtdesc:
    .word ap_gdtdesc - ap_gdt - 1           # limit: size of the table - 1
    .long ap_gdt - entryother_start + {AP_START}  # base: the copy's table

# Written by startothers in the copy: the top of the new CPU's stack.
.balign 4
.globl entryother_stack
entryother_stack:
    .long 0
.globl entryother_end
entryother_end:
