//! A live flag store: the current [`FlagSet`] behind an atomic pointer
//! swap, refreshed from a [`Source`] (a file, watched and polled, or a
//! service's own source) while the service runs.
//!
//! Evaluations load the current [`Snapshot`] lock-free (`arc-swap`) and
//! never wait for a reload. A reload compiles the new config completely
//! before swapping it in, so an evaluation sees one whole version; a config
//! that fails to load is rejected whole and the last good version keeps
//! serving.

mod error;
mod source;
mod watcher;

pub use error::LoadError;
pub use source::{Fetched, FileSource, Published, Source, SourceError, SourceVersion, Waker};

use crate::eval::decision::Decision;
use crate::eval::flag_set::FlagSet;
use crate::limits::Limits;
use crate::value::Context;
use arc_swap::cache::Cache;
use arc_swap::ArcSwap;
use sha2::{Digest, Sha256};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};
use watcher::{Settings, Worker};

/// One loaded version of the flags: the compiled set, its version number
/// and when it was loaded. Immutable; a reload makes a new one.
#[derive(Debug)]
pub struct Snapshot {
    flags: FlagSet,
    version: u64,
    loaded_at: SystemTime,
    source_version: Option<Arc<SourceVersion>>,
}

impl Snapshot {
    /// The compiled flags.
    pub fn flags(&self) -> &FlagSet {
        &self.flags
    }

    /// The version: 1 for the config loaded at startup, one more for each
    /// accepted reload; 0 for the empty set of a store started without a
    /// config ([`IfMissing::StartEmpty`]).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// When this version was loaded.
    pub fn loaded_at(&self) -> SystemTime {
        self.loaded_at
    }

    /// The source's own version of this config (number, author, message,
    /// time), when the source keeps versions ([`Fetched::Published`]);
    /// `None` for a file.
    pub fn source_version(&self) -> Option<&SourceVersion> {
        self.source_version.as_deref()
    }

    /// Evaluates a flag of this version (see [`FlagSet::evaluate`]).
    pub fn evaluate(&self, key: &str, ctx: &Context<'_>) -> Decision {
        self.flags.evaluate(key, ctx)
    }
}

/// What a successful [`Store::reload`] or [`Store::update_json`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reload {
    /// A new version was compiled and swapped in.
    Applied {
        /// The new version.
        version: u64,
    },
    /// The config is the one already serving (same text, or the source
    /// reported no change): nothing was done.
    Unchanged {
        /// The version still serving.
        version: u64,
    },
}

impl Reload {
    /// The version serving after the reload.
    pub fn version(self) -> u64 {
        match self {
            Reload::Applied { version } | Reload::Unchanged { version } => version,
        }
    }
}

/// What happened in a store, as told to the listeners registered with
/// [`StoreBuilder::on_event`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StoreEvent {
    /// A new version is serving.
    Reloaded {
        /// The new version.
        version: u64,
        /// How many flags it has.
        flags: usize,
    },
    /// A new config was rejected; the previous version keeps serving. The
    /// same failure (the same invalid text, a file still missing) is told
    /// once, not on every poll.
    Rejected {
        /// The version still serving.
        version: u64,
        /// Why the config was rejected.
        error: LoadError,
    },
    /// After a rejection, the source holds a good config again without a
    /// new version: the rejected change was undone (the config serving
    /// written back), or a source that could not be read answers again
    /// with the version serving. The last error no longer stands
    /// ([`Status::last_error`] is `None`). A new good config is told as
    /// [`StoreEvent::Reloaded`] instead.
    Recovered {
        /// The version serving, as before.
        version: u64,
    },
}

/// What to do when the source has no config at startup: the file does not
/// exist, or the source cannot be reached (a database that is down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum IfMissing {
    /// [`StoreBuilder::start`] fails.
    #[default]
    Fail,
    /// Start with an empty set (version 0): every flag is off with
    /// [`Reason::UnknownFlag`](crate::Reason::UnknownFlag) until a config
    /// appears. A source that cannot be reached at startup is kept trying
    /// on every poll, and the status says degraded meanwhile; a config
    /// that is there but invalid still fails the start.
    StartEmpty,
}

/// A store's health, for a status page or a metrics exporter.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Status {
    /// The name of the source (for a file, its path).
    pub source: String,
    /// The version serving.
    pub version: u64,
    /// When it was loaded.
    pub loaded_at: SystemTime,
    /// How many flags it has.
    pub flags: usize,
    /// Why the latest load failed, if it did; `None` again once the source
    /// holds a good config (a new one, or the one serving).
    pub last_error: Option<LoadError>,
    /// When that failure happened.
    pub last_error_at: Option<SystemTime>,
    /// Whether the background thread is running.
    pub watching: bool,
    /// Whether OS file notifications are active (otherwise changes are
    /// found by polling only).
    pub notifications: bool,
    /// Why notifications could not be started, when they were asked for.
    pub notification_error: Option<String>,
    /// The source's own version of the config serving (see
    /// [`Snapshot::source_version`]).
    pub source_version: Option<SourceVersion>,
    /// Why the source is degraded: its latest fetch failed (a database
    /// gone, a server erroring), so that changes may be missed while the
    /// last good version keeps serving. `None` once a fetch succeeds
    /// again.
    pub degraded: Option<String>,
    /// Since when the source has been degraded.
    pub degraded_since: Option<SystemTime>,
    /// Why notifications are not active although they were asked for, so
    /// that the store has fallen back to polling: the watched directory
    /// was removed or replaced, or did not exist at startup. The store
    /// looks for the directory every 100 ms and watches it when it is
    /// there, which clears this. `None` while notifications are active,
    /// and when they could not be started at all (see
    /// [`notification_error`](Status::notification_error)).
    pub notifications_lost: Option<String>,
}

type Listener = Box<dyn Fn(&StoreEvent) + Send + Sync + 'static>;

/// A live, reloadable set of flags.
///
/// Evaluations ([`evaluate`](Store::evaluate), [`snapshot`](Store::snapshot))
/// are lock-free and see one whole version. Reloads come from the
/// background thread (file notifications and polling), from
/// [`reload`](Store::reload), or from [`update_json`](Store::update_json);
/// a config that fails to load is rejected whole, recorded in the
/// [`status`](Store::status) and sent to the listeners, and the last good
/// version keeps serving.
///
/// Dropping the store (or [`shutdown`](Store::shutdown)) stops the
/// background thread and waits for it. Share a store between threads in an
/// `Arc`.
///
/// ```
/// use killswitch::store::Store;
/// use killswitch::{Context, FlagSet, Reason};
///
/// let store = Store::new(FlagSet::from_json(
///     r#"{"flag_key": "checkout_v2", "enabled": true, "rollout_percentage": 100}"#,
/// )?);
/// let user = Context::new().with("user_id", "u1");
/// assert!(store.evaluate("checkout_v2", &user).enabled);
///
/// // Flip the kill switch: the next evaluation sees it.
/// store.update_json(r#"{"flag_key": "checkout_v2", "enabled": true,
///                       "kill_switch": true, "rollout_percentage": 100}"#)?;
/// assert_eq!(store.evaluate("checkout_v2", &user).reason, Reason::KillSwitch);
/// assert_eq!(store.version(), 2);
///
/// // A broken config is rejected; version 2 keeps serving.
/// assert!(store.update_json(r#"{"flag_key": "checkout_v2""#).is_err());
/// assert_eq!(store.version(), 2);
/// assert!(store.status().last_error.is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Store {
    shared: Arc<Shared>,
    worker: Mutex<Option<Worker>>,
}

/// A per-thread handle on a [`Store`] (see [`Store::reader`]): it caches
/// the current snapshot and checks for a new one with a single atomic read
/// on each call.
///
/// It keeps the version it last saw alive until its next call, and follows
/// the store's versions even after the store itself is dropped (then
/// nothing changes any more).
#[derive(Clone)]
pub struct StoreReader {
    cache: Cache<Arc<ArcSwap<Snapshot>>, Arc<Snapshot>>,
}

impl StoreReader {
    /// Evaluates a flag of the current version, as [`Store::evaluate`].
    pub fn evaluate(&mut self, key: &str, ctx: &Context<'_>) -> Decision {
        self.cache.load().flags.evaluate(key, ctx)
    }

    /// The current version.
    pub fn snapshot(&mut self) -> &Arc<Snapshot> {
        self.cache.load()
    }
}

impl fmt::Debug for StoreReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreReader").finish_non_exhaustive()
    }
}

/// Configures and starts a [`Store`]; see [`Store::builder`].
#[must_use = "a builder does nothing until `start` is called"]
pub struct StoreBuilder {
    source: Box<dyn Source>,
    poll_interval: Option<Duration>,
    debounce: Duration,
    notifications: bool,
    if_missing: IfMissing,
    limits: Limits,
    listeners: Vec<Listener>,
    thread_name: String,
}

/// The part of a store its background thread shares.
pub(crate) struct Shared {
    /// In its own `Arc`, so that a [`StoreReader`] can cache it.
    current: Arc<ArcSwap<Snapshot>>,
    /// Held while fetching, so that fetches never overlap.
    source: Mutex<Option<Box<dyn Source>>>,
    /// Held while deciding on and swapping in a new version.
    state: Mutex<State>,
    listeners: Vec<Listener>,
    limits: Limits,
    source_name: String,
}

/// The bookkeeping behind the status and the unchanged-content checks.
struct State {
    /// What produced the version serving (`None` for a set given directly).
    applied: Option<Fingerprint>,
    /// The latest rejected input, so that it is not reported again.
    rejected: Option<Fingerprint>,
    last_error: Option<(LoadError, SystemTime)>,
    notifications: bool,
    notification_error: Option<String>,
    /// Why notifications stopped, while they are lost.
    notifications_lost: Option<String>,
    /// Why the latest fetch failed, and since when fetches fail.
    degraded: Option<(String, SystemTime)>,
}

/// Identifies an input, to skip one already loaded or already rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fingerprint {
    Text([u8; 32]),
    Missing,
    Failed(String),
}

impl Fingerprint {
    fn of(text: &str) -> Fingerprint {
        Fingerprint::Text(Sha256::digest(text.as_bytes()).into())
    }

    /// A source's version: the same text published again is a new
    /// version (its number, author and message are served).
    fn of_version(text: &str, version: Option<&SourceVersion>) -> Fingerprint {
        let Some(version) = version else {
            return Fingerprint::of(text);
        };
        let mut hasher = Sha256::new();
        hasher.update(version.number.to_be_bytes());
        hasher.update(text.as_bytes());
        Fingerprint::Text(hasher.finalize().into())
    }
}

/// The default interval between polls.
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(2);
/// The default quiet time after a notification before reading the file.
const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(10);

impl Store {
    /// A store of a fixed set, without a source or background thread;
    /// update it with [`update_json`](Store::update_json). Its first version
    /// is 1.
    pub fn new(flags: FlagSet) -> Store {
        let shared = Shared::new(
            snapshot(flags, 1, None),
            None,
            Vec::new(),
            Limits::default(),
            "<config>",
        )
        .with_state(None, None);
        Store {
            shared: Arc::new(shared),
            worker: Mutex::new(None),
        }
    }

    /// Starts configuring a store that loads its config from `source`.
    pub fn builder(source: impl Source) -> StoreBuilder {
        StoreBuilder {
            source: Box::new(source),
            poll_interval: Some(DEFAULT_POLL_INTERVAL),
            debounce: DEFAULT_DEBOUNCE,
            notifications: true,
            if_missing: IfMissing::Fail,
            limits: Limits::default(),
            listeners: Vec::new(),
            thread_name: "killswitch-store".to_string(),
        }
    }

    /// Loads a JSON config file and follows its changes (OS notifications
    /// on its directory, and a poll every 2 seconds), with the default
    /// settings of [`Store::builder`]. A missing or invalid file is an
    /// error.
    pub fn watch_file(path: impl Into<PathBuf>) -> Result<Store, LoadError> {
        Store::builder(FileSource::new(path)).start()
    }

    /// Evaluates a flag of the current version: lock-free, never waits for
    /// a reload, never fails. An unknown key is off, with
    /// [`Reason::UnknownFlag`](crate::Reason::UnknownFlag).
    ///
    /// Each call may see a newer version than the one before; to evaluate
    /// several flags against one version, take a [`snapshot`](Store::snapshot).
    pub fn evaluate(&self, key: &str, ctx: &Context<'_>) -> Decision {
        self.shared.current.load().flags.evaluate(key, ctx)
    }

    /// The current version, to evaluate several flags consistently or to
    /// keep. A reload does not change a snapshot already taken.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.shared.current.load_full()
    }

    /// A per-thread handle for the hottest paths: its
    /// [`evaluate`](StoreReader::evaluate) checks for a new version with a
    /// single atomic read, cheaper than [`Store::evaluate`]. Keep one per
    /// thread (in a worker's state or a `thread_local!`).
    ///
    /// ```
    /// use killswitch::store::Store;
    /// use killswitch::{Context, FlagSet};
    /// let store = Store::new(FlagSet::from_json(r#"{"flag_key": "a", "enabled": true}"#)?);
    /// let mut reader = store.reader();
    /// let ctx = Context::new();
    /// assert_eq!(reader.evaluate("a", &ctx), store.evaluate("a", &ctx));
    /// store.update_json(r#"{"flag_key": "a", "enabled": true, "kill_switch": true}"#)?;
    /// assert_eq!(reader.snapshot().version(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reader(&self) -> StoreReader {
        StoreReader {
            cache: Cache::new(Arc::clone(&self.shared.current)),
        }
    }

    /// The version serving.
    pub fn version(&self) -> u64 {
        self.shared.current.load().version
    }

    /// The store's health: the version serving, when it was loaded, the
    /// latest load error and whether the watcher runs.
    pub fn status(&self) -> Status {
        let current = self.shared.current.load_full();
        let watching = lock(&self.worker).is_some();
        let state = lock(&self.shared.state);
        Status {
            source: self.shared.source_name.clone(),
            version: current.version,
            loaded_at: current.loaded_at,
            flags: current.flags.len(),
            last_error: state.last_error.as_ref().map(|(e, _)| e.clone()),
            last_error_at: state.last_error.as_ref().map(|(_, at)| *at),
            watching,
            notifications: watching && state.notifications,
            notification_error: state.notification_error.clone(),
            notifications_lost: state.notifications_lost.clone().filter(|_| watching),
            source_version: current.source_version.as_deref().cloned(),
            degraded: state.degraded.as_ref().map(|(why, _)| why.clone()),
            degraded_since: state.degraded.as_ref().map(|(_, since)| *since),
        }
    }

    /// Fetches the config from the source now and loads it if it changed,
    /// without waiting for a notification or the next poll. A store made
    /// with [`Store::new`] has no source: nothing changes.
    ///
    /// A failure is returned, recorded in the status and sent to the
    /// listeners (once for the same failure); the last good version keeps
    /// serving.
    pub fn reload(&self) -> Result<Reload, LoadError> {
        self.shared.reload_from_source()
    }

    /// Compiles `text` (a JSON config) and swaps it in as a new version, as
    /// if the source had returned it. Invalid text is rejected whole: the
    /// current version keeps serving, and the error is returned, recorded
    /// and sent to the listeners. Text identical to the config serving
    /// changes nothing.
    ///
    /// For a store that follows a source, the next change of the source
    /// replaces what was set here.
    pub fn update_json(&self, text: &str) -> Result<Reload, LoadError> {
        self.shared
            .apply_text(text, crate::document::Format::Json, None)
    }

    /// Stops the background thread (and file notifications) and waits for
    /// it to end, for at most a second: a thread busy with a reload (a slow
    /// custom source or listener, a large config) is left to finish that
    /// reload on its own, and may still swap it in. The store keeps
    /// serving its current version and still accepts
    /// [`reload`](Store::reload) and [`update_json`](Store::update_json).
    /// Dropping the store does the same; calling it twice does nothing
    /// more.
    pub fn shutdown(&self) {
        let worker = lock(&self.worker).take();
        if let Some(worker) = worker {
            worker.stop();
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let current = self.shared.current.load();
        f.debug_struct("Store")
            .field("source", &self.shared.source_name)
            .field("version", &current.version)
            .field("flags", &current.flags.len())
            .finish_non_exhaustive()
    }
}

impl StoreBuilder {
    /// How often the source is fetched, whether or not a notification came
    /// (default 2 s). With a file this is the fallback for file systems
    /// without notifications (NFS, some container mounts) and for missed
    /// events; with other sources it is how changes are found. `None`
    /// turns polling off.
    pub fn poll_interval(mut self, interval: impl Into<Option<Duration>>) -> StoreBuilder {
        self.poll_interval = interval.into();
        self
    }

    /// Whether to follow the source's file with OS notifications (default
    /// true; only for sources with a [`watch_path`](Source::watch_path)).
    /// When they cannot be set up, the store only polls and says why in
    /// [`Status::notification_error`].
    pub fn notifications(mut self, on: bool) -> StoreBuilder {
        self.notifications = on;
        self
    }

    /// How long the file must be quiet after a notification before it is
    /// read (default 10 ms), so that a burst of writes is read once. It is
    /// never waited for more than ten times this.
    pub fn debounce(mut self, quiet: Duration) -> StoreBuilder {
        self.debounce = quiet;
        self
    }

    /// What to do when the source has no config at startup (default:
    /// fail).
    pub fn if_missing(mut self, policy: IfMissing) -> StoreBuilder {
        self.if_missing = policy;
        self
    }

    /// The limits configs are read and compiled within (default
    /// [`Limits::default`]); the source gets them too
    /// ([`Source::apply_limits`]), so that a [`FileSource`] reads no more
    /// than [`Limits::max_config_bytes`].
    pub fn limits(mut self, limits: Limits) -> StoreBuilder {
        self.limits = limits;
        self
    }

    /// Calls `listener` after every accepted or rejected reload (not for the
    /// load at startup, whose outcome [`start`](StoreBuilder::start)
    /// returns). It runs on the thread that reloaded (usually the store's
    /// background thread), so it should be quick: log, count, or send to a
    /// channel. Listeners may be added several times.
    ///
    /// ```
    /// use killswitch::store::{FileSource, Store, StoreEvent};
    /// use std::sync::mpsc;
    ///
    /// let (tx, rx) = mpsc::channel();
    /// let builder = Store::builder(FileSource::new("flags.json"))
    ///     .on_event(move |event: &StoreEvent| {
    ///         let _ = tx.send(event.clone());
    ///     });
    /// # drop((builder, rx));
    /// ```
    pub fn on_event(
        mut self,
        listener: impl Fn(&StoreEvent) + Send + Sync + 'static,
    ) -> StoreBuilder {
        self.listeners.push(Box::new(listener));
        self
    }

    /// The background thread's name (default `killswitch-store`).
    pub fn thread_name(mut self, name: impl Into<String>) -> StoreBuilder {
        self.thread_name = name.into();
        self
    }

    /// Loads the config and starts following the source.
    ///
    /// Fails when the config is invalid or cannot be read, and when it is
    /// missing unless [`IfMissing::StartEmpty`] was chosen.
    pub fn start(self) -> Result<Store, LoadError> {
        let StoreBuilder {
            mut source,
            poll_interval,
            debounce,
            notifications,
            if_missing,
            limits,
            listeners,
            thread_name,
        } = self;
        source.apply_limits(&limits);
        let name = source.name();
        let watch_path = if notifications {
            source.watch_path().map(Path::to_path_buf)
        } else {
            None
        };
        let mut unreachable_at_start = None;
        let (first, applied, rejected) = match source.fetch() {
            Ok(Fetched::Text(text)) => match FlagSet::from_text(&text, source.format(), &limits) {
                Ok(flags) => (snapshot(flags, 1, None), Some(Fingerprint::of(&text)), None),
                Err(e) => return Err(LoadError::config(name, e)),
            },
            Ok(Fetched::Published(published)) => {
                let Published {
                    text,
                    format,
                    version,
                } = *published;
                match FlagSet::from_text(&text, format, &limits) {
                    Ok(flags) => {
                        let fingerprint = Fingerprint::of_version(&text, Some(&version));
                        (snapshot(flags, 1, Some(version)), Some(fingerprint), None)
                    }
                    Err(e) => return Err(LoadError::config(name, e)),
                }
            }
            Ok(Fetched::Missing) => match if_missing {
                IfMissing::Fail => return Err(LoadError::missing(name)),
                IfMissing::StartEmpty => (
                    snapshot(FlagSet::default(), 0, None),
                    None,
                    Some((Fingerprint::Missing, LoadError::missing(name.clone()))),
                ),
            },
            Ok(Fetched::NotModified) => {
                let e = "the source reported no change before giving any config";
                return Err(LoadError::source(name, e.into()));
            }
            Err(e) => match if_missing {
                IfMissing::Fail => return Err(LoadError::source(name, e)),
                IfMissing::StartEmpty => {
                    let why = e.to_string();
                    let error = LoadError::source(name.clone(), e);
                    if error.config_error().is_some() {
                        return Err(error);
                    }
                    unreachable_at_start = Some(why.clone());
                    (
                        snapshot(FlagSet::default(), 0, None),
                        None,
                        Some((Fingerprint::Failed(why), error)),
                    )
                }
            },
        };
        let wants_thread = poll_interval.is_some() || watch_path.is_some();
        let shared = Arc::new(
            Shared::new(first, Some(source), listeners, limits, &name)
                .with_state(applied, rejected),
        );
        if let Some(why) = unreachable_at_start {
            // As after a failed poll: `Status::degraded` says why.
            lock(&shared.state).degraded = Some((why, SystemTime::now()));
        }
        let store = Store {
            shared: Arc::clone(&shared),
            worker: Mutex::new(None),
        };
        if wants_thread {
            let settings = Settings {
                poll_interval,
                debounce,
                watch_path,
                thread_name,
            };
            let started = Worker::start(shared, settings).map_err(|e| {
                let e = std::io::Error::other(format!("cannot start the store's thread: {e}"));
                LoadError::source(name, Box::new(e))
            })?;
            {
                let mut state = lock(&store.shared.state);
                state.notification_error = started.notification_error;
            }
            if let Some(source) = lock(&store.shared.source).as_mut() {
                source.subscribe(started.waker);
            }
            *lock(&store.worker) = Some(started.worker);
        }
        Ok(store)
    }
}

impl fmt::Debug for StoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreBuilder")
            .field("source", &self.source.name())
            .field("poll_interval", &self.poll_interval)
            .field("debounce", &self.debounce)
            .field("notifications", &self.notifications)
            .field("if_missing", &self.if_missing)
            .field("listeners", &self.listeners.len())
            .field("thread_name", &self.thread_name)
            .finish_non_exhaustive()
    }
}

fn snapshot(flags: FlagSet, version: u64, source_version: Option<SourceVersion>) -> Snapshot {
    Snapshot {
        flags,
        version,
        loaded_at: SystemTime::now(),
        source_version: source_version.map(Arc::new),
    }
}

/// Locks a mutex; a panic elsewhere while it was held leaves consistent
/// data here (every update is a single assignment), so poisoning is ignored.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn new(
        first: Snapshot,
        source: Option<Box<dyn Source>>,
        listeners: Vec<Listener>,
        limits: Limits,
        source_name: &str,
    ) -> Shared {
        Shared {
            current: Arc::new(ArcSwap::from_pointee(first)),
            source: Mutex::new(source),
            state: Mutex::new(State {
                applied: None,
                rejected: None,
                last_error: None,
                notifications: false,
                notification_error: None,
                notifications_lost: None,
                degraded: None,
            }),
            listeners,
            limits,
            source_name: source_name.to_string(),
        }
    }

    fn with_state(
        self,
        applied: Option<Fingerprint>,
        rejected: Option<(Fingerprint, LoadError)>,
    ) -> Shared {
        {
            let mut state = lock(&self.state);
            state.applied = applied;
            if let Some((fingerprint, error)) = rejected {
                state.rejected = Some(fingerprint);
                state.last_error = Some((error, SystemTime::now()));
            }
        }
        self
    }

    /// Records that notifications were lost (and why: the store polls), or,
    /// with `None`, that they are active again.
    pub(crate) fn set_notifications(&self, lost: Option<String>) {
        let mut state = lock(&self.state);
        state.notifications = lost.is_none();
        state.notifications_lost = lost;
    }

    /// Fetches from the source and loads what changed.
    pub(crate) fn reload_from_source(&self) -> Result<Reload, LoadError> {
        let mut source = lock(&self.source);
        let Some(source) = source.as_mut() else {
            return Ok(Reload::Unchanged {
                version: self.current.load().version,
            });
        };
        let fetched = source.fetch();
        {
            let mut state = lock(&self.state);
            match &fetched {
                Ok(_) => state.degraded = None,
                Err(e) => {
                    let since = state
                        .degraded
                        .as_ref()
                        .map_or_else(SystemTime::now, |d| d.1);
                    state.degraded = Some((e.to_string(), since));
                }
            }
        }
        match fetched {
            Ok(Fetched::Text(text)) => self.apply_text(&text, source.format(), None),
            Ok(Fetched::Published(published)) => {
                let Published {
                    text,
                    format,
                    version,
                } = *published;
                self.apply_text(&text, format, Some(version))
            }
            Ok(Fetched::NotModified) => {
                // The source answers again: a failure to reach it no
                // longer stands (a rejected config still does).
                let mut state = lock(&self.state);
                if matches!(state.rejected, Some(Fingerprint::Failed(_))) {
                    state.rejected = None;
                    self.recovered(state);
                }
                Ok(Reload::Unchanged {
                    version: self.current.load().version,
                })
            }
            Ok(Fetched::Missing) => self.reject(
                Fingerprint::Missing,
                LoadError::missing(self.source_name.clone()),
            ),
            Err(e) => {
                let fingerprint = Fingerprint::Failed(e.to_string());
                self.reject(fingerprint, LoadError::source(self.source_name.clone(), e))
            }
        }
    }

    /// Compiles `text` and swaps it in, unless it is the config serving or
    /// the one just rejected.
    fn apply_text(
        &self,
        text: &str,
        format: crate::document::Format,
        source_version: Option<SourceVersion>,
    ) -> Result<Reload, LoadError> {
        let fingerprint = Fingerprint::of_version(text, source_version.as_ref());
        let mut state = lock(&self.state);
        if state.applied.as_ref() == Some(&fingerprint) {
            // Back to the good config (after a bad write, say): healthy.
            state.rejected = None;
            self.recovered(state);
            return Ok(Reload::Unchanged {
                version: self.current.load().version,
            });
        }
        if state.rejected.as_ref() == Some(&fingerprint) {
            if let Some((e, _)) = &state.last_error {
                return Err(e.clone());
            }
        }
        match FlagSet::from_text(text, format, &self.limits) {
            Ok(flags) => {
                let version = self.current.load().version + 1;
                let count = flags.len();
                self.current
                    .store(Arc::new(snapshot(flags, version, source_version)));
                state.applied = Some(fingerprint);
                state.rejected = None;
                state.last_error = None;
                drop(state);
                self.notify(&StoreEvent::Reloaded {
                    version,
                    flags: count,
                });
                Ok(Reload::Applied { version })
            }
            Err(e) => {
                let error = LoadError::config(self.source_name.clone(), e);
                self.reject_locked(state, fingerprint, error)
            }
        }
    }

    /// Clears the last error; if there was one, tells the listeners that
    /// the version serving is healthy again.
    fn recovered(&self, mut state: MutexGuard<'_, State>) {
        if state.last_error.take().is_some() {
            drop(state);
            self.notify(&StoreEvent::Recovered {
                version: self.current.load().version,
            });
        }
    }

    /// Records a failed load (once for the same input) and tells the
    /// listeners; the current version keeps serving.
    fn reject(&self, fingerprint: Fingerprint, error: LoadError) -> Result<Reload, LoadError> {
        self.reject_locked(lock(&self.state), fingerprint, error)
    }

    fn reject_locked(
        &self,
        mut state: MutexGuard<'_, State>,
        fingerprint: Fingerprint,
        error: LoadError,
    ) -> Result<Reload, LoadError> {
        if state.rejected.as_ref() == Some(&fingerprint) {
            if let Some((e, _)) = &state.last_error {
                return Err(e.clone());
            }
        }
        state.rejected = Some(fingerprint);
        state.last_error = Some((error.clone(), SystemTime::now()));
        let version = self.current.load().version;
        drop(state);
        self.notify(&StoreEvent::Rejected {
            version,
            error: error.clone(),
        });
        Err(error)
    }

    /// Calls every listener; one that panics does not stop the others or
    /// the store's thread.
    fn notify(&self, event: &StoreEvent) {
        for listener in &self.listeners {
            let _ = catch_unwind(AssertUnwindSafe(|| listener(event)));
        }
    }
}
