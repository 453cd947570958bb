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
//! A flag may also serve [`Variant`]s (any JSON value): its `off_variant`
//! whenever it is off, and when on the variant an allow rule pins, its
//! `on_variant`, or the one a weighted `split` gives the user
//! ([`Decision::variant`], [`Flag::variant`]); the split bucket comes from
//! the same SHA-256 as the rollout bucket.
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

// The stages, lowest first: error, limits, suggest -> value -> document ->
// syntax -> plan -> eval -> config -> store. Each imports only from the
// stages before it (ARCHITECTURE.md; `scripts/layers.py` checks it).
// The parser pest_derive generates without pest's `std` feature names
// `::alloc` (src/syntax/mod.rs).
extern crate alloc;

mod config;
mod document;
mod error;
mod eval;
mod limits;
mod plan;
#[cfg(feature = "store")]
pub mod store;
mod suggest;
mod syntax;
mod value;

pub use config::diagnostic::{ConfigError, Diagnostic};
pub use config::report::CheckReport;
pub use config::schema::Schema;
pub use document::Format;
pub use error::{escape_for_terminal, Error, ErrorKind, Severity, Span};
pub use eval::bucket::{bucket, BucketMemo};
pub use eval::decision::{Decision, Reason};
pub use eval::explain::Explanation;
pub use eval::flag::Flag;
pub use eval::flag_set::FlagSet;
pub use eval::metadata::{FlagType, Metadata};
pub use eval::rule::Rule;
pub use eval::schedule::ScheduleEntry;
pub use eval::variant::Variant;
pub use limits::Limits;
pub use suggest::closest;
pub use value::{Context, Number, Value};

/// Changing one field of one flag in config text (JSON, YAML or TOML)
/// without touching the rest of it: the kill switch of a published
/// config, flipped in one command.
pub mod edit {
    pub use crate::config::edit::{set_kill_switch, set_rollout_percentage, EditError};
}

/// The parts of an [`Explanation`]: one step of the evaluation order, and
/// the trace of a rule's conditions.
pub mod explain {
    pub use crate::eval::explain::{ExplainStep, Explanation, Trace};
}

/// Parses an RFC 3339 date-time with a time zone
/// (`2026-12-01T09:00:00Z`, `2026-12-01T10:00:00+01:00`), as rollout
/// schedules write them: the time to give [`Flag::evaluate_at`].
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let t = killswitch::parse_time("1970-01-01T01:00:01+01:00").unwrap();
/// assert_eq!(t, UNIX_EPOCH + Duration::from_secs(1));
/// assert!(killswitch::parse_time("2026-12-01T09:00:00").is_none()); // no time zone
/// // Any year RFC 3339 can write.
/// assert!(killswitch::parse_time("9999-12-31T23:59:59.5Z").is_some());
/// # #[cfg(unix)]
/// assert!(killswitch::parse_time("0001-01-01T00:00:00Z").is_some());
/// ```
pub fn parse_time(text: &str) -> Option<std::time::SystemTime> {
    use std::time::{Duration, UNIX_EPOCH};
    const NANOS_PER_SEC: i128 = 1_000_000_000;
    // Whole seconds and the nanoseconds after them, so that every year
    // RFC 3339 can write (0000-9999) fits (nanoseconds alone in a `u64`
    // span only 1385-2554).
    let nanos = value::datetime::parse_rfc3339(text)?;
    let seconds = i64::try_from(nanos.div_euclid(NANOS_PER_SEC)).ok()?;
    let fraction = Duration::from_nanos(u64::try_from(nanos.rem_euclid(NANOS_PER_SEC)).ok()?);
    let whole = Duration::from_secs(seconds.unsigned_abs());
    if seconds >= 0 {
        UNIX_EPOCH.checked_add(whole)?.checked_add(fraction)
    } else {
        UNIX_EPOCH.checked_sub(whole)?.checked_add(fraction)
    }
}

/// Writes a time as RFC 3339 in UTC, to the second (`2026-12-01T09:00:00Z`):
/// what [`parse_time`] reads back, for showing schedule entries and
/// publication times. Times before 1970 are written too; the fraction of a
/// second is dropped (rounded towards the past).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let t = UNIX_EPOCH + Duration::from_millis(951_782_400_500);
/// assert_eq!(killswitch::format_time(t), "2000-02-29T00:00:00Z");
/// let text = killswitch::format_time(UNIX_EPOCH - Duration::from_secs(1));
/// assert_eq!(text, "1969-12-31T23:59:59Z");
/// assert_eq!(killswitch::parse_time(&text), Some(UNIX_EPOCH - Duration::from_secs(1)));
/// ```
pub fn format_time(t: std::time::SystemTime) -> String {
    use std::time::UNIX_EPOCH;
    let seconds = match t.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => {
            let d = before.duration();
            let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            // Towards the past: 0.5 s before the epoch is 1969-12-31T23:59:59Z.
            -whole - i64::from(d.subsec_nanos() > 0)
        }
    };
    value::datetime::format_rfc3339(seconds)
}

/// Reads the regular file at `path` whole, as UTF-8, refusing it when it
/// holds more than `max_bytes` bytes: the bounded read every config file
/// goes through, for a tool's other inputs (contexts, schemas, cases).
///
/// Only a regular file (after following symlinks) is read: a FIFO, a
/// device such as `/dev/zero`, a socket or a directory is refused with
/// [`std::io::ErrorKind::InvalidInput`] without blocking, even on `open`.
/// A file over the limit is refused with
/// [`std::io::ErrorKind::FileTooLarge`], and at most `max_bytes + 1` bytes
/// are ever read; text that is not UTF-8 with
/// [`std::io::ErrorKind::InvalidData`]. Errors do not repeat the path.
///
/// ```
/// let path = std::env::temp_dir().join(format!("killswitch-read-file-{}.json", std::process::id()));
/// std::fs::write(&path, r#"{"user_id": "u1"}"#)?;
/// assert_eq!(killswitch::read_file(&path, 1024)?, r#"{"user_id": "u1"}"#);
/// let too_large = killswitch::read_file(&path, 4).unwrap_err();
/// assert_eq!(too_large.kind(), std::io::ErrorKind::FileTooLarge);
/// let directory = killswitch::read_file(std::env::temp_dir(), 1024).unwrap_err();
/// assert_eq!(directory.kind(), std::io::ErrorKind::InvalidInput);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn read_file(path: impl AsRef<std::path::Path>, max_bytes: usize) -> std::io::Result<String> {
    document::input::read_file_within(path.as_ref(), max_bytes, "max_bytes")
}

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
        crate::syntax::parse(text, &crate::limits::Limits::default())
    }

    /// Parses rule text within `limits`.
    pub fn parse_with(text: &str, limits: &crate::limits::Limits) -> Result<Expr, crate::Error> {
        crate::syntax::parse(text, limits)
    }
}

/// The README's Rust examples, run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
