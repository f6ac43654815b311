#!/usr/bin/env bash
# Build the kernel, put it on a GRUB (Multiboot2) ISO and boot it in QEMU with
# the serial console on this terminal. Also the entry point of the test suite
# (--test). Run ./run-qemu.sh --help for the options.
set -euo pipefail
cd "$(dirname "$0")"
# The Bochs configuration (XV6_BOCHSRC to try another one).
BOCHSRC=${XV6_BOCHSRC:-boot/bochsrc}
# Never fail without saying where.
trap 'echo "run-qemu.sh: line $LINENO: \"$BASH_COMMAND\" failed (status $?)" >&2' ERR

usage() {
    cat <<'USAGE'
usage: ./run-qemu.sh [options] [-- extra QEMU arguments]

  --mem MIB       RAM for the guest (default 512; PHYSTOP is 240 MiB)
  --smp N         number of CPUs (default 1)
  --cmdline STR   kernel command line, e.g. "halt" or "ktest=all"
  --monitor CMDS  monitor commands to run first, separated by ';', e.g.
                  "meminfo;showmappings 0x80100000;halt" (the kernel's
                  monitor= option; works in Bochs too)
  --gdb           start QEMU stopped before its first instruction, waiting
                  for GDB on localhost:$GDBPORT (default 1234); then run
                  gdb -x .gdbinit  in another terminal
  --iso           only build the kernel and the ISO; print the ISO's path
  --no-junk       build without the kalloc/kfree junk fill (feature "junk")
  --no-strip      put the whole kernel ELF on the ISO, debug info and symbol
                  table included (by default they are stripped from the ISO's
                  copy: GRUB loads every section, so they slow the boot, and
                  nothing at run time needs them; GDB and Bochs read
                  target/kernel/xv6). GRUB then puts its boot information
                  and modules above 4 MiB: the tests use both layouts
  --module FILE   hand FILE to the kernel as a Multiboot2 module
  --multiboot1    boot with GRUB's old `multiboot` command (the kernel must
                  refuse it with a clear message; used by the tests)
  --bochs         boot the same ISO in Bochs instead (headless; serial on
                  stdout; Bochs exits 1 when the kernel powers off)
  --bochs-debug   boot in Bochs and stop in its debugger at the first
                  instruction, kernel symbols loaded (docs/debugging.md)
  --test          run every test: formatting, clippy, host unit tests and
                  the boot tests in QEMU (what CI runs)
  --bench         measure the memory path and the boot time and print a
                  table and a JSON line (docs/benchmarks.md); BENCH_RUNS
                  runs of each wall-clock figure (default 5)
  --time-boot N   launch QEMU N times and print the milliseconds from each
                  launch to the monitor's first line (used by --bench; add
                  --monitor halt so that each run ends by itself)
  --setup         only install what is missing, then check that QEMU,
                  Bochs and GDB start on this machine

With no options the kernel boots into its monitor (prompt K>). Input may be
piped: printf 'meminfo\nhalt\n' | ./run-qemu.sh. The end of piped input
(Ctrl-D on a terminal) powers the machine off.

Exit status: 0 when the kernel powers off, 3 after a kernel panic, 5 when the
kernel was not booted by a Multiboot2 loader, other values from QEMU itself.
USAGE
}

# ---- prerequisites ---------------------------------------------------------
# The Debian packages that are missing, by the command (or files) each gives.
missing_pkgs() {
    local missing=()
    command -v qemu-system-i386 >/dev/null || missing+=(qemu-system-x86)
    [ -d /usr/lib/grub/i386-pc ] || missing+=(grub-pc-bin)
    command -v grub-mkrescue >/dev/null || missing+=(grub-common)
    command -v xorriso >/dev/null || missing+=(xorriso)
    command -v mformat >/dev/null || missing+=(mtools)
    command -v objcopy >/dev/null || missing+=(binutils)
    command -v flock >/dev/null || missing+=(util-linux)
    command -v gdb >/dev/null || missing+=(gdb)
    command -v bochs >/dev/null || missing+=(bochs)
    [ -f /usr/share/bochs/BIOS-bochs-latest ] || missing+=(bochsbios)
    [ -f /usr/share/vgabios/vgabios.bin ] || missing+=(vgabios)
    echo "${missing[@]}"
}

ensure_prereqs() {
    if ! command -v rustup >/dev/null || ! command -v cargo >/dev/null; then
        echo "run-qemu.sh: rustup and cargo are needed; install them from https://rustup.rs" >&2
        exit 1
    fi
    if ! rustup toolchain list | grep -q '^nightly'; then
        echo "run-qemu.sh: the nightly toolchain is missing; run: rustup toolchain install nightly" >&2
        exit 1
    fi
    # rust-src for -Zbuild-std; rustfmt and clippy for the test command.
    local have comp
    have=$(rustup component list --toolchain nightly --installed)
    for comp in rust-src rustfmt clippy; do
        if ! grep -q "^$comp" <<<"$have"; then
            echo "run-qemu.sh: installing $comp for nightly" >&2
            rustup component add "$comp" --toolchain nightly >&2
        fi
    done
    local missing
    missing=$(missing_pkgs)
    if [ -n "$missing" ]; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "run-qemu.sh: installing $missing" >&2
            apt-get update -qq >&2
            # shellcheck disable=SC2086
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2
        else
            echo "run-qemu.sh: missing Debian packages; run:" >&2
            echo "  sudo apt-get install -y --no-install-recommends $missing" >&2
            exit 1
        fi
    fi
}

# ---- smoke check ----------------------------------------------------------
# Start each emulator and the debugger for a moment, headless and with no
# host devices, so that a tool that cannot run on this machine is named here
# rather than deep inside the tests. Each check is bounded in time.
smoke_check() {
    local dir failed=0 out status snd
    dir=$(mktemp -d)
    status=0
    out=$(echo quit | timeout 20 qemu-system-i386 -machine none -display none \
        -nodefaults -serial none -monitor stdio 2>&1) || status=$?
    if [ "$status" != 0 ]; then
        echo "run-qemu.sh: QEMU does not start on this machine (status $status); it printed:" >&2
        tail -5 <<<"$out" >&2
        failed=1
    fi
    # Bochs with the project's own bochsrc (no disk): it initialises every
    # device, stops at its debugger's first prompt and quits there.
    echo q > "$dir/quit.rc"; : > "$dir/empty.syms"
    status=0
    out=$(BOCHS_ISO=/dev/null BOCHS_MEGS=32 BOCHS_SERIAL=/dev/null \
        BOCHS_LOG="$dir/bochs.log" BOCHS_SYMS="$dir/empty.syms" \
        timeout 20 bochs -q -f "$BOCHSRC" -rc "$dir/quit.rc" \
        'ata0-master: type=none' 'boot: floppy' </dev/null 2>&1) || status=$?
    # A host sound driver aborts Debian's Bochs where there is no sound
    # card, and works where there is one: name it either way (Bochs's log
    # file lists the plugins it loaded once it has read the bochsrc).
    snd=$(grep -h -o -E 'libbx_sound(alsa|oss|pulse|sdl|file)\.so' "$dir/bochs.log" 2>/dev/null | head -1) || true
    if [ "$status" != 0 ]; then
        echo "run-qemu.sh: Bochs does not start on this machine ($BOCHSRC, status $status); it printed:" >&2
        # Its info lines, banner and frame say nothing about why.
        grep -v -E '^[0-9]+i\[|^=+$|Bochs x86 Emulator|Built from SVN|Timestamp:|notify called' \
            <<<"$out" | tail -5 >&2
        failed=1
    fi
    if [ -n "$snd" ]; then
        echo "run-qemu.sh: Bochs loaded the host sound driver $snd, which aborts it on a machine without a sound card; $BOCHSRC needs 'speaker: enabled=0' and 'sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy'" >&2
        failed=1
    fi
    status=0
    out=$(timeout 20 gdb -batch -nx -ex 'set architecture i386' </dev/null 2>&1) || status=$?
    if [ "$status" != 0 ]; then
        echo "run-qemu.sh: GDB does not start or has no i386 support (status $status); it printed:" >&2
        tail -5 <<<"$out" >&2
        failed=1
    fi
    rm -rf "$dir"
    [ "$failed" = 0 ] || exit 1
    echo "run-qemu.sh: QEMU, Bochs and GDB start" >&2
}

# ---- test command ------------------------------------------------------------
# Every step runs, so one failure does not hide another; the summary names
# each step that failed.
run_tests() {
    local failed=() step
    local steps=(
        "cargo fmt --all -- --check"
        "cargo clippy --all-targets -- -D warnings"
        "cargo kclippy -- -D warnings"
        "cargo kclippy --no-default-features -- -D warnings"
        "cargo test --no-fail-fast -- --test-threads=2"
    )
    set +e; trap - ERR
    for step in "${steps[@]}"; do
        echo "run-qemu.sh --test: $step" >&2
        $step || failed+=("$step")
    done
    if [ "${#failed[@]}" -gt 0 ]; then
        echo "run-qemu.sh --test: ${#failed[@]} of ${#steps[@]} steps failed:" >&2
        printf '  %s\n' "${failed[@]}" >&2
        exit 1
    fi
    echo "run-qemu.sh --test: all ${#steps[@]} steps passed" >&2
}

# ---- benchmarks --------------------------------------------------------------
# The median of the numbers on standard input, one per line.
median() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# --bench: each figure from its own boots of this script, so that what is
# measured is exactly what users run.
run_bench() {
    local runs=${BENCH_RUNS:-5} out junk mode cpus rate boot_ms full_ms
    local icount_json=() kt_json=()
    echo "bench: $(qemu-system-i386 --version | head -1)"
    echo "bench: guest instructions (-icount shift=0, one CPU: the TSC counts instructions)"
    for junk in on off; do
        local opt=()
        [ "$junk" = off ] && opt=(--no-junk)
        for mode in global percpu; do
            out=$("$0" "${opt[@]}" --cmdline "bench kalloc=$mode" -- -icount shift=0 </dev/null)
            grep '^bench: ' <<<"$out" | grep -v '^bench: stage' | sed "s/^bench: /bench: [$mode, junk $junk] /"
            icount_json+=("$(sed -n 's/^bench-json: //p' <<<"$out")")
        done
    done
    echo "bench: kalloctest wall-clock throughput (100000 rounds per CPU), median of $runs runs"
    for mode in global percpu; do
        for cpus in 1 2 4; do
            rate=$(for _ in $(seq "$runs"); do
                "$0" --smp "$cpus" --cmdline "kalloc=$mode" --monitor "kalloctest;halt" </dev/null |
                    awk '/^kalloctest: [0-9]+ pairs in [0-9]+ ticks of/ { if ($5 > 0) print int($2 * 1000 / ($5 * $8)) }'
            done | median)
            printf 'bench: kalloctest %-6s %d CPUs: %s pairs/s\n' "$mode" "$cpus" "$rate"
            kt_json+=("{\"mode\":\"$mode\",\"cpus\":$cpus,\"pairs_per_s\":$rate}")
        done
    done
    boot_ms=$("$0" --monitor halt --time-boot "$runs" </dev/null | sed -n 's/^boot-ms: //p' | median)
    echo "bench: launch to monitor prompt (GRUB included), median of $runs runs: $boot_ms ms"
    full_ms=$("$0" --no-strip --monitor halt --time-boot "$runs" </dev/null | sed -n 's/^boot-ms: //p' | median)
    echo "bench: the same with --no-strip (debug info on the ISO): $full_ms ms"
    local IFS=,
    echo "bench-json: {\"icount\":[${icount_json[*]}],\"kalloctest\":[${kt_json[*]}],\"boot_ms_median\":$boot_ms,\"boot_ms_median_no_strip\":$full_ms}"
}

# ---- options ---------------------------------------------------------------
MEM=512 SMP=1 CMDLINE="" MONITOR="" GDB=0 ISO_ONLY=0 BOCHS=0 BOCHS_DEBUG=0 JUNK=1 MODULE="" TIME_BOOT=0
LOADER=multiboot2 STRIP=1 GDBPORT=${GDBPORT:-1234}
QEMU_EXTRA=()
while [ $# -gt 0 ]; do
    case "$1" in
        --mem) MEM=${2:?--mem needs a size in MiB}; shift 2 ;;
        --smp) SMP=${2:?--smp needs a CPU count}; shift 2 ;;
        --cmdline) CMDLINE=${2?--cmdline needs a string}; shift 2 ;;
        --monitor) MONITOR=${2?--monitor needs commands}; shift 2 ;;
        --gdb) GDB=1; shift ;;
        --bochs) BOCHS=1; shift ;;
        --bochs-debug) BOCHS=1 BOCHS_DEBUG=1; shift ;;
        --iso) ISO_ONLY=1; shift ;;
        --no-junk) JUNK=0; shift ;;
        --no-strip) STRIP=0; shift ;;
        --module) MODULE=${2:?--module needs a file}; shift 2 ;;
        --multiboot1) LOADER=multiboot; shift ;;
        --setup) ensure_prereqs; smoke_check; exit 0 ;;
        --test) ensure_prereqs; run_tests; exit 0 ;;
        --bench) ensure_prereqs; run_bench; exit 0 ;;
        --time-boot) TIME_BOOT=${2:?--time-boot needs a number of runs}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        --) shift; QEMU_EXTRA=("$@"); break ;;
        *) echo "run-qemu.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

[[ "$MEM" =~ ^[0-9]+$ ]] || { echo "run-qemu.sh: --mem '$MEM' is not a whole number of MiB" >&2; exit 2; }
[[ "$SMP" =~ ^[1-9][0-9]*$ ]] || { echo "run-qemu.sh: --smp '$SMP' is not a CPU count >= 1" >&2; exit 2; }
# GRUB's script language gives these characters a meaning of their own.
if [[ "$CMDLINE" =~ [\"\'\\\$\;\{\}\|\&\<\>\`] ]]; then
    echo "run-qemu.sh: --cmdline '$CMDLINE' contains a character GRUB's config would interpret (one of \" ' \\ \$ ; { } | & < > \`)" >&2
    exit 2
fi
# The monitor commands go into grub.cfg inside single quotes, where only a
# quote (or a backslash, for GRUB's own re-quoting) could break out.
if [[ "$MONITOR" =~ [\'\\\"] ]] || [[ "$MONITOR" == *$'\n'* ]]; then
    echo "run-qemu.sh: --monitor '$MONITOR' contains a quote, a backslash or a newline; separate commands with ';'" >&2
    exit 2
fi
[[ "$GDBPORT" =~ ^[0-9]+$ ]] || { echo "run-qemu.sh: GDBPORT '$GDBPORT' is not a port number" >&2; exit 2; }
if [ -n "$MODULE" ] && [ ! -f "$MODULE" ]; then
    echo "run-qemu.sh: --module '$MODULE' is not a file" >&2; exit 2
fi

ensure_prereqs

# ---- build -----------------------------------------------------------------
if [ "$JUNK" = 1 ]; then
    TARGET_DIR=target/kernel FEATURES=()
else
    TARGET_DIR=target/kernel-nojunk FEATURES=(--no-default-features)
fi
# cargo's output, and the kernel with its symbol table filled in: a file of
# its own, which cargo never touches (it relinks its output on every build),
# replaced only by rename, so a debugger reading it never sees it change.
BUILT="$TARGET_DIR/i686-xv6/release/xv6"
KERNEL="$TARGET_DIR/xv6"
# Several runs may start at once (the tests do): one at a time builds the
# kernel, fills its symbol table and copies it for the ISO.
mkdir -p "$TARGET_DIR"
exec 9>"$TARGET_DIR/run-qemu.lock"
flock 9
cargo kbuild --target-dir "$TARGET_DIR" "${FEATURES[@]}" >&2

# ---- symbol table ----------------------------------------------------------
# The kernel prints backtraces with function names from its .ksyms section
# (src/ksyms.rs), which the linker leaves zeroed: fill it from nm's list of
# functions, one "start size name" line each. The same list, in Bochs's
# "0xADDR NAME" format (no spaces in names), is the Bochs symbol file.
#
# Every file here is written under a temporary name and renamed into place:
# a debugger or Bochs that is reading the old one (the tests run GDB while
# other runs build) keeps its copy instead of seeing it truncated.
SYMS="$KERNEL.syms" BOCHS_SYMS_FILE="$KERNEL.bochs-syms"
nm -n -S -C --defined-only "$BUILT" | sed -n -E \
    -e 's/^([0-9a-f]{8}) ([0-9a-f]{8}) [tT] (.*)$/\1 \2 \3/p; t' \
    -e 's/^([0-9a-f]{8}) [tT] (.*)$/\1 00000000 \2/p' > "$SYMS.tmp"
sed -E -e 's/^([0-9a-f]{8}) [0-9a-f]{8} /0x\1 /' -e 's/ /_/2g' "$SYMS.tmp" > "$BOCHS_SYMS_FILE.tmp"
mv -f "$BOCHS_SYMS_FILE.tmp" "$BOCHS_SYMS_FILE"
KSYMS_HEX=$(objdump -h "$BUILT" | awk '$2 == ".ksyms" { print $3 }')
[ -n "$KSYMS_HEX" ] || { echo "run-qemu.sh: the kernel has no .ksyms section (linker.ld)" >&2; exit 1; }
KSYMS_BYTES=$((16#$KSYMS_HEX))
SYMS_BYTES=$(stat -c %s "$SYMS.tmp")
if [ "$SYMS_BYTES" -ge "$KSYMS_BYTES" ]; then
    echo "run-qemu.sh: the symbol table takes $SYMS_BYTES bytes but .ksyms holds $KSYMS_BYTES; raise KSYMS_SIZE in src/ksyms.rs" >&2
    exit 1
fi
truncate -s "$KSYMS_BYTES" "$SYMS.tmp"   # zero-padded: the table ends at the first 0
mv -f "$SYMS.tmp" "$SYMS"
objcopy --update-section ".ksyms=$SYMS" "$BUILT" "$KERNEL.tmp"
mv -f "$KERNEL.tmp" "$KERNEL"

# ---- ISO -------------------------------------------------------------------
# One ISO per (kernel, command line, module, loader); several runs may build
# ISOs at once (the tests do), so each is staged in its own directory and
# moved into place.
mkdir -p target/iso
STAGE=$(mktemp -d target/iso/stage.XXXXXX)
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/boot/grub"
if [ "$STRIP" = 1 ]; then
    # Loadable sections only (.ksyms, which backtraces use, is one of them).
    strip --strip-all -o "$STAGE/boot/kernel.elf" "$KERNEL"
else
    cp "$KERNEL" "$STAGE/boot/kernel.elf"
fi
flock -u 9
if [ -n "$MONITOR" ]; then
    CMDLINE="$CMDLINE 'monitor=$MONITOR'"
fi
MODLINE=""
if [ -n "$MODULE" ]; then
    cp "$MODULE" "$STAGE/boot/module.bin"
    MODLINE="module2 /boot/module.bin module"
fi
cat > "$STAGE/boot/grub/grub.cfg" <<CFG
set timeout=0
set default=0
serial --unit=0 --speed=115200
terminal_output serial console
menuentry "xv6" {
    $LOADER /boot/kernel.elf $CMDLINE
    $MODLINE
    boot
}
CFG
KEY=$( (sha1sum "$STAGE/boot/kernel.elf" "$STAGE/boot/grub/grub.cfg" ${MODULE:+"$MODULE"} | cut -c1-40) | sha1sum | cut -c1-16)
ISO="target/iso/xv6-$KEY.iso"
if [ ! -f "$ISO" ]; then
    grub-mkrescue -o "$STAGE/xv6.iso" "$STAGE" >/dev/null 2>&1 \
        || { echo "run-qemu.sh: grub-mkrescue failed; run it by hand to see why:" >&2
             echo "  grub-mkrescue -o /tmp/xv6.iso $STAGE" >&2; exit 1; }
    mv "$STAGE/xv6.iso" "$ISO"
fi
if [ "$ISO_ONLY" = 1 ]; then
    echo "$ISO"
    exit 0
fi

# ---- Bochs -----------------------------------------------------------------
if [ "$BOCHS" = 1 ]; then
    rm -rf "$STAGE"; trap - EXIT
    export BOCHS_ISO="$ISO" BOCHS_MEGS="$MEM" BOCHS_SERIAL=/dev/stdout
    export BOCHS_LOG="${BOCHS_LOG:-target/bochs.log}" BOCHS_SYMS="$BOCHS_SYMS_FILE"
    if [ "$BOCHS_DEBUG" = 1 ]; then
        # No -rc: Bochs stops at its <bochs:1> prompt before the BIOS runs.
        echo "run-qemu.sh: Bochs stops in its debugger; docs/debugging.md has recipes" >&2
        exec bochs -q -f "$BOCHSRC"
    fi
    exec bochs -q -f "$BOCHSRC" -rc boot/bochs-continue
fi

# ---- QEMU ------------------------------------------------------------------
QEMU=(qemu-system-i386 -cdrom "$ISO" -m "$MEM" -smp "cpus=$SMP,sockets=$SMP"
      -serial stdio
      -device isa-debug-exit,iobase=0xf4,iosize=0x04)
[ -n "${DISPLAY:-}" ] || QEMU+=(-display none)
if [ "$GDB" = 1 ]; then
    QEMU+=(-S -gdb "tcp::$GDBPORT")
    echo "run-qemu.sh: QEMU is stopped, waiting for GDB on localhost:$GDBPORT; in another terminal:" >&2
    echo "  gdb -x .gdbinit     (docs/debugging.md has recipes)" >&2
fi
rm -rf "$STAGE"; trap - EXIT
if [ "$TIME_BOOT" -gt 0 ]; then
    for _ in $(seq "$TIME_BOOT"); do
        START=$(date +%s%N)
        "${QEMU[@]}" "${QEMU_EXTRA[@]}" </dev/null | while IFS= read -r line; do
            if [[ "$line" == "monitor: type 'help'"* ]]; then
                echo "boot-ms: $(( ($(date +%s%N) - START) / 1000000 ))"
            fi
        done
    done
    exit 0
fi
if [ -t 0 ] || [ "$GDB" = 1 ]; then
    exec "${QEMU[@]}" "${QEMU_EXTRA[@]}"
fi

# Standard input is a pipe or a file. QEMU would pass its first bytes to the
# serial port at once, and GRUB and the kernel reset the port's FIFO while
# they boot, losing them. So hold the input back until the monitor says it
# is listening, then pass it on; at its end send Ctrl-D, which the monitor
# takes as the end of input (it powers off).
GATE=$(mktemp -u "${TMPDIR:-/tmp}/xv6-gate.XXXXXX")
mkfifo "$GATE"
trap 'rm -f "$GATE"' EXIT
# The feeder gets SIGPIPE when QEMU ends first (a kernel that powers off
# on its own): expected, so neither -e nor the ERR trap applies here.
set +e; trap - ERR
{ read -r _ < "$GATE"; cat; printf '\004'; } \
    | "${QEMU[@]}" "${QEMU_EXTRA[@]}" \
    | { while IFS= read -r line; do
            printf '%s\n' "$line"
            [[ "$line" == "monitor: type 'help'"* ]] && break
        done
        echo ready > "$GATE"   # also when QEMU ended first: never leave the reader waiting
        cat; }
STATUS=("${PIPESTATUS[@]}")
exit "${STATUS[1]}"
