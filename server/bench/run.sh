#!/usr/bin/env bash
# Loopback benchmark of `killswitch serve` with wrk (keep-alive, closed
# loop): single-flag and bulk (20 flags) evaluation, then how soon a kill
# switch written to the file is served while wrk keeps the server busy.
# With hey installed, also single-flag and bulk at fixed rates (open
# loop, so latency is not hidden by a slowed generator). Server and load generator share the machine's cores: numbers are for
# both together. Not run by CI.
#
#   server/bench/run.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
conns=${2:-8}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }
cargo build --release -p killswitch-cli --quiet
bin="${CARGO_TARGET_DIR:-target}/release/killswitch"
dir=$(mktemp -d)
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$dir"' EXIT

python3 - > "$dir/flags.json" <<'PY'
import json
flags = [{
    "flag_key": f"flag_{i:02}",
    "enabled": True,
    "kill_switch": False,
    "rollout_percentage": 5 * i,
    "targeting_rules": {
        "allow_list": ['email endsWith "@internal.com" and not segment == "legacy"'],
        "deny_list": ['plan == "free" and country in ["FR", "DE"]'],
    },
} for i in range(20)]
print(json.dumps(flags, indent=1))
PY
"$bin" serve "$dir/flags.json" --listen 127.0.0.1:0 2> "$dir/log" &
server=$!
for _ in $(seq 100); do grep -q "listening on" "$dir/log" && break; sleep 0.05; done
addr=$(sed -n 's/.*listening on http:\/\/\([^ ]*\).*/\1/p' "$dir/log")
ctx='{"context": {"targetingKey": "user-1", "email": "ana@example.com", "plan": "pro", "country": "DE", "segment": "beta"}}'
echo "== $(nproc) cores, server and wrk on the same machine; wrk -t1 -c$conns -d${secs}s"

echo "== single flag: POST /ofrep/v1/evaluate/flags/flag_10"
BODY=$ctx wrk -t1 -c"$conns" -d"${secs}s" --latency -s server/bench/post.lua \
    "http://$addr/ofrep/v1/evaluate/flags/flag_10" | sed -n '/Latency Distribution/,/Transfer/p'

echo "== bulk, 20 flags: POST /ofrep/v1/evaluate/flags"
BODY=$ctx wrk -t1 -c"$conns" -d"${secs}s" --latency -s server/bench/post.lua \
    "http://$addr/ofrep/v1/evaluate/flags" | sed -n '/Latency Distribution/,/Transfer/p'

if command -v hey >/dev/null; then
    echo "== single flag at a fixed 10,000 requests/s (hey -c 10 -q 1000, keep-alive)"
    echo "$ctx" > "$dir/body.json"
    hey -z "${secs}s" -c 10 -q 1000 -m POST -T application/json -D "$dir/body.json" \
        "http://$addr/ofrep/v1/evaluate/flags/flag_10" |
        grep -E "Requests/sec|Slowest|Average|  (50|90|99)% in|\[[0-9]+\]"
    echo "== bulk at a fixed 5,000 requests/s (hey -c 10 -q 500, keep-alive)"
    hey -z "${secs}s" -c 10 -q 500 -m POST -T application/json -D "$dir/body.json" \
        "http://$addr/ofrep/v1/evaluate/flags" |
        grep -E "Requests/sec|Slowest|Average|  (50|90|99)% in|\[[0-9]+\]"
fi

echo "== kill switch written to the file, under single-flag load"
BODY=$ctx wrk -t1 -c"$conns" -d"$((secs + 20))s" -s server/bench/post.lua \
    "http://$addr/ofrep/v1/evaluate/flags/flag_10" > "$dir/wrk-kill" &
load=$!
sleep 1
python3 server/bench/killtime.py "$addr" "$dir/flags.json" flag_19 10
kill "$load" 2>/dev/null || true
wait "$load" 2>/dev/null || true

echo "== server-side time per request (from /metrics: head read to answer built)"
python3 - "$addr" <<'PY'
import sys, urllib.request
text = urllib.request.urlopen(f"http://{sys.argv[1]}/metrics").read().decode()
for endpoint in ("single", "bulk"):
    buckets = []
    for line in text.splitlines():
        prefix = f'killswitch_request_duration_seconds_bucket{{endpoint="{endpoint}",le="'
        if line.startswith(prefix):
            le, count = line[len(prefix):].split('"} ')
            buckets.append((float(le), int(count)))
    total = buckets[-1][1]
    def quantile(q):
        return next(le for le, c in buckets if c >= q * total)
    print(f"{endpoint}: {total} requests, p50 <= {quantile(0.5)*1e3:g} ms, "
          f"p99 <= {quantile(0.99)*1e3:g} ms, p99.9 <= {quantile(0.999)*1e3:g} ms")
PY
