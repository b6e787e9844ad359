//! Least-privilege reviews: findings from real usage, review campaigns and the evidence an auditor
//! checks.
//!
//! A *findings run* evaluates the rule catalogue over the cache for a review window and says, per
//! backend, how complete its usage data is, so "unused" never silently means "we had no audit log".
//! A *campaign* snapshots the findings of a scope at its start; reviewers decide keep / revoke /
//! reduce per item; revoke and reduce decisions become a revocation plan; the campaign is signed
//! off and exported with a manifest of SHA-256 digests.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::{BackendKind, GrantPath, PrincipalKind};

/// How urgent a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// How far a finding can be trusted, given the data behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ConfidenceLevel {
    /// The data needed was not there: the rule did not run (never a finding at this level).
    Unavailable,
    /// The data covers only part of the question (e.g. audit data starts inside the window).
    Partial,
    /// The backend's inventory or a full window of audit data answers it.
    Complete,
}

impl ConfidenceLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            ConfidenceLevel::Unavailable => "unavailable",
            ConfidenceLevel::Partial => "partial",
            ConfidenceLevel::Complete => "complete",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confidence {
    pub level: ConfidenceLevel,
    /// Why, in a sentence ("audit data starts 2026-11-20, 88 days into the 90-day window").
    pub note: String,
}

/// One tunable number of a rule (days, counts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleParam {
    pub name: String,
    pub value: i64,
    pub description: String,
}

/// A rule of the catalogue, with the values in force for this workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleInfo {
    /// Stable id (`unused-grant`, `never-expiring-credential`, ...).
    pub id: String,
    pub severity: Severity,
    pub title: String,
    pub description: String,
    pub params: Vec<RuleParam>,
    pub enabled: bool,
    /// True when the rule judges from audit data (and so cannot run without it).
    pub needs_usage: bool,
}

/// A principal the workspace deliberately leaves out of reviews (the console's own accounts,
/// bootstrap superusers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exemption {
    pub backend: String,
    /// Matched against the principal's external id and its name.
    pub principal: String,
    pub reason: String,
}

/// A credential the console cannot list (e.g. an OAuth client secret on a server without a
/// management API), recorded by a reviewer so the review covers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeclaredCredential {
    pub backend: String,
    /// External id or name of the principal it belongs to.
    pub principal: String,
    /// How it is named in findings (`client_secret:ci-bot`).
    pub id: String,
    /// `client_secret`, `api_key`, `password`...
    pub kind: String,
    #[serde(default)]
    pub issued_at: Option<DateTime<Utc>>,
    /// `None`: it never expires.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub note: Option<String>,
}

/// The workspace's review policy, kept in the cache's settings table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewSettings {
    /// Default review window.
    pub window_days: u32,
    /// Rule ids switched off for this workspace.
    #[serde(default)]
    pub disabled_rules: Vec<String>,
    /// `RULE.PARAM` → value, overriding the catalogue's defaults.
    #[serde(default)]
    pub params: BTreeMap<String, i64>,
    #[serde(default)]
    pub exemptions: Vec<Exemption>,
    /// `BACKEND:GRANT` (role, policy, group or scope id) never judged, in addition to each backend
    /// kind's built-ins (Vault `default`, PostgreSQL `PUBLIC`, OIDC protocol scopes).
    #[serde(default)]
    pub ignored_grants: Vec<String>,
    #[serde(default)]
    pub declared_credentials: Vec<DeclaredCredential>,
}

impl Default for ReviewSettings {
    fn default() -> Self {
        ReviewSettings {
            window_days: 90,
            disabled_rules: Vec::new(),
            params: BTreeMap::new(),
            exemptions: Vec::new(),
            ignored_grants: Vec::new(),
            declared_credentials: Vec::new(),
        }
    }
}

/// What to review. Empty lists mean "all".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReviewRequest {
    /// Overrides the workspace's window.
    #[serde(default)]
    pub window_days: Option<u32>,
    #[serde(default)]
    pub backends: Vec<String>,
    /// External ids or names.
    #[serde(default)]
    pub principals: Vec<String>,
    /// Only these rules (still subject to the workspace switching a rule off).
    #[serde(default)]
    pub rules: Vec<String>,
    /// The review's "now" (default: the current time).
    #[serde(default)]
    pub as_of: Option<DateTime<Utc>>,
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// A role, policy, group membership, scope or privilege the principal holds.
    Grant,
    /// A token, key, password or session.
    Credential,
    /// The principal itself (dormant account, binding to nobody).
    Principal,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Grant => "grant",
            SubjectKind::Credential => "credential",
            SubjectKind::Principal => "principal",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingSubject {
    pub kind: SubjectKind,
    /// The backend's id (role name, scope, accessor, fingerprint, `login:ROLE`).
    pub id: String,
    /// What a person reads ("ops-admin", "refresh token of erin via acme-cli").
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingPrincipal {
    pub external_id: String,
    pub name: String,
    pub kind: PrincipalKind,
    pub enabled: bool,
    /// Every cached principal merged into this one (an OpenBao entity and its userpass user).
    #[serde(default)]
    pub members: Vec<String>,
}

/// An audit event cited as evidence: aggregated (same credential, action, resource, outcome,
/// source) with the id of its newest occurrence, which the Audit page can open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceEvent {
    /// A string across IPC: event ids are time keys beyond 2^53.
    #[serde(with = "crate::id_string")]
    pub event_id: i64,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
    pub count: u64,
    pub action: String,
    pub resource: Option<String>,
    pub outcome: crate::Outcome,
    pub source_ip: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Events that show what happened (the uses, the refusal, the use after revocation).
    pub events: Vec<EvidenceEvent>,
    /// Why the principal holds the grant: hops from the principal.
    pub paths: Vec<GrantPath>,
    /// Facts from the inventory ("expires 2036-11-19 (3650 days after issue)").
    pub facts: Vec<String>,
}

/// What to do about a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecommendedAction {
    /// Revoke the credential (or the login).
    Revoke,
    /// Remove the grant; keep `proposed`.
    RemoveGrant,
    /// Replace the grant by the narrower `proposed` set.
    Reduce,
    /// Give the credential an expiry / rotate it.
    SetExpiry,
    /// Look closer: nothing can be decided from the data alone.
    Investigate,
}

impl RecommendedAction {
    pub fn as_str(self) -> &'static str {
        match self {
            RecommendedAction::Revoke => "revoke",
            RecommendedAction::RemoveGrant => "remove_grant",
            RecommendedAction::Reduce => "reduce",
            RecommendedAction::SetExpiry => "set_expiry",
            RecommendedAction::Investigate => "investigate",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub action: RecommendedAction,
    pub text: String,
    /// The narrower set actually used: what the principal should keep instead.
    #[serde(default)]
    pub proposed: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable across runs: `RULE|BACKEND|PRINCIPAL|SUBJECT`. Campaign items and drift use it.
    pub key: String,
    pub rule: String,
    pub severity: Severity,
    pub backend: String,
    pub backend_kind: BackendKind,
    pub principal: FindingPrincipal,
    pub subject: FindingSubject,
    /// One line: what is wrong.
    pub title: String,
    pub evidence: Evidence,
    pub recommendation: Recommendation,
    pub confidence: Confidence,
    /// The cache row id of the credential concerned, for single-item revocation.
    #[serde(default)]
    pub credential_id: Option<i64>,
    /// The grant edges the finding is about (what removing the grant removes).
    #[serde(default)]
    pub grant_edges: Vec<crate::Grant>,
    /// Cache row ids of the credentials that carry the grant (Vault token policies, OAuth scopes).
    #[serde(default)]
    pub carrier_credentials: Vec<i64>,
}

/// How complete one backend's data is for this run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendCoverage {
    pub backend: String,
    pub kind: BackendKind,
    pub level: ConfidenceLevel,
    pub events_in_window: u64,
    pub first_event: Option<DateTime<Utc>>,
    pub last_event: Option<DateTime<Utc>>,
    pub principals: u64,
    pub credentials: u64,
    pub exempt_principals: u64,
    /// Sentences a reviewer reads ("no audit data for this backend: unused-grant findings
    /// unavailable").
    pub notes: Vec<String>,
    /// Rules that could not run on this backend.
    pub unavailable_rules: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingsRun {
    /// The Portcullis that ran the review ([`crate::VERSION`]), so a saved report says which
    /// rule catalogue produced it. Empty in reports from before the field existed.
    #[serde(default)]
    pub portcullis_version: String,
    pub generated_at: DateTime<Utc>,
    pub as_of: DateTime<Utc>,
    pub window_days: u32,
    pub window_start: DateTime<Utc>,
    pub coverage: Vec<BackendCoverage>,
    /// The rules in force for this run.
    pub rules: Vec<RuleInfo>,
    /// Ordered by severity (highest first), then backend, principal, rule.
    pub findings: Vec<Finding>,
}

impl FindingsRun {
    /// Count of findings at or above `min`.
    pub fn at_or_above(&self, min: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity >= min).count()
    }
}

// ---- campaigns ----

/// A reviewer's verdict on one campaign item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Keep,
    Revoke,
    /// Reduce to the finding's proposed set.
    Reduce,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Keep => "keep",
            Verdict::Revoke => "revoke",
            Verdict::Reduce => "reduce",
        }
    }

    pub fn parse(s: &str) -> Option<Verdict> {
        [Verdict::Keep, Verdict::Revoke, Verdict::Reduce]
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Open,
    SignedOff,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Open => "open",
            CampaignStatus::SignedOff => "signed_off",
        }
    }
}

/// What a campaign covers. Empty lists mean "all".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CampaignScope {
    #[serde(default)]
    pub backends: Vec<String>,
    #[serde(default)]
    pub principals: Vec<String>,
    #[serde(default)]
    pub rules: Vec<String>,
    #[serde(default)]
    pub window_days: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewCampaign {
    pub name: String,
    pub scope: CampaignScope,
    #[serde(default)]
    pub due_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub item_key: String,
    pub verdict: Verdict,
    pub note: Option<String>,
    pub reviewer: String,
    pub at: DateTime<Utc>,
    /// The journal entry that recorded it.
    pub journal_seq: Option<i64>,
    /// What executing it returned (single-item revocation).
    pub applied: Option<serde_json::Value>,
}

/// One decision to record; several make a bulk decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionInput {
    pub item_key: String,
    pub verdict: Verdict,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignItem {
    pub finding: Finding,
    /// The latest decision, if any.
    pub decision: Option<Decision>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignSummary {
    pub id: i64,
    pub name: String,
    pub scope: CampaignScope,
    pub created_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub status: CampaignStatus,
    pub items: u64,
    pub decided: u64,
    pub keep: u64,
    pub revoke: u64,
    pub reduce: u64,
    pub signed_off_by: Option<String>,
    pub signed_off_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    pub summary: CampaignSummary,
    /// Coverage at the start (how complete the data behind the items was).
    pub coverage: Vec<BackendCoverage>,
    pub items: Vec<CampaignItem>,
}

/// One step of the revocation plan a campaign's revoke / reduce decisions become. Its `targets`
/// are what the bulk revocation executor takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewPlanStep {
    pub item_key: String,
    pub verdict: Verdict,
    pub backend: String,
    pub backend_kind: BackendKind,
    pub principal: String,
    /// What to revoke or reduce, in the backend's terms.
    pub target: FindingSubject,
    /// `revoke_credential`, `revoke_login`, `remove_grant`, `reduce_grant`.
    pub operation: String,
    /// For reduce: the set to keep.
    pub keep: Vec<String>,
    pub credential_id: Option<i64>,
    /// What the bulk revocation takes (`portcullis revoke` syntax: `cred:12`,
    /// `grant:BACKEND/FROM>TO`, `login:BACKEND/PRINCIPAL`).
    pub targets: Vec<crate::RevocationTarget>,
    pub reviewer: String,
    pub note: Option<String>,
    /// Already executed (single-item revocation), with what the backend said.
    pub applied: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewPlan {
    pub campaign_id: i64,
    pub campaign: String,
    pub generated_at: DateTime<Utc>,
    pub steps: Vec<ReviewPlanStep>,
}

/// What changed in access since the previous campaign: grants and credentials as
/// `BACKEND|PRINCIPAL|GRANT` / `BACKEND|CREDENTIAL` strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    pub campaign_id: i64,
    /// None: this is the first campaign; everything counts as new.
    pub previous_campaign_id: Option<i64>,
    pub new_grants: Vec<String>,
    pub removed_grants: Vec<String>,
    pub new_credentials: Vec<String>,
    pub removed_credentials: Vec<String>,
}

// ---- evidence ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub name: String,
    pub sha256: String,
    pub bytes: u64,
}

/// `manifest.json` of an evidence export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceManifest {
    pub format: String,
    pub generator: String,
    pub generated_at: DateTime<Utc>,
    /// `findings` or `campaign`.
    pub subject: String,
    pub campaign_id: Option<i64>,
    pub journal_entries: u64,
    /// The journal's head hash when exported (None: empty journal).
    pub journal_head: Option<String>,
    pub journal_ok: bool,
    pub files: Vec<ManifestFile>,
    /// Set when the evidence comes from a demo workspace: its label ("Demo data: …").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demo: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileCheck {
    pub name: String,
    pub ok: bool,
    pub problem: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceVerification {
    pub ok: bool,
    pub files: Vec<FileCheck>,
    pub journal_head: Option<String>,
    /// Whether this workspace's journal contains the pinned head (None: not checked).
    pub journal_head_found: Option<bool>,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_orders_and_parses() {
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
        assert_eq!(Severity::parse("HIGH"), Some(Severity::High));
        assert_eq!(Severity::parse("nope"), None);
        for s in Severity::ALL {
            assert_eq!(
                serde_json::to_value(s).unwrap().as_str().unwrap(),
                s.as_str()
            );
        }
    }

    #[test]
    fn settings_default_and_partial_json() {
        let s: ReviewSettings = serde_json::from_str(r#"{"window_days": 30}"#).unwrap();
        assert_eq!(s.window_days, 30);
        assert!(s.exemptions.is_empty());
        assert_eq!(ReviewSettings::default().window_days, 90);
    }
}
