#!/usr/bin/env bash
# One send-batch worker against four, with and without a shared journal:
# N subscribe messages (20,000 by default) to USERS users through a release
# build, sent to a separate `wechat-msg emulator` process, with
# `--concurrency CONCURRENCY` per worker.
#
#   scripts/batch-workers.sh            # N=20000 USERS=1000 CONCURRENCY=16
#
# Runs: `report-1` one worker with a local report; `report-4` four workers,
# each on a quarter of the input with a report of its own (the only way to
# split a batch without a journal); `journal-1` one worker with
# `--journal`; `journal-4` four workers on one journal, the whole input
# each. For each run: wall time and messages per second, peak memory of
# each worker (`/usr/bin/time -v`), and the emulator's count of accepted
# messages and of contents accepted more than once. Starts its own
# redis-server on a free port. Needs python3, curl and redis-server.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
n="${N:-20000}"
users="${USERS:-1000}"
concurrency="${CONCURRENCY:-16}"
work="${BATCH_WORKERS_DIR:-$root/target/batch-workers}"
bin="$root/target/release/wechat-msg"

cargo build -q --release -p wechat-msg-cli --manifest-path "$root/Cargo.toml"
rm -rf "$work"
mkdir -p "$work"

python3 - "$work" "$n" "$users" <<'EOF'
import json, sys
work, n, users = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ids = [f"USER_{i}" for i in range(users)]
with open(f"{work}/emulator.toml", "w") as f:
    f.write("[known]\nopenids = " + json.dumps(ids) + '\ntemplate_ids = ["TEMPLATE_ID"]\n')
    for i in ids:
        f.write('[[subscriptions.granted]]\nopenid = ' + json.dumps(i) + '\ntemplate_id = "TEMPLATE_ID"\n')
    f.write("[quotas]\ndaily = 100000000\n")
lines = [json.dumps({"touser": ids[i % users], "template_id": "TEMPLATE_ID",
                     "data": {"thing1": {"value": f"line {i}"}}}) + "\n" for i in range(1, n + 1)]
open(f"{work}/in.jsonl", "w").writelines(lines)
for q in range(4):
    open(f"{work}/quarter-{q}.jsonl", "w").writelines(lines[q::4])
EOF

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no > "$work/redis.log" 2>&1 &
redis_pid=$!
"$bin" emulator --config "$work/emulator.toml" > "$work/emulator.out" 2> "$work/emulator.err" &
emulator_pid=$!
trap 'kill "$emulator_pid" "$redis_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    grep -q '^secret:' "$work/emulator.out" 2>/dev/null && redis-cli -p "$port" ping > /dev/null 2>&1 && break
    sleep 0.1
done
base_url="$(sed -n 's/^base_url: //p' "$work/emulator.out")"
export WECHAT_APPID="$(sed -n 's/^appid: //p' "$work/emulator.out")"
export WECHAT_SECRET="$(sed -n 's/^secret: //p' "$work/emulator.out")"
journal="redis://127.0.0.1:$port/0"

# run NAME WORKERS MODE: MODE is `report` or `journal`.
run() {
    local name="$1" workers="$2" mode="$3"
    curl -sf -X POST "$base_url/_emulator/reset" > /dev/null
    redis-cli -p "$port" flushall > /dev/null
    local start end pids=() codes=""
    start=$(date +%s.%N)
    for w in $(seq 0 $((workers - 1))); do
        local args
        if [ "$mode" = journal ]; then
            args=("$work/in.jsonl" --journal "$journal")
        elif [ "$workers" = 1 ]; then
            args=("$work/in.jsonl" --report "$work/report-$name-$w.jsonl")
        else
            args=("$work/quarter-$w.jsonl" --report "$work/report-$name-$w.jsonl")
        fi
        /usr/bin/time -v -o "$work/time-$name-$w.txt" \
            "$bin" send-batch subscribeMessage.send "${args[@]}" \
            --base-url "$base_url" --concurrency "$concurrency" 2> "$work/stderr-$name-$w.txt" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        local code=0
        wait "$pid" || code=$?
        codes="$codes $code"
    done
    end=$(date +%s.%N)
    curl -sf "$base_url/_emulator/messages" > "$work/messages-$name.json"
    python3 - "$name" "$n" "$start" "$end" "$work" "$workers" "$codes" <<'EOF'
import collections, glob, json, re, sys
name, n, start, end, work, workers, codes = sys.argv[1:]
n, secs = int(n), float(end) - float(start)
rss = []
for path in sorted(glob.glob(f"{work}/time-{name}-*.txt")):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(path).read())
    rss.append(int(m.group(1)) / 1024 if m else float("nan"))
messages = json.load(open(f"{work}/messages-{name}.json"))
if isinstance(messages, dict):
    messages = messages.get("messages", [])
contents = collections.Counter(m["body"]["data"]["thing1"]["value"] for m in messages)
print(f"| {name} | {workers} | {secs:.1f} s | {n / secs:,.0f} msg/s | "
      + ", ".join(f"{r:.1f}" for r in rss) + " MiB | "
      + f"{len(messages):,} accepted, {sum(1 for c in contents.values() if c > 1)} twice | exit{codes} |")
EOF
}

echo "| run | workers | wall time | throughput | peak RSS per worker | emulator | exit codes |"
echo "|---|---:|---:|---:|---|---|---|"
run report-1 1 report
run report-4 4 report
run journal-1 1 journal
run journal-4 4 journal
