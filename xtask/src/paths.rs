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
