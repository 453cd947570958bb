// The typed API over the WebAssembly engine, shared by the Node entry
// (index.ts) and the browser entry (browser.ts), which each load the
// module their own way and hand it to `bind`.
//
// What crosses the boundary: contexts go in as JSON text; a decision comes
// back as seven numbers read in place from the module's memory; variant
// values are parsed once per FlagSet from the config's own JSON text, so
// they are plain objects keeping their key order and JSON number types.

/** A JSON value, as configs and contexts hold them. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * The attributes a flag is evaluated against: `user_id` (bucketed by the
 * rollout) and any others the rules name. Nested objects are reached with
 * dotted paths (`account.id`).
 */
export type Context = { [attribute: string]: JsonValue | undefined };

/** A config file's format. */
export type Format = 'json' | 'yaml' | 'toml';

/** Why a flag evaluated the way it did: the engine's stable reason names. */
export type ReasonName =
  | 'kill_switch'
  | 'disabled'
  | 'allow_rule'
  | 'deny_rule'
  | 'in_rollout'
  | 'out_of_rollout'
  | 'missing_user_id'
  | 'no_rollout'
  | 'unknown_flag'
  | 'prerequisite_off'
  | 'unknown';

/** The outcome of evaluating a flag for a context. */
export interface Decision {
  /** Whether the feature is on. */
  enabled: boolean;
  /** Which step of the evaluation order decided. */
  reason: ReasonName;
  /** The index (0-based) of the allow or deny rule that decided. */
  rule: number | null;
  /** The key of the prerequisite that was off (`prerequisite_off`). */
  prerequisite: string | null;
  /** The user's bucket (0-99), whenever bucketing ran. */
  bucket: number | null;
  /** The rollout percentage the bucket was compared with. */
  percentage: number | null;
  /** The index of the `rollout_schedule` entry that set the percentage. */
  scheduleStep: number | null;
  /**
   * The variant served: a variant flag's variant name, `"on"`/`"off"` for
   * a boolean flag, `null` for an unknown flag.
   */
  variant: string | null;
  /**
   * The value served: the variant's value as the config wrote it (frozen:
   * it is shared by every decision that serves it), `true`/`false` for a
   * boolean flag, `null` for an unknown flag.
   */
  value: JsonValue;
  /** The user's split bucket (0-9999), whenever a weighted split chose the variant. */
  splitBucket: number | null;
}

/** One flag's decision in `FlagSet.evaluateAll`'s answer. */
export interface Evaluation extends Decision {
  /** The flag's key. */
  key: string;
}

/** Options of an evaluation. */
export interface EvaluateOptions {
  /**
   * The time a rollout schedule is read against (a `Date` or milliseconds
   * since the Unix epoch); `Date.now()` when not given.
   */
  now?: Date | number;
}

/** Options of `FlagSet.fromText`. */
export interface TextOptions {
  /** The text's format; JSON when not given. */
  format?: Format;
}

/** One problem of a config, with its place. */
export interface Diagnostic {
  severity: 'error' | 'warning' | 'note';
  /** The problem's stable code. */
  code: string;
  /** The problem's kind, in words. */
  kind: string;
  message: string;
  help: string | null;
  /** Where in the config (`flags[3] "new_search_ui" > targeting_rules.allow_list[0]`). */
  path: string;
  /** The flag's key, when the problem is in a flag. */
  flag: string | null;
  /** 1-based line and column (characters) of the problem's start, when known. */
  line: number | null;
  column: number | null;
  endLine: number | null;
  endColumn: number | null;
  /** The problem rendered as the command line prints it, with `^^^` under it. */
  rendered: string;
}

/** A config that could not be loaded: every problem found in it. */
export class ConfigError extends Error {
  /** The problems, in file order. */
  readonly diagnostics: Diagnostic[];
  /** The file's name, when loaded from a file. */
  readonly file: string | null;

  /** @internal */
  constructor(message: string, diagnostics: Diagnostic[], file: string | null) {
    super(message);
    this.name = 'ConfigError';
    this.diagnostics = diagnostics;
    this.file = file;
  }
}

/** A context the engine cannot read (not an object, or a `targetingKey` conflict). */
export class ContextError extends TypeError {
  /** @internal */
  constructor(message: string) {
    super(message);
    this.name = 'ContextError';
  }
}

/** @internal The engine of one config, as the WebAssembly module exports it. */
export interface WasmEngine {
  describe(): string;
  evaluate(index: number, context: string, openfeature: boolean, nowMs: number): void;
  evaluate_encoded(index: number, len: number, openfeature: boolean, nowMs: number): void;
  reads_clock(): boolean;
  set_context(context: string, openfeature: boolean): void;
  evaluate_index(index: number, nowMs: number): void;
  free(): void;
}

/** @internal What the WebAssembly module exports. */
export interface WasmModule {
  Engine: { compile(text: string, format: string, file?: string | null): WasmEngine };
  reasons(): string;
  decision_slots(): number;
  context_buffer(len: number): number;
  module_memory(): { buffer: ArrayBuffer };
  format_of(path: string): string;
  max_config_bytes(): number;
  bucket(userId: string, flagKey: string): number;
}

/** @internal How an entry reads a config file (the browser has none). */
export type FileReader = (path: string, maxBytes: number) => string;

const NONE = 0xffffffff;
const SLOTS = 7;

let wasm: WasmModule;
let readFile: FileReader;
let reasonNames: ReasonName[];
let openFeatureReasons: string[];
let slotsAddress: number;
let slots = new Uint32Array(0);

/** @internal Binds the API to a loaded module; each entry calls it once. */
export function bind(module: WasmModule, reader: FileReader): void {
  wasm = module;
  readFile = reader;
  const table = JSON.parse(module.reasons()) as [ReasonName, string][];
  reasonNames = table.map(([name]) => name);
  openFeatureReasons = table.map(([, reason]) => reason);
  slotsAddress = module.decision_slots();
  slots = new Uint32Array(0);
}

/** The decision table, viewed afresh whenever the memory has grown. */
function decisionSlots(): Uint32Array {
  if (slots.length === 0) {
    slots = new Uint32Array(wasm.module_memory().buffer, slotsAddress, SLOTS);
  }
  return slots;
}

// The context buffer: a flat context object is written straight into the
// module's memory in a compact encoding (crate/src/lib.rs, `decode_context`):
// no JSON.stringify here, no JSON parser there.
const TAG_NULL = 0;
const TAG_FALSE = 1;
const TAG_TRUE = 2;
const TAG_NUMBER = 3;
const TAG_STRING = 4;
const encoder = new TextEncoder();
const hasOwn = Object.prototype.hasOwnProperty;
let bufferCapacity = 0;
let bufferBytes = new Uint8Array(0);
let bufferView = new DataView(new ArrayBuffer(0));

/** Views the buffer afresh, at `capacity` bytes (what was written is kept). */
function viewBuffer(capacity: number): void {
  bufferCapacity = capacity;
  const address = wasm.context_buffer(capacity);
  const memory = wasm.module_memory().buffer;
  bufferBytes = new Uint8Array(memory, address, capacity);
  bufferView = new DataView(memory, address, capacity);
  slots = new Uint32Array(0);
}

/** Grows the buffer to at least `min` bytes. */
function growBuffer(min: number): void {
  viewBuffer(Math.max(min, bufferCapacity * 2));
}

/** Writes a string (UTF-8 length, then bytes) at `at`; the offset after it. */
function writeString(s: string, at: number): number {
  const n = s.length;
  if (at + 13 + 3 * n > bufferCapacity) {
    growBuffer(at + 13 + 3 * n);
  }
  const bytes = bufferBytes;
  let p = at + 4;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) break;
    bytes[p++] = c;
  }
  if (i < n) {
    p += encoder.encodeInto(i === 0 ? s : s.slice(i), bytes.subarray(p)).written;
  }
  bufferView.setUint32(at, p - at - 4, true);
  return p;
}

/**
 * Writes a flat context (string, number, boolean and null values) to the
 * buffer, as JSON.stringify would see it (own enumerable keys in order;
 * `undefined`, functions and symbols left out; a non-finite number is
 * null); its length in bytes, or -1 for a context that needs JSON (nested
 * objects, lists, dates, BigInts, `toJSON`).
 */
function encodeContext(context: Context): number {
  if (bufferBytes.length === 0) {
    // First use, or the memory grew (which detaches every view of it).
    viewBuffer(Math.max(bufferCapacity, 1024));
  }
  if (typeof (context as { toJSON?: unknown }).toJSON === 'function') {
    return -1;
  }
  let at = 0;
  for (const key in context) {
    if (!hasOwn.call(context, key)) continue;
    const value = context[key];
    switch (typeof value) {
      case 'string':
        at = writeString(key, at);
        bufferBytes[at] = TAG_STRING;
        at = writeString(value, at + 1);
        break;
      case 'number':
        at = writeString(key, at);
        if (Number.isFinite(value)) {
          bufferBytes[at] = TAG_NUMBER;
          bufferView.setFloat64(at + 1, value, true);
          at += 9;
        } else {
          bufferBytes[at++] = TAG_NULL;
        }
        break;
      case 'boolean':
        at = writeString(key, at);
        bufferBytes[at++] = value ? TAG_TRUE : TAG_FALSE;
        break;
      case 'undefined':
      case 'function':
      case 'symbol':
        break;
      default:
        if (value !== null) return -1;
        at = writeString(key, at);
        bufferBytes[at++] = TAG_NULL;
    }
  }
  return at;
}

function orNull(n: number): number | null {
  return n === NONE ? null : n;
}

function timeOf(options: EvaluateOptions | undefined): number {
  const now = options?.now;
  if (now === undefined) {
    return Date.now();
  }
  return typeof now === 'number' ? now : now.getTime();
}

const EMPTY: Context = Object.freeze({});

function checkContext(context: Context | undefined): Context {
  if (context === undefined || context === null) {
    return EMPTY;
  }
  if (typeof context !== 'object' || Array.isArray(context)) {
    throw new ContextError('the context must be an object of attributes');
  }
  return context;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) {
      deepFreeze(inner);
    }
    Object.freeze(value);
  }
  return value;
}

interface Variant {
  name: string;
  value: JsonValue;
}

interface FlagInfo {
  key: string;
  variants: Variant[] | null;
  prerequisites: string[];
}

/**
 * The OpenFeature reason (`DISABLED`, `TARGETING_MATCH`, `SPLIT`, `DEFAULT`,
 * `ERROR`, `UNKNOWN`) of a decision's reason, as the OFREP service
 * (`killswitch serve`) and the OpenFeature provider give it.
 */
export function openFeatureReason(reason: ReasonName): string {
  const i = reasonNames.indexOf(reason);
  return i < 0 ? 'UNKNOWN' : (openFeatureReasons[i] as string);
}

/**
 * The rollout bucket (0-99) of a user for a flag: the first four bytes of
 * `SHA-256(userId ++ flagKey)`, big-endian, modulo 100.
 */
export function bucket(userId: string, flagKey: string): number {
  return wasm.bucket(userId, flagKey);
}

/**
 * An immutable set of compiled flags: build it once (`FlagSet.load`,
 * `FlagSet.fromText`), evaluate it many times.
 */
export class FlagSet {
  readonly #engine: WasmEngine;
  readonly #flags: FlagInfo[];
  readonly #index: Map<string, number>;
  readonly #readsClock: boolean;

  private constructor(engine: WasmEngine) {
    this.#readsClock = engine.reads_clock();
    this.#engine = engine;
    this.#flags = deepFreeze(JSON.parse(engine.describe()) as FlagInfo[]);
    this.#index = new Map(this.#flags.map((flag, i) => [flag.key, i]));
  }

  /**
   * Compiles config text (JSON unless `options.format` says otherwise).
   * Throws a `ConfigError` with every problem and its line and column.
   */
  static fromText(text: string, options?: TextOptions): FlagSet {
    return FlagSet.#compile(text, options?.format ?? 'json', null);
  }

  /**
   * Reads and compiles a config file, in the format its extension names
   * (`.yaml`/`.yml`, `.toml`, else JSON). Node only.
   */
  static load(path: string): FlagSet {
    return FlagSet.fromFileText(FlagSet.readText(path), path);
  }

  /** @internal Reads a config file's text as `load` does; a file that cannot be read is a `ConfigError`. */
  static readText(path: string): string {
    try {
      return readFile(path, wasm.max_config_bytes());
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      const message = `cannot read \`${path}\`: ${reason}`;
      const diagnostic: Diagnostic = {
        severity: 'error', code: 'io', kind: 'cannot read the file', message, help: null, path: '',
        flag: null, line: null, column: null, endLine: null, endColumn: null, rendered: `error: ${message}`,
      };
      throw new ConfigError(`error: ${message}\n\n1 error`, [diagnostic], path);
    }
  }

  /** @internal Compiles the text of the file at `path`, in the format its extension names. */
  static fromFileText(text: string, path: string): FlagSet {
    return FlagSet.#compile(text, wasm.format_of(path) as Format, path);
  }

  static #compile(text: string, format: Format, file: string | null): FlagSet {
    let engine: WasmEngine;
    try {
      engine = wasm.Engine.compile(text, format, file);
    } catch (e) {
      if (typeof e !== 'string') {
        throw e;
      }
      const report = JSON.parse(e) as { message: string; diagnostics: Diagnostic[] };
      throw new ConfigError(report.message, report.diagnostics, file);
    }
    return new FlagSet(engine);
  }

  /** The flags' keys, in file order. */
  get keys(): string[] {
    return this.#flags.map((flag) => flag.key);
  }

  /** How many flags the set has. */
  get size(): number {
    return this.#flags.length;
  }

  /** Whether a flag has this key. */
  has(key: string): boolean {
    return this.#index.has(key);
  }

  /**
   * Evaluates the flag with this key for a context; an unknown key is off
   * with reason `unknown_flag`. Never throws for a flag; throws a
   * `ContextError` for a context that is not an object.
   */
  evaluate(key: string, context?: Context, options?: EvaluateOptions): Decision {
    const index = this.#index.get(key) ?? -1;
    this.#run(index, checkContext(context), false, this.#readsClock ? timeOf(options) : 0);
    return this.#read(index);
  }

  /** Evaluates every flag for one context, in file order (one context parse, one clock reading). */
  evaluateAll(context?: Context, options?: EvaluateOptions): Evaluation[] {
    return this.#evaluateAll(JSON.stringify(checkContext(context)), false, timeOf(options));
  }

  /**
   * @internal Evaluation for the OpenFeature provider: the context read as
   * the OFREP service reads it (`targetingKey` is the user id; differing
   * `targetingKey` and `user_id` are a `ContextError`).
   */
  evaluateOpenFeature(key: string, context: object, nowMs: number): Decision {
    const index = this.#index.get(key) ?? -1;
    this.#run(index, context as Context, true, nowMs);
    return this.#read(index);
  }

  /** Frees the WebAssembly memory now (it is freed when collected otherwise). */
  free(): void {
    this.#engine.free();
  }

  #run(index: number, context: Context, openfeature: boolean, nowMs: number): void {
    const at = index < 0 ? NONE : index;
    const len = encodeContext(context);
    try {
      if (len >= 0) {
        this.#engine.evaluate_encoded(at, len, openfeature, nowMs);
      } else {
        this.#engine.evaluate(at, JSON.stringify(context), openfeature, nowMs);
      }
    } catch (e) {
      throw contextError(e);
    }
  }

  #evaluateAll(context: string, openfeature: boolean, nowMs: number): Evaluation[] {
    try {
      this.#engine.set_context(context, openfeature);
    } catch (e) {
      throw contextError(e);
    }
    const out: Evaluation[] = [];
    for (let i = 0; i < this.#flags.length; i++) {
      this.#engine.evaluate_index(i, nowMs);
      out.push({ key: (this.#flags[i] as FlagInfo).key, ...this.#read(i) });
    }
    return out;
  }

  #read(index: number): Decision {
    const s = decisionSlots();
    const head = s[0] as number;
    const enabled = (head & 1) === 1;
    const reason = reasonNames[head >>> 1] ?? 'unknown';
    const flag = this.#flags[index];
    const at = orNull(s[1] as number);
    let variant: string | null = null;
    let value: JsonValue = null;
    if (flag !== undefined) {
      const served = flag.variants?.[s[5] as number];
      if (served !== undefined) {
        variant = served.name;
        value = served.value;
      } else {
        variant = enabled ? 'on' : 'off';
        value = enabled;
      }
    }
    return {
      enabled,
      reason,
      rule: reason === 'allow_rule' || reason === 'deny_rule' ? at : null,
      prerequisite: reason === 'prerequisite_off' && at !== null ? (flag?.prerequisites[at] ?? null) : null,
      bucket: orNull(s[2] as number),
      percentage: orNull(s[3] as number),
      scheduleStep: orNull(s[4] as number),
      variant,
      value,
      splitBucket: orNull(s[6] as number),
    };
  }
}

function contextError(e: unknown): unknown {
  if (typeof e !== 'string') {
    return e;
  }
  const { message } = JSON.parse(e) as { message: string };
  return new ContextError(message);
}
