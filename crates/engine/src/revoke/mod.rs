//! Revocation, one click or a whole incident: plan (dry run), confirm (naming the count),
//! execute (journalled, bounded concurrency, retries), verify, report; and resume after a crash.
//!
//! - [`plan`]: targets or an incident selection → a [`RevocationPlan`] over the cache, with what
//!   each action will and will not do ([`preview`]) and its collateral. Nothing is sent.
//! - [`exec`]: runs the plan's ready items, writing `planned` → `sent` → `confirmed` →
//!   `verified` | `failed` to the journal around every step ([`journal_writer`] group-commits).
//! - resumption (here): an interrupted run leaves actions without a final entry; resuming asks
//!   each backend first and sends again only what is still alive and safe to send again.
//!
//! The journal never holds a token value, only descriptions, ids and fingerprints.

mod exec;
mod incident;
mod journal_writer;
pub(crate) mod plan;
mod preview;
mod spec;

use portcullis_model::{
    CredentialKind, ErrorCode, IpcError, ItemState, JournalEntry, JournalState,
    JournalVerification, Readiness, ResendPolicy, RevocationConfirmation, RevocationEvent,
    RevocationItemReport, RevocationOptions, RevocationOutcome, RevocationPlan, RevocationPlanItem,
    RevocationReport, RevocationTarget, UnfinishedAction,
};
use secrecy::SecretString;
use serde_json::json;
use std::collections::HashMap;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

use exec::{Job, Resumed, RunLock, Runner};
use journal_writer::{Draft, JournalWriter};
use plan::TokenValues;
use spec::TargetSpec;

use crate::{EngineError, Result, Workspace};

/// Who is acting, for the journal: the OS user, since the console has no accounts of its own.
/// `PORTCULLIS_ACTOR` names someone else (a scheduled job run for a team); then the login
/// environment; then the account the process runs as (a desktop session or a systemd unit may
/// set no `$USER`).
pub fn current_actor() -> String {
    actor_from(|var| std::env::var(var).ok(), || whoami::username().ok())
}

fn actor_from(
    env: impl Fn(&str) -> Option<String>,
    account: impl FnOnce() -> Option<String>,
) -> String {
    ["PORTCULLIS_ACTOR", "USER", "USERNAME"]
        .into_iter()
        .find_map(|var| env(var).filter(|v| !v.trim().is_empty()))
        .or_else(account)
        .unwrap_or_else(|| "unknown".into())
}

/// Whether a credential kind can be revoked by id alone (without its value). OAuth 2.0 access
/// and refresh tokens need their value; Keycloak consents and Kong tokens, listed under those
/// kinds, are revoked by id (the plan's readiness says which applies to a given row).
pub fn revocable_by_id(kind: CredentialKind) -> bool {
    !matches!(
        kind,
        CredentialKind::AccessToken | CredentialKind::RefreshToken
    )
}

fn no_events(_: RevocationEvent) {}

/// The report line of an item that was not sent.
fn unsent(item: &RevocationPlanItem, incident_seq: Option<i64>) -> RevocationItemReport {
    let (state, code) = match item.readiness {
        Readiness::Covered => (ItemState::Covered, None),
        Readiness::AlreadyInactive => (ItemState::Skipped, None),
        Readiness::Protected => (ItemState::Skipped, Some(ErrorCode::InvalidInput)),
        _ => (ItemState::Skipped, Some(ErrorCode::Unsupported)),
    };
    let reason = item.blocked_reason.clone().unwrap_or_default();
    RevocationItemReport {
        key: item.key.clone(),
        backend: item.backend.clone(),
        target: item.description.clone(),
        state,
        journal_seq: None,
        incident_seq,
        receipt: None,
        verification: None,
        error: code.map(|c| IpcError::new(c, reason.clone())),
        note: Some(reason),
        sends: 0,
        resumed: false,
    }
}

/// The old one-item shape, for callers of the single-target calls.
fn outcome(r: RevocationItemReport) -> RevocationOutcome {
    let error = match (&r.state, r.error) {
        (ItemState::Verified, _) => None,
        (_, Some(e)) => Some(e),
        (_, None) => Some(IpcError::new(
            ErrorCode::Unsupported,
            r.note.clone().unwrap_or_else(|| "not revoked".into()),
        )),
    };
    RevocationOutcome {
        backend: r.backend,
        target: r.target,
        journal_seq: r.journal_seq.unwrap_or(0),
        receipt: r.receipt,
        verification: r.verification,
        error,
    }
}

impl Workspace {
    /// Sends a plan's ready items, after the reviewer's confirmation naming their count.
    ///
    /// The plan is re-read against the cache first: an item that stopped being ready since the
    /// dry run (revoked meanwhile, say) is reported skipped, never sent. A bulk run (a selection,
    /// or more than one item) is itself journalled as an `incident` entry naming the selection and
    /// the confirmed count. `tokens`: values for tokens revoked by value, matched by fingerprint
    /// and held only for this call. Progress: one [`RevocationEvent`] per state change of an
    /// item. Cancelling stops sending; items not yet sent fail as `cancelled`.
    pub async fn execute_revocation(
        &self,
        plan: &RevocationPlan,
        confirmation: RevocationConfirmation,
        tokens: &[SecretString],
        options: &RevocationOptions,
        cancel: &CancellationToken,
        on_event: &(dyn Fn(RevocationEvent) + Send + Sync),
    ) -> Result<RevocationReport> {
        self.ensure_journal_seal().await;
        let report = self
            .execute_revocation_sealed(plan, confirmation, tokens, options, cancel, on_event)
            .await;
        self.record_journal_head().await;
        report
    }

    async fn execute_revocation_sealed(
        &self,
        plan: &RevocationPlan,
        confirmation: RevocationConfirmation,
        tokens: &[SecretString],
        options: &RevocationOptions,
        cancel: &CancellationToken,
        on_event: &(dyn Fn(RevocationEvent) + Send + Sync),
    ) -> Result<RevocationReport> {
        let started = Instant::now();
        if confirmation.count != plan.ready {
            return Err(EngineError::InvalidInput(format!(
                "the confirmation names {} action(s) but the plan has {} ready to send: nothing was sent; confirm with `{}`",
                confirmation.count, plan.ready, plan.confirm_phrase
            )));
        }
        let _lock = RunLock::acquire(self.dir())?;
        let values = TokenValues::new(tokens);

        // Re-plan the ready targets against the cache as it is now.
        let ready: Vec<&RevocationPlanItem> = plan.items.iter().filter(|i| i.is_ready()).collect();
        let targets: Vec<RevocationTarget> = ready.iter().map(|i| i.target.clone()).collect();
        let (fresh, mut specs) = self.plan_with_specs(&targets, tokens).await?;
        let fresh_by_key: HashMap<&str, &RevocationPlanItem> =
            fresh.items.iter().map(|f| (f.key.as_str(), f)).collect();
        let mut to_send = Vec::new();
        let mut stale = Vec::new();
        for item in &ready {
            match fresh_by_key.get(item.key.as_str()).copied() {
                Some(f) if f.is_ready() => to_send.push(f.clone()),
                Some(f) => stale.push(f.clone()),
                None => {
                    let mut gone = (*item).clone();
                    gone.readiness = Readiness::AlreadyInactive;
                    gone.blocked_reason =
                        Some("no longer in the cache since the dry run: nothing sent".into());
                    stale.push(gone);
                }
            }
        }

        let writer = JournalWriter::start(&self.store, current_actor())?;
        let bulk = plan.selection.is_some() || ready.len() > 1;
        let incident_seq = if bulk && !to_send.is_empty() {
            let selection = plan
                .selection
                .clone()
                .unwrap_or_else(|| format!("{} named target(s)", ready.len()));
            let first = writer
                .append(Draft {
                    action: "incident",
                    target: selection.clone(),
                    state: JournalState::Planned,
                    action_seq: None,
                    detail: json!({
                        "selection": plan.selection,
                        "count": plan.ready,
                        "blocked": plan.blocked,
                        "keys": ready.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(),
                    }),
                })
                .await?;
            writer
                .append(Draft {
                    action: "incident",
                    target: selection,
                    state: JournalState::Confirmed,
                    action_seq: Some(first),
                    detail: json!({
                        "confirmed_by": current_actor(),
                        "confirmed_count": confirmation.count,
                        "reason": confirmation.reason,
                        "sending": to_send.len(),
                    }),
                })
                .await?;
            Some(first)
        } else {
            None
        };

        let mut jobs = Vec::with_capacity(to_send.len());
        for item in &to_send {
            let spec = specs
                .remove(&item.key)
                .ok_or_else(|| EngineError::Internal(format!("no target spec for {}", item.key)))?;
            let value = item
                .fingerprint
                .as_deref()
                .and_then(|fp| values.get(fp))
                .cloned();
            jobs.push(Job {
                key: item.key.clone(),
                backend: item.backend.clone(),
                description: item.description.clone(),
                spec,
                resend: item.resend,
                value,
                incident_seq,
                credential_id: item.credential_id,
                resumed: None,
                reason: confirmation.reason.clone(),
            });
        }
        let runner = Runner::new(
            self,
            writer.clone(),
            *options,
            cancel.clone(),
            on_event,
            jobs.len() as u64,
        );
        let mut items = runner.run(jobs).await?;
        items.extend(stale.iter().map(|i| unsent(i, incident_seq)));
        items.extend(
            plan.items
                .iter()
                .filter(|i| !i.is_ready())
                .map(|i| unsent(i, incident_seq)),
        );
        let report = RevocationReport::from_items(
            incident_seq,
            plan.selection.clone(),
            items,
            started.elapsed().as_millis() as u64,
        )
        .because(confirmation.reason.clone());
        if let Some(seq) = incident_seq {
            let target = plan
                .selection
                .clone()
                .unwrap_or_else(|| format!("{} named target(s)", ready.len()));
            close_incident(&writer, seq, &target, &report_counts(&report)).await?;
        }
        writer.flush().await;
        Ok(report)
    }

    /// Revokes a cached credential by its row id, then verifies (one item, no incident entry).
    pub async fn revoke_credential(&self, id: i64) -> Result<RevocationOutcome> {
        self.revoke_credential_because(id, None).await
    }

    /// [`Workspace::revoke_credential`] with a reason or ticket recorded in the journal.
    pub async fn revoke_credential_because(
        &self,
        id: i64,
        reason: Option<&str>,
    ) -> Result<RevocationOutcome> {
        self.revoke_one(&RevocationTarget::Credential { id }, reason)
            .await
    }

    /// Revokes a login right (PostgreSQL NOLOGIN, Keycloak logout of all sessions).
    pub async fn revoke_login(&self, backend: &str, principal: &str) -> Result<RevocationOutcome> {
        self.revoke_one(
            &RevocationTarget::Login {
                backend: backend.into(),
                principal: principal.into(),
            },
            None,
        )
        .await
    }

    /// One target, planned and sent at once: for callers that already asked the person.
    pub(crate) async fn revoke_one(
        &self,
        target: &RevocationTarget,
        reason: Option<&str>,
    ) -> Result<RevocationOutcome> {
        let plan = self
            .plan_revocation(std::slice::from_ref(target), &[])
            .await?;
        if plan.ready == 0 {
            let reason = plan
                .items
                .first()
                .and_then(|i| i.blocked_reason.clone())
                .unwrap_or_else(|| "nothing to revoke".into());
            return Err(EngineError::Connector(
                portcullis_connectors::ConnectorError::Unsupported(reason),
            ));
        }
        let report = self
            .execute_revocation(
                &plan,
                RevocationConfirmation::new(plan.ready).because(reason),
                &[],
                &RevocationOptions::default(),
                &CancellationToken::new(),
                &no_events,
            )
            .await?;
        report
            .items
            .into_iter()
            .next()
            .map(outcome)
            .ok_or_else(|| EngineError::Internal("a run of one item reported nothing".into()))
    }

    /// Revokes a token value the reviewer holds (triage) on one backend, then verifies.
    pub async fn revoke_token(
        &self,
        backend: &str,
        token: &SecretString,
    ) -> Result<RevocationOutcome> {
        self.revoke_token_because(backend, token, None).await
    }

    /// [`Workspace::revoke_token`] with a reason or ticket recorded in the journal.
    pub async fn revoke_token_because(
        &self,
        backend: &str,
        token: &SecretString,
        reason: Option<&str>,
    ) -> Result<RevocationOutcome> {
        self.ensure_journal_seal().await;
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        let outcome = self.revoke_token_sealed(backend, token, reason).await;
        self.record_journal_head().await;
        outcome
    }

    async fn revoke_token_sealed(
        &self,
        backend: &str,
        token: &SecretString,
        reason: Option<&str>,
    ) -> Result<RevocationOutcome> {
        use secrecy::ExposeSecret;
        let row = self.store.backend_by_name(backend).await?;
        let fingerprint = portcullis_connectors::fingerprint(token.expose_secret());
        let spec = TargetSpec::Token {
            fingerprint: fingerprint.clone(),
            kind: None,
        };
        let _lock = RunLock::acquire(self.dir())?;
        let writer = JournalWriter::start(&self.store, current_actor())?;
        let job = Job {
            key: format!("{backend}:token:{fingerprint}"),
            backend: row.name.clone(),
            description: format!("{} {}", row.name, spec.describe()),
            spec,
            resend: ResendPolicy::Idempotent,
            value: Some(token.clone()),
            incident_seq: None,
            credential_id: None,
            resumed: None,
            reason: reason.map(str::to_string),
        };
        let runner = Runner::new(
            self,
            writer.clone(),
            RevocationOptions::default(),
            CancellationToken::new(),
            &no_events,
            1,
        );
        let report = runner
            .run(vec![job])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| EngineError::Internal("a run of one item reported nothing".into()))?;
        if report.state == ItemState::Verified {
            // The accessor a Vault token was found under is the cached credential's id.
            if let Some(acc) = report
                .receipt
                .as_ref()
                .and_then(|r| r.detail.get("accessor"))
                .and_then(|a| a.as_str())
            {
                writer.mark_revoked(row.id, acc.to_string());
            }
        }
        writer.flush().await;
        Ok(outcome(report))
    }

    /// Actions an interrupted run left without a final state (what the next start shows).
    pub async fn unfinished_revocations(&self) -> Result<Vec<UnfinishedAction>> {
        let open = self.store.journal_open_actions().await?;
        Ok(open
            .into_iter()
            .map(|a| {
                let d = &a.first.detail;
                let spec: Option<TargetSpec> = d
                    .get("spec")
                    .and_then(|s| serde_json::from_value(s.clone()).ok());
                let (resumable, note) = match (a.first.action.as_str(), &spec) {
                    ("incident", _) => (true, "closed once its items are finished".to_string()),
                    (_, None) => (
                        false,
                        "written without what resumption needs (older Portcullis): resuming marks it failed; check it on the backend".to_string(),
                    ),
                    (_, Some(TargetSpec::Token { .. })) => (
                        false,
                        "a token revoked by value: resume with the token again (--tokens-from FILE), or it is marked failed".to_string(),
                    ),
                    (_, Some(_)) => (
                        true,
                        match a.last_state {
                            JournalState::Planned => "never sent: resuming asks the backend, then sends".to_string(),
                            _ => "may have reached the backend: resuming asks it first and sends again only if still alive".to_string(),
                        },
                    ),
                };
                UnfinishedAction {
                    seq: a.first.seq,
                    action: a.first.action.clone(),
                    target: a.first.target.clone(),
                    backend: d.get("backend").and_then(|b| b.as_str()).map(str::to_string),
                    state: a.last_state,
                    at: a.first.at,
                    incident_seq: d.get("incident").and_then(|i| i.as_i64()),
                    resumable,
                    note,
                }
            })
            .collect())
    }

    /// Finishes what an interrupted run left open: each action is verified first; only targets
    /// still alive are sent again, and never one whose second send could do harm. Interrupted
    /// incidents are closed with their final counts. `tokens`: values for tokens revoked by value.
    pub async fn resume_revocations(
        &self,
        tokens: &[SecretString],
        options: &RevocationOptions,
        cancel: &CancellationToken,
        on_event: &(dyn Fn(RevocationEvent) + Send + Sync),
    ) -> Result<RevocationReport> {
        self.ensure_journal_seal().await;
        let report = self
            .resume_revocations_sealed(tokens, options, cancel, on_event)
            .await;
        self.record_journal_head().await;
        report
    }

    async fn resume_revocations_sealed(
        &self,
        tokens: &[SecretString],
        options: &RevocationOptions,
        cancel: &CancellationToken,
        on_event: &(dyn Fn(RevocationEvent) + Send + Sync),
    ) -> Result<RevocationReport> {
        let started = Instant::now();
        let _lock = RunLock::acquire(self.dir())?;
        let values = TokenValues::new(tokens);
        let open = self.store.journal_open_actions().await?;
        let writer = JournalWriter::start(&self.store, current_actor())?;
        let mut jobs = Vec::new();
        let mut items = Vec::new();
        let mut incidents = Vec::new();
        for a in open {
            if a.first.action == "incident" {
                incidents.push((a.first.seq, a.first.target.clone()));
                continue;
            }
            let d = &a.first.detail;
            let s = |k: &str| d.get(k).and_then(|v| v.as_str()).map(str::to_string);
            let spec: Option<TargetSpec> = d
                .get("spec")
                .and_then(|v| serde_json::from_value(v.clone()).ok());
            let resend: ResendPolicy = d
                .get("resend")
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .unwrap_or(ResendPolicy::VerifyFirst);
            let (Some(spec), Some(backend)) = (spec, s("backend")) else {
                let err = IpcError::new(
                    ErrorCode::Unsupported,
                    "cannot resume: the planned entry lacks the target (written by an older Portcullis); check it on the backend and revoke it again if needed",
                );
                writer
                    .append(Draft {
                        action: "revoke",
                        target: a.first.target.clone(),
                        state: JournalState::Failed,
                        action_seq: Some(a.first.seq),
                        detail: json!({ "stage": "resume", "error": err }),
                    })
                    .await?;
                items.push(RevocationItemReport {
                    key: s("key").unwrap_or_else(|| format!("journal:{}", a.first.seq)),
                    backend: s("backend").unwrap_or_default(),
                    target: a.first.target.clone(),
                    state: ItemState::Failed,
                    journal_seq: Some(a.first.seq),
                    incident_seq: d.get("incident").and_then(|i| i.as_i64()),
                    receipt: None,
                    verification: None,
                    error: Some(err),
                    note: None,
                    sends: 0,
                    resumed: true,
                });
                continue;
            };
            let value = match &spec {
                TargetSpec::Token { fingerprint, .. } => values.get(fingerprint).cloned(),
                _ => None,
            };
            jobs.push(Job {
                key: s("key").unwrap_or_else(|| format!("journal:{}", a.first.seq)),
                backend,
                description: a.first.target.clone(),
                spec,
                resend,
                value,
                incident_seq: d.get("incident").and_then(|i| i.as_i64()),
                credential_id: d.get("credential_id").and_then(|i| i.as_i64()),
                resumed: Some(Resumed {
                    planned_seq: a.first.seq,
                    last: a.last_state,
                    sends: a.sends,
                }),
                // Written with the planned entry already; a resume records no new one.
                reason: None,
            });
        }
        let runner = Runner::new(
            self,
            writer.clone(),
            *options,
            cancel.clone(),
            on_event,
            jobs.len() as u64,
        );
        let mut resumed = runner.run(jobs).await?;
        resumed.append(&mut items);
        writer.flush().await;
        for (seq, target) in &incidents {
            let states = self.store.journal_incident_states(*seq).await?;
            if states
                .iter()
                .any(|(_, s)| !matches!(s, JournalState::Verified | JournalState::Failed))
            {
                continue; // still open (a cancelled resume): the next resume closes it
            }
            let verified = states
                .iter()
                .filter(|(_, s)| *s == JournalState::Verified)
                .count();
            close_incident(
                &writer,
                *seq,
                target,
                &Counts {
                    verified: verified as u32,
                    failed: (states.len() - verified) as u32,
                    resumed: true,
                },
            )
            .await?;
        }
        writer.flush().await;
        let incident_seq = match incidents.as_slice() {
            [(one, _)] => Some(*one),
            _ => None,
        };
        Ok(RevocationReport::from_items(
            incident_seq,
            None,
            resumed,
            started.elapsed().as_millis() as u64,
        ))
    }

    /// Journal entries in order (after `after_seq`, at most `limit`).
    pub async fn journal(&self, after_seq: i64, limit: i64) -> Result<Vec<JournalEntry>> {
        Ok(self.store.journal_entries(after_seq, limit).await?)
    }

    /// Recomputes the journal's hash chain and seals, finds the head recorded outside the cache,
    /// and checks every campaign decision against the entry that journalled it.
    pub async fn journal_verify(&self) -> Result<JournalVerification> {
        self.ensure_journal_seal().await;
        let mut v = self.store.journal_verify().await?;
        let problems = self.store.decisions_against_journal().await?;
        if v.ok && !problems.is_empty() {
            v.ok = false;
            v.message = format!(
                "{}; but {} campaign decision(s) differ from what the journal recorded: {}",
                v.message,
                problems.len(),
                problems.join("; ")
            );
        }
        Ok(v)
    }
}

struct Counts {
    verified: u32,
    failed: u32,
    resumed: bool,
}

fn report_counts(r: &RevocationReport) -> Counts {
    let sent = r.items.iter().filter(|i| i.journal_seq.is_some()).count() as u32;
    Counts {
        verified: r.verified,
        failed: sent - r.verified.min(sent),
        resumed: false,
    }
}

/// The incident's final entry: verified when every item sent was proven dead; failed when one was
/// not, or when the run was interrupted before any of its actions was planned.
async fn close_incident(writer: &JournalWriter, seq: i64, target: &str, c: &Counts) -> Result<()> {
    let nothing = c.verified == 0 && c.failed == 0;
    let mut detail = json!({
        "verified": c.verified,
        "not_verified": c.failed,
        "closed_by_resume": c.resumed,
    });
    if nothing {
        detail["note"] = json!("interrupted before any action was planned: nothing was sent");
    }
    writer
        .append(Draft {
            action: "incident",
            target: target.to_string(),
            state: if c.failed == 0 && !nothing {
                JournalState::Verified
            } else {
                JournalState::Failed
            },
            action_seq: Some(seq),
            detail,
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests;
