//! killswitch for a fleet: a PostgreSQL database as the one source of
//! truth that every `killswitch serve` replica and every embedded store
//! follows.
//!
//! - [`Registry`] writes config versions: every write (publish, kill,
//!   unkill, rollout, rollback) is validated as `killswitch check`
//!   validates, attributed (author, message, time), and a new immutable
//!   version with the next number; writes are serialised so that racing
//!   publishers get a total order, and may be compare-and-set.
//! - [`PostgresSource`] is a [`Source`](killswitch::store::Source) for
//!   the live store: it serves the newest version, is woken by
//!   `LISTEN`/`NOTIFY` and polled as a safety net, and keeps the last
//!   good version serving (reporting itself degraded) while the database
//!   is away.
//! - [`HttpSource`] follows a config behind an `https://` URL (an object
//!   store, a CDN, a git host) with conditional requests.
//! - [`Database`] reads a connection URL and the `PG*` environment
//!   variables, and keeps the password out of every message.
//!
//! The table (`killswitch_versions`) is created and migrated by the tool
//! itself; its rows are never updated or deleted (triggers refuse it).

#![forbid(unsafe_code)]

mod backoff;
mod changes;
mod database;
mod error;
mod http;
mod registry;
mod schema;
mod source;

pub use database::Database;
pub use error::{FleetError, FleetErrorKind};
pub use http::{HttpSource, DEFAULT_HTTP_TIMEOUT};
pub use registry::{HistoryEntry, Registry, Version, Written};
pub use source::PostgresSource;

/// `url` with its password (in the user part, or a `password=`
/// parameter) replaced by `***`: fit for messages and logs.
///
/// ```
/// assert_eq!(
///     killswitch_fleet::redact_url("https://bot:hunter2@git.example.com/flags.yaml"),
///     "https://bot:***@git.example.com/flags.yaml"
/// );
/// ```
pub fn redact_url(url: &str) -> String {
    database::redact(url)
}
