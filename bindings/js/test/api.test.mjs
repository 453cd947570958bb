// The typed API, imported by the package's name as an application would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bucket, ConfigError, ContextError, FlagSet, openFeatureReason } from 'killswitch';

const specFlag = readFileSync(new URL('../../../tests/fixtures/spec_flag.json', import.meta.url), 'utf8');

test('the specification flag decides as the engine documents', () => {
  const flags = FlagSet.fromText(specFlag);
  assert.deepEqual(flags.keys, ['new_search_ui']);
  assert.equal(flags.size, 1);
  const user = flags.evaluate('new_search_ui', { user_id: 'user_123' });
  assert.deepEqual(user, {
    enabled: false, reason: 'out_of_rollout', rule: null, prerequisite: null, bucket: 45,
    percentage: 20, scheduleStep: null, variant: 'off', value: false, splitBucket: null,
  });
  const staff = flags.evaluate('new_search_ui', { user_id: 'u1', email: 'ana@internal.com' });
  assert.equal(staff.enabled, true);
  assert.equal(staff.reason, 'allow_rule');
  assert.equal(staff.rule, 0);
  const legacy = flags.evaluate('new_search_ui', { user_id: 'u2', segment: 'legacy' });
  assert.equal(legacy.reason, 'deny_rule');
  assert.equal(legacy.rule, 0);
  assert.equal(flags.evaluate('new_search_ui', {}).reason, 'missing_user_id');
  assert.equal(flags.evaluate('new_search_ui').reason, 'missing_user_id');
});

test('an unknown flag is off, with no variant and no value', () => {
  const flags = FlagSet.fromText(specFlag);
  const d = flags.evaluate('nope', { user_id: 'u1' });
  assert.equal(d.enabled, false);
  assert.equal(d.reason, 'unknown_flag');
  assert.equal(d.variant, null);
  assert.equal(d.value, null);
  assert.equal(flags.has('nope'), false);
  assert.equal(openFeatureReason('kill_switch'), 'DISABLED');
});

test('buckets match SHA-256 computed by node:crypto', async () => {
  const { createHash } = await import('node:crypto');
  for (const [user, flag] of [['user_123', 'new_search_ui'], ['Zoë', 'f'], ['用户-7', 'checkout'], ['', '']]) {
    const expected = createHash('sha256').update(user + flag, 'utf8').digest().readUInt32BE(0) % 100;
    assert.equal(bucket(user, flag), expected, `${user} ${flag}`);
  }
  assert.equal(bucket('user_123', 'new_search_ui'), 45);
});

test('a kill switch wins over everything', () => {
  const flags = FlagSet.fromText(JSON.stringify({
    flag_key: 'k', enabled: true, kill_switch: true, rollout_percentage: 100,
    targeting_rules: { allow_list: ['user_id == "u1"'] },
  }));
  const d = flags.evaluate('k', { user_id: 'u1' });
  assert.equal(d.enabled, false);
  assert.equal(d.reason, 'kill_switch');
  assert.equal(d.value, false);
});

test('variant values are plain objects keeping key order and JSON number types', () => {
  const flags = FlagSet.fromText(JSON.stringify({
    flag_key: 'pricing', enabled: true, rollout_percentage: 100,
    variants: {
      control: { z: 1, a: { y: [1, 2.5, 'x', null, true], b: 9007199254740991 }, m: 'µ' },
      off: 0,
    },
    off_variant: 'off', on_variant: 'control',
  }));
  const d = flags.evaluate('pricing', { user_id: 'u1' });
  assert.equal(d.variant, 'control');
  assert.equal(Object.getPrototypeOf(d.value), Object.prototype);
  assert.deepEqual(Object.keys(d.value), ['z', 'a', 'm']);
  assert.deepEqual(Object.keys(d.value.a), ['y', 'b']);
  assert.equal(typeof d.value.a.b, 'number');
  assert.equal(d.value.a.b, 9007199254740991);
  assert.deepEqual(d.value, { z: 1, a: { y: [1, 2.5, 'x', null, true], b: 9007199254740991 }, m: 'µ' });
  assert.ok(Object.isFrozen(d.value), 'shared values are frozen');
  const all = flags.evaluateAll({ user_id: 'u1' });
  assert.equal(all[0].key, 'pricing');
  assert.deepEqual(all[0].value, d.value);
});

test('contexts keep their JSON types: numbers, nested objects, lists', () => {
  const flags = FlagSet.fromText(JSON.stringify([
    { flag_key: 'age', enabled: true, targeting_rules: { allow_list: ['age >= 18 and account.plan == "pro"'] } },
    { flag_key: 'tags', enabled: true, targeting_rules: { allow_list: ['tags contains "beta"'] } },
  ]));
  assert.equal(flags.evaluate('age', { user_id: 'u', age: 18, account: { plan: 'pro' } }).enabled, true);
  assert.equal(flags.evaluate('age', { user_id: 'u', age: 17.5, account: { plan: 'pro' } }).enabled, false);
  assert.equal(flags.evaluate('tags', { tags: ['alpha', 'beta'] }).enabled, true);
});

test('a rollout schedule reads the host clock or a given time, and never panics', () => {
  const flags = FlagSet.fromText(JSON.stringify({
    flag_key: 'ramp', enabled: true, rollout_percentage: 0,
    rollout_schedule: [{ at: '2030-01-01T00:00:00Z', percentage: 100 }],
  }));
  const before = flags.evaluate('ramp', { user_id: 'u1' }, { now: new Date('2029-12-31T23:59:59Z') });
  assert.equal(before.enabled, false);
  assert.equal(before.percentage, 0);
  const after = flags.evaluate('ramp', { user_id: 'u1' }, { now: Date.parse('2030-01-01T00:00:00Z') });
  assert.equal(after.enabled, true);
  assert.equal(after.scheduleStep, 0);
  const today = flags.evaluate('ramp', { user_id: 'u1' });
  assert.equal(today.enabled, Date.now() >= Date.parse('2030-01-01T00:00:00Z'));
  for (const now of [NaN, Infinity, -Infinity, -1e300, 1e300, 0]) {
    assert.equal(typeof flags.evaluate('ramp', { user_id: 'u1' }, { now }).enabled, 'boolean');
  }
  assert.equal(flags.evaluateAll({ user_id: 'u1' }, { now: Date.parse('2031-01-01T00:00:00Z') })[0].enabled, true);
});

test('config errors carry every problem with its line and column', () => {
  const text = '[\n  {"flag_key": "a", "enabled": true,\n   "targeting_rules": {"allow_list": ["email endswith \\"x\\""]}},\n  {"flag_key": "b", "enabled": "yes"}\n]';
  assert.throws(() => FlagSet.fromText(text), (e) => {
    assert.ok(e instanceof ConfigError);
    assert.ok(e instanceof Error);
    assert.equal(e.diagnostics.length, 2);
    const [first, second] = e.diagnostics;
    assert.equal(first.line, 3);
    assert.equal(first.column, 46);
    assert.equal(first.help, 'did you mean `endsWith`?');
    assert.equal(first.flag, 'a');
    assert.equal(second.line, 4);
    assert.match(e.message, /did you mean `endsWith`\?/);
    assert.match(e.message, /2 errors$/);
    return true;
  });
  const yaml = 'flag_key: f\nenabled: true\ntargeting_rules:\n  allow_list: [email endswith \'x\']\n';
  assert.throws(() => FlagSet.fromText(yaml, { format: 'yaml' }), (e) => {
    assert.deepEqual([e.diagnostics[0].line, e.diagnostics[0].column], [4, 22]);
    return true;
  });
});

test('load reads a file in the format its extension names', () => {
  const dir = mkdtempSync(join(tmpdir(), 'killswitch-js-'));
  const toml = join(dir, 'flags.toml');
  writeFileSync(toml, '[[flags]]\nflag_key = "t"\nenabled = true\nrollout_percentage = 100\n');
  assert.equal(FlagSet.load(toml).evaluate('t', { user_id: 'u' }).enabled, true);
  const bad = join(dir, 'flags.yaml');
  writeFileSync(bad, 'flag_key: f\nenabled: maybe\n');
  assert.throws(() => FlagSet.load(bad), (e) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.file, bad);
    assert.equal(e.diagnostics[0].line, 2);
    assert.ok(e.message.includes(bad), e.message);
    return true;
  });
  assert.throws(() => FlagSet.load(join(dir, 'missing.json')), (e) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /cannot read/);
    return true;
  });
  assert.throws(() => FlagSet.load(dir), ConfigError);
});

test('a context that is not an object is refused', () => {
  const flags = FlagSet.fromText(specFlag);
  assert.throws(() => flags.evaluate('new_search_ui', ['u1']), ContextError);
  assert.throws(() => flags.evaluate('new_search_ui', 'u1'), ContextError);
  assert.throws(() => flags.evaluateAll(42), ContextError);
});

test('many evaluations, and memory growth, keep reading the right decision', () => {
  const flags = FlagSet.fromText(specFlag);
  const big = 'x'.repeat(1 << 20);
  for (let i = 0; i < 50; i++) {
    // Large contexts make the module's memory grow (and its buffer change).
    flags.evaluate('new_search_ui', { user_id: 'user_123', pad: big + i });
    assert.equal(flags.evaluate('new_search_ui', { user_id: 'user_123' }).bucket, 45);
  }
});

test('flat contexts written to memory read as their JSON would', () => {
  const flags = FlagSet.fromText(JSON.stringify([
    { flag_key: 'age', enabled: true, targeting_rules: { allow_list: ['age >= 18'] } },
    { flag_key: 'ratio', enabled: true, targeting_rules: { allow_list: ['ratio > 0.25'] } },
    { flag_key: 'name', enabled: true, targeting_rules: { allow_list: ['name == "Zoë 用户 😀"'] } },
    { flag_key: 'staff', enabled: true, targeting_rules: { allow_list: ['staff == true'] } },
    { flag_key: 'set', enabled: true, targeting_rules: { allow_list: ['gone in [1, 2]'] } },
    { flag_key: 'roll', enabled: true, rollout_percentage: 50 },
  ]));
  const contexts = [
    { user_id: 'user_1', age: 18, ratio: 0.5, name: 'Zoë 用户 😀', staff: true, gone: undefined },
    { user_id: 'Zoë', age: 17.999, ratio: 0.25, name: 'Zoe', staff: false, gone: null },
    { user_id: '用户-7', age: NaN, ratio: Infinity, name: 'x'.repeat(5000) + 'ü', staff: 'true', gone: 1 },
    { user_id: 'u', age: 1e21, ratio: -0, f() {}, [Symbol('s')]: 1, gone: 2 },
    { user_id: 'u'.repeat(100000) },
  ];
  for (const context of contexts) {
    // `toJSON` sends the same context through JSON.stringify and the engine's JSON parser.
    const viaJson = { ...context, toJSON: () => context };
    for (const key of flags.keys) {
      assert.deepEqual(flags.evaluate(key, context), flags.evaluate(key, viaJson), `${key} ${JSON.stringify(context).slice(0, 80)}`);
    }
  }
  assert.throws(() => flags.evaluate('roll', { user_id: 7 }), ContextError);
  assert.throws(() => flags.evaluate('roll', { user_id: 7, toJSON() { return this; } }), ContextError);
  assert.throws(() => flags.evaluate('roll', { user_id: 'u', n: 1n }), TypeError);
});
