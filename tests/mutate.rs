//! The mutation sweep's generator (`./run-qemu.sh --lab-mutate`,
//! xtask/lab/src/mutate.rs), on the host: the mutants of a small fixed
//! region, exactly and in order, the same on every run; their diffs apply
//! with `git apply`; and the survivors' explanations and the report. The
//! sweep itself grades every mutant in QEMU, minutes per lab, and is not
//! run here (docs/labs.md, "The mutation sweep").

use lab::mutate::{self, Graded, Kind, Mutant, Outcome};

/// A small file with one region of lab `example`, and a region of another
/// lab that must not be touched. Its markers are written `@LAB` here (the
/// runner's tools scan this file too, and lab `example` does not exist).
const FILE: &str = "src/example.rs";
const TEMPLATE: &str = "\
fn pages(start: usize, end: usize, tlb: &mut Tlb) -> usize {
    @LAB example/pages BEGIN
    let mut n = 0;
    for p in start..end {
        if p % 4096 == 0 && !skip(p) {
            n += 1;
        }
    }
    tlb.invlpg(start);
    count(n);
    log(\"pages < 10 {:#010x}\");
    n
    @LAB example/pages END
}

fn other() {
    @LAB later/other BEGIN
    step(1);
    @LAB later/other END
}
";

/// The file's text, its markers made real.
fn text() -> String {
    TEMPLATE.replace("@LAB", "// LAB")
}

fn mutants() -> Vec<Mutant> {
    let text = text();
    let regions = lab::markers::parse(FILE, &text, &["example", "later"]).expect("the markers");
    mutate::generate("example", FILE, &text, &regions)
}

/// Each mutant as `kind line: what => the new lines`.
fn listed(ms: &[Mutant]) -> Vec<String> {
    ms.iter()
        .map(|m| {
            let new: Vec<&str> = m.new.iter().map(|l| l.trim()).collect();
            format!(
                "{:?} {}: {} => {}",
                m.kind,
                m.line + 1,
                m.what,
                new.join(" / ")
            )
        })
        .collect()
}

#[test]
fn the_generator_makes_each_kind_of_mutant_of_the_region_and_only_of_it() {
    let got = listed(&mutants());
    let want = [
        // one of each kind in turn: drop call, flip, bound, delete, swap
        "DropCall 9: delete the statement => ",
        "Flip 5: flip == to != => if p % 4096 != 0 && !skip(p) {",
        "Bound 3: bound 0 to 1 => let mut n = 1;",
        "Delete 6: delete the statement => ",
        "Swap 9: swap two statements => count(n); / tlb.invlpg(start);",
        "Flip 5: drop ! => if p % 4096 == 0 && skip(p) {",
        "Bound 4: make .. ..= => for p in start..=end {",
        "Delete 10: delete the statement => ",
        "Swap 10: swap two statements => log(\"pages < 10 {:#010x}\"); / count(n);",
        "Bound 5: bound 4096 to 4097 => if p % 4097 == 0 && !skip(p) {",
        "Delete 11: delete the statement => ",
        "Bound 5: bound 4096 to 4095 => if p % 4095 == 0 && !skip(p) {",
        "Bound 5: bound 0 to 1 => if p % 4096 == 1 && !skip(p) {",
        "Bound 6: bound 1 to 2 => n += 2;",
        "Bound 6: bound 1 to 0 => n += 0;",
    ];
    assert_eq!(got, want, "the mutants:\n{}", got.join("\n"));
    // Nothing inside the string literal (its `<`, `10`, `010`), nothing of
    // the other lab's region (`step(1)`), no `let` deleted.
    assert!(mutants().iter().all(|m| m.line < 12), "{got:#?}");
}

#[test]
fn the_generator_is_deterministic_and_gives_distinct_mutants() {
    let (a, b) = (mutants(), mutants());
    assert_eq!(a, b);
    let texts: std::collections::BTreeSet<String> = a.iter().map(|m| m.apply(&text())).collect();
    assert_eq!(texts.len(), a.len(), "two mutants give the same text");
    assert!(!texts.contains(&text()), "a mutant changes nothing");
    let keys: std::collections::BTreeSet<String> = a.iter().map(Mutant::key).collect();
    assert_eq!(keys.len(), a.len(), "two mutants share a key");
}

#[test]
fn a_statement_spread_over_lines_is_not_cut_in_half() {
    let text = "fn f() {\n    // LAB example/f BEGIN\n    let x = g(1,\n        2);\n    *p =\n        q(x);\n    x\n    // LAB example/f END\n}\n";
    let regions = lab::markers::parse(FILE, text, &["example"]).unwrap();
    let ms = mutate::generate("example", FILE, text, &regions);
    assert!(
        ms.iter()
            .all(|m| m.kind != Kind::Delete && m.kind != Kind::Swap),
        "{:#?}",
        listed(&ms)
    );
}

#[test]
fn a_patterns_rest_is_not_a_range() {
    let text = "fn f(e: E) -> u8 {\n    // LAB example/f BEGIN\n    match e {\n        E::A { .. } => g(),\n        E::B => h(0..n),\n    }\n    // LAB example/f END\n}\n";
    let regions = lab::markers::parse(FILE, text, &["example"]).unwrap();
    let got = listed(&mutate::generate("example", FILE, text, &regions));
    let ranges: Vec<&String> = got.iter().filter(|m| m.contains("..=")).collect();
    assert_eq!(
        ranges,
        ["Bound 5: make .. ..= => E::B => h(0..=n),"],
        "{got:#?}"
    );
}

#[test]
fn assembly_instructions_are_deleted_swapped_and_shifted() {
    let text = "_start:\n    # LAB example/entry BEGIN\n    movl $1, (pgdir + 4 * 512) # entry 512\n    movl $2, pgdir\n    # LAB example/entry END\n";
    let regions = lab::markers::parse("boot/x.S", text, &["example"]).unwrap();
    let got = listed(&mutate::generate("example", "boot/x.S", text, &regions));
    assert_eq!(
        got,
        [
            "Bound 3: bound 1 to 2 => movl $2, (pgdir + 4 * 512) # entry 512",
            "Delete 3: delete the statement => ",
            "Swap 3: swap two statements => movl $2, pgdir / movl $1, (pgdir + 4 * 512) # entry 512",
            "Bound 3: bound 1 to 0 => movl $0, (pgdir + 4 * 512) # entry 512",
            "Delete 4: delete the statement => ",
            "Bound 3: bound 4 to 5 => movl $1, (pgdir + 5 * 512) # entry 512",
            "Bound 3: bound 4 to 3 => movl $1, (pgdir + 3 * 512) # entry 512",
            "Bound 3: bound 512 to 513 => movl $1, (pgdir + 4 * 513) # entry 512",
            "Bound 3: bound 512 to 511 => movl $1, (pgdir + 4 * 511) # entry 512",
            "Bound 4: bound 2 to 3 => movl $3, pgdir",
            "Bound 4: bound 2 to 1 => movl $1, pgdir",
        ],
        "{got:#?}"
    );
}

#[test]
fn a_mutants_diff_applies_with_git_apply() {
    let dir = std::env::temp_dir().join(format!("xv6-mutate-{}", std::process::id()));
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    for m in mutants() {
        std::fs::write(src.join("example.rs"), text()).unwrap();
        let patch = dir.join("m.patch");
        std::fs::write(&patch, m.diff(&text())).unwrap();
        let applied = std::process::Command::new("git")
            .args(["apply", "--unsafe-paths", "m.patch"])
            .current_dir(&dir)
            .output()
            .expect("run git");
        assert!(
            applied.status.success(),
            "{}\n{}",
            m.diff(&text()),
            String::from_utf8_lossy(&applied.stderr)
        );
        let after = std::fs::read_to_string(src.join("example.rs")).unwrap();
        assert_eq!(after, m.apply(&text()), "{}", m.diff(&text()));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_report_counts_each_outcome_and_shows_each_survivor_with_its_diff() {
    let ms = mutants();
    let g = |i: usize, outcome: Outcome| Graded {
        mutant: ms[i].clone(),
        outcome,
        seconds: 7,
    };
    let graded = [
        g(
            0,
            Outcome::Killed {
                test: "lifo".into(),
                verdict: "FAIL wrong order".into(),
            },
        ),
        g(1, Outcome::Build),
        g(2, Outcome::Survived),
        g(3, Outcome::Survived),
        g(
            4,
            Outcome::Host(vec!["kalloc::freelist::tests::lifo".into()]),
        ),
    ];
    let why = mutate::explanations(&format!(
        "# Survivors\n\n- `{}`: equivalent, n starts at 1 in every test\n",
        ms[2].key()
    ));
    let files = [(FILE.to_string(), text().into_bytes())]
        .into_iter()
        .collect();
    let r = mutate::report(
        "example",
        ms.len(),
        &graded,
        &files,
        &why,
        std::time::Duration::from_secs(125),
    );
    let summary = r.lines().nth(2).unwrap();
    assert_eq!(
        summary,
        format!(
            "5 of {} mutants graded in 2 min 5 s: 1 killed by a test, 1 killed by the build, \
             1 passed every test but failed the host's unit tests, 2 survived (1 explained, \
             1 unexplained).",
            ms.len()
        )
    );
    assert!(r.contains("killed by `lifo`: FAIL wrong order"), "{r}");
    assert!(
        r.contains("passed every test; killed by the host's kalloc::freelist::tests::lifo"),
        "{r}"
    );
    assert!(
        r.contains("Explained: equivalent, n starts at 1 in every test"),
        "{r}"
    );
    assert!(
        r.contains(&format!(
            "UNEXPLAINED: add a test that kills it, or a line `` - `{}`",
            ms[3].key()
        )),
        "{r}"
    );
    assert!(r.contains(&ms[3].diff(&text())), "{r}");
    assert!(
        !r.contains(&ms[0].diff(&text())),
        "a killed mutant's diff is not shown:\n{r}"
    );
}

/// The labs of this tree: each has mutants, of every exercise whose code
/// has something to mutate (a region that is one call of no literal, like
/// boot's `kinit`, has none: its hand-written mutant covers it), each key
/// names one mutant, and the order is the same on every run.
#[test]
fn every_lab_has_mutants_of_each_code_exercise() {
    let tracked = lab::export::tracked().expect("the tracked files");
    for name in lab::labs_here() {
        let m = lab::grade::manifest(&name).expect("the manifest");
        let all = mutate::mutants_of(&m, &tracked).expect("the regions");
        assert!(!all.is_empty(), "lab {name} has no mutant");
        assert_eq!(all, mutate::mutants_of(&m, &tracked).unwrap(), "{name}");
        let keys: std::collections::BTreeSet<String> = all.iter().map(Mutant::key).collect();
        assert_eq!(keys.len(), all.len(), "lab {name}: two mutants share a key");
        let labs = lab::export::labs(&tracked).unwrap();
        let names: Vec<&str> = labs.keys().map(String::as_str).collect();
        for f in m
            .files
            .iter()
            .filter(|f| f.ends_with(".rs") || f.ends_with(".S"))
        {
            let text = String::from_utf8_lossy(&tracked[f]).into_owned();
            let regions = lab::markers::parse(f, &text, &names).unwrap();
            for r in regions.iter().filter(|r| r.lab == name) {
                let code: Vec<&String> = r
                    .solution
                    .iter()
                    .filter(|l| !l.trim().starts_with("use ") && !l.trim().starts_with("//"))
                    .collect();
                let mutable = code.iter().any(|l| {
                    l.trim_end().ends_with(';')
                        || l.contains(" < ")
                        || l.contains(" == ")
                        || l.contains('!')
                        || l.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                            .any(|w| w.starts_with(|c: char| c.is_ascii_digit()))
                });
                let inside = |x: &Mutant| x.line > r.begin && x.line < r.end;
                let has = all.iter().any(|x| x.file == *f && inside(x));
                assert_eq!(
                    has,
                    mutable,
                    "lab {name}: exercise {} at {f}:{}: mutants {has}, something to mutate {mutable}",
                    r.exercise,
                    r.begin + 1
                );
            }
        }
    }
}

/// Each explanation in a lab's `mutants/survivors.md` names a mutant the
/// generator makes of the lab today: one whose code changed is stale.
#[test]
fn every_explained_survivor_is_a_mutant_of_its_lab() {
    let tracked = lab::export::tracked().expect("the tracked files");
    for name in lab::labs_here() {
        let path = format!("labs/{name}/mutants/{}", mutate::SURVIVORS);
        let Some(text) = tracked.get(&path) else {
            continue;
        };
        let why = mutate::explanations(&String::from_utf8_lossy(text));
        assert!(!why.is_empty(), "{path} explains nothing");
        let m = lab::grade::manifest(&name).unwrap();
        let keys: Vec<String> = mutate::mutants_of(&m, &tracked)
            .unwrap()
            .iter()
            .map(Mutant::key)
            .collect();
        for (key, reason) in &why {
            assert!(keys.contains(key), "{path}: no mutant {key:?} any more");
            assert!(!reason.is_empty(), "{path}: {key:?} has no reason");
        }
    }
}
