#!/usr/bin/env bash
# The dashboard in a real browser (run by .ci/run): Debian's Chromium,
# driven by playwright-core (pinned in server/tests/dashboard/package-lock.json;
# playwright-core never downloads a browser), against `killswitch serve
# --dashboard` on a plain file (read-only) and on a throw-away PostgreSQL
# cluster (`serve --source postgres://...`: the writes). With --screenshots
# it takes the README's pictures instead.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v npm >/dev/null || need+=(nodejs npm)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi
cargo build -p killswitch-cli --quiet
target="${CARGO_TARGET_DIR:-$PWD/target}"

# A throw-away cluster on a free loopback port, password authentication
# over TCP; as root, the server runs as the postgres user. Removed on exit.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
pg_dir=$(mktemp -d /tmp/killswitch-dashboard-pg.XXXXXX)
pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pg_password="dashboard-$RANDOM-$RANDOM"
printf '%s' "$pg_password" > "$pg_dir/pw"
as_pg=()
if [ "$(id -u)" = 0 ]; then
    chown -R postgres:postgres "$pg_dir"
    as_pg=(runuser -u postgres --)
fi
cleanup() {
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
}
trap cleanup EXIT
"${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth-local=trust \
    --auth-host=scram-sha-256 --pwfile "$pg_dir/pw" --no-sync -E UTF8 --locale=C >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w -t 30 \
    -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null

cd server/tests/dashboard
npm ci --no-audit --no-fund --loglevel=error
# The password goes by PGPASSWORD, never on a command line.
export KILLSWITCH_BIN="$target/debug/killswitch" CHROMIUM=/usr/bin/chromium \
    PG_URL="postgres://postgres@127.0.0.1:$pg_port/postgres" PGPASSWORD="$pg_password"
if [ "${1:-}" = --screenshots ]; then
    # The README's pictures (docs/dashboard-*.png), instead of the tests.
    node screenshots.mjs
else
    node --test dashboard.test.mjs
fi
