//! Every recipe in a lab's README runs as written, so that none can rot:
//! the test reads the README's recipe blocks and runs what they say, and
//! the output must show what the block shows.
//!
//! A GDB recipe is a fenced block whose info string is `text gdb-recipe`,
//! followed by run-qemu.sh's options for the boot (words split as a shell
//! would, quotes kept together):
//!
//! ````text
//! ```text gdb-recipe --cmdline ktest=kalloc_order
//! (gdb) hbreak xv6::kalloc::kinit2
//! (gdb) continue
//! Breakpoint 1, xv6::kalloc::kinit2 (...) at src/kalloc.rs:...
//! ```
//! ````
//!
//! The test boots with `--gdb` and those options, then runs GDB as the
//! README tells a student to (`gdb -nx -x .gdbinit`) with the block's
//! `(gdb) ` lines as commands (a `#` after a blank starts a comment). A
//! shell recipe, `text recipe`, is a transcript: each `$ ` line is run by
//! `sh -c` in the project's root. The other lines of a block are output:
//! each must match a line of the output, in the block's order, blanks
//! compared as one and `...` standing for any text (a line that is `...`
//! alone stands for nothing: lines between are skipped anyway). GDB's
//! output must hold no warning. A transcript of the handout (`text
//! handout`) runs only there, and the labs' self-check boots it.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The labs whose READMEs hold recipes.
const LABS: [&str; 5] = ["boot", "kalloc", "percpu", "pages", "cow"];

/// What a recipe block's info string starts with.
const GDB_RECIPE: &str = "text gdb-recipe";
const SHELL_RECIPE: &str = "text recipe";

/// A transcript of the handout (it stops at a stub): not run here.
const HANDOUT_TRANSCRIPT: &str = "text handout";

/// A command's prompt in a recipe block.
const GDB_PROMPT: &str = "(gdb) ";
const SHELL_PROMPT: &str = "$ ";

/// Longest GDB may take for a recipe (the boot includes a build).
const GDB_LIMIT: Duration = Duration::from_secs(600);
/// Longest a shell recipe's command may take.
const SHELL_LIMIT: Duration = Duration::from_secs(900);

/// One step of a recipe: a command, then the lines its output must show.
#[derive(Debug)]
struct Step {
    command: String,
    shows: Vec<String>,
}

#[derive(Debug)]
enum Kind {
    /// run-qemu.sh's boot options (after `--gdb`).
    Gdb(Vec<String>),
    Shell,
}

/// A recipe block of a README, at `line` (1-based, its fence).
#[derive(Debug)]
struct Recipe {
    file: String,
    line: usize,
    kind: Kind,
    steps: Vec<Step>,
}

/// `s` split into words as a shell would: blanks separate, single or
/// double quotes keep a word together (and are dropped).
fn shell_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let (mut word, mut quote, mut any) = (String::new(), None, false);
    for c in s.chars() {
        match (quote, c) {
            (None, '\'' | '"') => (quote, any) = (Some(c), true),
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if any {
                    words.push(std::mem::take(&mut word));
                }
                any = false;
            }
            (_, c) => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(word);
    }
    words
}

/// A command line of a block, its comment (` #` on) cut off.
fn command(line: &str) -> String {
    let cut = line
        .char_indices()
        .find(|&(i, c)| c == '#' && line[..i].ends_with(char::is_whitespace))
        .map_or(line.len(), |(i, _)| i);
    line[..cut].trim().to_string()
}

/// The recipe blocks of `text`, the README `file`.
fn recipes(file: &str, text: &str) -> Vec<Recipe> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let fence = line.trim_start();
        let indent = line.len() - fence.len();
        let Some(info) = fence.strip_prefix("```") else {
            continue;
        };
        let (kind, prompt) = if let Some(opts) = info.strip_prefix(GDB_RECIPE) {
            (Kind::Gdb(shell_words(opts)), GDB_PROMPT)
        } else if info.trim() == SHELL_RECIPE {
            (Kind::Shell, SHELL_PROMPT)
        } else {
            // Any other block: skip to its end.
            for (_, l) in lines.by_ref() {
                if l.trim() == "```" {
                    break;
                }
            }
            continue;
        };
        let mut steps: Vec<Step> = Vec::new();
        for (_, l) in lines.by_ref() {
            if l.trim() == "```" {
                break;
            }
            let l = l.get(indent..).unwrap_or(l.trim_start());
            match l.strip_prefix(prompt) {
                Some(c) => steps.push(Step {
                    command: command(c),
                    shows: vec![],
                }),
                None if l.trim().is_empty() || l.trim() == "..." => {}
                None => steps
                    .last_mut()
                    .unwrap_or_else(|| panic!("{file}:{}: output before any command", n + 1))
                    .shows
                    .push(l.to_string()),
            }
        }
        out.push(Recipe {
            file: file.to_string(),
            line: n + 1,
            kind,
            steps,
        });
    }
    out
}

/// Blanks made one, ends trimmed.
fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether output line `line` is what `want` shows: equal, blanks
/// squeezed, each `...` of `want` standing for any text.
fn matches(want: &str, line: &str) -> bool {
    let (want, line) = (squeeze(want), squeeze(line));
    let parts: Vec<&str> = want.split("...").collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return want == line;
    }
    if !line.starts_with(first) || !line.ends_with(last) || line.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &line[first.len()..line.len() - last.len()];
    for p in &parts[1..parts.len() - 1] {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    true
}

/// Check that `out` shows the lines `shows`, in order, from line `from`
/// on; the line after the last one matched.
fn shown(out: &[&str], from: usize, shows: &[String], what: &str, all: &str) -> usize {
    let mut at = from;
    for want in shows {
        let found = out[at..].iter().position(|l| matches(want, l));
        let i = found.unwrap_or_else(|| {
            panic!("{what}: no line {want:?} in the output (from line {at} on):\n{all}")
        });
        at += i + 1;
    }
    at
}

/// The project's root.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A TCP port nobody listens on now (the tests run in parallel).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    l.local_addr().unwrap().port()
}

/// Run GDB recipe `r`: boot with `--gdb` and its options, run GDB in batch
/// with its commands, check its output.
fn run_gdb(r: &Recipe, boot: &[String]) {
    let what = format!("{}:{}", r.file, r.line);
    let port = free_port().to_string();
    let mut args = vec!["--gdb"];
    args.extend(boot.iter().map(String::as_str));
    let o = xtask::launch::options(&args, &[("GDBPORT", &port)]);
    let qemu = xtask::session::Session::launch(&o, GDB_LIMIT).expect("boot with --gdb");
    let mut gdb = Command::new("gdb");
    gdb.current_dir(root())
        .env("GDBPORT", &port)
        // QEMU may still be building; then the README's command.
        .args(["-batch", "-iex", "set tcp connect-timeout 300"])
        .args(["-nx", "-x", ".gdbinit"]);
    for s in &r.steps {
        gdb.args(["-ex", &s.command]);
    }
    gdb.args(["-ex", "detach"]);
    let ran = xtask::bounded::capture(&mut gdb, b"", Some(GDB_LIMIT), true).expect("run gdb");
    drop(qemu); // kills QEMU
    let out = ran.out;
    assert!(ran.status.is_some(), "{what}: GDB did not end:\n{out}");
    assert!(
        !out.to_lowercase().contains("warning:"),
        "{what}: GDB warned:\n{out}"
    );
    let lines: Vec<&str> = out.lines().collect();
    let shows: Vec<String> = r.steps.iter().flat_map(|s| s.shows.clone()).collect();
    shown(&lines, 0, &shows, &what, &out);
}

/// Run shell recipe `r`: each command, then check its output.
fn run_shell(r: &Recipe) {
    for s in &r.steps {
        let what = format!("{}:{}: {}", r.file, r.line, s.command);
        let mut sh = Command::new("sh");
        sh.args(["-c", &s.command]).current_dir(root());
        let ran = xtask::bounded::capture(&mut sh, b"", Some(SHELL_LIMIT), true).expect("run sh");
        assert_eq!(
            ran.status,
            Some(0),
            "{what}: ended with {:?}:\n{}",
            ran.status,
            ran.out
        );
        let lines: Vec<&str> = ran.out.lines().collect();
        shown(&lines, 0, &s.shows, &what, &ran.out);
    }
}

/// The recipes of lab `lab`'s README.
fn lab_recipes(lab: &str) -> Vec<Recipe> {
    let file = format!("labs/{lab}/README.md");
    let text =
        std::fs::read_to_string(root().join(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    recipes(&file, &text)
}

/// Run every recipe of lab `lab`'s README: at least one GDB recipe.
fn run_lab(lab: &str) {
    let rs = lab_recipes(lab);
    assert!(
        rs.iter().any(|r| matches!(r.kind, Kind::Gdb(_))),
        "labs/{lab}/README.md has no GDB recipe"
    );
    for r in &rs {
        match &r.kind {
            Kind::Gdb(boot) => run_gdb(r, boot),
            Kind::Shell => run_shell(r),
        }
    }
}

#[test]
fn boot_recipes_run_as_written() {
    run_lab("boot");
}

#[test]
fn kalloc_recipes_run_as_written() {
    run_lab("kalloc");
}

#[test]
fn percpu_recipes_run_as_written() {
    run_lab("percpu");
}

#[test]
fn pages_recipes_run_as_written() {
    run_lab("pages");
}

#[test]
fn cow_recipes_run_as_written() {
    run_lab("cow");
}

/// A block that looks like a recipe (GDB's prompt, a monitor run, a host
/// test) must be marked, so that the test runs it.
#[test]
fn every_recipe_block_of_the_labs_is_marked() {
    for lab in LABS {
        let file = format!("labs/{lab}/README.md");
        let text = std::fs::read_to_string(root().join(&file)).unwrap();
        let mut open: Option<(usize, String)> = None;
        for (n, line) in text.lines().enumerate() {
            let t = line.trim();
            match (&mut open, t.strip_prefix("```")) {
                (None, Some(info)) => open = Some((n + 1, info.to_string())),
                (Some(_), Some("")) => open = None,
                (Some((at, info)), None) => {
                    let recipe_like = t.starts_with(GDB_PROMPT)
                        || t.contains("--monitor")
                        || t.starts_with("cargo test");
                    let marked = info.starts_with(GDB_RECIPE)
                        || info == SHELL_RECIPE
                        || info == HANDOUT_TRANSCRIPT;
                    assert!(
                        !recipe_like || marked,
                        "{file}:{at}: a block with {t:?} is a recipe: mark it `{GDB_RECIPE} \
                         <options>` or `{SHELL_RECIPE}` (tests/recipes.rs runs it)"
                    );
                }
                _ => {}
            }
        }
    }
}

#[test]
fn a_recipe_block_is_read_as_commands_and_the_lines_they_show() {
    let text = "intro\n  ```text gdb-recipe --smp 2 --cmdline 'kalloc=percpu ktest=steal'\n  (gdb) hbreak f   # why\n  Breakpoint 1, f (...) at a.rs:...\n  ...\n  (gdb) x/wx 0x10\n  0x10: 0x01\n  ```\n```sh\n(gdb) not a recipe\n```\n```text recipe\n$ cargo test --lib x\ntest result: ok. ...\n```\n";
    let rs = recipes("R.md", text);
    assert_eq!(rs.len(), 2, "{rs:#?}");
    let Kind::Gdb(boot) = &rs[0].kind else {
        panic!("{rs:#?}")
    };
    assert_eq!(
        boot,
        &["--smp", "2", "--cmdline", "kalloc=percpu ktest=steal"]
    );
    assert_eq!(rs[0].line, 2);
    let steps: Vec<(&str, Vec<&str>)> = rs[0]
        .steps
        .iter()
        .map(|s| {
            (
                s.command.as_str(),
                s.shows.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("hbreak f", vec!["Breakpoint 1, f (...) at a.rs:..."]),
            ("x/wx 0x10", vec!["0x10: 0x01"])
        ]
    );
    assert!(matches!(rs[1].kind, Kind::Shell));
    assert_eq!(rs[1].steps[0].command, "cargo test --lib x");
    assert!(matches(
        "Breakpoint 1, f (...) at a.rs:...",
        "Breakpoint 1, f (a=1,  b=2) at a.rs:12"
    ));
    assert!(!matches(
        "Breakpoint 1, f (...) at a.rs:...",
        "Breakpoint 2, f (a=1) at a.rs:12"
    ));
    assert!(matches("0x10: 0x01 0x02", "0x10:\t0x01\t0x02"));
    assert!(!matches("0x10: 0x01", "0x10: 0x012"));
    let out = ["a", "b", "c"];
    assert_eq!(shown(&out, 0, &["a".into(), "c".into()], "t", ""), 3);
}
