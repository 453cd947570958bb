// Type-checked by test/types.test.mjs against the built .d.ts files, as an
// application importing the package by its name would be.
import { OpenFeature } from '@openfeature/server-sdk';
import { ConfigError, FlagSet, type Decision, type Evaluation, type JsonValue } from 'killswitch';
import { KillswitchProvider } from 'killswitch/openfeature';

const flags: FlagSet = FlagSet.fromText('{"flag_key": "a", "enabled": true}', { format: 'json' });
const decision: Decision = flags.evaluate('a', { user_id: 'u1', age: 3, tags: ['x'], account: { id: 'a' } }, { now: new Date() });
const enabled: boolean = decision.enabled;
const value: JsonValue = decision.value;
const bucket: number | null = decision.bucket;
const all: Evaluation[] = flags.evaluateAll({ user_id: 'u1' }, { now: 0 });
const keys: string[] = all.map((e) => e.key);
try {
  FlagSet.load('flags.yaml');
} catch (e) {
  if (e instanceof ConfigError) {
    const line: number | null | undefined = e.diagnostics[0]?.line;
    console.log(line);
  }
}
await OpenFeature.setProviderAndWait(new KillswitchProvider(flags, { clock: () => Date.now() }));
console.log(enabled, value, bucket, keys);
// @ts-expect-error: an evaluation option that does not exist
flags.evaluate('a', {}, { at: 1 });
