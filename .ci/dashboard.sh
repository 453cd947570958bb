#!/usr/bin/env bash
# The dashboard in a real browser (run by .ci/run): Debian's Chromium,
# driven by playwright-core (pinned in server/tests/dashboard/package-lock.json;
# playwright-core never downloads a browser), against `killswitch serve
# --dashboard` (read-only) and a server with a versioned source (writes).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
if ! command -v npm >/dev/null; then
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
fi
cargo build -p killswitch-cli -p killswitch-server --example dashboard_demo --quiet
target="${CARGO_TARGET_DIR:-$PWD/target}"
cd server/tests/dashboard
npm ci --no-audit --no-fund --loglevel=error
KILLSWITCH_BIN="$target/debug/killswitch" \
    VERSIONED_BIN="$target/debug/examples/dashboard_demo" \
    CHROMIUM=/usr/bin/chromium \
    node --test dashboard.test.mjs
