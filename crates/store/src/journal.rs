//! The append-only, hash-chained journal. Each entry's hash covers its content and the previous
//! entry's hash, so changing, removing or reordering any entry breaks every hash after it; entries
//! written with the journal key at hand are sealed (an HMAC, see `journal_seal.rs`), which a copy
//! of the files alone cannot forge. SQL triggers refuse UPDATE and DELETE; a state change of an
//! action is a new entry pointing at the action's first one.

use chrono::Utc;
use portcullis_model::{CredentialStatus, JournalEntry, JournalState, JournalVerification};
use rusqlite::{params, TransactionBehavior};
use sqlx::Row;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::journal_seal::{digest, ChainCheck, Fields, JournalSeal, RecordedHead, KEY_BYTES};
use crate::{parse_ts, ts, Result, Store, StoreError};

/// An action the journal shows as started and not finished.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenAction {
    /// The action's first (`planned`) entry.
    pub first: JournalEntry,
    /// The latest state recorded for it.
    pub last_state: JournalState,
    /// How many `sent` entries it has: how many times it may have reached the backend.
    pub sends: u32,
}

/// What a caller supplies; seq, time and hashes are the store's.
#[derive(Debug, Clone)]
pub struct NewJournalEntry<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub state: JournalState,
    pub action_seq: Option<i64>,
    pub detail: serde_json::Value,
}

fn row_to_entry(r: &sqlx::sqlite::SqliteRow) -> Result<JournalEntry> {
    let at: String = r.try_get("at")?;
    let state: String = r.try_get("state")?;
    let detail: String = r.try_get("detail")?;
    Ok(JournalEntry {
        seq: r.try_get("seq")?,
        at: parse_ts(&at).ok_or_else(|| StoreError::Corrupt {
            what: "journal.at",
            detail: at.clone(),
        })?,
        actor: r.try_get("actor")?,
        action: r.try_get("action")?,
        target: r.try_get("target")?,
        state: JournalState::parse(&state).ok_or_else(|| StoreError::Corrupt {
            what: "journal.state",
            detail: state.clone(),
        })?,
        action_seq: r.try_get("action_seq")?,
        detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

impl Store {
    /// Appends one entry (durably: the transaction commits before this returns).
    pub async fn journal_append(&self, e: NewJournalEntry<'_>) -> Result<JournalEntry> {
        let mut out = self.journal_append_batch(std::slice::from_ref(&e)).await?;
        out.pop().ok_or_else(|| StoreError::Corrupt {
            what: "journal",
            detail: "an append returned no entry".into(),
        })
    }

    /// Appends several entries in one transaction, in order, chained to each other (see
    /// [`append_chain`]). A run that appends many batches uses a [`JournalAppender`] instead.
    pub async fn journal_append_batch(
        &self,
        entries: &[NewJournalEntry<'_>],
    ) -> Result<Vec<JournalEntry>> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let key = self.journal_seal().key().copied();
        let chained = self
            .with_raw_journal_connection(|mut db| append_chain(&mut db, entries, key.as_ref()))
            .await?;
        Ok(chained
            .into_iter()
            .zip(entries)
            .map(|(c, e)| c.entry(e))
            .collect())
    }

    /// Entries in order, optionally only those after `after_seq`.
    pub async fn journal_entries(&self, after_seq: i64, limit: i64) -> Result<Vec<JournalEntry>> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, target, state, action_seq, detail, prev_hash, hash
             FROM journal WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.journal_pool)
        .await?;
        rows.iter().map(row_to_entry).collect()
    }

    /// Actions whose latest entry is not final (planned, sent or confirmed without verification):
    /// what a crash left unfinished. Returns each action's first entry.
    pub async fn journal_unfinished(&self) -> Result<Vec<JournalEntry>> {
        Ok(self
            .journal_open_actions()
            .await?
            .into_iter()
            .map(|a| a.first)
            .collect())
    }

    /// Unfinished actions with the last state the journal holds for each and how many times each
    /// was marked sent: what resumption decides on.
    pub async fn journal_open_actions(&self) -> Result<Vec<OpenAction>> {
        let rows = sqlx::query(
            "SELECT j.seq, j.at, j.actor, j.action, j.target, j.state, j.action_seq, j.detail, j.prev_hash, j.hash,
                    (SELECT f.state FROM journal f WHERE f.action_seq = j.seq ORDER BY f.seq DESC LIMIT 1) AS last_state,
                    (SELECT COUNT(*) FROM journal f WHERE f.action_seq = j.seq AND f.state = 'sent') AS sends
             FROM journal j
             WHERE j.action_seq IS NULL
               AND NOT EXISTS (SELECT 1 FROM journal f WHERE f.action_seq = j.seq AND f.state IN ('verified', 'failed'))
             ORDER BY j.seq",
        )
        .fetch_all(&self.journal_pool)
        .await?;
        rows.iter()
            .map(|r| {
                let first = row_to_entry(r)?;
                let last: Option<String> = r.try_get("last_state")?;
                let last_state = match last {
                    None => first.state,
                    Some(s) => JournalState::parse(&s).ok_or_else(|| StoreError::Corrupt {
                        what: "journal.state",
                        detail: s.clone(),
                    })?,
                };
                Ok(OpenAction {
                    first,
                    last_state,
                    sends: r.try_get::<i64, _>("sends")?.max(0) as u32,
                })
            })
            .collect()
    }

    /// The last state of every action that names `incident_seq` as its incident (in its first
    /// entry's `detail.incident`), in order of the actions.
    pub async fn journal_incident_states(
        &self,
        incident_seq: i64,
    ) -> Result<Vec<(i64, JournalState)>> {
        let rows: Vec<(i64, String, Option<String>)> = sqlx::query_as(
            "SELECT j.seq, j.state,
                    (SELECT f.state FROM journal f WHERE f.action_seq = j.seq ORDER BY f.seq DESC LIMIT 1)
             FROM journal j
             WHERE j.action_seq IS NULL AND j.action = 'revoke'
               AND json_valid(j.detail) AND json_extract(j.detail, '$.incident') = ?
             ORDER BY j.seq",
        )
        .bind(incident_seq)
        .fetch_all(&self.journal_pool)
        .await?;
        rows.into_iter()
            .map(|(seq, first, last)| {
                let s = last.unwrap_or(first);
                let state = JournalState::parse(&s).ok_or_else(|| StoreError::Corrupt {
                    what: "journal.state",
                    detail: s.clone(),
                })?;
                Ok((seq, state))
            })
            .collect()
    }

    /// Every entry of the newest revocation that names credential `credential_id` (its first
    /// entry's `detail.credential_id`) or one of `keys` (`detail.key`, e.g.
    /// `openbao:token:<fingerprint>` for a token revoked by its value), in order; empty when
    /// the journal holds none.
    pub async fn journal_revocation_of(
        &self,
        credential_id: Option<i64>,
        keys: &[String],
    ) -> Result<Vec<JournalEntry>> {
        let keys = serde_json::to_string(keys).unwrap_or_else(|_| "[]".into());
        let seq: Option<i64> = sqlx::query_scalar(
            "SELECT seq FROM journal
             WHERE action_seq IS NULL AND action = 'revoke' AND json_valid(detail)
               AND (json_extract(detail, '$.credential_id') = ?1
                    OR json_extract(detail, '$.key') IN (SELECT value FROM json_each(?2)))
             ORDER BY seq DESC LIMIT 1",
        )
        .bind(credential_id)
        .bind(keys)
        .fetch_optional(&self.journal_pool)
        .await?;
        match seq {
            Some(seq) => self.journal_action(seq).await,
            None => Ok(Vec::new()),
        }
    }

    /// Every entry of one action (its first entry and its state changes), in order.
    pub async fn journal_action(&self, seq: i64) -> Result<Vec<JournalEntry>> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, target, state, action_seq, detail, prev_hash, hash
             FROM journal WHERE seq = ?1 OR action_seq = ?1 ORDER BY seq",
        )
        .bind(seq)
        .fetch_all(&self.journal_pool)
        .await?;
        rows.iter().map(row_to_entry).collect()
    }

    /// Recomputes every hash, link and seal, and looks for the head recorded outside the cache
    /// (see `journal_seal.rs` for what each failure means).
    pub async fn journal_verify(&self) -> Result<JournalVerification> {
        let seal = self.journal_seal();
        let mut check = ChainCheck::new(&seal);
        let mut after = 0;
        loop {
            let batch = sqlx::query(
                "SELECT seq, at, actor, action, target, state, action_seq, detail, prev_hash, hash, sealed
                 FROM journal WHERE seq > ? ORDER BY seq LIMIT 5000",
            )
            .bind(after)
            .fetch_all(&self.journal_pool)
            .await?;
            if batch.is_empty() {
                return Ok(check.finish(None));
            }
            for r in &batch {
                let e = row_to_entry(r)?;
                let sealed: bool = r.try_get("sealed")?;
                if let Some(problem) = check.entry(&e, sealed)? {
                    return Ok(check.finish(Some((e.seq, problem))));
                }
                after = e.seq;
            }
        }
    }

    /// The journal's key and recorded head as the engine last set them.
    pub fn journal_seal(&self) -> JournalSeal {
        self.seal
            .read()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Sets the key that seals new entries and the head recorded outside the cache.
    pub fn set_journal_seal(&self, seal: JournalSeal) {
        match self.seal.write() {
            Ok(mut s) => *s = seal,
            Err(p) => *p.into_inner() = seal,
        }
    }

    /// The journal's last entry, as the head to record outside the cache; also remembered here,
    /// so this process's own verification expects it.
    pub async fn journal_head_to_record(&self) -> Result<Option<RecordedHead>> {
        let head: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&self.journal_pool)
                .await?;
        let head = head.map(|(seq, hash)| RecordedHead { seq, hash });
        if let Some(h) = &head {
            match self.seal.write() {
                Ok(mut s) => s.set_recorded_head(h.clone()),
                Err(p) => p.into_inner().set_recorded_head(h.clone()),
            }
        }
        Ok(head)
    }

    /// The journal file's own id: names its key and recorded head outside the cache.
    pub async fn journal_id(&self) -> Result<String> {
        crate::journal_db::journal_id(&self.journal_pool).await
    }

    /// Whether any entry is sealed: a key must then not be made anew (the old entries could no
    /// longer be checked).
    pub async fn journal_has_sealed_entries(&self) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM journal WHERE sealed = 1")
            .fetch_one(&self.journal_pool)
            .await?;
        Ok(n > 0)
    }
}

/// The length of the journal key, for callers that make one.
pub const JOURNAL_KEY_BYTES: usize = KEY_BYTES;

/// Appends `entries` in one transaction, in order, each chained to the one before: one commit for
/// many actions, which is what lets a bulk revocation journal every state change of every item
/// before it acts on it without the journal becoming the bottleneck.
///
/// The transaction starts with `BEGIN IMMEDIATE`, so the writer holds SQLite's write lock from the
/// moment it reads the chain's head: concurrent writers (two processes on one workspace) queue on
/// the busy timeout instead of failing on a stale head.
///
/// Returns what the store decided for each entry, in order; [`Chained::entry`] makes the full
/// entry for callers who want it (a bulk run wants only the seqs).
pub(crate) fn append_chain(
    db: &mut rusqlite::Connection,
    entries: &[NewJournalEntry<'_>],
    key: Option<&[u8; KEY_BYTES]>,
) -> Result<Vec<Chained>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    // Compact JSON, the same text `Display` gives, without going through a formatter.
    let details = entries
        .iter()
        .map(|e| serde_json::to_string(&e.detail))
        .collect::<std::result::Result<Vec<String>, _>>()
        .map_err(|e| StoreError::Corrupt {
            what: "journal.detail",
            detail: e.to_string(),
        })?;
    for _ in 0..8 {
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let last: Option<(i64, String)> = {
            let mut head =
                tx.prepare_cached("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1")?;
            let mut rows = head.query([])?;
            match rows.next()? {
                Some(r) => Some((r.get(0)?, r.get(1)?)),
                None => None,
            }
        };
        let (mut seq, mut prev) = last.unwrap_or((0, String::new()));
        let at = ts(Utc::now());
        let at_parsed = parse_ts(&at).unwrap_or_else(Utc::now);
        let mut written = Vec::with_capacity(entries.len());
        let mut conflict = false;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO journal (seq, at, actor, action, target, state, action_seq, detail, prev_hash, hash, sealed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            for (e, detail) in entries.iter().zip(&details) {
                seq += 1;
                let hash = digest(
                    key,
                    &Fields {
                        prev: &prev,
                        seq,
                        at: &at,
                        actor: e.actor,
                        action: e.action,
                        target: e.target,
                        state: e.state.as_str(),
                        action_seq: e.action_seq,
                        detail,
                    },
                )?;
                match insert.execute(params![
                    seq,
                    at,
                    e.actor,
                    e.action,
                    e.target,
                    e.state.as_str(),
                    e.action_seq,
                    detail,
                    prev,
                    hash,
                    key.is_some()
                ]) {
                    Ok(_) => {}
                    // Another writer took this seq (only possible without the immediate lock,
                    // e.g. an older Portcullis on the same file): read the new head and retry.
                    Err(rusqlite::Error::SqliteFailure(f, _))
                        if f.code == rusqlite::ErrorCode::ConstraintViolation
                            && matches!(
                                f.extended_code,
                                rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                                    | rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                            ) =>
                    {
                        conflict = true;
                        break;
                    }
                    Err(other) => return Err(other.into()),
                }
                written.push(Chained {
                    seq,
                    at: at_parsed,
                    prev_hash: std::mem::replace(&mut prev, hash.clone()),
                    hash,
                });
            }
        }
        if conflict {
            // Dropping the transaction rolls it back.
            continue;
        }
        tx.commit()?;
        return Ok(written);
    }
    Err(StoreError::Conflict {
        what: "journal sequence",
        name: "contended".into(),
    })
}

/// What the store decided for an appended entry.
pub(crate) struct Chained {
    pub seq: i64,
    pub at: chrono::DateTime<Utc>,
    pub prev_hash: String,
    pub hash: String,
}

impl Chained {
    /// The whole entry, from what the caller supplied and what the store decided.
    pub(crate) fn entry(self, e: &NewJournalEntry<'_>) -> JournalEntry {
        JournalEntry {
            seq: self.seq,
            at: self.at,
            actor: e.actor.to_string(),
            action: e.action.to_string(),
            target: e.target.to_string(),
            state: e.state,
            action_seq: e.action_seq,
            detail: e.detail.clone(),
            prev_hash: self.prev_hash,
            hash: self.hash,
        }
    }
}

/// The journal's writer for a run that appends many batches (a bulk revocation): its own SQLite
/// connection, driven directly from the caller's thread. Through the pool, every statement of a
/// commit (begin, head, insert, commit) is a hand-off to sqlx's worker thread and back, and a
/// commit on whichever pooled connection is free re-reads pages another connection changed; here a
/// batch costs one commit on a warm connection and no hand-off at all.
///
/// The connection is kept by the [`Store`] between runs (the next run takes it back warm), and is
/// given back when the appender is dropped.
#[derive(Debug)]
pub struct JournalAppender {
    db: Option<rusqlite::Connection>,
    /// Whether `db` served an earlier run: such a connection is replaced, once, if it fails.
    reused: bool,
    /// The journal's file.
    path: PathBuf,
    home: Arc<Mutex<Option<rusqlite::Connection>>>,
    /// The cache's file and a connection to it, for credential statuses only.
    cache_path: PathBuf,
    cache: Option<rusqlite::Connection>,
    /// The journal key as the run started: seals every entry of the run.
    seal: JournalSeal,
}

/// The appender's connection to the journal's file, set as the pool's are (`Store::open`): WAL
/// with `synchronous = NORMAL`, the same wait for the write lock (journal writers only ever wait
/// for each other: see `journal_db.rs`).
fn open_appender_connection(path: &std::path::Path) -> Result<rusqlite::Connection> {
    let db = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    db.busy_timeout(crate::JOURNAL_BUSY_TIMEOUT)?;
    db.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
    Ok(db)
}

impl JournalAppender {
    /// Appends entries in one commit (see [`append_chain`]) and returns their seqs once durable.
    pub fn append_batch(&mut self, entries: &[NewJournalEntry<'_>]) -> Result<Vec<i64>> {
        let key = self.seal.key().copied();
        Ok(self
            .with_db(|db| append_chain(db, entries, key.as_ref()))?
            .into_iter()
            .map(|c| c.seq)
            .collect())
    }

    /// Marks many cached credentials with `status` in one commit; returns how many changed.
    /// Waits at most `wait` for the cache's write lock, which an import or a sync may hold for
    /// long: a status is a cache refresh (the journal is the record), so the caller chooses to
    /// try again later rather than hold up the entries queued behind it.
    pub fn set_credential_statuses(
        &mut self,
        credentials: &[(i64, String)],
        status: CredentialStatus,
        wait: std::time::Duration,
    ) -> Result<u64> {
        let db = match self.cache.as_mut() {
            Some(db) => db,
            None => self
                .cache
                .insert(open_appender_connection(&self.cache_path)?),
        };
        db.busy_timeout(wait)?;
        crate::revocation::set_statuses(db, credentials, status)
    }

    /// Runs `f` on the connection. A kept connection that fails is replaced by a fresh one and
    /// `f` runs once more: whatever went wrong with it (a schema another connection changed since
    /// its last run, say) is not the journal's problem. A failed `f` rolled its transaction back,
    /// so running it again writes nothing twice.
    fn with_db<R>(
        &mut self,
        mut f: impl FnMut(&mut rusqlite::Connection) -> Result<R>,
    ) -> Result<R> {
        let db = match self.db.as_mut() {
            Some(db) => db,
            None => self.db.insert(open_appender_connection(&self.path)?),
        };
        match f(db) {
            Err(e) if self.reused => {
                tracing::debug!("journal connection replaced after: {e}");
                self.reused = false;
                let db = self.db.insert(open_appender_connection(&self.path)?);
                f(db)
            }
            other => other,
        }
    }
}

impl Drop for JournalAppender {
    fn drop(&mut self) {
        if let (Some(db), Ok(mut home)) = (self.db.take(), self.home.lock()) {
            // Only a connection with no transaction open goes back.
            if db.is_autocommit() {
                *home = Some(db);
            }
        }
    }
}

impl Store {
    /// A [`JournalAppender`] on this cache's file. An in-memory cache (tests) has no second
    /// connection to give, and is refused.
    pub fn journal_appender(&self) -> Result<JournalAppender> {
        let cache_path = self.path.clone().ok_or_else(|| StoreError::Corrupt {
            what: "journal",
            detail: "an in-memory cache cannot give the journal its own connection".into(),
        })?;
        let kept = self
            .journal_connection
            .lock()
            .ok()
            .and_then(|mut home| home.take());
        Ok(JournalAppender {
            reused: kept.is_some(),
            db: kept,
            path: crate::journal_path(&cache_path),
            home: self.journal_connection.clone(),
            cache_path,
            cache: None,
            seal: self.journal_seal(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(state: JournalState, action_seq: Option<i64>) -> NewJournalEntry<'static> {
        NewJournalEntry {
            actor: "tester",
            action: "revoke",
            target: "bao accessor x",
            state,
            action_seq,
            detail: json!({"n": 1}),
        }
    }

    #[tokio::test]
    async fn chain_verifies_and_detects_tampering() {
        let s = Store::in_memory().await.unwrap();
        let first = s
            .journal_append(entry(JournalState::Planned, None))
            .await
            .unwrap();
        s.journal_append(entry(JournalState::Sent, Some(first.seq)))
            .await
            .unwrap();
        assert_eq!(s.journal_unfinished().await.unwrap().len(), 1);
        s.journal_append(entry(JournalState::Verified, Some(first.seq)))
            .await
            .unwrap();
        assert!(s.journal_unfinished().await.unwrap().is_empty());
        let v = s.journal_verify().await.unwrap();
        assert!(v.ok, "{}", v.message);
        assert_eq!(v.entries, 3);

        // Tamper underneath the triggers, as someone with the file could.
        sqlx::query("DROP TRIGGER journal_no_update")
            .execute(&s.journal_pool)
            .await
            .unwrap();
        sqlx::query("UPDATE journal SET target = 'something else' WHERE seq = 2")
            .execute(&s.journal_pool)
            .await
            .unwrap();
        let v = s.journal_verify().await.unwrap();
        assert!(!v.ok);
        assert_eq!(v.broken_at, Some(2));
    }

    #[tokio::test]
    async fn a_removed_entry_is_a_gap() {
        let s = Store::in_memory().await.unwrap();
        for _ in 0..3 {
            s.journal_append(entry(JournalState::Planned, None))
                .await
                .unwrap();
        }
        sqlx::query("DROP TRIGGER journal_no_delete")
            .execute(&s.journal_pool)
            .await
            .unwrap();
        sqlx::query("DELETE FROM journal WHERE seq = 2")
            .execute(&s.journal_pool)
            .await
            .unwrap();
        let v = s.journal_verify().await.unwrap();
        assert_eq!(v.broken_at, Some(3));
    }

    #[tokio::test]
    async fn batches_chain_and_concurrent_writers_queue_instead_of_failing() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("cache.db")).await.unwrap();
        let batch: Vec<NewJournalEntry> =
            (0..5).map(|_| entry(JournalState::Planned, None)).collect();
        let written = s.journal_append_batch(&batch).await.unwrap();
        assert_eq!(
            written.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5]
        );
        assert_eq!(written[1].prev_hash, written[0].hash);
        // Writers on several pooled connections at once: each waits for the write lock.
        let mut tasks = Vec::new();
        for i in 0..8 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..10 {
                    let b = vec![entry(JournalState::Sent, Some(1 + i % 5)); 3];
                    s.journal_append_batch(&b).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let v = s.journal_verify().await.unwrap();
        assert!(v.ok, "{}", v.message);
        assert_eq!(v.entries, 5 + 8 * 10 * 3);
    }

    #[tokio::test]
    async fn an_appender_chains_with_other_writers_and_survives_their_schema_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.db");
        let s = Store::open(&path).await.unwrap();
        // A second process on the same workspace, writing through its own pool.
        let other = Store::open(&path).await.unwrap();
        let mut app = s.journal_appender().unwrap();
        let writer = std::thread::spawn(move || {
            for _ in 0..40 {
                let b = vec![entry(JournalState::Planned, None); 4];
                app.append_batch(&b).unwrap();
            }
            app
        });
        for _ in 0..40 {
            other
                .journal_append_batch(&[entry(JournalState::Sent, Some(1))])
                .await
                .unwrap();
        }
        drop(writer.join().unwrap());
        let v = s.journal_verify().await.unwrap();
        assert!(v.ok, "{}", v.message);
        assert_eq!(v.entries, 40 * 4 + 40);

        // The next run takes the kept connection back; another connection's schema change in
        // between (an audit import rebuilding indexes does this) must not cost it an entry.
        sqlx::raw_sql("CREATE INDEX journal_probe ON journal (state); DROP INDEX journal_probe")
            .execute(&other.journal_pool)
            .await
            .unwrap();
        let mut app = s.journal_appender().unwrap();
        assert!(app.reused, "the connection of the last run is kept");
        let written = app
            .append_batch(&[entry(JournalState::Verified, Some(1))])
            .unwrap();
        assert_eq!(written, vec![40 * 4 + 40 + 1]);
        drop(app);
        let v = other.journal_verify().await.unwrap();
        assert!(v.ok, "{}", v.message);
    }

    #[tokio::test]
    async fn an_in_memory_cache_has_no_appender_to_give() {
        let s = Store::in_memory().await.unwrap();
        let err = s.journal_appender().unwrap_err().to_string();
        assert!(err.contains("in-memory"), "{err}");
    }

    #[tokio::test]
    async fn open_actions_report_their_last_state_and_sends() {
        let s = Store::in_memory().await.unwrap();
        let incident = s
            .journal_append(NewJournalEntry {
                action: "incident",
                ..entry(JournalState::Planned, None)
            })
            .await
            .unwrap();
        let item = |n: i64| NewJournalEntry {
            detail: json!({"incident": incident.seq, "n": n}),
            ..entry(JournalState::Planned, None)
        };
        let a = s.journal_append(item(1)).await.unwrap();
        let b = s.journal_append(item(2)).await.unwrap();
        let c = s.journal_append(item(3)).await.unwrap();
        s.journal_append(entry(JournalState::Sent, Some(a.seq)))
            .await
            .unwrap();
        s.journal_append(entry(JournalState::Confirmed, Some(a.seq)))
            .await
            .unwrap();
        s.journal_append(entry(JournalState::Sent, Some(b.seq)))
            .await
            .unwrap();
        s.journal_append(entry(JournalState::Verified, Some(b.seq)))
            .await
            .unwrap();
        let open = s.journal_open_actions().await.unwrap();
        let states: Vec<(i64, JournalState, u32)> = open
            .iter()
            .map(|o| (o.first.seq, o.last_state, o.sends))
            .collect();
        assert_eq!(
            states,
            vec![
                (incident.seq, JournalState::Planned, 0),
                (a.seq, JournalState::Confirmed, 1),
                (c.seq, JournalState::Planned, 0),
            ]
        );
        let items = s.journal_incident_states(incident.seq).await.unwrap();
        assert_eq!(
            items,
            vec![
                (a.seq, JournalState::Confirmed),
                (b.seq, JournalState::Verified),
                (c.seq, JournalState::Planned),
            ]
        );
        assert_eq!(s.journal_action(a.seq).await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn a_credentials_revocation_is_found_by_its_row_or_its_token_key() {
        let s = Store::in_memory().await.unwrap();
        assert!(s
            .journal_revocation_of(Some(7), &[])
            .await
            .unwrap()
            .is_empty());
        let by_row = s
            .journal_append(NewJournalEntry {
                detail: json!({"key": "bao:credential:7", "credential_id": 7}),
                ..entry(JournalState::Planned, None)
            })
            .await
            .unwrap();
        s.journal_append(entry(JournalState::Verified, Some(by_row.seq)))
            .await
            .unwrap();
        let by_token = s
            .journal_append(NewJournalEntry {
                detail: json!({"key": "bao:token:abcd", "credential_id": null}),
                ..entry(JournalState::Planned, None)
            })
            .await
            .unwrap();
        let found = s.journal_revocation_of(Some(7), &[]).await.unwrap();
        let seqs: Vec<(i64, JournalState)> = found.iter().map(|e| (e.seq, e.state)).collect();
        assert_eq!(
            seqs,
            vec![
                (by_row.seq, JournalState::Planned),
                (by_row.seq + 1, JournalState::Verified)
            ]
        );
        let found = s
            .journal_revocation_of(Some(8), &["bao:token:abcd".into()])
            .await
            .unwrap();
        assert_eq!(found.first().map(|e| e.seq), Some(by_token.seq));
        assert!(s
            .journal_revocation_of(None, &["bao:token:other".into()])
            .await
            .unwrap()
            .is_empty());
    }
}
