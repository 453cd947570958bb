#!/usr/bin/env bash
# The Python binding (bindings/python): builds the package with pip (maturin
# backend, pinned in requirements-test.txt) into a throwaway virtual
# environment, with its OpenFeature extra, and runs its pytest suite
# (including the shared conformance vectors through the SDK client).
set -euo pipefail
cd "$(dirname "$0")/.."

# The binding crate is outside the workspace's default members (so that
# the root's cargo commands need no Python): lint it here.
cargo clippy --quiet -p killswitch-python -- -D warnings

venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
# maturin's build backend runs the `maturin` command by name: the venv's
# bin must be on PATH (it is not activated).
export PATH="$venv/bin:$PATH"
pip=("$venv/bin/pip" --quiet --disable-pip-version-check)
"${pip[@]}" install -r bindings/python/requirements-test.txt
# A debug build is enough for the tests and much quicker to compile; the
# benchmark (bindings/python/bench/) is run from a release install.
MATURIN_PEP517_ARGS="--profile dev" \
    "${pip[@]}" install --no-build-isolation "./bindings/python[openfeature]"
# The command line, when built (`cargo test` builds it), to compare
# check()'s output with `killswitch check`'s.
cli="${CARGO_TARGET_DIR:-$PWD/target}/debug/killswitch"
if [ -x "$cli" ]; then
    export KILLSWITCH_BIN="$cli"
fi
# Run from the tests folder, so that `killswitch` is the installed package.
cd bindings/python/tests
"$venv/bin/python" -m pytest -q -p no:cacheprovider
# The stubs (`_killswitch.pyi`) describe the compiled module, and the package
# type-checks strictly against them.
export MYPY_CACHE_DIR=/dev/null
"$venv/bin/python" -m mypy.stubtest killswitch._killswitch
"$venv/bin/python" -m mypy --strict -p killswitch
