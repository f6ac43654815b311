//! Where things are: the project's root and the files the runner writes
//! below `target/`.

use std::path::{Path, PathBuf};

/// The project's root (the kernel's package), which holds `xtask/`.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ lies inside the project")
}

/// `rel` below the root.
pub fn at(rel: impl AsRef<Path>) -> PathBuf {
    root().join(rel)
}

/// Where the ISOs are cached and staged, relative to the root.
pub const ISO_DIR: &str = "target/iso";

/// Bochs's log file unless `BOCHS_LOG` names another, relative to the root.
pub const BOCHS_LOG: &str = "target/bochs.log";

/// The Bochs configuration unless `XV6_BOCHSRC` names another.
pub const BOCHSRC: &str = "boot/bochsrc";

/// The debugger commands that start Bochs's machine straight away.
pub const BOCHS_CONTINUE: &str = "boot/bochs-continue";

/// A directory of the runner's own outside the project, for trees it
/// builds in (the labs' grading trees): `$XV6_SCRATCH`, or one below the
/// system's temporary directory named after this tree's path. Not below
/// the root, because cargo merges the `.cargo/config.toml` of every
/// directory above a tree, so a tree inside this one would get its aliases
/// twice; kept between runs, so that only its first build is from scratch.
pub fn scratch(name: &str) -> PathBuf {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let base = match std::env::var_os("XV6_SCRATCH") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let mut h = DefaultHasher::new();
            root().hash(&mut h);
            std::env::temp_dir().join(format!("xv6-rs-{:016x}", h.finish()))
        }
    };
    base.join(name)
}
