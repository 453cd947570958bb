//! `killswitch serve --dashboard`: the dashboard's tokens, and its write
//! path over a PostgreSQL [`Registry`] (the versioned source of `serve
//! --source postgres://...`), owned by a thread of its own.

use killswitch_fleet::{FleetError, FleetErrorKind, Registry, Written};
use killswitch_server::dashboard::{
    Change, Dashboard, VersionInfo, VersionText, Versions, WriteError,
};
use killswitch_server::Tokens;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The dashboard's settings, and whether anyone may act from it.
pub(crate) struct Settings {
    pub(crate) dashboard: Dashboard,
    /// Whether admin tokens were given: without them every action is
    /// refused, whatever the source.
    pub(crate) has_admin: bool,
}

/// The dashboard's tokens, from their files or the environment (never
/// printed). Open reads are refused off loopback.
pub(crate) fn settings(
    listen: SocketAddr,
    read_file: Option<&str>,
    admin_file: Option<&str>,
) -> Result<Settings, String> {
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
    let has_admin = admin.is_some();
    if let Some(admin) = admin {
        dashboard = dashboard.admin_tokens(admin);
    }
    Ok(Settings {
        dashboard,
        has_admin,
    })
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
///
/// The registry's client is the blocking `postgres` one, which runs a
/// small Tokio runtime of its own for every call and for its drop: used
/// or dropped on a thread of the server's runtime, it panics ("Cannot
/// start a runtime from within a runtime"). So the registry lives on a
/// thread of its own, which makes every call and drops it: the dashboard
/// (from `spawn_blocking`) sends each call there and waits for the
/// answer, and wherever the server drops this handle, only a channel is
/// dropped. The thread ends when the last handle is gone
/// ([`RegistryThread::close`]).
pub(crate) struct RegistryVersions {
    calls: mpsc::Sender<Call>,
}

/// One call to make on the registry's thread.
type Call = Box<dyn FnOnce(&Registry) + Send>;

/// The thread that owns the registry; see [`RegistryVersions`].
pub(crate) struct RegistryThread(JoinHandle<()>);

impl RegistryThread {
    /// Waits, at most `within`, for the thread to end: it ends once every
    /// [`RegistryVersions`] is dropped, closing its connection. Returns
    /// whether it did.
    pub(crate) fn close(self, within: Duration) -> bool {
        let start = Instant::now();
        while !self.0.is_finished() {
            if start.elapsed() >= within {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.0.join().is_ok()
    }
}

impl RegistryVersions {
    /// Moves `registry` to a thread of its own; returns the handle the
    /// dashboard calls through, and the thread.
    pub(crate) fn spawn(registry: Registry) -> std::io::Result<(RegistryVersions, RegistryThread)> {
        let (calls, queue) = mpsc::channel::<Call>();
        let thread = std::thread::Builder::new()
            .name("killswitch-dashboard-db".into())
            .spawn(move || {
                for call in queue {
                    call(&registry);
                }
                // Every handle is gone: the registry, and its client,
                // are dropped here, outside any runtime.
                drop(registry);
            })?;
        Ok((RegistryVersions { calls }, RegistryThread(thread)))
    }

    /// Runs `f` on the registry's thread and waits for its result.
    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Registry) -> Result<T, WriteError> + Send + 'static,
    ) -> Result<T, WriteError> {
        let stopped = || WriteError::Unavailable("the dashboard's database thread stopped".into());
        let (answer, result) = mpsc::sync_channel(1);
        let call: Call = Box::new(move |registry| {
            let _ = answer.send(f(registry));
        });
        self.calls.send(call).map_err(|_| stopped())?;
        result.recv().unwrap_or_else(|_| Err(stopped()))
    }
}

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
        match self.call(|r| r.newest().map_err(refusal))? {
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
        let entries = self.call(move |r| r.history(Some(limit)).map_err(refusal))?;
        Ok(entries
            .into_iter()
            .map(|e| {
                VersionInfo::new(e.number, e.author, e.message, e.published_at)
                    .with_changed(e.changed)
            })
            .collect())
    }

    fn version(&self, version: u64) -> Result<VersionText, WriteError> {
        match self.call(move |r| Ok(r.version(version)))? {
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
        let (flag, change) = (flag.to_string(), change.clone());
        self.call(move |r| {
            r.set_kill(
                &flag,
                killed,
                &change.author,
                &change.message,
                Some(change.expect_version),
            )
            .map(Written::version)
            .map_err(refusal)
        })
    }

    fn set_rollout(&self, flag: &str, percentage: u8, change: &Change) -> Result<u64, WriteError> {
        let (flag, change) = (flag.to_string(), change.clone());
        self.call(move |r| {
            r.set_rollout(
                &flag,
                percentage,
                &change.author,
                &change.message,
                Some(change.expect_version),
            )
            .map_err(refusal)
        })
    }

    fn rollback(&self, to: u64, change: &Change) -> Result<u64, WriteError> {
        let change = change.clone();
        self.call(move |r| {
            match r.rollback(
                to,
                &change.author,
                &change.message,
                Some(change.expect_version),
            ) {
                Err(e) if e.kind() == FleetErrorKind::NotFound => {
                    Err(WriteError::UnknownVersion(to))
                }
                other => other.map_err(refusal),
            }
        })
    }
}
