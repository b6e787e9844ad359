//! Counts for the Overview, computed in SQL so they stay cheap on a large cache.

use chrono::Utc;
use portcullis_model::Counts;
use sqlx::Row;

use crate::{ts, Result, Store};

impl Store {
    /// Counts for one backend, or for all when `backend_id` is `None`.
    pub async fn counts(&self, backend_id: Option<i64>) -> Result<Counts> {
        let now = ts(Utc::now());
        let row = sqlx::query(
            "SELECT
                (SELECT COUNT(*) FROM principals  WHERE ?1 IS NULL OR backend_id = ?1) AS principals,
                (SELECT COUNT(*) FROM roles       WHERE ?1 IS NULL OR backend_id = ?1) AS roles,
                (SELECT COUNT(*) FROM permissions WHERE ?1 IS NULL OR backend_id = ?1) AS permissions,
                (SELECT COUNT(*) FROM grants      WHERE ?1 IS NULL OR backend_id = ?1) AS grants,
                (SELECT COUNT(*) FROM credentials WHERE ?1 IS NULL OR backend_id = ?1) AS credentials,
                (SELECT COUNT(*) FROM credentials WHERE (?1 IS NULL OR backend_id = ?1)
                    AND status = 'active' AND (expires_at IS NULL OR expires_at > ?2)) AS active,
                (SELECT COUNT(*) FROM credentials WHERE (?1 IS NULL OR backend_id = ?1)
                    AND status = 'active' AND expires_at IS NULL) AS never_expiring,
                (SELECT COUNT(*) FROM audit_events WHERE ?1 IS NULL OR backend_id = ?1) AS audit_events",
        )
        .bind(backend_id)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        let get = |name: &str| -> Result<u64> { Ok(row.try_get::<i64, _>(name)?.max(0) as u64) };
        Ok(Counts {
            principals: get("principals")?,
            roles: get("roles")?,
            permissions: get("permissions")?,
            grants: get("grants")?,
            credentials: get("credentials")?,
            active_credentials: get("active")?,
            never_expiring_credentials: get("never_expiring")?,
            audit_events: get("audit_events")?,
        })
    }
}

impl Store {
    /// Credentials of one backend still active in the cache: how big a listing of them on the
    /// backend would be, as of the last sync.
    pub async fn active_credential_count(&self, backend_id: i64) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM credentials WHERE backend_id = ? AND status = 'active'",
        )
        .bind(backend_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(n.max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn empty_cache_counts_zero() {
        let s = Store::in_memory().await.unwrap();
        assert_eq!(s.counts(None).await.unwrap(), Counts::default());
        assert_eq!(s.counts(Some(42)).await.unwrap(), Counts::default());
    }
}
