//! The append-only, hash-chained journal. Each entry's hash covers its content and the previous
//! entry's hash, so changing, removing or reordering any entry breaks every hash after it. SQL
//! triggers refuse UPDATE and DELETE; a state change of an action is a new entry pointing at the
//! action's first one.

use chrono::Utc;
use portcullis_model::{JournalEntry, JournalState, JournalVerification};
use sha2::{Digest, Sha256};
use sqlx::{QueryBuilder, Row, Sqlite};

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

#[allow(clippy::too_many_arguments)]
fn entry_hash(
    prev: &str,
    seq: i64,
    at: &str,
    actor: &str,
    action: &str,
    target: &str,
    state: &str,
    action_seq: Option<i64>,
    detail: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [
        prev,
        &seq.to_string(),
        at,
        actor,
        action,
        target,
        state,
        &action_seq.map(|s| s.to_string()).unwrap_or_default(),
        detail,
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    hex::encode(h.finalize())
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

    /// Appends several entries in one transaction, in order, chained to each other: one commit
    /// for many actions, which is what lets a bulk revocation journal every state change of every
    /// item before it acts on it without the journal becoming the bottleneck.
    ///
    /// The transaction starts with `BEGIN IMMEDIATE`, so the writer holds SQLite's write lock
    /// from the moment it reads the chain's head: concurrent writers (tasks of one run, or two
    /// processes on one workspace) queue on the busy timeout instead of failing on a stale head.
    pub async fn journal_append_batch(
        &self,
        entries: &[NewJournalEntry<'_>],
    ) -> Result<Vec<JournalEntry>> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let details: Vec<String> = entries.iter().map(|e| e.detail.to_string()).collect();
        for _ in 0..8 {
            let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
            let last: Option<(i64, String)> =
                sqlx::query_as("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1")
                    .fetch_optional(&mut *tx)
                    .await?;
            let (mut seq, mut prev) = match last {
                Some((s, h)) => (s, h),
                None => (0, String::new()),
            };
            let at = ts(Utc::now());
            let mut written = Vec::with_capacity(entries.len());
            for e in entries.iter().zip(&details).map(|(e, detail)| {
                seq += 1;
                let hash = entry_hash(
                    &prev,
                    seq,
                    &at,
                    e.actor,
                    e.action,
                    e.target,
                    e.state.as_str(),
                    e.action_seq,
                    detail,
                );
                JournalEntry {
                    seq,
                    at: parse_ts(&at).unwrap_or_else(Utc::now),
                    actor: e.actor.to_string(),
                    action: e.action.to_string(),
                    target: e.target.to_string(),
                    state: e.state,
                    action_seq: e.action_seq,
                    detail: e.detail.clone(),
                    prev_hash: std::mem::replace(&mut prev, hash.clone()),
                    hash,
                }
            }) {
                written.push(e);
            }
            // Multi-row INSERTs: one statement per chunk instead of one per entry (10 columns
            // per row stays far below SQLite's limit on bound parameters).
            let mut conflict = false;
            for (chunk, chunk_details) in written.chunks(200).zip(details.chunks(200)) {
                let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
                    "INSERT INTO journal (seq, at, actor, action, target, state, action_seq, detail, prev_hash, hash) ",
                );
                q.push_values(chunk.iter().zip(chunk_details), |mut b, (e, detail)| {
                    b.push_bind(e.seq)
                        .push_bind(&at)
                        .push_bind(&e.actor)
                        .push_bind(&e.action)
                        .push_bind(&e.target)
                        .push_bind(e.state.as_str())
                        .push_bind(e.action_seq)
                        .push_bind(detail)
                        .push_bind(&e.prev_hash)
                        .push_bind(&e.hash);
                });
                match q.build().execute(&mut *tx).await {
                    // Another writer took this seq (only possible without the immediate lock,
                    // e.g. an older Portcullis on the same file): read the new head and retry.
                    Err(sqlx::Error::Database(d)) if d.is_unique_violation() => {
                        conflict = true;
                        break;
                    }
                    Err(e) => return Err(e.into()),
                    Ok(_) => {}
                }
            }
            if conflict {
                tx.rollback().await?;
                continue;
            }
            tx.commit().await?;
            return Ok(written);
        }
        Err(StoreError::Conflict {
            what: "journal sequence",
            name: "contended".into(),
        })
    }

    /// Entries in order, optionally only those after `after_seq`.
    pub async fn journal_entries(&self, after_seq: i64, limit: i64) -> Result<Vec<JournalEntry>> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, target, state, action_seq, detail, prev_hash, hash
             FROM journal WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.pool)
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
        .fetch_all(&self.pool)
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
        .fetch_all(&self.pool)
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

    /// Every entry of one action (its first entry and its state changes), in order.
    pub async fn journal_action(&self, seq: i64) -> Result<Vec<JournalEntry>> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, target, state, action_seq, detail, prev_hash, hash
             FROM journal WHERE seq = ?1 OR action_seq = ?1 ORDER BY seq",
        )
        .bind(seq)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(row_to_entry).collect()
    }

    /// Recomputes every hash and link.
    pub async fn journal_verify(&self) -> Result<JournalVerification> {
        let mut prev = String::new();
        let mut expected_seq = 1;
        let mut n = 0u64;
        let mut after = 0;
        loop {
            let batch = self.journal_entries(after, 5_000).await?;
            if batch.is_empty() {
                break;
            }
            for e in &batch {
                n += 1;
                let at = ts(e.at);
                let recomputed = entry_hash(
                    &prev,
                    e.seq,
                    &at,
                    &e.actor,
                    &e.action,
                    &e.target,
                    e.state.as_str(),
                    e.action_seq,
                    &e.detail.to_string(),
                );
                let problem = if e.seq != expected_seq {
                    Some(format!(
                        "entry {} follows {} (a gap: entries were removed)",
                        e.seq,
                        expected_seq - 1
                    ))
                } else if e.prev_hash != prev {
                    Some(format!(
                        "entry {} does not link to the entry before it",
                        e.seq
                    ))
                } else if e.hash != recomputed {
                    Some(format!("entry {} was altered after it was written", e.seq))
                } else {
                    None
                };
                if let Some(message) = problem {
                    return Ok(JournalVerification {
                        entries: n,
                        ok: false,
                        head: None,
                        broken_at: Some(e.seq),
                        message,
                    });
                }
                prev = e.hash.clone();
                expected_seq += 1;
                after = e.seq;
            }
        }
        Ok(JournalVerification {
            entries: n,
            ok: true,
            head: (!prev.is_empty()).then_some(prev),
            broken_at: None,
            message: format!("{n} entries, chain intact"),
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
            .execute(s.pool())
            .await
            .unwrap();
        sqlx::query("UPDATE journal SET target = 'something else' WHERE seq = 2")
            .execute(s.pool())
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
            .execute(s.pool())
            .await
            .unwrap();
        sqlx::query("DELETE FROM journal WHERE seq = 2")
            .execute(s.pool())
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
}
