//! One student's results in Gradescope's autograder format
//! (gradescope-autograders.readthedocs.io, "Autograder Specifications"):
//! a `results.json` with the submission's `score` and `output`, and
//! `tests`, each with its `name`, `score`, `max_score`, `status` and
//! `output`. `--grade-batch` writes one per student; `labs/autograder/
//! run_autograder` puts a student's where Gradescope reads it.

use serde::{Deserialize, Serialize};

use super::grade::{Graded, Report};
use super::manifest::{Check, Manifest};
use super::verdict::Verdict;
use xtask::NAME;

/// Gradescope's `results.json` (the fields used here; the others are
/// optional).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Results {
    /// The submission's score: the sum of the tests' scores.
    pub score: u32,
    /// Text about the whole submission, shown to the student.
    pub output: String,
    pub tests: Vec<TestResult>,
}

/// One test case of [`Results`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestResult {
    pub name: String,
    pub score: u32,
    pub max_score: u32,
    /// `passed` or `failed`: Gradescope colours the test by it.
    pub status: String,
    /// What the student reads under the test: the verdict and its reason,
    /// and how to run the test at home.
    pub output: String,
}

impl Results {
    /// Read a `results.json` back, or say why it is not one.
    pub fn parse(text: &str) -> std::result::Result<Results, String> {
        serde_json::from_str(text).map_err(|e| format!("not Gradescope's results.json: {e}"))
    }
}

/// A graded test's output: its verdict, the reason, and the commands that
/// grade and boot it in the student's own tree.
fn test_output(lab: &str, g: &Graded, check: Option<&Check>) -> String {
    if let Some(Check::Answers { file }) = check {
        return format!(
            "{}\nNot scored: your answers in {file} are collected for the teacher.",
            g.verdict.word()
        );
    }
    if g.verdict == Verdict::Pass {
        return g.verdict.word().to_string();
    }
    let mut s = format!("{}: {}\n", g.verdict.word(), g.verdict.reason());
    s.push_str(&format!(
        "Re-run it alone: ./{NAME} --grade {lab} {}",
        g.name
    ));
    if let Some(Check::Boot { ktest, boot, .. }) = check {
        s.push_str(&format!(
            "\nBoot it yourself: {} (add --gdb to debug it)",
            super::grade::boot_command(ktest, boot)
        ));
    }
    if let Some(hint) = &g.hint {
        s.push_str(&format!("\n{hint}"));
    }
    s
}

/// The Gradescope results of a grading: `report`, or (no report) why
/// there is no score, which Gradescope must still get as a score of 0
/// with the reason. `missing`: files of the lab the submission lacks.
pub fn results(
    m: &Manifest,
    report: &std::result::Result<Report, String>,
    missing: &[String],
) -> Results {
    let mut output = String::new();
    if !missing.is_empty() {
        output.push_str(&format!(
            "Not in your submission (the handout's copy was graded): {}\n",
            missing.join(", ")
        ));
    }
    let r = match report {
        Ok(r) => r,
        Err(why) => {
            output.push_str(&format!("No test ran: {why}\n"));
            return Results {
                score: 0,
                output,
                tests: Vec::new(),
            };
        }
    };
    output.push_str(&format!(
        "Lab {}: {}. Score: {}/{}\n",
        r.lab, m.title, r.score, r.total
    ));
    let tests = r
        .tests
        .iter()
        .map(|g| {
            let check = m.test(&g.name).map(|t| &t.check);
            TestResult {
                name: g.name.clone(),
                score: g.points,
                max_score: g.max,
                status: match g.verdict == Verdict::Pass {
                    true => "passed".into(),
                    false => "failed".into(),
                },
                output: test_output(&r.lab, g, check),
            }
        })
        .collect();
    Results {
        score: r.score,
        output,
        tests,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Test;

    fn manifest() -> Manifest {
        Manifest {
            name: "kalloc".into(),
            title: "Pages".into(),
            depends: vec![],
            files: vec!["src/x.rs".into()],
            tests: vec![
                Test {
                    name: "kalloc_order".into(),
                    points: 10,
                    exercises: vec![],
                    check: Check::Boot {
                        ktest: "kalloc_order".into(),
                        panic: None,
                        boot: vec![],
                        limit: 60,
                    },
                },
                Test {
                    name: "questions".into(),
                    points: 0,
                    exercises: vec![],
                    check: Check::Answers {
                        file: "a.txt".into(),
                    },
                },
            ],
            mutants: vec![],
        }
    }

    fn graded(name: &str, max: u32, verdict: Verdict) -> Graded {
        Graded {
            name: name.into(),
            points: if verdict == Verdict::Pass { max } else { 0 },
            max,
            verdict,
            rerun: String::new(),
            log: None,
            hint: None,
        }
    }

    #[test]
    fn each_test_has_gradescopes_fields_and_a_failure_says_why_and_how_to_rerun() {
        let report = Ok(Report {
            lab: "kalloc".into(),
            score: 0,
            total: 10,
            tests: vec![
                graded(
                    "kalloc_order",
                    10,
                    Verdict::Fail {
                        reason: "not LIFO".into(),
                    },
                ),
                graded("questions", 0, Verdict::Pass),
            ],
        });
        let r = results(&manifest(), &report, &["a.txt".into()]);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["score"], 0);
        assert_eq!(json["tests"][0]["name"], "kalloc_order");
        assert_eq!(json["tests"][0]["max_score"], 10);
        assert_eq!(json["tests"][0]["status"], "failed");
        assert_eq!(
            json["tests"][0]["output"],
            "FAIL: not LIFO\nRe-run it alone: ./run-qemu.sh --grade kalloc kalloc_order\n\
             Boot it yourself: ./run-qemu.sh --cmdline ktest=kalloc_order (add --gdb to debug it)"
        );
        assert_eq!(json["tests"][1]["status"], "passed");
        assert!(
            r.tests[1].output.contains("collected for the teacher"),
            "{}",
            r.tests[1].output
        );
        assert!(
            r.output.starts_with("Not in your submission"),
            "{}",
            r.output
        );
        assert!(r.output.contains("Score: 0/10"), "{}", r.output);
    }

    #[test]
    fn no_report_is_a_score_of_0_with_the_reason() {
        let r = results(&manifest(), &Err("the kernel does not build".into()), &[]);
        assert_eq!(
            (r.score, r.tests.len(), r.output.as_str()),
            (0, 0, "No test ran: the kernel does not build\n")
        );
    }
}
