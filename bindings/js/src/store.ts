// Flags that follow a config file (Node only), as the Rust store and the
// Python binding's `Store` do: OS notifications on the file's directory,
// plus a poll of its size, modification time and inode; every good write is
// served from the next evaluation, and a bad one (invalid, half written,
// deleted) is rejected whole while the last good version keeps serving.
import { statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import {
  ConfigError,
  FlagSet,
  type Context,
  type Decision,
  type EvaluateOptions,
  type Evaluation,
} from './core.js';

/** Options of `Store.watch`. */
export interface StoreOptions {
  /** How often the file is checked besides OS notifications, in milliseconds (default 2000). */
  pollInterval?: number;
  /** Start with no flags (every key unknown, so off) when the file cannot be read yet, instead of throwing. */
  allowMissing?: boolean;
}

/** A store's health, as `killswitch watch` and the service report it. */
export interface StoreStatus {
  /** The version serving: 1 for the first config loaded, one more per accepted change; 0 before any. */
  version: number;
  /** How many flags the serving version has. */
  flags: number;
  /** When the serving version was loaded. */
  loadedAt: Date | null;
  /** The last rejected change, rendered as `killswitch check` renders it; `null` once a good one is read. */
  lastError: string | null;
  /** When it was rejected. */
  lastErrorAt: Date | null;
  /** Whether OS notifications are on (polling goes on either way until `close`). */
  watching: boolean;
  /** The file followed. */
  source: string;
}

/** How long a burst of notifications must go quiet before the file is read. */
const QUIET_MS = 10;

const EMPTY = '[]';

/**
 * Flags that follow a config file: `Store.watch(path)`, then `evaluate`
 * and `evaluateAll` as on a `FlagSet`, always on the last good version.
 *
 * Write a new config beside the old one and rename it over it, so that a
 * reader never sees half of it (a half-written file is rejected and the
 * next complete write is served).
 */
export class Store {
  readonly #path: string;
  #flags: FlagSet;
  #text: string | null;
  #version: number;
  #loadedAt: Date | null;
  #lastError: string | null = null;
  #lastErrorAt: Date | null = null;
  #stamp: string | null;
  #watcher: FSWatcher | null = null;
  #poll: ReturnType<typeof setInterval> | null = null;
  #quiet: ReturnType<typeof setTimeout> | null = null;
  readonly #listeners = new Set<(version: number) => void>();

  private constructor(path: string, flags: FlagSet, text: string | null, stamp: string | null) {
    this.#path = path;
    this.#flags = flags;
    this.#text = text;
    this.#version = text === null ? 0 : 1;
    this.#loadedAt = text === null ? null : new Date();
    this.#stamp = stamp;
  }

  /**
   * Loads the config file at `path` and follows it. Throws the
   * `ConfigError` of a bad config, or of a file that cannot be read unless
   * `allowMissing` is set.
   */
  static watch(path: string, options?: StoreOptions): Store {
    const file = resolve(path);
    // Stamped before it is read: a write in between is seen by the poll.
    const stamp = stampOf(file);
    let store: Store;
    try {
      const text = FlagSet.readText(file);
      store = new Store(file, FlagSet.fromFileText(text, file), text, stamp);
    } catch (e) {
      const unreadable = e instanceof ConfigError && e.diagnostics[0]?.code === 'io';
      if (!(options?.allowMissing && unreadable)) {
        throw e;
      }
      store = new Store(file, FlagSet.fromText(EMPTY), null, stamp);
      store.#rejected(e as ConfigError);
    }
    store.#follow(options?.pollInterval ?? 2000);
    return store;
  }

  /** The serving version's flags (a later change does not alter this set). */
  get flags(): FlagSet {
    return this.#flags;
  }

  /** The version serving (see `StoreStatus.version`). */
  get version(): number {
    return this.#version;
  }

  /** The store's health. */
  get status(): StoreStatus {
    return {
      version: this.#version,
      flags: this.#flags.size,
      loadedAt: this.#loadedAt,
      lastError: this.#lastError,
      lastErrorAt: this.#lastErrorAt,
      watching: this.#watcher !== null,
      source: this.#path,
    };
  }

  /** `FlagSet.evaluate` on the serving version. */
  evaluate(key: string, context?: Context, options?: EvaluateOptions): Decision {
    return this.#flags.evaluate(key, context, options);
  }

  /** `FlagSet.evaluateAll` on the serving version. */
  evaluateAll(context?: Context, options?: EvaluateOptions): Evaluation[] {
    return this.#flags.evaluateAll(context, options);
  }

  /** Whether the serving version has a flag with this key. */
  has(key: string): boolean {
    return this.#flags.has(key);
  }

  /**
   * Reads the file now and serves it if it changed; returns the version
   * serving. A bad config throws its `ConfigError` (and is recorded in
   * `status`); the last good version keeps serving.
   */
  reload(): number {
    let text: string;
    try {
      text = FlagSet.readText(this.#path);
      if (text !== this.#text) {
        const flags = FlagSet.fromFileText(text, this.#path);
        this.#flags = flags;
        this.#text = text;
        this.#version += 1;
        this.#loadedAt = new Date();
        this.#lastError = null;
        this.#lastErrorAt = null;
        for (const listener of this.#listeners) {
          try {
            listener(this.#version);
          } catch (e) {
            // A listener's bug neither undoes the change nor stops the others.
            console.error('killswitch: a Store.onChange listener threw:', e);
          }
        }
        return this.#version;
      }
    } catch (e) {
      if (e instanceof ConfigError) {
        this.#rejected(e);
      }
      throw e;
    }
    // Back to the text serving: nothing is wrong any more.
    this.#lastError = null;
    this.#lastErrorAt = null;
    return this.#version;
  }

  /**
   * Calls `listener` with the new version after each accepted change;
   * returns a function that stops it.
   */
  onChange(listener: (version: number) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Stops following the file; the last version keeps serving. */
  close(): void {
    this.#watcher?.close();
    this.#watcher = null;
    if (this.#poll !== null) clearInterval(this.#poll);
    if (this.#quiet !== null) clearTimeout(this.#quiet);
    this.#poll = null;
    this.#quiet = null;
  }

  #rejected(e: ConfigError): void {
    this.#lastError = e.message;
    this.#lastErrorAt = new Date();
  }

  #follow(pollInterval: number): void {
    const name = basename(this.#path);
    try {
      // The directory, not the file: a rename over the file replaces it.
      this.#watcher = watch(dirname(this.#path), { persistent: false }, (_event, changed) => {
        if (changed === null || changed === name) this.#soon();
      });
      this.#watcher.on('error', () => {
        // The directory went away: polling carries on alone.
        this.#watcher?.close();
        this.#watcher = null;
      });
    } catch {
      this.#watcher = null;
    }
    this.#poll = setInterval(() => {
      const stamp = stampOf(this.#path);
      if (stamp !== this.#stamp) {
        this.#stamp = stamp;
        this.#check();
      }
    }, Math.max(1, pollInterval));
    this.#poll.unref();
  }

  /** Reads the file once notifications have been quiet for a moment. */
  #soon(): void {
    if (this.#quiet !== null) clearTimeout(this.#quiet);
    this.#quiet = setTimeout(() => {
      this.#quiet = null;
      this.#stamp = stampOf(this.#path);
      this.#check();
    }, QUIET_MS);
    this.#quiet.unref();
  }

  #check(): void {
    try {
      this.reload();
    } catch {
      // Recorded in `status` by `reload`; the last good version serves.
    }
  }
}

/** What changes when a file is written or replaced; `null` when it cannot be read. */
function stampOf(path: string): string | null {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch {
    return null;
  }
}
