//! Review campaigns: a scope's findings snapshotted at the start, a decision per item (keep /
//! revoke / reduce to the proposed set) by a named reviewer, progress, sign-off, the revocation
//! plan the decisions become, and drift against the previous campaign.
//!
//! Every decision and the sign-off are journalled (`review-decision`, `review-signoff`): a
//! `planned` entry before the decision is stored and a `verified` entry after, so the journal
//! shows each one and a crash between the two is visible as an unfinished action.

use chrono::Utc;
use portcullis_model::{
    Campaign, CampaignItem, CampaignScope, CampaignStatus, CampaignSummary, Decision,
    DecisionInput, DriftReport, Finding, FindingsRun, JournalState, NewCampaign, ReviewPlan,
    ReviewPlanStep, ReviewRequest, RevocationOutcome, RevocationTarget, SubjectKind, Verdict,
};
use portcullis_store::reviews::{DecisionRow, ReviewRow};
use portcullis_store::NewJournalEntry;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;

use super::AccessSnapshot;
use crate::{EngineError, Result, Workspace};

/// What a campaign keeps from its start: the run (items + coverage) and the access it saw.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Snapshot {
    run: FindingsRun,
    access: AccessSnapshot,
}

fn parse_snapshot(row: &ReviewRow) -> Result<Snapshot> {
    serde_json::from_str(&row.snapshot).map_err(|e| {
        EngineError::Store(portcullis_store::StoreError::Corrupt {
            what: "reviews.snapshot",
            detail: e.to_string(),
        })
    })
}

fn parse_scope(row: &ReviewRow) -> CampaignScope {
    serde_json::from_str(&row.scope).unwrap_or_default()
}

fn decision_of(d: &DecisionRow) -> Option<Decision> {
    Some(Decision {
        item_key: d.item_key.clone(),
        verdict: Verdict::parse(&d.verdict)?,
        note: d.note.clone(),
        reviewer: d.reviewer.clone(),
        at: d.at,
        journal_seq: d.journal_seq,
        applied: d
            .applied_receipt
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok()),
    })
}

fn summary(
    row: &ReviewRow,
    items: usize,
    decisions: &HashMap<String, Decision>,
) -> CampaignSummary {
    let count = |v: Verdict| decisions.values().filter(|d| d.verdict == v).count() as u64;
    CampaignSummary {
        id: row.id,
        name: row.name.clone(),
        scope: parse_scope(row),
        created_at: row.created_at,
        due_at: row.due_at,
        status: if row.status == "signed_off" {
            CampaignStatus::SignedOff
        } else {
            CampaignStatus::Open
        },
        items: items as u64,
        decided: decisions.len() as u64,
        keep: count(Verdict::Keep),
        revoke: count(Verdict::Revoke),
        reduce: count(Verdict::Reduce),
        signed_off_by: row.signed_off_by.clone(),
        signed_off_at: row.signed_off_at,
    }
}

impl Workspace {
    /// Starts a campaign: runs the scope's findings now and keeps them as its items.
    pub async fn campaign_create(&self, new: &NewCampaign) -> Result<CampaignSummary> {
        if new.name.trim().is_empty() {
            return Err(EngineError::InvalidInput(
                "a campaign needs a name (e.g. \"Q4 access review\")".into(),
            ));
        }
        let req = ReviewRequest {
            window_days: new.scope.window_days,
            backends: new.scope.backends.clone(),
            principals: new.scope.principals.clone(),
            rules: new.scope.rules.clone(),
            as_of: None,
        };
        let (run, access) = self.review_run_snapshot(&req).await?;
        let items = run.findings.len();
        let snapshot = serde_json::to_string(&Snapshot { run, access })
            .map_err(|e| EngineError::Internal(format!("serialising a campaign: {e}")))?;
        let scope = serde_json::to_string(&new.scope)
            .map_err(|e| EngineError::Internal(format!("serialising a scope: {e}")))?;
        let id = self
            .store
            .insert_review(new.name.trim(), &scope, &snapshot, Utc::now(), new.due_at)
            .await?;
        let row = self.store.review_by_id(id).await?;
        Ok(summary(&row, items, &HashMap::new()))
    }

    /// Campaigns, newest first, with their progress.
    pub async fn campaigns(&self) -> Result<Vec<CampaignSummary>> {
        let mut out = Vec::new();
        for row in self.store.list_reviews().await? {
            let full = self.store.review_by_id(row.id).await?;
            let items = parse_snapshot(&full)
                .map(|s| s.run.findings.len())
                .unwrap_or(0);
            let decisions = self.decisions(row.id).await?;
            out.push(summary(&row, items, &decisions));
        }
        Ok(out)
    }

    async fn decisions(&self, id: i64) -> Result<HashMap<String, Decision>> {
        Ok(self
            .store
            .latest_decisions(id)
            .await?
            .iter()
            .filter_map(decision_of)
            .map(|d| (d.item_key.clone(), d))
            .collect())
    }

    /// One campaign with its items and their latest decisions.
    pub async fn campaign(&self, id: i64) -> Result<Campaign> {
        let row = self.store.review_by_id(id).await?;
        let snap = parse_snapshot(&row)?;
        let mut decisions = self.decisions(id).await?;
        let summary = summary(&row, snap.run.findings.len(), &decisions);
        let items = snap
            .run
            .findings
            .into_iter()
            .map(|finding| CampaignItem {
                decision: decisions.remove(&finding.key),
                finding,
            })
            .collect();
        Ok(Campaign {
            summary,
            coverage: snap.run.coverage,
            items,
        })
    }

    /// Records decisions (one or many), each journalled before it is stored.
    pub async fn campaign_decide(
        &self,
        id: i64,
        reviewer: &str,
        decisions: &[DecisionInput],
    ) -> Result<CampaignSummary> {
        self.ensure_journal_seal().await;
        let summary = self.campaign_decide_sealed(id, reviewer, decisions).await;
        self.record_journal_head().await;
        summary
    }

    async fn campaign_decide_sealed(
        &self,
        id: i64,
        reviewer: &str,
        decisions: &[DecisionInput],
    ) -> Result<CampaignSummary> {
        let reviewer = reviewer.trim();
        if reviewer.is_empty() {
            return Err(EngineError::InvalidInput(
                "a decision needs the reviewer's name (--reviewer NAME)".into(),
            ));
        }
        if decisions.is_empty() {
            return Err(EngineError::InvalidInput(
                "no items to decide: name item keys, or use --all / --rule".into(),
            ));
        }
        let row = self.store.review_by_id(id).await?;
        if row.status == "signed_off" {
            return Err(EngineError::Store(portcullis_store::StoreError::Conflict {
                what: "decision on signed-off campaign",
                name: id.to_string(),
            }));
        }
        let snap = parse_snapshot(&row)?;
        let by_key: HashMap<&str, &Finding> = snap
            .run
            .findings
            .iter()
            .map(|f| (f.key.as_str(), f))
            .collect();
        // Validate everything before recording anything: a bulk decision is all or nothing.
        for d in decisions {
            let Some(f) = by_key.get(d.item_key.as_str()) else {
                return Err(EngineError::InvalidInput(format!(
                    "campaign {id} has no item `{}` (see `portcullis review campaign show {id}`)",
                    d.item_key
                )));
            };
            if d.verdict == Verdict::Reduce && f.subject.kind != SubjectKind::Grant {
                return Err(EngineError::InvalidInput(format!(
                    "item `{}` is about a {}: keep or revoke it (reduce applies to grants)",
                    d.item_key,
                    f.subject.kind.as_str()
                )));
            }
        }
        for d in decisions {
            let target = format!("campaign {id} item {}", d.item_key);
            let detail = json!({
                "campaign": id,
                "item": d.item_key,
                "verdict": d.verdict,
                "note": d.note,
                "reviewer": reviewer,
            });
            let planned = self
                .store
                .journal_append(NewJournalEntry {
                    actor: reviewer,
                    action: "review-decision",
                    target: &target,
                    state: JournalState::Planned,
                    action_seq: None,
                    detail: detail.clone(),
                })
                .await?;
            let decision_id = self
                .store
                .insert_decision(
                    id,
                    &d.item_key,
                    d.verdict.as_str(),
                    d.note.as_deref(),
                    reviewer,
                    Utc::now(),
                    Some(planned.seq),
                )
                .await?;
            self.store
                .journal_append(NewJournalEntry {
                    actor: reviewer,
                    action: "review-decision",
                    target: &target,
                    state: JournalState::Verified,
                    action_seq: Some(planned.seq),
                    detail: json!({ "decision_id": decision_id }),
                })
                .await?;
        }
        let decisions = self.decisions(id).await?;
        Ok(summary(&row, snap.run.findings.len(), &decisions))
    }

    /// Signs a campaign off once every item has a decision.
    pub async fn campaign_sign_off(&self, id: i64, reviewer: &str) -> Result<CampaignSummary> {
        self.ensure_journal_seal().await;
        let summary = self.campaign_sign_off_sealed(id, reviewer).await;
        self.record_journal_head().await;
        summary
    }

    async fn campaign_sign_off_sealed(&self, id: i64, reviewer: &str) -> Result<CampaignSummary> {
        let reviewer = reviewer.trim();
        if reviewer.is_empty() {
            return Err(EngineError::InvalidInput(
                "a sign-off needs the reviewer's name (--reviewer NAME)".into(),
            ));
        }
        let campaign = self.campaign(id).await?;
        let open = campaign
            .items
            .iter()
            .filter(|i| i.decision.is_none())
            .count();
        if open > 0 {
            return Err(EngineError::InvalidInput(format!(
                "campaign {id} has {open} undecided item(s) of {}: decide them before signing off",
                campaign.items.len()
            )));
        }
        let target = format!("campaign {id}");
        let s = &campaign.summary;
        let planned = self
            .store
            .journal_append(NewJournalEntry {
                actor: reviewer,
                action: "review-signoff",
                target: &target,
                state: JournalState::Planned,
                action_seq: None,
                detail: json!({ "campaign": id, "name": s.name, "items": s.items,
                                "keep": s.keep, "revoke": s.revoke, "reduce": s.reduce }),
            })
            .await?;
        self.store.sign_off_review(id, reviewer, Utc::now()).await?;
        self.store
            .journal_append(NewJournalEntry {
                actor: reviewer,
                action: "review-signoff",
                target: &target,
                state: JournalState::Verified,
                action_seq: Some(planned.seq),
                detail: json!({}),
            })
            .await?;
        Ok(self.campaign(id).await?.summary)
    }

    /// The revocation plan the campaign's revoke and reduce decisions become.
    pub async fn campaign_plan(&self, id: i64) -> Result<ReviewPlan> {
        let campaign = self.campaign(id).await?;
        Ok(plan_of(&campaign))
    }

    /// What changed in access since the previous campaign.
    pub async fn campaign_drift(&self, id: i64) -> Result<DriftReport> {
        let row = self.store.review_by_id(id).await?;
        let now = parse_snapshot(&row)?.access;
        let prev = match self.store.previous_review(id).await? {
            Some(p) => Some((p.id, parse_snapshot(&p)?.access)),
            None => None,
        };
        let (prev_id, before) = match prev {
            Some((pid, a)) => (Some(pid), a),
            None => (None, AccessSnapshot::default()),
        };
        Ok(DriftReport {
            campaign_id: id,
            previous_campaign_id: prev_id,
            new_grants: now.grants.difference(&before.grants).cloned().collect(),
            removed_grants: before.grants.difference(&now.grants).cloned().collect(),
            new_credentials: now
                .credentials
                .difference(&before.credentials)
                .cloned()
                .collect(),
            removed_credentials: before
                .credentials
                .difference(&now.credentials)
                .cloned()
                .collect(),
        })
    }

    /// Executes one item's revoke decision now (a credential, or a login). Grant removal and
    /// reductions go through the plan (bulk revocation).
    pub async fn campaign_apply(&self, id: i64, item_key: &str) -> Result<RevocationOutcome> {
        let campaign = self.campaign(id).await?;
        let item = campaign
            .items
            .iter()
            .find(|i| i.finding.key == item_key)
            .ok_or_else(|| {
                EngineError::InvalidInput(format!("campaign {id} has no item `{item_key}`"))
            })?;
        let decision = item.decision.as_ref().filter(|d| d.verdict == Verdict::Revoke).ok_or_else(|| {
            EngineError::InvalidInput(format!(
                "item `{item_key}` has no revoke decision: decide it first (only revoke decisions run singly)"
            ))
        })?;
        let f = &item.finding;
        let outcome = match (f.subject.kind, f.credential_id) {
            (SubjectKind::Credential, Some(cred)) => self.revoke_credential(cred).await?,
            (SubjectKind::Principal, _) => {
                self.revoke_login(&f.backend, &f.principal.external_id)
                    .await?
            }
            _ => {
                return Err(EngineError::InvalidInput(format!(
                    "item `{item_key}` removes a grant: run it from the campaign's revocation plan \
                     (`portcullis review campaign export {id}` writes plan.json)"
                )))
            }
        };
        let rows = self.store.latest_decisions(id).await?;
        if let Some(row) = rows.iter().find(|r| r.item_key == decision.item_key) {
            let receipt = serde_json::to_string(&outcome).unwrap_or_else(|_| "{}".into());
            self.store.set_decision_applied(row.id, &receipt).await?;
        }
        Ok(outcome)
    }
}

/// Revoke and reduce decisions as plan steps whose targets the bulk executor takes.
pub fn plan_of(c: &Campaign) -> ReviewPlan {
    let mut steps = Vec::new();
    for item in &c.items {
        let Some(d) = &item.decision else { continue };
        if d.verdict == Verdict::Keep {
            continue;
        }
        let f = &item.finding;
        let mut targets = Vec::new();
        let operation = match (f.subject.kind, d.verdict) {
            (SubjectKind::Credential, _) => {
                targets.extend(
                    f.credential_id
                        .map(|id| RevocationTarget::Credential { id }),
                );
                if targets.is_empty() {
                    "revoke_credential_manually"
                } else {
                    "revoke_credential"
                }
            }
            (SubjectKind::Principal, _) => {
                targets.push(RevocationTarget::Login {
                    backend: f.backend.clone(),
                    principal: f.principal.external_id.clone(),
                });
                "revoke_login"
            }
            (SubjectKind::Grant, v) => {
                targets.extend(f.grant_edges.iter().map(|g| RevocationTarget::Grant {
                    backend: f.backend.clone(),
                    grant: g.clone(),
                }));
                // A scope or policy carried by a token goes with the token.
                targets.extend(
                    f.carrier_credentials
                        .iter()
                        .map(|id| RevocationTarget::Credential { id: *id }),
                );
                if v == Verdict::Reduce {
                    "reduce_grant"
                } else {
                    "remove_grant"
                }
            }
        };
        steps.push(ReviewPlanStep {
            item_key: f.key.clone(),
            verdict: d.verdict,
            backend: f.backend.clone(),
            backend_kind: f.backend_kind,
            principal: f.principal.name.clone(),
            target: f.subject.clone(),
            operation: operation.to_string(),
            keep: if d.verdict == Verdict::Reduce {
                f.recommendation.proposed.clone()
            } else {
                vec![]
            },
            credential_id: f.credential_id,
            targets,
            reviewer: d.reviewer.clone(),
            note: d.note.clone(),
            applied: d.applied.clone(),
        });
    }
    ReviewPlan {
        campaign_id: c.summary.id,
        campaign: c.summary.name.clone(),
        generated_at: Utc::now(),
        steps,
    }
}
