//! [`Registry`]: writing config versions (publish, kill, unkill, rollout,
//! rollback) and reading them back (newest, one version, history).

use crate::database::{Database, CONNECT_TIMEOUT};
use crate::error::{FleetError, FleetErrorKind};
use crate::schema::{migrate, LOCK_KEY, TABLE};
use killswitch::{FlagSet, Format, Limits};
use postgres::{Client, Row, Transaction};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

/// One stored config version.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Version {
    /// Its number: positive, increasing in publish order (gaps allowed).
    pub number: u64,
    /// The format its text is in.
    pub format: Format,
    /// The config text, as published.
    pub text: String,
    /// The SHA-256 of the text, in hex.
    pub sha256: String,
    /// Who published it.
    pub author: String,
    /// Why.
    pub message: String,
    /// When.
    pub published_at: SystemTime,
}

/// One entry of [`Registry::history`]: a version without its text, and
/// the keys of the flags it changed from the version before it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HistoryEntry {
    /// The version number.
    pub number: u64,
    /// The format of its text.
    pub format: Format,
    /// The SHA-256 of its text, in hex.
    pub sha256: String,
    /// Who published it.
    pub author: String,
    /// Why.
    pub message: String,
    /// When.
    pub published_at: SystemTime,
    /// The keys of the flags added, removed or defined differently than
    /// in the version before it (every flag, for the first version); in
    /// the order of the config. Empty when its config does not compile
    /// (a version written by another tool).
    pub changed: Vec<String>,
    /// Whether the version compiles (a store serves only those).
    pub valid: bool,
}

/// What a write did: publish a new version, or nothing, because the
/// newest version already is what it asked for (a kill of a flag already
/// killed), so that the history holds only real changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Written {
    /// A new version was published, with this number.
    Published(u64),
    /// Nothing was written: the newest version, with this number, already
    /// is as asked.
    Unchanged(u64),
}

impl Written {
    /// The version that is now the newest: the new one, or the one that
    /// needed no change.
    pub fn version(self) -> u64 {
        match self {
            Written::Published(n) | Written::Unchanged(n) => n,
        }
    }
}

/// The config versions in a PostgreSQL database: every write is
/// validated as `killswitch check` validates, attributed, and a new
/// immutable version; writes are serialised (a transaction-scoped
/// advisory lock), so racing publishers get a total order and none is
/// lost. Each write can be a compare-and-set: `expect: Some(n)` fails
/// with [`FleetErrorKind::Conflict`], writing nothing, unless `n` is the
/// newest version.
///
/// Creating a `Registry` connects and creates or migrates the table.
///
/// ```no_run
/// use killswitch::Format;
/// use killswitch_fleet::{Registry, Written};
///
/// let registry = Registry::connect("postgres://flags@db.internal/flags")?;
/// let text = r#"{"flag_key": "checkout_v2", "enabled": true, "rollout_percentage": 10}"#;
/// let v1 = registry.publish(text, Format::Json, "ana", "10% of users", None)?;
/// let v2 = registry.set_kill("checkout_v2", true, "oncall", "INC-42: checkout errors", Some(v1))?;
/// assert_eq!(v2, Written::Published(v1 + 1));
/// // Killed already: nothing to write.
/// let again = registry.set_kill("checkout_v2", true, "oncall", "INC-42", None)?;
/// assert_eq!(again, Written::Unchanged(v1 + 1));
/// let v2 = v2.version();
/// let v3 = registry.rollback(v1, "oncall", "INC-42 fixed", None)?;
/// assert!(v1 < v2 && v2 < v3);
/// for entry in registry.history(Some(10))? {
///     println!("{} {} {} {:?}", entry.number, entry.author, entry.message, entry.changed);
/// }
/// # Ok::<(), killswitch_fleet::FleetError>(())
/// ```
pub struct Registry {
    db: Database,
    client: Mutex<Option<Client>>,
    limits: Limits,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("database", &self.db)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// Connects to the database of `url` (see [`Database::new`]) and
    /// creates or migrates the table of versions.
    pub fn connect(url: &str) -> Result<Registry, FleetError> {
        Registry::open(Database::new(url)?)
    }

    /// Connects to `db` and creates or migrates the table of versions.
    pub fn open(db: Database) -> Result<Registry, FleetError> {
        let mut client = db.connect()?;
        migrate(&db, &mut client)?;
        Ok(Registry {
            db,
            client: Mutex::new(Some(client)),
            limits: Limits::default(),
        })
    }

    /// The limits configs are validated within (default
    /// [`Limits::default`], as `killswitch check`).
    pub fn with_limits(mut self, limits: Limits) -> Registry {
        self.limits = limits;
        self
    }

    /// The database, for messages (its name has no password).
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Publishes `text` (a config in `format`) as a new version, after
    /// validating it; returns the new version number.
    pub fn publish(
        &self,
        text: &str,
        format: Format,
        author: &str,
        message: &str,
        expect: Option<u64>,
    ) -> Result<u64, FleetError> {
        self.write(expect, author, message, |_| {
            Ok(Some((text.to_string(), format)))
        })
        .map(Written::version)
    }

    /// Publishes a version equal to the newest with the kill switch of
    /// `flag` set to `killed` (the rest of its text unchanged; see
    /// [`killswitch::edit::set_kill_switch`]), unless the flag's kill
    /// switch already is `killed`: then nothing is written
    /// ([`Written::Unchanged`]).
    pub fn set_kill(
        &self,
        flag: &str,
        killed: bool,
        author: &str,
        message: &str,
        expect: Option<u64>,
    ) -> Result<Written, FleetError> {
        self.write(expect, author, message, |newest| {
            let newest = newest.ok_or_else(nothing_published)?;
            let flags = usable_base(newest, &self.limits)?;
            if flags.get(flag).is_some_and(|f| f.kill_switch() == killed) {
                return Ok(None);
            }
            let text = killswitch::edit::set_kill_switch(&newest.text, newest.format, flag, killed)
                .map_err(|e| edit_error(newest.number, &e))?;
            Ok(Some((text, newest.format)))
        })
    }

    /// Publishes a version equal to the newest with the rollout
    /// percentage of `flag` set to `percentage`; returns its number.
    pub fn set_rollout(
        &self,
        flag: &str,
        percentage: u8,
        author: &str,
        message: &str,
        expect: Option<u64>,
    ) -> Result<u64, FleetError> {
        self.write(expect, author, message, |newest| {
            let newest = newest.ok_or_else(nothing_published)?;
            usable_base(newest, &self.limits)?;
            let text = killswitch::edit::set_rollout_percentage(
                &newest.text,
                newest.format,
                flag,
                percentage,
            )
            .map_err(|e| edit_error(newest.number, &e))?;
            Ok(Some((text, newest.format)))
        })
        .map(Written::version)
    }

    /// Publishes the config of version `version` again, as a new version
    /// (history is never rewritten); returns its number.
    pub fn rollback(
        &self,
        version: u64,
        author: &str,
        message: &str,
        expect: Option<u64>,
    ) -> Result<u64, FleetError> {
        let old = self.version(version)?;
        self.write(expect, author, message, |_| {
            Ok(Some((old.text.clone(), old.format)))
        })
        .map(Written::version)
    }

    /// The newest version, if any was published.
    pub fn newest(&self) -> Result<Option<Version>, FleetError> {
        self.with_client(|db, client| {
            let rows = client
                .query(
                    &format!("{SELECT_VERSION} ORDER BY version DESC LIMIT 1"),
                    &[],
                )
                .map_err(|e| db.error("cannot read the newest version", &e))?;
            rows.first().map(version_of).transpose()
        })
    }

    /// Version `number`.
    pub fn version(&self, number: u64) -> Result<Version, FleetError> {
        let n = i64::try_from(number).unwrap_or(i64::MAX);
        self.with_client(|db, client| {
            let rows = client
                .query(&format!("{SELECT_VERSION} WHERE version = $1"), &[&n])
                .map_err(|e| db.error(&format!("cannot read version {number}"), &e))?;
            match rows.first() {
                Some(row) => version_of(row),
                None => Err(FleetError::new(
                    FleetErrorKind::NotFound,
                    format!("there is no version {number} in {}", db.name()),
                )),
            }
        })
    }

    /// The versions, newest first: all of them, or the `limit` newest.
    pub fn history(&self, limit: Option<usize>) -> Result<Vec<HistoryEntry>, FleetError> {
        // One more than asked, to tell what the oldest shown changed.
        let fetch = limit.map(|n| i64::try_from(n.saturating_add(1)).unwrap_or(i64::MAX));
        let versions = self.with_client(|db, client| {
            let rows = client
                .query(
                    &format!("{SELECT_VERSION} ORDER BY version DESC LIMIT $1"),
                    &[&fetch],
                )
                .map_err(|e| db.error("cannot read the history", &e))?;
            rows.iter().map(version_of).collect::<Result<Vec<_>, _>>()
        })?;
        let compiled: Vec<Option<FlagSet>> = versions
            .iter()
            .map(|v| FlagSet::from_text(&v.text, v.format, &self.limits).ok())
            .collect();
        let shown = limit.unwrap_or(usize::MAX).min(versions.len());
        let mut out = Vec::with_capacity(shown);
        for (i, v) in versions.iter().take(shown).enumerate() {
            let before = compiled.get(i + 1).and_then(Option::as_ref);
            let changed = match compiled.get(i).and_then(Option::as_ref) {
                Some(now) => crate::changes::changed_flags(before, now),
                None => Vec::new(),
            };
            out.push(HistoryEntry {
                number: v.number,
                format: v.format,
                sha256: v.sha256.clone(),
                author: v.author.clone(),
                message: v.message.clone(),
                published_at: v.published_at,
                changed,
                valid: compiled.get(i).is_some_and(Option::is_some),
            });
        }
        Ok(out)
    }

    /// Runs one write: under the publish lock, reads the newest version,
    /// checks `expect`, makes the new text with `make` (`None`: the newest
    /// already is as asked, nothing to write), validates it and inserts it
    /// as the next number.
    fn write(
        &self,
        expect: Option<u64>,
        author: &str,
        message: &str,
        make: impl FnOnce(Option<&Version>) -> Result<Option<(String, Format)>, FleetError>,
    ) -> Result<Written, FleetError> {
        self.with_client(|db, client| {
            let mut tx = client
                .transaction()
                .map_err(|e| db.error("cannot start a transaction", &e))?;
            lock(db, &mut tx)?;
            let rows = tx
                .query(
                    &format!("{SELECT_VERSION} ORDER BY version DESC LIMIT 1"),
                    &[],
                )
                .map_err(|e| db.error("cannot read the newest version", &e))?;
            let newest = rows.first().map(version_of).transpose()?;
            let newest_number = newest.as_ref().map(|v| v.number);
            if let Some(expected) = expect {
                if newest_number != Some(expected) {
                    return Err(FleetError::conflict(expected, newest_number));
                }
            }
            let Some((text, format)) = make(newest.as_ref())? else {
                // The transaction ends unwritten (rolled back on drop).
                return Ok(Written::Unchanged(newest_number.unwrap_or(0)));
            };
            if let Err(e) = FlagSet::from_text(&text, format, &self.limits) {
                return Err(FleetError::invalid("the new config", e));
            }
            let number = newest_number.unwrap_or(0) + 1;
            let n = i64::try_from(number).unwrap_or(i64::MAX);
            tx.execute(
                &format!(
                    "INSERT INTO {TABLE} (version, format, config, author, message) \
                     VALUES ($1, $2, $3, $4, $5)"
                ),
                &[&n, &format_name(format), &text, &author, &message],
            )
            .map_err(|e| db.error("cannot insert the new version", &e))?;
            tx.commit()
                .map_err(|e| db.error("cannot commit the new version", &e))?;
            Ok(Written::Published(number))
        })
    }

    /// Runs `f` on the connection, connecting again if it was lost (once,
    /// before `f` runs: a write is never retried, so never doubled).
    fn with_client<T>(
        &self,
        f: impl FnOnce(&Database, &mut Client) -> Result<T, FleetError>,
    ) -> Result<T, FleetError> {
        let mut guard = lock_client(&self.client);
        // A connection broken meanwhile (a database restarted) is found
        // here, by a round trip, rather than halfway through a write.
        let usable = guard
            .as_mut()
            .is_some_and(|c| !c.is_closed() && c.is_valid(CONNECT_TIMEOUT).is_ok());
        if !usable {
            *guard = Some(self.db.connect()?);
        }
        let Some(client) = guard.as_mut() else {
            return Err(FleetError::new(FleetErrorKind::Database, "no connection"));
        };
        let result = f(&self.db, client);
        if result
            .as_ref()
            .is_err_and(|e| e.kind() == FleetErrorKind::Database)
        {
            *guard = None;
        }
        result
    }
}

fn lock_client(m: &Mutex<Option<Client>>) -> MutexGuard<'_, Option<Client>> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The publish lock, held until the transaction ends.
fn lock(db: &Database, tx: &mut Transaction<'_>) -> Result<(), FleetError> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .map(|_| ())
        .map_err(|e| db.error("cannot take the publish lock", &e))
}

const SELECT_VERSION: &str =
    "SELECT version, format, config, coalesce(sha256, ''), author, message, created_at FROM killswitch_versions";

fn version_of(row: &Row) -> Result<Version, FleetError> {
    let number: i64 = row.get(0);
    let format: String = row.get(1);
    Ok(Version {
        number: u64::try_from(number).unwrap_or(0),
        format: parse_format(&format).ok_or_else(|| {
            FleetError::new(
                FleetErrorKind::Database,
                format!("version {number} has an unknown format `{format}`"),
            )
        })?,
        text: row.get(2),
        sha256: row.get(3),
        author: row.get(4),
        message: row.get(5),
        published_at: row.get(6),
    })
}

/// The name a format is stored under.
pub(crate) fn format_name(format: Format) -> &'static str {
    match format {
        Format::Yaml => "yaml",
        Format::Toml => "toml",
        _ => "json",
    }
}

/// The format stored under `name`.
pub(crate) fn parse_format(name: &str) -> Option<Format> {
    match name {
        "json" => Some(Format::Json),
        "yaml" => Some(Format::Yaml),
        "toml" => Some(Format::Toml),
        _ => None,
    }
}

/// An edit starts from the newest version; one that does not compile
/// (written by another tool) is refused with a way out.
fn usable_base(newest: &Version, limits: &Limits) -> Result<FlagSet, FleetError> {
    match FlagSet::from_text(&newest.text, newest.format, limits) {
        Ok(flags) => Ok(flags),
        Err(e) => Err(FleetError::invalid(
            &format!(
                "version {}, the newest (not served: stores keep the last good one), \
                 so roll back to a good version first (`killswitch rollback`); it",
                newest.number
            ),
            e,
        )),
    }
}

fn nothing_published() -> FleetError {
    FleetError::new(
        FleetErrorKind::NotFound,
        "no config has been published yet: publish one first (`killswitch publish`)",
    )
}

fn edit_error(version: u64, e: &killswitch::edit::EditError) -> FleetError {
    FleetError::new(
        FleetErrorKind::Edit,
        format!("cannot edit version {version} (nothing was written): {e}"),
    )
}
