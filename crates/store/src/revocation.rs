//! What the revocation planner reads beyond the inventory views, and the one write it makes to
//! the cache: where credentials were used from (for selecting by source address), and the status
//! of credentials a run proved dead, written in one transaction per batch so a bulk run does not
//! pay a commit per item.

use portcullis_model::CredentialStatus;

use sqlx::{QueryBuilder, Sqlite};

use crate::{Result, Store};

/// One distinct (credential or actor, source address) pair from the audit trail of a backend.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SourceUse {
    pub backend_id: i64,
    pub credential: Option<String>,
    pub actor: Option<String>,
    pub source_ip: String,
}

impl Store {
    /// Every distinct (backend, credential, actor, source address) seen in the audit trail.
    /// Address matching (CIDR) happens in the caller: SQLite has no inet type.
    pub async fn audit_source_uses(&self) -> Result<Vec<SourceUse>> {
        Ok(sqlx::query_as(
            "SELECT DISTINCT backend_id, credential, actor, source_ip FROM audit_events
             WHERE source_ip IS NOT NULL AND source_ip != ''",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Sets the status of many credentials, named by (backend id, external id), in one
    /// transaction. Returns how many rows changed.
    pub async fn set_credential_statuses(
        &self,
        credentials: &[(i64, String)],
        status: CredentialStatus,
    ) -> Result<u64> {
        if credentials.is_empty() {
            return Ok(0);
        }
        let mut tx = self.pool.begin().await?;
        let mut changed = 0;
        for chunk in credentials.chunks(400) {
            // Rows are keyed by (backend_id, external_id): match both in one statement per chunk.
            let mut q: QueryBuilder<Sqlite> = QueryBuilder::new("UPDATE credentials SET status = ");
            q.push_bind(status.as_str())
                .push(", digest = '' WHERE status != ")
                .push_bind(status.as_str())
                .push(" AND (backend_id, external_id) IN (VALUES ");
            let mut sep = q.separated(", ");
            for (backend_id, external_id) in chunk {
                sep.push("(")
                    .push_bind_unseparated(*backend_id)
                    .push_unseparated(", ")
                    .push_bind_unseparated(external_id.as_str())
                    .push_unseparated(")");
            }
            q.push(")");
            changed += q.build().execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(changed)
    }
}
