//! `kalloc=percpu`'s stealing policy: how many pages a CPU whose list is
//! empty takes, and from whom (the move itself is
//! [`FreeList::steal_from`](super::FreeList::steal_from)).

/// Most pages one steal moves: a bound on how long the thief holds the
/// victim's lock while it walks to the end of the batch.
pub const STEAL_MAX: usize = 1024;

/// How many pages a CPU whose list is empty takes from a victim holding
/// `victim_nfree`: half, rounded up (so a last single page can be taken),
/// at most [`STEAL_MAX`]. A batch rather than one page means a CPU that
/// allocates a lot steals once per batch, not on every call.
pub fn steal_batch(victim_nfree: usize) -> usize {
    victim_nfree.div_ceil(2).min(STEAL_MAX)
}

/// The list a CPU whose list `me` is empty steals from: of the `nlists`
/// lists, the other one with the most pages according to `nfree`, which
/// may be a stale snapshot (it is read without the locks); `None` when
/// every other list looks empty, that is, memory is exhausted.
pub fn pick_victim(me: usize, nlists: usize, nfree: impl Fn(usize) -> usize) -> Option<usize> {
    (0..nlists)
        .filter(|&i| i != me)
        .map(|i| (nfree(i), i))
        .filter(|&(n, _)| n > 0)
        .max_by_key(|&(n, i)| (n, core::cmp::Reverse(i)))
        .map(|(_, i)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_batch_is_half_rounded_up_and_capped() {
        assert_eq!(steal_batch(0), 0);
        assert_eq!(steal_batch(1), 1);
        assert_eq!(steal_batch(2), 1);
        assert_eq!(steal_batch(9), 5);
        assert_eq!(steal_batch(2 * STEAL_MAX), STEAL_MAX);
        assert_eq!(steal_batch(60_000), STEAL_MAX);
    }

    #[test]
    fn the_victim_is_the_richest_other_list() {
        let counts = [0, 5, 9, 9, 2];
        let nfree = |i: usize| counts[i];
        assert_eq!(pick_victim(0, 5, nfree), Some(2), "ties go to the lowest");
        assert_eq!(pick_victim(2, 5, nfree), Some(3), "never the thief itself");
        assert_eq!(pick_victim(0, 2, nfree), Some(1));
        assert_eq!(pick_victim(1, 2, nfree), None, "list 0 is empty");
        assert_eq!(pick_victim(0, 1, |_| 100), None, "one CPU has no victim");
    }
}
