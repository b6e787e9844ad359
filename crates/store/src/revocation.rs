//! What the revocation planner reads beyond the inventory views, and the one write it makes to
//! the cache: where credentials were used from (for selecting by source address), and the status
//! of credentials a run proved dead, written in one transaction per batch (by the run's
//! [`crate::JournalAppender`]) so a bulk run does not pay a commit per item.

use portcullis_model::CredentialStatus;
use rusqlite::params;

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
}

/// Sets the status of many credentials, named by (backend id, external id), in one transaction;
/// a status that already holds is left alone. Returns how many rows changed.
pub(crate) fn set_statuses(
    db: &mut rusqlite::Connection,
    credentials: &[(i64, String)],
    status: CredentialStatus,
) -> Result<u64> {
    if credentials.is_empty() {
        return Ok(0);
    }
    let tx = db.transaction()?;
    let mut changed = 0;
    {
        let mut update = tx.prepare_cached(
            "UPDATE credentials SET status = ?1, digest = ''
             WHERE status != ?1 AND backend_id = ?2 AND external_id = ?3",
        )?;
        for (backend_id, external_id) in credentials {
            changed += update.execute(params![status.as_str(), backend_id, external_id])? as u64;
        }
    }
    tx.commit()?;
    Ok(changed)
}
