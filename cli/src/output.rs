//! What the subcommands share: exit codes, the printed form of a
//! decision, and argument helpers.

use killswitch::{Decision, Flag};
use serde::Serialize;
use std::time::SystemTime;

/// Exit codes.
pub(crate) const INVALID: u8 = 1;
pub(crate) const USAGE: u8 = 2;

pub(crate) fn parse_now(text: &str) -> Result<SystemTime, String> {
    killswitch::parse_time(text).ok_or_else(|| {
        format!(
            "`{text}` is not an RFC 3339 date-time with a time zone, such as 2026-12-02T09:00:00Z"
        )
    })
}

/// A decision as the command prints it: `rule` when a rule decided,
/// `bucket` whenever bucketing ran.
#[derive(Serialize)]
pub(crate) struct DecisionFields {
    enabled: bool,
    reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prerequisite: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bucket: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    percentage: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    schedule_step: Option<usize>,
}

impl DecisionFields {
    /// The fields of a decision of `flag` (which names a prerequisite).
    pub(crate) fn new(d: Decision, flag: Option<&Flag>) -> Self {
        let prerequisite = d
            .reason
            .prerequisite()
            .and_then(|i| flag?.prerequisites().get(i))
            .map(|p| p.key().to_string());
        DecisionFields {
            enabled: d.enabled,
            reason: d.reason.as_str(),
            rule: d.reason.rule(),
            prerequisite,
            bucket: d.bucket,
            percentage: d.percentage,
            schedule_step: d.schedule_step,
        }
    }
}

/// Inline text, or the contents of the file after `@`.
pub(crate) fn read_arg(arg: &str) -> Result<String, String> {
    match arg.strip_prefix('@') {
        Some(path) => {
            std::fs::read_to_string(path).map_err(|e| format!("cannot read `{path}`: {e}"))
        }
        None => Ok(arg.to_string()),
    }
}

/// The known key most like `key`, for a hint.
pub(crate) fn closest_key<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let lower = key.to_lowercase();
    known
        .iter()
        .copied()
        .find(|k| k.to_lowercase() == lower || k.replace('-', "_") == key.replace('-', "_"))
        .or_else(|| {
            known
                .iter()
                .copied()
                .find(|k| k.contains(key) || key.contains(*k))
        })
}
