//! What the memory path costs (the `bench` command and boot option).
//!
//! Figures are TSC differences. Under QEMU's `-icount shift=0` on one CPU
//! (`run-qemu.sh --bench`) the TSC advances by one per guest instruction,
//! so they are instruction counts, the same on every run whatever else the
//! host is doing; that is how the C xv6's reference figures were taken.
//! Anywhere else they are the (emulated) clock's ticks.

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::debug::hoard::{drain_to, refill};
use crate::kalloc::{self, Freed, kalloc, kfree};
use crate::protocol::{BENCH_FILL_PAIRS as FILL_PAIRS, BENCH_FILL_PERCENT as FILL_PERCENT};
use crate::{print, println, vm};

/// Pairs of kalloc + kfree to average over.
pub const PAIRS: u32 = 100_000;

/// The boot stages `main` times, in order.
#[derive(Clone, Copy)]
pub enum Stage {
    Kinit1,
    Kvmalloc,
    Kinit2,
}

const STAGES: [(&str, Stage); 3] = [
    ("kinit1", Stage::Kinit1),
    ("kvmalloc", Stage::Kvmalloc),
    ("kinit2", Stage::Kinit2),
];

/// Each stage's TSC ticks and the pages it freed or took.
static TICKS: [AtomicU64; 3] = [const { AtomicU64::new(0) }; 3];
static PAGES: [AtomicUsize; 3] = [const { AtomicUsize::new(0) }; 3];

/// The time-stamp counter.
pub fn now() -> u64 {
    // SAFETY: RDTSC only reads a counter (CR4.TSD is clear: the kernel
    // runs in ring 0 anyway).
    unsafe { x86::time::rdtsc() }
}

/// What a timed stage returns: it says how many pages it handled.
pub trait Handled {
    /// The pages the stage freed or took.
    fn pages(&self) -> usize;
}

impl Handled for Freed {
    fn pages(&self) -> usize {
        self.pages
    }
}

impl Handled for vm::Kvm {
    fn pages(&self) -> usize {
        self.pages
    }
}

impl Stage {
    /// Run this boot stage (`f`), noting its TSC ticks and the pages it
    /// handled for the `bench` table; returns what it returned.
    pub fn timed<R: Handled>(self, f: impl FnOnce() -> R) -> R {
        let start = now();
        let done = f();
        TICKS[self as usize].store(now() - start, Ordering::Relaxed);
        PAGES[self as usize].store(done.pages(), Ordering::Relaxed);
        done
    }
}

/// TSC ticks of `pairs` kalloc + kfree pairs (after one pair to warm up),
/// on the running CPU.
fn pairs_cost(pairs: u32) -> u64 {
    kfree(kalloc().expect("bench: a free page"));
    let start = now();
    for _ in 0..pairs {
        kfree(kalloc().expect("bench: a free page"));
    }
    now() - start
}

/// Hold `percent` of the free pages, then time [`FILL_PAIRS`] pairs;
/// returns the pages held and the ticks per pair. Gives the pages back.
fn pair_at_fill(percent: usize) -> (usize, Fixed) {
    let free = kalloc::nfree();
    let held = free * percent / 100;
    let hoard = drain_to(free - held);
    let ticks = pairs_cost(FILL_PAIRS);
    refill(hoard);
    (held, Fixed(ticks as f64 / f64::from(FILL_PAIRS)))
}

/// Hundredths, printed as `x.yy` (the kernel has no float formatting
/// worth trusting to be small).
struct Fixed(f64);

impl core::fmt::Display for Fixed {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        let h = (self.0 * 100.0 + 0.5) as u64;
        // A width (`{:>10}`) applies to the whole figure, ".yy" included.
        let w = f.width().unwrap_or(0).saturating_sub(3);
        write!(f, "{:>w$}.{:02}", h / 100, h % 100)
    }
}

/// Print the table and the JSON line.
pub fn bench() {
    let junk = cfg!(feature = "junk");
    let mode = kalloc::mode().name();
    println!(
        "bench: {mode} mode, junk fill {}",
        if junk { "on" } else { "off" }
    );
    println!(
        "bench: {:10} {:>12} {:>7} {:>10}",
        "stage", "ticks", "pages", "per page"
    );
    let per_page = |stage: Stage| {
        let t = TICKS[stage as usize].load(Ordering::Relaxed);
        let p = PAGES[stage as usize].load(Ordering::Relaxed);
        (t, p, Fixed(t as f64 / p.max(1) as f64))
    };
    for (name, stage) in STAGES {
        let (t, p, each) = per_page(stage);
        println!("bench: {name:10} {t:>12} {p:>7} {each:>10}");
    }
    let ticks = pairs_cost(PAIRS);
    let pair = Fixed(ticks as f64 / f64::from(PAIRS));
    println!(
        "bench: {:10} {ticks:>12} {PAIRS:>7} {pair:>10}   (per kalloc + kfree pair)",
        "pair"
    );
    let fills = FILL_PERCENT.map(pair_at_fill);
    for (percent, (held, pair)) in FILL_PERCENT.iter().zip(&fills) {
        println!(
            "bench: {:10} {held:>12} {FILL_PAIRS:>7} {pair:>10}   (per pair with {percent}% of the free pages held)",
            format_args!("fill={percent}%")
        );
    }
    print!(
        "bench-json: {{\"mode\":\"{mode}\",\"junk\":{junk},\"kinit1_per_page\":{},\"kvmalloc_per_page\":{},\"kinit2_per_page\":{},\"kinit2_pages\":{},\"pair\":{pair},\"pairs\":{PAIRS},\"fill_pairs\":{FILL_PAIRS},\"fill\":[",
        per_page(Stage::Kinit1).2,
        per_page(Stage::Kvmalloc).2,
        per_page(Stage::Kinit2).2,
        per_page(Stage::Kinit2).1,
    );
    for (i, (percent, (held, pair))) in FILL_PERCENT.iter().zip(&fills).enumerate() {
        let comma = if i == 0 { "" } else { "," };
        print!("{comma}{{\"percent\":{percent},\"held\":{held},\"pair\":{pair}}}");
    }
    println!("]}}");
}
