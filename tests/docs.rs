//! The documentation checked against the tree and against the kernel:
//! docs/source-map.md lists every file under src/ and boot/ and nothing
//! that is not there, every link between the pages leads to a file, and
//! every sample of kernel output in README.md and
//! docs/*.md is what a boot prints today, its addresses and counts aside.
//!
//! A sample is a fenced block whose info string is `text sample`, followed
//! by run-qemu.sh's options for the boot that prints it (words split as a
//! shell would, double quotes kept together):
//!
//! ````text
//! ```text sample --smp 4 --cmdline kalloc=percpu
//! K> cpus
//! cpu  apic id  started  free pages (percpu mode)
//!   0        0  yes      15664
//! ```
//! ````
//!
//! The test boots with those options, pipes in the block's `K> ` commands
//! (the end of the input powers the machine off) and looks for the block's
//! lines, in order and one after the other, in the output, with every
//! `0x...` number and every decimal number made a placeholder and runs of
//! spaces made one; a line that is `...` alone stands for any lines. A
//! block of kernel output (a line starting `K> `, `panic: ` or a boot
//! report stage's name) must be marked `sample`, or `not-output` when it
//! only looks like output (a list of commands with notes beside them).
//! `SAMPLES_REFRESH=1 cargo test --test docs` writes this build's numbers
//! into every sample that matches.
//!
//! A sample with a shell prompt (`$ `) boots to the shell instead (no
//! `--monitor` added) and types its commands one at a time, each after the
//! shell's prompt; a line `$ ^P` types Ctrl-P at the prompt, which the
//! console does not echo, so it is matched as the prompt alone (the table
//! starts on a line of its own), then Enter, whose empty line the shell
//! answers with a prompt. At the end comes Ctrl-\
//! (`HOST_INPUT_END`), which powers off.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The files whose samples are checked: README.md and docs/*.md.
fn documents() -> Vec<PathBuf> {
    let root = root();
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("read docs/")
        .map(|e| e.expect("read docs/").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    docs.insert(0, root.join("README.md"));
    docs
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

// ---------------------------------------------------------------- the map

/// The source map, whose table lists the tree's files.
const SOURCE_MAP: &str = "docs/source-map.md";

/// The folders whose every file the source map must list.
const MAPPED_FOLDERS: [&str; 2] = ["src", "boot"];

/// Every file under `dir`, as a path relative to the project.
fn files_under(dir: &Path, found: &mut BTreeSet<String>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("read a directory entry").path();
        if path.is_dir() {
            files_under(&path, found);
        } else {
            found.insert(relative(&path));
        }
    }
}

/// The `code` spans of a Markdown table row's cells.
fn code_spans(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

#[test]
fn the_source_map_lists_every_file_under_src_and_boot_and_only_real_paths() {
    let map = std::fs::read_to_string(root().join(SOURCE_MAP)).expect("read the source map");
    let mut listed = BTreeSet::new();
    for row in map.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = row.split('|').collect();
        // the first column names files; the others may name more under
        // the mapped folders (a module's tests, say)
        for (column, cell) in cells.iter().enumerate() {
            for span in code_spans(cell) {
                let mapped = MAPPED_FOLDERS
                    .iter()
                    .any(|f| span.strip_prefix(f).is_some_and(|p| p.starts_with('/')));
                if column == 1 || mapped {
                    listed.insert(span.to_string());
                }
            }
        }
    }
    let mut tree = BTreeSet::new();
    for folder in MAPPED_FOLDERS {
        files_under(&root().join(folder), &mut tree);
    }
    let missing: Vec<&String> = tree.iter().filter(|f| !listed.contains(*f)).collect();
    let stale: Vec<&String> = listed
        .iter()
        .filter(|p| !root().join(p.as_str()).exists())
        .collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "{SOURCE_MAP} does not match the tree.\n\
         files it does not list (add a row, or name them in their module's row):\n  {}\n\
         paths it lists that do not exist (moved or removed: update the row):\n  {}",
        list(&missing),
        list(&stale),
    );
}

fn list(paths: &[&String]) -> String {
    if paths.is_empty() {
        "(none)".to_string()
    } else {
        paths
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join("\n  ")
    }
}

#[test]
fn every_link_between_the_pages_leads_to_a_file() {
    let mut broken = Vec::new();
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).expect("read the document");
        for (i, line) in text.lines().enumerate() {
            for target in line.split("](").skip(1).filter_map(|t| t.split(')').next()) {
                let file = target.split('#').next().unwrap_or_default();
                if file.is_empty() || file.contains("://") {
                    continue;
                }
                let dir = doc.parent().expect("a document's folder");
                if !dir.join(file).exists() {
                    broken.push(format!("{}:{}: {target}", relative(&doc), i + 1));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links to no file:\n  {}",
        broken.join("\n  ")
    );
}

// ------------------------------------------------------------ the samples

/// The info-string word that marks a block as a checked sample.
const SAMPLE: &str = "sample";

/// The info-string word that marks a block that looks like kernel output
/// but is not (commands with notes beside them).
const NOT_OUTPUT: &str = "not-output";

/// Lines that only kernel output starts with: the prompt, a panic and the
/// boot report's stages.
const OUTPUT_STARTS: [&str; 10] = [
    "K> ",
    SH_PROMPT,
    "panic: ",
    "xv6-rs: booting",
    "boot_alloc: ",
    "kinit1: ",
    "kinit2: ",
    "kalloc: ",
    "kvmalloc: ",
    "cow: ",
];

/// The shell's prompt: a sample showing it is typed into the shell.
const SH_PROMPT: &str = xtask::peer::SH_PROMPT;

/// A sample's line that types Ctrl-P (the process table) at the prompt.
const CTRL_P_LINE: &str = "$ ^P";

/// How long a shell sample waits after a prompt before it types Ctrl-P:
/// the shell, which has just printed the prompt, must reach its `read`
/// and sleep there first, so that the table shows the same state each
/// time (the key wakes the reader: `runble`).
const SETTLE: std::time::Duration = std::time::Duration::from_millis(500);

/// What a shell sample types, one step after each prompt.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// A command line.
    Line(String),
    /// Ctrl-P, then (once the table is out) Enter, which the shell answers
    /// with a prompt.
    CtrlP,
}

/// A fenced block of a document.
struct Block {
    file: PathBuf,
    /// The line number of the opening fence (1-based).
    fence_line: usize,
    /// The words of the info string after the fence.
    info: Vec<String>,
    /// The block's lines, between the fences.
    lines: Vec<String>,
}

impl Block {
    fn is_sample(&self) -> bool {
        self.info.get(1).is_some_and(|w| w == SAMPLE)
    }

    fn is_marked(&self) -> bool {
        self.is_sample() || self.info.get(1).is_some_and(|w| w == NOT_OUTPUT)
    }

    fn looks_like_output(&self) -> bool {
        self.lines
            .iter()
            .any(|l| OUTPUT_STARTS.iter().any(|s| l.starts_with(s)))
    }

    /// run-qemu.sh's options for the boot that prints the sample.
    fn options(&self) -> Vec<String> {
        self.info[2..].to_vec()
    }

    /// Whether the sample is typed into the shell (a line starts `$ `).
    fn is_shell(&self) -> bool {
        self.lines.iter().any(|l| l.starts_with(SH_PROMPT))
    }

    /// The shell sample's steps, in order.
    fn steps(&self) -> Vec<Step> {
        self.lines
            .iter()
            .filter_map(|l| match l.as_str() {
                CTRL_P_LINE => Some(Step::CtrlP),
                l => l.strip_prefix(SH_PROMPT).map(|c| Step::Line(c.to_string())),
            })
            .collect()
    }

    /// The monitor commands the sample shows, piped in as typed.
    fn input(&self) -> String {
        self.lines
            .iter()
            .filter_map(|l| l.strip_prefix(common::PROMPT))
            .map(|c| format!("{c}\n"))
            .collect()
    }

    fn place(&self) -> String {
        format!("{}:{}", relative(&self.file), self.fence_line)
    }
}

/// Words split as a shell would for the simple cases the info strings
/// need: spaces separate, double quotes keep spaces inside a word.
fn shell_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let (mut quoted, mut in_word) = (false, false);
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    assert!(!quoted, "unbalanced quote in {s:?}");
    if in_word {
        words.push(word);
    }
    words
}

/// The fenced blocks of a document: a fence is three or more backticks at
/// the start of a line, closed by a line of at least as many.
fn blocks(file: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("read {file:?}: {e}"));
    let ticks = |l: &str| l.chars().take_while(|&c| c == '`').count();
    let mut found = Vec::new();
    let mut open: Option<(usize, Block)> = None;
    for (i, line) in text.lines().enumerate() {
        let n = ticks(line);
        match &mut open {
            None if n >= 3 => {
                let mut words = shell_words(&line[n..]);
                if words.is_empty() {
                    words.push(String::new());
                }
                let block = Block {
                    file: file.to_path_buf(),
                    fence_line: i + 1,
                    info: words,
                    lines: Vec::new(),
                };
                open = Some((n, block));
            }
            Some((fence, _)) if n >= *fence && line.trim_end().len() == n => {
                found.push(open.take().expect("an open block").1);
            }
            Some((_, block)) => block.lines.push(line.to_string()),
            None => {}
        }
    }
    assert!(
        open.is_none(),
        "{}: a fence is never closed",
        relative(file)
    );
    found
}

/// A line with its numbers made placeholders: `0x...` becomes `0x_`, a run
/// of decimal digits `_`; runs of white space become one space.
fn normalise(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.trim().chars().peekable();
    while let Some(c) = chars.next() {
        if c == '0' && chars.peek() == Some(&'x') {
            chars.next();
            while chars.peek().is_some_and(char::is_ascii_hexdigit) {
                chars.next();
            }
            out.push_str("0x_");
        } else if c.is_ascii_digit() {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('_');
        } else if c.is_whitespace() {
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether a sample's line stands for any run of lines.
fn is_gap(line: &str) -> bool {
    line.trim() == "..."
}

/// Where `want` (the sample's non-blank lines) matches `got` (the output's
/// non-blank lines) from `at` on: the output line each sample line matched
/// (None for a gap), or how many sample lines matched at best.
fn match_from(want: &[String], got: &[String], at: usize) -> Result<Vec<Option<usize>>, usize> {
    let Some((first, rest)) = want.split_first() else {
        return Ok(Vec::new());
    };
    if is_gap(first) {
        let mut best = 0;
        for skip in at..=got.len() {
            match match_from(rest, got, skip) {
                Ok(mut m) => {
                    m.insert(0, None);
                    return Ok(m);
                }
                Err(n) => best = best.max(n + 1),
            }
        }
        return Err(best);
    }
    match got.get(at) {
        Some(line) if normalise(line) == normalise(first) => match match_from(rest, got, at + 1) {
            Ok(mut m) => {
                m.insert(0, Some(at));
                Ok(m)
            }
            Err(n) => Err(n + 1),
        },
        _ => Err(0),
    }
}

/// The output lines the sample matches, found at the first place it does;
/// or the longest start of it that matched anywhere.
fn find(want: &[String], got: &[String]) -> Result<Vec<Option<usize>>, usize> {
    let mut best = 0;
    for at in 0..got.len() {
        match match_from(want, got, at) {
            Ok(m) => return Ok(m),
            Err(n) => best = best.max(n),
        }
    }
    Err(best)
}

#[test]
fn every_block_of_kernel_output_is_marked() {
    let unmarked: Vec<String> = documents()
        .iter()
        .flat_map(|d| blocks(d))
        .filter(|b| b.looks_like_output() && !b.is_marked())
        .map(|b| b.place())
        .collect();
    assert!(
        unmarked.is_empty(),
        "these blocks show kernel output but are not marked `text {SAMPLE} OPTIONS` \
         (or `text {NOT_OUTPUT}`; see tests/docs.rs):\n  {}",
        unmarked.join("\n  ")
    );
}

/// How many sample boots run at once: one QEMU per core of the 2-core
/// machines this project runs on.
const PARALLEL_BOOTS: usize = 2;

/// The output of a boot for each block, its lines without escapes
/// (`lab::verdict::without_escapes`) and none blank; the boots run
/// PARALLEL_BOOTS at a time.
fn boot_each(blocks: &[Block]) -> Vec<Vec<String>> {
    let next = std::sync::Mutex::new(0..blocks.len());
    let outputs = std::sync::Mutex::new(vec![Vec::new(); blocks.len()]);
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL_BOOTS {
            scope.spawn(|| {
                while let Some(i) = {
                    let mut next = next.lock().expect("the queue of boots");
                    next.next()
                } {
                    let options = blocks[i].options();
                    let args: Vec<&str> = options.iter().map(String::as_str).collect();
                    let run = match blocks[i].is_shell() {
                        true => type_into_the_shell(&args, &blocks[i].steps()),
                        false => common::launch_with_input(&args, blocks[i].input().as_bytes()),
                    };
                    let got = run
                        .out
                        .lines()
                        .map(lab::verdict::without_escapes)
                        .filter(|l| !l.trim().is_empty())
                        .collect();
                    outputs.lock().expect("the outputs")[i] = got;
                }
            });
        }
    });
    outputs.into_inner().expect("the outputs")
}

/// How long a shell sample waits for one prompt.
const PROMPT_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Boot with run-qemu.sh's options `args` (as given: a plain boot goes to
/// the shell), type `steps`, each after a prompt, then end the input.
fn type_into_the_shell(args: &[&str], steps: &[Step]) -> common::Run {
    let o = xtask::launch::options(args, &[]);
    let fail = |e: xtask::Error, s: &xtask::session::Session| -> ! {
        panic!(
            "shell sample booted with {args:?}: {e}; output:\n{}",
            s.out()
        )
    };
    let mut s = xtask::session::Session::launch(&o, PROMPT_LIMIT)
        .unwrap_or_else(|e| panic!("booting {args:?} failed: {e}"));
    if let Err(e) = s.expect(SH_PROMPT) {
        fail(e, &s);
    }
    for step in steps {
        let sent = match step {
            Step::Line(line) => s.send_bytes(line.as_bytes()),
            // the table, up to its last line; then Enter for a new prompt
            Step::CtrlP => {
                std::thread::sleep(SETTLE);
                xtask::procdump::ctrl_p(&mut s).and_then(|_| s.send_bytes(b""))
            }
        };
        if let Err(e) = sent.and_then(|()| s.expect(SH_PROMPT)) {
            fail(e, &s);
        }
    }
    let end = [xv6::protocol::HOST_INPUT_END];
    let end = std::str::from_utf8(&end).expect("an ASCII byte");
    s.finish(end)
        .unwrap_or_else(|e| panic!("ending the shell sample {args:?}: {e}"))
}

/// A sample's non-blank lines, each with its index among the document's
/// lines, as they are matched: in a shell sample `$ ^P` is the prompt's
/// line alone (the console does not echo Ctrl-P, and the table starts on
/// a line of its own), and is not refreshed (None).
fn wanted(block: &Block) -> Vec<(Option<usize>, String)> {
    let mut want: Vec<(Option<usize>, String)> = Vec::new();
    for (i, l) in block.lines.iter().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        if block.is_shell() && l == CTRL_P_LINE {
            want.push((None, SH_PROMPT.to_string()));
        } else {
            want.push((Some(block.fence_line + i), l.clone()));
        }
    }
    want
}

#[test]
fn every_sample_is_what_a_boot_prints() {
    let refresh = std::env::var_os("SAMPLES_REFRESH").is_some();
    let samples: Vec<Block> = documents()
        .iter()
        .flat_map(|d| blocks(d))
        .filter(Block::is_sample)
        .collect();
    let outputs = boot_each(&samples);
    let mut failures = Vec::new();
    let mut refreshed: Vec<(PathBuf, usize, String)> = Vec::new();
    for (block, got) in samples.iter().zip(&outputs) {
        let want = wanted(block);
        assert!(!want.is_empty(), "{}: an empty sample", block.place());
        let want_lines: Vec<String> = want.iter().map(|(_, l)| l.clone()).collect();
        match find(&want_lines, got) {
            Ok(matched) => {
                for ((index, line), out) in want.iter().zip(matched) {
                    if let (Some(out), Some(index)) = (out, index)
                        && *line != got[out]
                    {
                        refreshed.push((block.file.clone(), *index, got[out].clone()));
                    }
                }
            }
            Err(n) => {
                let (index, line) = &want[n.min(want.len() - 1)];
                failures.push(format!(
                    "{} (run-qemu.sh {}): line {} does not follow in the output:\n  {line}\n\
                     (normalised: {:?})\noutput:\n{}",
                    block.place(),
                    block.options().join(" "),
                    index.map_or("after `$ ^P`".to_string(), |i| (i + 1).to_string()),
                    normalise(line),
                    got.join("\n")
                ));
            }
        }
    }
    if refresh {
        for doc in documents() {
            let mut text: Vec<String> = std::fs::read_to_string(&doc)
                .expect("read the document")
                .lines()
                .map(str::to_string)
                .collect();
            let mut changed = false;
            for (_, index, line) in refreshed.iter().filter(|(f, _, _)| *f == doc) {
                text[*index] = line.clone();
                changed = true;
            }
            if changed {
                let mut new = text.join("\n");
                new.push('\n');
                std::fs::write(&doc, new).expect("write the refreshed document");
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} sample(s) no longer match a boot (fix the text by hand from the output; \
         numbers alone never fail):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn normalising_keeps_words_and_drops_numbers() {
    assert_eq!(
        normalise("kinit1: freed 634 pages [0x80177000, 0x80400000)"),
        "kinit_: freed _ pages [0x_, 0x_)"
    );
    assert_eq!(normalise("  0        0  yes      15664"), "_ _ yes _");
    assert_eq!(
        shell_words(r#"text sample --cmdline "ktest=x kalloc=scan""#),
        ["text", "sample", "--cmdline", "ktest=x kalloc=scan"]
    );
    let lines = |s: &[&str]| s.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    let got = lines(&["a 1", "b 2", "c 3", "d 4"]);
    assert_eq!(
        find(&lines(&["b 9", "c 0"]), &got),
        Ok(vec![Some(1), Some(2)])
    );
    assert_eq!(
        find(&lines(&["a 1", "...", "d 1"]), &got),
        Ok(vec![Some(0), None, Some(3)])
    );
    assert_eq!(
        find(&lines(&["b 1", "d 1"]), &got),
        Err(1),
        "one after the other"
    );
}

#[test]
fn a_shell_sample_types_its_lines_and_ctrl_p_is_the_prompt_alone() {
    let block = Block {
        file: PathBuf::from("x.md"),
        fence_line: 10,
        info: shell_words("text sample"),
        lines: [
            "$ echo hi",
            "hi",
            "",
            "$ ^P",
            "1 sleep init sz 4096",
            "free pages 7",
        ]
        .map(String::from)
        .to_vec(),
    };
    assert!(block.is_shell());
    assert_eq!(block.steps(), [Step::Line("echo hi".into()), Step::CtrlP]);
    assert_eq!(
        wanted(&block),
        [
            (Some(10), "$ echo hi".to_string()),
            (Some(11), "hi".to_string()),
            (None, "$ ".to_string()),
            (Some(14), "1 sleep init sz 4096".to_string()),
            (Some(15), "free pages 7".to_string()),
        ]
    );
}
