//! The table of config versions, created and migrated by the tool itself.
//!
//! `killswitch_versions` holds one row per version: its number, the
//! config text and its format, a SHA-256 of the text (computed by the
//! database), the author, a message and the time. Triggers make the rows
//! immutable (no `UPDATE`, `DELETE` or `TRUNCATE`) and send
//! `NOTIFY killswitch_versions` with the new number on every insert,
//! whoever inserts. `killswitch_schema` records which migrations ran.

use crate::database::Database;
use crate::error::FleetError;
use postgres::Client;

/// The table of versions.
pub(crate) const TABLE: &str = "killswitch_versions";
/// The channel `NOTIFY` wakes followers on.
pub(crate) const CHANNEL: &str = "killswitch_versions";
/// The advisory lock key publishers and migrations take (an arbitrary
/// constant: "killswit" in ASCII).
pub(crate) const LOCK_KEY: i64 = 0x6b69_6c6c_7377_6974;

/// The migrations, in order; each runs once, in a transaction.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE killswitch_versions (
    version    bigint      PRIMARY KEY CHECK (version > 0),
    format     text        NOT NULL CHECK (format IN ('json', 'yaml', 'toml')),
    config     text        NOT NULL,
    sha256     text,
    author     text        NOT NULL,
    message    text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE FUNCTION killswitch_versions_hash() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.sha256 := encode(sha256(convert_to(NEW.config, 'UTF8')), 'hex');
    RETURN NEW;
END $$;
CREATE TRIGGER killswitch_versions_hash BEFORE INSERT ON killswitch_versions
    FOR EACH ROW EXECUTE FUNCTION killswitch_versions_hash();
CREATE FUNCTION killswitch_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'killswitch config versions are immutable: publish a new version (or roll back) instead';
END $$;
CREATE TRIGGER killswitch_versions_immutable BEFORE UPDATE OR DELETE ON killswitch_versions
    FOR EACH ROW EXECUTE FUNCTION killswitch_versions_immutable();
CREATE TRIGGER killswitch_versions_no_truncate BEFORE TRUNCATE ON killswitch_versions
    FOR EACH STATEMENT EXECUTE FUNCTION killswitch_versions_immutable();
CREATE FUNCTION killswitch_versions_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('killswitch_versions', NEW.version::text);
    RETURN NULL;
END $$;
CREATE TRIGGER killswitch_versions_notify AFTER INSERT ON killswitch_versions
    FOR EACH ROW EXECUTE FUNCTION killswitch_versions_notify();
"#];

/// Creates or migrates the tables, once, under the publishers' lock (so
/// that two tools starting at once do not race).
pub(crate) fn migrate(db: &Database, client: &mut Client) -> Result<(), FleetError> {
    let mut tx = client
        .transaction()
        .map_err(|e| db.error("cannot start a transaction", &e))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .map_err(|e| db.error("cannot take the publish lock", &e))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS killswitch_schema (migration integer PRIMARY KEY)",
    )
    .map_err(|e| db.error("cannot create the table killswitch_schema", &e))?;
    let row = tx
        .query_one(
            "SELECT coalesce(max(migration), 0) FROM killswitch_schema",
            &[],
        )
        .map_err(|e| db.error("cannot read killswitch_schema", &e))?;
    let done: i32 = row.get(0);
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let n = i32::try_from(i + 1).unwrap_or(i32::MAX);
        if n <= done {
            continue;
        }
        tx.batch_execute(sql)
            .map_err(|e| db.error(&format!("cannot run migration {n}"), &e))?;
        tx.execute("INSERT INTO killswitch_schema VALUES ($1)", &[&n])
            .map_err(|e| db.error("cannot record a migration", &e))?;
    }
    tx.commit()
        .map_err(|e| db.error("cannot commit the migrations", &e))
}
