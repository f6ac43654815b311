//! Disk room for `--test`. A run from a fresh clone writes its build
//! trees below `target/` and the labs' grading trees below the scratch
//! directory ([`paths::scratch`]); on a full disk every later step fails
//! with a build error that does not say why. So `--test` says beforehand
//! when the room looks short, and afterwards when the disk filled up.

use std::path::{Path, PathBuf};

use crate::{NAME, paths};

/// What a run of `--test` from a fresh clone leaves below `target/`.
pub const TARGET_BYTES: u64 = 4 * GIB;
/// What it leaves below the scratch directory.
pub const SCRATCH_BYTES: u64 = 6 * GIB;
/// Less room than this after a failed run: the disk most likely filled up.
pub const FULL_BYTES: u64 = GIB / 2;

const GIB: u64 = 1 << 30;

/// One place the run writes to: its path, the free bytes and identity
/// (`st_dev`) of the disk holding it, and what a fresh run needs there.
#[derive(Clone, Debug, PartialEq)]
pub struct Place {
    pub path: PathBuf,
    pub free: u64,
    pub disk: u64,
    pub need: u64,
}

/// The free bytes of the disk holding `path` (or its nearest existing
/// ancestor) and that disk's device number.
fn free_bytes(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let existing = path.ancestors().find(|p| p.exists())?;
    let st = rustix::fs::statvfs(existing).ok()?;
    let disk = existing.metadata().ok()?.dev();
    Some((st.f_bavail.saturating_mul(st.f_frsize), disk))
}

/// `target/` and the scratch directory, as they are now.
pub fn places() -> Vec<Place> {
    [
        (paths::at("target"), TARGET_BYTES),
        (paths::scratch(""), SCRATCH_BYTES),
    ]
    .into_iter()
    .filter_map(|(path, need)| {
        let (free, disk) = free_bytes(&path)?;
        Some(Place {
            path,
            free,
            disk,
            need,
        })
    })
    .collect()
}

/// One disk the run writes to: its free bytes, the places on it (their
/// paths, joined) and what they need together.
struct Disk {
    free: u64,
    names: String,
    need: u64,
}

/// The disks holding `places`, each once, in the order its first place
/// comes.
fn by_disk(places: &[Place]) -> Vec<Disk> {
    let mut firsts: Vec<&Place> = Vec::new();
    for p in places {
        if !firsts.iter().any(|d| d.disk == p.disk) {
            firsts.push(p);
        }
    }
    firsts
        .into_iter()
        .map(|first| {
            let on_it: Vec<&Place> = places.iter().filter(|q| q.disk == first.disk).collect();
            let names: Vec<String> = on_it.iter().map(|q| q.path.display().to_string()).collect();
            Disk {
                free: first.free,
                names: names.join(" and "),
                need: on_it.iter().map(|q| q.need).sum(),
            }
        })
        .collect()
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / GIB as f64)
}

/// Before the run: a warning for each disk with less free room than the
/// places on it need from a fresh clone (a warning only: what is built
/// already is not written again).
pub fn before(places: &[Place]) -> Vec<String> {
    by_disk(places)
        .into_iter()
        .filter(|d| d.free < d.need)
        .map(|Disk { free, names, need }| {
            format!(
                "{NAME} --test: warning: {} free for {names}; a run from a fresh clone writes \
                 about {} there. If steps fail with \"No space left on device\", free some \
                 room, or set XV6_SCRATCH to a directory on a roomier disk.",
                gib(free),
                gib(need)
            )
        })
        .collect()
}

/// After a failed run: a line for each disk that is (nearly) full.
pub fn after_failure(places: &[Place]) -> Vec<String> {
    by_disk(places)
        .into_iter()
        .filter(|d| d.free < FULL_BYTES)
        .map(|Disk { free, names, .. }| {
            format!(
                "{NAME} --test: the disk holding {names} is full ({} free): the failures above \
                 may come from that, not from the code; free some room and run again.",
                gib(free)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(path: &str, free: u64, disk: u64, need: u64) -> Place {
        Place {
            path: PathBuf::from(path),
            free,
            disk,
            need,
        }
    }

    /// `lines` is one line that contains `part`.
    fn one_line_with(lines: &[String], part: &str) {
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains(part), "{part:?} not in {}", lines[0]);
    }

    #[test]
    fn room_enough_says_nothing() {
        let ps = [
            place("/a/target", 20 * GIB, 1, 6 * GIB),
            place("/tmp/s", 20 * GIB, 1, 6 * GIB),
        ];
        assert!(before(&ps).is_empty());
        assert!(after_failure(&ps).is_empty());
    }

    #[test]
    fn two_places_on_one_disk_need_their_sum() {
        let ps = [
            place("/a/target", 10 * GIB, 1, 6 * GIB),
            place("/tmp/s", 10 * GIB, 1, 6 * GIB),
        ];
        one_line_with(
            &before(&ps),
            "10.0 GiB free for /a/target and /tmp/s; a run from a fresh clone writes about \
             12.0 GiB there",
        );
    }

    #[test]
    fn places_on_two_disks_are_judged_apart() {
        let ps = [
            place("/a/target", 10 * GIB, 1, 6 * GIB),
            place("/big/s", 5 * GIB, 2, 6 * GIB),
        ];
        one_line_with(&before(&ps), "5.0 GiB free for /big/s;");
    }

    #[test]
    fn a_full_disk_after_a_failed_run_is_named_once() {
        let apart = [
            place("/a/target", GIB / 10, 1, 6 * GIB),
            place("/big/s", 5 * GIB, 2, 6 * GIB),
        ];
        one_line_with(
            &after_failure(&apart),
            "the disk holding /a/target is full (0.1 GiB free)",
        );
        let together = [
            place("/a/target", GIB / 10, 1, 6 * GIB),
            place("/tmp/s", GIB / 10, 1, 6 * GIB),
        ];
        one_line_with(
            &after_failure(&together),
            "the disk holding /a/target and /tmp/s is full",
        );
    }

    #[test]
    fn this_machine_has_a_target_and_a_scratch_place() {
        let ps = places();
        assert_eq!(ps.len(), 2, "{ps:?}");
        assert!(ps.iter().all(|p| p.free > 0), "{ps:?}");
    }
}
