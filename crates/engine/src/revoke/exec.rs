//! The executor: runs revocation jobs against their backends, journalling every step.
//!
//! Per item: `planned` (written for the whole run in one commit before anything is sent) →
//! `sent` → `confirmed` (the backend's receipt) → `verified` (the backend's own proof) or
//! `failed` (with the reason). The `planned` entry and the final entry are durable before the run
//! goes on; a `sent` entry is durable before the request leaves whenever a second send could
//! matter ([`ResendPolicy::VerifyFirst`], [`ResendPolicy::Never`]); for idempotent targets it is
//! queued and becomes durable with the item's final entry (the journal writes in queue order),
//! which is what lets a bulk run pay about one commit per item instead of three. Nothing is
//! lost by that: resuming asks the backend first whatever the last state says.
//!
//! Backends run side by side; within one backend at most `concurrency` items are in flight.
//! A backend's items are sent first and proved after: once every item of the backend is
//! confirmed (or failed), the backend is asked about all of them in one batch
//! ([`Connector::verify_revoked_many`]), which a backend that can answer for many tokens in one
//! call (Vault/OpenBao: one accessor listing instead of a lookup per token) answers in one request.
//! A crash between the two phases loses nothing: the items stand at `confirmed` and resuming
//! asks the backend first.
//! Transient failures (unreachable, timeout, 5xx, 429) are retried with exponential backoff;
//! anything else fails the item at once. When a backend keeps failing transiently, its remaining
//! items are not sent and fail with the reason, while the other backends finish.
//!
//! A second send is never blind: before resending (after a crash, or after a transient failure of
//! a target whose resend is not idempotent) the backend is asked whether the target is still
//! alive, and a target whose resend could do harm ([`ResendPolicy::Never`]) is left for a person.

use futures::stream::{self, StreamExt};
use portcullis_connectors::{Connector, ConnectorError, RevokeTarget, VerifyHint};
use portcullis_model::{
    BackendKind, ErrorCode, IpcError, ItemState, JournalState, ResendPolicy, RevocationEvent,
    RevocationItemReport, RevocationOptions, Verification,
};
use portcullis_store::BackendRow;
use secrecy::SecretString;
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use super::journal_writer::{Draft, JournalWriter};
use super::spec::TargetSpec;
use crate::{EngineError, Result, Workspace};

/// Items concluded at once after the batch verification: their final entries share commits.
const PROOF_FANOUT: usize = 256;
/// Items proven dead whose final entries go in one append.
const PROOF_BATCH: usize = 1_024;

/// A sent and confirmed item waiting for the backend's proof: its index in the run, the job, its
/// `planned` seq, its report so far and the target to ask about.
type ToProve = (usize, Job, i64, RevocationItemReport, RevokeTarget);

/// The final entry of an item proven dead.
fn verified_draft(job: &Job, seq: i64, v: &Verification, resumed: bool) -> Draft {
    Draft {
        action: "revoke",
        target: job.description.clone(),
        state: JournalState::Verified,
        action_seq: Some(seq),
        detail: json!({ "evidence": v.evidence, "found_dead_before_resend": resumed }),
    }
}

/// One action to run, fresh or resumed.
pub(crate) struct Job {
    pub key: String,
    pub backend: String,
    pub description: String,
    pub spec: TargetSpec,
    pub resend: ResendPolicy,
    /// The token value, for targets revoked by value; held in memory for this run only.
    pub value: Option<SecretString>,
    pub incident_seq: Option<i64>,
    pub credential_id: Option<i64>,
    pub resumed: Option<Resumed>,
    /// The reason or ticket the reviewer gave, recorded in the planned entry.
    pub reason: Option<String>,
}

/// Where an interrupted action stood.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Resumed {
    pub planned_seq: i64,
    pub last: JournalState,
    pub sends: u32,
}

impl Job {
    /// The detail of the action's `planned` entry: everything resumption needs, no secret.
    pub(crate) fn planned_detail(&self, kind: Option<BackendKind>) -> serde_json::Value {
        json!({
            "key": self.key,
            "backend": self.backend,
            "kind": kind,
            "spec": self.spec,
            "resend": self.resend,
            "incident": self.incident_seq,
            "credential_id": self.credential_id,
            "reason": self.reason,
        })
    }
}

/// What one run shares across its items.
pub(crate) struct Runner<'a> {
    pub ws: &'a Workspace,
    pub writer: JournalWriter,
    pub opts: RevocationOptions,
    pub cancel: CancellationToken,
    pub on_event: &'a (dyn Fn(RevocationEvent) + Send + Sync),
    pub total: u64,
    done: AtomicU64,
    /// Set when the journal cannot be written: nothing more may be sent.
    journal_broken: AtomicBool,
}

/// One backend's connector and its give-up state.
struct BackendCtx {
    row: BackendRow,
    connector: Arc<dyn Connector>,
    /// The console's own Vault/OpenBao accessor: never revoked.
    own_accessor: Option<String>,
    consecutive_transient: AtomicU32,
    gave_up: Mutex<Option<IpcError>>,
}

impl BackendCtx {
    fn gave_up(&self) -> Option<IpcError> {
        self.gave_up.lock().ok().and_then(|g| g.clone())
    }

    fn succeeded(&self) {
        self.consecutive_transient.store(0, Ordering::SeqCst);
    }

    fn failed(&self, err: &IpcError, give_up_after: u32) {
        if !err.code.is_transient() {
            return;
        }
        let n = self.consecutive_transient.fetch_add(1, Ordering::SeqCst) + 1;
        if n >= give_up_after.max(1) {
            if let Ok(mut g) = self.gave_up.lock() {
                g.get_or_insert_with(|| {
                    IpcError::new(
                        err.code,
                        format!(
                            "not sent: {} failed {n} items in a row ({}); its remaining items were not sent — run the same revocation again when it answers",
                            self.row.name, err.message
                        ),
                    )
                });
            }
        }
    }
}

fn ipc(e: &ConnectorError) -> IpcError {
    IpcError::from(e)
}

impl<'a> Runner<'a> {
    pub(crate) fn new(
        ws: &'a Workspace,
        writer: JournalWriter,
        opts: RevocationOptions,
        cancel: CancellationToken,
        on_event: &'a (dyn Fn(RevocationEvent) + Send + Sync),
        total: u64,
    ) -> Runner<'a> {
        Runner {
            ws,
            writer,
            opts,
            cancel,
            on_event,
            total,
            done: AtomicU64::new(0),
            journal_broken: AtomicBool::new(false),
        }
    }

    /// Journals the `planned` entries of fresh jobs in one commit, then runs every job. Reports
    /// come back in the order of `jobs`.
    pub(crate) async fn run(&self, jobs: Vec<Job>) -> Result<Vec<RevocationItemReport>> {
        // Kinds for the planned entries (a job names its backend by name).
        let kinds: HashMap<String, BackendKind> = self
            .ws
            .store
            .list_backends()
            .await?
            .into_iter()
            .map(|b| (b.name, b.kind))
            .collect();
        let fresh: Vec<Draft> = jobs
            .iter()
            .filter(|j| j.resumed.is_none())
            .map(|j| Draft {
                action: "revoke",
                target: j.description.clone(),
                state: JournalState::Planned,
                action_seq: None,
                detail: j.planned_detail(kinds.get(&j.backend).copied()),
            })
            .collect();
        let mut planned = self.writer.append_all(fresh).await?.into_iter();
        let mut seqs = Vec::with_capacity(jobs.len());
        for j in &jobs {
            let seq = match j.resumed {
                Some(r) => r.planned_seq,
                None => planned
                    .next()
                    .ok_or_else(|| EngineError::Internal("a planned entry is missing".into()))?,
            };
            seqs.push(seq);
        }

        let mut by_backend: HashMap<String, Vec<(usize, Job, i64)>> = HashMap::new();
        for (i, (job, seq)) in jobs.into_iter().zip(seqs).enumerate() {
            by_backend
                .entry(job.backend.clone())
                .or_default()
                .push((i, job, seq));
        }
        let runs = by_backend
            .into_iter()
            .map(|(name, jobs)| self.run_backend(name, jobs));
        let mut out: Vec<(usize, RevocationItemReport)> = futures::future::join_all(runs)
            .await
            .into_iter()
            .flatten()
            .collect();
        out.sort_by_key(|(i, _)| *i);
        self.writer.flush().await;
        Ok(out.into_iter().map(|(_, r)| r).collect())
    }

    async fn run_backend(
        &self,
        name: String,
        jobs: Vec<(usize, Job, i64)>,
    ) -> Vec<(usize, RevocationItemReport)> {
        let ctx = match self.backend_ctx(&name).await {
            Ok(ctx) => ctx,
            Err(err) => {
                // No connector: every item fails, unsent, with the reason.
                let mut out = Vec::new();
                for (i, job, seq) in jobs {
                    let mut rep = self.report(&job, seq);
                    let e = IpcError::new(err.code, format!("not sent: {}", err.message));
                    if let Err(j) = self.fail(&job, seq, &mut rep, e, "not_sent").await {
                        rep.error = Some(j.into());
                    }
                    self.finished(&job, &rep);
                    out.push((i, rep));
                }
                return out;
            }
        };
        let ctx = &ctx;
        let concurrency = self.opts.concurrency.max(1) as usize;
        // Phase 1: send. An item sent and confirmed comes back with the target still to prove.
        let sent: Vec<(usize, Job, i64, RevocationItemReport, Option<RevokeTarget>)> =
            stream::iter(jobs)
                .map(|(i, job, seq)| async move {
                    let mut rep = self.report(&job, seq);
                    let mut to_prove = None;
                    if let Err(e) = self.drive(ctx, &job, seq, &mut rep, &mut to_prove).await {
                        self.journal_failed(&mut rep, e);
                        to_prove = None;
                    }
                    if to_prove.is_none() {
                        self.finished(&job, &rep);
                    }
                    (i, job, seq, rep, to_prove)
                })
                .buffer_unordered(concurrency)
                .collect()
                .await;

        // Phase 2: prove, all of the backend's confirmed items in one batch, so a backend that
        // can answer for many at once (one listing) is asked once rather than per item.
        let mut out = Vec::with_capacity(sent.len());
        let mut awaiting = Vec::new();
        for (i, job, seq, rep, to_prove) in sent {
            match to_prove {
                Some(target) => awaiting.push((i, job, seq, rep, target)),
                None => out.push((i, rep)),
            }
        }
        if awaiting.is_empty() {
            return out;
        }
        let targets: Vec<RevokeTarget> = awaiting.iter().map(|a| a.4.clone()).collect();
        let hint = VerifyHint {
            concurrency,
            live_credentials: self
                .ws
                .store
                .active_credential_count(ctx.row.id)
                .await
                .ok()
                .map(|n| n as usize),
        };
        let answers = ctx.connector.verify_revoked_many(&targets, hint).await;
        // Proven dead, the common case: their final entries go in commits of many, and nothing
        // waits per item. The rest (still alive, or no answer) are concluded one by one.
        let mut rest = Vec::new();
        let mut dead = Vec::new();
        for (item, answer) in awaiting.into_iter().zip(answers) {
            match answer {
                Ok(v) if v.dead => dead.push((item, v)),
                other => rest.push((item, other)),
            }
        }
        while !dead.is_empty() {
            let chunk: Vec<_> = dead.drain(..dead.len().min(PROOF_BATCH)).collect();
            out.extend(self.conclude_dead(ctx, chunk).await);
        }
        let proved: Vec<(usize, RevocationItemReport)> = stream::iter(rest)
            .map(|((i, job, seq, mut rep, target), answer)| async move {
                let answer = match answer {
                    // A transient failure of the batch answer: ask for this one again, with retries.
                    Err(e) if e.code().is_transient() => self.verify(ctx, &target).await,
                    other => other,
                };
                if let Err(e) = self.conclude(ctx, &job, seq, &mut rep, answer).await {
                    self.journal_failed(&mut rep, e);
                }
                self.finished(&job, &rep);
                (i, rep)
            })
            // Final entries go to the group-committing writer: many in flight, few commits.
            .buffer_unordered(concurrency.max(PROOF_FANOUT))
            .collect()
            .await;
        out.extend(proved);
        out
    }

    /// The journal could not be written: stop sending anything else.
    fn journal_failed(&self, rep: &mut RevocationItemReport, e: impl Into<IpcError>) {
        self.journal_broken.store(true, Ordering::SeqCst);
        rep.state = ItemState::Failed;
        rep.error = Some(e.into());
    }

    async fn backend_ctx(&self, name: &str) -> std::result::Result<BackendCtx, IpcError> {
        let row = self
            .ws
            .store
            .backend_by_name(name)
            .await
            .map_err(|e| IpcError::from(EngineError::from(e)))?;
        let connector: Arc<dyn Connector> =
            Arc::from(self.ws.connector(&row).await.map_err(IpcError::from)?);
        let own_accessor = if row.kind == BackendKind::Vault {
            self.own_vault_accessor(&row, connector.as_ref()).await
        } else {
            None
        };
        Ok(BackendCtx {
            row,
            connector,
            own_accessor,
            consecutive_transient: AtomicU32::new(0),
            gave_up: Mutex::new(None),
        })
    }

    /// The accessor of the token the console itself uses on a Vault backend, so an incident never
    /// revokes it (which would stop the run halfway). Best effort: unknown if the lookup fails.
    async fn own_vault_accessor(&self, row: &BackendRow, c: &dyn Connector) -> Option<String> {
        let secret = crate::secrets::resolve(&row.name, &row.credential_ref)
            .await
            .ok()??;
        c.lookup_token(&secret).await.ok()??.external_id
    }

    fn report(&self, job: &Job, seq: i64) -> RevocationItemReport {
        RevocationItemReport {
            key: job.key.clone(),
            backend: job.backend.clone(),
            target: job.description.clone(),
            state: ItemState::Failed,
            journal_seq: Some(seq),
            incident_seq: job.incident_seq,
            receipt: None,
            verification: None,
            error: None,
            note: None,
            sends: 0,
            resumed: job.resumed.is_some(),
        }
    }

    fn event(&self, job: &Job, state: JournalState, message: String) {
        (self.on_event)(RevocationEvent {
            key: job.key.clone(),
            backend: job.backend.clone(),
            target: job.description.clone(),
            state,
            done: self.done.load(Ordering::SeqCst),
            total: self.total,
            message,
        });
    }

    fn finished(&self, job: &Job, rep: &RevocationItemReport) {
        self.done.fetch_add(1, Ordering::SeqCst);
        let (state, message) = match (&rep.state, &rep.error) {
            (ItemState::Verified, _) => (
                JournalState::Verified,
                rep.verification
                    .as_ref()
                    .map(|v| v.evidence.clone())
                    .unwrap_or_default(),
            ),
            (_, Some(e)) => (JournalState::Failed, format!("[{}] {}", e.code, e.message)),
            _ => (JournalState::Failed, rep.state.as_str().to_string()),
        };
        self.event(job, state, message);
    }

    async fn step(
        &self,
        job: &Job,
        seq: i64,
        state: JournalState,
        detail: serde_json::Value,
    ) -> Result<()> {
        self.writer
            .append(Draft {
                action: "revoke",
                target: job.description.clone(),
                state,
                action_seq: Some(seq),
                detail,
            })
            .await?;
        Ok(())
    }

    async fn fail(
        &self,
        job: &Job,
        seq: i64,
        rep: &mut RevocationItemReport,
        err: IpcError,
        stage: &str,
    ) -> Result<()> {
        rep.state = ItemState::Failed;
        self.step(
            job,
            seq,
            JournalState::Failed,
            json!({ "stage": stage, "error": err }),
        )
        .await?;
        rep.error = Some(err);
        Ok(())
    }

    async fn verified(
        &self,
        ctx: &BackendCtx,
        job: &Job,
        seq: i64,
        rep: &mut RevocationItemReport,
        v: Verification,
        resumed: bool,
    ) -> Result<()> {
        self.writer
            .append(verified_draft(job, seq, &v, resumed))
            .await?;
        self.proven_dead(ctx, job, rep, v);
        Ok(())
    }

    /// What follows a durable `verified` entry.
    fn proven_dead(
        &self,
        ctx: &BackendCtx,
        job: &Job,
        rep: &mut RevocationItemReport,
        v: Verification,
    ) {
        if let Some(id) = job.spec.cached_credential_id() {
            self.writer.mark_revoked(ctx.row.id, id.to_string());
        }
        rep.state = ItemState::Verified;
        rep.verification = Some(v);
        ctx.succeeded();
    }

    /// Concludes items the batch proof found dead: their `verified` entries in one append.
    async fn conclude_dead(
        &self,
        ctx: &BackendCtx,
        items: Vec<(ToProve, Verification)>,
    ) -> Vec<(usize, RevocationItemReport)> {
        let drafts = items
            .iter()
            .map(|((_, job, seq, _, _), v)| verified_draft(job, *seq, v, false))
            .collect();
        let written = self.writer.append_all(drafts).await.map_err(IpcError::from);
        items
            .into_iter()
            .map(|((i, job, _, mut rep, _), v)| {
                match &written {
                    Ok(_) => self.proven_dead(ctx, &job, &mut rep, v),
                    Err(e) => self.journal_failed(&mut rep, e.clone()),
                }
                self.finished(&job, &rep);
                (i, rep)
            })
            .collect()
    }

    /// Why an item must not be sent now, if it must not.
    fn refusal(&self, ctx: &BackendCtx, job: &Job) -> Option<IpcError> {
        if self.journal_broken.load(Ordering::SeqCst) {
            return Some(IpcError::new(
                ErrorCode::Storage,
                "not sent: the journal could not be written, and nothing is sent unjournalled; fix the cache (disk full? permissions?) and resume",
            ));
        }
        if self.cancel.is_cancelled() {
            return Some(IpcError::new(
                ErrorCode::Cancelled,
                "not sent: the run was cancelled",
            ));
        }
        if let Some(e) = ctx.gave_up() {
            return Some(e);
        }
        if let (Some(own), TargetSpec::Credential { external_id, .. }) =
            (&ctx.own_accessor, &job.spec)
        {
            if own == external_id {
                return Some(IpcError::new(
                    ErrorCode::InvalidInput,
                    format!(
                        "refused: this is the console's own token on {}; revoking it would stop the run halfway. Revoke it last, by hand",
                        ctx.row.name
                    ),
                ));
            }
        }
        None
    }

    async fn backoff(&self, attempt: u32) {
        let ms = self
            .opts
            .backoff_ms
            .saturating_mul(1u64 << attempt.saturating_sub(1).min(10))
            .min(10_000);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(ms)) => {}
            _ = self.cancel.cancelled() => {}
        }
    }

    /// Asks the backend whether the target is dead, retrying transient failures.
    async fn verify(
        &self,
        ctx: &BackendCtx,
        target: &RevokeTarget,
    ) -> std::result::Result<Verification, ConnectorError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match ctx.connector.verify_revoked(target).await {
                Err(e)
                    if e.code().is_transient()
                        && attempt < self.opts.max_attempts
                        && !self.cancel.is_cancelled() =>
                {
                    self.backoff(attempt).await;
                }
                other => return other,
            }
        }
    }

    /// Runs one item to a final state, or to `confirmed` with the target left in `to_prove` for
    /// the batch verification. `Err` only when the journal cannot be written.
    async fn drive(
        &self,
        ctx: &BackendCtx,
        job: &Job,
        seq: i64,
        rep: &mut RevocationItemReport,
        to_prove: &mut Option<RevokeTarget>,
    ) -> Result<()> {
        if let Some(e) = self.refusal(ctx, job) {
            if e.code == ErrorCode::Storage {
                rep.error = Some(e);
                return Ok(());
            }
            return self.fail(job, seq, rep, e, "not_sent").await;
        }
        let Some(target) = job.spec.to_connector(job.value.as_ref()) else {
            let e = IpcError::new(
                ErrorCode::InvalidInput,
                "not sent: the backend revokes this token only by its value, which Portcullis never keeps; bring the token again (--tokens-from FILE) to finish it",
            );
            return self.fail(job, seq, rep, e, "not_sent").await;
        };

        // Resuming: ask first; send again only if it is still alive and a resend is safe.
        if let Some(r) = job.resumed {
            match self.verify(ctx, &target).await {
                Ok(v) if v.dead => {
                    rep.note = Some(format!(
                        "found dead when resuming (last journalled state: {}); nothing was sent again",
                        r.last.as_str()
                    ));
                    return self.verified(ctx, job, seq, rep, v, true).await;
                }
                Ok(v) => {
                    if r.sends > 0 && job.resend == ResendPolicy::Never {
                        let e = IpcError::new(
                            ErrorCode::Conflict,
                            format!(
                                "sent before the interruption and still alive ({}); a second send could do harm here, so it was not resent: check it on {} and revoke it by hand if needed",
                                v.evidence, ctx.row.name
                            ),
                        );
                        return self.fail(job, seq, rep, e, "resume").await;
                    }
                    rep.note = Some(format!(
                        "still alive when resuming (last journalled state: {}): sent {}",
                        r.last.as_str(),
                        if r.sends > 0 {
                            "again"
                        } else {
                            "for the first time"
                        }
                    ));
                }
                Err(e) => {
                    let e = ipc(&e);
                    ctx.failed(&e, self.opts.give_up_after);
                    return self.fail(job, seq, rep, e, "verify_before_resend").await;
                }
            }
        }

        // Send, retrying transient failures.
        let mut attempt = 0;
        let receipt = loop {
            attempt += 1;
            let sent = Draft {
                action: "revoke",
                target: job.description.clone(),
                state: JournalState::Sent,
                action_seq: Some(seq),
                detail: json!({ "attempt": attempt }),
            };
            if job.resend == ResendPolicy::Idempotent {
                // A repeat of this send is harmless, and resuming asks the backend first anyway:
                // the entry need not be durable before the request leaves, only before the
                // item's final entry (which is awaited, and written after it).
                self.writer.append_detached(sent);
            } else {
                self.writer.append(sent).await?;
            }
            rep.sends += 1;
            self.event(job, JournalState::Sent, format!("attempt {attempt}"));
            match ctx.connector.revoke(&target).await {
                Ok(r) => break r,
                Err(e) => {
                    let err = ipc(&e);
                    let retry = err.code.is_transient()
                        && attempt < self.opts.max_attempts
                        && job.resend != ResendPolicy::Never
                        && !self.cancel.is_cancelled();
                    if !retry {
                        ctx.failed(&err, self.opts.give_up_after);
                        return self.fail(job, seq, rep, err, "send").await;
                    }
                    self.backoff(attempt).await;
                    if job.resend != ResendPolicy::Idempotent {
                        // The failed send may have landed: never send twice blind.
                        if let Ok(v) = ctx.connector.verify_revoked(&target).await {
                            if v.dead {
                                return self.verified(ctx, job, seq, rep, v, false).await;
                            }
                        }
                    }
                }
            }
        };
        // Durable before the item's final entry, which is awaited; verifying only reads.
        self.writer.append_detached(Draft {
            action: "revoke",
            target: job.description.clone(),
            state: JournalState::Confirmed,
            action_seq: Some(seq),
            detail: json!({ "action": receipt.action, "caveats": receipt.caveats }),
        });
        self.event(job, JournalState::Confirmed, receipt.action.clone());
        rep.receipt = Some(receipt);
        *to_prove = Some(target);
        Ok(())
    }

    /// Writes an item's final state from the backend's answer on whether it is dead.
    async fn conclude(
        &self,
        ctx: &BackendCtx,
        job: &Job,
        seq: i64,
        rep: &mut RevocationItemReport,
        answer: std::result::Result<Verification, ConnectorError>,
    ) -> Result<()> {
        match answer {
            Ok(v) if v.dead => self.verified(ctx, job, seq, rep, v, false).await,
            Ok(v) => {
                let e = IpcError::new(
                    ErrorCode::BackendError,
                    format!(
                        "{} confirmed the revocation but still accepts the credential: {}",
                        ctx.row.name, v.evidence
                    ),
                );
                rep.verification = Some(v);
                self.fail(job, seq, rep, e, "verify").await
            }
            Err(e) => {
                let err = ipc(&e);
                ctx.failed(&err, self.opts.give_up_after);
                self.step(
                    job,
                    seq,
                    JournalState::Failed,
                    json!({ "stage": "verify", "error": err, "note": "revocation sent and confirmed; verification failed" }),
                )
                .await?;
                rep.state = ItemState::Confirmed;
                rep.error = Some(err);
                rep.note =
                    Some("sent and confirmed, but the backend could not be asked for proof".into());
                Ok(())
            }
        }
    }
}

/// Serialises runs that send within one workspace (two processes resuming the same interrupted
/// incident would each send). Held for the run; the OS releases it if the process dies.
pub(crate) struct RunLock {
    _file: std::fs::File,
}

impl RunLock {
    pub(crate) fn acquire(dir: &std::path::Path) -> Result<RunLock> {
        let path = dir.join("revoke.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| EngineError::Io {
                what: format!("opening {}", path.display()),
                source,
            })?;
        #[cfg(unix)]
        {
            use std::os::unix::io::AsRawFd;
            // SAFETY: flock on a descriptor we own and keep open for the lock's lifetime.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if rc != 0 {
                return Err(EngineError::InvalidInput(
                    "another revocation is running in this workspace (the CLI or the desktop app): wait for it to finish, then resume".into(),
                ));
            }
        }
        Ok(RunLock { _file: file })
    }
}
