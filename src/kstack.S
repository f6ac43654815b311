# switch_stack(top, next): move the running CPU onto the stack that ends at
# top and call next(), which never returns (src/kstack.rs). Used by mpenter
# to leave the kalloc'd page at P2V(pa) for its guarded alias.
#
# The new stack begins with a copy of the caller's frame record (its saved
# EBP and return address) and a frame for this call, so the frame-pointer
# chain reads: next -> switch_stack -> the caller -> the caller's caller.
.section .text
.globl switch_stack
switch_stack:
    movl 4(%esp), %ecx                      # top of the new stack
    movl 8(%esp), %eax                      # next
    movl (%esp), %edx                       # our return address (into the caller)
    movl %ecx, %esp                         # the new stack from here
    pushl 4(%ebp)                           # copy of the caller's frame record:
    pushl 0(%ebp)                           #   its return address, its saved EBP
    movl %esp, %ebp                         # the caller's frame, on this stack
    pushl %edx                              # a frame for this call: return
    pushl %ebp                              #   address and saved EBP, as a call
    movl %esp, %ebp                         #   and a prologue would make them
    call *%eax                              # next() (16-byte aligned here)
1:
    cli                                     # next never returns; if it did,
    hlt                                     #   stop here
    jmp 1b
