#!/usr/bin/env bash
# The JavaScript package (bindings/js), on a fresh machine: the WebAssembly
# target, the `wasm-bindgen` command of the version the crate pins (built
# with cargo: the npm `wasm-pack` package downloads a binary from outside),
# node and npm; then the crate's lints for wasm32, and `npm ci && npm run
# build && npm test`. Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-unknown-unknown
version=$(sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' bindings/js/crate/Cargo.toml)
if [ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "$version" ]; then
    cargo install wasm-bindgen-cli --version "$version" --locked --quiet
fi
if ! command -v npm >/dev/null; then
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
fi
cargo clippy -p killswitch-wasm --target wasm32-unknown-unknown --release -- -D warnings
# Its unit tests (the context and time conversions) run on the host.
cargo test -p killswitch-wasm --quiet
cd bindings/js
npm ci --no-audit --no-fund --loglevel=error
npm run build
npm test
