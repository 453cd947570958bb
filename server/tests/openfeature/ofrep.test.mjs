// `killswitch serve` through the real OpenFeature OFREP provider for Node
// (@openfeature/ofrep-provider with @openfeature/server-sdk): a killed
// flag asked for with a caller default of `true` must resolve to `false`.
//
// Run by .ci/run after `cargo build`: KILLSWITCH_BIN names the binary.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';

const BIN = process.env.KILLSWITCH_BIN;
const TOKEN = 'node-provider-token';

function flags(checkoutKilled) {
  return JSON.stringify([
    { flag_key: 'killed', enabled: true, kill_switch: true, rollout_percentage: 100 },
    { flag_key: 'disabled', enabled: false, rollout_percentage: 100 },
    { flag_key: 'checkout', enabled: true, kill_switch: checkoutKilled, rollout_percentage: 100 },
    {
      flag_key: 'staff', enabled: true,
      targeting_rules: { allow_list: ['email endsWith "@internal.com"'], deny_list: [] },
    },
    {
      flag_key: 'button_colour', enabled: true, kill_switch: true, rollout_percentage: 100,
      variants: { blue: '#1f6feb', grey: '#8c959f' }, off_variant: 'grey', on_variant: 'blue',
    },
    {
      flag_key: 'page_size', enabled: true, rollout_percentage: 100,
      variants: { small: 10, large: 50 }, off_variant: 'small', on_variant: 'large',
    },
  ]);
}

let dir;
let server;
let client;
let exited;

function replace(path, text) {
  writeFileSync(path + '.tmp', text);
  renameSync(path + '.tmp', path);
}

before(async () => {
  assert.ok(BIN, 'set KILLSWITCH_BIN to the killswitch binary');
  dir = mkdtempSync(join(tmpdir(), 'killswitch-openfeature-'));
  replace(join(dir, 'flags.json'), flags(false));
  writeFileSync(join(dir, 'tokens'), TOKEN + '\n');
  server = spawn(BIN, ['serve', 'flags.json', '--listen', '127.0.0.1:0', '--token-file', 'tokens',
    '--poll-ms', '200'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  exited = new Promise((resolve) => server.on('exit', (code, signal) => resolve({ code, signal })));
  const baseUrl = await new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error('no listening line: ' + seen)), 10000);
    server.stderr.on('data', (chunk) => {
      seen += chunk;
      const m = seen.match(/listening on (http:\/\/[^ ]+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  await OpenFeature.setProviderAndWait(
    new OFREPProvider({ baseUrl, headers: { Authorization: `Bearer ${TOKEN}` } }),
  );
  client = OpenFeature.getClient();
});

after(async () => {
  await OpenFeature.close();
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
  }
  if (exited) {
    const { code } = await exited;
    assert.equal(code, 0, 'killswitch serve exits 0 on SIGTERM');
  }
  if (dir) {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a killed flag with a caller default of true resolves to false', async () => {
  const ctx = { targetingKey: 'user-1' };
  assert.equal(await client.getBooleanValue('killed', true, ctx), false);
  const details = await client.getBooleanDetails('killed', true, ctx);
  assert.equal(details.value, false);
  assert.equal(details.variant, 'off');
  assert.equal(details.reason, 'DISABLED');
  assert.equal(details.errorCode, undefined);
  assert.equal(details.flagMetadata.reason, 'kill_switch');
  // A disabled flag too, and without a targeting key.
  assert.equal(await client.getBooleanValue('disabled', true, {}), false);
});

test('a killed string variant flag serves its off_variant, not the caller default', async () => {
  const ctx = { targetingKey: 'user-1' };
  const details = await client.getStringDetails('button_colour', '#ff0000', ctx);
  assert.equal(details.value, '#8c959f');
  assert.equal(details.variant, 'grey');
  assert.equal(details.reason, 'DISABLED');
  assert.equal(details.errorCode, undefined);
  // A number variant arrives as a number.
  const size = await client.getNumberDetails('page_size', 1, ctx);
  assert.equal(size.value, 50);
  assert.equal(size.variant, 'large');
  assert.equal(size.errorCode, undefined);
});

test('flags on, targeting rules and unknown flags', async () => {
  const on = await client.getBooleanDetails('checkout', false, { targetingKey: 'user-1' });
  assert.equal(on.value, true);
  assert.equal(on.variant, 'on');
  assert.equal(on.reason, 'SPLIT');
  const staff = await client.getBooleanDetails('staff', false, { email: 'ana@internal.com' });
  assert.equal(staff.value, true);
  assert.equal(staff.reason, 'TARGETING_MATCH');
  const missing = await client.getBooleanDetails('nope', true, { targetingKey: 'user-1' });
  assert.equal(missing.value, true);
  assert.equal(missing.errorCode, 'FLAG_NOT_FOUND');
});

test('a kill switch written to the file reaches the application', async () => {
  const ctx = { targetingKey: 'user-1' };
  assert.equal(await client.getBooleanValue('checkout', false, ctx), true);
  replace(join(dir, 'flags.json'), flags(true));
  const deadline = Date.now() + 10000;
  for (;;) {
    const details = await client.getBooleanDetails('checkout', true, ctx);
    if (details.value === false) {
      assert.equal(details.reason, 'DISABLED');
      assert.equal(details.errorCode, undefined);
      break;
    }
    assert.ok(Date.now() < deadline, 'the kill switch never reached the provider');
    await new Promise((r) => setTimeout(r, 10));
  }
});
