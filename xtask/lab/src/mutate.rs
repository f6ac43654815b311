//! `./run-qemu.sh --lab-mutate <lab> [--limit N]`, the teacher's mutation
//! sweep: mutants of the lab's solution regions made mechanically (delete
//! a statement, flip a comparison, shift a bound by one, drop an `invlpg`,
//! a flush or a lock's call, swap two adjacent statements), each graded in
//! a scratch grading tree as the self-check grades the hand-written
//! mutants, and a report, `target/lab-mutate/<lab>.md`: the counts and
//! each survivor with its diff. A survivor the lab's
//! `labs/<lab>/mutants/survivors.md` explains (a line
//! `` - `<key>`: why ``) is counted as explained. The generator is pure
//! (text in, mutants out) and unit-tested; the sweep is not part of
//! `--test` (minutes per lab, docs/labs.md).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use super::batch::GradingTree;
use super::export;
use super::grade;
use super::manifest::{self, Check, Manifest};
use super::markers::{self, Region};
use xtask::{Error, NAME, Result, kernel::io_error, paths, status};

/// What a mutant does to the solution, in the order a sweep with a limit
/// takes them (one of each kind in turn).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A statement that calls `invlpg`, a TLB flush, a lock or `drop` is
    /// deleted.
    DropCall,
    /// A comparison flipped (`<` and `<=`, `>` and `>=`, `==` and `!=`),
    /// or a `!` dropped.
    Flip,
    /// A bound shifted by one: an integer literal +1 or -1, a range `..`
    /// made `..=`.
    Bound,
    /// A statement deleted.
    Delete,
    /// Two adjacent statements swapped.
    Swap,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::DropCall,
        Kind::Flip,
        Kind::Bound,
        Kind::Delete,
        Kind::Swap,
    ];

    /// The report's word for it.
    pub fn word(self) -> &'static str {
        match self {
            Kind::DropCall => "drop call",
            Kind::Flip => "flip",
            Kind::Bound => "bound",
            Kind::Delete => "delete",
            Kind::Swap => "swap",
        }
    }
}

/// One mutant: lines `line..line + old.len()` (0-based) of `file` become
/// `new`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mutant {
    pub file: String,
    pub exercise: String,
    pub kind: Kind,
    pub line: usize,
    pub old: Vec<String>,
    pub new: Vec<String>,
    /// What was done, e.g. "flip < to <=".
    pub what: String,
}

impl Mutant {
    /// Its name in the report and in `survivors.md`, stable when lines
    /// move: the exercise, what was done and the code it was done to.
    pub fn key(&self) -> String {
        let code: Vec<&str> = self.old.iter().map(|l| l.trim()).collect();
        let key = format!("{}: {}: {}", self.exercise, self.what, code.join(" / "));
        key.replace('`', "'") // the survivors file quotes it in backticks
    }

    /// `text` (the file's) with the mutant applied.
    pub fn apply(&self, text: &str) -> String {
        let lines: Vec<&str> = text.lines().collect();
        let mut out: Vec<&str> = lines[..self.line].to_vec();
        out.extend(self.new.iter().map(String::as_str));
        out.extend(&lines[self.line + self.old.len()..]);
        let mut s = out.join("\n");
        if text.ends_with('\n') {
            s.push('\n');
        }
        s
    }

    /// A unified diff of the change to `text` (the file's), with
    /// [`CONTEXT`] lines around it: `git apply` takes it.
    pub fn diff(&self, text: &str) -> String {
        let lines: Vec<&str> = text.lines().collect();
        let from = self.line.saturating_sub(CONTEXT);
        let to = (self.line + self.old.len() + CONTEXT).min(lines.len());
        let before = &lines[from..self.line];
        let after = &lines[self.line + self.old.len()..to];
        let old_len = before.len() + self.old.len() + after.len();
        let new_len = before.len() + self.new.len() + after.len();
        let mut d = format!("--- a/{f}\n+++ b/{f}\n", f = self.file);
        let _ = writeln!(d, "@@ -{},{old_len} +{},{new_len} @@", from + 1, from + 1);
        before.iter().for_each(|l| d.push_str(&format!(" {l}\n")));
        self.old.iter().for_each(|l| d.push_str(&format!("-{l}\n")));
        self.new.iter().for_each(|l| d.push_str(&format!("+{l}\n")));
        after.iter().for_each(|l| d.push_str(&format!(" {l}\n")));
        d
    }
}

/// Lines of context around a change in a mutant's diff.
const CONTEXT: usize = 2;

/// The language of a file, from its name: the rules for comments and
/// statements differ. None: not code (an answers file), not mutated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lang {
    Rust,
    Asm,
}

fn lang(file: &str) -> Option<Lang> {
    match file.rsplit_once('.').map(|(_, e)| e) {
        Some("rs") => Some(Lang::Rust),
        Some("S") => Some(Lang::Asm),
        _ => None,
    }
}

/// Which bytes of `line` are inside a string literal (Rust's `"..."`):
/// nothing there is mutated.
fn in_string(line: &str) -> Vec<bool> {
    let mut mask = Vec::with_capacity(line.len());
    let (mut inside, mut escaped) = (false, false);
    for b in line.bytes() {
        match (inside, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (_, false, b'"') => {
                mask.push(true);
                inside = !inside;
                continue;
            }
            _ => {}
        }
        mask.push(inside);
    }
    mask
}

/// The code of `line`, its comment cut off (Rust's `//`, assembly's `#`
/// outside a string), trailing blanks removed.
fn code(line: &str, lang: Lang) -> &str {
    let mask = in_string(line);
    let leader = match lang {
        Lang::Rust => "//",
        Lang::Asm => "#",
    };
    let cut = line
        .match_indices(leader)
        .map(|(i, _)| i)
        .find(|&i| !mask[i])
        .unwrap_or(line.len());
    line[..cut].trim_end()
}

/// Whether the brackets of `code` balance on their own line.
fn balanced(code: &str) -> bool {
    let mask = in_string(code);
    let mut depth = 0i32;
    for (i, b) in code.bytes().enumerate() {
        if mask[i] {
            continue;
        }
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0
}

/// Whether the code line `i` of `codes` (the region's lines, comments cut
/// off) is a whole statement of one line: in Rust it ends with `;`, its
/// brackets balance, it is not a `use`, and the code before it ended a
/// statement or opened a block (so it is not the tail of a longer one); in
/// assembly any instruction (not a label or a directive).
fn statement(codes: &[&str], i: usize, lang: Lang) -> bool {
    let c = codes[i].trim();
    match lang {
        Lang::Asm => !c.is_empty() && !c.ends_with(':') && !c.starts_with('.'),
        Lang::Rust => {
            let before = codes[..i]
                .iter()
                .rev()
                .map(|c| c.trim())
                .find(|c| !c.is_empty());
            let starts = before.is_none_or(|b| b.ends_with([';', '{', '}']));
            c.ends_with(';')
                && balanced(c)
                && !c.starts_with("use ")
                && !c.starts_with('}')
                && starts
        }
    }
}

/// The names a `let` statement binds (its pattern's identifiers).
fn bound_names(c: &str) -> Vec<&str> {
    let Some(rest) = c.trim().strip_prefix("let ") else {
        return vec![];
    };
    let pattern = rest.split(['=', ':']).next().unwrap_or("");
    words(pattern).filter(|w| *w != "mut").collect()
}

/// The identifiers of `s`.
fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| {
            w.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
        })
}

/// Calls whose statement, deleted, is a [`Kind::DropCall`]: a TLB
/// invalidation, a flush, a lock taken or a guard dropped.
const DROPPED_CALLS: &[&str] = &["invlpg", "flush", "lock(", "hold(", "drop("];

/// The comparisons a flip swaps, each both ways (spaced, as rustfmt
/// writes a binary operator; a generic's `<T>` has no spaces).
const FLIPS: &[(&str, &str)] = &[
    (" < ", " <= "),
    (" <= ", " < "),
    (" > ", " >= "),
    (" >= ", " > "),
    (" == ", " != "),
    (" != ", " == "),
];

/// `line` with the byte range `at..at + len` replaced by `by`.
fn replaced(line: &str, at: usize, len: usize, by: &str) -> String {
    format!("{}{by}{}", &line[..at], &line[at + len..])
}

/// The one-line mutants of `line` (its code `c`): flips, dropped `!`s,
/// literals shifted by one, ranges made inclusive; each with what it
/// does.
fn line_mutants(line: &str, c: &str, lang: Lang) -> Vec<(Kind, String, String)> {
    let mask = in_string(line);
    let mut out = Vec::new();
    if lang == Lang::Rust {
        for (from, to) in FLIPS {
            for (i, _) in c.match_indices(from).filter(|(i, _)| !mask[*i + 1]) {
                let what = format!("flip {} to {}", from.trim(), to.trim());
                out.push((Kind::Flip, what, replaced(line, i, from.len(), to)));
            }
        }
        // A negation: `!` before a name or a bracket, not `!=` nor a macro's.
        let bytes = c.as_bytes();
        for i in (0..bytes.len()).filter(|&i| bytes[i] == b'!' && !mask[i]) {
            let prev = i.checked_sub(1).map(|p| bytes[p]);
            let next = bytes.get(i + 1).copied();
            let after_space = matches!(prev, None | Some(b' ' | b'(' | b'&'));
            let negates = next.is_some_and(|n| n.is_ascii_alphabetic() || n == b'(' || n == b'_');
            if after_space && negates {
                out.push((Kind::Flip, "drop !".into(), replaced(line, i, 1, "")));
            }
        }
        // A range made inclusive: `a..b` to `a..=b`.
        for (i, _) in c.match_indices("..").filter(|(i, _)| !mask[*i]) {
            let prev = i.checked_sub(1).map(|p| bytes[p]);
            let next = bytes.get(i + 2).copied();
            // Not a struct pattern's rest (`{ .. }`): a range's end follows
            // at once.
            let end_follows =
                next.is_some_and(|n| n.is_ascii_alphanumeric() || n == b'_' || n == b'(');
            if prev != Some(b'.') && end_follows {
                out.push((
                    Kind::Bound,
                    "make .. ..=".into(),
                    replaced(line, i, 2, "..="),
                ));
            }
        }
    }
    // Integer literals, decimal, not part of a name, a field (`.0`) or a hex.
    let bytes = c.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts = bytes[i].is_ascii_digit()
            && !mask[i]
            && i.checked_sub(1).is_none_or(|p| {
                !(bytes[p].is_ascii_alphanumeric() || matches!(bytes[p], b'_' | b'.'))
            });
        if !starts {
            i += 1;
            continue;
        }
        let end = (i..bytes.len())
            .find(|&j| !bytes[j].is_ascii_digit())
            .unwrap_or(bytes.len());
        let next = bytes.get(end).copied();
        let literal = &c[i..end];
        let plain = !next.is_some_and(|n| n.is_ascii_alphanumeric() || n == b'_' || n == b'.');
        if let (true, Ok(n)) = (plain, literal.parse::<u64>()) {
            let mut shifts = vec![n + 1];
            shifts.extend(n.checked_sub(1));
            for m in shifts {
                let what = format!("bound {n} to {m}");
                out.push((
                    Kind::Bound,
                    what,
                    replaced(line, i, end - i, &m.to_string()),
                ));
            }
        }
        i = end;
    }
    out
}

/// The mutants of lab `lab`'s regions in `file` (whose text is `text` and
/// whose regions, of every lab, are `regions`), in the order a sweep takes
/// them: one of each [`Kind`] in turn, each kind in the file's order; no
/// two give the same text, none gives the original.
pub fn generate(lab: &str, file: &str, text: &str, regions: &[Region]) -> Vec<Mutant> {
    let Some(lang) = lang(file) else {
        return vec![];
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut by_kind: Vec<Vec<Mutant>> = Kind::ALL.iter().map(|_| Vec::new()).collect();
    let mut add = |m: Mutant| by_kind[Kind::ALL.iter().position(|k| *k == m.kind).unwrap()].push(m);
    for r in regions.iter().filter(|r| r.lab == lab) {
        let first = r.begin + 1;
        let codes: Vec<&str> = lines[first..r.end].iter().map(|l| code(l, lang)).collect();
        let mutant = |kind, line: usize, old: &[&str], new: Vec<String>, what: String| Mutant {
            file: file.to_string(),
            exercise: r.exercise.clone(),
            kind,
            line,
            old: old.iter().map(|l| l.to_string()).collect(),
            new,
            what,
        };
        let mut previous: Option<usize> = None;
        for (k, c) in codes.iter().enumerate() {
            let at = first + k;
            let line = lines[at];
            if c.trim().is_empty() || c.trim_start().starts_with("use ") {
                continue;
            }
            for (kind, what, new) in line_mutants(line, c, lang) {
                add(mutant(kind, at, &[line], vec![new], what));
            }
            let stmt = statement(&codes, k, lang);
            let is_let = lang == Lang::Rust && c.trim_start().starts_with("let ");
            if stmt && !is_let {
                let kind = match DROPPED_CALLS.iter().any(|d| c.contains(d)) {
                    true => Kind::DropCall,
                    false => Kind::Delete,
                };
                add(mutant(
                    kind,
                    at,
                    &[line],
                    vec![],
                    "delete the statement".into(),
                ));
            }
            // Swap with the statement before, if the two are adjacent code
            // lines of one block and the second does not use what the first
            // binds.
            if let Some(p) = previous.filter(|_| stmt) {
                let (pl, pc) = (lines[first + p], codes[p]);
                let indent = |l: &str| l.len() - l.trim_start().len();
                let uses = bound_names(pc).iter().any(|n| words(c).any(|w| w == *n));
                let between_is_comment = codes[p + 1..k].iter().all(|c| c.trim().is_empty());
                if indent(pl) == indent(line) && !uses && between_is_comment && pc != *c {
                    let span: Vec<&str> = lines[first + p..=at].to_vec();
                    let mut new: Vec<String> = span.iter().map(|l| l.to_string()).collect();
                    let last = new.len() - 1;
                    new.swap(0, last);
                    let what = "swap two statements".to_string();
                    add(mutant(Kind::Swap, first + p, &span, new, what));
                }
            }
            previous = stmt.then_some(k);
        }
    }
    // One of each kind in turn.
    let mut out: Vec<Mutant> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let longest = by_kind.iter().map(Vec::len).max().unwrap_or(0);
    for i in 0..longest {
        for list in &by_kind {
            if let Some(m) = list.get(i) {
                let t = m.apply(text);
                if t != text && seen.insert(t) {
                    out.push(m.clone());
                }
            }
        }
    }
    out
}

/// The mutants of lab `m`'s regions in the files of `tracked` (this
/// tree's), file by file in the manifest's order, then each file's turns
/// interleaved so that a limit takes every file's first mutants.
pub fn mutants_of(
    m: &Manifest,
    tracked: &export::Tree,
) -> std::result::Result<Vec<Mutant>, String> {
    let labs = export::labs(tracked)?;
    let names: Vec<&str> = labs.keys().map(String::as_str).collect();
    let mut per_file = Vec::new();
    for f in &m.files {
        let Some(bytes) = tracked.get(f) else {
            continue;
        };
        let text = String::from_utf8_lossy(bytes);
        let regions = markers::parse(f, &text, &names).map_err(|e| e.to_string())?;
        per_file.push(generate(&m.name, f, &text, &regions));
    }
    let mut out = Vec::new();
    let longest = per_file.iter().map(Vec::len).max().unwrap_or(0);
    for i in 0..longest {
        out.extend(per_file.iter().filter_map(|l| l.get(i).cloned()));
    }
    Ok(out)
}

/// How one mutant's grading ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A test did not pass: its name, verdict word and reason's first line.
    Killed { test: String, verdict: String },
    /// The kernel did not build.
    Build,
    /// Every test passed, but the host's unit tests (`cargo test --lib`)
    /// fail: these, by name.
    Host(Vec<String>),
    /// Every test passed, and the host's unit tests too.
    Survived,
    /// The grading itself failed (not the mutant's doing).
    Error(String),
}

/// The survivors a lab's teacher has explained: `labs/<lab>/mutants/
/// survivors.md`, lines `` - `<key>`: why ``.
pub const SURVIVORS: &str = "survivors.md";

/// The explanations of `text` (a survivors file), by mutant key.
pub fn explanations(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("- `"))
        .filter_map(|l| l.split_once("`: "))
        .map(|(k, why)| (k.to_string(), why.trim().to_string()))
        .collect()
}

/// One graded mutant, for the report.
pub struct Graded {
    pub mutant: Mutant,
    pub outcome: Outcome,
    pub seconds: u64,
}

/// The report of a sweep: counts, a line per mutant, each survivor with
/// its diff and its explanation (or UNEXPLAINED). `texts` are the files'
/// solution texts, `why` the explanations.
pub fn report(
    lab: &str,
    generated: usize,
    graded: &[Graded],
    texts: &export::Tree,
    why: &[(String, String)],
    elapsed: Duration,
) -> String {
    let count = |f: &dyn Fn(&Outcome) -> bool| graded.iter().filter(|g| f(&g.outcome)).count();
    let killed = count(&|o| matches!(o, Outcome::Killed { .. }));
    let build = count(&|o| *o == Outcome::Build);
    let errors = count(&|o| matches!(o, Outcome::Error(_)));
    let host = count(&|o| matches!(o, Outcome::Host(_)));
    let survivors: Vec<&Graded> = graded
        .iter()
        .filter(|g| g.outcome == Outcome::Survived)
        .collect();
    let explained = |g: &Graded| {
        why.iter()
            .find(|(k, _)| *k == g.mutant.key())
            .map(|(_, w)| w.clone())
    };
    let unexplained = survivors.iter().filter(|g| explained(g).is_none()).count();
    let mut s = format!("# Mutation sweep of lab {lab}\n\n");
    let _ = writeln!(
        s,
        "{} of {generated} mutants graded in {} min {} s: {killed} killed by a test, {build} \
         killed by the build, {host} passed every test but failed the host's unit tests, {} \
         survived ({} explained, {unexplained} unexplained){}.\n",
        graded.len(),
        elapsed.as_secs() / 60,
        elapsed.as_secs() % 60,
        survivors.len(),
        survivors.len() - unexplained,
        match errors {
            0 => String::new(),
            n => format!(", {n} not graded (the grading failed)"),
        }
    );
    s.push_str("| # | kind | where | mutant | outcome | s |\n|---|---|---|---|---|---|\n");
    for (i, g) in graded.iter().enumerate() {
        let m = &g.mutant;
        let outcome = match &g.outcome {
            Outcome::Killed { test, verdict } => format!("killed by `{test}`: {verdict}"),
            Outcome::Build => "killed by the build".into(),
            Outcome::Host(t) => format!("passed every test; killed by the host's {}", t.join(", ")),
            Outcome::Survived => "**survived**".into(),
            Outcome::Error(e) => format!("not graded: {e}"),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {}:{} | `{}` | {} | {} |",
            i + 1,
            m.kind.word(),
            m.file,
            m.line + 1,
            m.key().replace('|', "\\|"),
            outcome.replace('|', "\\|"),
            g.seconds
        );
    }
    if !survivors.is_empty() {
        s.push_str("\n## Survivors\n");
    }
    for g in survivors {
        let m = &g.mutant;
        let text = texts
            .get(&m.file)
            .map(|b| String::from_utf8_lossy(b).into_owned());
        let _ = writeln!(s, "\n### `{}`\n", m.key());
        let _ = match explained(g) {
            Some(w) => writeln!(s, "Explained: {w}\n"),
            None => writeln!(
                s,
                "UNEXPLAINED: add a test that kills it, or a line `` - `{}`: why `` to \
                 labs/{lab}/{}/{SURVIVORS}\n",
                m.key(),
                manifest::MUTANTS_DIR
            ),
        };
        let _ = writeln!(s, "```diff\n{}```", m.diff(&text.unwrap_or_default()));
    }
    s
}

/// Longest one test's grading of a mutant may take: a build of the kernel
/// (a minute or two on a busy machine), then the boot.
const TEST_LIMIT: Duration = Duration::from_secs(15 * 60);

/// Grade what is in `tree` now, one test at a time in `order`, stopping at
/// the first that does not pass.
fn grade_fail_fast(tree: &GradingTree, order: &[String]) -> Result<Outcome> {
    let lab = &tree.lab.name;
    for test in order {
        let results = grade::report_path(&tree.dir, lab);
        let _ = std::fs::remove_file(&results);
        let ran = tree.run(&["--grade", lab, test], TEST_LIMIT)?;
        match ran.status {
            Some(status::POWEROFF) => continue,
            Some(status::NOT_FULL_MARKS) => {
                let r = grade::read_report(&results)?;
                let g = r
                    .tests
                    .first()
                    .ok_or_else(|| Error::new("an empty report"))?;
                let reason = g.verdict.reason();
                let first = reason.lines().next().unwrap_or("").to_string();
                return Ok(Outcome::Killed {
                    test: test.clone(),
                    verdict: format!("{} {first}", g.verdict.word()).trim().to_string(),
                });
            }
            _ if ran.out.contains(grade::DOES_NOT_BUILD) => return Ok(Outcome::Build),
            s => {
                let last = ran.out.lines().rev().find(|l| !l.trim().is_empty());
                return Ok(Outcome::Error(format!(
                    "status {s:?}: {}",
                    last.unwrap_or("").trim()
                )));
            }
        }
    }
    Ok(Outcome::Survived)
}

/// Longest the host's unit tests may take on a mutant (a build of the
/// library's tests, then the tests).
const HOST_LIMIT: Duration = Duration::from_secs(20 * 60);

/// Run the host's unit tests (`cargo test --lib`) in `tree`: the names of
/// those that fail (none: they pass). In a lab's grading tree the later
/// labs' exercises are stubs, so some fail for the solution too: the
/// sweep blames a mutant only for the others.
fn host_tests(tree: &GradingTree) -> Result<std::result::Result<(), Vec<String>>> {
    let mut cmd = std::process::Command::new("cargo");
    cmd.args(["test", "--lib", "--", "--test-threads=2"])
        .current_dir(&tree.dir);
    let ran = xtask::bounded::capture(&mut cmd, b"", Some(HOST_LIMIT), true)
        .map_err(|e| Error::new(format!("cannot run cargo: {e}")))?;
    if ran.status == Some(0) {
        return Ok(Ok(()));
    }
    let failed: Vec<String> = ran
        .out
        .lines()
        .filter_map(|l| l.strip_prefix("test ")?.strip_suffix(" ... FAILED"))
        .map(str::to_string)
        .collect();
    Ok(Err(match failed.is_empty() {
        true => vec![format!("(cargo test --lib ended with {:?})", ran.status)],
        false => failed,
    }))
}

/// The lab's boot tests (the answers check has nothing to mutate), in the
/// order a sweep tries them: those that killed most mutants so far first,
/// then the manifest's order.
fn test_order(m: &Manifest, kills: &std::collections::BTreeMap<String, usize>) -> Vec<String> {
    let mut names: Vec<(usize, String)> = m
        .tests
        .iter()
        .filter(|t| matches!(t.check, Check::Boot { .. }))
        .map(|t| t.name.clone())
        .enumerate()
        .collect();
    names.sort_by_key(|(i, n)| (std::cmp::Reverse(kills.get(n).copied().unwrap_or(0)), *i));
    names.into_iter().map(|(_, n)| n).collect()
}

/// `--lab-mutate <lab> [--limit N]`: the sweep; the exit status (FAILED if
/// a survivor is unexplained, or the solution itself does not score full
/// marks).
pub fn run(lab: &str, limit: Option<u32>) -> Result<i32> {
    let started = Instant::now();
    let tracked = export::tracked()?;
    let work = paths::scratch("lab-mutate");
    let tree = GradingTree::new(lab, &tracked, &work)?;
    let m = tree.lab.clone();
    let all = mutants_of(&m, &tracked).map_err(Error::new)?;
    let take = limit.map_or(all.len(), |n| (n as usize).min(all.len()));
    let out_dir = paths::at("target/lab-mutate");
    std::fs::create_dir_all(&out_dir).map_err(|e| io_error("create", &out_dir, e))?;
    let report_file = out_dir.join(format!("{lab}.md"));
    let why_file = paths::at(format!(
        "{}/{lab}/{}/{SURVIVORS}",
        manifest::LABS_DIR,
        manifest::MUTANTS_DIR
    ));
    let why = explanations(&std::fs::read_to_string(&why_file).unwrap_or_default());
    eprintln!(
        "{NAME} --lab-mutate {lab}: {} mutants of the solution's regions, grading {take} in {}",
        all.len(),
        tree.dir.display()
    );
    // The solution's files over the handout, as the self-check's solution
    // student; it must score full marks, or no mutant means anything.
    let solution = work.join("solution");
    if solution.exists() {
        std::fs::remove_dir_all(&solution).map_err(|e| io_error("remove", &solution, e))?;
    }
    let files: export::Tree = m
        .files
        .iter()
        .filter_map(|f| tracked.get(f).map(|b| (f.clone(), b.clone())))
        .collect();
    export::write_tree(&files, &solution)?;
    tree.overlay(&solution)?;
    let mut kills = std::collections::BTreeMap::new();
    let baseline = grade_fail_fast(&tree, &test_order(&m, &kills))?;
    if baseline != Outcome::Survived {
        tree.restore()?;
        return Err(Error::new(format!(
            "the solution itself does not pass every test of lab {lab} ({baseline:?}): \
             mutants of it mean nothing; see ./run-qemu.sh --lab-check {lab}"
        )));
    }
    // The host's unit tests that fail for the solution here (later labs'
    // stubs): a mutant is not blamed for them.
    let failing = host_tests(&tree)?.err().unwrap_or_default();
    eprintln!(
        "{NAME} --lab-mutate {lab}: the solution passes every test ({} of the host's unit \
         tests fail in this handout, for later labs' stubs: not counted)",
        failing.len()
    );
    let mut graded = Vec::new();
    for (i, mutant) in all.iter().take(take).enumerate() {
        let t0 = Instant::now();
        let original = String::from_utf8_lossy(&files[&mutant.file]).into_owned();
        let path = tree.dir.join(&mutant.file);
        std::fs::write(&path, mutant.apply(&original)).map_err(|e| io_error("write", &path, e))?;
        let outcome = grade_fail_fast(&tree, &test_order(&m, &kills)).and_then(|o| match o {
            // Passed the grader: do the host's unit tests see it?
            Outcome::Survived => {
                let mut failed = host_tests(&tree)?.err().unwrap_or_default();
                failed.retain(|t| !failing.contains(t));
                Ok(match failed.is_empty() {
                    true => Outcome::Survived,
                    false => Outcome::Host(failed),
                })
            }
            o => Ok(o),
        });
        std::fs::write(&path, &original).map_err(|e| io_error("write", &path, e))?;
        let outcome = outcome?;
        if let Outcome::Killed { test, .. } = &outcome {
            *kills.entry(test.clone()).or_insert(0) += 1;
        }
        let seconds = t0.elapsed().as_secs();
        eprintln!(
            "{NAME} --lab-mutate {lab}: {}/{take} {}:{} {}: {outcome:?} ({seconds} s)",
            i + 1,
            mutant.file,
            mutant.line + 1,
            mutant.what
        );
        graded.push(Graded {
            mutant: mutant.clone(),
            outcome,
            seconds,
        });
        // Written after every mutant: a sweep cut short still has its report.
        let text = report(lab, all.len(), &graded, &files, &why, started.elapsed());
        std::fs::write(&report_file, text).map_err(|e| io_error("write", &report_file, e))?;
    }
    tree.restore()?;
    let text = report(lab, all.len(), &graded, &files, &why, started.elapsed());
    std::fs::write(&report_file, &text).map_err(|e| io_error("write", &report_file, e))?;
    let summary = text.lines().nth(2).unwrap_or("");
    eprintln!(
        "{NAME} --lab-mutate {lab}: {summary}\nReport: {}",
        report_file.display()
    );
    let unexplained = graded
        .iter()
        .filter(|g| g.outcome == Outcome::Survived)
        .any(|g| !why.iter().any(|(k, _)| *k == g.mutant.key()));
    Ok(if unexplained { status::FAILED } else { 0 })
}
