//! Group commit for the journal during a run.
//!
//! Every state change of every item must be durable before the step it announces (a `sent` entry
//! before the request leaves). With one commit per entry a bulk run of a thousand items would pay
//! four thousand commits in sequence; here each item still waits for its own entry to be durable,
//! but entries that arrive while a commit is in progress go out together in the next one. The
//! same task also writes the cache status of credentials proven dead, in batches.

use portcullis_model::{CredentialStatus, JournalEntry, JournalState};
use portcullis_store::{NewJournalEntry, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

use crate::{EngineError, Result};

/// An entry to append, owned so it can cross to the writer task.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub action: &'static str,
    pub target: String,
    pub state: JournalState,
    pub action_seq: Option<i64>,
    pub detail: serde_json::Value,
}

enum Request {
    Append {
        drafts: Vec<Draft>,
        reply: oneshot::Sender<std::result::Result<Vec<JournalEntry>, String>>,
    },
    Revoked {
        backend_id: i64,
        external_id: String,
    },
    /// Answered once everything sent before it, status writes included, is written.
    Flush(oneshot::Sender<()>),
}

/// A handle on the writer task; the task ends when the last handle is dropped.
#[derive(Clone)]
pub(crate) struct JournalWriter {
    tx: mpsc::UnboundedSender<Request>,
}

/// The most entries one commit takes: bounds how long one transaction holds the write lock.
const MAX_BATCH: usize = 1_024;

impl JournalWriter {
    pub(crate) fn start(store: Store, actor: String) -> JournalWriter {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(store, actor, rx));
        JournalWriter { tx }
    }

    /// Appends entries (in order, in one commit) and returns them once durable.
    pub(crate) async fn append_all(&self, drafts: Vec<Draft>) -> Result<Vec<JournalEntry>> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::Append { drafts, reply })
            .map_err(|_| EngineError::Internal("the journal writer stopped".into()))?;
        rx.await
            .map_err(|_| EngineError::Internal("the journal writer stopped".into()))?
            .map_err(|detail| {
                EngineError::Store(StoreError::Corrupt {
                    what: "journal",
                    detail,
                })
            })
    }

    /// Queues an entry without waiting for its commit. Entries are written in the order they are
    /// queued, so any later entry that is awaited is durable only after this one.
    pub(crate) fn append_detached(&self, draft: Draft) {
        let (reply, _) = oneshot::channel();
        let _ = self.tx.send(Request::Append {
            drafts: vec![draft],
            reply,
        });
    }

    pub(crate) async fn append(&self, draft: Draft) -> Result<JournalEntry> {
        self.append_all(vec![draft])
            .await?
            .pop()
            .ok_or_else(|| EngineError::Internal("the journal writer returned no entry".into()))
    }

    /// Waits until everything sent before, cache status writes included, is written.
    pub(crate) async fn flush(&self) {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(Request::Flush(reply)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Records (lazily, batched) that a cached credential was proven dead.
    pub(crate) fn mark_revoked(&self, backend_id: i64, external_id: String) {
        let _ = self.tx.send(Request::Revoked {
            backend_id,
            external_id,
        });
    }
}

async fn run(store: Store, actor: String, mut rx: mpsc::UnboundedReceiver<Request>) {
    let mut revoked: Vec<(i64, String)> = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut appends = Vec::new();
        let mut flushes = Vec::new();
        let mut queue = Some(first);
        loop {
            match queue.take() {
                Some(Request::Append { drafts, reply }) => appends.push((drafts, reply)),
                Some(Request::Revoked {
                    backend_id,
                    external_id,
                }) => revoked.push((backend_id, external_id)),
                Some(Request::Flush(reply)) => flushes.push(reply),
                None => {}
            }
            let pending: usize = appends.iter().map(|(d, _)| d.len()).sum();
            if pending >= MAX_BATCH {
                break;
            }
            match rx.try_recv() {
                Ok(next) => queue = Some(next),
                Err(_) => break,
            }
        }
        if !appends.is_empty() {
            let entries: Vec<NewJournalEntry<'_>> = appends
                .iter()
                .flat_map(|(drafts, _)| drafts.iter())
                .map(|d| NewJournalEntry {
                    actor: &actor,
                    action: d.action,
                    target: &d.target,
                    state: d.state,
                    action_seq: d.action_seq,
                    detail: d.detail.clone(),
                })
                .collect();
            match store.journal_append_batch(&entries).await {
                Ok(written) => {
                    let mut it = written.into_iter();
                    for (drafts, reply) in appends {
                        let mine: Vec<JournalEntry> = it.by_ref().take(drafts.len()).collect();
                        let _ = reply.send(Ok(mine));
                    }
                }
                Err(e) => {
                    let msg = format!("cannot write the journal: {e}");
                    tracing::error!("{msg}");
                    for (_, reply) in appends {
                        let _ = reply.send(Err(msg.clone()));
                    }
                }
            }
        }
        // Status writes are a cache refresh, not a record: batch them, and never let them fail
        // the run (the next sync corrects the cache anyway).
        // Written in big batches, at a flush, or when the run ends: not after every commit.
        if revoked.len() >= 512 || (!flushes.is_empty() && !revoked.is_empty()) {
            let batch = std::mem::take(&mut revoked);
            if let Err(e) = store
                .set_credential_statuses(&batch, CredentialStatus::Revoked)
                .await
            {
                tracing::warn!(
                    "cannot mark {} credential(s) revoked in the cache: {e}",
                    batch.len()
                );
            }
        }
        for f in flushes {
            let _ = f.send(());
        }
    }
    if !revoked.is_empty() {
        if let Err(e) = store
            .set_credential_statuses(&revoked, CredentialStatus::Revoked)
            .await
        {
            tracing::warn!(
                "cannot mark {} credential(s) revoked in the cache: {e}",
                revoked.len()
            );
        }
    }
}
