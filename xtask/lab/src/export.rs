//! The handout of a lab, made from the solution tree: the lab's regions
//! become their stubs, later labs' their bases, the labs it depends on keep
//! their solutions; then the leak check. [`handout`] is pure (a tree of
//! files in, a tree out); [`export`] reads the tracked files and writes the
//! handout as a git repository with one commit.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use super::manifest::{self, Manifest};
use super::markers::{self, Keep};
use xtask::{Error, NAME, Result, paths};

/// Files by path (relative, `/`-separated), with their bytes.
pub type Tree = BTreeMap<String, Vec<u8>>;

/// Files whose markers are examples, not regions (the guides quote them).
const PROSE: &str = ".md";

/// The labs of `tree`: every `labs/<lab>/lab.toml`.
pub fn labs(tree: &Tree) -> std::result::Result<BTreeMap<String, Manifest>, String> {
    let mut labs = BTreeMap::new();
    for (path, bytes) in tree {
        if let Some(lab) = manifest::lab_of(path) {
            let text = std::str::from_utf8(bytes).map_err(|_| format!("{path} is not UTF-8"))?;
            labs.insert(lab.to_string(), manifest::parse(lab, path, text)?);
        }
    }
    Ok(labs)
}

/// What each lab's regions become in `target`'s handout: the labs `target`
/// depends on (directly or not) keep their solutions, `target` gets its
/// stubs, every other lab its bases.
fn plan(
    labs: &BTreeMap<String, Manifest>,
    target: &str,
) -> std::result::Result<BTreeMap<String, Keep>, String> {
    let names = || match labs.is_empty() {
        true => format!(
            "none: no {}/<lab>/{}",
            manifest::LABS_DIR,
            manifest::MANIFEST
        ),
        false => labs.keys().cloned().collect::<Vec<_>>().join(", "),
    };
    if !labs.contains_key(target) {
        return Err(format!("unknown lab {target:?} (labs: {})", names()));
    }
    let mut before = BTreeSet::new();
    let mut todo = vec![target.to_string()];
    while let Some(lab) = todo.pop() {
        for dep in &labs[&lab].depends {
            if !labs.contains_key(dep) {
                return Err(format!(
                    "lab {lab:?} depends on {dep:?}, which is not a lab (labs: {})",
                    names()
                ));
            }
            if before.insert(dep.clone()) {
                todo.push(dep.clone());
            }
        }
    }
    if before.contains(target) {
        return Err(format!("lab {target:?} depends on itself"));
    }
    Ok(labs
        .keys()
        .map(|lab| {
            let keep = match lab.as_str() {
                l if l == target => Keep::Stub,
                l if before.contains(l) => Keep::Solution,
                _ => Keep::Base,
            };
            (lab.clone(), keep)
        })
        .collect())
}

/// Words any code is full of: keywords, the std names every function uses
/// and the stock `// SAFETY: as above.` A line made of these alone is an
/// idiom, not a solution.
const COMMON_WORDS: &[&str] = &[
    "as", "above", "break", "continue", "crate", "else", "Err", "false", "fn", "for", "if", "impl",
    "in", "let", "loop", "match", "mod", "move", "mut", "None", "Ok", "pub", "ref", "return",
    "SAFETY", "Self", "self", "Some", "true", "unsafe", "use", "where", "while",
];

/// Whether a solution line says enough that finding it in a handout gives
/// the solution away: code (not a `//` comment, whose stock phrases such as
/// `// SAFETY: passed on from the caller.` recur everywhere, nor a `use`
/// line, which a base needs as much as the solution) with two words
/// at least that are not common words (so not `}`, a blank line, `else {`,
/// `return Ok(());` or `Some(va)`).
pub fn telling(line: &str) -> bool {
    let code = line.trim_start();
    !code.starts_with("//")
        && !code.starts_with("use ")
        && line
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty() && !COMMON_WORDS.contains(w))
            .nth(1)
            .is_some()
}

/// Where a solution line comes from, for the leak check's message.
struct Secret {
    at: String,
    region: String,
}

/// The regions of `tree`'s files by path, each with its stub and base
/// from its stub file, or why not: a marker error (`file:line`), a stub
/// file that does not fit its regions, a region without stub text, stub
/// text without a region. Markdown files are prose (the guides quote
/// markers), mutants and stub files are not regions' files.
fn regions(tree: &Tree, labs: &[&str]) -> std::result::Result<Regions, String> {
    let mut stubs: BTreeMap<&str, Vec<markers::Block>> = BTreeMap::new();
    let mut found = Regions::new();
    for (path, bytes) in tree {
        let Ok(text) = std::str::from_utf8(bytes) else {
            continue;
        };
        if markers::is_stub_file(path) {
            let lab = path.split('/').nth(1).unwrap_or_default();
            if !labs.contains(&lab) {
                return Err(format!(
                    "{path}: a stub file of {lab:?}, which is not a lab (labs: {})",
                    labs.join(", ")
                ));
            }
            let blocks = markers::parse_stubs(path, text, lab).map_err(|e| e.to_string())?;
            stubs.insert(path, blocks);
        } else if !manifest::is_mutant(path) && !path.ends_with(PROSE) {
            let regions = markers::parse(path, text, labs).map_err(|e| e.to_string())?;
            if !regions.is_empty() {
                found.insert(path.clone(), regions);
            }
        }
    }
    let mut paired = BTreeSet::new();
    for (path, regions) in &mut found {
        let labs: BTreeSet<String> = regions.iter().map(|r| r.lab.clone()).collect();
        for lab in labs {
            let file = markers::stub_path(&lab, path);
            let blocks = stubs.get(file.as_str()).map(Vec::as_slice);
            markers::pair(path, regions, &lab, &file, blocks).map_err(|e| e.to_string())?;
            paired.insert(file);
        }
    }
    match stubs.keys().find(|f| !paired.contains(**f)) {
        Some(orphan) => {
            let mut parts = orphan.splitn(4, '/');
            let lab = parts.nth(1).unwrap_or_default();
            let source = parts.nth(1).unwrap_or_default();
            Err(format!(
                "{orphan}: stub text without a region: {source} has no region of lab {lab} \
                 (moved? the stub file follows its source: {})",
                markers::stub_path(lab, "<source>")
            ))
        }
        None => Ok(found),
    }
}

/// The regions of each file that has some, by path.
type Regions = BTreeMap<String, Vec<markers::Region>>;

/// `target`'s handout of `tree` (see the module's doc), or why not: a
/// marker or stub file error (`file:line`), a bad manifest, an unknown
/// lab, or a leak: a telling solution line of `target` or a lab after it
/// found anywhere in the handout. Mutants and stub files (teacher's
/// material) are left out.
pub fn handout(tree: &Tree, target: &str) -> std::result::Result<Tree, String> {
    let labs = labs(tree)?;
    let plan = plan(&labs, target)?;
    let names: Vec<&str> = labs.keys().map(String::as_str).collect();
    let regions = regions(tree, &names)?;
    let mut out = Tree::new();
    let mut secrets: BTreeMap<String, Secret> = BTreeMap::new();
    let teachers = |p: &str| manifest::is_mutant(p) || markers::is_stub_file(p);
    for (path, bytes) in tree.iter().filter(|(p, _)| !teachers(p)) {
        let Some(regions) = regions.get(path) else {
            out.insert(path.clone(), bytes.clone());
            continue;
        };
        let text = std::str::from_utf8(bytes).expect("a file with regions is UTF-8");
        for r in regions.iter().filter(|r| plan[&r.lab] != Keep::Solution) {
            for (i, line) in r.solution.iter().enumerate() {
                if telling(line) {
                    secrets.entry(line.trim().to_string()).or_insert(Secret {
                        at: format!("{path}:{}", r.begin + 2 + i),
                        region: format!("{}/{}", r.lab, r.exercise),
                    });
                }
            }
        }
        let handout = markers::render(text, regions, |lab| plan[lab]);
        out.insert(path.clone(), handout.into_bytes());
    }
    out.insert(HANDOUT_STAMP.to_string(), stamp(target).into_bytes());
    // (In a handout's own handout, PROJECT.md is there already.)
    if let Some(readme) = out.remove(README)
        && !out.contains_key(PROJECT_README)
    {
        out.insert(PROJECT_README.to_string(), readme);
    }
    out.insert(README.to_string(), front_page(&labs[target]).into_bytes());
    let mut leaks = Vec::new();
    for (path, bytes) in &out {
        let Ok(text) = std::str::from_utf8(bytes) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            if let Some(s) = secrets.get(line.trim()) {
                leaks.push(format!(
                    "the handout leaks a solution: {path}:{} is {:?}, a line of {}'s solution ({}); \
                     change one of the two",
                    n + 1,
                    line.trim(),
                    s.region,
                    s.at
                ));
            }
        }
    }
    match leaks.is_empty() {
        true => Ok(out),
        false => Err(leaks.join("\n")),
    }
}

/// The tree's front page: in a handout, the student's (`front_page`).
pub const README: &str = "README.md";

/// Where a handout keeps the project's own README.md (for teachers and
/// developers), beside the student's front page, so its links still work.
pub const PROJECT_README: &str = "PROJECT.md";

/// The student's front page of lab `m`'s handout: what it is, the
/// commands, where the exercises are, how grading works; it points at
/// the lab's own README for the rest.
pub fn front_page(m: &Manifest) -> String {
    let files: Vec<String> = m.files.iter().map(|f| format!("- `{f}`")).collect();
    let first_test = m.tests.first().map_or("<test>", |t| t.name.as_str());
    include_str!("front_page.md")
        .replace("{lab}", &m.name)
        .replace("{title}", &m.title)
        .replace("{files}", &files.join("\n"))
        .replace("{tests}", &super::grade::tests_count(m.tests.len()))
        .replace("{total}", &m.total().to_string())
        .replace("{first_test}", first_test)
}

/// The file that tells a handout from the teacher's tree, and which lab it
/// is the handout of.
pub const HANDOUT_STAMP: &str = "labs/handout.toml";

/// The stamp's contents: the lab whose handout the tree is.
#[derive(serde::Serialize, serde::Deserialize)]
struct Stamp {
    lab: String,
}

/// What the stamp says for lab `lab`.
fn stamp(lab: &str) -> String {
    let toml = toml::to_string(&Stamp { lab: lab.into() }).expect("a stamp is TOML");
    format!("# Written by run-qemu.sh --lab-export: this tree is a handout.\n{toml}")
}

/// The lab whose handout the tree at `root` is, if it is one.
pub fn handout_of(root: &Path) -> Option<String> {
    let text = std::fs::read_to_string(root.join(HANDOUT_STAMP)).ok()?;
    toml::from_str::<Stamp>(&text).ok().map(|s| s.lab)
}

/// Run `git` with `args` in `dir`; its standard output.
fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| Error::new(format!("cannot run git: {e}")))?;
    if !out.status.success() {
        return Err(Error::new(format!(
            "git {} in {} failed: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(out.stdout)
}

/// The identity the handout's commit is made with when git has none set.
const AUTHOR: &[&str] = &[
    "-c",
    "user.name=xv6-rs labs",
    "-c",
    "user.email=labs@xv6-rs.invalid",
];

/// The files git tracks in this tree, as the work tree has them.
pub fn tracked() -> Result<Tree> {
    let root = paths::root();
    let listed = git(root, &["ls-files", "-z"])?;
    let mut tree = Tree::new();
    for path in listed.split(|&b| b == 0).filter(|p| !p.is_empty()) {
        let path = String::from_utf8_lossy(path).into_owned();
        let bytes = std::fs::read(root.join(&path))
            .map_err(|e| Error::new(format!("cannot read {path}: {e}")))?;
        tree.insert(path, bytes);
    }
    Ok(tree)
}

/// Write `tree` below `dir`, each file with the permissions its namesake
/// in this tree has (run-qemu.sh stays executable), 0644 for a new one.
pub fn write_tree(tree: &Tree, dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let root = paths::root();
    for (path, bytes) in tree {
        let to = dir.join(path);
        let mode = std::fs::metadata(root.join(path)).map_or(0o644, |m| m.permissions().mode());
        let made = to
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&to, bytes))
            .and_then(|()| std::fs::set_permissions(&to, std::fs::Permissions::from_mode(mode)));
        made.map_err(|e| Error::new(format!("cannot write {}: {e}", to.display())))?;
    }
    Ok(())
}

/// `./run-qemu.sh --lab-export <lab> <dir>`: write `lab`'s handout of the
/// tracked files to `dir` (which must not exist or be empty) as a git
/// repository with one commit.
pub fn export(lab: &str, dir: &Path) -> Result<()> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir)
            .map_err(|e| Error::new(format!("cannot read {}: {e}", dir.display())))?;
        if entries.next().is_some() {
            return Err(Error::new(format!(
                "--lab-export: {} is not empty; give a new or empty directory",
                dir.display()
            )));
        }
    }
    let tree = tracked()?;
    let handout = handout(&tree, lab).map_err(|e| Error::new(format!("--lab-export: {e}")))?;
    write_tree(&handout, dir)?;
    let title = labs(&handout).map_err(Error::new)?[lab].title.clone();
    git(dir, &["-c", "init.defaultBranch=main", "init", "-q"])?;
    git(dir, &["add", "-A"])?;
    let named = git(dir, &["config", "user.email"]).is_ok_and(|e| !e.is_empty());
    let mut commit: Vec<&str> = if named { Vec::new() } else { AUTHOR.to_vec() };
    let message = format!("Lab {lab}: {title} (handout)");
    commit.extend(["commit", "-q", "-m", &message]);
    git(dir, &commit)?;
    eprintln!(
        "{NAME}: wrote the handout of lab {lab} ({} files) to {}",
        handout.len(),
        dir.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> Tree {
        files
            .iter()
            .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
            .collect()
    }

    fn text<'a>(t: &'a Tree, path: &str) -> &'a str {
        std::str::from_utf8(&t[path]).unwrap()
    }

    /// Three labs in a row (b depends on a, c on b), one region each.
    fn course() -> Tree {
        tree(&[
            (
                "labs/a/lab.toml",
                "title = \"A\"\ndepends = []\nfiles = [\"src/x.rs\"]\n",
            ),
            (
                "labs/b/lab.toml",
                "title = \"B\"\ndepends = [\"a\"]\nfiles = [\"src/x.rs\"]\n",
            ),
            (
                "labs/c/lab.toml",
                "title = \"C\"\ndepends = [\"b\"]\nfiles = [\"src/x.rs\"]\n",
            ),
            (
                "src/x.rs",
                concat!(
                    "fn one() {\n",
                    "    // LAB a/one BEGIN\n",
                    "    solve_one(first, second);\n",
                    "    // LAB a/one END\n",
                    "}\n",
                    "fn two() {\n",
                    "    // LAB b/two BEGIN\n",
                    "    solve_two(first);\n",
                    "    // LAB b/two END\n",
                    "}\n",
                    "# LAB c/three BEGIN\n",
                    "three = solved\n",
                    "# LAB c/three END\n",
                ),
            ),
            (
                "labs/a/stubs/src/x.rs",
                "    // LAB a/one STUB\n    lab_todo!(\"a\", \"one\")\n    // LAB a/one END\n",
            ),
            (
                "labs/b/stubs/src/x.rs",
                "    // LAB b/two STUB\n    lab_todo!(\"b\", \"two\")\n    // LAB b/two END\n",
            ),
            (
                "labs/c/stubs/src/x.rs",
                "# LAB c/three STUB\nthree = todo\n# LAB c/three BASE\nthree = base\n# LAB c/three END\n",
            ),
            ("docs/labs.md", "// LAB z/quoted BEGIN\n"),
        ])
    }

    #[test]
    fn a_handouts_readme_is_the_students_front_page() {
        let mut t = course();
        t.insert(README.into(), b"# For teachers and developers\n".to_vec());
        let b = handout(&t, "b").unwrap();
        let front = text(&b, README);
        assert!(front.starts_with("# Lab b: B\n"), "{front}");
        for says in [
            "[labs/b/README.md](labs/b/README.md)",
            "./run-qemu.sh --grade b ",
            "- `src/x.rs`",
            "is not implemented yet",
            "Score: X/0",
            "no points here",
            "collected for your teacher",
        ] {
            assert!(front.contains(says), "{says:?} in:\n{front}");
        }
        assert!(!front.contains('{'), "every field filled: {front}");
        assert_eq!(text(&b, PROJECT_README), "# For teachers and developers\n");
        // A handout's own handout (a grading tree in a handout) keeps both.
        let again = handout(&b, "b").unwrap();
        assert_eq!(text(&again, README), front);
        assert_eq!(text(&again, PROJECT_README), text(&b, PROJECT_README));
    }

    #[test]
    fn each_lab_gets_stubs_its_dependencies_solutions_later_labs_bases() {
        let t = course();
        let b = handout(&t, "b").unwrap();
        assert_eq!(
            text(&b, "src/x.rs"),
            concat!(
                "fn one() {\n",
                "    solve_one(first, second);\n",
                "}\n",
                "fn two() {\n",
                "    lab_todo!(\"b\", \"two\")\n",
                "}\n",
                "three = base\n",
            )
        );
        let a = handout(&t, "a").unwrap();
        assert!(text(&a, "src/x.rs").contains("    lab_todo!(\"a\", \"one\")\n"));
        assert!(text(&a, "src/x.rs").contains("    lab_todo!(\"b\", \"two\")\n"));
        let c = handout(&t, "c").unwrap();
        assert!(text(&c, "src/x.rs").contains("solve_two(first);\n"));
        assert!(text(&c, "src/x.rs").ends_with("}\nthree = todo\n"));
        for (h, lab) in [(&a, "a"), (&b, "b"), (&c, "c")] {
            assert!(!text(h, "src/x.rs").contains("LAB "), "no marker remains");
            assert_eq!(text(h, "docs/labs.md"), text(&t, "docs/labs.md"));
            assert_eq!(
                h.len(),
                t.len() + 2 - 3,
                "every file but the stubs, the stamp and the front page"
            );
            assert!(
                !h.keys().any(|p| p.contains("stubs")),
                "{lab}: no stub file"
            );
            assert!(text(h, HANDOUT_STAMP).ends_with(&format!("lab = \"{lab}\"\n")));
        }
    }

    #[test]
    fn no_handout_has_a_mutant_and_the_stamp_names_the_lab() {
        let mut t = course();
        // A mutant's patch carries solution lines as its context.
        t.insert(
            "labs/b/mutants/wrong.patch".into(),
            b"@@ -1 +1 @@\n     solve_two(first);\n-x\n+y\n".to_vec(),
        );
        for lab in ["a", "b", "c"] {
            let h = handout(&t, lab).unwrap();
            assert!(!h.keys().any(|p| p.contains("mutants")), "{lab}");
        }
        let dir = std::env::temp_dir().join(format!("xv6-stamp-{}", std::process::id()));
        write_tree(&handout(&t, "b").unwrap(), &dir).unwrap();
        assert_eq!(handout_of(&dir).as_deref(), Some("b"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(handout_of(&paths::root().join("src")), None);
    }

    #[test]
    fn the_leak_check_finds_a_solution_line_elsewhere() {
        let mut t = course();
        t.insert(
            "src/y.rs".into(),
            b"fn cheat() {\n        solve_two(first);\n}\n".to_vec(),
        );
        let e = handout(&t, "b").unwrap_err();
        assert_eq!(
            e,
            "the handout leaks a solution: src/y.rs:2 is \"solve_two(first);\", \
             a line of b/two's solution (src/x.rs:8); change one of the two"
        );
        // For lab c, b's solution is given: no leak.
        assert!(handout(&t, "c").is_ok());
    }

    #[test]
    fn bad_labs_and_markers_stop_the_export() {
        let t = course();
        let e = handout(&t, "d").unwrap_err();
        assert_eq!(e, "unknown lab \"d\" (labs: a, b, c)");
        let e = handout(&tree(&[("src/x.rs", "x\n")]), "a").unwrap_err();
        assert_eq!(e, "unknown lab \"a\" (labs: none: no labs/<lab>/lab.toml)");
        let mut bad = course();
        bad.insert("src/z.S".into(), b"nop\n; LAB a/one END\n".to_vec());
        let e = handout(&bad, "a").unwrap_err();
        assert!(e.starts_with("src/z.S:2: "), "{e}");
        let mut cyc = course();
        cyc.insert(
            "labs/a/lab.toml".into(),
            b"title = \"A\"\ndepends = [\"c\"]\nfiles = []\n".to_vec(),
        );
        assert_eq!(
            handout(&cyc, "a").unwrap_err(),
            "lab \"a\" depends on itself"
        );
    }

    #[test]
    fn stub_files_must_pair_with_regions() {
        let mut moved = course();
        let stubs = moved.remove("labs/b/stubs/src/x.rs").unwrap();
        moved.insert("labs/b/stubs/src/old.rs".into(), stubs);
        assert_eq!(
            handout(&moved, "a").unwrap_err(),
            "src/x.rs:7: region b/two has no stub text: labs/b/stubs/src/x.rs is missing"
        );
        moved.insert(
            "labs/b/stubs/src/x.rs".into(),
            course()["labs/b/stubs/src/x.rs"].clone(),
        );
        assert_eq!(
            handout(&moved, "a").unwrap_err(),
            "labs/b/stubs/src/old.rs: stub text without a region: src/old.rs has no region of \
             lab b (moved? the stub file follows its source: labs/b/stubs/<source>)"
        );
        let mut stray = course();
        stray.insert("labs/d/stubs/src/x.rs".into(), b"".to_vec());
        let e = handout(&stray, "a").unwrap_err();
        assert!(
            e.contains("a stub file of \"d\", which is not a lab"),
            "{e}"
        );
        let mut inline = course();
        inline.insert(
            "src/y.rs".into(),
            b"// LAB a/y BEGIN\nx\n// LAB a/y STUB\n// LAB a/y END\n".to_vec(),
        );
        let e = handout(&inline, "a").unwrap_err();
        assert!(
            e.starts_with("src/y.rs:3: Stub marker in the solution tree"),
            "{e}"
        );
    }

    #[test]
    fn telling_lines_have_two_words() {
        for trivial in [
            "}",
            "",
            "    else {",
            "});",
            "None",
            "loop {",
            "return Ok(());",
            "return Ok(None);",
            "// SAFETY: as above.",
            "// SAFETY: the page is ours",
            "Some(va)",
            "use crate::mmu::{PTE_COW, PTFlags};",
        ] {
            assert!(!telling(trivial), "{trivial:?}");
        }
        for told in [
            "self.head = Some(va);",
            "return Err(KfreeError::DoubleFree { va });",
            "unsafe { self.list.free(va) } // the rest",
        ] {
            assert!(telling(told), "{told:?}");
        }
    }
}
