//! The append-only, hash-chained journal. Each entry's hash covers its content and the previous
//! entry's hash, so changing, removing or reordering any entry breaks every hash after it. SQL
//! triggers refuse UPDATE and DELETE; a state change of an action is a new entry pointing at the
//! action's first one.

use chrono::Utc;
use portcullis_model::{JournalEntry, JournalState, JournalVerification};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{parse_ts, ts, Result, Store, StoreError};

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
        let detail = e.detail.to_string();
        for _ in 0..8 {
            let mut tx = self.pool.begin().await?;
            let last: Option<(i64, String)> =
                sqlx::query_as("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1")
                    .fetch_optional(&mut *tx)
                    .await?;
            let (seq, prev) = match last {
                Some((s, h)) => (s + 1, h),
                None => (1, String::new()),
            };
            let at = ts(Utc::now());
            let hash = entry_hash(
                &prev,
                seq,
                &at,
                e.actor,
                e.action,
                e.target,
                e.state.as_str(),
                e.action_seq,
                &detail,
            );
            let res = sqlx::query(
                "INSERT INTO journal (seq, at, actor, action, target, state, action_seq, detail, prev_hash, hash)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(seq)
            .bind(&at)
            .bind(e.actor)
            .bind(e.action)
            .bind(e.target)
            .bind(e.state.as_str())
            .bind(e.action_seq)
            .bind(&detail)
            .bind(&prev)
            .bind(&hash)
            .execute(&mut *tx)
            .await;
            match res {
                // Another writer took this seq: read the new head and try again.
                Err(sqlx::Error::Database(d)) if d.is_unique_violation() => continue,
                Err(e) => return Err(e.into()),
                Ok(_) => {}
            }
            tx.commit().await?;
            return Ok(JournalEntry {
                seq,
                at: parse_ts(&at).unwrap_or_else(Utc::now),
                actor: e.actor.to_string(),
                action: e.action.to_string(),
                target: e.target.to_string(),
                state: e.state,
                action_seq: e.action_seq,
                detail: e.detail,
                prev_hash: prev,
                hash,
            });
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
    /// what a crash left unfinished.
    pub async fn journal_unfinished(&self) -> Result<Vec<JournalEntry>> {
        let rows = sqlx::query(
            "SELECT j.seq, j.at, j.actor, j.action, j.target, j.state, j.action_seq, j.detail, j.prev_hash, j.hash
             FROM journal j
             WHERE j.action_seq IS NULL
               AND NOT EXISTS (SELECT 1 FROM journal f WHERE f.action_seq = j.seq AND f.state IN ('verified', 'failed'))
             ORDER BY j.seq",
        )
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
}
