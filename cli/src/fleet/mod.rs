//! The fleet commands: `publish`, `kill`/`unkill`, `history`, `rollback`
//! and `pull` write and read the config versions of a PostgreSQL
//! database (`killswitch_fleet::Registry`); `serve --source` and `watch
//! --source` follow it (`follow_source`).

pub(crate) mod history;
pub(crate) mod kill;
pub(crate) mod publish;
pub(crate) mod pull;
pub(crate) mod rollback;

use crate::output::{INVALID, USAGE};
use killswitch::store::{IfMissing, Source, Store, StoreEvent};
use killswitch_fleet::{FleetError, FleetErrorKind, HttpSource, PostgresSource, Registry};
use std::time::Duration;

/// Whether a `--source` names a database (rather than a file).
pub(crate) fn is_postgres(spec: &str) -> bool {
    spec.starts_with("postgres://") || spec.starts_with("postgresql://")
}

/// Connects to the database of `--to`/`--from`, or says why not.
fn registry(url: &str) -> Result<Registry, u8> {
    if !is_postgres(url) {
        eprintln!("error: expected a postgres:// URL, not `{}`", redacted(url));
        return Err(USAGE);
    }
    Registry::connect(url).map_err(|e| fail(&e))
}

/// A URL fit for messages: no password.
pub(crate) fn redacted(url: &str) -> String {
    killswitch_fleet::redact_url(url)
}

/// Prints a fleet error and returns its exit code: 1 for an invalid
/// config or a compare-and-set conflict, 2 otherwise.
fn fail(e: &FleetError) -> u8 {
    match e.config_error() {
        Some(config) => {
            for d in config.diagnostics() {
                let mut out = String::new();
                let _ = d.render(Some("the new config"), &mut out);
                eprintln!("{out}\n");
            }
            eprintln!("error: {e}");
        }
        None => eprintln!("error: {e}"),
    }
    match e.kind() {
        FleetErrorKind::Invalid | FleetErrorKind::Conflict | FleetErrorKind::Edit => INVALID,
        _ => USAGE,
    }
}

/// The author of a write: `--author`, else the operating-system user.
fn author(given: Option<&str>) -> String {
    if let Some(name) = given {
        return name.to_string();
    }
    for var in ["USER", "LOGNAME", "USERNAME"] {
        if let Ok(name) = std::env::var(var) {
            if !name.is_empty() {
                return name;
            }
        }
    }
    std::process::Command::new("id")
        .arg("-un")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// Starts a store following a `--source`: the newest version of a
/// database (`postgres://`), or a config behind a URL (`https://`,
/// `http://`).
pub(crate) fn follow_source(
    url: &str,
    listen: bool,
    poll_ms: u64,
    allow_missing: bool,
    thread_name: &str,
    on_event: impl Fn(&StoreEvent) + Send + Sync + 'static,
) -> Result<Store, u8> {
    if is_postgres(url) {
        let source = PostgresSource::new(url)
            .map_err(|e| fail(&e))?
            .listen(listen);
        start(source, poll_ms, allow_missing, thread_name, on_event)
    } else if url.starts_with("https://") || url.starts_with("http://") {
        let source = HttpSource::new(url).map_err(|e| fail(&e))?;
        start(source, poll_ms, allow_missing, thread_name, on_event)
    } else {
        eprintln!(
            "error: unsupported source `{}`: expected postgres://..., https://... or http://... \
             (or a file, without --source)",
            redacted(url)
        );
        Err(USAGE)
    }
}

fn start(
    source: impl Source,
    poll_ms: u64,
    allow_missing: bool,
    thread_name: &str,
    on_event: impl Fn(&StoreEvent) + Send + Sync + 'static,
) -> Result<Store, u8> {
    let if_missing = if allow_missing {
        IfMissing::StartEmpty
    } else {
        IfMissing::Fail
    };
    Store::builder(source)
        .poll_interval(Duration::from_millis(poll_ms.max(1)))
        .if_missing(if_missing)
        .thread_name(thread_name)
        .on_event(on_event)
        .start()
        .map_err(|e| {
            eprintln!("{e}");
            if e.is_missing() {
                eprintln!("(no config there yet: publish one, or start with --allow-missing)");
            }
            if e.config_error().is_some() {
                INVALID
            } else {
                USAGE
            }
        })
}

/// A time as RFC 3339 in UTC, to the second.
pub(crate) use killswitch::format_time as rfc3339;
