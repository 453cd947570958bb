// Evaluations per second from Node for the specification's flag
// (tests/fixtures/spec_flag.json), in one run, against:
//
// - plain JavaScript: the same logic written by hand (node:crypto SHA-256 of
//   user_id + flag_key, first 4 bytes big-endian % 100 < percentage, plus
//   the allow and deny rules);
// - Unleash's Node SDK engine (`unleash-client`'s UnleashClient with its
//   default strategies), offline over a static repository: the allow rule
//   as a `default` strategy with constraints, the rollout as a
//   `flexibleRollout` at the same percentage, both excluding `legacy`.
//
// Every implementation is first checked to agree with killswitch on every
// context (Unleash only where no bucket decides: its rollout hashes with
// murmur3, not SHA-256). Usage: `npm run bench` (after `npm run build`);
// BENCH_ROUNDS and BENCH_CONTEXTS change the size.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { FlagSet } from 'killswitch';

const require = createRequire(import.meta.url);
const specText = readFileSync(new URL('../../../tests/fixtures/spec_flag.json', import.meta.url), 'utf8');
const spec = JSON.parse(specText);
const KEY = spec.flag_key;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const N = Number(process.env.BENCH_CONTEXTS ?? 10000);

// Contexts: 80% reach the rollout (hash), 10% staff (allow rule), 10% legacy (deny rule).
const contexts = [];
for (let i = 0; i < N; i++) {
  const ctx = { user_id: `user_${i}`, email: `u${i}@example.com`, segment: 'beta' };
  if (i % 10 === 0) ctx.email = `u${i}@internal.com`;
  if (i % 10 === 5) ctx.segment = 'legacy';
  contexts.push(ctx);
}

// killswitch: the typed API over the WebAssembly engine.
const flags = FlagSet.fromText(specText);
const killswitch = (ctx) => flags.evaluate(KEY, ctx).enabled;

// Plain JavaScript: the specification's logic by hand.
function plain(ctx) {
  if (spec.kill_switch || !spec.enabled) return false;
  const internal = typeof ctx.email === 'string' && ctx.email.endsWith('@internal.com');
  const legacy = ctx.segment === 'legacy';
  if (internal && !legacy) return true;
  if (legacy) return false;
  if (typeof ctx.user_id !== 'string') return false;
  const digest = createHash('sha256').update(ctx.user_id + KEY, 'utf8').digest();
  return digest.readUInt32BE(0) % 100 < spec.rollout_percentage;
}

// Unleash's engine, offline.
let unleash = null;
try {
  const UnleashClient = require('unleash-client/lib/client.js').default;
  const { defaultStrategies } = require('unleash-client/lib/strategy/index.js');
  const notLegacy = { contextName: 'segment', operator: 'NOT_IN', values: ['legacy'] };
  const toggle = {
    name: KEY, enabled: true, type: 'release', project: 'default', stale: false, impressionData: false,
    strategies: [
      { name: 'default', parameters: {}, constraints: [
        { contextName: 'email', operator: 'STR_ENDS_WITH', values: ['@internal.com'] }, notLegacy] },
      { name: 'flexibleRollout', parameters: { rollout: String(spec.rollout_percentage), stickiness: 'userId', groupId: KEY },
        constraints: [notLegacy] },
    ],
    variants: [],
  };
  const { EventEmitter } = await import('node:events');
  const repository = Object.assign(new EventEmitter(), {
    getToggle: (name) => (name === KEY ? toggle : undefined),
    getToggles: () => [toggle],
    getTogglesWithSegmentData: () => [toggle],
    getSegment: () => undefined,
    stop() {},
    async start() {},
  });
  const client = new UnleashClient(repository, defaultStrategies);
  const fallback = () => false;
  unleash = (ctx) => client.isEnabled(KEY, { userId: ctx.user_id, properties: { email: ctx.email, segment: ctx.segment } }, fallback);
} catch (e) {
  console.error(`unleash-client not available (${e.message}): skipped`);
}

// Agreement.
for (const ctx of contexts) {
  const expected = killswitch(ctx);
  if (plain(ctx) !== expected) throw new Error(`plain JS disagrees for ${JSON.stringify(ctx)}`);
  const decidedByRule = ctx.segment === 'legacy' || ctx.email.endsWith('@internal.com');
  if (unleash && decidedByRule && unleash(ctx) !== expected) {
    throw new Error(`Unleash disagrees for ${JSON.stringify(ctx)}`);
  }
}
if (unleash) {
  const share = contexts.filter(unleash).length / N;
  console.error(`Unleash serves ${(share * 100).toFixed(1)}% (killswitch ${(contexts.filter(killswitch).length / N * 100).toFixed(1)}%)`);
}

function round(fn) {
  let on = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    if (fn(contexts[i])) on++;
  }
  const ns = Number(process.hrtime.bigint() - start);
  if (on < 0) console.log(on);
  return ns / N;
}

const candidates = [['killswitch (wasm)', killswitch], ['plain JS (node:crypto)', plain]];
if (unleash) candidates.push(['unleash-client', unleash]);
// Warm up every implementation, then interleave the rounds so that all see the same machine.
for (const [, fn] of candidates) for (let r = 0; r < 3; r++) round(fn);
const samples = new Map(candidates.map(([name]) => [name, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, fn] of candidates) samples.get(name).push(round(fn));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = candidates.map(([name]) => {
  const ns = median(samples.get(name));
  return { implementation: name, 'ns/eval': Number(ns.toFixed(1)), 'evals/s': Math.round(1e9 / ns) };
});
console.log(`node ${process.version}, ${N} contexts x ${ROUNDS} rounds (median), flag ${KEY}`);
console.table(results);
const ours = results[0]['ns/eval'];
for (const r of results.slice(1)) {
  console.log(`killswitch is ${(r['ns/eval'] / ours).toFixed(2)}x ${r['ns/eval'] > ours ? 'faster' : 'SLOWER'} than ${r.implementation}`);
}
