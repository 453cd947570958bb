// `npm run build`: the whole package from a fresh checkout.
//
//   1. the WebAssembly target and the `wasm-bindgen` command of the version
//      crate/Cargo.toml pins (added or installed when missing: rustup and
//      `cargo install --locked`; the npm `wasm-pack` package would download
//      a binary from outside the registries, which fails here);
//   2. the crate, for wasm32-unknown-unknown;
//   3. its glue twice: `--target nodejs` (a synchronous load, so that plain
//      Node needs no `init()`) and `--target bundler` (for browser bundles);
//   4. the TypeScript wrapper, with its .d.ts files.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const crate = join(root, 'crate');
const dist = join(root, 'dist');
const TARGET = 'wasm32-unknown-unknown';

function run(cmd, args, options = {}) {
  console.error(`> ${cmd} ${args.join(' ')}`);
  return execFileSync(cmd, args, { stdio: ['ignore', options.capture ? 'pipe' : 'inherit', 'inherit'], encoding: 'utf8', ...options });
}

function output(cmd, args) {
  try {
    return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8' });
  } catch {
    return null;
  }
}

// 1. The target and the glue generator.
const installed = output('rustup', ['target', 'list', '--installed']);
if (installed !== null && !installed.split('\n').includes(TARGET)) {
  run('rustup', ['target', 'add', TARGET]);
}
const manifest = readFileSync(join(crate, 'Cargo.toml'), 'utf8');
const pinned = manifest.match(/^wasm-bindgen = "=([0-9.]+)"/m)?.[1];
if (!pinned) {
  throw new Error('crate/Cargo.toml must pin wasm-bindgen exactly (wasm-bindgen = "=X.Y.Z")');
}
const have = output('wasm-bindgen', ['--version'])?.trim().split(' ')[1];
if (have !== pinned) {
  console.error(`wasm-bindgen ${pinned} is needed (found ${have ?? 'none'}): installing it with cargo`);
  run('cargo', ['install', 'wasm-bindgen-cli', '--version', pinned, '--locked']);
}

// 2. The crate.
run('cargo', ['build', '--manifest-path', join(crate, 'Cargo.toml'), '--target', TARGET, '--release', '--quiet']);
const metadata = JSON.parse(run('cargo', ['metadata', '--format-version', '1', '--no-deps', '--manifest-path', join(crate, 'Cargo.toml')], { capture: true }));
const wasm = join(metadata.target_directory, TARGET, 'release', 'killswitch_wasm.wasm');

// 3. The glue, for Node and for bundlers.
rmSync(dist, { recursive: true, force: true });
for (const target of ['nodejs', 'bundler']) {
  const out = join(dist, target === 'nodejs' ? 'wasm-node' : 'wasm-bundler');
  run('wasm-bindgen', ['--target', target, '--out-dir', out, '--out-name', 'killswitch_wasm', wasm]);
}
// The package is ESM; wasm-bindgen's Node glue is CommonJS.
writeFileSync(join(dist, 'wasm-node', 'package.json'), '{"type": "commonjs"}\n');

// 4. The TypeScript wrapper.
mkdirSync(dist, { recursive: true });
run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')]);
