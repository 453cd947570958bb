// The browser entry (wasm-bindgen's bundler glue, which imports the .wasm
// file as an ES module as bundlers do), run by Node's own implementation of
// that import in a child process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

test('the browser entry loads and evaluates without init()', () => {
  const entry = fileURLToPath(new URL('../dist/browser.js', import.meta.url));
  const script = `
    const { FlagSet, bucket } = await import(${JSON.stringify(entry)});
    const flags = FlagSet.fromText('{"flag_key": "a", "enabled": true, "rollout_percentage": 100}');
    let load;
    try { FlagSet.load('flags.json'); } catch (e) { load = e.name; }
    console.log(JSON.stringify([flags.evaluate('a', { user_id: 'u' }).enabled, bucket('user_123', 'new_search_ui'), load]));
  `;
  const out = execFileSync(process.execPath, ['--experimental-wasm-modules', '--no-warnings', '--input-type=module', '-e', script],
    { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), [true, 45, 'ConfigError']);
});
