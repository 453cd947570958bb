#!/usr/bin/env bash
# Kill propagation across a fleet: time from `killswitch kill` returning to
# every `killswitch serve --source postgres://...` replica serving the off
# value, over 50 kills, under an OFREP load of 5,000 requests/s across
# three replicas; with LISTEN/NOTIFY, then polling only (1 s) for
# comparison. Needs PostgreSQL's binaries (apt-get install postgresql).
#
# On a machine of two or more CPUs the database gets one of its own
# (`--db-cpu`, with `taskset` keeping the replicas and the load off it), as
# it would have its own host in production: on one shared pair of cores,
# back-to-back clients can keep PostgreSQL's backends from being scheduled
# for seconds, which measures the machine, not the fleet (README.md here).
#
#   bash benches/fleet/kill_propagation.sh [extra arguments, e.g. --kills 20 --probe-gap-us 0]
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${CARGO_TARGET_DIR:-target}"
cargo build --release -q -p killswitch-cli
cargo build --release -q -p killswitch-fleet --example kill_propagation
bench="$target/release/examples/kill_propagation"
bin="$(cd "$(dirname "$target/release/killswitch")" && pwd)/killswitch"
cpus=$(nproc)
pin=()
if [ "$cpus" -ge 2 ] && command -v taskset >/dev/null; then
    last=$((cpus - 1))
    pin=(taskset -c "0-$((last - 1))")
    set -- --db-cpu "$last" "$@"
fi
"${pin[@]}" "$bench" --bin "$bin" "$@"
"${pin[@]}" "$bench" --bin "$bin" --poll-only --poll-ms 1000 "$@"
