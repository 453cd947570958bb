// Type-checked by test/types.test.mjs against the built .d.ts files, as an
// application importing the package by its name would be.
import { OpenFeature } from '@openfeature/server-sdk';
import { ConfigError, FlagSet, Store, type Decision, type Evaluation, type JsonValue, type StoreStatus } from 'killswitch';
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
const store: Store = Store.watch('flags.json', { pollInterval: 500, allowMissing: true });
const stop: () => void = store.onChange((version: number) => console.log(version));
const status: StoreStatus = store.status;
const lastError: string | null = status.lastError;
await OpenFeature.setProviderAndWait(new KillswitchProvider(store));
stop();
store.close();
console.log(enabled, value, bucket, keys, lastError, store.evaluate('a', { user_id: 'u1' }).enabled);
// @ts-expect-error: an evaluation option that does not exist
flags.evaluate('a', {}, { at: 1 });
// @ts-expect-error: a store option that does not exist
Store.watch('flags.json', { poll: 1 });
