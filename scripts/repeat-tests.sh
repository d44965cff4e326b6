#!/usr/bin/env bash
# Runs test binaries many times while a busy loop holds one core, to shake
# out order-dependent failures. Usage:
#   scripts/repeat-tests.sh [RUNS] [PACKAGE:TEST ...]
# Default: 200 runs of the two log-capturing tests
# (wechat-msg:client_secrets and wechat-msg-emulator:secrets).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-200}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(wechat-msg:client_secrets wechat-msg-emulator:secrets)

binaries=()
for target in "${targets[@]}"; do
    package=${target%%:*}
    test=${target#*:}
    binary=$(cargo test -p "$package" --test "$test" --no-run --message-format=json 2>/dev/null |
        python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        print(m["executable"])' | tail -1)
    binaries+=("$package:$binary")
done

( while :; do :; done ) &
load=$!
trap 'kill $load 2>/dev/null' EXIT

for entry in "${binaries[@]}"; do
    package=${entry%%:*}
    binary=${entry#*:}
    failures=0
    for _ in $(seq 1 "$runs"); do
        (cd "$package" && "$binary" -q >/tmp/repeat-tests.out 2>&1) || {
            failures=$((failures + 1))
            cp /tmp/repeat-tests.out "/tmp/repeat-tests.$(basename "$binary").failed"
        }
    done
    echo "$(basename "$binary"): $failures failures in $runs runs (one core busy)"
done
