//! No accidental import circle. Each file of a crate is a module; its
//! `use crate::...` lines and the `crate::...` paths in its code are its
//! arrows to other files. Files that reach each other through arrows form a
//! circle, and a circle is allowed only where the design has it on purpose:
//! the list below names each one and why. A new circle, or an allowed one
//! that grows by a file, fails with the arrows that close it; an allowed
//! circle that is gone fails too, so that the list stays true.
//!
//! Not arrows: a module's `mod child;` (a child is part of its parent),
//! `super::` paths, paths in comments, and test files (`tests.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A circle the design keeps on purpose: its files, and why.
struct Allowed {
    files: &'static [&'static str],
    why: &'static str,
}

/// The kernel's circles: xv6's own.
const KERNEL: &[Allowed] = &[
    Allowed {
        files: &["src/cpu.rs", "src/lockorder.rs", "src/spinlock.rs"],
        why: "xv6's spinlock.c and proc.c: a spin lock turns interrupts off on its CPU \
              (pushcli counts in the CPU's state), and the CPU's state is read with them off; \
              the lock-order check reads the ranks the CPU holds",
    },
    Allowed {
        files: &[
            "src/console.rs",
            "src/exec.rs",
            "src/file.rs",
            "src/ide.rs",
            "src/kbd.rs",
            "src/pipe.rs",
            "src/proc.rs",
            "src/syscall.rs",
            "src/sysfile.rs",
            "src/sysproc.rs",
            "src/trap.rs",
            "src/uart.rs",
        ],
        why: "xv6's own, through defs.h: a trap enters a system call, which runs file, \
              pipe, exec and process code, which sleeps, wakes and exits processes (closing \
              their files); the console's interrupt hands each byte from the keyboard or \
              serial port to a reading process (Ctrl-P lists the processes), and the \
              console writes to the serial port; the IDE disk's interrupt completes a \
              request and wakes the process sleeping on it",
    },
];

/// The runner's circles: none.
const RUNNER: &[Allowed] = &[];

#[test]
fn the_kernel_has_only_xv6s_own_circles() {
    check(&read_crate("src"), KERNEL).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn the_runner_has_no_new_circle() {
    for dir in ["xtask/src", "xtask/lab/src", "xtask/cli/src"] {
        check(&read_crate(dir), RUNNER).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// Every `.rs` file under `dir` (from the repository's root), by its path
/// from the root, with its text.
fn read_crate(dir: &str) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let name = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                files.insert(name, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = BTreeMap::new();
    walk(root, &root.join(dir), &mut files);
    assert!(!files.is_empty(), "no Rust files under {dir}");
    files
}

/// The crate's circles against the allowed ones: Err names each circle
/// that is not allowed (with its arrows) and each allowed one that is gone.
fn check(files: &BTreeMap<String, String>, allowed: &[Allowed]) -> Result<(), String> {
    let arrows = arrows(files);
    let found = circles(&arrows);
    let allowed_sets: Vec<BTreeSet<String>> = allowed
        .iter()
        .map(|a| a.files.iter().map(|f| f.to_string()).collect())
        .collect();
    let mut errors = Vec::new();
    for circle in found.iter().filter(|c| !allowed_sets.contains(c)) {
        let mut text = format!(
            "an import circle of {} files that no allowance names:\n",
            circle.len()
        );
        for from in circle {
            for (to, path) in &arrows[from] {
                if circle.contains(to) {
                    text += &format!("  {from} -> {to}: {path}\n");
                }
            }
        }
        errors.push(text);
    }
    for (set, a) in allowed_sets.iter().zip(allowed) {
        if !found.contains(set) {
            errors.push(format!(
                "the allowed circle {:?} ({}) is no longer one: take it off the list\n",
                a.files, a.why
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.concat())
    }
}

/// Whether `file` is a test file (no module of the code under test).
fn is_test(file: &str) -> bool {
    file.ends_with("/tests.rs") || file.contains("/tests/")
}

/// The module path a file defines: `src/a/b.rs` and `src/a/b/mod.rs` are
/// `a::b`; the crate roots (`lib.rs`, `main.rs`) are the empty path.
fn module_of(file: &str) -> Vec<String> {
    let rel = file.split_once("src/").map_or(file, |(_, rel)| rel);
    let mut parts: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if matches!(parts.as_slice(), [p] if p == "lib" || p == "main") {
        parts.clear();
    }
    parts
}

/// Each file's arrows: the files its `crate::` paths reach, each with the
/// first path seen (what the failure message shows).
fn arrows(files: &BTreeMap<String, String>) -> BTreeMap<String, BTreeMap<String, String>> {
    let modules: BTreeMap<Vec<String>, &String> = files
        .keys()
        .filter(|f| !is_test(f))
        .map(|f| (module_of(f), f))
        .collect();
    let mut arrows = BTreeMap::new();
    for (file, text) in files.iter().filter(|(f, _)| !is_test(f)) {
        let mine: &mut BTreeMap<String, String> = arrows.entry(file.clone()).or_default();
        for path in crate_paths(&strip_comments(text)) {
            // The longest prefix of the path that is a file's module.
            let target = (1..=path.len()).rev().find_map(|n| modules.get(&path[..n]));
            if let Some(&to) = target
                && to != file
                && !is_test(to)
            {
                mine.entry(to.clone())
                    .or_insert_with(|| format!("crate::{}", path.join("::")));
            }
        }
    }
    arrows
}

/// The circles: sets of two or more files each of which reaches every
/// other through arrows (the strongly connected components).
fn circles(arrows: &BTreeMap<String, BTreeMap<String, String>>) -> Vec<BTreeSet<String>> {
    let reach = |from: &String| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(f) = todo.pop() {
            for to in arrows.get(&f).into_iter().flat_map(|m| m.keys()) {
                if seen.insert(to.clone()) {
                    todo.push(to.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&String, BTreeSet<String>> =
        arrows.keys().map(|f| (f, reach(f))).collect();
    let mut circles: Vec<BTreeSet<String>> = Vec::new();
    for (file, reached) in &reaches {
        let circle: BTreeSet<String> = reached
            .iter()
            .filter(|other| reaches.get(other).is_some_and(|r| r.contains(*file)))
            .cloned()
            .chain([(*file).clone()])
            .collect();
        if circle.len() > 1 && !circles.contains(&circle) {
            circles.push(circle);
        }
    }
    circles
}

/// The text without its comments (`//` to the end of the line, outside a
/// string; `/* ... */`), so that a doc link is no arrow.
fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    let mut in_block = false;
    for line in text.lines() {
        let mut rest = line;
        loop {
            if in_block {
                match rest.find("*/") {
                    Some(end) => {
                        rest = &rest[end + 2..];
                        in_block = false;
                    }
                    None => break,
                }
            } else {
                let quotes_before = |i: usize| rest[..i].matches('"').count();
                let line_comment = rest
                    .match_indices("//")
                    .map(|(i, _)| i)
                    .find(|&i| quotes_before(i) % 2 == 0);
                let block = rest
                    .match_indices("/*")
                    .map(|(i, _)| i)
                    .find(|&i| quotes_before(i) % 2 == 0);
                match (line_comment, block) {
                    (Some(l), b) if b.is_none_or(|b| l < b) => {
                        out += &rest[..l];
                        break;
                    }
                    (_, Some(b)) => {
                        out += &rest[..b];
                        rest = &rest[b + 2..];
                        in_block = true;
                    }
                    _ => {
                        out += rest;
                        break;
                    }
                }
            }
        }
        out.push('\n');
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path the text names after `crate::`, as its segments; a `use`
/// group (`crate::{a, b::{c, d as e}}`) gives a path for each member.
fn crate_paths(text: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    for (at, _) in text.match_indices("crate::") {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| is_ident(c) || c == '$') {
            continue; // `$crate::` or a longer name ending in "crate"
        }
        let mut tree = UseTree {
            text: &text[at + "crate::".len()..],
        };
        tree.read(Vec::new(), &mut paths);
    }
    paths
}

/// What is left to read of a path or use-tree: `a::b::{c, d::*, e as f}`.
struct UseTree<'a> {
    text: &'a str,
}

impl UseTree<'_> {
    fn skip_space(&mut self) {
        self.text = self.text.trim_start();
    }

    fn eat(&mut self, token: &str) -> bool {
        match self.text.strip_prefix(token) {
            Some(rest) => {
                self.text = rest;
                true
            }
            None => false,
        }
    }

    fn ident(&mut self) -> String {
        let len = self.text.find(|c| !is_ident(c)).unwrap_or(self.text.len());
        let (name, rest) = self.text.split_at(len);
        self.text = rest;
        name.to_string()
    }

    /// Read one tree after `prefix`, pushing each path it names.
    fn read(&mut self, mut prefix: Vec<String>, paths: &mut Vec<Vec<String>>) {
        loop {
            self.skip_space();
            if self.eat("{") {
                loop {
                    self.skip_space();
                    let before = self.text.len();
                    if self.eat("}") {
                        return;
                    }
                    self.read(prefix.clone(), paths);
                    self.skip_space();
                    self.eat(",");
                    if self.text.len() == before {
                        return; // not a use-tree after all
                    }
                }
            }
            if self.eat("*") {
                paths.push(prefix);
                return;
            }
            let name = self.ident();
            if name.is_empty() || name == "self" {
                paths.push(prefix);
                return;
            }
            prefix.push(name);
            if !self.eat("::") {
                paths.push(prefix);
                self.skip_space();
                if self.text.starts_with("as") && self.text[2..].starts_with(char::is_whitespace) {
                    self.eat("as");
                    self.skip_space();
                    self.ident();
                }
                return;
            }
        }
    }
}

/// The finder on files given here, not read from disk.
#[cfg(test)]
mod finder {
    use super::*;

    fn files(list: &[(&str, &str)]) -> BTreeMap<String, String> {
        list.iter()
            .map(|(f, t)| (f.to_string(), t.to_string()))
            .collect()
    }

    fn paths(text: &str) -> Vec<String> {
        crate_paths(text).iter().map(|p| p.join("::")).collect()
    }

    #[test]
    fn use_groups_give_a_path_for_each_member() {
        assert_eq!(
            paths("use crate::{a, b::{self, c::D as E}, f::*, println};\nfn g() {}"),
            ["a", "b", "b::c::D", "f", "println"]
        );
        assert_eq!(
            paths("use crate::{\n    a::{X, Y},\n    b,\n};"),
            ["a::X", "a::Y", "b"]
        );
        assert_eq!(
            paths("let x = crate::vm::kpgdir(); $crate::print!(); mycrate::z();"),
            ["vm::kpgdir"]
        );
    }

    #[test]
    fn comments_are_no_arrows() {
        let text = "/// see [`crate::a::f`]\nuse crate::b; // not crate::c\n/* crate::d */ \
                    let s = \"http://x\"; crate::e::g();";
        assert_eq!(paths(&strip_comments(text)), ["b", "e::g"]);
    }

    #[test]
    fn a_path_reaches_the_deepest_file_it_names() {
        let tree = files(&[
            ("src/lib.rs", "pub mod a; pub mod b;"),
            ("src/a.rs", "use crate::b::c::Thing; use crate::println;"),
            ("src/b.rs", "pub mod c;"),
            ("src/b/c.rs", ""),
            ("src/b/tests.rs", "use crate::a::x;"),
        ]);
        let arrows = arrows(&tree);
        assert_eq!(
            arrows["src/a.rs"].keys().collect::<Vec<_>>(),
            ["src/b/c.rs"],
            "println is the crate root's, no file's"
        );
        assert!(
            !arrows.contains_key("src/b/tests.rs"),
            "tests are no modules"
        );
    }

    #[test]
    fn a_new_circle_fails_naming_its_arrows() {
        let chain = [
            ("src/a.rs", "use crate::b::f;"),
            ("src/b.rs", "fn g() { crate::c::h() }"),
            ("src/c.rs", ""),
        ];
        assert_eq!(check(&files(&chain), &[]), Ok(()));
        let mut closed = chain;
        closed[2].1 = "use crate::a;";
        let err = check(&files(&closed), &[]).unwrap_err();
        assert!(err.contains("an import circle of 3 files"), "{err}");
        assert!(err.contains("src/b.rs -> src/c.rs: crate::c::h"), "{err}");
        assert!(err.contains("src/c.rs -> src/a.rs: crate::a"), "{err}");
    }

    #[test]
    fn an_allowed_circle_passes_but_not_once_it_grows() {
        const PAIR: &[Allowed] = &[Allowed {
            files: &["src/a.rs", "src/b.rs"],
            why: "on purpose",
        }];
        let pair = [
            ("src/a.rs", "use crate::b;"),
            ("src/b.rs", "use crate::a;"),
            ("src/c.rs", "use crate::a;"),
        ];
        assert_eq!(check(&files(&pair), PAIR), Ok(()));
        let mut grown = pair;
        grown[0].1 = "use crate::{b, c};";
        let err = check(&files(&grown), PAIR).unwrap_err();
        assert!(err.contains("an import circle of 3 files"), "{err}");
        assert!(err.contains("is no longer one"), "{err}");
    }

    #[test]
    fn an_allowance_for_a_circle_that_is_gone_fails() {
        const GONE: &[Allowed] = &[Allowed {
            files: &["src/a.rs", "src/b.rs"],
            why: "once",
        }];
        let err = check(
            &files(&[("src/a.rs", "use crate::b;"), ("src/b.rs", "")]),
            GONE,
        )
        .unwrap_err();
        assert!(
            err.contains("[\"src/a.rs\", \"src/b.rs\"] (once) is no longer one"),
            "{err}"
        );
    }
}
