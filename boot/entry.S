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

# ---------------------------------------------------------------------------
.section .text.entry, "ax"
.globl _start
_start:
    # Only a Multiboot2 loader gives EBX a meaning. With any other magic skip
    # the copy; main prints the magic it got and halts.
    cmpl ${MB2_BOOTLOADER_MAGIC}, %eax      # booted by a Multiboot2 loader?
    jne 1f                                  # no: leave EBX alone

    # Copy the boot information into the kernel's own buffer now, while
    # paging is off and every physical address can be read: GRUB may have put
    # it above 4 MiB (which entrypgdir does not map) or inside end..4 MiB
    # (which kinit1 frees). The copy lives in .bss and is never freed.
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

    # Point the MMU at entrypgdir (CR3 takes a physical address).
    movl $({entrypgdir} - {KERNBASE}), %ecx # physical address of entrypgdir
    movl %ecx, %cr3                         # page-directory base register

    # Turn on paging, and write protection for the kernel too (CR0.WP).
    movl %cr0, %ecx                         # read CR0
    orl ${CR0_BOOT}, %ecx                   # set CR0.PG and CR0.WP
    movl %ecx, %cr0                         # paging is on from here

    # EIP is still low (0x001xxxxx); entrypgdir maps VA 0..4 MiB to PA
    # 0..4 MiB as well, so the next instructions still run.
    movl $({boot_stack} + {KSTACKSIZE}), %esp   # top of the boot stack (high VA)
    xorl %ebp, %ebp                         # frame-pointer chain ends here
    pushl %ebx                              # main's 2nd argument: boot info PA
    pushl %eax                              # main's 1st argument: loader magic
    movl $main, %ecx                        # main's high (KERNBASE) address:
    call *%ecx                              #   an absolute jump leaves the low half
    # main never returns; if it did, stop here rather than run off.
2:
    cli                                     # no interrupts can wake us
    hlt                                     # stop the CPU
    jmp 2b                                  # (an NMI could: stop again)
