# swtch(old, new): save the running kernel thread's callee-saved registers
# on its own stack as a Context, store where that Context is in *old, then
# continue the thread whose Context is at new (src/proc.rs). The caller-
# saved registers (eax, ecx, edx) the C calling convention lets a call
# clobber anyway; eip is the return address the call pushed.
.section .text
.globl swtch
swtch:
    movl 4(%esp), %eax          # eax = old: where to record our Context
    movl 8(%esp), %edx          # edx = new: the Context to resume
    pushl %ebp                  # build our Context below the return address:
    pushl %ebx                  #   ebp, ebx, esi, edi (eip is already there,
    pushl %esi                  #   pushed by our caller's call)
    pushl %edi
    movl %esp, (%eax)           # *old = our Context's address
    movl %edx, %esp             # from here on the new thread's stack
    popl %edi                   # its callee-saved registers, in the
    popl %esi                   #   reverse order of the pushes above
    popl %ebx
    popl %ebp
    ret                         # pop its eip: return into the new thread
