#!/usr/bin/env bash
# Load figure of `wechat-msg send-batch`: N subscribe messages (100,000 by
# default) to USERS users through a release build, sent to a separate
# `wechat-msg emulator` process, once without a rate limit and once with
# `--rate RATE`.
#
#   scripts/batch-load.sh                 # N=100000 USERS=1000 RATE=2000 CONCURRENCY=32
#   N=10000 RATE=500 scripts/batch-load.sh
#
# For each run: wall time and throughput, peak memory of send-batch
# (`/usr/bin/time -v`, maximum resident set size), the outcomes of the
# report, and what the emulator recorded: messages accepted, distinct
# contents (exactly once each), and calls per second from each message's
# `unix_time` (the busiest whole second, and the mean over the full seconds
# between the first and the last). Needs python3 and curl.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
n="${N:-100000}"
users="${USERS:-1000}"
rate="${RATE:-2000}"
concurrency="${CONCURRENCY:-32}"
work="${BATCH_LOAD_DIR:-$root/target/batch-load}"
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
    # Subscribe messages need each user's subscription to the template.
    for i in ids:
        f.write('[[subscriptions.granted]]\nopenid = ' + json.dumps(i) + '\ntemplate_id = "TEMPLATE_ID"\n')
    f.write("[quotas]\ndaily = 100000000\n")
with open(f"{work}/in.jsonl", "w") as f:
    for i in range(1, n + 1):
        f.write(json.dumps({"touser": ids[i % users], "template_id": "TEMPLATE_ID",
                            "data": {"thing1": {"value": f"line {i}"}}}) + "\n")
EOF

"$bin" emulator --config "$work/emulator.toml" > "$work/emulator.out" 2> "$work/emulator.err" &
emulator_pid=$!
trap 'kill "$emulator_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    grep -q '^secret:' "$work/emulator.out" 2>/dev/null && break
    sleep 0.1
done
base_url="$(sed -n 's/^base_url: //p' "$work/emulator.out")"
export WECHAT_APPID="$(sed -n 's/^appid: //p' "$work/emulator.out")"
export WECHAT_SECRET="$(sed -n 's/^secret: //p' "$work/emulator.out")"

run() {
    local name="$1"
    shift
    curl -sf -X POST "$base_url/_emulator/reset" > /dev/null
    local report="$work/report-$name.jsonl"
    local start end code=0
    start=$(date +%s.%N)
    /usr/bin/time -v -o "$work/time-$name.txt" \
        "$bin" send-batch subscribeMessage.send "$work/in.jsonl" --report "$report" \
        --base-url "$base_url" --concurrency "$concurrency" "$@" 2> "$work/stderr-$name.txt" || code=$?
    end=$(date +%s.%N)
    curl -sf "$base_url/_emulator/messages" > "$work/messages-$name.json"
    python3 - "$name" "$n" "$start" "$end" "$code" "$work" "$*" <<'EOF'
import collections, json, re, sys
name, n, start, end, code, work, flags = sys.argv[1:]
n, secs = int(n), float(sys.argv[4]) - float(sys.argv[3])
rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(f"{work}/time-{name}.txt").read())
outcomes = collections.Counter()
for line in open(f"{work}/report-{name}.jsonl"):
    record = json.loads(line)
    if record["outcome"] != "started":
        outcomes[record["outcome"]] += 1
messages = json.load(open(f"{work}/messages-{name}.json"))
if isinstance(messages, dict):
    messages = messages.get("messages", [])
contents = collections.Counter(m["body"]["data"]["thing1"]["value"] for m in messages)
per_sec = collections.Counter(m["unix_time"] for m in messages)
seconds = sorted(per_sec)
full = [per_sec[s] for s in seconds[1:-1]] or [per_sec[s] for s in seconds]
print(f"## {name} ({flags or 'no rate limit'})")
print(f"exit code {code}; {n} lines in {secs:.1f} s: {n / secs:.0f} messages/s")
print(f"peak memory of send-batch: {int(rss.group(1)) / 1024:.1f} MiB" if rss else "peak memory: ?")
print("report:", dict(outcomes))
print(f"emulator: {len(messages)} accepted, {len(contents)} distinct, "
      f"{sum(1 for c in contents.values() if c > 1)} more than once")
print(f"calls per second (emulator unix_time): busiest second {max(per_sec.values())}, "
      f"mean over {len(full)} full seconds {sum(full) / len(full):.0f}")
EOF
}

run unlimited
run rate --rate "$rate"
