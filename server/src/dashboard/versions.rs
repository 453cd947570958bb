//! The write path behind the dashboard: a versioned source of configs
//! ([`Versions`]), and [`MemoryVersions`], one kept in memory.
//!
//! Every action is a new, validated, attributed version, made against
//! the version the person acted on (compare-and-set): a write whose
//! expected version is not the current one is refused as stale, and an
//! invalid result is refused with its diagnostics, writing nothing.

use killswitch::store::{Fetched, Published, Source, SourceError, SourceVersion};
use killswitch::{FlagSet, Format, Limits};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

/// One published version of the config.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VersionInfo {
    /// Its number: 1 for the first, one more for each publication.
    pub version: u64,
    /// Who published it.
    pub author: String,
    /// Why.
    pub message: String,
    /// When.
    pub published_at: SystemTime,
    /// The keys of the flags it added, removed or changed from the version
    /// before it (empty when the source does not say).
    pub changed: Vec<String>,
}

impl VersionInfo {
    /// A version's record.
    pub fn new(
        version: u64,
        author: impl Into<String>,
        message: impl Into<String>,
        published_at: SystemTime,
    ) -> VersionInfo {
        VersionInfo {
            version,
            author: author.into(),
            message: message.into(),
            published_at,
            changed: Vec::new(),
        }
    }

    /// The same record, with the keys of the flags the version changed.
    pub fn with_changed(mut self, changed: Vec<String>) -> VersionInfo {
        self.changed = changed;
        self
    }
}

/// A version's record and its config text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VersionText {
    /// Which version, by whom, why, when.
    pub info: VersionInfo,
    /// The config, as published.
    pub text: String,
    /// Its format.
    pub format: Format,
}

impl VersionText {
    /// Version `info`'s config `text` in `format`.
    pub fn new(info: VersionInfo, text: String, format: Format) -> VersionText {
        VersionText { info, text, format }
    }
}

/// Who makes a change, why, and on which version they saw.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Change {
    /// The person (or script) making it.
    pub author: String,
    /// Why; never empty.
    pub message: String,
    /// The version the change was made against; the write fails as
    /// [`WriteError::Stale`] unless it is still the current one.
    pub expect_version: u64,
}

impl Change {
    /// A change by `author` with `message`, made against `expect_version`.
    pub fn new(
        author: impl Into<String>,
        message: impl Into<String>,
        expect_version: u64,
    ) -> Change {
        Change {
            author: author.into(),
            message: message.into(),
            expect_version,
        }
    }
}

/// Why a write was refused; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteError {
    /// The change was made against an older version than the current one.
    Stale {
        /// The version the change expected.
        expected: u64,
        /// The version now current.
        current: u64,
    },
    /// The result would not be a valid config.
    Invalid {
        /// The validation's diagnostics, as `killswitch check` prints them.
        diagnostics: String,
    },
    /// No flag with this key in the current version.
    UnknownFlag(String),
    /// No such version in the history.
    UnknownVersion(u64),
    /// The source cannot be reached or refused for another reason.
    Unavailable(String),
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Stale { expected, current } => write!(
                f,
                "stale: this change was made on version {expected}, but version {current} \
                 has been published since; look at the current state and try again"
            ),
            WriteError::Invalid { diagnostics } => {
                write!(f, "the result is not a valid config:\n{diagnostics}")
            }
            WriteError::UnknownFlag(key) => write!(f, "no flag `{key}` in the current version"),
            WriteError::UnknownVersion(v) => write!(f, "no version {v} in the history"),
            WriteError::Unavailable(why) => write!(f, "the config source is unavailable: {why}"),
        }
    }
}

impl std::error::Error for WriteError {}

/// A versioned config source the dashboard can write to: its history, and
/// the actions a person takes, each publishing a new version.
///
/// Calls may block (a database round trip); the dashboard makes them off
/// the request threads. After a successful write the dashboard reloads
/// its store, so the new version serves at once.
pub trait Versions: Send + Sync + 'static {
    /// The version current in the source.
    fn current(&self) -> Result<VersionInfo, WriteError>;

    /// The latest `limit` versions, newest first.
    fn history(&self, limit: usize) -> Result<Vec<VersionInfo>, WriteError>;

    /// Version `number`: its record and its config.
    fn version(&self, number: u64) -> Result<VersionText, WriteError>;

    /// Turns the kill switch of `flag` on (`killed`) or off.
    fn set_kill(&self, flag: &str, killed: bool, change: &Change) -> Result<u64, WriteError>;

    /// Sets the `rollout_percentage` of `flag` (0 to 100).
    fn set_rollout(&self, flag: &str, percentage: u8, change: &Change) -> Result<u64, WriteError>;

    /// Publishes the config of version `to` again, as a new version.
    fn rollback(&self, to: u64, change: &Change) -> Result<u64, WriteError>;
}

/// One stored version.
struct Stored {
    info: VersionInfo,
    text: String,
}

/// A history of JSON configs kept in memory: a [`Versions`] for tests,
/// demonstrations and embedding, and through [`MemoryVersions::source`] a
/// [`Source`] for the store that serves it.
///
/// Edits rewrite the JSON document (an array of flags, `{"flags": [...]}`
/// or one flag object) and validate it with the engine's loader before
/// anything is stored.
///
/// ```
/// use killswitch_server::dashboard::{Change, MemoryVersions, Versions, WriteError};
/// let versions = MemoryVersions::new(
///     r#"[{"flag_key": "checkout", "enabled": true, "rollout_percentage": 100}]"#,
///     "ana",
/// )?;
/// let v2 = versions.set_kill("checkout", true, &Change::new("ana", "incident 42", 1))?;
/// assert_eq!(v2, 2);
/// // A change made on version 1 is now stale.
/// let stale = versions.set_rollout("checkout", 50, &Change::new("bo", "ramp", 1));
/// assert!(matches!(stale, Err(WriteError::Stale { expected: 1, current: 2 })));
/// # Ok::<(), WriteError>(())
/// ```
#[derive(Clone)]
pub struct MemoryVersions {
    inner: Arc<Mutex<Vec<Stored>>>,
    limits: Limits,
}

impl fmt::Debug for MemoryVersions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryVersions").finish_non_exhaustive()
    }
}

impl MemoryVersions {
    /// A history whose version 1 is `json`, published by `author`; fails
    /// when it is not a valid config.
    pub fn new(json: &str, author: &str) -> Result<MemoryVersions, WriteError> {
        let limits = Limits::default();
        let flags = validate(json, &limits)?;
        let every = flags.flags().iter().map(|f| f.key().to_string()).collect();
        let first = Stored {
            info: VersionInfo::new(1, author, "initial version", SystemTime::now())
                .with_changed(every),
            text: json.to_string(),
        };
        Ok(MemoryVersions {
            inner: Arc::new(Mutex::new(vec![first])),
            limits,
        })
    }

    /// A [`Source`] giving the current version's text, for the store.
    pub fn source(&self) -> MemorySource {
        MemorySource {
            inner: Arc::clone(&self.inner),
            seen: 0,
        }
    }

    /// Publishes `json` as a new version (validated, compare-and-set), as
    /// `killswitch publish` would.
    pub fn publish(&self, json: &str, change: &Change) -> Result<u64, WriteError> {
        self.write(change, |_| Ok(json.to_string()))
    }

    /// Validates the edit of the current text and appends it.
    fn write(
        &self,
        change: &Change,
        edit: impl FnOnce(&str) -> Result<String, WriteError>,
    ) -> Result<u64, WriteError> {
        if change.message.trim().is_empty() {
            return Err(WriteError::Invalid {
                diagnostics: "a change needs a message".into(),
            });
        }
        let mut history = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let current = history.last().map_or(0, |s| s.info.version);
        if change.expect_version != current {
            return Err(WriteError::Stale {
                expected: change.expect_version,
                current,
            });
        }
        let before = history.last().map_or("[]", |s| s.text.as_str());
        let text = edit(before)?;
        let new = validate(&text, &self.limits)?;
        let old = validate(before, &self.limits).unwrap_or_default();
        let changed = super::view::changes(&old, &new)
            .into_iter()
            .map(|c| c.key)
            .collect();
        let version = current + 1;
        history.push(Stored {
            info: VersionInfo::new(
                version,
                change.author.clone(),
                change.message.clone(),
                SystemTime::now(),
            )
            .with_changed(changed),
            text,
        });
        Ok(version)
    }

    /// Sets `field` of `flag` to `value` in the current text.
    fn set_field(
        &self,
        flag: &str,
        field: &str,
        value: serde_json::Value,
        change: &Change,
    ) -> Result<u64, WriteError> {
        self.write(change, |text| {
            let mut doc: serde_json::Value = serde_json::from_str(text).map_err(|e| {
                WriteError::Unavailable(format!("the stored config is not JSON: {e}"))
            })?;
            let target = flag_object(&mut doc, flag)
                .ok_or_else(|| WriteError::UnknownFlag(flag.to_string()))?;
            target.insert(field.to_string(), value);
            serde_json::to_string_pretty(&doc)
                .map_err(|e| WriteError::Unavailable(format!("cannot write JSON: {e}")))
        })
    }
}

/// The object of the flag `key` in a config document.
fn flag_object<'a>(
    doc: &'a mut serde_json::Value,
    key: &str,
) -> Option<&'a mut serde_json::Map<String, serde_json::Value>> {
    let is_it = |v: &serde_json::Value| v.get("flag_key").and_then(|k| k.as_str()) == Some(key);
    if is_it(doc) {
        return doc.as_object_mut();
    }
    let flags = match doc {
        serde_json::Value::Array(flags) => flags,
        serde_json::Value::Object(map) => map.get_mut("flags")?.as_array_mut()?,
        _ => return None,
    };
    flags.iter_mut().find(|f| is_it(f))?.as_object_mut()
}

fn validate(json: &str, limits: &Limits) -> Result<FlagSet, WriteError> {
    FlagSet::from_text(json, Format::Json, limits).map_err(|e| WriteError::Invalid {
        diagnostics: e.to_string(),
    })
}

impl Versions for MemoryVersions {
    fn current(&self) -> Result<VersionInfo, WriteError> {
        let history = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        history
            .last()
            .map(|s| s.info.clone())
            .ok_or_else(|| WriteError::Unavailable("no version yet".into()))
    }

    fn history(&self, limit: usize) -> Result<Vec<VersionInfo>, WriteError> {
        let history = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(history
            .iter()
            .rev()
            .take(limit)
            .map(|s| s.info.clone())
            .collect())
    }

    fn version(&self, number: u64) -> Result<VersionText, WriteError> {
        let history = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        history
            .iter()
            .find(|s| s.info.version == number)
            .map(|s| VersionText::new(s.info.clone(), s.text.clone(), Format::Json))
            .ok_or(WriteError::UnknownVersion(number))
    }

    fn set_kill(&self, flag: &str, killed: bool, change: &Change) -> Result<u64, WriteError> {
        self.set_field(flag, "kill_switch", killed.into(), change)
    }

    fn set_rollout(&self, flag: &str, percentage: u8, change: &Change) -> Result<u64, WriteError> {
        self.set_field(flag, "rollout_percentage", percentage.into(), change)
    }

    fn rollback(&self, to: u64, change: &Change) -> Result<u64, WriteError> {
        let old = self.version(to)?;
        self.write(change, |_| Ok(old.text))
    }
}

/// The store's view of a [`MemoryVersions`]: the current version (text
/// and record, [`Fetched::Published`]), and [`Fetched::NotModified`] while
/// it has not changed.
pub struct MemorySource {
    inner: Arc<Mutex<Vec<Stored>>>,
    seen: u64,
}

impl fmt::Debug for MemorySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemorySource")
            .field("seen", &self.seen)
            .finish()
    }
}

impl Source for MemorySource {
    fn name(&self) -> String {
        "memory".to_string()
    }

    fn fetch(&mut self) -> Result<Fetched, SourceError> {
        let history = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        match history.last() {
            None => Ok(Fetched::Missing),
            Some(s) if s.info.version == self.seen => Ok(Fetched::NotModified),
            Some(s) => {
                self.seen = s.info.version;
                let info = &s.info;
                let version = SourceVersion::new(
                    info.version,
                    info.author.clone(),
                    info.message.clone(),
                    info.published_at,
                );
                Ok(Fetched::Published(Box::new(Published::new(
                    s.text.clone(),
                    Format::Json,
                    version,
                ))))
            }
        }
    }
}
