//! Sync-run records: one row per run per backend, with counts, duration and error.

use portcullis_model::{ErrorCode, IpcError, SyncCounts, SyncRunInfo};
use sqlx::Row;

use crate::{parse_ts, ts, Result, Store, StoreError};

impl Store {
    /// Opens a run record. A run left open by a crash is closed first as interrupted.
    pub async fn start_sync_run(&self, backend_id: i64) -> Result<i64> {
        let now = ts(chrono::Utc::now());
        sqlx::query(
            "UPDATE sync_runs SET finished_at = ?, ok = 0, error_code = 'cancelled',
                    error_message = 'interrupted (the app or CLI stopped mid-sync); the next sync resumed'
             WHERE backend_id = ? AND finished_at IS NULL",
        )
        .bind(&now)
        .bind(backend_id)
        .execute(&self.pool)
        .await?;
        let res = sqlx::query("INSERT INTO sync_runs (backend_id, started_at) VALUES (?, ?)")
            .bind(backend_id)
            .bind(&now)
            .execute(&self.pool)
            .await?;
        Ok(res.last_insert_rowid())
    }

    /// Records a run's end. A run that failed has `error`; one whose inventory is synced but
    /// whose audit trail could not be read has `audit_gap`, kept as `ok` with an error code.
    pub async fn finish_sync_run(
        &self,
        run_id: i64,
        counts: &SyncCounts,
        error: Option<&IpcError>,
        audit_gap: Option<&IpcError>,
    ) -> Result<()> {
        let said = error.or(audit_gap);
        sqlx::query(
            "UPDATE sync_runs SET finished_at = ?, ok = ?, counts = ?, error_code = ?, error_message = ? WHERE id = ?",
        )
        .bind(ts(chrono::Utc::now()))
        .bind(error.is_none())
        .bind(serde_json::to_string(counts).unwrap_or_else(|_| "{}".into()))
        .bind(said.map(|e| e.code.as_str()))
        .bind(said.map(|e| e.message.clone()))
        .bind(run_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The most recent sync run of a backend, if it was ever synced.
    pub async fn last_sync_run(&self, backend_id: i64) -> Result<Option<SyncRunInfo>> {
        let row = sqlx::query(
            "SELECT r.id, b.name, r.started_at, r.finished_at, r.ok, r.counts, r.error_code, r.error_message
             FROM sync_runs r JOIN backends b ON b.id = r.backend_id
             WHERE r.backend_id = ? ORDER BY r.id DESC LIMIT 1",
        )
        .bind(backend_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let corrupt = |what: &'static str, detail: String| StoreError::Corrupt { what, detail };
        let started: String = row.try_get("started_at")?;
        let finished: Option<String> = row.try_get("finished_at")?;
        let counts: String = row.try_get("counts")?;
        let code: Option<String> = row.try_get("error_code")?;
        let message: Option<String> = row.try_get("error_message")?;
        let error = match (code, message) {
            (Some(code), message) => Some(IpcError::new(
                serde_json::from_value(serde_json::Value::String(code.clone()))
                    .unwrap_or(ErrorCode::Internal),
                message.unwrap_or(code),
            )),
            _ => None,
        };
        let ok: Option<bool> = row.try_get("ok")?;
        // An `ok` run with an error code synced its inventory but not its audit trail.
        let (error, audit_gap) = match ok {
            Some(true) => (None, error),
            _ => (error, None),
        };
        Ok(Some(SyncRunInfo {
            id: row.try_get("id")?,
            backend: row.try_get("name")?,
            started_at: parse_ts(&started)
                .ok_or_else(|| corrupt("sync_runs.started_at", started))?,
            finished_at: finished.as_deref().and_then(parse_ts),
            ok,
            counts: serde_json::from_str::<SyncCounts>(&counts)
                .map_err(|e| corrupt("sync_runs.counts", e.to_string()))?,
            error,
            audit_gap,
        }))
    }
}
