//! Feature flags with kill switches and progressive rollout, driven by a
//! small targeting language.
//!
//! A flag is evaluated in a fixed order: kill switch (off, beats
//! everything) -> not enabled (off) -> any allow rule matches (on) -> any
//! deny rule matches (off) -> rollout bucket (`bucket < rollout_percentage`)
//! -> off. Buckets are deterministic: the first four bytes of
//! `SHA-256(user_id ++ flag_key)`, big-endian, modulo 100.
//!
//! Rules are compiled once (names resolved, literals typed and folded,
//! regexes built) and evaluated many times without allocating.
//!
//! A config (JSON, YAML or TOML: [`Format`]) may also declare named
//! segments used from any rule as `@name`, make a flag require other flags
//! (`requires`, checked right after `enabled`), and move the rollout
//! percentage over time with a `rollout_schedule` of steps and ramps, read
//! against the system clock or a time you give ([`Flag::evaluate_at`]).
//!
//! ```
//! use killswitch::{Context, FlagSet, Reason};
//!
//! let flags = FlagSet::from_json(r#"[{
//!     "flag_key": "new_search_ui",
//!     "enabled": true,
//!     "kill_switch": false,
//!     "rollout_percentage": 20,
//!     "targeting_rules": {
//!         "allow_list": ["email endsWith \"@internal.com\" and not segment == \"legacy\""],
//!         "deny_list": []
//!     }
//! }]"#)?;
//!
//! // Per request: build a context (no allocation for up to 8 attributes)...
//! let ctx = Context::new()
//!     .with("user_id", "user_123")
//!     .with("email", "ana@internal.com")
//!     .with("segment", "beta");
//! // ...and evaluate.
//! let decision = flags.evaluate("new_search_ui", &ctx);
//! assert!(decision.enabled);
//! assert_eq!(decision.reason, Reason::AllowRule(0));
//!
//! // Bad rules fail at load time, with every problem and its place.
//! let err = FlagSet::from_json(r#"{"flag_key": "x", "enabled": true,
//!     "targeting_rules": {"allow_list": ["email endswith \"@internal.com\""]}}"#)
//!     .unwrap_err();
//! assert!(err.to_string().contains("did you mean `endsWith`?"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

mod bucket;
mod compile;
mod config;
mod datetime;
mod diagnostic;
mod error;
mod explain;
mod flag;
mod lint;
mod plan;
mod schedule;
mod schema;
mod semver;
mod store;
mod structured;
mod suggest;
mod syntax;
mod value;

pub use bucket::bucket;
pub use config::Format;
pub use diagnostic::{CheckReport, ConfigError, Diagnostic, Severity};
pub use error::{Error, ErrorKind, Span};
pub use explain::{ExplainStep, Explanation, Trace};
pub use flag::{Decision, Flag, FlagSet, Reason, Rule};
pub use schema::Schema;
pub use value::{Context, Number, Value};

/// Parses an RFC 3339 date-time with a time zone
/// (`2026-12-01T09:00:00Z`, `2026-12-01T10:00:00+01:00`), as rollout
/// schedules write them: the time to give [`Flag::evaluate_at`].
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let t = killswitch::parse_time("1970-01-01T01:00:01+01:00").unwrap();
/// assert_eq!(t, UNIX_EPOCH + Duration::from_secs(1));
/// assert!(killswitch::parse_time("2026-12-01T09:00:00").is_none()); // no time zone
/// ```
pub fn parse_time(text: &str) -> Option<std::time::SystemTime> {
    let nanos = datetime::parse_rfc3339(text)?;
    let magnitude = std::time::Duration::from_nanos(u64::try_from(nanos.unsigned_abs()).ok()?);
    if nanos >= 0 {
        std::time::UNIX_EPOCH.checked_add(magnitude)
    } else {
        std::time::UNIX_EPOCH.checked_sub(magnitude)
    }
}

/// The live store: the current [`FlagSet`] behind an atomic swap, reloaded
/// from a file (OS notifications plus polling) or any [`Source`] while the
/// service runs; a bad config is rejected and the last good one keeps
/// serving. See `examples/store.rs`.
pub use store::{
    Fetched, FileSource, IfMissing, LoadError, Reload, Snapshot, Source, SourceError, Status,
    Store, StoreBuilder, StoreEvent, StoreReader,
};

/// The syntax tree of the targeting language, for tools that inspect or
/// generate rules.
pub mod ast {
    pub use crate::syntax::ast::*;

    /// Parses rule text into a syntax tree with the default
    /// [`Limits`](crate::Limits), without compiling it.
    ///
    /// ```
    /// use killswitch::ast::{parse, ExprKind};
    /// let expr = parse("not (a == 1 or b)")?;
    /// assert!(matches!(expr.kind, ExprKind::Not(_)));
    /// // Printing gives canonical text, which parses to the same tree.
    /// assert_eq!(expr.to_string(), "not (a == 1 or b)");
    /// # Ok::<(), killswitch::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<Expr, crate::Error> {
        crate::syntax::parse(text, &crate::Limits::default())
    }

    /// Parses rule text within `limits`.
    pub fn parse_with(text: &str, limits: &crate::Limits) -> Result<Expr, crate::Error> {
        crate::syntax::parse(text, limits)
    }
}

/// Bounds on rule input, so that hostile rules fail fast with a clear
/// error instead of exhausting time or stack.
///
/// ```
/// use killswitch::{ErrorKind, Limits, Rule};
/// let mut limits = Limits::default();
/// limits.max_nesting_depth = 2;
/// let err = Rule::parse_with("((a == 1) or (b and (c)))", &limits).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::TooDeep);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The longest rule text accepted, in bytes (default 256 KiB). A rule
    /// in the structured form is held to the same bound through its
    /// canonical text (as [`Rule::source`] prints it).
    pub max_rule_len: usize,
    /// How deeply parentheses and brackets may nest (default 32).
    pub max_nesting_depth: usize,
    /// The largest compiled size of one `matches` regex, in bytes
    /// (default 1 MiB).
    pub max_regex_size: usize,
    /// The largest compiled size of all the `matches` regexes of one
    /// config file (or one rule compiled alone) together, in bytes
    /// (default 16 MiB). Exceeding it is a load error at the first pattern
    /// past the budget.
    pub max_total_regex_size: usize,
    /// The longest string, in bytes, a `matches` regex is run against
    /// (default 4 KiB). A longer attribute value does not match (the test
    /// is false, so `not (x matches "...")` is true), which bounds the cost
    /// of one evaluation whatever the context holds.
    pub max_regex_input_len: usize,
    /// The most tests one evaluation of a flag may run, all its rules
    /// counted in full with the segments they use, and its prerequisites'
    /// tests with them (default 100,000). Exceeding it is a load error at
    /// the rule (or the `requires` entry) that goes past it.
    pub max_tests_per_flag: usize,
    /// The most tests the rules of all the flags of one config file may
    /// run together, each flag's own rules counted once (default
    /// 1,000,000): segments used by many flags count once per use.
    /// Exceeding it is a load error at the rule that goes past it.
    pub max_tests_per_file: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_rule_len: 256 * 1024,
            max_nesting_depth: 32,
            max_regex_size: 1024 * 1024,
            max_total_regex_size: 16 * 1024 * 1024,
            max_regex_input_len: 4 * 1024,
            max_tests_per_flag: 100_000,
            max_tests_per_file: 1_000_000,
        }
    }
}

/// The README's Rust examples, run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
