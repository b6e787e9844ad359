//! Sync: pull each backend's inventory and new audit events into the cache.
//!
//! Backends are synced one after another and independently: one failing does not stop the rest;
//! each gets a sync-run record with counts, duration and the coded error. Inventory is replaced in
//! one transaction; audit events arrive in batches committed with their cursor, so a sync that is
//! cancelled, or killed, resumes where it stopped and never imports an event twice.

use async_trait::async_trait;
use portcullis_connectors::{AuditSink, ConnectorError, SinkError};
use portcullis_model::{AuditEvent, IpcError, Progress, SyncCounts, SyncReport};
use portcullis_store::{BackendRow, Store};
use std::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::{EngineError, Result, Workspace};

struct StoreSink<'a> {
    store: &'a Store,
    /// Audit-log HMAC → credential id, applied as events arrive.
    hashes: std::collections::HashMap<String, String>,
    backend_id: i64,
    inserted: u64,
    cancel: &'a CancellationToken,
    progress: &'a (dyn Fn(Progress) + Send + Sync),
    task: String,
}

#[async_trait]
impl AuditSink for StoreSink<'_> {
    async fn batch(
        &mut self,
        mut events: Vec<AuditEvent>,
        cursor: String,
    ) -> std::result::Result<(), SinkError> {
        if self.cancel.is_cancelled() {
            return Err(SinkError::cancelled());
        }
        for e in &mut events {
            if let Some(id) = e.credential.as_ref().and_then(|c| self.hashes.get(c)) {
                e.credential = Some(id.clone());
            }
        }
        let n = self
            .store
            .insert_audit_batch(self.backend_id, &events, Some(&cursor))
            .await
            .map_err(|e| {
                let e = EngineError::from(e);
                SinkError::new(
                    e.code(),
                    format!("the local cache could not store a batch of audit events ({e}); what was saved before it is kept and the next sync resumes from there"),
                )
            })?;
        self.inserted += n;
        (self.progress)(Progress::Advanced {
            task: self.task.clone(),
            done: self.inserted,
            total: None,
            message: format!("{} new audit events", self.inserted),
        });
        Ok(())
    }

    fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
}

/// A sync's audit gap as the user reads it: what could not be read, and that the inventory
/// is in regardless.
fn audit_gap(row: &BackendRow, e: EngineError) -> IpcError {
    IpcError::new(
        e.code(),
        format!(
            "the inventory of {} is synced, but its audit trail could not be read, so its usage is unknown past what the cache held: {e}",
            row.name
        ),
    )
}

impl Workspace {
    /// Syncs the named backends (all when `names` is empty).
    pub async fn sync(
        &self,
        names: &[String],
        on_progress: &(dyn Fn(Progress) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<Vec<SyncReport>> {
        let all = self.store.list_backends().await?;
        let rows: Vec<BackendRow> = if names.is_empty() {
            all
        } else {
            let mut picked = Vec::new();
            for n in names {
                match all.iter().find(|b| &b.name == n) {
                    Some(b) => picked.push(b.clone()),
                    None => {
                        return Err(portcullis_store::StoreError::NotFound {
                            what: "backend",
                            name: n.clone(),
                        }
                        .into())
                    }
                }
            }
            picked
        };
        let mut reports = Vec::new();
        for row in rows {
            if cancel.is_cancelled() {
                break;
            }
            reports.push(self.sync_one(&row, on_progress, cancel).await?);
        }
        Ok(reports)
    }

    async fn sync_one(
        &self,
        row: &BackendRow,
        on_progress: &(dyn Fn(Progress) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<SyncReport> {
        let started = Instant::now();
        let task = format!("sync {}", row.name);
        on_progress(Progress::Started {
            task: task.clone(),
            total: None,
        });
        let run = self.store.start_sync_run(row.id).await?;
        let mut counts = SyncCounts::default();
        let outcome = tokio::select! {
            _ = cancel.cancelled() => Err(EngineError::Cancelled(format!("sync of {} stopped; the next sync resumes from the last saved batch", row.name))),
            r = self.sync_work(row, &mut counts, on_progress, cancel, &task) => r,
        };
        let (error, audit_gap) = match outcome {
            Ok(gap) => (None, gap.map(|e| audit_gap(row, e))),
            Err(EngineError::Store(e)) => return Err(EngineError::Store(e)),
            Err(e) => (Some(IpcError::from(e)), None),
        };
        let totals = self.store.counts(Some(row.id)).await?;
        counts.principals = totals.principals;
        counts.roles = totals.roles;
        counts.permissions = totals.permissions;
        counts.grants = totals.grants;
        counts.credentials = totals.credentials;
        self.store
            .finish_sync_run(run, &counts, error.as_ref(), audit_gap.as_ref())
            .await?;
        on_progress(Progress::Finished {
            task,
            ok: error.is_none(),
            message: match (&error, &audit_gap) {
                (None, None) => format!(
                    "{}: {} principals, {} credentials, {} new audit events",
                    row.name, counts.principals, counts.credentials, counts.audit_events
                ),
                (None, Some(gap)) => format!(
                    "{}: {} principals, {} credentials; no audit: [{}] {}",
                    row.name, counts.principals, counts.credentials, gap.code, gap.message
                ),
                (Some(e), _) => format!("{}: [{}] {}", row.name, e.code, e.message),
            },
        });
        Ok(SyncReport {
            backend: row.name.clone(),
            ok: error.is_none(),
            counts,
            duration_ms: started.elapsed().as_millis() as u64,
            error,
            audit_gap,
        })
    }

    /// Inventory, then audit. `Ok(Some(e))`: the inventory is in, the audit trail could not be
    /// read (a source that is missing, unreadable or not allowed is a coverage gap to report,
    /// not a failed sync); a cache write or a cancel is still an error.
    async fn sync_work(
        &self,
        row: &BackendRow,
        counts: &mut SyncCounts,
        on_progress: &(dyn Fn(Progress) + Send + Sync),
        cancel: &CancellationToken,
        task: &str,
    ) -> Result<Option<EngineError>> {
        let connector = self.connector(row).await?;
        let inventory = connector.inventory(on_progress).await?;
        let changes = self.store.replace_inventory(row.id, &inventory).await?;
        counts.rows_written = changes.written;
        counts.rows_deleted = changes.deleted;
        self.record_console_identity(row, connector.as_ref())
            .await?;
        match self
            .sync_audit(row, connector.as_ref(), counts, on_progress, cancel, task)
            .await
        {
            Ok(()) => Ok(None),
            Err(
                e @ (EngineError::Store(_)
                | EngineError::Cancelled(_)
                | EngineError::Connector(ConnectorError::Sink(_))),
            ) => Err(e),
            Err(e) => Ok(Some(e)),
        }
    }

    /// Records who the console is on the backend (the account its URL names, and what the
    /// backend says its credential is), so its own requests can be told from everyone else's. A
    /// backend that cannot say keeps what an earlier sync recorded.
    async fn record_console_identity(
        &self,
        row: &BackendRow,
        connector: &dyn portcullis_connectors::Connector,
    ) -> Result<()> {
        let mut ids: Vec<String> = crate::revoke::plan::console_identity(row)
            .into_iter()
            .collect();
        match connector.console_identity().await {
            Ok(more) => ids.extend(more),
            Err(e) => {
                tracing::info!(backend = %row.name, error = %e, "the console's own identity could not be read; keeping the last one");
                return Ok(());
            }
        }
        self.store.set_console_identity(row.id, &ids).await?;
        Ok(())
    }

    async fn sync_audit(
        &self,
        row: &BackendRow,
        connector: &dyn portcullis_connectors::Connector,
        counts: &mut SyncCounts,
        on_progress: &(dyn Fn(Progress) + Send + Sync),
        cancel: &CancellationToken,
        task: &str,
    ) -> Result<()> {
        let cursor = self.store.audit_cursor(row.id).await?;
        let mut sink = StoreSink {
            store: &self.store,
            hashes: self.store.audit_hashes(row.id).await?,
            backend_id: row.id,
            inserted: 0,
            cancel,
            progress: on_progress,
            task: task.to_string(),
        };
        let result = connector.audit(cursor, &mut sink).await;
        counts.audit_events = sink.inserted;
        if let Some(next) = result? {
            self.store
                .insert_audit_batch(row.id, &[], Some(&next))
                .await?;
        }
        self.store.correlate_audit(row.id).await?;
        Ok(())
    }
}
