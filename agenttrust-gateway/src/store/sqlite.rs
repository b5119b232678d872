//! `--db PATH`: the records in SQLite, so a gateway survives restarts.
//!
//! Memory stays the working set; the database holds every record as JSON
//! under its id, and every telemetry event in arrival order (memory keeps
//! only the newest, `events.rs`; a restart counts them all), with a versioned schema
//! (`PRAGMA user_version`, migrations applied in order). WAL mode with
//! `synchronous = FULL`: a commit is on disk before the answer that
//! acknowledged it leaves. A commit writes the records that changed since
//! the last one (compared by their JSON) in one transaction.
//! The check log (`GatewayHandle::checks`) is not stored.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rusqlite::{params, Connection, OptionalExtension};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Approval, Data, Delegation, EventLog, FederationToken};

/// The schema this gateway writes; a file with a newer one is refused.
pub(crate) const SCHEMA_VERSION: i64 = 2;

/// What each schema version adds, in order (index 0 makes version 1).
const MIGRATIONS: [&str; 2] = [
    "
    CREATE TABLE agenttrust_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO agenttrust_meta (key, value) VALUES ('application', 'agenttrust-gateway');
    CREATE TABLE agents (id TEXT PRIMARY KEY, record TEXT NOT NULL);
    CREATE TABLE tokens (id TEXT PRIMARY KEY, record TEXT NOT NULL);
    CREATE TABLE sessions (id TEXT PRIMARY KEY, record TEXT NOT NULL);
    CREATE TABLE approvals (id TEXT PRIMARY KEY, record TEXT NOT NULL);
    CREATE TABLE events (seq INTEGER PRIMARY KEY, record TEXT NOT NULL);
",
    "
    CREATE TABLE delegations (id TEXT PRIMARY KEY, record TEXT NOT NULL);
    CREATE TABLE cards (id TEXT PRIMARY KEY, record TEXT NOT NULL);
    CREATE TABLE tasks (id TEXT PRIMARY KEY, record TEXT NOT NULL);
    CREATE TABLE destinations (id TEXT PRIMARY KEY, record TEXT NOT NULL);
    CREATE TABLE providers (id TEXT PRIMARY KEY, record TEXT NOT NULL);
    CREATE TABLE federation_tokens (id TEXT PRIMARY KEY, record TEXT NOT NULL);
    CREATE TABLE revoked_id_tokens (id TEXT PRIMARY KEY, record TEXT NOT NULL);
    CREATE TABLE mcp_servers (id TEXT PRIMARY KEY, record TEXT NOT NULL);
",
];

const TABLES: [&str; 12] = [
    "agents",
    "tokens",
    "sessions",
    "approvals",
    "delegations",
    "cards",
    "tasks",
    "destinations",
    "providers",
    "federation_tokens",
    "revoked_id_tokens",
    "mcp_servers",
];

/// A database that cannot be used; the gateway does not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DbError {
    /// Not SQLite, or damaged.
    #[error(
        "{path} is not a usable agenttrust-gateway database (corrupt, or not SQLite): {source}"
    )]
    Unreadable {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// Another program's database.
    #[error("{path} is an SQLite database of another program (it has tables but no agenttrust-gateway marker); refusing to touch it")]
    Foreign { path: PathBuf },
    /// Written by a newer gateway.
    #[error("{path} has schema version {found}, newer than this gateway's {SCHEMA_VERSION}: use a newer agenttrust-gateway")]
    Newer { path: PathBuf, found: i64 },
    /// A stored record that does not decode.
    #[error("{path}: a stored {table} record does not decode: {message}")]
    Record {
        path: PathBuf,
        table: &'static str,
        message: String,
    },
}

/// The open database, and what it holds already.
pub(crate) struct Db {
    path: PathBuf,
    conn: Connection,
    /// The JSON hash of each stored record, by table and id.
    stored: HashMap<(&'static str, String), u64>,
    /// How many events the log had received at the last commit.
    events_stored: u64,
}

fn hash_of(json: &str) -> u64 {
    let mut h = DefaultHasher::new();
    json.hash(&mut h);
    h.finish()
}

impl Db {
    /// Opens (or creates) the database at `path` and brings its schema up
    /// to date.
    pub(crate) fn open(path: &Path) -> Result<Db, DbError> {
        let unreadable = |source| DbError::Unreadable {
            path: path.to_owned(),
            source,
        };
        let mut conn = Connection::open(path).map_err(unreadable)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(unreadable)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(%mode, "SQLite did not switch to WAL mode");
        }
        conn.execute_batch("PRAGMA synchronous = FULL;")
            .map_err(unreadable)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(unreadable)?;
        if version > SCHEMA_VERSION {
            return Err(DbError::Newer {
                path: path.to_owned(),
                found: version,
            });
        }
        if version == 0 {
            let tables: i64 = conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                    [],
                    |r| r.get(0),
                )
                .map_err(unreadable)?;
            if tables > 0 {
                return Err(DbError::Foreign {
                    path: path.to_owned(),
                });
            }
        } else {
            let marker: Option<String> = conn
                .query_row(
                    "SELECT value FROM agenttrust_meta WHERE key = 'application'",
                    [],
                    |r| r.get(0),
                )
                .optional()
                .map_err(unreadable)?;
            if marker.as_deref() != Some("agenttrust-gateway") {
                return Err(DbError::Foreign {
                    path: path.to_owned(),
                });
            }
        }
        for (index, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.transaction().map_err(unreadable)?;
            tx.execute_batch(migration).map_err(unreadable)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", index + 1))
                .map_err(unreadable)?;
            tx.commit().map_err(unreadable)?;
        }
        Ok(Db {
            path: path.to_owned(),
            conn,
            stored: HashMap::new(),
            events_stored: 0,
        })
    }

    /// A failed read of this database.
    fn unreadable(&self, source: rusqlite::Error) -> DbError {
        DbError::Unreadable {
            path: self.path.clone(),
            source,
        }
    }

    fn rows(&self, table: &'static str) -> Result<Vec<(String, String)>, DbError> {
        let unreadable = |source| self.unreadable(source);
        let sql = format!("SELECT id, record FROM {table}");
        let mut stmt = self.conn.prepare(&sql).map_err(unreadable)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(unreadable)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(unreadable)
    }

    fn decode<T: DeserializeOwned>(&self, table: &'static str, json: &str) -> Result<T, DbError> {
        serde_json::from_str(json).map_err(|e| DbError::Record {
            path: self.path.clone(),
            table,
            message: e.to_string(),
        })
    }

    /// A stored `expires_at` as a time.
    fn time(&self, table: &'static str, rfc3339: &str) -> Result<SystemTime, DbError> {
        time_of(rfc3339).ok_or_else(|| DbError::Record {
            path: self.path.clone(),
            table,
            message: format!("bad expires_at `{rfc3339}`"),
        })
    }

    /// Everything stored, as the gateway's records.
    pub(crate) fn load(&mut self, event_log: usize) -> Result<Data, DbError> {
        let mut data = Data::with_event_log(event_log);
        for table in TABLES {
            for (id, json) in self.rows(table)? {
                match table {
                    "agents" => {
                        data.agents.insert(id.clone(), self.decode(table, &json)?);
                    }
                    "tokens" => {
                        data.tokens.insert(id.clone(), self.decode(table, &json)?);
                    }
                    "sessions" => {
                        data.sessions.insert(id.clone(), self.decode(table, &json)?);
                    }
                    "cards" => {
                        data.cards.insert(id.clone(), self.decode(table, &json)?);
                    }
                    "tasks" => {
                        data.tasks.insert(id.clone(), self.decode(table, &json)?);
                    }
                    "destinations" => {
                        data.destinations
                            .insert(id.clone(), self.decode(table, &json)?);
                    }
                    "providers" => {
                        data.providers
                            .insert(id.clone(), self.decode(table, &json)?);
                    }
                    "mcp_servers" => {
                        data.mcp_servers
                            .insert(id.clone(), self.decode(table, &json)?);
                    }
                    "federation_tokens" => {
                        let mut token: FederationToken = self.decode(table, &json)?;
                        token.expires = self.time(table, &token.expires_at)?;
                        data.federation_tokens.insert(id.clone(), token);
                    }
                    "revoked_id_tokens" => {
                        data.revoked_id_tokens
                            .insert(id.clone(), self.decode(table, &json)?);
                    }
                    "delegations" => {
                        let mut delegation: Delegation = self.decode(table, &json)?;
                        delegation.expires = self.time(table, &delegation.expires_at)?;
                        data.delegations.insert(id.clone(), delegation);
                    }
                    _ => {
                        let mut approval: Approval = self.decode(table, &json)?;
                        approval.expires = self.time(table, &approval.expires_at)?;
                        approval.decided = approval.decided_at.as_deref().and_then(time_of);
                        data.approvals.insert(id.clone(), approval);
                    }
                }
                self.stored.insert((table, id), hash_of(&json));
            }
        }
        self.load_events(&mut data.events)?;
        self.events_stored = data.events.received(None, None);
        Ok(data)
    }

    /// Every stored event, in order, into `log` (which counts them all and
    /// keeps the newest), one row at a time: a long log is never all in
    /// memory at once.
    fn load_events(&self, log: &mut EventLog) -> Result<(), DbError> {
        let unreadable = |source| self.unreadable(source);
        let mut stmt = self
            .conn
            .prepare("SELECT record FROM events ORDER BY seq")
            .map_err(unreadable)?;
        let mut rows = stmt.query([]).map_err(unreadable)?;
        while let Some(row) = rows.next().map_err(unreadable)? {
            let json: String = row.get(0).map_err(unreadable)?;
            log.push(self.decode("events", &json)?);
        }
        Ok(())
    }

    /// Writes what changed since the last commit, in one durable transaction.
    pub(crate) fn commit(&mut self, data: &Data) -> Result<(), rusqlite::Error> {
        let mut changed: Vec<(&'static str, String, String)> = Vec::new();
        let mut collect = |table: &'static str, id: &str, record: &dyn erased::Json| {
            let json = record.json();
            if self.stored.get(&(table, id.to_owned())) != Some(&hash_of(&json)) {
                changed.push((table, id.to_owned(), json));
            }
        };
        for (id, r) in &data.agents {
            collect("agents", id, r);
        }
        for (id, r) in &data.tokens {
            collect("tokens", id, r);
        }
        for (id, r) in &data.sessions {
            collect("sessions", id, r);
        }
        for (id, r) in &data.approvals {
            collect("approvals", id, r);
        }
        for (id, r) in &data.delegations {
            collect("delegations", id, r);
        }
        for (id, r) in &data.cards {
            collect("cards", id, r);
        }
        for (id, r) in &data.tasks {
            collect("tasks", id, r);
        }
        for (id, r) in &data.destinations {
            collect("destinations", id, r);
        }
        for (id, r) in &data.providers {
            collect("providers", id, r);
        }
        for (id, r) in &data.federation_tokens {
            collect("federation_tokens", id, r);
        }
        for (id, r) in &data.revoked_id_tokens {
            collect("revoked_id_tokens", id, r);
        }
        for (id, r) in &data.mcp_servers {
            collect("mcp_servers", id, r);
        }
        // The report route refuses more events than the log keeps, so the
        // events appended since the last commit are all still kept.
        let unwritten = usize::try_from(data.events.received(None, None) - self.events_stored)
            .unwrap_or(usize::MAX);
        if unwritten > data.events.kept().len() {
            tracing::error!(
                unwritten,
                kept = data.events.kept().len(),
                "telemetry events left the log before they were stored"
            );
        }
        if changed.is_empty() && unwritten == 0 {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        for (table, id, json) in &changed {
            tx.execute(
                &format!("INSERT OR REPLACE INTO {table} (id, record) VALUES (?1, ?2)"),
                params![id, json],
            )?;
        }
        for event in data.events.newest(unwritten) {
            let json = serde_json::to_string(&event.record()).unwrap_or_default();
            tx.execute("INSERT INTO events (record) VALUES (?1)", params![json])?;
        }
        tx.commit()?;
        for (table, id, json) in changed {
            self.stored.insert((table, id), hash_of(&json));
        }
        self.events_stored = data.events.received(None, None);
        Ok(())
    }
}

fn time_of(rfc3339: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339(rfc3339).ok()
}

/// Serializing records of different types through one closure.
mod erased {
    pub(super) trait Json {
        fn json(&self) -> String;
    }
    impl<T: super::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}
