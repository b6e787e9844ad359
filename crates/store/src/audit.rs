//! Audit events: batched, idempotent inserts committed together with the backend's audit cursor,
//! so an import or sync killed at any point resumes after the last committed batch, and re-reading
//! the same lines adds nothing (the unique index `audit_events_dedup`: backend, the event's
//! millisecond, dedup key; led by time so that inserts land at its end).
//!
//! Ids are time keys ([`time_key`]): epoch milliseconds of the event shifted left by
//! [`SEQ_BITS`], plus a sequence within the millisecond. Newest-first is rowid order, which is what
//! makes keyset paging, time ranges and full-text results in time order cheap (`audit_query.rs`).
//!
//! Ingest speed matters (audit logs run to millions of lines), and sqlx runs each statement
//! through a channel to its worker thread, which costs more than the insert itself. The
//! [`AuditWriter`] therefore borrows a pooled connection's raw SQLite handle (sqlx's
//! `lock_handle`, made for this) and drives it with rusqlite: statements prepared once per
//! transaction, one row per step, no SQL text per batch.

use chrono::{DateTime, TimeZone, Utc};
use portcullis_model::AuditEvent;
use rusqlite::OptionalExtension;
use serde_json::Value;
use std::collections::HashMap;

use crate::{ts, Result, Store};

/// Bits of an event id below the millisecond: up to 2^20 events per millisecond keep time order.
pub const SEQ_BITS: u32 = 20;
const SEQ_MASK: i64 = (1 << SEQ_BITS) - 1;
/// Latest representable millisecond (year 2248): later times are clamped, never overflow.
const MAX_MS: i64 = i64::MAX >> SEQ_BITS;

/// The smallest id an event at `at` can have. Times before 1970 are clamped to 0.
pub fn time_key(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis().clamp(0, MAX_MS) << SEQ_BITS
}

/// The time an id stands for (to the millisecond).
pub fn key_time(id: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(id.max(0) >> SEQ_BITS)
        .single()
        .unwrap_or_default()
}

/// Bytes of free text kept per event for the full-text index.
const SUMMARY_MAX: usize = 480;
/// Longest part of a single raw value indexed (a statement, an error message): its beginning.
const VALUE_MAX: usize = 240;

/// A short text of what the raw event says beyond its normalised fields (names, paths, scopes,
/// error messages, statements), for the full-text index. Ids, hashes, timestamps and numbers are
/// left out: nobody searches them by word, and each unique one grows the index.
pub fn summary_of(e: &AuditEvent) -> String {
    let known = [
        e.actor.as_deref(),
        e.credential.as_deref(),
        Some(e.action.as_str()),
        e.resource.as_deref(),
        e.source_ip.as_deref(),
    ];
    let mut out = String::new();
    collect(&e.raw, "", &known, &mut out, 0);
    out
}

fn collect(v: &Value, key: &str, known: &[Option<&str>], out: &mut String, depth: u32) {
    if depth > 6 || out.len() >= SUMMARY_MAX {
        return;
    }
    match v {
        Value::String(s) => {
            let s = s.trim();
            // A long statement or message still has its first words indexed.
            let s = if s.len() > VALUE_MAX {
                let mut end = VALUE_MAX;
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                &s[..end]
            } else {
                s
            };
            if worth_indexing(key, s)
                && !known.contains(&Some(s))
                && out.len() + s.len() < SUMMARY_MAX
                && !out.contains(s)
            {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(s);
            }
        }
        Value::Array(items) => {
            for item in items.iter().take(16) {
                collect(item, key, known, out, depth + 1);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                collect(item, k, known, out, depth + 1);
            }
        }
        _ => {}
    }
}

fn worth_indexing(key: &str, s: &str) -> bool {
    if s.len() < 2 || s.starts_with("hmac-") {
        return false;
    }
    let k = key.to_ascii_lowercase();
    if k == "ts"
        || k.contains("time")
        || k.ends_with("_at")
        || k.contains("hash")
        || k == "fingerprint"
    {
        return false;
    }
    let b = s.as_bytes();
    let dated = b.len() >= 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-';
    // Hex / uuid-like ids, addresses and numbers.
    let idlike = b
        .iter()
        .all(|c| c.is_ascii_hexdigit() || matches!(c, b'-' | b'.' | b':'));
    let numeric = b.iter().all(|c| c.is_ascii_digit() || *c == b'.');
    !(dated || numeric || idlike && b.len() >= 12)
}

/// An event ready for the writer: raw JSON serialised and the index summary extracted, work that
/// callers may do on another thread than the one writing.
#[derive(Debug, Clone)]
pub struct PreparedAuditEvent {
    pub event: AuditEvent,
    pub at: String,
    pub raw: String,
    pub summary: String,
}

impl PreparedAuditEvent {
    /// Takes the event's raw value out (it is kept as text).
    pub fn new(mut event: AuditEvent) -> Self {
        let summary = summary_of(&event);
        let raw = std::mem::take(&mut event.raw).to_string();
        PreparedAuditEvent {
            at: ts(event.at),
            event,
            raw,
            summary,
        }
    }
}

/// Settings of the writer's connection while it writes. A large page cache (up to 1 GiB, only
/// what is touched is allocated, and it is given back when the writer is done) keeps the indexes
/// of a big import in memory: with SQLite's default 2 MiB, most of an import's time is spent
/// re-reading index pages. Statement journals, if SQLite still wants one, stay in memory.
/// Foreign keys are checked by the writer itself (see [`AuditWriter::insert`]).
/// `threads`: a bulk transaction's index rebuilds sort with a helper thread.
pub const WRITER_PRAGMAS: &str =
    "PRAGMA cache_size = -1048576; PRAGMA temp_store = MEMORY; PRAGMA foreign_keys = OFF; PRAGMA threads = 2;";

/// Writes audit events on one connection, statement by statement (see the module doc).
///
/// Batches go into an open transaction ([`AuditWriter::add`] opens one when needed) until
/// [`AuditWriter::commit`]; [`AuditWriter::insert`] does both for one batch. Big imports want big
/// transactions: a commit writes every index page the transaction touched, and random keys (dedup
/// keys, fingerprints) touch most pages of their index. A transaction still open when the writer
/// is handed back is rolled back.
pub struct AuditWriter {
    db: rusqlite::Connection,
    /// Whether the access map's change counter exists (another feature's table).
    has_generation: bool,
    open: Option<OpenTransaction>,
    /// Events the caller still expects to add ([`AuditWriter::expect`]): decides bulk mode.
    expected: u64,
    /// Where the open transaction's time went, logged when it commits.
    spent: Spent,
}

/// Time spent per phase of a transaction (`tracing` target `portcullis_store::audit`, level
/// debug): where an import's time goes, measured in the import itself rather than guessed.
#[derive(Debug, Default, Clone, Copy)]
struct Spent {
    rows: std::time::Duration,
    indexes: std::time::Duration,
    full_text: std::time::Duration,
    commit: std::time::Duration,
}

/// Below this many expected events a transaction never takes the bulk path: rebuilding the
/// indexes costs a pass over the whole table.
const BULK_MIN_EVENTS: u64 = 50_000;
/// A bulk transaction holds this many times the events the table held before it: a long import
/// rebuilds the indexes of a table growing geometrically (250k, then 1M rows for a million
/// events: 1.25 rebuilds of the final table), and a crash still keeps the earlier transactions.
const BULK_GROWTH: u64 = 3;

struct OpenTransaction {
    backend_id: i64,
    new_ids: Vec<i64>,
    /// Next free id per millisecond, valid inside this transaction only (nobody else can write
    /// while it is open).
    next_free: HashMap<i64, i64>,
    /// The largest id in the table: a millisecond above it is empty without asking (newer logs,
    /// the usual import, never probe).
    max_id: i64,
    /// Bulk mode: the secondary indexes and deferred insert triggers (type, name, `CREATE`
    /// text) dropped at `begin`, to be made again at `commit` (see [`AuditWriter::expect`]).
    /// Empty otherwise.
    dropped: Vec<(String, String, String)>,
    /// Events this transaction should hold before the caller commits it
    /// ([`AuditWriter::transaction_full`]).
    target: u64,
}

// OR IGNORE: a duplicate (same backend and dedup key) is skipped. It also keeps SQLite from
// opening a statement journal per row, which an ABORT-able multi-index insert needs; ids cannot
// collide (they are allocated past the slot's maximum inside the transaction), so the only
// constraint that can fire is the dedup key's.
const INSERT_EVENT: &str = "INSERT OR IGNORE INTO audit_events
       (id, backend_id, dedup_key, at, actor, credential, action, resource, outcome, source_ip, raw, summary)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
/// What a bulk transaction drops at its start and makes again before its commit: the secondary
/// indexes of `audit_events` (whatever the migrations made, but never the dedup index, which
/// finds the duplicates this very insert skips), and the insert triggers that skip themselves while the writer has deferred
/// them: each still costs a trigger program and a lookup of the flag per row, for nothing.
const BULK_DROPPED: &str = "SELECT type, name, sql FROM sqlite_master
     WHERE tbl_name = 'audit_events' AND sql IS NOT NULL
       AND (type = 'index' AND name <> 'audit_events_dedup'
            OR type = 'trigger' AND sql LIKE '%AFTER INSERT%audit_writer%')
     ORDER BY type, name";
const LAST_IN_SLOT: &str = "SELECT MAX(id) FROM audit_events WHERE id BETWEEN ?1 AND ?2";
const INDEX_NEW: &str =
    "INSERT INTO audit_fts (rowid, actor, credential, action, resource, source_ip, summary)
     SELECT e.id, e.actor, e.credential, e.action, e.resource, e.source_ip, e.summary
     FROM json_each(?1) j JOIN audit_events e ON e.id = j.value";
/// FTS5 keeps new index data in memory up to its `hashsize` (1 MiB by default), then writes it
/// as a segment and merges segments as they pile up. A transaction's events are indexed by one
/// statement with a larger one (a few segments instead of hundreds, and far less merging), then
/// the default is set back in the same transaction, so nothing else changes. Small transactions
/// (a sync's batches) stay below the default and leave the setting alone: each change of it
/// makes every other connection reload the index's configuration.
const FTS_BULK_MIN_EVENTS: usize = 10_000;
const FTS_HASHSIZE: &str = "INSERT INTO audit_fts (audit_fts, rank) VALUES ('hashsize', ?1)";
const FTS_BULK_HASHSIZE: i64 = 64 << 20;
const FTS_DEFAULT_HASHSIZE: i64 = 1 << 20;
const UPSERT_CURSOR: &str = "INSERT INTO audit_cursors (backend_id, cursor, updated_at) VALUES (?1, ?2, ?3)
     ON CONFLICT (backend_id) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at";

impl AuditWriter {
    /// Inserts a batch and moves the cursor (when given) in one transaction. Returns how many
    /// events were new; the others were already cached (same backend and dedup key).
    pub fn insert(
        &mut self,
        backend_id: i64,
        events: &[PreparedAuditEvent],
        cursor: Option<&str>,
    ) -> Result<u64> {
        let n = self.add(backend_id, events)?;
        self.commit(cursor)?;
        Ok(n)
    }

    /// New events in the open transaction (0 when none is open).
    pub fn pending(&self) -> u64 {
        self.open.as_ref().map_or(0, |o| o.new_ids.len() as u64)
    }

    /// Tells the writer about how many events the caller still means to add (an estimate; an
    /// import derives it from the bytes left in its file). When the next transaction is opened
    /// and the events expected are at least half as many as the table holds, it takes the bulk
    /// path: the secondary indexes of `audit_events` (whatever the migrations made: read from
    /// the schema) are dropped inside the transaction and rebuilt just before its commit, which
    /// sorts once instead of inserting each row at a random place in each index. A reader on
    /// another connection still sees the committed indexes (WAL snapshot); a crash or rollback
    /// restores them with everything else, since DDL is transactional.
    pub fn expect(&mut self, events: u64) {
        self.expected = events;
    }

    /// Whether the open transaction holds enough events to be committed: `per_transaction`, or
    /// in bulk mode at least [`BULK_GROWTH`] times as many as the table held before it.
    pub fn transaction_full(&self, per_transaction: u64) -> bool {
        self.open
            .as_ref()
            .is_some_and(|o| o.new_ids.len() as u64 >= per_transaction.max(o.target))
    }

    fn begin(&mut self, backend_id: i64) -> Result<()> {
        self.db.execute_batch("BEGIN IMMEDIATE")?;
        // Foreign keys are off on this connection while it writes (an FK check also forces a
        // statement journal), so check the one reference here.
        let known: Option<i64> = self
            .db
            .query_row("SELECT id FROM backends WHERE id = ?1", [backend_id], |r| {
                r.get(0)
            })
            .optional()?;
        if known.is_none() {
            self.db.execute_batch("ROLLBACK")?;
            return Err(crate::StoreError::NotFound {
                what: "backend",
                name: backend_id.to_string(),
            });
        }
        // The per-row insert triggers skip themselves while `deferred` is set (see the
        // migration); their work is done once per transaction in `commit`. (Any DDL here,
        // like the bulk path's, makes the next UPDATE of audit_events on another connection
        // fail once with "no such table": see `correlate_audit`, and the stress test.)
        self.db
            .execute("UPDATE audit_writer SET deferred = 1 WHERE id = 1", ())?;
        let max_id: Option<i64> =
            self.db
                .query_row("SELECT MAX(id) FROM audit_events", (), |r| r.get(0))?;
        let mut dropped = Vec::new();
        let mut target = 0;
        if self.expected >= BULK_MIN_EVENTS {
            let rows: i64 = self
                .db
                .query_row("SELECT COUNT(*) FROM audit_events", (), |r| r.get(0))?;
            let rows = rows.max(0) as u64;
            if self.expected.saturating_mul(2) >= rows {
                target = rows.saturating_mul(BULK_GROWTH);
                let mut list = self.db.prepare(BULK_DROPPED)?;
                dropped = list
                    .query_map((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<rusqlite::Result<Vec<(String, String, String)>>>()?;
                drop(list);
                for (kind, name, _) in &dropped {
                    let kind = if kind == "trigger" {
                        "TRIGGER"
                    } else {
                        "INDEX"
                    };
                    self.db
                        .execute_batch(&format!("DROP {kind} \"{}\"", name.replace('"', "\"\"")))?;
                }
            }
        }
        self.open = Some(OpenTransaction {
            backend_id,
            new_ids: Vec::new(),
            next_free: HashMap::new(),
            max_id: max_id.unwrap_or(i64::MIN),
            dropped,
            target,
        });
        Ok(())
    }

    /// Adds a batch to the open transaction (opening one for `backend_id` if none is). Returns how
    /// many of its events were new.
    pub fn add(&mut self, backend_id: i64, events: &[PreparedAuditEvent]) -> Result<u64> {
        match &self.open {
            Some(o) if o.backend_id == backend_id => {}
            Some(_) => self.commit(None)?,
            None => {}
        }
        if self.open.is_none() {
            self.begin(backend_id)?;
        }
        let Some(open) = self.open.as_mut() else {
            return Ok(0);
        };
        let before = open.new_ids.len();
        let started = std::time::Instant::now();
        let mut insert = self.db.prepare_cached(INSERT_EVENT)?;
        let mut last_in_slot = self.db.prepare_cached(LAST_IN_SLOT)?;
        for p in events {
            let e = &p.event;
            let base = time_key(e.at);
            let id = match open.next_free.get(&base) {
                Some(id) => *id,
                None if base > open.max_id => base,
                None => {
                    let last: Option<i64> =
                        last_in_slot.query_row((base, base + SEQ_MASK), |r| r.get(0))?;
                    last.map_or(base, |l| l + 1)
                }
            };
            let n = insert.execute(rusqlite::params![
                id,
                backend_id,
                e.dedup_key,
                p.at,
                e.actor,
                e.credential,
                e.action,
                e.resource,
                e.outcome.as_str(),
                e.source_ip,
                p.raw,
                p.summary,
            ])?;
            if n == 1 {
                open.new_ids.push(id);
                open.max_id = open.max_id.max(id);
                open.next_free.insert(base, id + 1);
            } else {
                open.next_free.insert(base, id);
            }
        }
        self.spent.rows += started.elapsed();
        Ok((open.new_ids.len() - before) as u64)
    }

    /// Indexes the transaction's new events for full-text search, bumps the access map's change
    /// counter, moves the cursor (when given) and commits, all at once. Without an open
    /// transaction, only the cursor moves.
    pub fn commit(&mut self, cursor: Option<&str>) -> Result<()> {
        let Some(open) = self.open.take() else {
            if let Some(cursor) = cursor {
                return Err(crate::StoreError::Corrupt {
                    what: "audit writer",
                    detail: format!("a cursor ({cursor}) to commit without a backend"),
                });
            }
            return Ok(());
        };
        let result = (|| {
            // Bulk mode: the indexes come back before anything else reads the table.
            let t = std::time::Instant::now();
            for (_, _, sql) in &open.dropped {
                self.db.execute_batch(sql)?;
            }
            self.spent.indexes += t.elapsed();
            let t = std::time::Instant::now();
            if !open.new_ids.is_empty() {
                let ids = serde_json::to_string(&open.new_ids).unwrap_or_else(|_| "[]".into());
                let big = open.new_ids.len() >= FTS_BULK_MIN_EVENTS;
                if big {
                    self.db.execute(FTS_HASHSIZE, [FTS_BULK_HASHSIZE])?;
                }
                self.db.execute(INDEX_NEW, [ids])?;
                if big {
                    self.db.execute(FTS_HASHSIZE, [FTS_DEFAULT_HASHSIZE])?;
                }
                if self.has_generation {
                    self.db.execute(
                        "UPDATE access_generation SET gen = gen + 1 WHERE id = 1",
                        (),
                    )?;
                }
            }
            self.spent.full_text += t.elapsed();
            self.db
                .execute("UPDATE audit_writer SET deferred = 0 WHERE id = 1", ())?;
            if let Some(cursor) = cursor {
                self.db.execute(
                    UPSERT_CURSOR,
                    (open.backend_id, cursor, ts(chrono::Utc::now())),
                )?;
            }
            let t = std::time::Instant::now();
            self.db.execute_batch("COMMIT")?;
            self.spent.commit += t.elapsed();
            Ok(())
        })();
        let spent = std::mem::take(&mut self.spent);
        tracing::debug!(
            events = open.new_ids.len(),
            bulk = !open.dropped.is_empty(),
            rows_ms = spent.rows.as_millis() as u64,
            indexes_ms = spent.indexes.as_millis() as u64,
            full_text_ms = spent.full_text.as_millis() as u64,
            commit_ms = spent.commit.as_millis() as u64,
            "audit transaction"
        );
        if result.is_err() {
            self.rollback();
        }
        result
    }

    /// Abandons the open transaction, if any.
    pub fn rollback(&mut self) {
        if self.open.take().is_some() || !self.db.is_autocommit() {
            // Nothing more can be done if even the rollback fails: the connection's next
            // statement reports it.
            let _ = self.db.execute_batch("ROLLBACK");
        }
    }
}

/// Each cached credential's last allowed use, from its newest allowed event. Ids are time keys,
/// so the newest is the largest id, found inside `audit_events_usage` (backend, credential, …,
/// outcome; rowid) by a seek per credential. Without `INDEXED BY` SQLite picks the outcome index
/// and walks every allowed event of the cache once per credential: 40 s and more for 2,000
/// tokens and 60,000 events.
pub(crate) const LAST_USED_UPDATE: &str = "UPDATE credentials SET last_used_at = (
         SELECT u.at FROM audit_events u WHERE u.id = (
             SELECT MAX(e.id) FROM audit_events e INDEXED BY audit_events_usage
             WHERE e.backend_id = ?1 AND e.credential = credentials.external_id
               AND e.outcome = 'allow'))
     WHERE backend_id = ?1 AND COALESCE((
         SELECT u.at FROM audit_events u WHERE u.id = (
             SELECT MAX(e.id) FROM audit_events e INDEXED BY audit_events_usage
             WHERE e.backend_id = ?1 AND e.credential = credentials.external_id
               AND e.outcome = 'allow')), '') > COALESCE(last_used_at, '')";

impl Store {
    /// Runs `f` with an [`AuditWriter`] on one pooled connection. `f` blocks (it is plain SQLite
    /// work); on a multi-threaded runtime it runs in `block_in_place`.
    pub async fn with_audit_writer<R>(
        &self,
        f: impl FnOnce(&mut AuditWriter) -> Result<R>,
    ) -> Result<R> {
        self.with_raw_connection(|db| {
            db.execute_batch(WRITER_PRAGMAS)?;
            let has_generation = db
                .query_row(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'access_generation'",
                    (),
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            let mut writer = AuditWriter {
                db,
                has_generation,
                open: None,
                expected: 0,
                spent: Spent::default(),
            };
            let result = f(&mut writer);
            writer.rollback();
            // Whatever happened, hand the connection back as sqlx configured it.
            let restored = writer.db.execute_batch(
                "PRAGMA foreign_keys = ON; PRAGMA cache_size = -2000; PRAGMA threads = 0;",
            );
            result.and_then(|r| restored.map(|_| r).map_err(Into::into))
        })
        .await
    }

    /// Inserts a batch and moves the cursor in one transaction. Returns how many were new.
    pub async fn insert_audit_batch(
        &self,
        backend_id: i64,
        events: &[AuditEvent],
        cursor: Option<&str>,
    ) -> Result<u64> {
        let prepared: Vec<PreparedAuditEvent> = events
            .iter()
            .cloned()
            .map(PreparedAuditEvent::new)
            .collect();
        self.with_audit_writer(|w| w.insert(backend_id, &prepared, cursor))
            .await
    }

    /// Audit-log HMACs of a backend's credentials (Vault's `sys/audit-hash` of each accessor), so
    /// events can name the credential as it is cached.
    pub async fn audit_hashes(&self, backend_id: i64) -> Result<HashMap<String, String>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT json_extract(attrs, '$.audit_hash'), external_id FROM credentials
             WHERE backend_id = ? AND json_extract(attrs, '$.audit_hash') IS NOT NULL",
        )
        .bind(backend_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().collect())
    }

    pub async fn audit_cursor(&self, backend_id: i64) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT cursor FROM audit_cursors WHERE backend_id = ?")
                .bind(backend_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Ties audit events to credentials: events still naming a credential by its audit HMAC
    /// (imported before the token was known) are rewritten to the credential's id, then each
    /// credential's last use is the newest allowed event naming it.
    pub async fn correlate_audit(&self, backend_id: i64) -> Result<()> {
        let hashes = self.audit_hashes(backend_id).await?;
        let mut tx = self.pool.begin().await?;
        // SQLite (3.40 and 3.51 alike) fails the first UPDATE of audit_events on a connection
        // whose schema is stale (another connection changed it: a bulk import's index rebuild,
        // a migration) with "no such table: audit_events"; a read first reloads the schema.
        sqlx::query("SELECT 1 FROM audit_events LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?;
        for (hash, id) in &hashes {
            sqlx::query(
                "UPDATE audit_events SET credential = ? WHERE backend_id = ? AND credential = ?",
            )
            .bind(id)
            .bind(backend_id)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(LAST_USED_UPDATE)
            .bind(backend_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_model::*;
    use serde_json::json;

    /// One event of a source: the same key is the same event, at the same time (a source's
    /// event has the time it was written; the dedup index is led by it).
    fn ev(key: &str, cred: &str) -> AuditEvent {
        AuditEvent {
            dedup_key: key.into(),
            at: "2026-12-01T10:00:00.250Z".parse().unwrap(),
            actor: Some("alice".into()),
            credential: Some(cred.into()),
            action: "read".into(),
            resource: Some("secret/data/billing".into()),
            outcome: Outcome::Allow,
            source_ip: Some("127.0.0.1".into()),
            raw: json!({"k": key}),
        }
    }

    async fn backend(s: &Store) -> i64 {
        s.insert_backend(
            "b",
            BackendKind::Vault,
            "http://x",
            &CredentialRef::None,
            &json!({}),
        )
        .await
        .unwrap()
        .id
    }

    #[tokio::test]
    async fn batches_are_idempotent_and_move_the_cursor() {
        let s = Store::in_memory().await.unwrap();
        let b = backend(&s).await;
        assert_eq!(s.audit_cursor(b).await.unwrap(), None);
        let n = s
            .insert_audit_batch(b, &[ev("1", "a"), ev("2", "a")], Some("c1"))
            .await
            .unwrap();
        assert_eq!(n, 2);
        let n = s
            .insert_audit_batch(b, &[ev("2", "a"), ev("3", "a")], Some("c2"))
            .await
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(s.audit_cursor(b).await.unwrap().as_deref(), Some("c2"));
        // A key is unique per millisecond of the event: another event that reuses a key at
        // another time (a source restarting its request counter) is kept.
        let later = AuditEvent {
            at: "2026-12-01T10:00:01Z".parse().unwrap(),
            ..ev("3", "a")
        };
        assert_eq!(s.insert_audit_batch(b, &[later], None).await.unwrap(), 1);
        let (fts,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM audit_fts WHERE audit_fts MATCH 'billing'")
                .fetch_one(s.pool())
                .await
                .unwrap();
        assert_eq!(fts, 4);
    }

    #[tokio::test]
    async fn ids_follow_time_even_when_older_events_arrive_later() {
        let s = Store::in_memory().await.unwrap();
        let b = backend(&s).await;
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let at = |key: &str, secs: i64| AuditEvent {
            at: t0 + chrono::Duration::seconds(secs),
            ..ev(key, "a")
        };
        // Two in the same millisecond, then an older one in a later batch.
        s.insert_audit_batch(b, &[at("x", 10), at("y", 10)], None)
            .await
            .unwrap();
        s.insert_audit_batch(b, &[at("z", 5), at("w", 10)], None)
            .await
            .unwrap();
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, dedup_key FROM audit_events ORDER BY id")
                .fetch_all(s.pool())
                .await
                .unwrap();
        let keys: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
        assert_eq!(keys, ["z", "x", "y", "w"]);
        let base = time_key(t0 + chrono::Duration::seconds(10));
        assert_eq!(rows[1].0, base);
        assert_eq!(rows[3].0, base + 2);
        assert_eq!(key_time(rows[3].0), t0 + chrono::Duration::seconds(10));
    }

    #[test]
    fn time_keys_clamp_instead_of_overflowing() {
        let old = Utc.with_ymd_and_hms(1900, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(time_key(old), 0);
        let far = Utc.with_ymd_and_hms(9999, 1, 1, 0, 0, 0).unwrap();
        assert!(time_key(far) > 0);
    }

    #[test]
    fn summary_keeps_words_and_drops_ids_hashes_and_known_fields() {
        let e = AuditEvent {
            raw: json!({
                "time": "2026-11-22T07:01:18Z",
                "type": "response",
                "auth": {"accessor": "hmac-sha256:3f66", "display_name": "userpass-bob",
                         "policies": ["billing-ro", "default"], "entity_id": "e976aa11-22bb"},
                "request": {"id": "48087f7b-1111-2222", "path": "secret/data/billing", "remote_address": "127.0.0.1"},
                "error": "permission denied",
                "status": 403
            }),
            ..ev("k", "hmac-sha256:3f66")
        };
        let s = summary_of(&e);
        for word in [
            "userpass-bob",
            "billing-ro",
            "permission denied",
            "response",
        ] {
            assert!(s.contains(word), "{word} missing from {s}");
        }
        for noise in [
            "hmac-",
            "48087f7b",
            "e976",
            "2026-11-22",
            "127.0.0.1",
            "403",
        ] {
            assert!(!s.contains(noise), "{noise} in {s}");
        }
        assert!(
            !s.contains("secret/data/billing"),
            "the resource is indexed as a field already"
        );
    }

    #[tokio::test]
    async fn hmac_accessors_are_matched_and_last_use_recorded() {
        let s = Store::in_memory().await.unwrap();
        let b = backend(&s).await;
        let inv = Inventory {
            credentials: vec![Credential {
                external_id: "acc1".into(),
                kind: CredentialKind::Accessor,
                principal_external_id: None,
                client: None,
                scopes: vec![],
                issued_at: None,
                expires_at: None,
                last_used_at: None,
                status: CredentialStatus::Active,
                attrs: json!({"audit_hash": "hmac-sha256:abc"}),
            }],
            ..Inventory::default()
        };
        s.replace_inventory(b, &inv).await.unwrap();
        s.insert_audit_batch(b, &[ev("1", "hmac-sha256:abc")], None)
            .await
            .unwrap();
        s.correlate_audit(b).await.unwrap();
        // The plan seeks per credential; it never walks every allowed event per credential.
        let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "EXPLAIN QUERY PLAN {LAST_USED_UPDATE}"
        )))
        .bind(b)
        .fetch_all(s.pool())
        .await
        .unwrap();
        let plan: Vec<&str> = plan.iter().map(|r| r.3.as_str()).collect();
        assert!(
            plan.iter()
                .all(|p| !p.contains("audit_events_outcome_id") && !p.starts_with("SCAN e")),
            "{plan:?}"
        );
        assert!(
            plan.iter()
                .any(|p| p.contains("audit_events_usage (backend_id=? AND credential=?)")),
            "{plan:?}"
        );
        let (cred, used): (String, Option<String>) = sqlx::query_as(
            "SELECT e.credential, c.last_used_at FROM audit_events e, credentials c WHERE c.external_id = 'acc1'",
        )
        .fetch_one(s.pool())
        .await
        .unwrap();
        assert_eq!(cred, "acc1");
        assert!(used.is_some());
        let (fts,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM audit_fts WHERE credential MATCH 'acc1'")
                .fetch_one(s.pool())
                .await
                .unwrap();
        assert_eq!(fts, 1);
    }

    #[tokio::test]
    async fn batches_share_a_transaction_until_commit_and_an_abandoned_one_leaves_nothing() {
        let s = Store::in_memory().await.unwrap();
        let b = backend(&s).await;
        let prep = |keys: &[&str]| -> Vec<PreparedAuditEvent> {
            keys.iter()
                .map(|k| PreparedAuditEvent::new(ev(k, "a")))
                .collect()
        };
        // Abandoned: the writer is handed back with the transaction open.
        let n = s
            .with_audit_writer(|w| {
                w.add(b, &prep(&["1", "2"]))?;
                w.add(b, &prep(&["3"]))
            })
            .await
            .unwrap();
        assert_eq!(n, 1);
        let count = |s: Store| async move {
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_events")
                .fetch_one(s.pool())
                .await
                .unwrap();
            n
        };
        assert_eq!(count(s.clone()).await, 0);
        // Committed: all three, indexed, triggers back on.
        s.with_audit_writer(|w| {
            w.add(b, &prep(&["1", "2"]))?;
            assert_eq!(w.add(b, &prep(&["2", "3"]))?, 1);
            assert_eq!(w.pending(), 3);
            w.commit(Some("c9"))
        })
        .await
        .unwrap();
        assert_eq!(count(s.clone()).await, 3);
        assert_eq!(s.audit_cursor(b).await.unwrap().as_deref(), Some("c9"));
        let (deferred,): (i64,) = sqlx::query_as("SELECT deferred FROM audit_writer")
            .fetch_one(s.pool())
            .await
            .unwrap();
        assert_eq!(deferred, 0);
        // A plain INSERT (another path) still reaches the full-text index.
        sqlx::query(
            "INSERT INTO audit_events (id, backend_id, dedup_key, at, action, outcome, raw, summary)
             VALUES (1, ?, 'plain', '2026-01-01T00:00:00.000Z', 'zebra', 'allow', '{}', '')",
        )
        .bind(b)
        .execute(s.pool())
        .await
        .unwrap();
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM audit_fts WHERE audit_fts MATCH 'zebra'")
                .fetch_one(s.pool())
                .await
                .unwrap();
        assert_eq!(n, 1);
    }

    async fn index_sql(s: &Store) -> Vec<(String, String)> {
        sqlx::query_as(
            "SELECT name, sql FROM sqlite_master
             WHERE type IN ('index', 'trigger') AND tbl_name = 'audit_events' ORDER BY name",
        )
        .fetch_all(s.pool())
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn a_bulk_transaction_rebuilds_the_indexes_or_rolls_back_with_them() {
        let s = Store::in_memory().await.unwrap();
        let b = backend(&s).await;
        let before = index_sql(&s).await;
        assert!(before.iter().any(|(n, _)| n == "audit_events_usage"));
        let batch = |from: usize, n: usize| -> Vec<PreparedAuditEvent> {
            (from..from + n)
                .map(|i| PreparedAuditEvent::new(ev(&format!("k{i}"), &format!("c{}", i % 3))))
                .collect()
        };
        s.with_audit_writer(|w| w.insert(b, &batch(0, 5), None))
            .await
            .unwrap();
        // Abandoned: the dropped indexes come back with the rollback.
        s.with_audit_writer(|w| {
            w.expect(1_000_000);
            w.add(b, &batch(5, 20))
        })
        .await
        .unwrap();
        assert_eq!(index_sql(&s).await, before);
        // Committed: 5 rows before, so the transaction is full at 3 × 5 (or the caller's size).
        s.with_audit_writer(|w| {
            w.expect(1_000_000);
            w.add(b, &batch(3, 10))?;
            assert!(!w.transaction_full(1));
            w.add(b, &batch(13, 12))?;
            assert!(w.transaction_full(1));
            assert!(!w.transaction_full(100));
            w.commit(Some("bulk"))
        })
        .await
        .unwrap();
        assert_eq!(index_sql(&s).await, before);
        let (rows, ok, fts, actor): (i64, String, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM audit_events), (SELECT group_concat(integrity_check) FROM pragma_integrity_check),
                    (SELECT COUNT(*) FROM audit_fts WHERE audit_fts MATCH 'c1'),
                    (SELECT COUNT(*) FROM audit_events INDEXED BY audit_events_credential_id WHERE credential = 'c1')",
        )
        .fetch_one(s.pool())
        .await
        .unwrap();
        assert_eq!((rows, ok.as_str()), (25, "ok"));
        assert_eq!((fts, actor), (8, 8));
        sqlx::query("INSERT INTO audit_fts (audit_fts) VALUES ('integrity-check')")
            .execute(s.pool())
            .await
            .unwrap();
        assert_eq!(s.audit_cursor(b).await.unwrap().as_deref(), Some("bulk"));
        // The insert triggers are back: a plain INSERT reaches the index and the counter.
        let gen = || async {
            let (g,): (i64,) = sqlx::query_as("SELECT gen FROM access_generation")
                .fetch_one(s.pool())
                .await
                .unwrap();
            g
        };
        let before = gen().await;
        sqlx::query(
            "INSERT INTO audit_events (id, backend_id, dedup_key, at, action, outcome, raw, summary)
             VALUES (1, ?, 'plain', '2026-01-01T00:00:00.000Z', 'zebra', 'allow', '{}', '')",
        )
        .bind(b)
        .execute(s.pool())
        .await
        .unwrap();
        assert_eq!(gen().await, before + 1);
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM audit_fts WHERE audit_fts MATCH 'zebra'")
                .fetch_one(s.pool())
                .await
                .unwrap();
        assert_eq!(n, 1);
    }

    #[tokio::test]
    async fn a_big_transaction_indexes_with_a_larger_fts_hash_and_sets_it_back() {
        let s = Store::in_memory().await.unwrap();
        let b = backend(&s).await;
        let n = FTS_BULK_MIN_EVENTS;
        let batch: Vec<PreparedAuditEvent> = (0..n)
            .map(|i| PreparedAuditEvent::new(ev(&format!("k{i}"), &format!("c{}", i % 7))))
            .collect();
        s.with_audit_writer(|w| w.insert(b, &batch, None))
            .await
            .unwrap();
        sqlx::query("INSERT INTO audit_fts (audit_fts) VALUES ('integrity-check')")
            .execute(s.pool())
            .await
            .unwrap();
        let (hits, hashsize): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM audit_fts WHERE audit_fts MATCH 'c3'),
                    (SELECT v FROM audit_fts_config WHERE k = 'hashsize')",
        )
        .fetch_one(s.pool())
        .await
        .unwrap();
        assert_eq!(hits as usize, (0..n).filter(|i| i % 7 == 3).count());
        assert_eq!(hashsize, FTS_DEFAULT_HASHSIZE);
    }

    #[tokio::test]
    async fn identifiers_joined_by_dash_or_underscore_are_one_word() {
        let s = Store::in_memory().await.unwrap();
        let b = backend(&s).await;
        let bob = AuditEvent {
            actor: Some("userpass-bob".into()),
            raw: json!({"error": "insufficient_scope"}),
            ..ev("1", "a")
        };
        s.insert_audit_batch(b, &[bob, ev("2", "a")], None)
            .await
            .unwrap();
        for (query, want) in [
            (r#""userpass-bob""#, 1),
            (r#""bob""#, 0),
            (r#""userpass"*"#, 1),
            (r#""insufficient_scope""#, 1),
            (r#""scope""#, 0),
            // Slashes still separate words.
            (r#""billing""#, 2),
        ] {
            let (n,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM audit_fts WHERE audit_fts MATCH ?")
                    .bind(query)
                    .fetch_one(s.pool())
                    .await
                    .unwrap();
            assert_eq!(n, want, "{query}");
        }
    }

    #[tokio::test]
    async fn removing_a_backend_keeps_the_index_consistent() {
        let s = Store::in_memory().await.unwrap();
        let b = backend(&s).await;
        s.insert_audit_batch(b, &[ev("1", "a"), ev("2", "a")], None)
            .await
            .unwrap();
        sqlx::query("DELETE FROM backends WHERE id = ?")
            .bind(b)
            .execute(s.pool())
            .await
            .unwrap();
        sqlx::query("INSERT INTO audit_fts (audit_fts) VALUES ('integrity-check')")
            .execute(s.pool())
            .await
            .unwrap();
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_fts")
            .fetch_one(s.pool())
            .await
            .unwrap();
        assert_eq!(n, 0);
    }
}

/// Batches of the writer interleaved with transactions and queries on other pooled connections:
/// nothing the writer does to its connection may disturb the others.
#[cfg(test)]
mod stress {
    use super::*;
    use portcullis_model::*;
    use serde_json::json;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writer_ddl_and_other_connections_interleave() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("c.db")).await.unwrap();
        let b = s
            .insert_backend(
                "b",
                BackendKind::Vault,
                "http://x",
                &CredentialRef::None,
                &json!({}),
            )
            .await
            .unwrap()
            .id;
        for round in 0..100 {
            let evs: Vec<AuditEvent> = (0..5)
                .map(|i| AuditEvent {
                    dedup_key: format!("{round}-{i}"),
                    at: chrono::Utc::now(),
                    actor: Some("a".into()),
                    credential: Some(format!("h{i}")),
                    action: "read".into(),
                    resource: None,
                    outcome: Outcome::Allow,
                    source_ip: None,
                    raw: json!({}),
                })
                .collect();
            if round % 2 == 0 {
                s.insert_audit_batch(b, &evs, Some("c")).await.unwrap();
            } else {
                // Bulk mode: the indexes are dropped and rebuilt inside the writer's transaction.
                let prepared: Vec<PreparedAuditEvent> =
                    evs.into_iter().map(PreparedAuditEvent::new).collect();
                s.with_audit_writer(|w| {
                    w.expect(1_000_000);
                    w.insert(b, &prepared, Some("c"))
                })
                .await
                .unwrap_or_else(|e| panic!("round {round} bulk: {e}"));
            }
            let mut tx = s.pool().begin().await.unwrap();
            // As `correlate_audit` does: after the schema changed (the bulk rounds), a read
            // before the first UPDATE of audit_events (see there).
            sqlx::query("SELECT 1 FROM audit_events LIMIT 1")
                .fetch_optional(&mut *tx)
                .await
                .unwrap();
            for i in 0..3 {
                sqlx::query("UPDATE audit_events SET credential = ? WHERE backend_id = ? AND credential = ?")
                    .bind(format!("x{i}"))
                    .bind(b)
                    .bind(format!("h{i}"))
                    .execute(&mut *tx)
                    .await
                    .unwrap_or_else(|e| panic!("round {round} update {i}: {e}"));
            }
            tx.commit().await.unwrap();
            let _: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_events")
                .fetch_one(s.pool())
                .await
                .unwrap_or_else(|e| panic!("round {round} count: {e}"));
        }
    }
}
