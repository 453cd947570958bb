// An OpenFeature provider for the Node.js server SDK
// (`@openfeature/server-sdk`), evaluating in process. It maps decisions as
// the OFREP service (`killswitch serve`, server/src/ofrep.rs) does, so that
// switching between the two changes no answer:
//
// - the value is typed: a boolean flag serves `true`/`false` (variants
//   `on`/`off`), a variant flag its variant's value;
// - a killed or disabled flag resolves to its off value with reason
//   DISABLED, never to the caller's default;
// - `targetingKey` is the user id; a context whose `targetingKey` and
//   `user_id` differ is INVALID_CONTEXT;
// - an unknown key is FLAG_NOT_FOUND, a value of another type than asked
//   for TYPE_MISMATCH (both give the caller's default, as OpenFeature says).
import {
  FlagNotFoundError,
  InvalidContextError,
  OpenFeatureEventEmitter,
  ProviderEvents,
  TypeMismatchError,
  type EvaluationContext,
  type FlagMetadata,
  type JsonValue as OpenFeatureJson,
  type Provider,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import { ContextError, FlagSet, Store, openFeatureReason, type Decision, type Format } from './index.js';

/** Options of a `KillswitchProvider`. */
export interface KillswitchProviderOptions {
  /** The config text's format, when the provider is given text; JSON when not given. */
  format?: Format;
  /** The clock rollout schedules are read against (milliseconds since the Unix epoch); `Date.now` when not given. */
  clock?: () => number;
}

type Kind = 'boolean' | 'string' | 'number' | 'object';

/**
 * The OpenFeature provider over killswitch flags: a `FlagSet`, config
 * text, or a `Store` following a file (each accepted change is served from
 * the next evaluation and emits `ConfigurationChanged`).
 */
export class KillswitchProvider implements Provider {
  readonly metadata = { name: 'killswitch' } as const;
  readonly runsOn = 'server' as const;
  /** The provider's events: `ConfigurationChanged` after each change a `Store` accepts. */
  readonly events = new OpenFeatureEventEmitter();
  readonly #source: FlagSet | Store;
  readonly #clock: () => number;
  readonly #stop: () => void;

  /** A provider over compiled flags, a `Store`, or config text (compiled here; a bad config throws `ConfigError`). */
  constructor(flags: FlagSet | Store | string, options?: KillswitchProviderOptions) {
    this.#source = typeof flags === 'string' ? FlagSet.fromText(flags, { format: options?.format }) : flags;
    this.#clock = options?.clock ?? Date.now;
    this.#stop =
      this.#source instanceof Store
        ? this.#source.onChange(() => this.events.emit(ProviderEvents.ConfigurationChanged))
        : () => {};
  }

  /** The flags this provider evaluates now (a `Store`'s serving version). */
  get flags(): FlagSet {
    return this.#source instanceof Store ? this.#source.flags : this.#source;
  }

  /** Stops listening to the `Store` (which the caller owns, and closes). */
  async onClose(): Promise<void> {
    this.#stop();
  }

  resolveBooleanEvaluation(
    flagKey: string,
    _defaultValue: boolean,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<boolean>> {
    return this.#resolve<boolean>(flagKey, context, 'boolean');
  }

  resolveStringEvaluation(
    flagKey: string,
    _defaultValue: string,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<string>> {
    return this.#resolve<string>(flagKey, context, 'string');
  }

  resolveNumberEvaluation(
    flagKey: string,
    _defaultValue: number,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<number>> {
    return this.#resolve<number>(flagKey, context, 'number');
  }

  resolveObjectEvaluation<T extends OpenFeatureJson>(
    flagKey: string,
    _defaultValue: T,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<T>> {
    return this.#resolve<T>(flagKey, context, 'object');
  }

  async #resolve<T>(flagKey: string, context: EvaluationContext, kind: Kind): Promise<ResolutionDetails<T>> {
    let decision: Decision;
    // One version for the whole answer, whatever a reload does meanwhile.
    const flags = this.flags;
    const version = this.#source instanceof Store ? this.#source.version : null;
    try {
      decision = flags.evaluateOpenFeature(flagKey, context, this.#clock());
    } catch (e) {
      if (e instanceof ContextError) {
        throw new InvalidContextError(e.message);
      }
      throw e;
    }
    if (decision.reason === 'unknown_flag') {
      throw new FlagNotFoundError(`no flag has the key \`${flagKey}\``);
    }
    const value = decision.value;
    // As OFREP's providers check it: null and lists are objects.
    const actual = value === null || Array.isArray(value) ? 'object' : typeof value;
    if (actual !== kind) {
      throw new TypeMismatchError(`flag \`${flagKey}\` serves a ${actual} value, not a ${kind}`);
    }
    return {
      value: value as T,
      variant: decision.variant ?? undefined,
      reason: openFeatureReason(decision.reason),
      flagMetadata: metadata(decision, version),
    };
  }
}

/** killswitch's own account of a decision, as the OFREP service sends it in `metadata`. */
function metadata(d: Decision, version: number | null): FlagMetadata {
  const out: Record<string, string | number | boolean> = { reason: d.reason };
  if (d.rule !== null) out.rule = d.rule;
  if (d.prerequisite !== null) out.prerequisite = d.prerequisite;
  if (d.bucket !== null) out.bucket = d.bucket;
  if (d.percentage !== null) out.percentage = d.percentage;
  if (d.scheduleStep !== null) out.schedule_step = d.scheduleStep;
  if (d.splitBucket !== null) out.split_bucket = d.splitBucket;
  if (version !== null) out.config_version = version;
  return out;
}
