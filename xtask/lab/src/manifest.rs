//! A lab's manifest, `labs/<lab>/lab.toml`: its title, the labs it depends
//! on, the files a student edits, the graded tests and the mutants the
//! self-check grades (docs/labs.md has an example).

use std::collections::BTreeSet;

use serde::Deserialize;

/// Where a lab's manifest lives: `labs/<lab>/lab.toml`.
pub const LABS_DIR: &str = "labs";
pub const MANIFEST: &str = "lab.toml";
/// A lab's mutants: `labs/<lab>/mutants/<mutant>.patch`.
pub const MUTANTS_DIR: &str = "mutants";
pub const PATCH: &str = ".patch";

/// What `lab.toml` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// The lab's directory name.
    pub name: String,
    pub title: String,
    /// Labs whose solutions this lab's handout keeps.
    pub depends: Vec<String>,
    /// The files a student edits, relative to the root: what a class's
    /// grading takes from each student's tree.
    pub files: Vec<String>,
    pub tests: Vec<Test>,
    pub mutants: Vec<Mutant>,
}

/// One graded test: a boot that runs an in-kernel test, a run of the
/// host's unit tests, or the check that the answers file is filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Test {
    /// The grader's name for it (`--grade <lab> <name>` runs it alone).
    pub name: String,
    pub points: u32,
    pub check: Check,
    /// The lab's exercises it covers (empty: every exercise the lab's
    /// host tests cover). For a host test, this is the one map from an
    /// exercise to the host tests that cover it: a failed boot test names
    /// the host tests of its exercises ([`Manifest::host_tests_for`]).
    pub exercises: Vec<String>,
}

/// What a graded test looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    /// Boot with `ktest=<ktest>` (and the run-qemu.sh options `boot`) for
    /// at most `limit` seconds; with `panic`, the test passes only if the
    /// kernel panics with a message that contains it.
    Boot {
        ktest: String,
        panic: Option<String>,
        boot: Vec<String>,
        limit: u32,
    },
    /// Every question in the file (relative to the root) has an answer.
    Answers { file: String },
    /// The host's unit tests whose names contain `filter` (`cargo test
    /// --lib <filter>`, at most `limit` seconds, the first build included)
    /// all pass, and there is at least one.
    Host { filter: String, limit: u32 },
}

/// The command that runs the host's unit tests named by `filter`, as a
/// student types it in the handout.
pub fn host_command(filter: &str) -> String {
    format!("cargo test --lib {filter}")
}

/// A mistake students make, as a patch of the solution, and the tests the
/// grader must fail it on, each with a reason that contains `says` (a host
/// test's: `host_says`, if given, since it quotes the host tests' own
/// assertions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mutant {
    /// `labs/<lab>/mutants/<name>.patch`.
    pub name: String,
    pub fails: Vec<String>,
    pub says: String,
    pub host_says: Option<String>,
}

impl Mutant {
    /// What the reason of failed test `t` must contain.
    pub fn says_for(&self, t: &Test) -> &str {
        match (&t.check, &self.host_says) {
            (Check::Host { .. }, Some(s)) => s,
            _ => &self.says,
        }
    }
}

impl Manifest {
    /// The test called `name`.
    pub fn test(&self, name: &str) -> Option<&Test> {
        self.tests.iter().find(|t| t.name == name)
    }

    /// The points of every test.
    pub fn total(&self) -> u32 {
        self.tests.iter().map(|t| t.points).sum()
    }

    /// The host tests (graded tests of kind [`Check::Host`]) that cover an
    /// exercise of test `t`: those sharing one of its exercises, or all of
    /// them if `t` lists none. None for a host test itself and for the
    /// answers.
    pub fn host_tests_for(&self, t: &Test) -> Vec<&Test> {
        if !matches!(t.check, Check::Boot { .. }) {
            return Vec::new();
        }
        self.tests
            .iter()
            .filter(|h| matches!(h.check, Check::Host { .. }))
            .filter(|h| {
                t.exercises.is_empty() || h.exercises.iter().any(|e| t.exercises.contains(e))
            })
            .collect()
    }

    /// Where mutant `m`'s patch is, relative to the root.
    pub fn patch(&self, m: &Mutant) -> String {
        format!("{LABS_DIR}/{}/{MUTANTS_DIR}/{}{PATCH}", self.name, m.name)
    }
}

/// The lab a manifest path belongs to: `labs/<lab>/lab.toml` gives `<lab>`.
pub fn lab_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(LABS_DIR)?.strip_prefix('/')?;
    let (lab, file) = rest.split_once('/')?;
    (file == MANIFEST && !lab.is_empty()).then_some(lab)
}

/// Whether `path` is a mutant's patch (teacher's material: no handout has
/// one, since a patch carries solution lines as its context).
pub fn is_mutant(path: &str) -> bool {
    let mut parts = path.split('/');
    parts.next() == Some(LABS_DIR) && parts.next().is_some() && parts.next() == Some(MUTANTS_DIR)
}

/// `lab.toml` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    title: String,
    depends: Vec<String>,
    files: Vec<String>,
    #[serde(default, rename = "test")]
    tests: Vec<RawTest>,
    #[serde(default, rename = "mutant")]
    mutants: Vec<RawMutant>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTest {
    name: String,
    points: Option<u32>,
    ktest: Option<String>,
    panic: Option<String>,
    #[serde(default)]
    boot: Vec<String>,
    limit: Option<u32>,
    answers: Option<String>,
    host: Option<String>,
    #[serde(default)]
    exercises: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMutant {
    name: String,
    fails: Vec<String>,
    says: String,
    host_says: Option<String>,
}

/// One `[[test]]`, checked: a boot (`ktest` and `limit`, at least 1
/// point), a run of host tests (`host` and `limit`, at least 1 point) or
/// an answers file (no points: the answers are collected for the teacher,
/// never scored), exactly one of the three.
fn test(t: RawTest) -> Result<Test, String> {
    let bad = |why: &str| format!("test {:?}: {why}", t.name);
    let kinds = [t.ktest.is_some(), t.host.is_some(), t.answers.is_some()];
    if kinds.iter().filter(|&&k| k).count() != 1 {
        return Err(bad(
            "give one of ktest (a boot), host (host tests) or answers (a file)",
        ));
    }
    let points = match (&t.answers, t.points) {
        (Some(_), Some(_)) => {
            return Err(bad(
                "an answers check takes no points (the answers are read by the teacher, \
                 not scored): remove points",
            ));
        }
        (Some(_), None) => 0,
        (None, Some(p)) if p > 0 => p,
        (None, _) => return Err(bad("points must be at least 1")),
    };
    let limit = match t.limit {
        Some(l) if l > 0 => Ok(l),
        _ => Err(bad(
            "a boot or a host test needs limit, its seconds (at least 1)",
        )),
    };
    let check = if let Some(ktest) = t.ktest {
        Check::Boot {
            ktest,
            panic: t.panic,
            boot: t.boot,
            limit: limit?,
        }
    } else if let Some(filter) = t.host {
        if t.panic.is_some() || !t.boot.is_empty() {
            return Err(bad("a host test takes no panic or boot"));
        }
        if filter.trim().is_empty() || filter.contains(char::is_whitespace) {
            return Err(bad(
                "host is one filter of test names, e.g. \"kalloc::freelist::\"",
            ));
        }
        if t.exercises.is_empty() {
            return Err(bad(
                "a host test names the exercises its tests cover (exercises = [...])",
            ));
        }
        Check::Host {
            filter,
            limit: limit?,
        }
    } else if t.panic.is_none() && t.boot.is_empty() && t.limit.is_none() && t.exercises.is_empty()
    {
        Check::Answers {
            file: t.answers.unwrap_or_default(),
        }
    } else {
        return Err(bad(
            "an answers check takes no panic, boot, limit or exercises",
        ));
    };
    Ok(Test {
        name: t.name,
        points,
        check,
        exercises: t.exercises,
    })
}

/// Read the manifest `text` of lab `name` (`path` names it in errors).
pub fn parse(name: &str, path: &str, text: &str) -> Result<Manifest, String> {
    let raw: Raw = toml::from_str(text).map_err(|e| format!("{path}: {e}"))?;
    let tests = raw
        .tests
        .into_iter()
        .map(test)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{path}: {e}"))?;
    let mut names = BTreeSet::new();
    for t in &tests {
        if !names.insert(t.name.as_str()) {
            return Err(format!("{path}: two tests are called {:?}", t.name));
        }
    }
    let mutants: Vec<Mutant> = raw
        .mutants
        .into_iter()
        .map(|m| Mutant {
            name: m.name,
            fails: m.fails,
            says: m.says,
            host_says: m.host_says,
        })
        .collect();
    for m in &mutants {
        if m.fails.is_empty() {
            return Err(format!(
                "{path}: mutant {:?} names no test it fails",
                m.name
            ));
        }
        if let Some(f) = m.fails.iter().find(|f| !names.contains(f.as_str())) {
            return Err(format!(
                "{path}: mutant {:?} fails {f:?}, which is not a test of the lab",
                m.name
            ));
        }
    }
    Ok(Manifest {
        name: name.to_string(),
        title: raw.title,
        depends: raw.depends,
        files: raw.files,
        tests,
        mutants,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "labs/x/lab.toml";

    #[test]
    fn a_manifest_has_a_title_dependencies_files_tests_and_mutants() {
        let text = r#"# a comment
title = "Pages"
depends = []
files = ["src/kalloc.rs", "src/vm.rs"]

[[test]]
name = "lifo"
ktest = "kalloc_order"
points = 10
limit = 60

[[test]]
name = "misaligned"
ktest = "kfree_misaligned"
panic = "is not page-aligned"
boot = ["--smp", "2"]
points = 5
limit = 30

[[test]]
name = "host_freelist"
host = "kalloc::freelist::"
exercises = ["kfree", "kalloc"]
points = 5
limit = 600

[[test]]
name = "questions"
answers = "labs/x/answers.txt"

[[mutant]]
name = "no_check"
fails = ["misaligned", "host_freelist"]
says = "page-aligned"
host_says = "every_kfree_rule"
"#;
        let m = parse("x", P, text).unwrap();
        assert_eq!(m.title, "Pages");
        assert!(m.depends.is_empty());
        assert_eq!(m.files, ["src/kalloc.rs", "src/vm.rs"]);
        assert_eq!(m.tests.len(), 4);
        assert_eq!(m.total(), 20, "the questions are not scored");
        assert_eq!(
            m.test("misaligned").unwrap().check,
            Check::Boot {
                ktest: "kfree_misaligned".into(),
                panic: Some("is not page-aligned".into()),
                boot: vec!["--smp".into(), "2".into()],
                limit: 30
            }
        );
        assert_eq!(
            m.test("questions").unwrap().check,
            Check::Answers {
                file: "labs/x/answers.txt".into()
            }
        );
        let host = m.test("host_freelist").unwrap();
        assert_eq!(
            host.check,
            Check::Host {
                filter: "kalloc::freelist::".into(),
                limit: 600
            }
        );
        assert_eq!(host.exercises, ["kfree", "kalloc"]);
        assert_eq!(m.patch(&m.mutants[0]), "labs/x/mutants/no_check.patch");
        let no_check = &m.mutants[0];
        assert_eq!(no_check.says_for(host), "every_kfree_rule");
        assert_eq!(no_check.says_for(m.test("lifo").unwrap()), "page-aligned");
    }

    #[test]
    fn a_boot_test_names_the_host_tests_of_its_exercises() {
        let text = r#"title = "t"
depends = []
files = []

[[test]]
name = "all"
ktest = "a"
points = 1
limit = 1

[[test]]
name = "kfree_only"
ktest = "b"
exercises = ["kfree"]
points = 1
limit = 1

[[test]]
name = "host_kfree"
host = "kfree::"
exercises = ["kfree"]
points = 1
limit = 1

[[test]]
name = "host_kalloc"
host = "kalloc::"
exercises = ["kalloc"]
points = 1
limit = 1

[[test]]
name = "questions"
answers = "a.txt"
"#;
        let m = parse("x", P, text).unwrap();
        let names = |t: &str| -> Vec<&str> {
            m.host_tests_for(m.test(t).unwrap())
                .iter()
                .map(|h| h.name.as_str())
                .collect()
        };
        assert_eq!(names("all"), ["host_kfree", "host_kalloc"]);
        assert_eq!(names("kfree_only"), ["host_kfree"]);
        assert!(names("host_kfree").is_empty());
        assert!(names("questions").is_empty());
        assert_eq!(host_command("kfree::"), "cargo test --lib kfree::");
    }

    #[test]
    fn bad_manifests_are_refused_naming_what_is_wrong() {
        let e = parse("x", P, "title = Pages\n").unwrap_err();
        assert!(
            e.starts_with("labs/x/lab.toml: TOML parse error at line 1"),
            "{e}"
        );
        let e = parse("x", P, "title = \"t\"\nowner = \"me\"\n").unwrap_err();
        assert!(e.contains("unknown field `owner`"), "{e}");
        let e = parse("x", P, "title = \"t\"\ndepends = []\n").unwrap_err();
        assert!(e.contains("missing field `files`"), "{e}");
        let head = "title = \"t\"\ndepends = []\nfiles = []\n";
        for (tail, want) in [
            (
                "[[test]]\nname = \"a\"\nktest = \"k\"\npoints = 1\n",
                "test \"a\": a boot or a host test needs limit, its seconds (at least 1)",
            ),
            (
                "[[test]]\nname = \"a\"\npoints = 1\n",
                "test \"a\": give one of ktest (a boot), host (host tests) or answers (a file)",
            ),
            (
                "[[test]]\nname = \"a\"\nktest = \"k\"\nanswers = \"f\"\npoints = 1\nlimit = 1\n",
                "test \"a\": give one of ktest (a boot), host (host tests) or answers (a file)",
            ),
            (
                "[[test]]\nname = \"a\"\nktest = \"k\"\nhost = \"f\"\npoints = 1\nlimit = 1\n",
                "test \"a\": give one of ktest (a boot), host (host tests) or answers (a file)",
            ),
            (
                "[[test]]\nname = \"a\"\nanswers = \"f\"\nlimit = 3\n",
                "test \"a\": an answers check takes no panic, boot, limit or exercises",
            ),
            (
                "[[test]]\nname = \"a\"\nhost = \"k::\"\npoints = 1\nlimit = 1\n",
                "test \"a\": a host test names the exercises its tests cover (exercises = [...])",
            ),
            (
                "[[test]]\nname = \"a\"\nhost = \"k:: j::\"\nexercises = [\"e\"]\npoints = 1\nlimit = 1\n",
                "test \"a\": host is one filter of test names, e.g. \"kalloc::freelist::\"",
            ),
            (
                "[[test]]\nname = \"a\"\nhost = \"k::\"\npanic = \"p\"\nexercises = [\"e\"]\npoints = 1\nlimit = 1\n",
                "test \"a\": a host test takes no panic or boot",
            ),
            (
                "[[test]]\nname = \"a\"\nhost = \"k::\"\nexercises = [\"e\"]\nlimit = 1\n",
                "test \"a\": points must be at least 1",
            ),
            (
                "[[test]]\nname = \"a\"\nanswers = \"f\"\npoints = 5\n",
                "test \"a\": an answers check takes no points (the answers are read by the teacher, \
                 not scored): remove points",
            ),
            (
                "[[test]]\nname = \"a\"\nktest = \"k\"\npoints = 0\nlimit = 1\n",
                "test \"a\": points must be at least 1",
            ),
            (
                "[[test]]\nname = \"a\"\nktest = \"k\"\npoints = 1\nlimit = 1\n\
                 [[test]]\nname = \"a\"\nktest = \"j\"\npoints = 1\nlimit = 1\n",
                "two tests are called \"a\"",
            ),
            (
                "[[mutant]]\nname = \"m\"\nfails = [\"nope\"]\nsays = \"s\"\n",
                "mutant \"m\" fails \"nope\", which is not a test of the lab",
            ),
            (
                "[[mutant]]\nname = \"m\"\nfails = []\nsays = \"s\"\n",
                "mutant \"m\" names no test it fails",
            ),
        ] {
            let e = parse("x", P, &format!("{head}{tail}")).unwrap_err();
            assert_eq!(e, format!("{P}: {want}"), "{tail}");
        }
    }

    #[test]
    fn manifest_paths_name_their_lab() {
        assert_eq!(lab_of("labs/kalloc/lab.toml"), Some("kalloc"));
        assert_eq!(lab_of("labs/kalloc/README.md"), None);
        assert_eq!(lab_of("labs/lab.toml"), None);
        assert_eq!(lab_of("src/labs/x/lab.toml"), None);
    }

    #[test]
    fn mutant_patches_are_recognised_by_their_directory() {
        assert!(is_mutant("labs/kalloc/mutants/no_junk.patch"));
        assert!(!is_mutant("labs/kalloc/lab.toml"));
        assert!(!is_mutant("labs/mutants/x.patch"));
        assert!(!is_mutant("src/mutants/x.patch"));
    }
}
