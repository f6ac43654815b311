# GDB set-up for the kernel under QEMU. In one terminal:
#     ./run-qemu.sh --gdb
# and in another, from this directory:
#     gdb -nx -x .gdbinit
# -x names this file; -nx keeps GDB from reading any other start-up file,
# among them this one as ./.gdbinit, which GDB's auto-load safe-path
# would decline with a long warning. (To have plain `gdb` read it, add
# "add-auto-load-safe-path /path/to/this/dir/.gdbinit" to ~/.gdbinit.)
# docs/debugging.md has recipes and the traps students hit.

set architecture i386
set pagination off
# The kernel with its symbols (run-qemu.sh builds it here).
file target/kernel/xv6
# QEMU's GDB port: run-qemu.sh and this file both use $GDBPORT, default 1234.
python gdb.execute("target remote localhost:" + __import__("os").environ.get("GDBPORT", "1234"))
echo Connected. QEMU is stopped at the BIOS reset vector (0xfff0).\n
echo Before paging is on (until _start sets CR0.PG) use hbreak, not break.\n
