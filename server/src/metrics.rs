//! Counters and a latency histogram, written out in Prometheus' text
//! format by `GET /metrics`.
//!
//! Counting is a relaxed atomic add; the only lock is a read lock on the
//! table of per-flag counters (a write lock the first time a flag is
//! seen). Unknown flags are counted together, never by name, so that
//! clients cannot grow the table.

use killswitch::store::{Store, StoreEvent};
use killswitch::Reason;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, UNIX_EPOCH};

/// Our reason names, in the order of the per-flag counters.
const REASONS: [&str; 9] = [
    "kill_switch",
    "disabled",
    "allow_rule",
    "deny_rule",
    "in_rollout",
    "out_of_rollout",
    "missing_user_id",
    "no_rollout",
    "prerequisite_off",
];

fn reason_index(reason: Reason) -> usize {
    match reason {
        Reason::KillSwitch => 0,
        Reason::Disabled => 1,
        Reason::AllowRule(_) => 2,
        Reason::DenyRule(_) => 3,
        Reason::InRollout => 4,
        Reason::OutOfRollout => 5,
        Reason::MissingUserId => 6,
        Reason::NoRollout => 7,
        // `PrerequisiteOff`, and any reason added later.
        _ => 8,
    }
}

/// The upper bounds of the latency histogram's buckets, in seconds.
const LATENCY_BOUNDS: [f64; 15] = [
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
    0.05, 0.1, 0.25, 1.0,
];

/// What a request was for, as the latency histogram labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `POST /ofrep/v1/evaluate/flags/{key}`.
    Single,
    /// `POST /ofrep/v1/evaluate/flags`.
    Bulk,
}

/// The errors counted by code.
const ERROR_CODES: [&str; 5] = [
    "PARSE_ERROR",
    "INVALID_CONTEXT",
    "FLAG_NOT_FOUND",
    "GENERAL",
    "UNAUTHORIZED",
];

#[derive(Default)]
struct Histogram {
    /// Not cumulative; the last one counts what is above every bound.
    buckets: [AtomicU64; LATENCY_BOUNDS.len() + 1],
    sum_nanos: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn record(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let i = LATENCY_BOUNDS
            .iter()
            .position(|&bound| seconds <= bound)
            .unwrap_or(LATENCY_BOUNDS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, endpoint: &str) {
        let mut cumulative = 0;
        for (i, bound) in LATENCY_BOUNDS.iter().enumerate() {
            cumulative += self.buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "killswitch_request_duration_seconds_bucket{{endpoint=\"{endpoint}\",le=\"{bound}\"}} {cumulative}"
            );
        }
        cumulative += self.buckets[LATENCY_BOUNDS.len()].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "killswitch_request_duration_seconds_bucket{{endpoint=\"{endpoint}\",le=\"+Inf\"}} {cumulative}"
        );
        let sum = Duration::from_nanos(self.sum_nanos.load(Ordering::Relaxed)).as_secs_f64();
        let _ = writeln!(
            out,
            "killswitch_request_duration_seconds_sum{{endpoint=\"{endpoint}\"}} {sum}"
        );
        let _ = writeln!(
            out,
            "killswitch_request_duration_seconds_count{{endpoint=\"{endpoint}\"}} {}",
            self.count.load(Ordering::Relaxed)
        );
    }
}

type ReasonCounters = [AtomicU64; REASONS.len()];

#[derive(Default)]
struct Inner {
    evaluations: RwLock<HashMap<Box<str>, Arc<ReasonCounters>>>,
    errors: [AtomicU64; ERROR_CODES.len()],
    reloads: AtomicU64,
    rejected: AtomicU64,
    single: Histogram,
    bulk: Histogram,
}

/// The service's metrics: evaluations by flag and reason, errors by code,
/// request latency, reloads and rejected reloads.
///
/// Cheap to clone (one `Arc`). Give a clone to the store's event
/// listener ([`Metrics::observe`]) and one to the [`Server`](crate::Server).
///
/// ```
/// use killswitch_server::Metrics;
/// use killswitch::store::Store;
/// use killswitch::FlagSet;
///
/// let metrics = Metrics::new();
/// let store = Store::new(FlagSet::from_json(r#"{"flag_key": "a", "enabled": true}"#)?);
/// let text = metrics.render(&store);
/// assert!(text.contains("killswitch_config_version 1\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Empty metrics.
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Counts a store event: an accepted or a rejected reload. Call it
    /// from the store's listener ([`StoreBuilder::on_event`](killswitch::store::StoreBuilder::on_event)).
    pub fn observe(&self, event: &StoreEvent) {
        match event {
            StoreEvent::Reloaded { .. } => self.inner.reloads.fetch_add(1, Ordering::Relaxed),
            StoreEvent::Rejected { .. } => self.inner.rejected.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
    }

    /// Counts an evaluation of a known flag.
    pub(crate) fn evaluation(&self, key: &str, reason: Reason) {
        let i = reason_index(reason);
        {
            let table = self
                .inner
                .evaluations
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(counters) = table.get(key) {
                counters[i].fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        let mut table = self
            .inner
            .evaluations
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let counters = table.entry(key.into()).or_default();
        counters[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an error answer by its code (`UNAUTHORIZED` for a 401).
    pub(crate) fn error(&self, code: &str) {
        if let Some(i) = ERROR_CODES.iter().position(|c| *c == code) {
            self.inner.errors[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records how long an OFREP request took.
    pub(crate) fn latency(&self, endpoint: Endpoint, elapsed: Duration) {
        match endpoint {
            Endpoint::Single => self.inner.single.record(elapsed),
            Endpoint::Bulk => self.inner.bulk.record(elapsed),
        }
    }

    /// The metrics in Prometheus' text exposition format (version 0.0.4),
    /// with the version `store` serves and when it was loaded.
    pub fn render(&self, store: &Store) -> String {
        let mut out = String::with_capacity(4096);
        let status = store.status();
        out.push_str(
            "# HELP killswitch_config_version The config version serving (0: none loaded yet).\n\
             # TYPE killswitch_config_version gauge\n",
        );
        let _ = writeln!(out, "killswitch_config_version {}", status.version);
        let loaded = status
            .loaded_at
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        out.push_str(
            "# HELP killswitch_config_loaded_timestamp_seconds When the version serving was loaded.\n\
             # TYPE killswitch_config_loaded_timestamp_seconds gauge\n",
        );
        let _ = writeln!(out, "killswitch_config_loaded_timestamp_seconds {loaded}");
        out.push_str(
            "# HELP killswitch_config_flags How many flags the version serving has.\n\
             # TYPE killswitch_config_flags gauge\n",
        );
        let _ = writeln!(out, "killswitch_config_flags {}", status.flags);
        out.push_str(
            "# HELP killswitch_config_error Whether the latest change of the config was rejected (the previous version keeps serving).\n\
             # TYPE killswitch_config_error gauge\n",
        );
        let _ = writeln!(
            out,
            "killswitch_config_error {}",
            u8::from(status.last_error.is_some())
        );
        out.push_str(
            "# HELP killswitch_source_degraded Whether the source cannot be read (the last good version keeps serving).\n\
             # TYPE killswitch_source_degraded gauge\n",
        );
        let _ = writeln!(
            out,
            "killswitch_source_degraded {}",
            u8::from(status.degraded.is_some())
        );
        if let Some(v) = &status.source_version {
            out.push_str(
                "# HELP killswitch_source_version The source's own number of the version serving (a database's version).\n\
                 # TYPE killswitch_source_version gauge\n",
            );
            let _ = writeln!(out, "killswitch_source_version {}", v.number);
        }
        out.push_str(
            "# HELP killswitch_reloads_total Accepted config reloads since start.\n\
             # TYPE killswitch_reloads_total counter\n",
        );
        let _ = writeln!(
            out,
            "killswitch_reloads_total {}",
            self.inner.reloads.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP killswitch_rejected_reloads_total Rejected config reloads since start.\n\
             # TYPE killswitch_rejected_reloads_total counter\n",
        );
        let _ = writeln!(
            out,
            "killswitch_rejected_reloads_total {}",
            self.inner.rejected.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP killswitch_evaluations_total Flag evaluations by flag and reason.\n\
             # TYPE killswitch_evaluations_total counter\n",
        );
        {
            let table = self
                .inner
                .evaluations
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            let mut keys: Vec<&Box<str>> = table.keys().collect();
            keys.sort();
            for key in keys {
                let Some(counters) = table.get(key) else {
                    continue;
                };
                for (reason, counter) in REASONS.iter().zip(counters.iter()) {
                    let n = counter.load(Ordering::Relaxed);
                    if n > 0 {
                        let _ = writeln!(
                            out,
                            "killswitch_evaluations_total{{flag=\"{}\",reason=\"{reason}\"}} {n}",
                            escape_label(key)
                        );
                    }
                }
            }
        }
        out.push_str(
            "# HELP killswitch_errors_total OFREP error answers by error code.\n\
             # TYPE killswitch_errors_total counter\n",
        );
        for (code, counter) in ERROR_CODES.iter().zip(self.inner.errors.iter()) {
            let _ = writeln!(
                out,
                "killswitch_errors_total{{code=\"{code}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        out.push_str(
            "# HELP killswitch_request_duration_seconds Time to answer an OFREP request, from its head read to its answer built.\n\
             # TYPE killswitch_request_duration_seconds histogram\n",
        );
        self.inner.single.render(&mut out, "single");
        self.inner.bulk.render(&mut out, "bulk");
        out
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape_label(value: &str) -> Cow<'_, str> {
    if !value.contains(['\\', '"', '\n']) {
        return Cow::Borrowed(value);
    }
    Cow::Owned(
        value
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use killswitch::FlagSet;

    #[test]
    fn counts_render_as_prometheus_text() {
        let metrics = Metrics::new();
        metrics.evaluation("a", Reason::KillSwitch);
        metrics.evaluation("a", Reason::KillSwitch);
        metrics.evaluation("b\"", Reason::InRollout);
        metrics.error("FLAG_NOT_FOUND");
        metrics.latency(Endpoint::Single, Duration::from_micros(300));
        metrics.latency(Endpoint::Single, Duration::from_secs(3));
        let store =
            Store::new(FlagSet::from_json(r#"{"flag_key": "a", "enabled": true}"#).unwrap());
        let text = metrics.render(&store);
        assert!(
            text.contains("killswitch_evaluations_total{flag=\"a\",reason=\"kill_switch\"} 2\n")
        );
        assert!(
            text.contains("killswitch_evaluations_total{flag=\"b\\\"\",reason=\"in_rollout\"} 1\n")
        );
        assert!(text.contains("killswitch_errors_total{code=\"FLAG_NOT_FOUND\"} 1\n"));
        assert!(text.contains(
            "killswitch_request_duration_seconds_bucket{endpoint=\"single\",le=\"0.00025\"} 0\n"
        ));
        assert!(text.contains(
            "killswitch_request_duration_seconds_bucket{endpoint=\"single\",le=\"0.0005\"} 1\n"
        ));
        assert!(text.contains(
            "killswitch_request_duration_seconds_bucket{endpoint=\"single\",le=\"+Inf\"} 2\n"
        ));
        assert!(text.contains("killswitch_request_duration_seconds_count{endpoint=\"single\"} 2\n"));
        assert!(text.contains("killswitch_config_version 1\n"));
    }
}
