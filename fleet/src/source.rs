//! [`PostgresSource`]: a store follows the newest config version of a
//! PostgreSQL database, woken by `LISTEN`/`NOTIFY` and polled as a safety
//! net.

use crate::backoff::Backoff;
use crate::database::Database;
use crate::error::FleetError;
use crate::registry::parse_format;
use crate::schema::{CHANNEL, TABLE};
use killswitch::store::{Fetched, Published, Source, SourceError, SourceVersion, Waker};
use killswitch::Limits;
use postgres::error::SqlState;
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, Statement};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

/// How often the listener looks whether it should stop.
const LISTEN_TICK: Duration = Duration::from_millis(200);

/// The newest config version of a PostgreSQL database (the table that
/// `killswitch publish` and [`Registry`](crate::Registry) write), as a
/// [`Source`] for a [`Store`](killswitch::store::Store).
///
/// - Each fetch asks for a version newer than the one last seen, so a
///   poll of an unchanged database transfers nothing but a row count.
/// - Once the store runs its thread, a second connection `LISTEN`s for
///   new versions and wakes the store at once; it reconnects with
///   jittered backoff (capped at 2 s) and wakes the store on reconnect,
///   so that it catches up.
/// - While the database is unreachable, fetches fail (the store reports
///   itself degraded, [`Status::degraded`](killswitch::store::Status::degraded))
///   and the last good version keeps serving; connecting is retried
///   with the same backoff.
/// - A version that does not compile (written by another tool) is
///   rejected by the store like a bad file; the last good version keeps
///   serving.
/// - A table that does not exist yet, or has no version, is
///   [`Fetched::Missing`].
///
/// ```no_run
/// use killswitch::store::Store;
/// use killswitch_fleet::PostgresSource;
/// use std::time::Duration;
///
/// let source = PostgresSource::new("postgres://reader@db.internal/flags")?;
/// let store = Store::builder(source)
///     .poll_interval(Duration::from_secs(5))
///     .start()?;
/// if let Some(v) = store.snapshot().source_version() {
///     println!("serving version {} by {}", v.number, v.author);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PostgresSource {
    db: Arc<Database>,
    client: Option<Client>,
    /// The number of the version last fetched; `None` after a connection
    /// loss, so that the newest is fetched (and checked) again.
    last_seen: Option<u64>,
    /// The poll's query, prepared once per connection: a poll is then one
    /// round trip (bind and execute), not three (close the last statement,
    /// parse and describe, execute). Each round trip waits for the
    /// database's backend to be scheduled, which on a saturated host can
    /// take long (see `benches/fleet/README.md`).
    statement: Option<Statement>,
    shared: Arc<Shared>,
    max_config_bytes: usize,
    listen: bool,
    listener: Option<thread::JoinHandle<()>>,
}

/// What the source and its listener thread share.
struct Shared {
    backoff: Mutex<Backoff>,
    stop: AtomicBool,
}

impl PostgresSource {
    /// A source for the database of `url` (see [`Database::new`]). Nothing
    /// is connected until the first fetch.
    pub fn new(url: &str) -> Result<PostgresSource, FleetError> {
        Ok(PostgresSource::from_database(Database::new(url)?))
    }

    /// A source for `db`.
    pub fn from_database(db: Database) -> PostgresSource {
        PostgresSource {
            db: Arc::new(db),
            client: None,
            last_seen: None,
            statement: None,
            shared: Arc::new(Shared {
                backoff: Mutex::new(Backoff::new()),
                stop: AtomicBool::new(false),
            }),
            max_config_bytes: Limits::default().max_config_bytes,
            listen: true,
            listener: None,
        }
    }

    /// Whether to `LISTEN` for new versions (default true). Without it
    /// the store finds them by polling only: for connection poolers that
    /// do not pass `LISTEN`/`NOTIFY` on (PgBouncer in transaction mode),
    /// and to measure what push buys.
    pub fn listen(mut self, on: bool) -> PostgresSource {
        self.listen = on;
        self
    }

    fn fetch_newest(&mut self) -> Result<Fetched, FleetError> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.client = None;
            self.last_seen = None;
            self.statement = None;
            {
                let backoff = self
                    .shared
                    .backoff
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if let Some(e) = backoff.waiting() {
                    return Err(e);
                }
            }
            match self.db.connect() {
                Ok(client) => self.client = Some(client),
                Err(e) => {
                    let mut backoff = self
                        .shared
                        .backoff
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    backoff.failed(&e);
                    return Err(e);
                }
            }
        }
        let Some(client) = self.client.as_mut() else {
            return Err(FleetError::new(
                crate::error::FleetErrorKind::Database,
                "no connection",
            ));
        };
        let after = self
            .last_seen
            .map_or(0, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let max = i64::try_from(self.max_config_bytes).unwrap_or(i64::MAX);
        let rows = match poll_newest(client, &mut self.statement, after, max) {
            Ok(rows) => rows,
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => {
                self.statement = None;
                return Ok(Fetched::Missing);
            }
            Err(e) => {
                self.client = None;
                self.last_seen = None;
                self.statement = None;
                let e = self.db.error("cannot read the newest version", &e);
                let mut backoff = self
                    .shared
                    .backoff
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                backoff.failed(&e);
                return Err(e);
            }
        };
        self.shared
            .backoff
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .succeeded();
        let Some(row) = rows.first() else {
            return Ok(if self.last_seen.is_some() {
                Fetched::NotModified
            } else {
                Fetched::Missing
            });
        };
        let number: i64 = row.get(0);
        let number = u64::try_from(number).unwrap_or(0);
        let format: String = row.get(1);
        let text: Option<String> = row.get(2);
        let size: i32 = row.get(3);
        self.last_seen = Some(number);
        let Some(format) = parse_format(&format) else {
            return Err(FleetError::new(
                crate::error::FleetErrorKind::Database,
                format!("version {number} has an unknown format `{format}`"),
            ));
        };
        let Some(text) = text else {
            return Err(FleetError::new(
                crate::error::FleetErrorKind::Database,
                format!(
                    "version {number} is {size} bytes, over the limit of {} bytes; \
                     the last good version keeps serving",
                    self.max_config_bytes
                ),
            ));
        };
        let author: String = row.get(4);
        let message: String = row.get(5);
        let published_at: SystemTime = row.get(6);
        let version = SourceVersion::new(number, author, message, published_at);
        Ok(Fetched::Published(Box::new(Published::new(
            text, format, version,
        ))))
    }
}

/// The newest version after `after`, its config only if within `max`
/// bytes, through the statement prepared on this connection (preparing it
/// on first use).
fn poll_newest(
    client: &mut Client,
    statement: &mut Option<Statement>,
    after: i64,
    max: i64,
) -> Result<Vec<postgres::Row>, postgres::Error> {
    let prepared = match statement {
        Some(prepared) => prepared.clone(),
        None => {
            let query = format!(
                "SELECT version, format, CASE WHEN octet_length(config) <= $2::bigint THEN config END, \
                 octet_length(config), author, message, created_at \
                 FROM {TABLE} WHERE version > $1 ORDER BY version DESC LIMIT 1"
            );
            let prepared = client.prepare(&query)?;
            *statement = Some(prepared.clone());
            prepared
        }
    };
    client.query(&prepared, &[&after, &max])
}

impl std::fmt::Debug for PostgresSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresSource")
            .field("database", &self.db)
            .field("last_seen", &self.last_seen)
            .finish_non_exhaustive()
    }
}

impl Source for PostgresSource {
    fn name(&self) -> String {
        self.db.name().to_string()
    }

    fn fetch(&mut self) -> Result<Fetched, SourceError> {
        self.fetch_newest().map_err(|e| Box::new(e) as SourceError)
    }

    fn apply_limits(&mut self, limits: &Limits) {
        self.max_config_bytes = limits.max_config_bytes;
    }

    fn subscribe(&mut self, waker: Waker) {
        if !self.listen {
            return;
        }
        let db = Arc::clone(&self.db);
        let shared = Arc::clone(&self.shared);
        let spawned = thread::Builder::new()
            .name("killswitch-pg-listen".into())
            .spawn(move || listen(&db, &shared, &waker));
        // Without the thread the store still polls.
        self.listener = spawned.ok();
    }
}

impl Drop for PostgresSource {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // The listener ends within a tick; it is not waited for.
        drop(self.listener.take());
    }
}

/// The listener thread: `LISTEN` on a connection of its own, wake the
/// store on every notification, reconnect with backoff, and wake the
/// store when the connection is lost (so the store notices at once) and
/// when it is back (so the store catches up).
fn listen(db: &Database, shared: &Shared, waker: &Waker) {
    let mut backoff = Backoff::new();
    let mut was_connected = false;
    while !shared.stop.load(Ordering::SeqCst) {
        let connected = db.connect().and_then(|mut client| {
            client
                .batch_execute(&format!("LISTEN {CHANNEL}"))
                .map_err(|e| db.error("cannot LISTEN", &e))?;
            Ok(client)
        });
        let mut client = match connected {
            Ok(client) => client,
            Err(e) => {
                if was_connected {
                    was_connected = false;
                    if !waker.wake() {
                        return;
                    }
                }
                backoff.failed(&e);
                if !sleep_until(shared, Instant::now() + backoff.delay()) {
                    return;
                }
                continue;
            }
        };
        backoff.succeeded();
        was_connected = true;
        // Back (or first connected): the fetch may retry at once.
        shared
            .backoff
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .succeeded();
        if !waker.wake() {
            return;
        }
        loop {
            if shared.stop.load(Ordering::SeqCst) {
                return;
            }
            let next = {
                let mut notifications = client.notifications();
                let next = notifications.timeout_iter(LISTEN_TICK).next();
                if matches!(next, Ok(Some(_))) {
                    // Several at once wake once.
                    while let Ok(Some(_)) = notifications.iter().next() {}
                }
                next.map(|n| n.is_some())
            };
            match next {
                Ok(true) => {
                    if !waker.wake() {
                        return;
                    }
                }
                Ok(false) if !client.is_closed() => {}
                Ok(false) | Err(_) => break,
            }
        }
        // Lost: tell the store now rather than at its next poll.
        if !waker.wake() {
            return;
        }
    }
}

/// Sleeps until `at`, in ticks; false when told to stop meanwhile.
fn sleep_until(shared: &Shared, at: Instant) -> bool {
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            return false;
        }
        let left = at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        thread::sleep(left.min(LISTEN_TICK));
    }
}
