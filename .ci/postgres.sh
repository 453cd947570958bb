#!/usr/bin/env bash
# CI: PostgreSQL for the fleet tests (fleet/tests/postgres.rs,
# cli/tests/fleet.rs). Installs Debian's server package when its binaries
# are missing; the tests themselves start a throw-away cluster each
# (initdb in a temporary directory, a free loopback port, as the
# `postgres` user when run as root) and stop and delete it at the end.
# With CI set, a test fails instead of skipping when PostgreSQL is absent.
set -euo pipefail

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
echo "PostgreSQL for the fleet tests: $("$bin/postgres" --version)"
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    echo "the postgres system user is missing (the tests run the server as it)" >&2
    exit 1
fi
