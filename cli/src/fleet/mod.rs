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
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let days = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_rfc3339() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        assert_eq!(rfc3339(t), "2026-11-18T11:06:40Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00Z");
    }
}
