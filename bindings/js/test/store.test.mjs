// Store.watch on real files: a kill switch written to the file is served
// from the next evaluation after the change is seen, a bad write (invalid,
// half written, deleted) keeps the last good version serving, and the
// OpenFeature provider over a store follows it (config_version, and
// ConfigurationChanged through the real SDK).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpenFeature, ProviderEvents } from '@openfeature/server-sdk';
import { ConfigError, Store } from 'killswitch';
import { KillswitchProvider } from 'killswitch/openfeature';

const DEADLINE_MS = 10_000;
const dirs = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  return OpenFeature.close();
});

function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'killswitch-store-'));
  dirs.push(dir);
  return dir;
}

const config = (killed) =>
  JSON.stringify([{ flag_key: 'checkout', enabled: true, kill_switch: killed, rollout_percentage: 100 }]);

/** Writes beside the file and renames over it, as a deploy should. */
function replace(path, text) {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

/** Waits until `done()` is true, failing after the deadline. */
async function until(what, done) {
  const start = Date.now();
  while (!done()) {
    assert.ok(Date.now() - start < DEADLINE_MS, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('a kill switch written to the file is served; bad writes keep the last good version', async () => {
  const path = join(tempDir(), 'flags.json');
  replace(path, config(false));
  const store = Store.watch(path, { pollInterval: 50 });
  try {
    const user = { user_id: 'user_123' };
    assert.equal(store.version, 1);
    assert.equal(store.evaluate('checkout', user).enabled, true);
    const versions = [];
    store.onChange((v) => versions.push(v));

    replace(path, config(true));
    await until('the kill switch', () => store.evaluate('checkout', user).reason === 'kill_switch');
    assert.equal(store.evaluate('checkout', user).enabled, false);
    assert.deepEqual([store.version, versions], [2, [2]]);
    assert.equal(store.status.lastError, null);

    // Invalid, then half written: rejected, the killed version serves on.
    replace(path, '[{"flag_key": "checkout", "enabled": true, "kill_switch": tru}]');
    await until('the rejection', () => store.status.lastError !== null);
    assert.match(store.status.lastError, /flags\.json/);
    writeFileSync(path, config(false).slice(0, 30));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(store.evaluate('checkout', user).reason, 'kill_switch');
    assert.throws(() => store.reload(), ConfigError);

    // Deleted: still the last good version; back: served.
    unlinkSync(path);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(store.evaluate('checkout', user).reason, 'kill_switch');
    assert.match(store.status.lastError, /cannot read/);
    replace(path, config(false));
    await until('the file back', () => store.evaluate('checkout', user).enabled);
    assert.equal(store.status.lastError, null);
    assert.equal(store.version, 3);
    // The same text again changes nothing.
    replace(path, config(false));
    assert.equal(store.reload(), 3);
    const status = store.status;
    assert.deepEqual([status.flags, status.source, typeof status.watching], [1, path, 'boolean']);
  } finally {
    store.close();
  }
});

test('a missing file throws, unless allowed: then every flag is off until it appears', async () => {
  const path = join(tempDir(), 'later.yaml');
  assert.throws(() => Store.watch(path), (e) => e instanceof ConfigError && /cannot read/.test(e.message));
  const store = Store.watch(path, { pollInterval: 20, allowMissing: true });
  try {
    assert.equal(store.version, 0);
    assert.equal(store.evaluate('checkout', { user_id: 'u' }).reason, 'unknown_flag');
    assert.notEqual(store.status.lastError, null);
    replace(path, '- flag_key: checkout\n  enabled: true\n  rollout_percentage: 100\n');
    await until('the file', () => store.has('checkout'));
    assert.equal(store.evaluate('checkout', { user_id: 'u' }).enabled, true);
    assert.equal(store.version, 1);
  } finally {
    store.close();
  }
  // A bad config at start is thrown whatever allowMissing says.
  replace(path, 'flag_key: [');
  assert.throws(() => Store.watch(path, { allowMissing: true }), ConfigError);
});

test('the OpenFeature provider over a store follows the file, and a kill beats the default', async () => {
  const path = join(tempDir(), 'flags.json');
  replace(path, config(false));
  const store = Store.watch(path, { pollInterval: 50 });
  try {
    const provider = new KillswitchProvider(store);
    await OpenFeature.setProviderAndWait('store', provider);
    const client = OpenFeature.getClient('store');
    let changes = 0;
    client.addHandler(ProviderEvents.ConfigurationChanged, () => {
      changes += 1;
    });
    const before = await client.getBooleanDetails('checkout', false, { targetingKey: 'user_123' });
    assert.deepEqual([before.value, before.flagMetadata.config_version], [true, 1]);

    replace(path, config(true));
    await until('the change event', () => changes === 1);
    const after = await client.getBooleanDetails('checkout', true, { targetingKey: 'user_123' });
    assert.deepEqual(
      [after.value, after.reason, after.flagMetadata.reason, after.flagMetadata.config_version],
      [false, 'DISABLED', 'kill_switch', 2],
    );
    assert.equal(provider.flags, store.flags);
  } finally {
    store.close();
  }
});
