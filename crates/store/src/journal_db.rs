//! The journal's own database file, beside the cache (`cache.db` → `cache.journal.db`).
//!
//! Why a file of its own: SQLite has one write lock per database file. An audit import commits
//! transactions of hundreds of thousands of events (and rebuilds indexes inside one), a sync
//! replaces a backend's inventory in one transaction, and while any of them holds the cache's
//! write lock every other writer waits. A revocation journals each item before it is sent, so with
//! the journal in the cache an incident waited on an import (and failed after the busy timeout
//! with `database is locked`). In its own file the journal's writers queue only behind each
//! other: one short commit per batch of entries.
//!
//! Nothing joins the journal to a cache table inside SQL (the one reader that needs both, the
//! dead-credential list, reads the journal first and hands its rows to the cache query), so the
//! file is never ATTACHed: an attached database takes part in every `BEGIN IMMEDIATE` of the
//! connection, which would put the cache's lock back in front of the journal.
//!
//! A cache made before the split holds its journal in a `journal` table of the cache file; opening
//! it copies the entries across (`INSERT OR IGNORE`, so a copy interrupted half-way is simply done
//! again) and only then drops the old table.

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::{Result, JOURNAL_BUSY_TIMEOUT};

/// The journal's schema: the table the cache's first migration made, its append-only triggers and
/// the action index (20261122082000), each only if missing.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS journal (
    seq         INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    state       TEXT NOT NULL,
    action_seq  INTEGER,
    detail      TEXT NOT NULL DEFAULT '{}',
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE,
    -- 1: `hash` is an HMAC under the journal key (journal_seal.rs); 0: a plain SHA-256 link.
    sealed      INTEGER NOT NULL DEFAULT 0
);
-- `id`: names this journal's key and recorded head outside the cache.
CREATE TABLE IF NOT EXISTS journal_meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS journal_no_update BEFORE UPDATE ON journal BEGIN
    SELECT RAISE(ABORT, 'journal is append-only');
END;
CREATE TRIGGER IF NOT EXISTS journal_no_delete BEFORE DELETE ON journal BEGIN
    SELECT RAISE(ABORT, 'journal is append-only');
END;
CREATE INDEX IF NOT EXISTS journal_action_seq ON journal (action_seq, seq);
";

/// Where the journal of the cache at `cache` lives.
pub fn journal_path(cache: &Path) -> PathBuf {
    let mut name = cache
        .file_stem()
        .map(|s| s.to_os_string())
        .unwrap_or_default();
    name.push(".journal.db");
    cache.with_file_name(name)
}

/// Opens (creating, 0600) the journal file with the cache's settings and its schema.
pub(crate) async fn open(path: &Path) -> Result<SqlitePool> {
    crate::create_private_file(path)?;
    let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(JOURNAL_BUSY_TIMEOUT);
    let pool = SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(opts)
        .await?;
    sqlx::raw_sql(SCHEMA).execute(&pool).await?;
    add_sealed_column(&pool).await?;
    Ok(pool)
}

/// A journal file made before entries were sealed lacks the column: every entry in it is a plain
/// link, which the column's default says.
async fn add_sealed_column(pool: &SqlitePool) -> Result<()> {
    let has: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pragma_table_info('journal') WHERE name = 'sealed'",
    )
    .fetch_one(pool)
    .await?;
    if has == 0 {
        sqlx::query("ALTER TABLE journal ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0")
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// The journal's id, made (random, 128 bits) the first time it is asked for.
pub(crate) async fn journal_id(pool: &SqlitePool) -> Result<String> {
    sqlx::query(
        "INSERT OR IGNORE INTO journal_meta (key, value) VALUES ('id', lower(hex(randomblob(16))))",
    )
    .execute(pool)
    .await?;
    Ok(
        sqlx::query_scalar("SELECT value FROM journal_meta WHERE key = 'id'")
            .fetch_one(pool)
            .await?,
    )
}

/// A private in-memory journal, for an in-memory cache.
pub(crate) async fn in_memory() -> Result<SqlitePool> {
    let opts = SqliteConnectOptions::from_str("sqlite::memory:")?;
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await?;
    sqlx::raw_sql(SCHEMA).execute(&pool).await?;
    Ok(pool)
}

/// Moves a journal kept in the cache file (before the split) into the journal file.
pub(crate) async fn move_from_cache(cache: &SqlitePool, journal: &SqlitePool) -> Result<()> {
    let legacy: Option<(String,)> =
        sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'journal'")
            .fetch_optional(cache)
            .await?;
    if legacy.is_none() {
        return Ok(());
    }
    type Row = (
        i64,
        String,
        String,
        String,
        String,
        String,
        Option<i64>,
        String,
        String,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT seq, at, actor, action, target, state, action_seq, detail, prev_hash, hash
         FROM journal ORDER BY seq",
    )
    .fetch_all(cache)
    .await?;
    let mut tx = journal.begin().await?;
    for r in rows {
        sqlx::query(
            "INSERT OR IGNORE INTO journal
             (seq, at, actor, action, target, state, action_seq, detail, prev_hash, hash)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(r.0)
        .bind(r.1)
        .bind(r.2)
        .bind(r.3)
        .bind(r.4)
        .bind(r.5)
        .bind(r.6)
        .bind(r.7)
        .bind(r.8)
        .bind(r.9)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    // Dropping a table is not an UPDATE or DELETE: the append-only triggers go with it.
    sqlx::query("DROP TABLE journal").execute(cache).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NewJournalEntry, Store};
    use portcullis_model::{CredentialStatus, JournalState};
    use std::time::Duration;

    fn planned() -> NewJournalEntry<'static> {
        NewJournalEntry {
            actor: "responder",
            action: "revoke",
            target: "bao accessor a1",
            state: JournalState::Planned,
            action_seq: None,
            detail: serde_json::json!({}),
        }
    }

    /// An import or a sync holding the cache's write lock (here a raw connection in the middle of
    /// a write transaction) must not hold up a revocation's journal entries. Before the journal had
    /// its own file this append waited for the busy timeout and failed with "database is locked".
    #[tokio::test(flavor = "multi_thread")]
    async fn the_journal_is_written_while_the_cache_is_locked() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache.db");
        let s = Store::open(&cache).await.unwrap();
        let blocker = rusqlite::Connection::open(&cache).unwrap();
        blocker
            .execute_batch(
                "BEGIN IMMEDIATE; INSERT INTO settings (key, value) VALUES ('held', 'by import');",
            )
            .unwrap();
        let first = s.journal_append(planned()).await.unwrap();
        let mut appender = s.journal_appender().unwrap();
        let seqs = appender.append_batch(&[planned(), planned()]).unwrap();
        assert_eq!(seqs, vec![first.seq + 1, first.seq + 2]);
        // The cache itself is still locked: a status write that may not wait says so at once.
        let status = appender.set_credential_statuses(
            &[(1, "a1".into())],
            CredentialStatus::Revoked,
            Duration::ZERO,
        );
        assert!(
            status.is_err(),
            "the cache was not locked: the test proves nothing"
        );
        blocker.execute_batch("COMMIT").unwrap();
        drop(appender);
        assert!(s.journal_verify().await.unwrap().ok);
    }

    /// A cache from before the split keeps its journal: entries move to the journal's file, the
    /// chain still verifies, the old table is gone, and a move interrupted after the copy is done
    /// again without duplicating anything.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_journal_kept_in_the_cache_moves_to_its_own_file() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache.db");
        let s = Store::open(&cache).await.unwrap();
        s.journal_append_batch(&[planned(), planned(), planned()])
            .await
            .unwrap();
        let head = s.journal_verify().await.unwrap().head;
        s.close().await;
        drop(s);
        // Put the entries back where an older Portcullis kept them; keep the journal file too,
        // as a move interrupted between its copy and its drop would.
        let db = rusqlite::Connection::open(&cache).unwrap();
        db.execute(
            "ATTACH DATABASE ?1 AS j",
            [journal_path(&cache).display().to_string()],
        )
        .unwrap();
        db.execute_batch(
            "CREATE TABLE main.journal AS SELECT * FROM j.journal; DETACH DATABASE j;",
        )
        .unwrap();
        drop(db);

        let s = Store::open(&cache).await.unwrap();
        let v = s.journal_verify().await.unwrap();
        assert!(v.ok, "{}", v.message);
        assert_eq!((v.entries, v.head), (3, head));
        let legacy: Option<(String,)> =
            sqlx::query_as("SELECT name FROM sqlite_master WHERE name = 'journal'")
                .fetch_optional(s.pool())
                .await
                .unwrap();
        assert!(legacy.is_none(), "the cache still holds a journal table");
    }

    #[test]
    fn the_journal_file_sits_beside_the_cache() {
        assert_eq!(
            journal_path(Path::new("/w/cache.db")),
            Path::new("/w/cache.journal.db")
        );
    }
}
