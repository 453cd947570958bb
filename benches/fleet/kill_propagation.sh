#!/usr/bin/env bash
# Kill propagation across a fleet: time from `killswitch kill` returning to
# every `killswitch serve --source postgres://...` replica serving the off
# value, over 50 kills, under an OFREP load of 5,000 requests/s across
# three replicas; with LISTEN/NOTIFY, then polling only (1 s) for
# comparison. Needs PostgreSQL's binaries (apt-get install postgresql).
#
#   bash benches/fleet/kill_propagation.sh [extra arguments, e.g. --kills 20]
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${CARGO_TARGET_DIR:-target}"
cargo build --release -q -p killswitch-cli
cargo build --release -q -p killswitch-fleet --example kill_propagation
bench="$target/release/examples/kill_propagation"
"$bench" --bin "$target/release/killswitch" "$@"
"$bench" --bin "$target/release/killswitch" --poll-only --poll-ms 1000 "$@"
