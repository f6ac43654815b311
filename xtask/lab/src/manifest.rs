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

/// One graded test: a boot that runs an in-kernel test, or the check that
/// the answers file is filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Test {
    /// The grader's name for it (`--grade <lab> <name>` runs it alone).
    pub name: String,
    pub points: u32,
    pub check: Check,
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
}

/// A mistake students make, as a patch of the solution, and the tests the
/// grader must fail it on, each with a reason that contains `says`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mutant {
    /// `labs/<lab>/mutants/<name>.patch`.
    pub name: String,
    pub fails: Vec<String>,
    pub says: String,
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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMutant {
    name: String,
    fails: Vec<String>,
    says: String,
}

/// One `[[test]]`, checked: a boot (`ktest` and `limit`, at least 1
/// point) or an answers file (no points: the answers are collected for
/// the teacher, never scored), never both.
fn test(t: RawTest) -> Result<Test, String> {
    let bad = |why: &str| format!("test {:?}: {why}", t.name);
    let points = match (&t.ktest, &t.answers, t.points) {
        (None, Some(_), Some(_)) => {
            return Err(bad(
                "an answers check takes no points (the answers are read by the teacher, \
                 not scored): remove points",
            ));
        }
        (_, _, Some(0)) | (Some(_), _, None) => return Err(bad("points must be at least 1")),
        (_, _, Some(p)) => p,
        (None, _, None) => 0,
    };
    let check = match (t.ktest, t.answers) {
        (Some(ktest), None) => Check::Boot {
            ktest,
            panic: t.panic,
            boot: t.boot,
            limit: match t.limit {
                Some(l) if l > 0 => l,
                _ => return Err(bad("a boot needs limit, its seconds (at least 1)")),
            },
        },
        (None, Some(file)) if t.panic.is_none() && t.boot.is_empty() && t.limit.is_none() => {
            Check::Answers { file }
        }
        (None, Some(_)) => return Err(bad("an answers check takes no panic, boot or limit")),
        _ => return Err(bad("give either ktest (a boot) or answers (a file)")),
    };
    Ok(Test {
        name: t.name,
        points,
        check,
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
name = "questions"
answers = "labs/x/answers.txt"

[[mutant]]
name = "no_check"
fails = ["misaligned"]
says = "page-aligned"
"#;
        let m = parse("x", P, text).unwrap();
        assert_eq!(m.title, "Pages");
        assert!(m.depends.is_empty());
        assert_eq!(m.files, ["src/kalloc.rs", "src/vm.rs"]);
        assert_eq!(m.tests.len(), 3);
        assert_eq!(m.total(), 15, "the questions are not scored");
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
        assert_eq!(m.patch(&m.mutants[0]), "labs/x/mutants/no_check.patch");
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
                "test \"a\": a boot needs limit, its seconds (at least 1)",
            ),
            (
                "[[test]]\nname = \"a\"\npoints = 1\n",
                "test \"a\": give either ktest (a boot) or answers (a file)",
            ),
            (
                "[[test]]\nname = \"a\"\nktest = \"k\"\nanswers = \"f\"\npoints = 1\nlimit = 1\n",
                "test \"a\": give either ktest (a boot) or answers (a file)",
            ),
            (
                "[[test]]\nname = \"a\"\nanswers = \"f\"\nlimit = 3\n",
                "test \"a\": an answers check takes no panic, boot or limit",
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
