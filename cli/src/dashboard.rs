//! `killswitch serve --dashboard`: the dashboard's tokens, and its write
//! path over a PostgreSQL [`Registry`] (the versioned source of `serve
//! --source postgres://...`).

use killswitch_fleet::{FleetError, FleetErrorKind, Registry};
use killswitch_server::dashboard::{
    Change, Dashboard, VersionInfo, VersionText, Versions, WriteError,
};
use killswitch_server::Tokens;
use std::net::SocketAddr;

/// The dashboard's tokens, from their files or the environment (never
/// printed). Open reads are refused off loopback.
pub(crate) fn settings(
    listen: SocketAddr,
    read_file: Option<&str>,
    admin_file: Option<&str>,
) -> Result<Dashboard, String> {
    let read = tokens_from(read_file, "KILLSWITCH_DASHBOARD_TOKEN")?;
    let admin = tokens_from(admin_file, "KILLSWITCH_ADMIN_TOKEN")?;
    if read.is_none() && !listen.ip().is_loopback() {
        return Err(format!(
            "the dashboard on {listen} (not a loopback address) needs --dashboard-token-file \
             (or KILLSWITCH_DASHBOARD_TOKEN): its pages would be open to the network"
        ));
    }
    let mut dashboard = Dashboard::new();
    if let Some(read) = read {
        dashboard = dashboard.read_tokens(read);
    }
    if let Some(admin) = admin {
        dashboard = dashboard.admin_tokens(admin);
    }
    Ok(dashboard)
}

/// Tokens from a file (followed, as `--token-file` is: a token removed
/// from it is refused, and ends the sessions it opened), else from an
/// environment variable (one token).
fn tokens_from(file: Option<&str>, var: &str) -> Result<Option<Tokens>, String> {
    if let Some(path) = file {
        return Tokens::watch_file(path)
            .map(Some)
            .map_err(|e| format!("cannot read the token file `{path}`: {e}"));
    }
    match std::env::var(var) {
        Ok(token) if !token.trim().is_empty() => Ok(Some(Tokens::new([token.trim()]))),
        _ => Ok(None),
    }
}

/// The dashboard's actions as the fleet commands make them: each one a
/// new validated, attributed version in the database, compare-and-set
/// on the version the person saw.
pub(crate) struct RegistryVersions(pub(crate) Registry);

/// A fleet error as the dashboard reports it.
fn refusal(e: FleetError) -> WriteError {
    match e.kind() {
        FleetErrorKind::Conflict => {
            let (expected, current) = e.conflict_versions().unwrap_or_default();
            WriteError::Stale {
                expected,
                current: current.unwrap_or(0),
            }
        }
        FleetErrorKind::Invalid => WriteError::Invalid {
            diagnostics: e
                .config_error()
                .map_or_else(|| e.to_string(), ToString::to_string),
        },
        FleetErrorKind::Edit => WriteError::Invalid {
            diagnostics: e.to_string(),
        },
        _ => WriteError::Unavailable(e.to_string()),
    }
}

impl Versions for RegistryVersions {
    fn current(&self) -> Result<VersionInfo, WriteError> {
        match self.0.newest().map_err(refusal)? {
            Some(v) => Ok(VersionInfo::new(
                v.number,
                v.author,
                v.message,
                v.published_at,
            )),
            None => Err(WriteError::Unavailable(
                "no version has been published yet (killswitch publish)".into(),
            )),
        }
    }

    fn history(&self, limit: usize) -> Result<Vec<VersionInfo>, WriteError> {
        let entries = self.0.history(Some(limit)).map_err(refusal)?;
        Ok(entries
            .into_iter()
            .map(|e| {
                VersionInfo::new(e.number, e.author, e.message, e.published_at)
                    .with_changed(e.changed)
            })
            .collect())
    }

    fn version(&self, version: u64) -> Result<VersionText, WriteError> {
        match self.0.version(version) {
            Ok(v) => {
                let info = VersionInfo::new(v.number, v.author, v.message, v.published_at);
                Ok(VersionText::new(info, v.text, v.format))
            }
            Err(e) if e.kind() == FleetErrorKind::NotFound => {
                Err(WriteError::UnknownVersion(version))
            }
            Err(e) => Err(refusal(e)),
        }
    }

    fn set_kill(&self, flag: &str, killed: bool, change: &Change) -> Result<u64, WriteError> {
        self.0
            .set_kill(
                flag,
                killed,
                &change.author,
                &change.message,
                Some(change.expect_version),
            )
            .map_err(refusal)
    }

    fn set_rollout(&self, flag: &str, percentage: u8, change: &Change) -> Result<u64, WriteError> {
        self.0
            .set_rollout(
                flag,
                percentage,
                &change.author,
                &change.message,
                Some(change.expect_version),
            )
            .map_err(refusal)
    }

    fn rollback(&self, to: u64, change: &Change) -> Result<u64, WriteError> {
        match self.0.rollback(
            to,
            &change.author,
            &change.message,
            Some(change.expect_version),
        ) {
            Err(e) if e.kind() == FleetErrorKind::NotFound => Err(WriteError::UnknownVersion(to)),
            other => other.map_err(refusal),
        }
    }
}
