// The public API both entries (Node: index.ts, browsers: browser.ts)
// export; core.ts also holds what only the entries use (`bind`).
export {
  bucket,
  ConfigError,
  ContextError,
  FlagSet,
  openFeatureReason,
  type Context,
  type Decision,
  type Diagnostic,
  type EvaluateOptions,
  type Evaluation,
  type Format,
  type JsonValue,
  type ReasonName,
  type TextOptions,
} from './core.js';
