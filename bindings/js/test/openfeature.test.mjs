// The OpenFeature provider through the real @openfeature/server-sdk client:
// the OFREP service's mapping (kill switch -> off value with DISABLED, never
// the caller's default; FLAG_NOT_FOUND; TYPE_MISMATCH; INVALID_CONTEXT).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { OpenFeature, ErrorCode } from '@openfeature/server-sdk';
import { ConfigError, FlagSet } from 'killswitch';
import { KillswitchProvider } from 'killswitch/openfeature';

const config = JSON.stringify([
  { flag_key: 'killed', enabled: true, kill_switch: true, rollout_percentage: 100 },
  { flag_key: 'disabled', enabled: false, rollout_percentage: 100 },
  { flag_key: 'checkout', enabled: true, rollout_percentage: 100 },
  {
    flag_key: 'button_colour', enabled: true, kill_switch: true, rollout_percentage: 100,
    variants: { blue: '#1f6feb', grey: '#8c959f' }, off_variant: 'grey', on_variant: 'blue',
  },
  {
    flag_key: 'page_size', enabled: true, rollout_percentage: 100,
    variants: { small: 10, large: 50 }, off_variant: 'small', on_variant: 'large',
  },
  {
    flag_key: 'layout', enabled: true, rollout_percentage: 100,
    variants: { old: { cols: 1 }, new: { cols: 3, dense: true } }, off_variant: 'old', on_variant: 'new',
  },
  {
    flag_key: 'ramp', enabled: true, rollout_percentage: 0,
    rollout_schedule: [{ at: '2030-01-01T00:00:00Z', percentage: 100 }],
  },
]);

after(() => OpenFeature.close());

async function client(domain, provider) {
  await OpenFeature.setProviderAndWait(domain, provider);
  return OpenFeature.getClient(domain);
}

test('a killed flag resolves to its off value with DISABLED, never to the default', async () => {
  const c = await client('kill', new KillswitchProvider(config));
  const d = await c.getBooleanDetails('killed', true, { targetingKey: 'user_123' });
  assert.equal(d.value, false);
  assert.equal(d.reason, 'DISABLED');
  assert.equal(d.variant, 'off');
  assert.equal(d.errorCode, undefined);
  assert.equal(d.flagMetadata.reason, 'kill_switch');
  assert.equal(await c.getBooleanValue('killed', true, {}), false);
  const disabled = await c.getBooleanDetails('disabled', true, { targetingKey: 'u1' });
  assert.deepEqual([disabled.value, disabled.reason], [false, 'DISABLED']);
  const colour = await c.getStringDetails('button_colour', '#000000', { targetingKey: 'u1' });
  assert.deepEqual([colour.value, colour.variant, colour.reason], ['#8c959f', 'grey', 'DISABLED']);
});

test('typed values: strings, numbers and objects as the config writes them', async () => {
  const c = await client('typed', new KillswitchProvider(FlagSet.fromText(config)));
  const on = await c.getBooleanDetails('checkout', false, { targetingKey: 'u1' });
  assert.deepEqual([on.value, on.variant, on.reason], [true, 'on', 'SPLIT']);
  assert.equal(typeof on.flagMetadata.bucket, 'number');
  assert.equal(await c.getNumberValue('page_size', 0, { targetingKey: 'u1' }), 50);
  assert.deepEqual(await c.getObjectValue('layout', {}, { targetingKey: 'u1' }), { cols: 3, dense: true });
});

test('an unknown flag is FLAG_NOT_FOUND, a wrong type TYPE_MISMATCH: the default applies', async () => {
  const c = await client('errors', new KillswitchProvider(config));
  const missing = await c.getBooleanDetails('nope', true, { targetingKey: 'u1' });
  assert.deepEqual([missing.value, missing.errorCode, missing.reason], [true, ErrorCode.FLAG_NOT_FOUND, 'ERROR']);
  const mismatch = await c.getStringDetails('checkout', 'x', { targetingKey: 'u1' });
  assert.deepEqual([mismatch.value, mismatch.errorCode], ['x', ErrorCode.TYPE_MISMATCH]);
  const number = await c.getBooleanDetails('page_size', true, { targetingKey: 'u1' });
  assert.deepEqual([number.value, number.errorCode], [true, ErrorCode.TYPE_MISMATCH]);
  const object = await c.getNumberDetails('layout', 7, { targetingKey: 'u1' });
  assert.deepEqual([object.value, object.errorCode], [7, ErrorCode.TYPE_MISMATCH]);
});

test('targetingKey is the user id; a differing user_id is INVALID_CONTEXT', async () => {
  const c = await client('context', new KillswitchProvider(config));
  const same = await c.getBooleanDetails('checkout', false, { targetingKey: 'u1', user_id: 'u1' });
  assert.equal(same.errorCode, undefined);
  const byKey = await c.getBooleanDetails('checkout', false, { targetingKey: 'u1' });
  const byId = await c.getBooleanDetails('checkout', false, { user_id: 'u1' });
  assert.equal(byKey.flagMetadata.bucket, byId.flagMetadata.bucket);
  const conflict = await c.getBooleanDetails('checkout', false, { targetingKey: 'u1', user_id: 'u2' });
  assert.deepEqual([conflict.value, conflict.errorCode], [false, ErrorCode.INVALID_CONTEXT]);
  const noKey = await c.getBooleanDetails('checkout', true, {});
  assert.deepEqual([noKey.value, noKey.reason, noKey.flagMetadata.reason], [false, 'DEFAULT', 'missing_user_id']);
});

test('schedules read the provider clock', async () => {
  const at = (iso) => new KillswitchProvider(config, { clock: () => Date.parse(iso) });
  const before = await client('before', at('2029-12-31T23:59:59Z'));
  const afterwards = await client('after', at('2030-01-01T00:00:00Z'));
  assert.equal(await before.getBooleanValue('ramp', true, { targetingKey: 'u1' }), false);
  assert.equal(await afterwards.getBooleanValue('ramp', false, { targetingKey: 'u1' }), true);
});

test('a provider from bad config text throws ConfigError', () => {
  assert.throws(() => new KillswitchProvider('{"flag_key": 1}'), ConfigError);
  assert.throws(() => new KillswitchProvider('flag_key: [', { format: 'yaml' }), ConfigError);
});
