//! The runner's binary: what `run-qemu.sh` starts (see the runner's
//! library, `xtask`, and the lab tooling, `lab`).

mod cli;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(cli::main(&args));
}
