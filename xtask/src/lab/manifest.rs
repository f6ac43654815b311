//! A lab's manifest, `labs/<lab>/lab.toml`: its title, the labs it depends
//! on and the files a student edits. Only the small part of TOML it needs
//! is read: `key = "string"` and `key = ["string", ...]` lines, and `#`
//! comments.

/// Where a lab's manifest lives: `labs/<lab>/lab.toml`.
pub const LABS_DIR: &str = "labs";
pub const MANIFEST: &str = "lab.toml";

/// What `lab.toml` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// The lab's directory name.
    pub name: String,
    pub title: String,
    /// Labs whose solutions this lab's handout keeps.
    pub depends: Vec<String>,
    /// The files a student edits, relative to the root.
    pub files: Vec<String>,
}

/// The lab a manifest path belongs to: `labs/<lab>/lab.toml` gives `<lab>`.
pub fn lab_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(LABS_DIR)?.strip_prefix('/')?;
    let (lab, file) = rest.split_once('/')?;
    (file == MANIFEST && !lab.is_empty()).then_some(lab)
}

/// A quoted TOML basic string without escapes.
fn string(v: &str) -> Option<String> {
    let s = v.strip_prefix('"')?.strip_suffix('"')?;
    (!s.contains(['"', '\\'])).then(|| s.to_string())
}

/// A one-line array of such strings.
fn strings(v: &str) -> Option<Vec<String>> {
    let inner = v.strip_prefix('[')?.strip_suffix(']')?.trim();
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(string)
        .collect()
}

/// Read the manifest `text` of lab `name` (`path` names it in errors).
pub fn parse(name: &str, path: &str, text: &str) -> Result<Manifest, String> {
    let (mut title, mut depends, mut files) = (None, None, None);
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = format!("{path}:{}", n + 1);
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("{at}: expected `key = value`, found {line:?}"));
        };
        let value = value.trim();
        let bad = |what: &str| format!("{at}: {} must be {what}, found {value}", key.trim());
        match key.trim() {
            "title" => title = Some(string(value).ok_or_else(|| bad("a quoted string"))?),
            "depends" => depends = Some(strings(value).ok_or_else(|| bad("a list of lab names"))?),
            "files" => files = Some(strings(value).ok_or_else(|| bad("a list of paths"))?),
            other => {
                return Err(format!(
                    "{at}: unknown key {other:?} (the keys are title, depends, files)"
                ));
            }
        }
    }
    let missing = |key: &str| format!("{path}: {key} is missing");
    Ok(Manifest {
        name: name.to_string(),
        title: title.ok_or_else(|| missing("title"))?,
        depends: depends.ok_or_else(|| missing("depends"))?,
        files: files.ok_or_else(|| missing("files"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_has_a_title_dependencies_and_files() {
        let text = "# a comment\ntitle = \"Pages\"\ndepends = []\nfiles = [\"src/kalloc.rs\", \"src/vm.rs\"]\n";
        let m = parse("kalloc", "labs/kalloc/lab.toml", text).unwrap();
        assert_eq!(m.title, "Pages");
        assert!(m.depends.is_empty());
        assert_eq!(m.files, ["src/kalloc.rs", "src/vm.rs"]);
    }

    #[test]
    fn bad_manifests_are_refused_by_line() {
        let p = "labs/x/lab.toml";
        let e = parse("x", p, "title = Pages\n").unwrap_err();
        assert_eq!(
            e,
            "labs/x/lab.toml:1: title must be a quoted string, found Pages"
        );
        let e = parse("x", p, "title = \"t\"\nowner = \"me\"\n").unwrap_err();
        assert!(
            e.starts_with("labs/x/lab.toml:2: unknown key \"owner\""),
            "{e}"
        );
        let e = parse("x", p, "title = \"t\"\ndepends = []\n").unwrap_err();
        assert_eq!(e, "labs/x/lab.toml: files is missing");
    }

    #[test]
    fn manifest_paths_name_their_lab() {
        assert_eq!(lab_of("labs/kalloc/lab.toml"), Some("kalloc"));
        assert_eq!(lab_of("labs/kalloc/README.md"), None);
        assert_eq!(lab_of("labs/lab.toml"), None);
        assert_eq!(lab_of("src/labs/x/lab.toml"), None);
    }
}
