//! The lab markers: comment lines that cut a file of the solution tree
//! into regions, each the solution of one lab exercise, and the stub files
//! that hold what handouts have instead: the stub (the lab's own handout)
//! and the base (handouts of earlier labs). The regions of lab `L` in file
//! `F` take their stubs from `labs/L/stubs/F`, one block per region, in
//! order. Any comment leader works (`//`, `/*`, `#`, `;`); docs/labs.md
//! has the syntax. Pure: text in, regions or a `file:line` error out.

use std::fmt;

/// The word every marker starts with, after its comment leader.
pub const KEYWORD: &str = "LAB";

/// Where a lab's stub files live: `labs/<lab>/stubs/<file>` for the
/// regions of `<file>`.
pub const STUBS_DIR: &str = "stubs";

/// The comment leaders a marker may use.
const LEADERS: &[&str] = &["//", "/*", "#", ";"];
/// What closes a `/*` comment on a marker line.
const BLOCK_CLOSE: &str = "*/";

/// What a marker line says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A region: the solution starts on the next line (solution tree).
    Begin,
    /// A block: the stub's lines follow, up to BASE or END (stub file).
    Stub,
    /// The base's lines follow, up to END (stub file).
    Base,
    /// The region or the block ends.
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
    lab: &'a str,
    exercise: &'a str,
    kind: Kind,
}

/// A region of one file: lines `begin..=end` (0-based, the markers
/// included); `solution` holds the lines between them, `stub` and `base`
/// what the handouts have instead (from the stub file, see [`pair`]).
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

/// One block of a stub file: what one region becomes in the handouts.
/// `line` is the STUB marker's (0-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub lab: String,
    pub exercise: String,
    pub line: usize,
    pub stub: Vec<String>,
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

/// The stub file of lab `lab`'s regions in `file`.
pub fn stub_path(lab: &str, file: &str) -> String {
    format!("{}/{lab}/{STUBS_DIR}/{file}", super::manifest::LABS_DIR)
}

/// Whether `path` is a stub file (`labs/<lab>/stubs/...`): teacher's
/// material, paired with the regions, not itself a file of any handout.
pub fn is_stub_file(path: &str) -> bool {
    let mut parts = path.split('/');
    parts.next() == Some(super::manifest::LABS_DIR)
        && parts.next().is_some()
        && parts.next() == Some(STUBS_DIR)
}

/// Whether `line` is a marker: `Some(Err)` for a line that starts like one
/// (a leader, then the keyword) but is not well formed.
fn marker(line: &str) -> Option<Result<Marker<'_>, String>> {
    let trimmed = line.trim();
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
        lab,
        exercise,
        kind,
    }))
}

/// Refuse a marker of a lab that is not among `labs`.
fn known_lab(lab: &str, labs: &[&str]) -> Result<(), String> {
    match labs.contains(&lab) {
        true => Ok(()),
        false => Err(format!(
            "unknown lab {lab:?}: a lab is a directory labs/<lab>/ with a lab.toml (labs: {})",
            labs.join(", ")
        )),
    }
}

/// The regions of `text` (the file `file` of the solution tree), whose
/// labs must be among `labs`; their stubs are not filled in yet ([`pair`]
/// does). Errors: a malformed marker, an unknown lab, END without BEGIN,
/// BEGIN without END, a region inside another, an END naming another
/// exercise than its BEGIN, and a STUB or BASE marker (that text lives in
/// the stub file).
pub fn parse(file: &str, text: &str, labs: &[&str]) -> Result<Vec<Region>, MarkerError> {
    let err = |line: usize, message: String| MarkerError {
        file: file.to_string(),
        line: line + 1,
        message,
    };
    let mut regions = Vec::new();
    let mut open: Option<Region> = None;
    for (n, line) in text.lines().enumerate() {
        let m = match marker(line) {
            None => {
                if let Some(region) = &mut open {
                    region.solution.push(line.to_string());
                }
                continue;
            }
            Some(m) => m.map_err(|e| err(n, e))?,
        };
        known_lab(m.lab, labs).map_err(|e| err(n, e))?;
        if matches!(m.kind, Kind::Stub | Kind::Base) {
            return Err(err(
                n,
                format!(
                    "{:?} marker in the solution tree: a region is BEGIN, the solution, END; \
                     its stub and base go in {}",
                    m.kind,
                    stub_path(m.lab, file)
                ),
            ));
        }
        let Some(region) = &mut open else {
            if m.kind != Kind::Begin {
                return Err(err(
                    n,
                    format!("{:?} marker without a BEGIN before it", m.kind),
                ));
            }
            open = Some(Region {
                lab: m.lab.to_string(),
                exercise: m.exercise.to_string(),
                begin: n,
                end: n,
                solution: Vec::new(),
                stub: None,
                base: None,
            });
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
        region.end = n;
        regions.push(open.take().expect("a region is open"));
    }
    match open {
        Some(region) => Err(err(
            region.begin,
            format!("BEGIN of {}/{} without an END", region.lab, region.exercise),
        )),
        None => Ok(regions),
    }
}

/// The blocks of `text`, the stub file `file` of lab `lab`: each a STUB
/// marker, the stub's lines, optionally a BASE marker and the base's
/// lines, an END marker; only blank lines between blocks. The lines are
/// kept as written (they are the handout's). Errors: a malformed marker, a
/// block of another lab, a BEGIN, markers out of that order or naming
/// another exercise than their STUB, a block without END, text outside a
/// block.
pub fn parse_stubs(file: &str, text: &str, lab: &str) -> Result<Vec<Block>, MarkerError> {
    let err = |line: usize, message: String| MarkerError {
        file: file.to_string(),
        line: line + 1,
        message,
    };
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (n, line) in text.lines().enumerate() {
        let m = match marker(line) {
            None => {
                match &mut open {
                    Some(b) => b
                        .base
                        .as_mut()
                        .unwrap_or(&mut b.stub)
                        .push(line.to_string()),
                    None if line.trim().is_empty() => {}
                    None => {
                        return Err(err(
                            n,
                            format!(
                                "{line:?} is outside a block: a stub file holds only blocks \
                                 `{KEYWORD} {lab}/<exercise> STUB` ... END"
                            ),
                        ));
                    }
                }
                continue;
            }
            Some(m) => m.map_err(|e| err(n, e))?,
        };
        if m.lab != lab {
            return Err(err(
                n,
                format!(
                    "a marker of lab {} in lab {lab}'s stub file: it goes in {}",
                    m.lab,
                    stub_path(m.lab, "<file>")
                ),
            ));
        }
        let order = "a block is STUB, the stub, optionally BASE and the base, then END";
        match (m.kind, &mut open) {
            (Kind::Stub, None) => {
                open = Some(Block {
                    lab: lab.to_string(),
                    exercise: m.exercise.to_string(),
                    line: n,
                    stub: Vec::new(),
                    base: None,
                })
            }
            (Kind::Base | Kind::End, Some(b)) if b.exercise != m.exercise => {
                return Err(err(
                    n,
                    format!(
                        "{:?} marker names {lab}/{}, inside the block of {lab}/{} opened at line {}",
                        m.kind,
                        m.exercise,
                        b.exercise,
                        b.line + 1
                    ),
                ));
            }
            (Kind::Base, Some(b)) if b.base.is_none() => b.base = Some(Vec::new()),
            (Kind::End, Some(_)) => blocks.push(open.take().expect("a block is open")),
            (kind, _) => {
                return Err(err(n, format!("{kind:?} marker out of order: {order}")));
            }
        }
    }
    match open {
        Some(b) => Err(err(
            b.line,
            format!("STUB of {lab}/{} without an END", b.exercise),
        )),
        None => Ok(blocks),
    }
}

/// Give lab `lab`'s regions of the file `file` their stubs and bases from
/// `blocks`, the stub file `stubs` (`None`: there is none): the n-th
/// region takes the n-th block, which must be of the same exercise.
/// `regions` may hold other labs' regions; they are left as they are.
/// Errors: a region with no block, a block with no region, a block of
/// another exercise than its region.
pub fn pair(
    file: &str,
    regions: &mut [Region],
    lab: &str,
    stubs: &str,
    blocks: Option<&[Block]>,
) -> Result<(), MarkerError> {
    let mine: Vec<&mut Region> = regions.iter_mut().filter(|r| r.lab == lab).collect();
    let blocks = blocks.unwrap_or(&[]);
    let count = mine.len();
    for (i, region) in mine.into_iter().enumerate() {
        let Some(block) = blocks.get(i) else {
            let why = match blocks.is_empty() {
                true => format!("{stubs} is missing"),
                false => format!(
                    "{stubs} has {} blocks, and this is region {} of lab {lab} here",
                    blocks.len(),
                    i + 1
                ),
            };
            return Err(MarkerError {
                file: file.to_string(),
                line: region.begin + 1,
                message: format!("region {lab}/{} has no stub text: {why}", region.exercise),
            });
        };
        if block.exercise != region.exercise {
            return Err(MarkerError {
                file: stubs.to_string(),
                line: block.line + 1,
                message: format!(
                    "block {} is {lab}/{}'s, but region {} of lab {lab} in {file} (line {}) is {lab}/{}",
                    i + 1,
                    block.exercise,
                    i + 1,
                    region.begin + 1,
                    region.exercise
                ),
            });
        }
        region.stub = Some(block.stub.clone());
        region.base = block.base.clone();
    }
    match blocks.get(count) {
        Some(extra) => Err(MarkerError {
            file: stubs.to_string(),
            line: extra.line + 1,
            message: format!(
                "stub text of {lab}/{} has no region: {file} has {count} regions of lab {lab}",
                extra.exercise
            ),
        }),
        None => Ok(()),
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

    const STUBS: &str = "labs/kalloc/stubs/f.rs";

    fn blocks_ok(text: &str) -> Vec<Block> {
        parse_stubs(STUBS, text, "kalloc").unwrap_or_else(|e| panic!("{e}"))
    }

    fn blocks_err(text: &str) -> MarkerError {
        parse_stubs(STUBS, text, "kalloc").expect_err("the stub file is refused")
    }

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn a_region_is_its_solution_between_begin_and_end() {
        let text = concat!(
            "fn kfree() {\n",
            "    // LAB kalloc/kfree BEGIN\n",
            "    push(page);\n",
            "\n",
            "    // LAB kalloc/kfree END\n",
            "}\n",
        );
        let r = parse_ok(text);
        assert_eq!(r.len(), 1);
        assert_eq!(
            (r[0].lab.as_str(), r[0].exercise.as_str()),
            ("kalloc", "kfree")
        );
        assert_eq!((r[0].begin, r[0].end), (1, 4));
        assert_eq!(r[0].solution, ["    push(page);", ""]);
        assert_eq!((r[0].stub.as_ref(), r[0].base.as_ref()), (None, None));
    }

    #[test]
    fn a_stub_file_has_a_block_per_region_with_its_stub_and_base() {
        let text = concat!(
            "    // LAB kalloc/kfree STUB\n",
            "    lab_todo!(\"kalloc\", \"kfree\")\n",
            "\n",
            "    // LAB kalloc/kfree BASE\n",
            "    leak(page); // given\n",
            "    // LAB kalloc/kfree END\n",
            "\n",
            "// LAB kalloc/kalloc STUB\n",
            "// LAB kalloc/kalloc END\n",
        );
        let b = blocks_ok(text);
        assert_eq!(b.len(), 2);
        assert_eq!((b[0].exercise.as_str(), b[0].line), ("kfree", 0));
        assert_eq!(
            b[0].stub,
            lines(&["    lab_todo!(\"kalloc\", \"kfree\")", ""])
        );
        assert_eq!(b[0].base, Some(lines(&["    leak(page); // given"])));
        assert_eq!((b[1].exercise.as_str(), b[1].line), ("kalloc", 7));
        assert_eq!((b[1].stub.len(), b[1].base.as_ref()), (0, None));
    }

    #[test]
    fn any_comment_leader_works() {
        let text = concat!(
            "# LAB vm/map BEGIN\n",
            "a = 1\n",
            "# LAB vm/map END\n",
            "/* LAB vm/ld BEGIN */\n",
            "  . = ALIGN(4096);\n",
            "/* LAB vm/ld END */\n",
            "; LAB kalloc/asm BEGIN\n",
            "mov eax, 1\n",
            "; LAB kalloc/asm END\n",
        );
        let r = parse_ok(text);
        assert_eq!(r.len(), 3);
        assert_eq!(r[1].solution, ["  . = ALIGN(4096);"]);
        assert_eq!(r[2].exercise, "asm");
        let b = blocks_ok("/* LAB kalloc/ld STUB */\n  . = 0;\n; LAB kalloc/ld END\n");
        assert_eq!(b[0].stub, lines(&["  . = 0;"]));
    }

    #[test]
    fn other_comments_are_not_markers() {
        let text = "//! LAB kalloc/kfree BEGIN\n/// LAB x\n// LABEL\n#[derive(Debug)]\n";
        assert_eq!(parse_ok(text), []);
        let stub = "# LAB_TODO kalloc, asm, __LINE__";
        let b = blocks_ok(&format!(
            "# LAB kalloc/asm STUB\n{stub}\n# LAB kalloc/asm END\n"
        ));
        assert_eq!(b[0].stub, [stub]);
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
        let e = blocks_err("\n// LAB kalloc/kfree STUB\nx\n");
        assert_eq!(
            e.to_string(),
            format!("{STUBS}:2: STUB of kalloc/kfree without an END")
        );
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
            let e = blocks_err(bad);
            assert!(e.message.starts_with("malformed marker"), "{bad}: {e}");
        }
    }

    #[test]
    fn markers_of_another_exercise_inside_a_region_are_refused() {
        let e = parse_err("// LAB kalloc/kfree BEGIN\n// LAB kalloc/kalloc END\n");
        assert!(e.message.contains("names kalloc/kalloc"), "{e}");
        let e = blocks_err("// LAB kalloc/kfree STUB\n// LAB kalloc/kalloc END\n");
        assert!(e.message.contains("names kalloc/kalloc"), "{e}");
    }

    #[test]
    fn stub_text_in_the_solution_tree_is_refused() {
        let text = "// LAB vm/a BEGIN\nx\n// LAB vm/a STUB\n// lab_todo!()\n// LAB vm/a END\n";
        let e = parse_err(text);
        assert_eq!(
            e.to_string(),
            "f.rs:3: Stub marker in the solution tree: a region is BEGIN, the solution, END; \
             its stub and base go in labs/vm/stubs/f.rs"
        );
        assert!(
            parse_err("// LAB vm/a BEGIN\n// LAB vm/a BASE\n")
                .message
                .contains("Base marker")
        );
    }

    #[test]
    fn stub_files_hold_blocks_of_their_lab_in_order() {
        let e = blocks_err("// LAB kalloc/a STUB\n// LAB kalloc/a BASE\n// LAB kalloc/a BASE\n");
        assert_eq!(e.line, 3);
        assert!(e.message.contains("out of order"), "{e}");
        let e = blocks_err("// LAB kalloc/a BEGIN\n");
        assert!(e.message.contains("Begin marker out of order"), "{e}");
        let e = blocks_err("// LAB kalloc/a END\n");
        assert!(e.message.contains("End marker out of order"), "{e}");
        let e = blocks_err("// LAB vm/a STUB\n// LAB vm/a END\n");
        assert!(
            e.message.contains("a marker of lab vm in lab kalloc's"),
            "{e}"
        );
        let e = blocks_err("\nlab_todo!()\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("is outside a block"), "{e}");
    }

    /// A file with regions a, b of lab kalloc and one of lab vm between.
    const TWO_LABS: &str = concat!(
        "// LAB kalloc/a BEGIN\n",
        "solution a\n",
        "// LAB kalloc/a END\n",
        "// LAB vm/v BEGIN\n",
        "solution v\n",
        "// LAB vm/v END\n",
        "// LAB kalloc/b BEGIN\n",
        "solution b\n",
        "// LAB kalloc/b END\n",
    );

    #[test]
    fn pair_gives_each_region_its_block() {
        let mut r = parse_ok(TWO_LABS);
        let text = concat!(
            "// LAB kalloc/a STUB\nstub a\n// LAB kalloc/a END\n",
            "// LAB kalloc/b STUB\nstub b\n// LAB kalloc/b BASE\nbase b\n// LAB kalloc/b END\n",
        );
        pair("f.rs", &mut r, "kalloc", STUBS, Some(&blocks_ok(text))).unwrap();
        assert_eq!(r[0].stub, Some(lines(&["stub a"])));
        assert_eq!((r[1].stub.as_ref(), r[1].base.as_ref()), (None, None));
        assert_eq!(r[2].stub, Some(lines(&["stub b"])));
        assert_eq!(r[2].base, Some(lines(&["base b"])));
    }

    #[test]
    fn pair_refuses_a_region_without_stub_text_and_stub_text_without_a_region() {
        let a = blocks_ok("// LAB kalloc/a STUB\n// LAB kalloc/a END\n");
        let mut r = parse_ok(TWO_LABS);
        let e = pair("f.rs", &mut r, "kalloc", STUBS, Some(&a)).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "f.rs:7: region kalloc/b has no stub text: {STUBS} has 1 blocks, \
                 and this is region 2 of lab kalloc here"
            )
        );
        let e = pair("f.rs", &mut r, "vm", "labs/vm/stubs/f.rs", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.rs:4: region vm/v has no stub text: labs/vm/stubs/f.rs is missing"
        );
        let three = blocks_ok(concat!(
            "// LAB kalloc/a STUB\n// LAB kalloc/a END\n// LAB kalloc/b STUB\n// LAB kalloc/b END\n",
            "// LAB kalloc/c STUB\n// LAB kalloc/c END\n",
        ));
        let e = pair("f.rs", &mut r, "kalloc", STUBS, Some(&three)).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{STUBS}:5: stub text of kalloc/c has no region: f.rs has 2 regions of lab kalloc"
            )
        );
        let swapped = blocks_ok(
            "// LAB kalloc/b STUB\n// LAB kalloc/b END\n// LAB kalloc/a STUB\n// LAB kalloc/a END\n",
        );
        let e = pair("f.rs", &mut r, "kalloc", STUBS, Some(&swapped)).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{STUBS}:1: block 1 is kalloc/b's, but region 1 of lab kalloc in f.rs (line 1) \
                 is kalloc/a"
            )
        );
    }

    #[test]
    fn paths_of_stub_files() {
        assert_eq!(stub_path("boot", "src/vm.rs"), "labs/boot/stubs/src/vm.rs");
        assert!(is_stub_file("labs/boot/stubs/src/vm.rs"));
        assert!(!is_stub_file("labs/boot/answers.txt"));
        assert!(!is_stub_file("src/stubs/x.rs"));
    }

    #[test]
    fn render_keeps_what_each_lab_asks_for() {
        let text = concat!(
            "head\n",
            "// LAB kalloc/a BEGIN\n",
            "solution a\n",
            "// LAB kalloc/a END\n",
            "mid\n",
            "// LAB vm/b BEGIN\n",
            "solution b\n",
            "// LAB vm/b END\n",
            "// LAB vm/c BEGIN\n",
            "solution c\n",
            "// LAB vm/c END\n",
            "tail\n",
        );
        let mut r = parse_ok(text);
        let kalloc = blocks_ok("// LAB kalloc/a STUB\nstub a\n// LAB kalloc/a END\n");
        let vm = concat!(
            "// LAB vm/b STUB\nstub b\n// LAB vm/b BASE\nbase b\n// LAB vm/b END\n",
            "// LAB vm/c STUB\nstub c\n// LAB vm/c END\n",
        );
        let vm = parse_stubs("labs/vm/stubs/f.rs", vm, "vm").unwrap();
        pair("f.rs", &mut r, "kalloc", STUBS, Some(&kalloc)).unwrap();
        pair("f.rs", &mut r, "vm", "labs/vm/stubs/f.rs", Some(&vm)).unwrap();
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
