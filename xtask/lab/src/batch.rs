//! `./run-qemu.sh --grade-batch <lab> <dir>`: grade a class. `<dir>` holds
//! one directory per student (their tree, or just the files they edit);
//! each is graded in one grading tree, the lab's handout with the
//! student's copies of the manifest's `files` laid over it, by that
//! tree's own `./run-qemu.sh --grade`. The rest of a student's tree is not
//! used: the tests, the grader and the kernel around the exercises are the
//! handout's. One table comes out, and a CSV and a JSON file of it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::export::{self, Tree};
use super::grade::{self, Report};
use super::gradescope;
use super::manifest::{Check, Manifest};
use xtask::kernel::{self, io_error};
use xtask::{Error, NAME, Result, bounded, paths, status};

/// Longest one grading may take: a first build of the kernel and the
/// runner from scratch (minutes on a busy 2-core machine), then the tests.
const GRADE_LIMIT: Duration = Duration::from_secs(60 * 60);

/// A handout to grade students' files in: `<work>/tree`, whose `target`
/// is a link to `<work>/target`, kept between runs so that only the first
/// build is from scratch (`work` lies outside the project: see
/// [`paths::scratch`]).
pub struct GradingTree {
    pub lab: Manifest,
    pub dir: PathBuf,
    pub handout: Tree,
    /// The work directory's lock, held while the tree lives: two runs
    /// grading in one directory would overwrite each other's files.
    _lock: std::fs::File,
}

/// Take `work`'s lock, waiting (and saying so) while another run holds it.
fn lock_work(work: &Path) -> Result<std::fs::File> {
    kernel::lock_file(&work.join(WORK_LOCK), || {
        eprintln!(
            "{NAME}: another run is grading in {}; waiting for it to end \
             (set XV6_SCRATCH to another directory to grade beside it)",
            work.display()
        )
    })
}

/// The lock file in a grading tree's work directory.
const WORK_LOCK: &str = "run-qemu.lock";

/// How a command run in the grading tree ended.
pub struct Ran {
    pub status: Option<i32>,
    /// Standard output and error, interleaved.
    pub out: String,
}

impl GradingTree {
    /// Make `<work>/tree` `lab`'s handout of `tracked` (this tree's tracked
    /// files).
    /// Only the files that differ are written and the others removed, so
    /// that cargo rebuilds only what changed since the last grading there
    /// (of any lab: the labs' handouts share most files).
    pub fn new(lab: &str, tracked: &Tree, work: &Path) -> Result<GradingTree> {
        let manifest = grade::manifest(lab)?;
        let handout = export::handout(tracked, lab)
            .map_err(|e| Error::new(format!("the handout of {lab}: {e}")))?;
        let lock = lock_work(work)?;
        let dir = work.join("tree");
        sync_tree(&handout, &dir)?;
        let (target, link) = (work.join("target"), dir.join("target"));
        std::fs::create_dir_all(&target).map_err(|e| io_error("create", &target, e))?;
        if std::fs::read_link(&link).ok().as_deref() != Some(target.as_path()) {
            std::os::unix::fs::symlink(&target, &link).map_err(|e| io_error("link", &link, e))?;
        }
        Ok(GradingTree {
            lab: manifest,
            dir,
            handout,
            _lock: lock,
        })
    }

    /// Lay the manifest's files from `student` over the handout's; the
    /// files the student does not have (the handout's are used). A file
    /// not at its path may be at the top of `student` under its own name
    /// (an upload to Gradescope keeps no directories).
    pub fn overlay(&self, student: &Path) -> Result<Vec<String>> {
        let mut missing = Vec::new();
        for f in &self.lab.files {
            let to = self.dir.join(f);
            match submitted(student, f, &self.lab.files) {
                Some(from) => {
                    std::fs::copy(&from, &to).map_err(|e| io_error("copy", &from, e))?;
                }
                None => {
                    missing.push(f.clone());
                    self.restore_one(f)?;
                }
            }
        }
        Ok(missing)
    }

    /// Put the handout's copy of file `f` back (none: remove it).
    fn restore_one(&self, f: &str) -> Result<()> {
        let to = self.dir.join(f);
        match self.handout.get(f) {
            Some(bytes) => std::fs::write(&to, bytes).map_err(|e| io_error("write", &to, e)),
            None if to.exists() => {
                std::fs::remove_file(&to).map_err(|e| io_error("remove", &to, e))
            }
            None => Ok(()),
        }
    }

    /// Put the handout's copies of the manifest's files back.
    pub fn restore(&self) -> Result<()> {
        self.lab.files.iter().try_for_each(|f| self.restore_one(f))
    }

    /// Run the tree's `./run-qemu.sh` with `args`, at most `limit`.
    pub fn run(&self, args: &[&str], limit: Duration) -> Result<Ran> {
        let mut cmd = Command::new(self.dir.join(NAME));
        cmd.args(args).current_dir(&self.dir);
        let c = bounded::capture(&mut cmd, b"", Some(limit), true)
            .map_err(|e| Error::new(format!("cannot run {}: {e}", self.dir.display())))?;
        Ok(Ran {
            status: c.status,
            out: c.out,
        })
    }

    /// Grade what is in the tree now: the report, or why there is none
    /// (the kernel does not build, the grader failed), with its output.
    pub fn grade(&self) -> Result<(std::result::Result<Report, String>, String)> {
        let results = grade::report_path(&self.dir, &self.lab.name);
        let _ = std::fs::remove_file(&results);
        let ran = self.run(&["--grade", &self.lab.name], GRADE_LIMIT)?;
        let report = match ran.status {
            Some(status::POWEROFF | status::NOT_FULL_MARKS) => {
                grade::read_report(&results).map_err(|e| e.message)
            }
            Some(s) => Err(format!(
                "no score: the grader ended with status {s}: {}",
                last_lines(&ran.out, 1).trim()
            )),
            None => Err(format!(
                "no score: the grading ran past {} min",
                GRADE_LIMIT.as_secs() / 60
            )),
        };
        Ok((report, ran.out))
    }
}

/// Where `student` has the lab's file `f` (one of `files`): at its path,
/// or else at the top under its own name if no other of `files` has that
/// name.
fn submitted(student: &Path, f: &str, files: &[String]) -> Option<PathBuf> {
    let at = student.join(f);
    if at.is_file() {
        return Some(at);
    }
    let name = Path::new(f).file_name()?;
    let same = files
        .iter()
        .filter(|g| Path::new(g).file_name() == Some(name))
        .count();
    let top = student.join(name);
    (same == 1 && top.is_file()).then_some(top)
}

/// Make the directory `dir` hold `tree`: write the files that differ,
/// remove those `tree` lacks (but `target`, the build's).
fn sync_tree(tree: &Tree, dir: &Path) -> Result<()> {
    let changed: Tree = tree
        .iter()
        .filter(|(p, b)| std::fs::read(dir.join(p)).ok().as_ref() != Some(*b))
        .map(|(p, b)| (p.clone(), b.clone()))
        .collect();
    export::write_tree(&changed, dir)?;
    let mut stale = Vec::new();
    walk(dir, dir, &mut |rel, path| {
        if rel != "target" && !rel.starts_with("target/") && !tree.contains_key(rel) {
            stale.push(path.to_path_buf());
        }
    });
    stale
        .iter()
        .try_for_each(|p| std::fs::remove_file(p).map_err(|e| io_error("remove", p, e)))
}

/// Call `f` with each file below `dir` (its path relative to `root`, with
/// `/`), not following links.
fn walk(root: &Path, dir: &Path, f: &mut dyn FnMut(&str, &Path)) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(root, &path, f),
            Ok(_) => f(&rel, &path),
            Err(_) => {}
        }
    }
}

/// The last `n` non-empty lines of `out`.
fn last_lines(out: &str, n: usize) -> String {
    let lines: Vec<&str> = out.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// One student's line of the class's table.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Row {
    pub student: String,
    /// The report, or why there is none.
    pub report: std::result::Result<Report, String>,
    /// Files of the manifest the student's directory lacks.
    pub missing: Vec<String>,
    /// The grading's whole output.
    pub log: String,
}

/// The students of `dir`: its subdirectories, by name.
pub fn students(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| io_error("read", dir, e))?;
    let mut s: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    s.sort();
    if s.is_empty() {
        return Err(Error::new(format!(
            "{} has no student directories (one directory per student, each holding \
             the files the student edits at their paths in the tree)",
            dir.display()
        )));
    }
    Ok(s)
}

/// Grade student `s` in `tree`: overlay, grade, restore; the whole output
/// goes to `logs/<student>.log`, the answers files to
/// `logs/answers/<student>/`, the Gradescope results to
/// `logs/gradescope/<student>.json`.
fn grade_student(tree: &GradingTree, s: &Path, logs: &Path) -> Result<Row> {
    let student = s
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let missing = tree.overlay(s)?;
    let (report, out) = tree.grade()?;
    collect_answers(tree, &student, logs)?;
    tree.restore()?;
    let log = logs.join(format!("{student}.log"));
    std::fs::write(&log, &out).map_err(|e| io_error("write", &log, e))?;
    let gs = gradescope::results(&tree.lab, &report, &missing);
    let gs_file = logs.join(GRADESCOPE_DIR).join(format!("{student}.json"));
    let text = serde_json::to_string_pretty(&gs).expect("Gradescope results are JSON");
    write_file(&gs_file, text.as_bytes())?;
    Ok(Row {
        student,
        report,
        missing,
        log: log.display().to_string(),
    })
}

/// Write `bytes` to `path`, making its directory.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io_error("create", dir, e))?;
    }
    std::fs::write(path, bytes).map_err(|e| io_error("write", path, e))
}

/// Below a class's results: each student's Gradescope `results.json`.
pub const GRADESCOPE_DIR: &str = "gradescope";

/// Below a class's results: each student's answers files, for the teacher.
pub const ANSWERS_DIR: &str = "answers";

/// Copy the answers files of the lab, as graded in `tree`, to
/// `logs/answers/<student>/`: the questions are read by the teacher, not
/// scored.
fn collect_answers(tree: &GradingTree, student: &str, logs: &Path) -> Result<()> {
    for t in &tree.lab.tests {
        if let Check::Answers { file } = &t.check {
            let from = tree.dir.join(file);
            let name = Path::new(file).file_name().unwrap_or_default();
            let to = logs.join(ANSWERS_DIR).join(student).join(name);
            let text = std::fs::read(&from).unwrap_or_default();
            write_file(&to, &text)?;
        }
    }
    Ok(())
}

/// Grade each student of `dir`, as many at a time as there are grading
/// `trees` (one job each, every tree the same lab's); each student's
/// files go below `logs` (see [`grade_student`]). The rows come in the
/// students' order whatever the jobs, so the results are those of a
/// serial run.
pub fn grade_class(trees: &[GradingTree], dir: &Path, logs: &Path) -> Result<Vec<Row>> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let students = students(dir)?;
    let next = AtomicUsize::new(0);
    let rows: Mutex<Vec<Option<Result<Row>>>> = Mutex::new(students.iter().map(|_| None).collect());
    let jobs = trees.len();
    std::thread::scope(|scope| {
        for (job, tree) in trees.iter().enumerate() {
            let (next, rows, students) = (&next, &rows, &students);
            scope.spawn(move || {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(s) = students.get(index) else {
                        break;
                    };
                    let name = s.file_name().unwrap_or_default().to_string_lossy();
                    if jobs > 1 {
                        eprintln!("{NAME}: grading {name} (job {})", job + 1);
                    } else {
                        eprint!("{NAME}: grading {name} ... ");
                    }
                    let row = grade_student(tree, s, logs);
                    let said = match &row {
                        Ok(Row { report: Ok(r), .. }) => format!("{}/{}", r.score, r.total),
                        Ok(Row { report: Err(e), .. }) => e.clone(),
                        Err(e) => e.message.clone(),
                    };
                    match jobs > 1 {
                        true => eprintln!("{NAME}: {name}: {said}"),
                        false => eprintln!("{said}"),
                    }
                    let stop = row.is_err();
                    rows.lock().unwrap_or_else(|e| e.into_inner())[index] = Some(row);
                    if stop {
                        break; // the tree's trouble, not the student's
                    }
                }
            });
        }
    });
    let rows = rows.into_inner().unwrap_or_else(|e| e.into_inner());
    rows.into_iter().flatten().collect()
}

/// A verdict's short form for the class's table.
fn cell(r: &Report, test: &str) -> &'static str {
    match r.tests.iter().find(|g| g.name == test) {
        Some(g) => g.verdict.word(),
        None => "-",
    }
}

/// The class's table: a row per student, a column per test.
pub fn class_table(m: &Manifest, rows: &[Row]) -> String {
    let names: Vec<&str> = m.tests.iter().map(|t| t.name.as_str()).collect();
    let sw = rows
        .iter()
        .map(|r| r.student.len())
        .max()
        .unwrap_or(0)
        .max(7);
    let mut s = format!("{:<sw$}  score  ", "student");
    s.push_str(&names.join("  "));
    s.push('\n');
    for row in rows {
        let _ = write!(s, "{:<sw$}  ", row.student);
        match &row.report {
            Ok(r) => {
                let _ = write!(s, "{:>5}  ", format!("{}/{}", r.score, r.total));
                let cells: Vec<String> = names
                    .iter()
                    .map(|n| format!("{:<w$}", cell(r, n), w = n.len()))
                    .collect();
                s.push_str(cells.join("  ").trim_end());
            }
            Err(e) => {
                let _ = write!(s, "{:>5}  {e}", "-");
            }
        }
        if !row.missing.is_empty() {
            let _ = write!(s, "  (missing: {})", row.missing.join(", "));
        }
        s.push('\n');
    }
    s
}

/// The class's table as CSV: student, score, total, then each test's verdict.
pub fn class_csv(m: &Manifest, rows: &[Row]) -> String {
    let quote = |v: &str| format!("\"{}\"", v.replace('"', "\"\""));
    let mut s = String::from("student,score,total,error");
    for t in &m.tests {
        let _ = write!(s, ",{}", quote(&t.name));
    }
    s.push('\n');
    for row in rows {
        let _ = write!(s, "{}", quote(&row.student));
        match &row.report {
            Ok(r) => {
                let _ = write!(s, ",{},{},", r.score, r.total);
                for t in &m.tests {
                    let _ = write!(s, ",{}", quote(cell(r, &t.name)));
                }
            }
            Err(e) => {
                let _ = write!(s, ",,{},{}", m.total(), quote(e));
                s.push_str(&",".repeat(m.tests.len()));
            }
        }
        s.push('\n');
    }
    s
}

/// The scratch directory of `--grade-batch`'s job `job` (from 0): the
/// first job's is the one a serial run has always used.
fn job_work(job: u32) -> PathBuf {
    match job {
        0 => paths::scratch("grade-batch"),
        n => paths::scratch(&format!("grade-batch-{}", n + 1)),
    }
}

/// `--grade-batch <lab> <dir> [--jobs N]`: grade the class, `jobs`
/// students at a time, print the table, write `results.csv` and
/// `results.json` beside the logs, and each student's Gradescope results
/// below `gradescope/`.
pub fn run(lab: &str, dir: &Path, jobs: u32) -> Result<()> {
    let out = paths::at(format!("target/grade-batch/{lab}"));
    std::fs::create_dir_all(&out).map_err(|e| io_error("create", &out, e))?;
    // A student may have been removed from the class since the last run.
    for sub in [GRADESCOPE_DIR, ANSWERS_DIR] {
        let d = out.join(sub);
        if d.exists() {
            std::fs::remove_dir_all(&d).map_err(|e| io_error("remove", &d, e))?;
        }
    }
    let tracked = export::tracked()?;
    let mut trees = Vec::new();
    for job in 0..jobs {
        let work = job_work(job);
        std::fs::create_dir_all(&work).map_err(|e| io_error("create", &work, e))?;
        trees.push(GradingTree::new(lab, &tracked, &work)?);
    }
    let rows = grade_class(&trees, dir, &out)?;
    let m = &trees[0].lab;
    print!("{}", class_table(m, &rows));
    let csv = out.join("results.csv");
    std::fs::write(&csv, class_csv(m, &rows)).map_err(|e| io_error("write", &csv, e))?;
    let json = out.join("results.json");
    let text = serde_json::to_string_pretty(&rows).expect("rows are JSON");
    std::fs::write(&json, text).map_err(|e| io_error("write", &json, e))?;
    println!(
        "Results: {} and {}; each student's log beside them, Gradescope results in {}, \
         answers in {}",
        csv.display(),
        json.display(),
        out.join(GRADESCOPE_DIR).display(),
        out.join(ANSWERS_DIR).display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grade::Graded;
    use crate::manifest::{Check, Test};
    use crate::verdict::Verdict;

    /// A second run grading in the same directory waits for the first
    /// (it would overwrite the tree under it), then goes on.
    #[test]
    fn a_second_run_in_one_work_directory_waits_for_the_first() {
        let work = std::env::temp_dir().join(format!("xv6-work-lock-{}", std::process::id()));
        let first = lock_work(&work).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let w = work.clone();
        let second = std::thread::spawn(move || {
            let held = lock_work(&w).unwrap();
            tx.send(()).unwrap();
            held
        });
        assert!(
            rx.recv_timeout(Duration::from_millis(300)).is_err(),
            "the second run took the lock while the first held it"
        );
        drop(first);
        rx.recv_timeout(Duration::from_secs(60))
            .expect("the second run goes on once the first let go");
        drop(second.join().unwrap());
        std::fs::remove_dir_all(&work).unwrap();
    }

    fn manifest() -> Manifest {
        let t = |name: &str| Test {
            name: name.into(),
            points: 5,
            exercises: vec![],
            check: Check::Answers { file: "a".into() },
        };
        Manifest {
            name: "kalloc".into(),
            title: "T".into(),
            depends: vec![],
            files: vec!["src/x.rs".into()],
            tests: vec![t("lifo"), t("junk")],
            mutants: vec![],
        }
    }

    fn rows() -> Vec<Row> {
        let g = |name: &str, verdict: Verdict| Graded {
            name: name.into(),
            points: if verdict == Verdict::Pass { 5 } else { 0 },
            max: 5,
            verdict,
            rerun: String::new(),
            log: None,
            hint: None,
        };
        vec![
            Row {
                student: "alice".into(),
                report: Ok(Report {
                    lab: "kalloc".into(),
                    score: 5,
                    total: 10,
                    tests: vec![
                        g("lifo", Verdict::Pass),
                        g("junk", Verdict::Fail { reason: "r".into() }),
                    ],
                }),
                missing: vec![],
                log: "a.log".into(),
            },
            Row {
                student: "bob".into(),
                report: Err("no score: the grader ended with status 1: error".into()),
                missing: vec!["src/x.rs".into()],
                log: "b.log".into(),
            },
        ]
    }

    #[test]
    fn the_class_table_has_a_row_per_student_and_a_column_per_test() {
        assert_eq!(
            class_table(&manifest(), &rows()),
            "student  score  lifo  junk\n\
             alice     5/10  PASS  FAIL\n\
             bob          -  no score: the grader ended with status 1: error  (missing: src/x.rs)\n"
        );
        assert_eq!(
            class_csv(&manifest(), &rows()),
            "student,score,total,error,\"lifo\",\"junk\"\n\
             \"alice\",5,10,,\"PASS\",\"FAIL\"\n\
             \"bob\",,10,\"no score: the grader ended with status 1: error\",,\n"
        );
    }

    #[test]
    fn a_grading_tree_is_synced_file_by_file() {
        let dir = std::env::temp_dir().join(format!("xv6-sync-{}", std::process::id()));
        let tree = |files: &[(&str, &str)]| -> Tree {
            files
                .iter()
                .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
                .collect()
        };
        sync_tree(&tree(&[("a.rs", "one"), ("src/b.rs", "two")]), &dir).unwrap();
        std::fs::create_dir_all(dir.join("target")).unwrap();
        std::fs::write(dir.join("target/kept"), "build").unwrap();
        let before = std::fs::metadata(dir.join("a.rs"))
            .unwrap()
            .modified()
            .unwrap();
        sync_tree(&tree(&[("a.rs", "one"), ("src/c.rs", "three")]), &dir).unwrap();
        let after = std::fs::metadata(dir.join("a.rs"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(before, after, "an unchanged file is not written");
        assert!(
            !dir.join("src/b.rs").exists(),
            "a file the tree lacks is removed"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("src/c.rs")).unwrap(),
            "three"
        );
        assert!(dir.join("target/kept").exists(), "the build is kept");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn students_are_the_subdirectories_by_name() {
        let dir = std::env::temp_dir().join(format!("xv6-class-{}", std::process::id()));
        for d in ["carol", "alice"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        std::fs::write(dir.join("notes.txt"), "not a student").unwrap();
        let names: Vec<String> = students(&dir)
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["alice", "carol"]);
        std::fs::remove_dir_all(dir.join("alice")).unwrap();
        std::fs::remove_dir_all(dir.join("carol")).unwrap();
        let e = students(&dir).unwrap_err();
        assert!(e.message.contains("has no student directories"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
