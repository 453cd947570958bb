#!/usr/bin/env bash
# killswitch serve beside Unleash Edge, in one run, on the same 20 flags
# and the same contexts. Each server in turn gets CPU 1 alone (taskset),
# the load generator CPU 0: single-flag evaluation at a fixed 10,000
# requests/s and bulk (all 20 flags) at 5,000/s, open loop
# (server/examples/load.rs: latency from when each request was due), then
# wrk's closed-loop maximum for a single flag. Not run by CI.
#
# Needs `unleash-edge` on PATH (`cargo install unleash-edge --locked`,
# about half an hour here) and wrk.
#
#   server/bench/edge.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
command -v unleash-edge >/dev/null || { echo "needs unleash-edge on PATH" >&2; exit 2; }
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }
cargo build --release -q -p killswitch-cli
cargo build --release -q -p killswitch-server --example load
target="${CARGO_TARGET_DIR:-target}"
bin="$target/release/killswitch"
load="$target/release/examples/load"
dir=$(mktemp -d)
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$dir"' EXIT

# The same flags for both: an allow rule, a deny rule and a rollout of
# 5 x i percent. Unleash has no deny list: a feature is on when any
# strategy matches, so "allow, or (not denied and in the rollout)" is one
# strategy for the allow rule and two rollouts sharing one bucket (same
# groupId and stickiness), one per negated deny condition:
# not (plan == free and country in [FR, DE]) = plan != free or country not in [FR, DE].
python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
ours, features = [], []
for i in range(20):
    key = f"flag_{i:02}"
    ours.append({
        "flag_key": key, "enabled": True, "kill_switch": False,
        "rollout_percentage": 5 * i,
        "targeting_rules": {
            "allow_list": ['email endsWith "@internal.com" and not segment == "legacy"'],
            "deny_list": ['plan == "free" and country in ["FR", "DE"]'],
        },
    })
    rollout = {"rollout": str(5 * i), "stickiness": "userId", "groupId": key}
    features.append({"name": key, "enabled": True, "type": "release", "strategies": [
        {"name": "flexibleRollout", "parameters": {"rollout": "100", "stickiness": "userId", "groupId": key},
         "constraints": [
             {"contextName": "email", "operator": "STR_ENDS_WITH", "values": ["@internal.com"]},
             {"contextName": "segment", "operator": "NOT_IN", "values": ["legacy"]}]},
        {"name": "flexibleRollout", "parameters": rollout,
         "constraints": [{"contextName": "plan", "operator": "NOT_IN", "values": ["free"]}]},
        {"name": "flexibleRollout", "parameters": rollout,
         "constraints": [{"contextName": "country", "operator": "NOT_IN", "values": ["FR", "DE"]}]},
    ]})
json.dump(ours, open(f"{d}/flags.json", "w"), indent=1)
json.dump({"version": 2, "features": features}, open(f"{d}/unleash.json", "w"), indent=1)
PY

ours_ctx='{"context": {"targetingKey": "user-{n}", "email": "ana@example.com", "plan": "pro", "country": "DE", "segment": "beta"}}'
edge_ctx='{"userId": "user-{n}", "properties": {"email": "ana@example.com", "plan": "pro", "country": "DE", "segment": "beta"}}'
wait_port() {
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "nothing listens on $1" >&2
    exit 1
}
run() { # name addr path body rate [header]
    local name=$1 addr=$2 path=$3 body=$4 rate=$5 header=${6:-}
    local extra=()
    [ -n "$header" ] && extra=(--header "$header")
    printf '%-42s ' "$name"
    taskset -c 0 "$load" --addr "$addr" --path "$path" --body "$body" --rate "$rate" \
        --secs "$secs" --conns 10 "${extra[@]}"
}
max() { # name url body [header]
    local name=$1 url=$2 body=$3 header=${4:-}
    local h=()
    [ -n "$header" ] && h=(-H "$header")
    printf '%-42s ' "$name"
    BODY=${body//\{n\}/1} taskset -c 0 wrk -t1 -c8 -d"${secs}s" --latency "${h[@]}" \
        -s server/bench/post.lua "$url" |
        awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {print rps " req/s (closed loop, 8 connections): p50 " p50 ", p99 " p99}'
}

echo "== $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== killswitch serve (CPU 1)"
taskset -c 1 "$bin" serve "$dir/flags.json" --listen 127.0.0.1:18016 2> "$dir/ours.log" &
server=$!
wait_port 18016
run "single flag at 10,000/s" 127.0.0.1:18016 /ofrep/v1/evaluate/flags/flag_10 "$ours_ctx" 10000
run "bulk (20 flags) at 5,000/s" 127.0.0.1:18016 /ofrep/v1/evaluate/flags "$ours_ctx" 5000
max "single flag, wrk maximum" http://127.0.0.1:18016/ofrep/v1/evaluate/flags/flag_10 "$ours_ctx"
kill "$server"; wait "$server" 2>/dev/null || true

echo "== Unleash Edge $(unleash-edge --help >/dev/null 2>&1 && echo offline) (CPU 1)"
token='*:development.secret'
taskset -c 1 unleash-edge -i 127.0.0.1 -p 18017 offline -b "$dir/unleash.json" \
    --client-tokens "$token" --frontend-tokens "$token" > "$dir/edge.log" 2>&1 &
server=$!
wait_port 18017
run "single flag at 10,000/s" 127.0.0.1:18017 /api/frontend/features/flag_10 "$edge_ctx" 10000 "Authorization: $token"
run "bulk (20 flags) at 5,000/s" 127.0.0.1:18017 /api/frontend "$edge_ctx" 5000 "Authorization: $token"
max "single flag, wrk maximum" http://127.0.0.1:18017/api/frontend/features/flag_10 "$edge_ctx" "Authorization: $token"
kill "$server"; wait "$server" 2>/dev/null || true
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
