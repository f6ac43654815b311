//! The lock order: every spin lock's class and rank, in one table, and the
//! check that a CPU takes its locks in rising rank (Linux's lockdep idea,
//! small).
//!
//! Two CPUs deadlock when each holds a lock the other wants next. That
//! cannot happen if every CPU takes its locks in one global order, so each
//! lock gets a *rank* (its class's place in [`TABLE`]) and a CPU may take a
//! lock only while every lock it already holds has a lower rank. A lock of
//! lower or equal rank taken while a higher one is held panics at once,
//! naming both locks and the rule, on the first run that takes them in the
//! wrong order: no second CPU, no unlucky timing needed.
//!
//! The check must be cheap, since every `kalloc` and `kfree` takes a lock.
//! Each CPU keeps one word, a bit for each rank it holds (`Cpu::locks`,
//! reached through `%gs` as `cpuid` is). Taking a lock of rank r is
//! allowed when no bit at r or above was set, that is when the word was
//! below `1 << r`: a `mov` of the word and an `or` of the bit, then one
//! compare. Releasing clears the bit (one `and`), in any order. Ranks are therefore below 32 ([`RANKS`]); a CPU never holds
//! two locks of one rank (that would be a violation), so a bit stands for
//! one held lock. A `try_lock` with a bound (`Spinlock::try_lock_within`,
//! the panic's console) cannot deadlock, so it is not checked, only
//! recorded.
//!
//! Adding a lock: one line in [`TABLE`]'s `order!` below (a name, a rank,
//! what it guards and what it nests in), then `Spinlock::new(lockorder::X,
//! data)`. Locks of one class (every pipe's, say) share a rank and so are
//! never held two at a time; a class whose locks are held together takes
//! a rank per lock, as the per-CPU free lists do ([`KMEM_CPU`]: the lowest
//! CPU number first).

use core::fmt;

/// How many ranks there are: each is a bit of a CPU's `locks` word.
pub const RANKS: u8 = u32::BITS as u8;

/// A lock's place in the order: lower ranks are taken first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rank(u8);

impl Rank {
    /// Rank `r`; panics (at compile time in a `const`) if it has no bit.
    pub const fn new(r: u8) -> Rank {
        assert!(r < RANKS, "lockorder: a rank is below RANKS (32)");
        Rank(r)
    }

    pub const fn get(self) -> u8 {
        self.0
    }

    /// This rank's bit in a CPU's `locks` word.
    pub const fn bit(self) -> u32 {
        1 << self.0
    }
}

impl fmt::Display for Rank {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A class of locks: its name and its rank, or `count` ranks from `rank`
/// on for a class whose locks are held together (lock `i` has rank
/// `rank + i` and is named `name.i`).
#[derive(Clone, Copy, Debug)]
pub struct Class {
    pub name: &'static str,
    pub rank: Rank,
    pub count: u8,
    /// What the lock guards and why it sits where it does.
    pub why: &'static str,
}

impl Class {
    const fn new(name: &'static str, rank: u8, count: usize, why: &'static str) -> Class {
        assert!(
            count >= 1 && rank as usize + count <= RANKS as usize,
            "lockorder: a class's ranks are below RANKS (32)"
        );
        Class {
            name,
            rank: Rank::new(rank),
            count: count as u8,
            why,
        }
    }

    /// Lock `i` of a class of several ranks, named `name` (`kmem.3`), as
    /// a class of its own; panics if the class has no rank `i`.
    pub const fn nth(self, i: usize, name: &'static str) -> Class {
        assert!(
            i < self.count as usize,
            "lockorder: no such lock in the class"
        );
        Class {
            name,
            rank: Rank::new(self.rank.0 + i as u8),
            count: 1,
            why: self.why,
        }
    }

    /// Whether `rank` is one of this class's.
    fn has(&self, rank: Rank) -> bool {
        (self.rank.0..self.rank.0 + self.count).contains(&rank.0)
    }
}

/// The table: each line `NAME = rank [ x count ], "lock name", "why";`
/// makes the constant `NAME` and its row of [`TABLE`].
macro_rules! order {
    ($($id:ident = $rank:literal $(x $count:expr)?, $name:literal, $why:literal;)*) => {
        $(
            #[doc = concat!("`", $name, "`: ", $why)]
            pub const $id: Class = Class::new($name, $rank, 1 $(- 1 + $count)?, $why);
        )*
        /// Every class, lowest rank first.
        pub const TABLE: &[Class] = &[$($id),*];
    };
}

// Gaps are left for the locks to come (processes, files, disks): a new
// lock takes the rank between what it is taken inside and what it takes.
order! {
    KTEST = 1, "ktest", "the in-kernel tests' outer lock (pushcli_nests, lock_twice)";
    KTEST_INNER = 2, "ktest.inner", "taken inside ktest by pushcli_nests";
    SLEEPLOCK = 3, "sleeplock", "a sleep lock's holder (sleeplock.rs); only the process table's raw lock is taken inside it";
    JOB = 4, "job", "the job on_every_cpu hands the other CPUs; held alone";
    ICACHE = 5, "icache", "the inode cache's numbers and reference counts (xv6's icache.lock); held alone";
    FILE = 6, "file", "one open file's entry in the file table; a pipe's lock or kalloc may follow";
    PIPE = 8, "pipe", "a pipe's ring and ends; copying to user memory under it may take cow and kmem";
    TIME = 10, "time", "the tick count sleep waits on (xv6's tickslock); held alone";
    LOG = 11, "log", "the log's header and counts (begin_op sleeps on it); log_write pins its buffer after letting it go";
    KBD = 12, "kbd", "the keyboard's decoder; kbdintr holds it while it feeds input and echoes on console";
    INPUT = 13, "input", "the console's line buffer; taken inside kbd";
    PENDING = 14, "console pending", "the rest of a console line a short read left; held alone";
    BCACHE = 15, "bcache", "the buffer cache's block numbers, counts and LRU (xv6's bcache.lock); the log's lock (a rank below, 11 is free) holds it in bpin";
    COW = 16, "cow", "the last copy-on-write fault, for the cow lab's reports; held alone";
    KMEM = 18, "kmem", "global and scan modes' free pages (xv6's kmem.lock)";
    KMEM_CPU = 19 x crate::param::NCPU, "kmem", "percpu mode's lists: a thief holds its own and its victim's, the lowest CPU number first";
    IDE = 27, "ide", "the IDE disk's request queue and registers; ideintr takes it; only the console inside";
    CONSOLE = 31, "console", "the serial port and screen: last, since any code may print while holding any lock";
}

/// The rank taken while a higher or equal one is held: the two locks,
/// for the panic's message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The lock being taken, by name, and its rank.
    pub taking: &'static str,
    pub rank: Rank,
    /// The highest rank the CPU holds.
    pub held: Rank,
}

/// Whether a CPU holding the ranks of `held` (a `locks` word) may take a
/// lock of rank `rank`: only if every held rank is lower.
#[inline(always)]
pub fn allowed(held: u32, rank_bit: u32) -> bool {
    held < rank_bit
}

/// The highest rank set in `held`, if any.
pub fn highest(held: u32) -> Option<Rank> {
    (held != 0).then(|| Rank((u32::BITS - 1 - held.leading_zeros()) as u8))
}

/// The check, as a value: `Err` naming both locks when a CPU holding
/// `held` may not take `taking` of rank `rank`.
pub fn check(held: u32, taking: &'static str, rank: Rank) -> Result<(), Violation> {
    match highest(held) {
        Some(h) if !allowed(held, rank.bit()) => Err(Violation {
            taking,
            rank,
            held: h,
        }),
        _ => Ok(()),
    }
}

/// The name of the lock of rank `rank` (`kmem.3` for a class of several
/// ranks), from [`TABLE`].
pub struct RankName(pub Rank);

impl fmt::Display for RankName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match TABLE.iter().find(|c| c.has(self.0)) {
            Some(c) if c.count > 1 => write!(f, "{}.{}", c.name, self.0.0 - c.rank.0),
            Some(c) => f.write_str(c.name),
            None => write!(f, "a lock of rank {} (not in the table)", self.0),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held = RankName(self.held);
        write!(
            f,
            "lock order: taking {} (rank {}) while holding {held} (rank {}) breaks the rule: ",
            self.taking, self.rank, self.held
        )?;
        let per_cpu = |r: Rank| KMEM_CPU.has(r);
        if per_cpu(self.rank) && per_cpu(self.held) {
            write!(
                f,
                "the per-CPU free lists are taken lowest CPU number first ({} before {held})",
                self.taking
            )?;
        } else if self.rank == self.held {
            write!(f, "a CPU holds one lock of a rank at a time")?;
        } else {
            write!(
                f,
                "locks are taken in rising rank ({} before {held})",
                self.taking
            )?;
        }
        write!(f, "; the ranks are in src/lockorder.rs")
    }
}

/// `op` (`or` or `and`) `value` into the running CPU's `locks` word, in
/// one instruction. `seginit` pointed `%gs` at this CPU's `Cpu` before
/// anything takes a lock (as `cpuid_unchecked` relies on).
#[cfg(kernel)]
macro_rules! update_held {
    ($op:literal, $value:expr) => {
        // SAFETY: %gs is this CPU's `Cpu`; the instruction changes only its
        // `locks`, which nothing else touches meanwhile (interrupts are off).
        unsafe {
            core::arch::asm!(
                concat!($op, " dword ptr gs:[{offset}], {value}"),
                value = in(reg) $value,
                offset = const core::mem::offset_of!(crate::cpu::Cpu, locks),
                options(nostack)
            )
        }
    };
}

/// Take rank `bit` of the lock named `*name` on the running CPU: panics
/// with the [`Violation`] if it holds a lock of that rank or higher (the
/// bit is set first: one `mov` and one `or`, then the compare). Call with
/// interrupts off.
#[cfg(kernel)]
#[inline(always)]
pub fn take(bit: u32, name: &&'static str) {
    let before: u32;
    // SAFETY: as in `update_held!`; the load writes nothing.
    unsafe {
        core::arch::asm!(
            "mov {before}, dword ptr gs:[{offset}]",
            "or dword ptr gs:[{offset}], {bit}",
            before = out(reg) before,
            bit = in(reg) bit,
            offset = const core::mem::offset_of!(crate::cpu::Cpu, locks),
            options(nostack)
        )
    };
    if !allowed(before, bit) {
        refuse(before, bit, name);
    }
}

/// Record rank `bit` as held without the check (a bounded try-lock).
#[cfg(kernel)]
#[inline(always)]
pub fn note(bit: u32) {
    update_held!("or", bit);
}

/// Forget rank `bit`: its lock was released.
#[cfg(kernel)]
#[inline(always)]
pub fn release(bit: u32) {
    update_held!("and", !bit);
}

/// The panic, out of the lock's fast path.
#[cfg(kernel)]
#[cold]
#[inline(never)]
fn refuse(held: u32, bit: u32, name: &&'static str) -> ! {
    let rank = Rank(bit.trailing_zeros() as u8);
    match check(held, name, rank) {
        Err(v) => panic!("{v}"),
        Ok(()) => unreachable!("lockorder: refused a lock the check allows"),
    }
}

/// The ranks the running CPU holds (its `locks` word). Call with
/// interrupts off.
#[cfg(kernel)]
pub fn held_here() -> u32 {
    crate::cpu::mycpu()
        .locks
        .load(core::sync::atomic::Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_distinct_rising_ranks_below_32() {
        for pair in TABLE.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            assert!(
                a.rank.0 + a.count <= b.rank.0,
                "{} (rank {}, {} ranks) overlaps or follows {} (rank {})",
                a.name,
                a.rank,
                a.count,
                b.name,
                b.rank
            );
        }
        let last = TABLE.last().unwrap();
        assert!(last.rank.0 + last.count <= RANKS);
    }

    #[test]
    fn the_console_is_last_so_any_lock_may_print() {
        for c in TABLE.iter().filter(|c| c.name != "console") {
            assert!(check(c.rank.bit(), "console", CONSOLE.rank).is_ok());
        }
    }

    #[test]
    fn rising_ranks_are_allowed_and_any_release_order_keeps_the_word_right() {
        let (a, b) = (KMEM_CPU.nth(0, "kmem.0"), KMEM_CPU.nth(1, "kmem.1"));
        let mut held = 0;
        assert_eq!(check(held, a.name, a.rank), Ok(()));
        held |= a.rank.bit();
        assert_eq!(check(held, b.name, b.rank), Ok(()));
        held |= b.rank.bit();
        // The lower one let go first (steal's pair of guards drops so).
        held &= !a.rank.bit();
        assert_eq!(highest(held), Some(b.rank));
        held &= !b.rank.bit();
        assert_eq!(held, 0);
        assert_eq!(check(held, a.name, a.rank), Ok(()), "free again");
    }

    #[test]
    fn a_lower_or_equal_rank_under_a_higher_one_is_refused_naming_both() {
        let (a, b) = (KMEM_CPU.nth(0, "kmem.0"), KMEM_CPU.nth(1, "kmem.1"));
        let v = check(b.rank.bit(), a.name, a.rank).unwrap_err();
        assert_eq!(
            v,
            Violation {
                taking: "kmem.0",
                rank: a.rank,
                held: b.rank
            }
        );
        assert_eq!(
            v.to_string(),
            format!(
                "lock order: taking kmem.0 (rank {}) while holding kmem.1 (rank {}) breaks the \
                 rule: the per-CPU free lists are taken lowest CPU number first (kmem.0 before \
                 kmem.1); the ranks are in src/lockorder.rs",
                a.rank, b.rank
            )
        );
        let same = check(KTEST.rank.bit(), "ktest", KTEST.rank).unwrap_err();
        assert!(same.to_string().contains("one lock of a rank at a time"));
        let other = check(CONSOLE.rank.bit(), "kmem", KMEM.rank).unwrap_err();
        assert!(
            other
                .to_string()
                .contains("holding console (rank 31) breaks the rule: locks are taken in rising rank (kmem before console)"),
            "{other}"
        );
        // A lower rank held beside the higher one does not hide it.
        let both = KTEST.rank.bit() | CONSOLE.rank.bit();
        assert_eq!(
            check(both, "kmem", KMEM.rank).unwrap_err().held,
            CONSOLE.rank
        );
    }

    #[test]
    fn each_per_cpu_list_has_its_rank_and_name() {
        for i in 0..crate::param::NCPU {
            let c = KMEM_CPU.nth(i, "x");
            assert_eq!(c.rank.0, KMEM_CPU.rank.0 + i as u8);
            assert_eq!(RankName(c.rank).to_string(), format!("kmem.{i}"));
        }
        assert_eq!(RankName(KMEM.rank).to_string(), "kmem");
        assert!(RankName(Rank(0)).to_string().contains("not in the table"));
    }
}
