//! Audit events: batched, idempotent inserts committed together with the backend's audit cursor,
//! so an import or sync killed at any point resumes after the last committed batch, and re-reading
//! the same lines adds nothing (unique `(backend, dedup_key)`).

use portcullis_model::AuditEvent;
use sqlx::{QueryBuilder, Sqlite};
use std::collections::HashMap;

use crate::{ts, Result, Store};

impl Store {
    /// Inserts a batch and moves the cursor in one transaction. Returns how many were new.
    /// Rows go in multi-row statements: one statement per row costs more than the row itself.
    pub async fn insert_audit_batch(
        &self,
        backend_id: i64,
        events: &[AuditEvent],
        cursor: Option<&str>,
    ) -> Result<u64> {
        const ROWS_PER_STATEMENT: usize = 400;
        let mut tx = self.pool.begin().await?;
        let mut inserted = 0;
        for chunk in events.chunks(ROWS_PER_STATEMENT) {
            let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT OR IGNORE INTO audit_events
                   (backend_id, dedup_key, at, actor, credential, action, resource, outcome, source_ip, raw) ",
            );
            q.push_values(chunk, |mut b, e| {
                b.push_bind(backend_id)
                    .push_bind(&e.dedup_key)
                    .push_bind(ts(e.at))
                    .push_bind(&e.actor)
                    .push_bind(&e.credential)
                    .push_bind(&e.action)
                    .push_bind(&e.resource)
                    .push_bind(e.outcome.as_str())
                    .push_bind(&e.source_ip)
                    .push_bind(e.raw.to_string());
            });
            inserted += q.build().execute(&mut *tx).await?.rows_affected();
        }
        if let Some(cursor) = cursor {
            sqlx::query(
                "INSERT INTO audit_cursors (backend_id, cursor, updated_at) VALUES (?, ?, ?)
                 ON CONFLICT (backend_id) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
            )
            .bind(backend_id)
            .bind(cursor)
            .bind(ts(chrono::Utc::now()))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(inserted)
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
        sqlx::query(
            "UPDATE credentials SET last_used_at = (
                 SELECT MAX(e.at) FROM audit_events e
                 WHERE e.backend_id = ?1 AND e.credential = credentials.external_id AND e.outcome = 'allow')
             WHERE backend_id = ?1 AND (SELECT MAX(e.at) FROM audit_events e
                 WHERE e.backend_id = ?1 AND e.credential = credentials.external_id AND e.outcome = 'allow')
                 > COALESCE(last_used_at, '')",
        )
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

    fn ev(key: &str, cred: &str) -> AuditEvent {
        AuditEvent {
            dedup_key: key.into(),
            at: chrono::Utc::now(),
            actor: Some("alice".into()),
            credential: Some(cred.into()),
            action: "read".into(),
            resource: Some("secret/data/billing".into()),
            outcome: Outcome::Allow,
            source_ip: Some("127.0.0.1".into()),
            raw: json!({"k": key}),
        }
    }

    #[tokio::test]
    async fn batches_are_idempotent_and_move_the_cursor() {
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
        let (fts,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM audit_fts WHERE audit_fts MATCH 'billing'")
                .fetch_one(s.pool())
                .await
                .unwrap();
        assert_eq!(fts, 3);
    }

    #[tokio::test]
    async fn hmac_accessors_are_matched_and_last_use_recorded() {
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
}
