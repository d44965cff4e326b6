#!/usr/bin/env bash
# Times the build of a crate whose whole API is `wechat_msg::api!` over a
# synthetic spec of N endpoints (see tests/src/synthetic.rs: every field
# kind, a union and errcodes per endpoint), for N = 3, 30, 300 by default.
#
#   scripts/scale-build.sh            # N = 3 30 300
#   scripts/scale-build.sh 3 30 300 1000
#
# Each crate lives in target/scale/nN with a target dir shared by all of
# them, so wechat-msg and its dependencies are built once. Only the crate
# itself is timed: after a first full build, its lib.rs is touched and
# `cargo build --timings` (dev profile) runs again, RUNS times (default 3).
# Reported: the median wall time, the median CPU time (user + sys, from GNU
# `/usr/bin/time`; steadier than wall time on a machine shared with other
# builds), and from the last run's timings report the crate's frontend
# (expansion, name resolution, type and borrow checking, up to its
# metadata) and codegen. Results go to standard output as a Markdown table
# for BENCHMARKS.md.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
work="${SCALE_DIR:-$root/target/scale}"
runs="${RUNS:-3}"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(3 30 300)

export CARGO_TARGET_DIR="$work/target"

mkdir -p "$work"
cargo build -q --manifest-path "$root/Cargo.toml" -p wechat-msg-tests --example synthetic_spec \
    --target-dir "$root/target"
synthetic="$root/target/debug/examples/synthetic_spec"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '| endpoints | spec lines | rebuild, wall (s) | rebuild, CPU (s) | CPU per endpoint (ms) | frontend (s) | codegen (s) |\n'
printf '|---:|---:|---:|---:|---:|---:|---:|\n'
for n in "${sizes[@]}"; do
    crate="$work/n$n"
    mkdir -p "$crate/src"
    "$synthetic" "$n" "$crate/api-spec"
    cat > "$crate/Cargo.toml" <<EOF
[package]
name = "wechat-msg-scale-n$n"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
wechat-msg = { path = "$root/wechat-msg" }

[workspace]
EOF
    cat > "$crate/src/lib.rs" <<'EOF'
//! A synthetic API, generated from `api-spec/` by `wechat_msg::api!`.
wechat_msg::api!("api-spec");
EOF
    # Same dependency versions as the workspace.
    cp "$root/Cargo.lock" "$crate/Cargo.lock"
    # Dependencies and a first build of the crate, untimed.
    cargo build -q --manifest-path "$crate/Cargo.toml"
    times=()
    cpus=()
    for _ in $(seq "$runs"); do
        touch "$crate/src/lib.rs"
        (cd "$crate" && /usr/bin/time -f '%e %U %S' -o "$work/time.txt" cargo build -q --timings)
        read -r wall user sys <"$work/time.txt"
        times+=("$wall")
        cpus+=("$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}')")
    done
    med=$(printf '%s\n' "${times[@]}" | median)
    cpu=$(printf '%s\n' "${cpus[@]}" | median)
    lines=$(cat "$crate"/api-spec/*.toml | wc -l)
    # The last run's timings report: its UNIT_DATA holds each unit's
    # `duration` and its `sections` (`frontend`, `codegen`; older cargo:
    # `rmeta_time`, when its metadata was ready, where the frontend ends).
    report=$(ls -t "$CARGO_TARGET_DIR"/cargo-timings/cargo-timing-*.html | head -1)
    split=$(python3 - "$report" "wechat-msg-scale-n$n" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
units = json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);", text, re.S).group(1))
unit = next(u for u in units if u["name"] == sys.argv[2])
sections = dict(unit.get("sections") or [])
if "frontend" in sections:
    front = sections["frontend"]["end"] - sections["frontend"]["start"]
else:
    front = unit.get("rmeta_time") or unit["duration"]
print(f"{front:.2f} {unit['duration'] - front:.2f}")
PY
)
    read -r front codegen <<<"$split"
    awk -v n="$n" -v l="$lines" -v t="$med" -v u="$cpu" -v f="$front" -v c="$codegen" \
        'BEGIN {printf "| %d | %d | %.2f | %.2f | %.1f | %s | %s |\n", n, l, t, u, u * 1000 / n, f, c}'
done
