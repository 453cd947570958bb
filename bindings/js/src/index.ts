// The Node.js entry: wasm-bindgen's `--target nodejs` glue compiles and
// instantiates the module synchronously when it is required, so importing
// this package needs no `init()`, no bundler and no flag.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { bind, type WasmModule } from './core.js';

const require = createRequire(import.meta.url);

/** Reads a regular file of at most `maxBytes` bytes (a FIFO or device is refused without reading). */
function readConfig(path: string, maxBytes: number): string {
  const fd = openSync(path, 'r');
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      throw new Error('not a regular file');
    }
    if (stat.size > maxBytes) {
      throw new Error(`the file holds more than ${maxBytes} bytes`);
    }
    const buffer = Buffer.alloc(stat.size);
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, read);
      if (n === 0) break;
      read += n;
    }
    return new TextDecoder('utf-8', { fatal: true }).decode(buffer.subarray(0, read));
  } finally {
    closeSync(fd);
  }
}

bind(require('./wasm-node/killswitch_wasm.js') as WasmModule, readConfig);

export * from './api.js';
export { Store, type StoreOptions, type StoreStatus } from './store.js';
