//! Where a [`Store`](super::Store) gets its config text: the [`Source`]
//! trait, and [`FileSource`], a JSON file on disk.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::time::SystemTime;

use crate::config::diagnostic::ConfigError;
use crate::document::Format;
use crate::limits::Limits;

/// The error type a [`Source`] reports when it cannot fetch its config.
pub type SourceError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a [`Source`] found when asked for its config.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fetched {
    /// The config text (JSON), to be compiled.
    Text(String),
    /// The config has not changed since the last fetch (for example an
    /// HTTP `304 Not Modified`): keep the current version.
    NotModified,
    /// There is no config (the file does not exist). At startup the
    /// store's [`IfMissing`](super::IfMissing) decides; later it is a
    /// failed load and the last good version keeps serving.
    Missing,
    /// A version of the config kept by a versioned source (a database
    /// table, say): its text in its own format, with its number, author,
    /// message and time. The store serves it as it would
    /// [`Text`](Fetched::Text), and shows its [`SourceVersion`] in the
    /// [`Snapshot`](super::Snapshot) and the [`Status`](super::Status).
    Published(Box<Published>),
}

/// A config version as a versioned source holds it: see
/// [`Fetched::Published`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Published {
    /// The config text.
    pub text: String,
    /// Its format.
    pub format: Format,
    /// Which version it is.
    pub version: SourceVersion,
}

impl Published {
    /// A version's text in `format`.
    pub fn new(text: String, format: Format, version: SourceVersion) -> Published {
        Published {
            text,
            format,
            version,
        }
    }
}

/// What a versioned source says of a config version: its number, who
/// published it, why and when. Shown by the [`Snapshot`](super::Snapshot)
/// serving it and in the store's [`Status`](super::Status) ("version 12 by
/// ana at 10:02").
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceVersion {
    /// The source's version number (not the store's own counter,
    /// [`Snapshot::version`](super::Snapshot::version)).
    pub number: u64,
    /// Who published it.
    pub author: String,
    /// Why (the incident record of a kill, for example).
    pub message: String,
    /// When it was published.
    pub published_at: SystemTime,
}

impl SourceVersion {
    /// A version `number`, published by `author` with `message` at
    /// `published_at`.
    pub fn new(
        number: u64,
        author: impl Into<String>,
        message: impl Into<String>,
        published_at: SystemTime,
    ) -> SourceVersion {
        SourceVersion {
            number,
            author: author.into(),
            message: message.into(),
            published_at,
        }
    }
}

/// Wakes a [`Store`](super::Store) so that it fetches from its source now
/// rather than at the next poll: given to a source that is told of changes
/// (PostgreSQL's `LISTEN`/`NOTIFY`, say) through
/// [`Source::subscribe`]. Cheap to clone; may be used from any thread.
#[derive(Clone)]
pub struct Waker {
    tx: Sender<super::watcher::Msg>,
}

impl Waker {
    pub(crate) fn new(tx: Sender<super::watcher::Msg>) -> Waker {
        Waker { tx }
    }

    /// Asks the store to fetch now (without the file debounce). Wakes
    /// that come while a fetch runs lead to one more fetch after it.
    /// Returns false when the store has stopped: the source's own thread,
    /// if it has one, should end.
    pub fn wake(&self) -> bool {
        self.tx.send(super::watcher::Msg::Wake).is_ok()
    }
}

impl fmt::Debug for Waker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waker").finish_non_exhaustive()
    }
}

/// A place a [`Store`](super::Store) fetches config text from: a file, or
/// a service's own database or configuration service.
///
/// The store calls [`fetch`](Source::fetch) once at startup, then on every
/// poll (see [`StoreBuilder::poll_interval`](super::StoreBuilder::poll_interval)),
/// on every file notification when [`watch_path`](Source::watch_path) names
/// a file, and on [`Store::reload`](super::Store::reload). Calls never
/// overlap. Returning the same text again is cheap: the store skips text it
/// has already loaded (or already rejected).
///
/// ```
/// use killswitch::store::{Fetched, Source, SourceError, Store};
/// use killswitch::Context;
///
/// /// Config kept by the service itself (here: a fixed string).
/// struct FromDatabase;
///
/// impl Source for FromDatabase {
///     fn name(&self) -> String {
///         "database:flags".to_string()
///     }
///     fn fetch(&mut self) -> Result<Fetched, SourceError> {
///         Ok(Fetched::Text(r#"{"flag_key": "beta", "enabled": true, "rollout_percentage": 100}"#.into()))
///     }
/// }
///
/// let store = Store::builder(FromDatabase).start()?;
/// let user = Context::new().with("user_id", "u1");
/// assert!(store.evaluate("beta", &user).enabled);
/// # Ok::<(), killswitch::store::LoadError>(())
/// ```
pub trait Source: Send + 'static {
    /// A short name for messages and diagnostics, such as the file path or
    /// a URL.
    fn name(&self) -> String;

    /// Fetches the current config.
    fn fetch(&mut self) -> Result<Fetched, SourceError>;

    /// A local file whose changes the store should watch with OS
    /// notifications (the store watches its parent directory). `None`, the
    /// default, means the store only polls.
    fn watch_path(&self) -> Option<&Path> {
        None
    }

    /// The format of the text [`fetch`](Source::fetch) returns. The
    /// default is JSON; a [`FileSource`] goes by the file's extension.
    fn format(&self) -> Format {
        Format::Json
    }

    /// Called once by [`StoreBuilder::start`](super::StoreBuilder::start),
    /// before the first fetch, with the store's
    /// [`limits`](super::StoreBuilder::limits). A source that reads files
    /// should read no more than [`Limits::max_config_bytes`]; a
    /// [`FileSource`] does. The default does nothing.
    fn apply_limits(&mut self, limits: &Limits) {
        let _ = limits;
    }

    /// Called once when the store starts its background thread (polling
    /// or notifications on), after the first fetch: a source that is told
    /// of changes keeps `waker` and calls [`Waker::wake`] on each, so that
    /// the store fetches at once. The default does nothing: the store
    /// polls.
    fn subscribe(&mut self, waker: Waker) {
        let _ = waker;
    }
}

/// A config file on the local file system, in the [`Format`] its
/// extension names ([`Format::from_path`]: `.yaml`/`.yml`, `.toml`, else
/// JSON).
///
/// A file that does not exist is [`Fetched::Missing`]; one that cannot be
/// read is an error, and so is one over
/// [`Limits::max_config_bytes`] or one that is not a regular file (a FIFO,
/// a device such as `/dev/zero`, a directory): those are refused without
/// blocking and without reading more than the limit. Changes are noticed
/// through OS notifications on the file's directory and by polling. A file
/// that is not UTF-8 is a rejected config, with a diagnostic at its first
/// bad byte ([`LoadError::config_error`](super::LoadError::config_error)).
#[derive(Clone)]
pub struct FileSource {
    path: PathBuf,
    limits: Limits,
}

impl FileSource {
    /// A source reading `path`.
    pub fn new(path: impl Into<PathBuf>) -> FileSource {
        FileSource {
            path: path.into(),
            limits: Limits::default(),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Debug for FileSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileSource")
            .field("path", &self.path)
            .finish()
    }
}

impl Source for FileSource {
    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn fetch(&mut self) -> Result<Fetched, SourceError> {
        let bytes = match crate::document::input::read_config_bytes(&self.path, &self.limits) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Fetched::Missing),
            Err(e) => return Err(Box::new(e)),
        };
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Fetched::Text(text)),
            // Bytes that are not UTF-8 (a UTF-16 file, a binary) are the
            // config's error, placed at the first bad byte as `check`
            // places it, not a failure to read.
            Err(e) => match crate::config::decode(e.as_bytes()) {
                Err(d) => Err(Box::new(ConfigError::new(None, vec![*d]))),
                Ok(_) => Err(Box::new(e)),
            },
        }
    }

    fn watch_path(&self) -> Option<&Path> {
        Some(&self.path)
    }

    fn format(&self) -> Format {
        Format::from_path(&self.path)
    }

    fn apply_limits(&mut self, limits: &Limits) {
        self.limits = limits.clone();
    }
}
