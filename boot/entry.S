# boot/entry.S: the first instructions of the kernel (xv6's entry.S).
#
# GRUB's `multiboot2` command loads the kernel's ELF segments at their
# physical addresses (0x100000 up) and jumps to _start with paging off,
# interrupts off, EAX = the Multiboot2 magic and EBX = the physical address of
# the boot information. The kernel is linked at KERNLINK (0x80100000), so until
# paging is on every absolute address below is written `symbol - KERNBASE`.
#
# The names in braces are constants and symbols handed in by src/entry.rs,
# so this file has no numbers of its own.

# ---------------------------------------------------------------------------
# Multiboot2 header (Multiboot2 spec, section 3.1). linker.ld puts .multiboot
# first in the file: the header must lie in the first 32 KiB, 8-byte aligned.
.section .multiboot, "a"
.balign 8
mb2_header:
    .long {MB2_HEADER_MAGIC}                # "this is a Multiboot2 kernel"
    .long {MB2_ARCH_I386}                   # 32-bit protected-mode entry
    .long mb2_header_end - mb2_header       # header length
    # checksum: the four fields must add up to 0 (mod 2^32)
    .long 0x100000000 - ({MB2_HEADER_MAGIC} + {MB2_ARCH_I386} + (mb2_header_end - mb2_header))
    .short 0                                # end tag: type 0,
    .short 0                                #   flags 0,
    .long 8                                 #   size 8
mb2_header_end:

# A Multiboot (version 1) header too, with no requests. It is here only so
# that booting with GRUB's old `multiboot` command reaches _start, where main
# says which command to use, instead of GRUB refusing with a bare error.
.balign 4
    .long {MB1_HEADER_MAGIC}                # Multiboot 1 magic
    .long 0                                 # flags: nothing asked of the loader
    .long 0x100000000 - {MB1_HEADER_MAGIC}  # checksum: magic + flags + this = 0

# BOOT_MARK m: say on the progress port that the boot got this far (a
# reset before main has printed anything is then still placed; the grader
# reads the port). Keeps EAX (the loader's magic) in EDX meanwhile.
.macro BOOT_MARK mark
    movl %eax, %edx                         # keep EAX
    movb $\mark, %al
    outb %al, ${BOOT_MARK_PORT}             # one byte: the stage's mark
    movl %edx, %eax
.endm

# LAB_TODO lab, exercise, __LINE__: the stub of a lab exercise written in
# assembly, for code that runs before paging is on (lab_todo!'s twin,
# src/lab.rs). It says which exercise is missing on COM1, as the line
# protocol::LabTodo reads back, and ends QEMU with EXIT_LAB_TODO. build.rs
# turns the word __LINE__ into the number of the line it is on.
.macro LAB_TODO lab, exercise, line
    movl $(9f - {KERNBASE}), %esi           # the stub's line, physical address
    jmp lab_todo_early                      # say it and stop; never returns
    .pushsection .rodata
9:  .asciz "\r\nlab \lab: exercise \exercise is not implemented yet (boot/entry.S:\line)\r\n"
    .popsection
.endm

# ---------------------------------------------------------------------------
.section .text.entry, "ax"
.globl _start
_start:
    BOOT_MARK {MARK_START}
    # A stack for the CPU check's calls: the boot stack, by its physical
    # address while paging is off.
    movl $({boot_stack} + {BOOT_STACK_TOP} - {KERNBASE}), %esp
    call cpu_check                          # returns only if the CPU will do
    BOOT_MARK {MARK_CPU_OK}
    # Only a Multiboot2 loader gives EBX a meaning. With any other magic skip
    # the copy; main prints the magic it got and halts.
    cmpl ${MB2_BOOTLOADER_MAGIC}, %eax      # booted by a Multiboot2 loader?
    jne 1f                                  # no: leave EBX alone

    # Copy the boot information into the kernel's own buffer now, while
    # paging is off and every physical address can be read: GRUB puts it
    # above 4 MiB, which entrypgdir does not map. The copy lives in .bss.
    movl (%ebx), %ecx                       # first field: total size in bytes
    cmpl ${BOOTINFO_MAX}, %ecx              # does it fit the buffer?
    ja 1f                                   # no: main panics, naming BOOTINFO_MAX
    movl %ebx, %esi                         # source: GRUB's block (physical)
    movl $({bootinfo_copy} - {KERNBASE}), %edi  # destination: buffer (physical)
    cld                                     # copy upwards
    rep movsb                               # ECX bytes from ESI to EDI
1:
    # Turn on 4 MiB pages: entrypgdir maps with two PSE entries.
    movl %cr4, %ecx                         # read CR4
    orl ${CR4_BOOT}, %ecx                   # set CR4.PSE
    movl %ecx, %cr4                         # write it back

    # entrypgdir (xv6's entrypgdir, in main.c there) is all zeros in .bss;
    # write its two entries, each a 4 MiB page at PA 0 (ENTRY_PDE): entry 0
    # for VA 0..4 MiB, where this code runs until the jump to main, and
    # entry KERNBASE >> 22 for KERNBASE..KERNBASE+4 MiB, where the kernel
    # is linked. A PDE is 4 bytes; the writes go to physical addresses.
    # (Here ENTRY_PDE is {ENTRY_PDE}: P, W, PS; KERNBASE >> 22 is {KERNBASE_PDX}.)
    # LAB boot/entrypgdir BEGIN
    movl ${ENTRY_PDE}, ({entrypgdir} - {KERNBASE})                     # entry 0
    movl ${ENTRY_PDE}, ({entrypgdir} - {KERNBASE} + 4 * {KERNBASE_PDX}) # entry KERNBASE >> 22
    # LAB boot/entrypgdir END

    # Point the MMU at entrypgdir (CR3 takes a physical address).
    movl $({entrypgdir} - {KERNBASE}), %ecx # physical address of entrypgdir
    movl %ecx, %cr3                         # page-directory base register

    # Turn on paging, and write protection for the kernel too (CR0.WP).
    BOOT_MARK {MARK_PAGING_NEXT}
    movl %cr0, %ecx                         # read CR0
    orl ${CR0_BOOT}, %ecx                   # set CR0.PG and CR0.WP
    movl %ecx, %cr0                         # paging is on from here

    # EIP is still low (0x001xxxxx); entrypgdir maps VA 0..4 MiB to PA
    # 0..4 MiB as well, so the next instructions still run.
    BOOT_MARK {MARK_PAGING_ON}
    movl $({boot_stack} + {BOOT_STACK_TOP}), %esp   # top of the boot stack (high VA)
    xorl %ebp, %ebp                         # frame-pointer chain ends here
    pushl %ebx                              # main's 2nd argument: boot info PA
    pushl %eax                              # main's 1st argument: loader magic
    movl $main, %ecx                        # main's high (KERNBASE) address:
    call *%ecx                              #   an absolute jump leaves the low half
    # main never returns; if it did, stop here rather than run off.
halt_forever:
    cli                                     # no interrupts can wake us
    hlt                                     # stop the CPU
    jmp halt_forever                        # (an NMI could: stop again)

# ---------------------------------------------------------------------------
# lab_todo_early: print the line at physical ESI on COM1, then end QEMU
# with EXIT_LAB_TODO (elsewhere, halt). Needs a stack, as cpu_check does.
lab_todo_early:
    xorl %edi, %edi                         # the UART is not set up yet:
    call cpu_missing                        #   set it up and print the line
    movb ${EXIT_LAB_TODO}, %al
    movw ${QEMU_EXIT_PORT}, %dx
    outb %al, %dx                           # QEMU's isa-debug-exit ends here
    jmp halt_forever                        # anywhere else: stop

# ktest=lab_todo_asm (src/debug/ktest.rs) turns paging off and jumps here, so
# that the test reaches the stub as a boot-path exercise would.
.globl lab_todo_selftest
lab_todo_selftest:
    LAB_TODO ktest, lab_todo_asm, __LINE__

# ---------------------------------------------------------------------------
# cpu_check: does this CPU have what the kernel uses (CPUID, then the
# features in cpufeature::NEEDED, whose table entry.rs hands in)? Return if so. If not,
# print one line for each feature it lacks on COM1 and end QEMU with
# EXIT_NO_CPU_FEATURE (elsewhere, halt): without PSE the CPU would reset the
# instant paging turns on, without an APIC the kernel would hang silently.
# Keeps EAX and EBX (the loader's magic and boot information).
cpu_check:
    pushl %eax                              # keep the loader's magic
    pushl %ebx                              #   and its boot information
    xorl %edi, %edi                         # EDI = features missing so far
    # CPUID exists if software can flip EFLAGS.ID.
    pushfl                                  # EFLAGS ...
    popl %eax                               #   ... into EAX
    movl %eax, %ecx                         # keep the original
    xorl ${EFLAGS_ID}, %eax                 # flip ID
    pushl %eax
    popfl                                   # try to write it
    pushfl
    popl %eax                               # read it back
    pushl %ecx
    popfl                                   # put the original back
    xorl %ecx, %eax                         # which bits changed?
    testl ${EFLAGS_ID}, %eax
    jz 1f                                   # ID did not flip: no CPUID
    movl ${CPUID_MAX_LEAF}, %eax
    cpuid                                   # EAX = highest leaf
    cmpl ${CPUID_FEATURES}, %eax
    jb 1f                                   # no feature leaf: as good as none
    movl ${CPUID_FEATURES}, %eax
    cpuid                                   # EDX = the feature bits
    movl %edx, %ebx                         # keep them (cpu_missing uses EDX)
    movl $({cpu_needs} - {KERNBASE}), %ebp  # EBP walks cpufeature's table
2:  movl (%ebp), %ecx                       # the next feature's bit
    testl %ecx, %ecx
    jz 3f                                   # 0: the end of the table
    testl %ecx, %ebx
    jnz 4f                                  # the CPU has it
    leal {NEED_LINE}(%ebp), %esi            # it has not: its line
    call cpu_missing                        #   said on COM1
4:  addl ${NEED_SIZE}, %ebp                 # next entry
    jmp 2b
3:  testl %edi, %edi
    jnz cpu_fail                            # something was missing
    popl %ebx                               # the loader's registers back
    popl %eax
    ret
1:  movl $({no_cpuid} - {KERNBASE}), %esi   # no CPUID at all
    call cpu_missing
cpu_fail:
    movb ${EXIT_NO_CPU_FEATURE}, %al
    movw ${QEMU_EXIT_PORT}, %dx
    outb %al, %dx                           # QEMU's isa-debug-exit ends here
    jmp halt_forever                        # anywhere else: stop

# cpu_missing: print the NUL-terminated line at physical ESI on COM1 and
# count it in EDI; the first one sets the UART up (8N1, as uart.rs does).
cpu_missing:
    testl %edi, %edi
    jnz 2f                                  # the UART is set up already
    movw $({COM1} + {LCR}), %dx
    movb ${LCR_DLAB}, %al
    outb %al, %dx                           # LCR: reach the divisor latch
    movw $({COM1} + {DLL}), %dx
    movb $({DIVISOR} & 0xff), %al
    outb %al, %dx                           # divisor, low byte
    movw $({COM1} + {DLM}), %dx
    movb $({DIVISOR} >> 8), %al
    outb %al, %dx                           # divisor, high byte
    movw $({COM1} + {LCR}), %dx
    movb ${LCR_8N1}, %al
    outb %al, %dx                           # LCR: 8N1, latch closed
2:  incl %edi                               # one more feature missing
3:  movb (%esi), %cl                        # next byte of the line
    testb %cl, %cl
    jz 5f                                   # NUL: the line is out
    movw $({COM1} + {LSR}), %dx
4:  inb %dx, %al                            # wait for the transmitter
    testb $(1 << {LSR_THR_EMPTY}), %al
    jz 4b
    movw $({COM1} + {THR}), %dx
    movb %cl, %al
    outb %al, %dx                           # send the byte
    incl %esi
    jmp 3b
5:  ret
