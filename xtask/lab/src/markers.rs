//! The lab markers: comment lines that cut a file into regions, each the
//! solution of one lab exercise, with an optional stub (what the handout
//! has instead) and an optional base (what handouts of earlier labs have).
//! Any comment leader works (`//`, `/*`, `#`, `;`); docs/labs.md has the
//! syntax. Pure: text in, regions or a `file:line` error out.

use std::fmt;

/// The word every marker starts with, after its comment leader.
pub const KEYWORD: &str = "LAB";

/// The comment leaders a marker (and its commented-out stub lines) may use.
const LEADERS: &[&str] = &["//", "/*", "#", ";"];
/// What closes a `/*` comment on a marker or stub line.
const BLOCK_CLOSE: &str = "*/";

/// What a marker line says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The solution starts on the next line.
    Begin,
    /// The stub's lines (commented out) follow, up to BASE or END.
    Stub,
    /// The base's lines (commented out) follow, up to END.
    Base,
    /// The region ends.
    End,
}

impl Kind {
    fn parse(word: &str) -> Option<Kind> {
        match word {
            "BEGIN" => Some(Kind::Begin),
            "STUB" => Some(Kind::Stub),
            "BASE" => Some(Kind::Base),
            "END" => Some(Kind::End),
            _ => None,
        }
    }
}

/// One marker line: `<leader> LAB <lab>/<exercise> <KIND>`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Marker<'a> {
    leader: &'static str,
    lab: &'a str,
    exercise: &'a str,
    kind: Kind,
}

/// A region of one file: lines `begin..=end` (0-based, the markers
/// included); `solution`, `stub` and `base` hold the lines as the solution
/// tree and the handouts have them (stub and base uncommented).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    pub lab: String,
    pub exercise: String,
    pub begin: usize,
    pub end: usize,
    pub solution: Vec<String>,
    pub stub: Option<Vec<String>>,
    pub base: Option<Vec<String>>,
}

/// A marker that breaks the rules, at `file:line` (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkerError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for MarkerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Whether `line` is a marker: `Some(Err)` for a line that starts like one
/// (a leader, then the keyword) but is not well formed.
fn marker(line: &str) -> Option<Result<Marker<'_>, String>> {
    let trimmed = line.trim_start();
    let leader = *LEADERS.iter().find(|l| trimmed.starts_with(**l))?;
    let mut rest = trimmed[leader.len()..].trim();
    let mut words = rest.split_whitespace();
    if words.next() != Some(KEYWORD) {
        return None;
    }
    if leader == "/*" {
        rest = rest.strip_suffix(BLOCK_CLOSE).unwrap_or(rest).trim_end();
    }
    let words: Vec<&str> = rest.split_whitespace().skip(1).collect();
    let malformed = || {
        format!(
            "malformed marker {trimmed:?}: the form is `{leader} {KEYWORD} <lab>/<exercise> BEGIN|STUB|BASE|END`"
        )
    };
    let [name, kind] = words[..] else {
        return Some(Err(malformed()));
    };
    let (Some((lab, exercise)), Some(kind)) = (name.split_once('/'), Kind::parse(kind)) else {
        return Some(Err(malformed()));
    };
    if lab.is_empty() || exercise.is_empty() || exercise.contains('/') {
        return Some(Err(malformed()));
    }
    Some(Ok(Marker {
        leader,
        lab,
        exercise,
        kind,
    }))
}

/// A commented-out stub or base line as the handout has it: the first
/// `leader` and one space after it removed (and a `/*` comment's `*/`),
/// the indentation kept; a blank line stays blank.
fn uncomment(line: &str, leader: &str) -> Result<String, String> {
    let body = line.trim_start();
    if body.is_empty() {
        return Ok(String::new());
    }
    let indent = &line[..line.len() - body.len()];
    let Some(code) = body.strip_prefix(leader) else {
        return Err(format!(
            "stub and base lines are commented out with the marker's `{leader}`; {line:?} is not"
        ));
    };
    let code = code.strip_prefix(' ').unwrap_or(code);
    let code = match leader {
        "/*" => code
            .trim_end()
            .strip_suffix(BLOCK_CLOSE)
            .unwrap_or(code)
            .trim_end(),
        _ => code,
    };
    Ok(format!("{indent}{code}"))
}

/// Which part of an open region the lines go to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Solution,
    Stub,
    Base,
}

/// The regions of `text` (the file `file`), whose labs must be among
/// `labs`. Errors: a malformed marker, an unknown lab, STUB/BASE/END
/// without BEGIN, BEGIN without END, a region inside another, markers of
/// one region naming different exercises, STUB after BASE or twice, a stub
/// or base line not commented out.
pub fn parse(file: &str, text: &str, labs: &[&str]) -> Result<Vec<Region>, MarkerError> {
    let err = |line: usize, message: String| MarkerError {
        file: file.to_string(),
        line: line + 1,
        message,
    };
    let mut regions = Vec::new();
    let mut open: Option<(Region, &'static str, Part)> = None;
    for (n, line) in text.lines().enumerate() {
        let m = match marker(line) {
            None => {
                if let Some((region, leader, part)) = &mut open {
                    match part {
                        Part::Solution => region.solution.push(line.to_string()),
                        Part::Stub | Part::Base => {
                            let code = uncomment(line, leader).map_err(|e| err(n, e))?;
                            let lines = match part {
                                Part::Stub => &mut region.stub,
                                _ => &mut region.base,
                            };
                            lines.get_or_insert_with(Vec::new).push(code);
                        }
                    }
                }
                continue;
            }
            Some(m) => m.map_err(|e| err(n, e))?,
        };
        if !labs.contains(&m.lab) {
            return Err(err(
                n,
                format!(
                    "unknown lab {:?}: a lab is a directory labs/<lab>/ with a lab.toml (labs: {})",
                    m.lab,
                    labs.join(", ")
                ),
            ));
        }
        let Some((region, _, part)) = &mut open else {
            if m.kind != Kind::Begin {
                return Err(err(
                    n,
                    format!("{:?} marker without a BEGIN before it", m.kind),
                ));
            }
            let region = Region {
                lab: m.lab.to_string(),
                exercise: m.exercise.to_string(),
                begin: n,
                end: n,
                solution: Vec::new(),
                stub: None,
                base: None,
            };
            open = Some((region, m.leader, Part::Solution));
            continue;
        };
        let opened = format!(
            "the region opened at line {} ({}/{})",
            region.begin + 1,
            region.lab,
            region.exercise
        );
        if m.kind == Kind::Begin {
            return Err(err(
                n,
                format!("BEGIN inside {opened}: regions do not nest"),
            ));
        }
        if (m.lab, m.exercise) != (region.lab.as_str(), region.exercise.as_str()) {
            return Err(err(
                n,
                format!(
                    "{:?} marker names {}/{}, inside {opened}",
                    m.kind, m.lab, m.exercise
                ),
            ));
        }
        match (m.kind, *part) {
            (Kind::Stub, Part::Solution) => {
                region.stub = Some(Vec::new());
                *part = Part::Stub;
            }
            (Kind::Base, Part::Solution | Part::Stub) => {
                region.base = Some(Vec::new());
                *part = Part::Base;
            }
            (Kind::End, _) => {
                region.end = n;
                regions.push(open.take().expect("a region is open").0);
            }
            (kind, _) => {
                return Err(err(
                    n,
                    format!(
                        "{kind:?} out of order in {opened}: the order is BEGIN, STUB, BASE, END, each once"
                    ),
                ));
            }
        }
    }
    match open {
        Some((region, ..)) => Err(err(
            region.begin,
            format!("BEGIN of {}/{} without an END", region.lab, region.exercise),
        )),
        None => Ok(regions),
    }
}

/// What a file's region becomes in a handout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// The solution (a lab the handout's lab depends on).
    Solution,
    /// The stub (the handout's own lab).
    Stub,
    /// The base, or the stub if there is none (a later lab).
    Base,
}

/// The lines that replace `region` when it is kept as `keep`.
pub fn chosen(region: &Region, keep: Keep) -> &[String] {
    let none: &[String] = &[];
    match keep {
        Keep::Solution => &region.solution,
        Keep::Stub => region.stub.as_deref().unwrap_or(none),
        Keep::Base => region
            .base
            .as_deref()
            .or(region.stub.as_deref())
            .unwrap_or(none),
    }
}

/// `text` with each region (markers included) replaced by the lines that
/// `keep` picks for its lab; no marker line remains.
pub fn render(text: &str, regions: &[Region], keep: impl Fn(&str) -> Keep) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<&str> = Vec::with_capacity(lines.len());
    let mut next = 0;
    for r in regions {
        out.extend(&lines[next..r.begin]);
        out.extend(chosen(r, keep(&r.lab)).iter().map(String::as_str));
        next = r.end + 1;
    }
    out.extend(&lines[next..]);
    let mut s = out.join("\n");
    if text.ends_with('\n') && !s.is_empty() {
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABS: &[&str] = &["kalloc", "vm"];

    fn parse_ok(text: &str) -> Vec<Region> {
        parse("f.rs", text, LABS).unwrap_or_else(|e| panic!("{e}"))
    }

    fn parse_err(text: &str) -> MarkerError {
        parse("f.rs", text, LABS).expect_err("the markers are refused")
    }

    #[test]
    fn a_region_has_its_solution_stub_and_base() {
        let text = concat!(
            "fn kfree() {\n",
            "    // LAB kalloc/kfree BEGIN\n",
            "    push(page);\n",
            "    // LAB kalloc/kfree STUB\n",
            "    // lab_todo!(\"kalloc\", \"kfree\")\n",
            "\n",
            "    // LAB kalloc/kfree BASE\n",
            "    //leak(page);\n",
            "    // LAB kalloc/kfree END\n",
            "}\n",
        );
        let r = parse_ok(text);
        assert_eq!(r.len(), 1);
        assert_eq!(
            (r[0].lab.as_str(), r[0].exercise.as_str()),
            ("kalloc", "kfree")
        );
        assert_eq!((r[0].begin, r[0].end), (1, 8));
        assert_eq!(r[0].solution, ["    push(page);"]);
        assert_eq!(
            r[0].stub.as_deref(),
            Some(
                &[
                    "    lab_todo!(\"kalloc\", \"kfree\")".to_string(),
                    String::new()
                ][..]
            )
        );
        assert_eq!(
            r[0].base.as_deref(),
            Some(&["    leak(page);".to_string()][..])
        );
    }

    #[test]
    fn any_comment_leader_works() {
        let text = concat!(
            "# LAB vm/map BEGIN\n",
            "a = 1\n",
            "# LAB vm/map STUB\n",
            "#a = 0\n",
            "# LAB vm/map END\n",
            "/* LAB vm/ld BEGIN */\n",
            "  . = ALIGN(4096);\n",
            "/* LAB vm/ld STUB */\n",
            "  /* . = 0; */\n",
            "/* LAB vm/ld END */\n",
            "; LAB kalloc/asm BEGIN\n",
            "mov eax, 1\n",
            "; LAB kalloc/asm END\n",
        );
        let r = parse_ok(text);
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].stub.as_deref(), Some(&["a = 0".to_string()][..]));
        assert_eq!(r[1].stub.as_deref(), Some(&["  . = 0;".to_string()][..]));
        assert_eq!((r[2].exercise.as_str(), r[2].stub.as_ref()), ("asm", None));
    }

    #[test]
    fn other_comments_are_not_markers() {
        let text = "//! LAB kalloc/kfree BEGIN\n/// LAB x\n// LABEL\n#[derive(Debug)]\n";
        assert_eq!(parse_ok(text), []);
    }

    #[test]
    fn end_without_begin_is_refused() {
        let e = parse_err("x\n// LAB kalloc/kfree END\n");
        assert_eq!((e.file.as_str(), e.line), ("f.rs", 2));
        assert!(e.message.contains("without a BEGIN"), "{e}");
    }

    #[test]
    fn begin_without_end_is_refused() {
        let e = parse_err("// LAB kalloc/kfree BEGIN\nx\n");
        assert_eq!(e.line, 1);
        assert!(e.message.contains("without an END"), "{e}");
    }

    #[test]
    fn nested_regions_are_refused() {
        let e = parse_err("// LAB kalloc/kfree BEGIN\n// LAB kalloc/kalloc BEGIN\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("do not nest"), "{e}");
        assert_eq!(
            e.to_string(),
            "f.rs:2: BEGIN inside the region opened at line 1 (kalloc/kfree): regions do not nest"
        );
    }

    #[test]
    fn unknown_labs_are_refused() {
        let e = parse_err("a\nb\n// LAB sched/yield BEGIN\n");
        assert_eq!(e.line, 3);
        assert!(e.message.contains("unknown lab \"sched\""), "{e}");
    }

    #[test]
    fn malformed_markers_are_refused() {
        for bad in [
            "// LAB kalloc BEGIN",
            "// LAB kalloc/kfree START",
            "// LAB kalloc/kfree",
            "// LAB /kfree BEGIN",
            "// LAB kalloc/kfree BEGIN extra",
        ] {
            let e = parse_err(bad);
            assert!(e.message.starts_with("malformed marker"), "{bad}: {e}");
        }
    }

    #[test]
    fn markers_of_another_exercise_inside_a_region_are_refused() {
        let e = parse_err("// LAB kalloc/kfree BEGIN\n// LAB kalloc/kalloc END\n");
        assert!(e.message.contains("names kalloc/kalloc"), "{e}");
    }

    #[test]
    fn markers_out_of_order_are_refused() {
        let text = "// LAB vm/a BEGIN\n// LAB vm/a BASE\n// LAB vm/a STUB\n// LAB vm/a END\n";
        let e = parse_err(text);
        assert_eq!(e.line, 3);
        assert!(e.message.contains("out of order"), "{e}");
    }

    #[test]
    fn stub_lines_must_be_commented_out() {
        let e = parse_err("// LAB vm/a BEGIN\n// LAB vm/a STUB\nlab_todo!()\n// LAB vm/a END\n");
        assert_eq!(e.line, 3);
        assert!(e.message.contains("commented out"), "{e}");
    }

    #[test]
    fn render_keeps_what_each_lab_asks_for() {
        let text = concat!(
            "head\n",
            "// LAB kalloc/a BEGIN\n",
            "solution a\n",
            "// LAB kalloc/a STUB\n",
            "// stub a\n",
            "// LAB kalloc/a END\n",
            "mid\n",
            "// LAB vm/b BEGIN\n",
            "solution b\n",
            "// LAB vm/b STUB\n",
            "// stub b\n",
            "// LAB vm/b BASE\n",
            "// base b\n",
            "// LAB vm/b END\n",
            "// LAB vm/c BEGIN\n",
            "solution c\n",
            "// LAB vm/c STUB\n",
            "// stub c\n",
            "// LAB vm/c END\n",
            "tail\n",
        );
        let r = parse_ok(text);
        let both = |kalloc, vm| render(text, &r, |lab| if lab == "kalloc" { kalloc } else { vm });
        assert_eq!(
            both(Keep::Stub, Keep::Base),
            "head\nstub a\nmid\nbase b\nstub c\ntail\n"
        );
        assert_eq!(
            both(Keep::Solution, Keep::Stub),
            "head\nsolution a\nmid\nstub b\nstub c\ntail\n"
        );
        assert_eq!(
            both(Keep::Solution, Keep::Solution),
            "head\nsolution a\nmid\nsolution b\nsolution c\ntail\n"
        );
    }
}
