//! The double-fault task's handler. A kernel stack overflow faults on the
//! guard page below the stack; the CPU cannot push the page fault's frame
//! there either, so it raises a double fault, which IDT vector 8 sends
//! through a task gate to this CPU's double-fault task (`src/arch/tss.rs`): a
//! task switch, which pushes nothing on the broken stack. The handler reads
//! the interrupted task's registers from its TSS and panics, naming a
//! stack overflow when the stack pointer or the faulting address lies at
//! the CPU's guard page.

use core::fmt;

use crate::memlayout::VAddr;
use crate::mmu::PGSIZE_U32;

/// What a double fault interrupted, as the task switch saved it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interrupted {
    pub eip: u32,
    pub esp: u32,
    pub ebp: u32,
}

/// A double fault, described for its panic message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DoubleFault {
    pub cpu: usize,
    pub task: Interrupted,
    /// The address of the last page fault (CR2).
    pub cr2: u32,
    /// The guard page of the stack in use: the running process's kernel
    /// stack's, or the CPU's.
    pub guard: VAddr,
    /// The process running on the CPU, if any: its pid and name.
    pub process: Option<(i32, [u8; NAME_LEN])>,
}

/// A process's name: its bytes up to the first NUL.
const NAME_LEN: usize = 16;

/// " of pid P (name)" / " in pid P (name)", or nothing without a process.
struct Blame<'a>(&'static str, &'a Option<(i32, [u8; NAME_LEN])>);

impl fmt::Display for Blame<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let Some((pid, name)) = self.1 else {
            return Ok(());
        };
        let len = name.iter().position(|&b| b == 0).unwrap_or(NAME_LEN);
        let name = core::str::from_utf8(&name[..len]).unwrap_or("?");
        write!(f, " {} pid {pid} ({name})", self.0)
    }
}

impl DoubleFault {
    /// Whether this is a stack overflow: the interrupted stack pointer or
    /// the faulting address lies in the guard page, or in the page just
    /// below it (a frame larger than the free space can step past the
    /// guard's first bytes), or the stack pointer sits at the stack's very
    /// bottom, just above the guard.
    pub fn is_stack_overflow(&self) -> bool {
        let lo = self.guard.0.saturating_sub(PGSIZE_U32);
        let hi = self.guard.0 + PGSIZE_U32;
        (lo..=hi).contains(&self.task.esp) || (lo..hi).contains(&self.cr2)
    }
}

impl fmt::Display for DoubleFault {
    /// The panic message.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let Self { cpu, task, .. } = self;
        if self.is_stack_overflow() {
            write!(
                f,
                "kernel stack overflow{} on cpu{cpu} (esp {:#010x}, guard page {:#010x})",
                Blame("of", &self.process),
                task.esp,
                self.guard.0
            )
        } else {
            write!(
                f,
                "double fault on cpu{cpu}{} at eip {:#010x}, esp {:#010x}",
                Blame("in", &self.process),
                task.eip,
                task.esp
            )
        }
    }
}

#[cfg(kernel)]
mod kernel {
    use core::sync::atomic::{AtomicU32, Ordering};

    use super::{DoubleFault, Interrupted};
    use crate::param::NCPU;

    // The report's process names are the process table's.
    const _: () = assert!(super::NAME_LEN == crate::proc::NAME_LEN);

    core::arch::global_asm!(
        ".section .text",
        ".globl double_fault_entry",
        "double_fault_entry:",
        // The task switch left the double-fault task's ESP at its stack's
        // top, less the error code it pushed (always 0 for #DF).
        "    addl $4, %esp",
        "    xorl %ebp, %ebp",
        "    call {handler}",
        "1:  cli",
        "    hlt",
        "    jmp 1b",
        handler = sym double_fault,
        options(att_syntax)
    );

    unsafe extern "C" {
        /// Where the double-fault task starts (its TSS's EIP).
        static double_fault_entry: u8;
    }

    /// The double-fault task's first instruction.
    pub fn entry_addr() -> u32 {
        &raw const double_fault_entry as u32
    }

    /// What each CPU's double fault interrupted (EIP, EBP; 0 = none), for
    /// the backtrace the panic prints.
    static TASK_EIP: [AtomicU32; NCPU] = [const { AtomicU32::new(0) }; NCPU];
    static TASK_EBP: [AtomicU32; NCPU] = [const { AtomicU32::new(0) }; NCPU];

    /// If CPU `cpu` runs its double-fault task: what that task interrupted
    /// (EIP, EBP).
    pub fn interrupted(cpu: usize) -> Option<(u32, u32)> {
        let eip = TASK_EIP[cpu].load(Ordering::Relaxed);
        (eip != 0).then(|| (eip, TASK_EBP[cpu].load(Ordering::Relaxed)))
    }

    /// The double-fault task's body: describe the fault and panic (the
    /// panic handler's backtrace continues into the interrupted task).
    extern "C" fn double_fault() -> ! {
        // The task runs with interrupts off (its EFLAGS) and %gs its CPU's.
        let cpu = crate::cpu::cpuid();
        // SAFETY: reading CR2 has no side effects.
        let cr2 = unsafe { x86::controlregs::cr2() } as u32;
        let Some(tss) = crate::arch::tss::interrupted(cpu, crate::mmu::TSS.bits()) else {
            panic!(
                "double fault on cpu{cpu}, from a task other than the CPU's own (cr2 {cr2:#010x})"
            );
        };
        let task = Interrupted {
            eip: tss.eip,
            esp: tss.esp,
            ebp: tss.ebp,
        };
        TASK_EBP[cpu].store(task.ebp, Ordering::Relaxed);
        TASK_EIP[cpu].store(task.eip, Ordering::Relaxed);
        let current = crate::proc::describe_current();
        let guard = current.map_or_else(|| crate::kstack::guard_page(cpu), |c| c.2);
        let process = current.map(|(pid, name, _)| (pid, name));
        panic!(
            "{}",
            DoubleFault {
                cpu,
                task,
                cr2,
                guard,
                process
            }
        );
    }
}

#[cfg(kernel)]
pub use kernel::{entry_addr, interrupted};

#[cfg(test)]
mod tests {
    use super::*;

    const GUARD: VAddr = VAddr(0x7FC0_2000);

    fn fault(esp: u32, cr2: u32) -> DoubleFault {
        DoubleFault {
            cpu: 1,
            task: Interrupted {
                eip: 0x8010_1234,
                esp,
                ebp: 0x7FC0_3010,
            },
            cr2,
            guard: GUARD,
            process: None,
        }
    }

    #[test]
    fn a_fault_in_a_process_names_it() {
        let mut name = [0u8; NAME_LEN];
        name[..2].copy_from_slice(b"sh");
        let in_sh = |esp, cr2| DoubleFault {
            process: Some((3, name)),
            ..fault(esp, cr2)
        };
        assert_eq!(
            in_sh(0x7FC0_3000, 0x7FC0_2FFC).to_string(),
            "kernel stack overflow of pid 3 (sh) on cpu1 (esp 0x7fc03000, guard page 0x7fc02000)"
        );
        assert_eq!(
            in_sh(0x7FC0_3800, 0x0040_0000).to_string(),
            "double fault on cpu1 in pid 3 (sh) at eip 0x80101234, esp 0x7fc03800"
        );
        let full = DoubleFault {
            process: Some((12, *b"sixteen-byte-nam")),
            ..fault(0x7FC0_3800, 0)
        };
        assert!(full.to_string().contains("in pid 12 (sixteen-byte-nam) at"));
    }

    #[test]
    fn a_fault_at_the_guard_page_is_a_stack_overflow() {
        let push_at_the_bottom = fault(0x7FC0_3000, 0x7FC0_2FFC);
        assert!(push_at_the_bottom.is_stack_overflow());
        assert_eq!(
            push_at_the_bottom.to_string(),
            "kernel stack overflow on cpu1 (esp 0x7fc03000, guard page 0x7fc02000)"
        );
        assert!(
            fault(0x7FC0_2F00, 0).is_stack_overflow(),
            "esp in the guard"
        );
        assert!(fault(0x7FC0_1800, 0).is_stack_overflow(), "just below it");
        assert!(
            fault(0x7FC0_3400, 0x7FC0_1004).is_stack_overflow(),
            "cr2 below"
        );
    }

    #[test]
    fn other_double_faults_say_where_they_happened() {
        let elsewhere = fault(0x7FC0_3800, 0x0040_0000);
        assert!(!elsewhere.is_stack_overflow());
        assert_eq!(
            elsewhere.to_string(),
            "double fault on cpu1 at eip 0x80101234, esp 0x7fc03800"
        );
        assert!(
            !fault(0x7FC0_0FFC, 0x7FC0_4000).is_stack_overflow(),
            "two pages below, above"
        );
    }
}
