// Every conformance case through FlagSet.evaluate (every field) and through
// the OpenFeature provider with the real @openfeature/server-sdk client
// (value, variant, reason, bucket).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenFeature } from '@openfeature/server-sdk';
import { FlagSet, openFeatureReason } from 'killswitch';
import { KillswitchProvider } from 'killswitch/openfeature';
import { loadVectors } from './vectors.mjs';

const vectors = loadVectors();

/** An OFREP context as the engine's: `targetingKey` is the user id. */
function engineContext(context) {
  const { targetingKey, ...rest } = context;
  return targetingKey === undefined ? rest : { ...rest, user_id: targetingKey };
}

function label(c) {
  return `${c.flag} for ${JSON.stringify(c.context)} (${vectors.path})`;
}

test('the vectors are there', () => {
  assert.ok(vectors.cases.length >= 100, `${vectors.cases.length} cases in ${vectors.path}`);
});

test('FlagSet.evaluate answers every conformance case', () => {
  const flags = FlagSet.fromText(vectors.config);
  for (const c of vectors.cases) {
    const d = flags.evaluate(c.flag, engineContext(c.context), { now: vectors.now });
    assert.equal(d.enabled, c.enabled, label(c));
    assert.equal(d.variant, c.variant, label(c));
    assert.deepEqual(d.value, c.value, label(c));
    assert.equal(openFeatureReason(d.reason), c.reason, label(c));
    if ('engine_reason' in c) assert.equal(d.reason, c.engine_reason, label(c));
    if ('rule' in c) assert.equal(d.rule, c.rule, label(c));
    assert.equal(d.bucket, c.bucket, label(c));
  }
});

test('evaluateAll agrees with evaluate on every conformance context', () => {
  const flags = FlagSet.fromText(vectors.config);
  const contexts = [...new Map(vectors.cases.map((c) => [JSON.stringify(c.context), c.context])).values()];
  for (const context of contexts) {
    const all = flags.evaluateAll(engineContext(context), { now: vectors.now });
    assert.deepEqual(all.map((e) => e.key), flags.keys);
    for (const e of all) {
      const { key, ...decision } = e;
      assert.deepEqual(decision, flags.evaluate(key, engineContext(context), { now: vectors.now }));
    }
  }
});

function kindOf(value) {
  if (typeof value === 'boolean') return 'Boolean';
  if (typeof value === 'string') return 'String';
  if (typeof value === 'number') return 'Number';
  return 'Object';
}

const defaults = { Boolean: true, String: 'default', Number: -1, Object: { default: true } };

test('the OpenFeature provider answers every conformance case', async () => {
  const provider = new KillswitchProvider(vectors.config, { clock: () => vectors.now });
  await OpenFeature.setProviderAndWait('conformance', provider);
  const client = OpenFeature.getClient('conformance');
  for (const c of vectors.cases) {
    const kind = kindOf(c.value);
    const details = await client[`get${kind}Details`](c.flag, defaults[kind], c.context);
    assert.equal(details.errorCode, undefined, `${label(c)}: ${details.errorMessage}`);
    assert.deepEqual(details.value, c.value, label(c));
    assert.equal(details.variant, c.variant, label(c));
    assert.equal(details.reason, c.reason, label(c));
    assert.equal(details.flagMetadata.bucket, c.bucket ?? undefined, label(c));
    if ('engine_reason' in c) assert.equal(details.flagMetadata.reason, c.engine_reason, label(c));
  }
  await OpenFeature.clearProviders();
});
