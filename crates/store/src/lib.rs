//! The local cache: one SQLite file per workspace, opened through sqlx.
//!
//! Migrations are embedded and forward-only, run at open. A database written by a newer Portcullis
//! is refused with [`StoreError::SchemaTooNew`] before anything touches it, because a cache is
//! cheap to rebuild and a silently half-understood one is not. The file is created with mode 0600:
//! it holds who-can-do-what for an organisation, even though it never holds a secret.

pub mod access;
mod audit;
mod audit_query;
mod backends;
mod counts;
mod inventory;
mod journal;
mod journal_db;
mod journal_seal;
pub mod reviews;
mod revocation;
mod sync_runs;
mod time;
mod views;

pub use audit::{
    key_time, summary_of, time_key, AuditWriter, PreparedAuditEvent, SEQ_BITS, WRITER_PRAGMAS,
};
pub use audit_query::{
    AuditColumn, AuditFilter, AuditRecord, AuditRow, BucketCounts, ColumnCond, ConsoleFilter,
    ValueMatch, CONSOLE_OWN,
};
pub use backends::{BackendRow, CheckRecord};
pub use inventory::InventoryChanges;
pub use journal::JOURNAL_KEY_BYTES;
pub use journal::{JournalAppender, NewJournalEntry, OpenAction};
pub use journal_db::journal_path;
pub use journal_seal::{JournalSeal, RecordedHead};
pub use revocation::SourceUse;
pub use time::{parse_ts, ts};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, RwLock};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a writer waits for the cache's write lock. An audit import or a sync holds it for a
/// transaction at a time (seconds, for a large import); a campaign decision or a second sync waits
/// that out rather than fail. Revocations never wait on it: the journal has a file of its own.
pub(crate) const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// How long a journal writer waits for the journal's write lock: only other journal writers hold
/// it, one short commit at a time.
pub(crate) const JOURNAL_BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs blocking work without stalling other tasks of a multi-threaded runtime (a current-thread
/// runtime, as in unit tests, has no other worker to hand them to: it just runs it).
fn run_blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// See [`Store::with_raw_connection`].
async fn raw_connection<R>(
    pool: &SqlitePool,
    f: impl FnOnce(rusqlite::Connection) -> Result<R>,
) -> Result<R> {
    let mut conn = pool.acquire().await?;
    let mut handle = conn.lock_handle().await?;
    let raw = handle.as_raw_handle();
    // SAFETY: `raw` is the open connection sqlx owns; `lock_handle` keeps sqlx's worker off it
    // until `handle` drops. rusqlite's `from_handle` does not take ownership (it never closes
    // it), and `f` consumes `db` (statements borrow it, so none outlives `f`) before `handle`
    // drops.
    let db = unsafe { rusqlite::Connection::from_handle(raw.as_ptr()) }?;
    let result = run_blocking(|| f(db));
    drop(handle);
    result
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the cache at {path} was written by a newer Portcullis (schema {found}, this build knows up to {known}); upgrade Portcullis or open another workspace")]
    SchemaTooNew {
        path: String,
        found: i64,
        known: i64,
    },
    #[error("cannot prepare the cache file {path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cache migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cache query failed: {0}")]
    Sql(sqlx::Error),
    /// From the audit bulk writer, which talks to SQLite directly (see `audit.rs`).
    #[error("cache write failed: {0}")]
    Write(rusqlite::Error),
    /// Another writer held the lock past the busy timeout (a long import on the same workspace).
    #[error("the cache stayed busy with another writer (an audit import or a sync on this workspace) for longer than {}s; nothing was written: try again once it has finished", BUSY_TIMEOUT.as_secs())]
    Busy,
    /// The journal writer could not commit; nothing it did not record was sent.
    #[error("the journal could not be written ({0}); nothing was sent that the journal did not record first. Check the disk and the workspace, then resume the revocation")]
    JournalWrite(String),
    #[error("cache holds an unreadable value in {what}: {detail}")]
    Corrupt { what: &'static str, detail: String },
    #[error("{what} `{name}` not found")]
    NotFound { what: &'static str, name: String },
    #[error("{what} `{name}` already exists")]
    Conflict { what: &'static str, name: String },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// SQLITE_BUSY and its extended codes (BUSY_RECOVERY, BUSY_SNAPSHOT, BUSY_TIMEOUT) share the low
/// byte 5.
fn is_busy_code(code: &str) -> bool {
    code.parse::<i32>().is_ok_and(|c| c & 0xff == 5)
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.code().is_some_and(|c| is_busy_code(&c)) => {
                StoreError::Busy
            }
            _ => StoreError::Sql(e),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DatabaseBusy => {
                StoreError::Busy
            }
            _ => StoreError::Write(e),
        }
    }
}

/// A handle on the cache. Cheap to clone (a pool inside).
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    /// The journal's own file (see `journal_db.rs`): its writers never wait on the cache's.
    journal_pool: SqlitePool,
    path: Option<PathBuf>,
    /// The journal appender's own connection between runs (see [`JournalAppender`]).
    journal_connection: Arc<Mutex<Option<rusqlite::Connection>>>,
    /// The journal's key and the head recorded outside the cache, as the engine set them.
    seal: Arc<RwLock<JournalSeal>>,
}

impl Store {
    /// Opens (creating if needed) the cache file and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Store> {
        create_private_file(path)?;
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        let store = Store {
            pool,
            journal_pool: journal_db::open(&journal_db::journal_path(path)).await?,
            path: Some(path.to_path_buf()),
            journal_connection: Arc::default(),
            seal: Arc::default(),
        };
        store.migrate().await?;
        journal_db::move_from_cache(&store.pool, &store.journal_pool).await?;
        Ok(store)
    }

    /// A private in-memory cache, for tests.
    pub async fn in_memory() -> Result<Store> {
        let opts = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
        // One connection: every connection to `:memory:` would be its own database.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await?;
        let store = Store {
            pool,
            journal_pool: journal_db::in_memory().await?,
            path: None,
            journal_connection: Arc::default(),
            seal: Arc::default(),
        };
        store.migrate().await?;
        journal_db::move_from_cache(&store.pool, &store.journal_pool).await?;
        Ok(store)
    }

    /// Runs `f` on one pooled connection, driven directly through rusqlite: for work of many
    /// statements or rows, each of which would otherwise be a hand-off to sqlx's worker thread.
    /// `f` blocks (plain SQLite work); on a multi-threaded runtime it runs in `block_in_place`.
    /// `f` gets the connection by value so that it, and every statement prepared on it, is gone
    /// before sqlx takes the connection back.
    pub(crate) async fn with_raw_connection<R>(
        &self,
        f: impl FnOnce(rusqlite::Connection) -> Result<R>,
    ) -> Result<R> {
        raw_connection(&self.pool, f).await
    }

    /// [`Store::with_raw_connection`] on the journal's file.
    pub(crate) async fn with_raw_journal_connection<R>(
        &self,
        f: impl FnOnce(rusqlite::Connection) -> Result<R>,
    ) -> Result<R> {
        raw_connection(&self.journal_pool, f).await
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The newest schema version this build understands.
    pub fn known_schema_version() -> i64 {
        MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
    }

    async fn migrate(&self) -> Result<()> {
        let has_table: Option<(String,)> = sqlx::query_as(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_optional(&self.pool)
        .await?;
        if has_table.is_some() {
            let (found,): (Option<i64>,) =
                sqlx::query_as("SELECT MAX(version) FROM _sqlx_migrations")
                    .fetch_one(&self.pool)
                    .await?;
            let known = Self::known_schema_version();
            if let Some(found) = found.filter(|f| *f > known) {
                return Err(StoreError::SchemaTooNew {
                    path: self
                        .path
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| ":memory:".into()),
                    found,
                    known,
                });
            }
        }
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
        self.journal_pool.close().await;
    }
}

/// Creates the database file with mode 0600 before SQLite does (SQLite would use the umask), and
/// tightens an existing file that is more open than that.
pub(crate) fn create_private_file(path: &Path) -> Result<()> {
    let err = |source| StoreError::File {
        path: path.display().to_string(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(err)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
    }
    #[cfg(not(unix))]
    {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn opens_twice_and_migrations_are_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.db");
        let s = Store::open(&path).await.unwrap();
        s.close().await;
        let s = Store::open(&path).await.unwrap();
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM _sqlx_migrations")
            .fetch_one(s.pool())
            .await
            .unwrap();
        assert_eq!(n as usize, MIGRATOR.iter().count());
    }

    /// The cache as the release before the dedup index left it, with events, migrated: every
    /// event kept with its id, the full-text index still answering, duplicates still refused.
    #[tokio::test]
    async fn the_dedup_index_migration_keeps_every_event() {
        const DEDUP_INDEX: i64 = 20261208010000;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.db");
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .unwrap()
            .create_if_missing(true)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await
            .unwrap();
        let earlier: Vec<_> = MIGRATOR
            .iter()
            .filter(|m| m.version < DEDUP_INDEX)
            .cloned()
            .collect();
        sqlx::migrate::Migrator::with_migrations(earlier)
            .run(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO backends (id, name, kind, url, credential_ref, created_at) VALUES (1, 'b', 'vault', 'http://x', '{}', '2026-01-01')")
            .execute(&pool)
            .await
            .unwrap();
        let ms: i64 = 1_764_583_200_000;
        for (i, key) in ["k1", "k2", "k3"].iter().enumerate() {
            sqlx::query("INSERT INTO audit_events (id, backend_id, dedup_key, at, actor, action, outcome, raw, summary) VALUES (?1, 1, ?2, '2025-12-01T10:00:00Z', 'alice', 'read', 'allow', '{}', 'billing')")
                .bind((ms << 20) + i as i64)
                .bind(key)
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
        let s = Store::open(&path).await.unwrap();
        let (rows, first, fts, ok): (i64, i64, i64, String) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM audit_events), (SELECT MIN(id) FROM audit_events),
                    (SELECT COUNT(*) FROM audit_fts WHERE audit_fts MATCH 'billing'),
                    (SELECT group_concat(integrity_check) FROM pragma_integrity_check)",
        )
        .fetch_one(s.pool())
        .await
        .unwrap();
        assert_eq!((rows, first, fts, ok.as_str()), (3, ms << 20, 3, "ok"));
        let again = sqlx::query("INSERT OR IGNORE INTO audit_events (id, backend_id, dedup_key, at, action, outcome, raw) VALUES (?1, 1, 'k2', '2025-12-01T10:00:00Z', 'read', 'allow', '{}')")
            .bind((ms << 20) + 7)
            .execute(s.pool())
            .await
            .unwrap();
        assert_eq!(
            again.rows_affected(),
            0,
            "the same event in the same millisecond"
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn database_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.db");
        Store::open(&path).await.unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[tokio::test]
    async fn newer_schema_is_refused_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.db");
        let s = Store::open(&path).await.unwrap();
        let future = Store::known_schema_version() + 1;
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time)
             VALUES (?, 'from the future', CURRENT_TIMESTAMP, 1, x'00', 0)",
        )
        .bind(future)
        .execute(s.pool())
        .await
        .unwrap();
        s.close().await;
        match Store::open(&path).await {
            Err(StoreError::SchemaTooNew { found, known, .. }) => {
                assert_eq!(found, future);
                assert_eq!(known, future - 1);
            }
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn foreign_keys_and_fts5_are_available() {
        let s = Store::in_memory().await.unwrap();
        let (fk,): (i64,) = sqlx::query_as("PRAGMA foreign_keys")
            .fetch_one(s.pool())
            .await
            .unwrap();
        assert_eq!(fk, 1);
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_fts")
            .fetch_one(s.pool())
            .await
            .unwrap();
        assert_eq!(n, 0);
    }

    #[tokio::test]
    async fn journal_rejects_update_and_delete() {
        let s = Store::in_memory().await.unwrap();
        sqlx::query(
            "INSERT INTO journal (at, actor, action, target, state, prev_hash, hash)
             VALUES ('2026-01-01T00:00:00Z', 'me', 'revoke', 'x', 'planned', '', 'h1')",
        )
        .execute(&s.journal_pool)
        .await
        .unwrap();
        let upd = sqlx::query("UPDATE journal SET state = 'sent'")
            .execute(&s.journal_pool)
            .await;
        assert!(upd.unwrap_err().to_string().contains("append-only"));
        let del = sqlx::query("DELETE FROM journal")
            .execute(&s.journal_pool)
            .await;
        assert!(del.unwrap_err().to_string().contains("append-only"));
    }

    /// A write that found the cache locked past its wait says so, in both SQLite paths, instead
    /// of "database is locked" behind a generic storage error.
    #[tokio::test]
    async fn a_cache_locked_by_another_writer_is_a_busy_error() {
        use sqlx::ConnectOptions;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let holder = rusqlite::Connection::open(&path).unwrap();
        holder
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1);",
            )
            .unwrap();
        let waiter = rusqlite::Connection::open(&path).unwrap();
        waiter.busy_timeout(std::time::Duration::ZERO).unwrap();
        let e = StoreError::from(waiter.execute("INSERT INTO t VALUES (2)", []).unwrap_err());
        assert!(matches!(e, StoreError::Busy), "{e:?}");
        assert!(
            e.to_string().contains("try again once it has finished"),
            "{e}"
        );

        let mut conn = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .unwrap()
            .busy_timeout(std::time::Duration::ZERO)
            .connect()
            .await
            .unwrap();
        let e = StoreError::from(
            sqlx::query("INSERT INTO t VALUES (3)")
                .execute(&mut conn)
                .await
                .unwrap_err(),
        );
        assert!(matches!(e, StoreError::Busy), "{e:?}");
    }
}
