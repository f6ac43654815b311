//! The lock-order checker (src/lockorder.rs) in a booted kernel: a lock
//! taken under one of higher rank panics naming both and the rule, the
//! per-CPU lists' rule (lowest CPU number first) included; and every CPU
//! stealing from every other (`steal_pairs`) passes with the solution's
//! steal. The checker is on in every boot, so every other boot test also
//! runs under it (tests/smp.rs's suite in every mode, say).

mod common;

use xv6::lockorder::{KMEM_CPU, KTEST, KTEST_INNER, check};

use common::{EXIT_PANIC, expect_panic, launch, words};

/// The checker's message for taking `taking` while holding `held`, as
/// the host build of the same code words it.
fn message(held: xv6::lockorder::Class, taking: xv6::lockorder::Class) -> String {
    check(held.rank.bit(), taking.name, taking.rank)
        .expect_err("the order refuses it")
        .to_string()
}

#[test]
fn a_lower_rank_under_a_higher_one_panics_naming_both_locks_and_the_rule() {
    let expected = message(KTEST_INNER, KTEST);
    assert!(expected.contains("ktest before ktest.inner"), "{expected}");
    expect_panic("lock_order", &expected);
}

#[test]
fn the_per_cpu_lists_are_taken_lowest_cpu_number_first() {
    let (low, high) = (KMEM_CPU.nth(0, "kmem.0"), KMEM_CPU.nth(1, "kmem.1"));
    let expected = message(high, low);
    assert!(expected.contains("lowest CPU number first"), "{expected}");
    let run = launch(&[
        "--smp",
        "2",
        "--cmdline",
        "ktest=lock_order_percpu kalloc=percpu",
    ]);
    run.expect_status(EXIT_PANIC);
    let line = run.line("panic: ");
    assert!(line.contains(&expected), "{line:?} lacks {expected:?}");
    assert!(!run.has("ktest: lock_order_percpu ok"));
}

#[test]
fn every_cpu_steals_from_every_other_in_the_right_order() {
    for cpus in [2usize, 4] {
        let n = cpus.to_string();
        let run = launch(&[
            "--smp",
            &n,
            "--mem",
            "64",
            "--cmdline",
            "ktest=steal_pairs kalloc=percpu",
        ]);
        run.expect_status(0);
        let line = run.line("ktest: steal_pairs: ");
        let steals: usize = words(line)[2].parse().unwrap();
        assert_eq!(steals, cpus * (cpus - 1), "each ordered pair once: {line}");
        run.line("ktest: steal_pairs ok");
    }
}
