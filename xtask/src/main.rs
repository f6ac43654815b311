//! The runner's binary: what `run-qemu.sh` starts (see the library).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(xtask::cli::main(&args));
}
