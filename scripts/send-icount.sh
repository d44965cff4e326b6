#!/usr/bin/env bash
# Instructions per message of `Client::send` and of raw reqwest posting the
# same bytes, plain and with the timeouts `Client::builder()` sets
# (tests/examples/send_icount.rs: 32 senders, a loopback server in the same
# process), counted by valgrind's cachegrind: deterministic
# where the send benchmark's throughput is at the mercy of the machine.
# User space only; both sides make the same system calls. Needs valgrind.
#
#   scripts/send-icount.sh [MESSAGES]      # default 3200
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
messages="${1:-3200}"
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 2; }

cargo build -q --release --manifest-path "$root/Cargo.toml" -p wechat-msg-tests --example send_icount
bin="${CARGO_TARGET_DIR:-$root/target}/release/examples/send_icount"

count() {
    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$bin" "$@" 2>&1 \
        | awk '/I +refs/ {gsub(",", "", $4); print $4}'
}

printf '| side | instructions per message |\n|---|---:|\n'
declare -A per
for side in client raw raw_timeouts; do
    setup=$(count "$side" 0)
    total=$(count "$side" "$messages")
    per[$side]=$(( (total - setup) / messages ))
    printf '| %s | %s |\n' "$side" "${per[$side]}"
done
awk -v c="${per[client]}" -v r="${per[raw]}" -v t="${per[raw_timeouts]}" \
    'BEGIN { printf "\nraw / client (the throughput ratio if the CPU were the only limit): %.3f\nraw_timeouts / client: %.3f\n", r / c, t / c }'
