// The browser entry, for bundlers: wasm-bindgen's `--target bundler` glue
// imports the .wasm file as an ES module (webpack 5's
// `experiments.asyncWebAssembly`, Vite with a WebAssembly plugin, Rollup's
// wasm plugin), so no `init()` call is needed here either.
import { bind, type WasmModule } from './core.js';
// @ts-ignore: generated at build time by wasm-bindgen (scripts/build.mjs).
import * as glue from './wasm-bundler/killswitch_wasm.js';

bind(glue as unknown as WasmModule, () => {
  throw new Error('FlagSet.load reads files and needs Node.js; use FlagSet.fromText in a browser');
});

export * from './api.js';
