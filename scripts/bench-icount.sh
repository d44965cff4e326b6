#!/usr/bin/env bash
# Instructions per message of the generated HTTP writer and of the
# hand-written serde derive, for every docs example, counted by valgrind's
# cachegrind (deterministic: unlike `cargo bench`, other load on the machine
# does not change it). Needs valgrind.
#
#   scripts/bench-icount.sh [TIMES]      # default 10000
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
times="${1:-10000}"
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 2; }

cargo build -q --release --manifest-path "$root/Cargo.toml" -p wechat-msg-tests --example serialize_icount
bin="${CARGO_TARGET_DIR:-$root/target}/release/examples/serialize_icount"

# Instructions of one run; the run with 0 messages is the setup to subtract.
count() {
    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$bin" "$@" 2>&1 \
        | awk '/I +refs/ {gsub(",", "", $4); print $4}'
}

printf '| message | generated (instr.) | serde derive (instr.) | generated / derive |\n'
printf '|---|---:|---:|---:|\n'
for message in text image link miniprogrampage uniform template; do
    per=()
    for writer in generated serde_derive; do
        setup=$(count "$message" "$writer" 0)
        total=$(count "$message" "$writer" "$times")
        per+=("$(( (total - setup) / times ))")
    done
    awk -v m="$message" -v g="${per[0]}" -v h="${per[1]}" \
        'BEGIN {printf "| %s | %d | %d | %.2f |\n", m, g, h, g / h}'
done
