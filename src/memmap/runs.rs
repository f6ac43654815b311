//! The usable pages below 4 GiB as a few runs of addresses, worked out once
//! from the map and the reservations, so that `kfree` and `freerange` ask a
//! handful of 32-bit comparisons instead of walking the map for every page.

use crate::mmu::PGSIZE;

/// The first address past 32 bits: no page at or above it is ever used.
const FOUR_GIB: u64 = 1 << 32;

/// Most boundaries: four for each range (where pages start to overlap it,
/// start to lie inside it, stop lying inside it, stop overlapping it), and
/// the two ends of the address space.
pub const MAX_POINTS: usize = 4 * (super::MAX_REGIONS + super::MAX_RESERVED) + 2;

/// Sorted, disjoint, non-adjacent page-aligned runs `[start, end)`.
#[derive(Clone, Copy)]
pub struct Runs {
    runs: [(u32, u32); MAX_POINTS],
    n: usize,
    /// The longest run, asked first (most pages are in it).
    longest: usize,
}

/// Page boundaries at which a page's status can change for a range
/// `[start, end)`: a page `p` overlaps it iff `p` is in
/// `[rounddown(start), roundup(end))`, and lies inside it iff `p` is in
/// `[roundup(start), rounddown(end))`.
pub fn boundaries(start: u64, end: u64) -> [u64; 4] {
    let pg = PGSIZE as u64;
    let down = |a: u64| a / pg * pg;
    let up = |a: u64| a.div_ceil(pg) * pg;
    [down(start), up(start), down(end), up(end)].map(|a| a.min(FOUR_GIB))
}

impl Runs {
    /// The runs of pages `usable` accepts, given every boundary at which
    /// its answer can change (from [`boundaries`]; at most [`MAX_POINTS`]
    /// with the two ends). `usable` is asked once per stretch between
    /// boundaries, about the stretch's first page.
    pub fn build(points: impl IntoIterator<Item = u64>, usable: impl Fn(u64) -> bool) -> Runs {
        let mut sorted = [0u64; MAX_POINTS];
        let mut n = 0;
        for p in points.into_iter().chain([0, FOUR_GIB]) {
            assert!(n < MAX_POINTS, "memmap: more than {MAX_POINTS} boundaries");
            sorted[n] = p;
            n += 1;
        }
        let sorted = &mut sorted[..n];
        sorted.sort_unstable();
        let mut runs = Runs {
            runs: [(0, 0); MAX_POINTS],
            n: 0,
            longest: 0,
        };
        for w in sorted.windows(2) {
            let (a, b) = (w[0], w[1]);
            if a == b || !usable(a) {
                continue;
            }
            // Both below 4 GiB, or `b` exactly 4 GiB: stored as 0xFFFFF000's end.
            let (a, b) = (a as u32, (b - 1) as u32);
            match runs.n.checked_sub(1).map(|i| &mut runs.runs[i]) {
                Some(last) if last.1.wrapping_add(1) == a => last.1 = b,
                _ => {
                    runs.runs[runs.n] = (a, b);
                    runs.n += 1;
                }
            }
        }
        runs.longest = (0..runs.n)
            .max_by_key(|&i| runs.runs[i].1 - runs.runs[i].0)
            .unwrap_or(0);
        runs
    }

    /// Whether the page at `pa` (page-aligned) is usable.
    pub fn contains(&self, pa: u32) -> bool {
        let inside = |&(a, last): &(u32, u32)| a <= pa && pa <= last;
        self.n > 0 && inside(&self.runs[self.longest]) || self.runs[..self.n].iter().any(inside)
    }

    /// The usable pages of `[start, end)` (page-aligned), as runs
    /// `(first page, end)`, lowest first.
    pub fn within(&self, start: u32, end: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.runs[..self.n].iter().filter_map(move |&(a, last)| {
            let lo = a.max(start);
            // `last` is the run's last byte; `end` is exclusive.
            let hi = u64::from(last).saturating_add(1).min(u64::from(end));
            (u64::from(lo) < hi).then_some((lo, hi as u32))
        })
    }
}
