//! System calls (xv6's `syscall.c`): the numbers (`syscall.h`) are in
//! `number`. Arguments are 32-bit words on the user stack at
//! `esp + 4 + 4n` (the word at `esp` is the return address of the library's
//! stub); every user address is checked against the process's size before
//! the kernel touches it (`fetchint`, `fetchstr`, `argint`, `argptr`,
//! `argstr`). The result goes back in `eax`.

pub mod number;

/// Whether `[addr, addr + len)` lies inside user memory of size `sz`.
pub fn in_user(sz: u32, addr: u32, len: u32) -> bool {
    addr.checked_add(len).is_some_and(|end| end <= sz)
}

/// Where argument `n` lies, given the user stack pointer.
pub fn arg_addr(esp: u32, n: u32) -> Option<u32> {
    esp.checked_add(4)?.checked_add(n.checked_mul(4)?)
}

#[cfg(kernel)]
pub use kernel::*;

#[cfg(kernel)]
mod kernel {
    use super::number::*;
    use super::{arg_addr, in_user};
    use crate::proc::myproc;

    /// The word at user address `addr` (xv6's `fetchint`).
    pub fn fetchint(addr: u32) -> Option<u32> {
        let p = myproc()?;
        if !in_user(p.sz, addr, 4) {
            return None;
        }
        // SAFETY: inside the process's memory, mapped in the directory in
        // CR3 (its own); unaligned reads are fine on x86.
        Some(unsafe { (addr as *const u32).read_unaligned() })
    }

    /// The NUL-terminated string at user address `addr`, without its NUL
    /// (xv6's `fetchstr`): a slice of user memory, valid while the
    /// process's directory is in CR3 and its memory unchanged.
    pub fn fetchstr(addr: u32) -> Option<&'static [u8]> {
        let p = myproc()?;
        if addr >= p.sz {
            return None;
        }
        let room = (p.sz - addr) as usize;
        // SAFETY: `[addr, sz)` is the process's memory, mapped in CR3.
        let bytes = unsafe { core::slice::from_raw_parts(addr as *const u8, room) };
        let len = bytes.iter().position(|&b| b == 0)?;
        Some(&bytes[..len])
    }

    /// Argument `n` as an integer (xv6's `argint`).
    pub fn argint(n: u32) -> Option<i32> {
        let esp = myproc()?.tf().esp;
        fetchint(arg_addr(esp, n)?).map(|v| v as i32)
    }

    /// Argument `n` as a user address of `size` bytes inside the process
    /// (xv6's `argptr`).
    pub fn argptr(n: u32, size: u32) -> Option<u32> {
        let addr = argint(n)? as u32;
        in_user(myproc()?.sz, addr, size).then_some(addr)
    }

    /// Argument `n` as a string (xv6's `argstr`).
    pub fn argstr(n: u32) -> Option<&'static [u8]> {
        fetchstr(argint(n)? as u32)
    }

    /// Run the system call whose number is in the process's `eax`, and put
    /// its result there (xv6's `syscall`); an unknown number gets -1 and a
    /// console line.
    pub fn syscall() {
        use crate::{sysfile as f, sysproc as p};
        let proc = myproc().expect("a system call comes from a process");
        let num = proc.tf().eax;
        let call: Option<fn() -> i32> = match num {
            SYS_FORK => Some(p::sys_fork),
            SYS_EXIT => Some(p::sys_exit),
            SYS_WAIT => Some(p::sys_wait),
            SYS_PIPE => Some(f::sys_pipe),
            SYS_READ => Some(f::sys_read),
            SYS_KILL => Some(p::sys_kill),
            SYS_EXEC => Some(f::sys_exec),
            SYS_FSTAT => Some(f::sys_fstat),
            SYS_CHDIR => Some(f::sys_chdir),
            SYS_DUP => Some(f::sys_dup),
            SYS_GETPID => Some(p::sys_getpid),
            SYS_SBRK => Some(p::sys_sbrk),
            SYS_SLEEP => Some(p::sys_sleep),
            SYS_UPTIME => Some(p::sys_uptime),
            SYS_OPEN => Some(f::sys_open),
            SYS_WRITE => Some(f::sys_write),
            SYS_MKNOD => Some(f::sys_mknod),
            SYS_UNLINK => Some(f::sys_unlink),
            SYS_LINK => Some(f::sys_link),
            SYS_MKDIR => Some(f::sys_mkdir),
            SYS_CLOSE => Some(f::sys_close),
            SYS_FREEPAGES => Some(p::sys_freepages),
            _ => None,
        };
        let result = match call {
            Some(call) => call(),
            None => {
                crate::println!("{} {}: unknown sys call {}", proc.pid, proc.name(), num);
                -1
            }
        };
        myproc().expect("still the caller").tf().eax = result as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ranges_are_checked_against_the_size() {
        assert!(in_user(0x3000, 0x1000, 4));
        assert!(in_user(0x3000, 0x2ffc, 4));
        assert!(!in_user(0x3000, 0x2ffd, 4), "runs past sz");
        assert!(!in_user(0x3000, 0xffff_fffe, 4), "wraps past 4 GiB");
        assert!(in_user(0x3000, 0x3000, 0), "an empty range at the end");
        assert!(!in_user(0x3000, 0x3001, 0));
    }

    #[test]
    fn arguments_lie_above_the_return_address() {
        assert_eq!(arg_addr(0x1000, 0), Some(0x1004));
        assert_eq!(arg_addr(0x1000, 2), Some(0x100c));
        assert_eq!(arg_addr(0xffff_fffc, 0), None);
    }
}
