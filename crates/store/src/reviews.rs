//! What least-privilege reviews read and keep: the inventory in one pass, allowed use aggregated
//! over the review window, the few raw facts rules need from audit events, the workspace's review
//! settings, and campaigns with their decisions.
//!
//! Use is aggregated in SQL by (backend, credential, actor, action, resource, outcome, source) with
//! its count and first/newest event id (ids are time keys, so the window is an id range and the
//! newest id names an event the UI can open). A million events become a few thousand rows, read
//! through the covering index `audit_events_usage` without touching the raw JSON.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::{key_time, parse_ts, time_key, ts, Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct ReviewBackendRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReviewPrincipalRow {
    pub backend_id: i64,
    pub external_id: String,
    pub kind: String,
    pub name: String,
    pub enabled: bool,
    /// See `portcullis_model::ACCOUNT_OF_KEY`.
    pub account_of: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReviewPermissionRow {
    pub backend_id: i64,
    pub external_id: String,
    pub name: String,
    pub resource: String,
    pub action: String,
    /// JSON text as the connector stored it.
    pub raw: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReviewGrantRow {
    pub backend_id: i64,
    pub from_kind: String,
    pub from_id: String,
    pub to_kind: String,
    pub to_id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReviewCredentialRow {
    pub id: i64,
    pub backend_id: i64,
    pub external_id: String,
    pub kind: String,
    pub principal: Option<String>,
    pub client: Option<String>,
    /// JSON array text.
    pub scopes: String,
    pub issued_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub status: String,
    /// JSON object text.
    pub attrs: String,
    pub origin: String,
}

/// The whole inventory, as rules read it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReviewInventory {
    pub backends: Vec<ReviewBackendRow>,
    pub principals: Vec<ReviewPrincipalRow>,
    /// (backend id, external id, name)
    pub roles: Vec<(i64, String, String)>,
    pub permissions: Vec<ReviewPermissionRow>,
    pub grants: Vec<ReviewGrantRow>,
    pub credentials: Vec<ReviewCredentialRow>,
}

/// Events of one (backend, credential, actor, action, resource, outcome, source) in the window.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageRow {
    pub backend_id: i64,
    pub credential: Option<String>,
    pub actor: Option<String>,
    pub action: String,
    pub resource: Option<String>,
    pub outcome: String,
    pub source_ip: Option<String>,
    pub count: u64,
    pub first_id: i64,
    pub last_id: i64,
}

impl UsageRow {
    pub fn first_at(&self) -> DateTime<Utc> {
        key_time(self.first_id)
    }
    pub fn last_at(&self) -> DateTime<Utc> {
        key_time(self.last_id)
    }
}

/// A raw fact some rule needs from an individual event.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditFactRow {
    pub backend_id: i64,
    pub event_id: i64,
    pub credential: Option<String>,
    pub actor: Option<String>,
    pub action: String,
    pub resource: Option<String>,
    pub outcome: String,
    /// Vault: the token was created with a `period` (renewable forever).
    pub periodic: bool,
    /// Vault: the created token's accessor as the audit log names it (HMAC).
    pub created_accessor: Option<String>,
    /// The event's free text: PostgreSQL log message (statement), OAuth error detail.
    pub text: Option<String>,
}

/// Per-backend event bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct EventBounds {
    pub backend_id: i64,
    /// Events before the window start exist (the window is fully covered by the log).
    pub has_older: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReviewRow {
    pub id: i64,
    pub name: String,
    /// JSON text.
    pub scope: String,
    /// JSON text (only filled by [`Store::review_by_id`]).
    pub snapshot: String,
    pub created_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub status: String,
    pub signed_off_by: Option<String>,
    pub signed_off_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRow {
    pub id: i64,
    pub review_id: i64,
    pub item_key: String,
    pub verdict: String,
    pub note: Option<String>,
    pub reviewer: String,
    pub at: DateTime<Utc>,
    pub applied_receipt: Option<String>,
    pub journal_seq: Option<i64>,
}

fn opt_time(s: Option<String>) -> Option<DateTime<Utc>> {
    s.as_deref().and_then(parse_ts)
}

fn time(what: &'static str, s: String) -> Result<DateTime<Utc>> {
    parse_ts(&s).ok_or(StoreError::Corrupt { what, detail: s })
}

fn row_to_review(r: &sqlx::sqlite::SqliteRow, with_snapshot: bool) -> Result<ReviewRow> {
    Ok(ReviewRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        scope: r.try_get("scope")?,
        snapshot: if with_snapshot {
            r.try_get("snapshot")?
        } else {
            String::new()
        },
        created_at: time("reviews.created_at", r.try_get("created_at")?)?,
        due_at: opt_time(r.try_get("due_at")?),
        status: r.try_get("status")?,
        signed_off_by: r.try_get("signed_off_by")?,
        signed_off_at: opt_time(r.try_get("signed_off_at")?),
    })
}

impl Store {
    /// Every inventory row of every backend, in one read transaction (a consistent picture).
    pub async fn review_inventory(&self) -> Result<ReviewInventory> {
        let mut tx = self.pool.begin().await?;
        let backends = sqlx::query("SELECT id, name, kind FROM backends ORDER BY name")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| {
                Ok(ReviewBackendRow {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    kind: r.try_get("kind")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // `account_of` is portcullis_model::ACCOUNT_OF_KEY (a test holds them together).
        let principals = sqlx::query(
            "SELECT backend_id, external_id, kind, name, enabled,
                    json_extract(attrs, '$.account_of') AS account_of
             FROM principals ORDER BY backend_id, external_id",
        )
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            Ok(ReviewPrincipalRow {
                backend_id: r.try_get("backend_id")?,
                external_id: r.try_get("external_id")?,
                kind: r.try_get("kind")?,
                name: r.try_get("name")?,
                enabled: r.try_get("enabled")?,
                account_of: r.try_get("account_of")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let roles: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT backend_id, external_id, name FROM roles")
                .fetch_all(&mut *tx)
                .await?;
        let permissions = sqlx::query(
            "SELECT backend_id, external_id, name, resource, action, raw FROM permissions",
        )
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            Ok(ReviewPermissionRow {
                backend_id: r.try_get("backend_id")?,
                external_id: r.try_get("external_id")?,
                name: r.try_get("name")?,
                resource: r.try_get("resource")?,
                action: r.try_get("action")?,
                raw: r.try_get("raw")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let grants = sqlx::query(
            "SELECT backend_id, from_kind, from_id, to_kind, to_id FROM grants ORDER BY id",
        )
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            Ok(ReviewGrantRow {
                backend_id: r.try_get("backend_id")?,
                from_kind: r.try_get("from_kind")?,
                from_id: r.try_get("from_id")?,
                to_kind: r.try_get("to_kind")?,
                to_id: r.try_get("to_id")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let credentials = sqlx::query(
            "SELECT id, backend_id, external_id, kind, principal_external_id, client, scopes, issued_at,
                    expires_at, status, attrs, origin
             FROM credentials ORDER BY backend_id, id",
        )
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            Ok(ReviewCredentialRow {
                id: r.try_get("id")?,
                backend_id: r.try_get("backend_id")?,
                external_id: r.try_get("external_id")?,
                kind: r.try_get("kind")?,
                principal: r.try_get("principal_external_id")?,
                client: r.try_get("client")?,
                scopes: r.try_get("scopes")?,
                issued_at: opt_time(r.try_get("issued_at")?),
                expires_at: opt_time(r.try_get("expires_at")?),
                status: r.try_get("status")?,
                attrs: r.try_get("attrs")?,
                origin: r.try_get("origin")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        tx.commit().await?;
        Ok(ReviewInventory {
            backends,
            principals,
            roles,
            permissions,
            grants,
            credentials,
        })
    }

    /// All events from `since` to `until`, aggregated (see the module docs).
    pub async fn review_usage(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<UsageRow>> {
        let mut out = Vec::new();
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM backends")
            .fetch_all(&self.pool)
            .await?;
        for id in ids {
            out.extend(self.review_usage_of(id, since, until).await?);
        }
        Ok(out)
    }

    /// One backend's events from `since` to `until`, aggregated: a seek on the backend's prefix
    /// of `audit_events_usage`, so backends can be read concurrently.
    pub async fn review_usage_of(
        &self,
        backend_id: i64,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<UsageRow>> {
        // The upper bound is the last id of `until`'s millisecond.
        let lo = time_key(since);
        let hi = time_key(until) | ((1i64 << crate::SEQ_BITS) - 1);
        let rows = sqlx::query(
            "SELECT backend_id, credential, actor, action, resource, outcome, source_ip,
                    COUNT(*) AS n, MIN(id) AS first_id, MAX(id) AS last_id
             FROM audit_events INDEXED BY audit_events_usage
             WHERE backend_id = ?1 AND id BETWEEN ?2 AND ?3
             GROUP BY backend_id, credential, actor, action, resource, outcome, source_ip",
        )
        .bind(backend_id)
        .bind(lo)
        .bind(hi)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(UsageRow {
                    backend_id: r.try_get("backend_id")?,
                    credential: r.try_get("credential")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    resource: r.try_get("resource")?,
                    outcome: r.try_get("outcome")?,
                    source_ip: r.try_get("source_ip")?,
                    count: r.try_get::<i64, _>("n")?.max(0) as u64,
                    first_id: r.try_get("first_id")?,
                    last_id: r.try_get("last_id")?,
                })
            })
            .collect()
    }

    /// Whether each backend has events older than `since`: if not, its log starts inside the
    /// window and "unused" only means "unused since the log starts".
    pub async fn review_event_bounds(&self, since: DateTime<Utc>) -> Result<Vec<EventBounds>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            // Rowid order is time order: this walks the oldest events first and stops at the
            // first of the backend's.
            "SELECT b.id, EXISTS (SELECT 1 FROM audit_events e NOT INDEXED
                                  WHERE e.id < ?1 AND e.backend_id = b.id)
             FROM backends b",
        )
        .bind(time_key(since))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(backend_id, older)| EventBounds {
                backend_id,
                has_older: older != 0,
            })
            .collect())
    }

    /// The raw facts rules need, each found through an index rather than a scan of the log:
    /// token creations (any time; through the full-text index on `resource`), refusals in the
    /// window (through the outcome index), and the statements of allowed events without a
    /// resource (PostgreSQL function calls; one index seek per such group of `usage`).
    pub async fn review_audit_facts(
        &self,
        since: DateTime<Utc>,
        usage: &[UsageRow],
    ) -> Result<Vec<AuditFactRow>> {
        let mut rows = sqlx::query(concat!(
            "SELECT e.backend_id, e.id, e.credential, e.actor, e.action, e.resource, e.outcome,",
            "
                    json_extract(e.raw, '$.request.data.period') IS NOT NULL AS periodic,
                    json_extract(e.raw, '$.response.auth.accessor') AS created_accessor,
                    NULL AS text
             FROM audit_fts JOIN audit_events e ON e.id = audit_fts.rowid
             WHERE audit_fts MATCH 'resource : \"auth token create\"'
               AND e.resource LIKE 'auth/token/create%'"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.extend(
            sqlx::query(concat!(
                "SELECT e.backend_id, e.id, e.credential, e.actor, e.action, e.resource, e.outcome,",
            " 0 AS periodic, NULL AS created_accessor,
                        COALESCE(json_extract(e.raw, '$.detail'), json_extract(e.raw, '$.message')) AS text
                 FROM audit_events e WHERE e.outcome = 'deny' AND e.action = 'grant.error' AND e.id >= ?"
            ))
            .bind(time_key(since))
            .fetch_all(&self.pool)
            .await?,
        );
        for g in usage.iter().filter(|u| {
            u.outcome == "allow"
                && u.resource.as_deref().is_none_or(str::is_empty)
                && !u.action.contains('.')
        }) {
            rows.extend(
                sqlx::query(concat!(
                    "SELECT e.backend_id, e.id, e.credential, e.actor, e.action, e.resource, e.outcome,",
            " 0 AS periodic, NULL AS created_accessor,
                            json_extract(e.raw, '$.message') AS text
                     FROM audit_events e INDEXED BY audit_events_usage
                     WHERE e.backend_id = ? AND e.credential IS ? AND e.actor IS ? AND e.action = ?
                       AND e.resource IS ? AND e.outcome = 'allow' AND e.source_ip IS ?
                       AND e.id BETWEEN ? AND ?
                     ORDER BY e.id DESC LIMIT 200"
                ))
                .bind(g.backend_id)
                .bind(&g.credential)
                .bind(&g.actor)
                .bind(&g.action)
                .bind(&g.resource)
                .bind(&g.source_ip)
                .bind(g.first_id)
                .bind(g.last_id)
                .fetch_all(&self.pool)
                .await?,
            );
        }
        rows.iter()
            .map(|r| {
                let text: Option<String> = r.try_get("text")?;
                Ok(AuditFactRow {
                    backend_id: r.try_get("backend_id")?,
                    event_id: r.try_get("id")?,
                    credential: r.try_get("credential")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    resource: r.try_get("resource")?,
                    outcome: r.try_get("outcome")?,
                    periodic: r.try_get::<Option<bool>, _>("periodic")?.unwrap_or(false),
                    created_accessor: r.try_get("created_accessor")?,
                    // Bounded: a statement can be long, and only its function names matter.
                    text: text.map(|t| t.chars().take(4_000).collect()),
                })
            })
            .collect()
    }

    /// Latest verified `revoke` journal entries: (target description, time), so a use after a
    /// revocation can be recognised.
    pub async fn review_revocations(&self) -> Result<Vec<(String, DateTime<Utc>)>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT target, at FROM journal WHERE action = 'revoke' AND state = 'verified'",
        )
        .fetch_all(&self.journal_pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(t, at)| parse_ts(&at).map(|at| (t, at)))
            .collect())
    }

    // ---- settings ----

    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES (?, ?)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    // ---- campaigns ----

    pub async fn insert_review(
        &self,
        name: &str,
        scope: &str,
        snapshot: &str,
        created_at: DateTime<Utc>,
        due_at: Option<DateTime<Utc>>,
    ) -> Result<i64> {
        let res = sqlx::query(
            "INSERT INTO reviews (name, scope, snapshot, created_at, due_at, status) VALUES (?, ?, ?, ?, ?, 'open')",
        )
        .bind(name)
        .bind(scope)
        .bind(snapshot)
        .bind(ts(created_at))
        .bind(due_at.map(ts))
        .execute(&self.pool)
        .await?;
        Ok(res.last_insert_rowid())
    }

    /// Campaigns, newest first, without their snapshots.
    pub async fn list_reviews(&self) -> Result<Vec<ReviewRow>> {
        let rows = sqlx::query(
            "SELECT id, name, scope, created_at, due_at, status, signed_off_by, signed_off_at
             FROM reviews ORDER BY id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| row_to_review(r, false)).collect()
    }

    pub async fn review_by_id(&self, id: i64) -> Result<ReviewRow> {
        let row = sqlx::query(
            "SELECT id, name, scope, snapshot, created_at, due_at, status, signed_off_by, signed_off_at
             FROM reviews WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "review campaign",
            name: id.to_string(),
        })?;
        row_to_review(&row, true)
    }

    /// The campaign created just before `id`, with its snapshot (for drift).
    pub async fn previous_review(&self, id: i64) -> Result<Option<ReviewRow>> {
        let prev: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM reviews WHERE id < ?")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        match prev {
            Some(p) => Ok(Some(self.review_by_id(p).await?)),
            None => Ok(None),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_decision(
        &self,
        review_id: i64,
        item_key: &str,
        verdict: &str,
        note: Option<&str>,
        reviewer: &str,
        at: DateTime<Utc>,
        journal_seq: Option<i64>,
    ) -> Result<i64> {
        let res = sqlx::query(
            "INSERT INTO decisions (review_id, item_key, verdict, note, reviewer, at, journal_seq)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(review_id)
        .bind(item_key)
        .bind(verdict)
        .bind(note)
        .bind(reviewer)
        .bind(ts(at))
        .bind(journal_seq)
        .execute(&self.pool)
        .await?;
        Ok(res.last_insert_rowid())
    }

    /// The latest decision of each item of a campaign (earlier ones stay as history).
    pub async fn latest_decisions(&self, review_id: i64) -> Result<Vec<DecisionRow>> {
        let rows = sqlx::query(
            "SELECT d.id, d.review_id, d.item_key, d.verdict, d.note, d.reviewer, d.at, d.applied_receipt, d.journal_seq
             FROM decisions d
             WHERE d.review_id = ?1
               AND d.id = (SELECT MAX(x.id) FROM decisions x WHERE x.review_id = ?1 AND x.item_key = d.item_key)
             ORDER BY d.item_key",
        )
        .bind(review_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DecisionRow {
                    id: r.try_get("id")?,
                    review_id: r.try_get("review_id")?,
                    item_key: r.try_get("item_key")?,
                    verdict: r.try_get("verdict")?,
                    note: r.try_get("note")?,
                    reviewer: r.try_get("reviewer")?,
                    at: time("decisions.at", r.try_get("at")?)?,
                    applied_receipt: r.try_get("applied_receipt")?,
                    journal_seq: r.try_get("journal_seq")?,
                })
            })
            .collect()
    }

    pub async fn set_decision_applied(&self, decision_id: i64, receipt: &str) -> Result<()> {
        sqlx::query("UPDATE decisions SET applied_receipt = ? WHERE id = ?")
            .bind(receipt)
            .bind(decision_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Signs a campaign off; a campaign is signed off once.
    pub async fn sign_off_review(&self, id: i64, by: &str, at: DateTime<Utc>) -> Result<()> {
        let res = sqlx::query(
            "UPDATE reviews SET status = 'signed_off', signed_off_by = ?, signed_off_at = ?
             WHERE id = ? AND status = 'open'",
        )
        .bind(by)
        .bind(ts(at))
        .bind(id)
        .execute(&self.pool)
        .await?;
        if res.rows_affected() == 0 {
            // Distinguish "no such campaign" from "already signed off".
            self.review_by_id(id).await?;
            return Err(StoreError::Conflict {
                what: "sign-off of review campaign",
                name: id.to_string(),
            });
        }
        Ok(())
    }

    /// Campaign decisions that differ from the journal entry that recorded them, or that no entry
    /// recorded, one sentence each: the decisions table is a cache row anyone with the file can
    /// edit, the journal entry is chained (and sealed), so the entry is what a decision must match.
    pub async fn decisions_against_journal(&self) -> Result<Vec<String>> {
        type Decision = (
            i64,
            i64,
            String,
            String,
            Option<String>,
            String,
            Option<i64>,
        );
        let rows: Vec<Decision> = sqlx::query_as(
            "SELECT id, review_id, item_key, verdict, note, reviewer, journal_seq
             FROM decisions ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        let seqs: Vec<i64> = rows.iter().filter_map(|r| r.6).collect();
        let entries: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT seq, action, detail FROM journal
             WHERE seq IN (SELECT value FROM json_each(?))",
        )
        .bind(serde_json::Value::from(seqs).to_string())
        .fetch_all(&self.journal_pool)
        .await?;
        let by_seq: std::collections::HashMap<i64, (String, serde_json::Value)> = entries
            .into_iter()
            .map(|(seq, action, detail)| {
                (
                    seq,
                    (action, serde_json::from_str(&detail).unwrap_or_default()),
                )
            })
            .collect();
        Ok(rows
            .iter()
            .filter_map(|(id, review, item, verdict, note, reviewer, seq)| {
                let what = format!("decision {id} (campaign {review}, item {item})");
                let Some(seq) = seq else {
                    return Some(format!("{what} was never journalled"));
                };
                let Some((action, d)) = by_seq.get(seq) else {
                    return Some(format!("{what}: its journal entry {seq} is missing"));
                };
                let recorded = action == "review-decision"
                    && d["campaign"] == *review
                    && d["item"] == item.as_str()
                    && d["verdict"] == verdict.as_str()
                    && d["reviewer"] == reviewer.as_str()
                    && d["note"].as_str() == note.as_deref();
                (!recorded).then(|| format!("{what} is not what journal entry {seq} recorded"))
            })
            .collect())
    }

    /// Whether the journal holds an entry with this hash (an evidence manifest's head).
    pub async fn journal_has_hash(&self, hash: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM journal WHERE hash = ?")
            .bind(hash)
            .fetch_one(&self.journal_pool)
            .await?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_model::*;
    use serde_json::json;

    #[test]
    fn review_reads_the_account_link_under_its_model_key() {
        // The principals query names the key literally (sqlx takes only literal SQL).
        assert_eq!(ACCOUNT_OF_KEY, "account_of");
    }

    fn ev(key: &str, cred: &str, at: DateTime<Utc>, resource: &str) -> AuditEvent {
        AuditEvent {
            dedup_key: key.into(),
            at,
            actor: Some("alice".into()),
            credential: Some(cred.into()),
            action: "read".into(),
            resource: Some(resource.into()),
            outcome: Outcome::Allow,
            source_ip: Some("10.0.0.1".into()),
            raw: json!({"k": key}),
        }
    }

    #[tokio::test]
    async fn usage_is_aggregated_within_the_window() {
        let s = Store::in_memory().await.unwrap();
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
        let now = Utc::now();
        let old = now - chrono::Duration::days(200);
        s.insert_audit_batch(
            b,
            &[
                ev("1", "a", now - chrono::Duration::days(1), "x"),
                ev("2", "a", now - chrono::Duration::days(2), "x"),
                ev("3", "a", now, "y"),
                ev("4", "a", old, "x"),
            ],
            None,
        )
        .await
        .unwrap();
        let since = now - chrono::Duration::days(90);
        let mut rows = s.review_usage(since, now).await.unwrap();
        rows.sort_by(|a, b| a.resource.cmp(&b.resource));
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].count, 2);
        assert_eq!(rows[0].resource.as_deref(), Some("x"));
        assert!(rows[0].first_at() < rows[0].last_at());
        let bounds = s.review_event_bounds(since).await.unwrap();
        assert_eq!(
            bounds,
            vec![EventBounds {
                backend_id: b,
                has_older: true
            }]
        );
    }

    #[tokio::test]
    async fn decisions_keep_history_and_sign_off_is_once() {
        let s = Store::in_memory().await.unwrap();
        let id = s
            .insert_review("q4", "{}", "{}", Utc::now(), None)
            .await
            .unwrap();
        s.insert_decision(id, "k1", "keep", None, "ann", Utc::now(), Some(1))
            .await
            .unwrap();
        s.insert_decision(id, "k1", "revoke", Some("left"), "ann", Utc::now(), Some(2))
            .await
            .unwrap();
        s.insert_decision(id, "k2", "keep", None, "bob", Utc::now(), None)
            .await
            .unwrap();
        let d = s.latest_decisions(id).await.unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].verdict, "revoke");
        s.sign_off_review(id, "ann", Utc::now()).await.unwrap();
        assert!(matches!(
            s.sign_off_review(id, "ann", Utc::now()).await,
            Err(StoreError::Conflict { .. })
        ));
        assert!(matches!(
            s.sign_off_review(99, "ann", Utc::now()).await,
            Err(StoreError::NotFound { .. })
        ));
        assert_eq!(s.list_reviews().await.unwrap()[0].status, "signed_off");
    }

    #[tokio::test]
    async fn settings_round_trip() {
        let s = Store::in_memory().await.unwrap();
        assert_eq!(s.setting("review").await.unwrap(), None);
        s.set_setting("review", "{}").await.unwrap();
        s.set_setting("review", "{\"a\":1}").await.unwrap();
        assert_eq!(
            s.setting("review").await.unwrap().as_deref(),
            Some("{\"a\":1}")
        );
    }
}
