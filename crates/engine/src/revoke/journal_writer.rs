//! Group commit for the journal during a run.
//!
//! Every state change of every item must be durable before the step it announces (a `sent` entry
//! before the request leaves). With one commit per entry a bulk run of a thousand items would pay
//! four thousand commits in sequence; here each item still waits for its own entry to be durable,
//! but entries that arrive while a commit is in progress go out together in the next one. The
//! same writer also writes the cache status of credentials proven dead, in batches.
//!
//! The writer is a thread with its own connection ([`JournalAppender`]), not a task on the
//! runtime: a commit is then one hand-off in and one reply out, where through the pool each of its
//! statements was a round trip to sqlx's worker thread, which made the journal most of a bulk
//! run's own CPU.

use portcullis_model::{CredentialStatus, JournalState};
use portcullis_store::{JournalAppender, NewJournalEntry, Store, StoreError};
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::oneshot;

use crate::{EngineError, Result};

/// An entry to append, owned so it can cross to the writer thread.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub action: &'static str,
    pub target: String,
    pub state: JournalState,
    pub action_seq: Option<i64>,
    pub detail: serde_json::Value,
}

/// Where an awaited append is answered: the entries' seqs once durable, or why not.
type Reply = oneshot::Sender<std::result::Result<Vec<i64>, String>>;

enum Request {
    Append {
        drafts: Vec<Draft>,
        /// `None` for a detached append: nobody waits for it (see [`JournalWriter::append_detached`]).
        reply: Option<Reply>,
    },
    Revoked {
        backend_id: i64,
        external_id: String,
    },
    /// Answered once everything sent before it, status writes included, is written.
    Flush(oneshot::Sender<()>),
}

/// A handle on the writer thread; the thread ends when the last handle is dropped, after writing
/// whatever is still queued.
#[derive(Clone)]
pub(crate) struct JournalWriter {
    tx: mpsc::Sender<Request>,
}

/// The most entries one commit takes: bounds how long one transaction holds the write lock.
const MAX_BATCH: usize = 1_024;
/// Status writes are a cache refresh, not a record: batched this big, or written at a flush.
const STATUS_BATCH: usize = 512;
/// How long the run's last status write waits for the cache's write lock.
const LAST_STATUS_WAIT: Duration = Duration::from_secs(2);

impl JournalWriter {
    /// Starts the writer on a thread of its own with its own connection to the cache: the
    /// journal's commits never wait for the async runtime, nor it for them.
    pub(crate) fn start(store: &Store, actor: String) -> Result<JournalWriter> {
        let appender = store.journal_appender()?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("portcullis-journal".into())
            .spawn(move || run(appender, actor, rx))
            .map_err(|source| EngineError::Io {
                what: "starting the journal writer".into(),
                source,
            })?;
        Ok(JournalWriter { tx })
    }

    /// Appends entries (in order, in one commit) and returns their seqs once durable.
    pub(crate) async fn append_all(&self, drafts: Vec<Draft>) -> Result<Vec<i64>> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::Append {
                drafts,
                reply: Some(reply),
            })
            .map_err(|_| EngineError::Internal("the journal writer stopped".into()))?;
        rx.await
            .map_err(|_| EngineError::Internal("the journal writer stopped".into()))?
            .map_err(|detail| EngineError::Store(StoreError::JournalWrite(detail)))
    }

    /// Queues an entry without waiting for its commit. Entries are written in the order they are
    /// queued, so any later entry that is awaited is durable only after this one.
    pub(crate) fn append_detached(&self, draft: Draft) {
        let _ = self.tx.send(Request::Append {
            drafts: vec![draft],
            reply: None,
        });
    }

    pub(crate) async fn append(&self, draft: Draft) -> Result<i64> {
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

/// What has arrived and is not written yet.
#[derive(Default)]
struct Pending {
    appends: Vec<(Vec<Draft>, Option<Reply>)>,
    entries: usize,
    flushes: Vec<oneshot::Sender<()>>,
    revoked: Vec<(i64, String)>,
}

impl Pending {
    fn add(&mut self, req: Request) {
        match req {
            Request::Append { drafts, reply } => {
                self.entries += drafts.len();
                self.appends.push((drafts, reply));
            }
            Request::Revoked {
                backend_id,
                external_id,
            } => self.revoked.push((backend_id, external_id)),
            Request::Flush(reply) => self.flushes.push(reply),
        }
    }

    /// Writes the queued entries in one commit and answers their callers; writes the statuses
    /// when enough are queued, someone waits for them or this is the `last` write; then answers
    /// the flushes.
    fn write(&mut self, appender: &mut JournalAppender, actor: &str, last: bool) {
        let appends = std::mem::take(&mut self.appends);
        self.entries = 0;
        if !appends.is_empty() {
            // The drafts are done with once written: their details move, uncopied.
            let mut appends = appends;
            let details: Vec<serde_json::Value> = appends
                .iter_mut()
                .flat_map(|(drafts, _)| drafts.iter_mut())
                .map(|d| std::mem::take(&mut d.detail))
                .collect();
            let entries: Vec<NewJournalEntry<'_>> = appends
                .iter()
                .flat_map(|(drafts, _)| drafts.iter())
                .zip(details)
                .map(|(d, detail)| NewJournalEntry {
                    actor,
                    action: d.action,
                    target: &d.target,
                    state: d.state,
                    action_seq: d.action_seq,
                    detail,
                })
                .collect();
            match appender.append_batch(&entries) {
                Ok(written) => {
                    let mut it = written.into_iter();
                    for (drafts, reply) in appends {
                        let mine: Vec<i64> = it.by_ref().take(drafts.len()).collect();
                        if let Some(reply) = reply {
                            let _ = reply.send(Ok(mine));
                        }
                    }
                }
                Err(e) => {
                    let msg = e.to_string();
                    tracing::error!("{msg}");
                    for reply in appends.into_iter().filter_map(|(_, r)| r) {
                        let _ = reply.send(Err(msg.clone()));
                    }
                }
            }
        }
        // Never let a status write fail the run or hold up the journal: while an import or a sync
        // holds the cache's write lock the statuses wait for a later write, and the last one
        // waits a little; the journal is the record, and the next sync corrects the cache anyway.
        let status_due = self.revoked.len() >= STATUS_BATCH || !self.flushes.is_empty() || last;
        if status_due && !self.revoked.is_empty() {
            let batch = std::mem::take(&mut self.revoked);
            let wait = if last {
                LAST_STATUS_WAIT
            } else {
                Duration::ZERO
            };
            match appender.set_credential_statuses(&batch, CredentialStatus::Revoked, wait) {
                Ok(_) => {}
                Err(e) if !last => {
                    tracing::debug!("credential statuses wait for the cache: {e}");
                    self.revoked = batch;
                }
                Err(e) => tracing::warn!(
                    "cannot mark {} credential(s) revoked in the cache: {e}",
                    batch.len()
                ),
            }
        }
        for f in self.flushes.drain(..) {
            let _ = f.send(());
        }
    }
}

fn run(mut appender: JournalAppender, actor: String, rx: mpsc::Receiver<Request>) {
    let mut pending = Pending::default();
    // Whatever arrived while the last commit ran goes into the next one; ends, after writing
    // everything, when the last handle is gone.
    while let Ok(first) = rx.recv() {
        pending.add(first);
        while pending.entries < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => pending.add(next),
                Err(_) => break,
            }
        }
        pending.write(&mut appender, &actor, false);
    }
    pending.write(&mut appender, &actor, true);
}
