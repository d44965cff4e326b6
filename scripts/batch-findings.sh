#!/usr/bin/env bash
# Two operators on one send-batch report, and a resumed batch whose input
# was reversed, against the wechat-msg binary given ($1): how many messages
# the emulator accepted, and how many twice. Needs python3 and curl.
#   scripts/batch-findings.sh target/debug/wechat-msg
set -u
bin="$1"; work=$(mktemp -d)
python3 - "$work" <<'P'
import json, sys
w=sys.argv[1]
ids=[f"USER_{i}" for i in range(30)]
with open(f"{w}/emu.toml","w") as f:
    f.write("[known]\nopenids = "+json.dumps(ids)+'\ntemplate_ids = ["TEMPLATE_ID"]\n')
    for i in ids: f.write('[[subscriptions.granted]]\nopenid = '+json.dumps(i)+'\ntemplate_id = "TEMPLATE_ID"\n')
lines=[json.dumps({"touser":ids[i%30],"template_id":"TEMPLATE_ID","data":{"thing1":{"value":f"line {i}"}}}) for i in range(1,301)]
open(f"{w}/in.jsonl","w").write("\n".join(lines)+"\n")
ten=lines[:10]
open(f"{w}/five.jsonl","w").write("\n".join(ten[:5])+"\n")
open(f"{w}/reversed.jsonl","w").write("\n".join(reversed(ten))+"\n")
P
"$bin" emulator --config "$work/emu.toml" > "$work/emu.out" 2>/dev/null &
epid=$!
sleep 1
base=$(sed -n 's/^base_url: //p' "$work/emu.out")
export WECHAT_APPID=$(sed -n 's/^appid: //p' "$work/emu.out") WECHAT_SECRET=$(sed -n 's/^secret: //p' "$work/emu.out")
count() { curl -s "$base/_emulator/messages" | python3 -c 'import json,sys,collections; m=json.load(sys.stdin); c=collections.Counter(x["body"]["data"]["thing1"]["value"] for x in m); print(len(m), "accepted,", sum(1 for v in c.values() if v>1), "twice")'; }
"$bin" send-batch subscribeMessage.send "$work/in.jsonl" --report "$work/r.jsonl" --base-url "$base" 2>"$work/a.err" & a=$!
"$bin" send-batch subscribeMessage.send "$work/in.jsonl" --report "$work/r.jsonl" --base-url "$base" 2>"$work/b.err" & b=$!
wait $a; ea=$?; wait $b; eb=$?
echo "finding 1 (two processes, 300 lines): exits $ea $eb; $(count)"; tail -1 "$work/b.err"
curl -s -XPOST "$base/_emulator/reset" >/dev/null
"$bin" send-batch subscribeMessage.send "$work/five.jsonl" --report "$work/e.jsonl" --base-url "$base" 2>/dev/null
"$bin" send-batch subscribeMessage.send "$work/reversed.jsonl" --report "$work/e.jsonl" --base-url "$base" 2>"$work/e.err"; ee=$?
echo "finding 2 (5 lines sent, then the 10 reversed): exit $ee; $(count)"; tail -1 "$work/e.err"
kill $epid; rm -rf "$work"
