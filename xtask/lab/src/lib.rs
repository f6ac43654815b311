//! The course's labs from one tree: the markers that cut the solution
//! tree into exercises, each lab's manifest, the export of a lab's
//! handout, the grader (one student, or a class) and the labs'
//! self-check (docs/labs.md).

pub mod batch;
pub mod check;
pub mod export;
pub mod grade;
pub mod gradescope;
pub mod host;
pub mod manifest;
pub mod markers;
pub mod mutate;
pub mod verdict;

/// The labs of this tree: the directories `labs/<lab>/` with a manifest,
/// by name.
pub fn labs_here() -> Vec<String> {
    let dir = xtask::paths::at(manifest::LABS_DIR);
    let mut labs: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join(manifest::MANIFEST).is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    labs.sort();
    labs
}
