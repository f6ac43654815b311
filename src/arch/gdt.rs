//! The kernel's own global descriptor tables (xv6's `seginit`): flat 4 GiB
//! code and data segments. GRUB leaves a GDT of its own that the Multiboot2
//! spec says not to rely on, so the kernel loads this one before anything
//! can fault; the other CPUs start on the trampoline's temporary GDT and
//! load theirs in `mpenter`. Each CPU has a table of its own, as in xv6,
//! where it will also hold that CPU's task-state segment once there are
//! user processes.
//!
//! The table also holds the CPU's own segment (`SEG_KCPU`, as in the 2011
//! xv6): its base is the CPU's entry in the CPU table, and `%gs` holds it,
//! so that `cpuid()` is a single load from `%gs:0`; and the CPU's two
//! task-state segments (`src/arch/tss.rs`): the one `seginit` loads into the
//! task register, and the double-fault task's.

use spin::Once;
use x86::Ring;
use x86::dtables::{DescriptorTablePointer, lgdt};
use x86::segmentation::{
    BuildDescriptor, CodeSegmentType, DataSegmentType, Descriptor, DescriptorBuilder,
    GateDescriptorBuilder, SegmentDescriptorBuilder, load_ds, load_es, load_fs, load_gs, load_ss,
};

use crate::mmu::{
    KCODE, KCPU, KDATA, NSEGS, SEG_DFTSS, SEG_KCODE, SEG_KCPU, SEG_KDATA, SEG_TSS, SEG_UCODE,
    SEG_UDATA, TSS,
};
use crate::param::NCPU;

/// Largest segment limit, counted in 4 KiB units: 4 GiB.
const LIMIT_4GIB: u32 = 0xF_FFFF;

static GDTS: [Once<[Descriptor; NSEGS]>; NCPU] = [const { Once::new() }; NCPU];

fn flat(b: DescriptorBuilder) -> Descriptor {
    flat_at(b, Ring::Ring0)
}

/// A flat 4 GiB segment for privilege level `dpl`.
fn flat_at(b: DescriptorBuilder, dpl: Ring) -> Descriptor {
    b.present().dpl(dpl).limit_granularity_4kb().db().finish()
}

/// Load CPU `cpu`'s GDT and reload every segment register from it; `%gs`
/// then reaches the CPU's own entry, and the task register the CPU's TSS.
/// Each CPU calls it first thing (main, mpenter), before anything asks
/// `cpuid()`: until then `%gs` is the boot loader's or the trampoline's.
pub fn seginit(cpu: usize) {
    // The CPU writes the busy bit of its TSS descriptors (at `ltr` and at a
    // double fault's task switch): the table lives in writable memory.
    let gdt = GDTS[cpu].call_once(|| {
        let mut gdt = [Descriptor::NULL; NSEGS];
        gdt[SEG_KCODE as usize] = flat(DescriptorBuilder::code_descriptor(
            0,
            LIMIT_4GIB,
            CodeSegmentType::ExecuteRead,
        ));
        gdt[SEG_KDATA as usize] = flat(DescriptorBuilder::data_descriptor(
            0,
            LIMIT_4GIB,
            DataSegmentType::ReadWrite,
        ));
        // User code and data: the same flat 4 GiB, for ring 3 (paging's
        // user bit, not the segments, keeps processes out of the kernel).
        gdt[SEG_UCODE as usize] = flat_at(
            DescriptorBuilder::code_descriptor(0, LIMIT_4GIB, CodeSegmentType::ExecuteRead),
            Ring::Ring3,
        );
        gdt[SEG_UDATA as usize] = flat_at(
            DescriptorBuilder::data_descriptor(0, LIMIT_4GIB, DataSegmentType::ReadWrite),
            Ring::Ring3,
        );
        let (base, size) = crate::cpu::segment(cpu);
        // Byte-granular: the limit is the segment's last byte.
        gdt[SEG_KCPU as usize] =
            DescriptorBuilder::data_descriptor(base, size - 1, DataSegmentType::ReadWrite)
                .present()
                .dpl(Ring::Ring0)
                .db()
                .finish();
        crate::arch::tss::init(cpu, crate::arch::doublefault::entry_addr());
        let [running, double_fault] = crate::arch::tss::segments(cpu);
        for (slot, (base, limit)) in [(SEG_TSS, running), (SEG_DFTSS, double_fault)] {
            gdt[slot as usize] = <DescriptorBuilder as GateDescriptorBuilder<u32>>::tss_descriptor(
                base.into(),
                limit.into(),
                true,
            )
            .present()
            .dpl(Ring::Ring0)
            .finish();
        }
        gdt
    });
    // SAFETY: the table is 'static and holds flat segments equal to the ones
    // in use, so reloading the registers changes no address the kernel uses;
    // %gs, which the kernel addresses only through `cpuid`, gets the CPU's
    // own segment. `ltr` runs once per CPU (the table is built once), on
    // an available TSS that `tss::init` filled in.
    unsafe {
        lgdt(&DescriptorTablePointer::new(gdt));
        x86::bits32::segmentation::load_cs(KCODE);
        load_ds(KDATA);
        load_es(KDATA);
        load_ss(KDATA);
        load_fs(KDATA);
        load_gs(KCPU);
        x86::task::load_tr(TSS);
    }
}
