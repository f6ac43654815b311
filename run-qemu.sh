#!/usr/bin/env bash
# Build the kernel, put it on a GRUB (Multiboot2) ISO and boot it in QEMU with
# the serial console on this terminal. Also the entry point of the test suite
# (--test). Run ./run-qemu.sh --help for the options.
#
# This script only makes sure the Rust toolchain is there; the runner, a Rust
# program in xtask/, does the rest (docs/running.md).
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v rustup >/dev/null || ! command -v cargo >/dev/null; then
    echo "run-qemu.sh: rustup and cargo are needed; install them from https://rustup.rs" >&2
    exit 1
fi
if ! rustup toolchain list | grep -q '^nightly'; then
    echo "run-qemu.sh: the nightly toolchain is missing; run: rustup toolchain install nightly" >&2
    exit 1
fi
# rust-src for -Zbuild-std; rustfmt and clippy for the test command. Nothing
# installs itself here (RUSTUP_AUTO_INSTALL=0).
have=$(rustup component list --toolchain nightly --installed)
for comp in rust-src rustfmt clippy; do
    if ! grep -q "^$comp" <<<"$have"; then
        echo "run-qemu.sh: installing $comp for nightly" >&2
        rustup component add "$comp" --toolchain nightly >&2
    fi
done

# `cargo xtask` (.cargo/config.toml) builds the runner in a target directory
# of its own: the tests, which `cargo test` runs while it holds target/'s
# lock, call this script too.
exec cargo xtask "$@"
