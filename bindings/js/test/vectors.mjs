// The conformance vectors: the shared file (tests/conformance/vectors.json,
// written by the Rust engine) when the tree has it, else this package's own
// small file in the same schema (test/conformance/, written by
// `cargo run -p killswitch-openfeature --example conformance_vectors`).
import { existsSync, readFileSync } from 'node:fs';

const shared = new URL('../../../tests/conformance/vectors.json', import.meta.url);
const own = new URL('./conformance/vectors.json', import.meta.url);

/** `{ path, config (text), now (ms), cases }`. */
export function loadVectors() {
  const path = existsSync(shared) ? shared : own;
  const vectors = JSON.parse(readFileSync(path, 'utf8'));
  const config = readFileSync(new URL(vectors.config, path), 'utf8');
  return { path: path.pathname, config, now: Date.parse(vectors.now), cases: vectors.cases };
}
