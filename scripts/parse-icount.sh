#!/usr/bin/env bash
# Instructions per body of the generated reader (`Wire::from_json`), the
# hand-written serde derive (alone, and followed by the keyword checks the
# generated reader makes: only the subscribe message has keywords) and the
# value reader (`parse_json` then `from_value`), counted by valgrind's
# cachegrind (deterministic: other load on the machine does not change it).
# Needs valgrind.
#
#   scripts/parse-icount.sh [TIMES]      # default 10000
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
times="${1:-10000}"
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 2; }

cargo build -q --release --manifest-path "$root/Cargo.toml" -p wechat-msg-tests --example parse_icount
bin="${CARGO_TARGET_DIR:-$root/target}/release/examples/parse_icount"

# Instructions of one run; the run with 0 bodies is the setup to subtract.
count() {
    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$bin" "$@" 2>&1 \
        | awk '/I +refs/ {gsub(",", "", $4); print $4}'
}

printf '| body | generated | serde derive | derive + checks | value reader | generated / derive | generated / derive + checks | value reader / derive |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|\n'
for message in text link miniprogrampage subscribe; do
    per=()
    for reader in generated serde_derive serde_derive_checked via_value; do
        setup=$(count "$message" "$reader" 0)
        total=$(count "$message" "$reader" "$times")
        per+=("$(( (total - setup) / times ))")
    done
    awk -v m="$message" -v g="${per[0]}" -v h="${per[1]}" -v c="${per[2]}" -v v="${per[3]}" \
        'BEGIN {printf "| %s | %d | %d | %d | %d | %.2f | %.2f | %.2f |\n", m, g, h, c, v, g / h, g / c, v / h}'
done
