//! Least-privilege reviews: findings from real usage, review campaigns, and evidence an auditor
//! can check.
//!
//! A findings run reads the cache once (inventory, use aggregated over the window, a few raw audit
//! facts), resolves each backend into a [`model::BackendModel`], and evaluates the rule catalogue
//! ([`rules`]) over it ([`findings`]). Each backend's coverage says how complete its usage data
//! is, and rules that need usage do not run where there is none, so "unused" never silently
//! means "no audit log". Campaigns ([`campaign`]) snapshot a run; evidence ([`evidence`]) exports
//! runs and campaigns with a manifest of SHA-256 digests and the journal head.

pub mod campaign;
pub mod evidence;
pub mod findings;
pub mod input;
pub mod model;
pub mod rules;

use chrono::{DateTime, Duration, Utc};
use portcullis_model::{
    Action, BackendCoverage, BackendKind, ConfidenceLevel, CredentialKind, CredentialStatus,
    FindingsRun, Grant, NodeKind, Outcome, PrincipalKind, ReviewRequest, ReviewSettings, RuleInfo,
};
use portcullis_store::reviews::{ReviewInventory, UsageRow};
use std::collections::{BTreeSet, HashMap, HashSet};

use crate::{EngineError, Result, Workspace};
use input::{BackendInput, CredKind, CredentialIn, FactIn, UseIn};
use model::{BackendModel, Expiry};

pub use evidence::{findings_csv, findings_html, verify_evidence};
pub use rules::catalogue;

/// The settings table key of the workspace's review policy.
const SETTINGS_KEY: &str = "review.settings";

/// Access at the time of a run, for campaign drift: `BACKEND|PRINCIPAL|GRANT` and
/// `BACKEND|CREDENTIAL`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AccessSnapshot {
    pub grants: BTreeSet<String>,
    pub credentials: BTreeSet<String>,
}

impl Workspace {
    /// The workspace's review policy (defaults when none was saved).
    pub async fn review_settings(&self) -> Result<ReviewSettings> {
        match self.store.setting(SETTINGS_KEY).await? {
            None => Ok(ReviewSettings::default()),
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                EngineError::InvalidInput(format!(
                    "the saved review settings cannot be read ({e}); save them again with \
                     `portcullis review settings --set-file FILE`"
                ))
            }),
        }
    }

    /// Validates and saves the review policy.
    pub async fn set_review_settings(&self, settings: &ReviewSettings) -> Result<()> {
        rules::validate(settings)?;
        let text = serde_json::to_string(settings)
            .map_err(|e| EngineError::Internal(format!("serialising review settings: {e}")))?;
        self.store.set_setting(SETTINGS_KEY, &text).await?;
        Ok(())
    }

    /// The rule catalogue with this workspace's switches and parameters.
    pub async fn review_rules(&self) -> Result<Vec<RuleInfo>> {
        let settings = self.review_settings().await?;
        Ok(rules::RuleSet::resolve(&settings, &[])?.infos)
    }

    /// A full findings run over the cache.
    pub async fn review_run(&self, req: &ReviewRequest) -> Result<FindingsRun> {
        Ok(self.review_run_snapshot(req).await?.0)
    }

    pub(crate) async fn review_run_snapshot(
        &self,
        req: &ReviewRequest,
    ) -> Result<(FindingsRun, AccessSnapshot)> {
        let settings = self.review_settings().await?;
        let rules = rules::RuleSet::resolve(&settings, &req.rules)?;
        let window_days = req.window_days.unwrap_or(settings.window_days);
        if window_days == 0 || window_days > 3650 {
            return Err(EngineError::InvalidInput(format!(
                "review window of {window_days} days: give 1 to 3650 days"
            )));
        }
        let as_of = req.as_of.unwrap_or_else(Utc::now);
        let window_start = as_of - Duration::days(i64::from(window_days));
        let store = &self.store;
        let (inventory, bounds, revocations) = tokio::try_join!(
            store.review_inventory(),
            store.review_event_bounds(window_start),
            store.review_revocations()
        )?;
        for b in &req.backends {
            if !inventory.backends.iter().any(|x| &x.name == b) {
                return Err(portcullis_store::StoreError::NotFound {
                    what: "backend",
                    name: b.clone(),
                }
                .into());
            }
        }
        // Each backend's use is aggregated on its own connection, concurrently.
        let parts = futures::future::try_join_all(
            inventory
                .backends
                .iter()
                .filter(|b| req.backends.is_empty() || req.backends.contains(&b.name))
                .map(|b| store.review_usage_of(b.id, window_start, as_of)),
        )
        .await?;
        let usage: Vec<UsageRow> = parts.into_iter().flatten().collect();
        let facts = store.review_audit_facts(window_start, &usage).await?;
        let inputs = build_inputs(
            inventory,
            usage,
            facts,
            &bounds.iter().map(|b| (b.backend_id, b.has_older)).collect(),
            &revocations,
            &settings,
            &req.backends,
        );
        Ok(evaluate_inputs(
            &inputs,
            &settings,
            &rules,
            as_of,
            window_start,
            window_days,
            &req.principals,
        ))
    }
}

/// Evaluates prepared inputs: the pure part of a run (benchmarks and tests call it directly).
pub fn evaluate_inputs(
    inputs: &[BackendInput],
    settings: &ReviewSettings,
    rules: &rules::RuleSet,
    as_of: DateTime<Utc>,
    window_start: DateTime<Utc>,
    window_days: u32,
    principals: &[String],
) -> (FindingsRun, AccessSnapshot) {
    // Backends are independent: evaluate them on parallel threads.
    let per_backend: Vec<(
        Vec<portcullis_model::Finding>,
        BackendCoverage,
        AccessSnapshot,
    )> = std::thread::scope(|scope| {
        let handles: Vec<_> = inputs
            .iter()
            .map(|input| {
                scope.spawn(move || {
                    evaluate_backend(
                        input,
                        settings,
                        rules,
                        as_of,
                        window_start,
                        window_days,
                        principals,
                    )
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let mut all = Vec::new();
    let mut coverage = Vec::new();
    let mut snapshot = AccessSnapshot::default();
    for (findings, cov, snap) in per_backend {
        all.extend(findings);
        coverage.push(cov);
        snapshot.grants.extend(snap.grants);
        snapshot.credentials.extend(snap.credentials);
    }
    // Sort an index, then move each finding once: findings are large, and a sort moves its
    // elements O(n log n) times.
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&all[a], &all[b]);
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.backend.cmp(&b.backend))
            .then_with(|| a.principal.name.cmp(&b.principal.name))
            .then_with(|| a.rule.cmp(&b.rule))
            .then_with(|| a.subject.id.cmp(&b.subject.id))
    });
    let mut slots: Vec<Option<portcullis_model::Finding>> = all.into_iter().map(Some).collect();
    let mut all: Vec<portcullis_model::Finding> = order
        .into_iter()
        .filter_map(|i| slots.get_mut(i).and_then(Option::take))
        .collect();
    all.dedup_by(|a, b| a.key == b.key);
    (
        FindingsRun {
            portcullis_version: portcullis_model::VERSION.into(),
            generated_at: Utc::now(),
            as_of,
            window_days,
            window_start,
            coverage,
            rules: rules.infos.clone(),
            findings: all,
        },
        snapshot,
    )
}

fn evaluate_backend(
    input: &BackendInput,
    settings: &ReviewSettings,
    rules: &rules::RuleSet,
    as_of: DateTime<Utc>,
    window_start: DateTime<Utc>,
    window_days: u32,
    principals: &[String],
) -> (
    Vec<portcullis_model::Finding>,
    BackendCoverage,
    AccessSnapshot,
) {
    let exempt: HashMap<String, String> = settings
        .exemptions
        .iter()
        .filter(|e| e.backend == input.name)
        .map(|e| (e.principal.clone(), e.reason.clone()))
        .collect();
    let ignored: HashSet<String> = settings
        .ignored_grants
        .iter()
        .filter_map(|g| g.split_once(':'))
        .filter(|(b, _)| *b == input.name)
        .map(|(_, g)| g.to_string())
        .collect();
    let model = BackendModel::build(input, &exempt, &ignored);
    let cov = backend_coverage(&model, rules, window_start, window_days);
    let ctx = findings::Ctx {
        rules,
        as_of,
        window_start,
        principals,
        coverage: &cov,
    };
    let found = findings::evaluate(&model, &ctx);
    let mut snapshot = AccessSnapshot::default();
    for s in &model.subjects {
        let p = model.primary_id(s);
        for h in &s.grants {
            snapshot
                .grants
                .insert(format!("{}|{p}|{}", input.name, h.to_id));
        }
    }
    for c in &model.creds {
        if c.live(as_of) {
            snapshot
                .credentials
                .insert(format!("{}|{}", input.name, c.input.external_id));
        }
    }
    (found, cov, snapshot)
}

fn backend_coverage(
    m: &BackendModel<'_>,
    rules: &rules::RuleSet,
    window_start: DateTime<Utc>,
    window_days: u32,
) -> BackendCoverage {
    let input = m.input;
    let events: u64 = input.usage.iter().map(|u| u.count).sum();
    let first = input.usage.iter().map(|u| u.first_at).min();
    let last = input.usage.iter().map(|u| u.last_at).max();
    let usage_rules = rules.usage_rules();
    let mut notes = Vec::new();
    let mut unavailable = Vec::new();
    let level = if events == 0 && !input.has_older_events {
        let which = if usage_rules.is_empty() {
            "usage-based".to_string()
        } else {
            usage_rules.join(", ")
        };
        if portcullis_connectors::capabilities_of(input.kind).audit {
            notes.push(format!(
                "no audit data for this backend: {which} findings unavailable (give the backend \
                 an audit log and sync)"
            ));
        } else {
            notes.push(format!(
                "no audit API here ({} keeps no request history the console can read): {which} \
                 findings unavailable; credentials' last use is the backend's own",
                input.kind.label()
            ));
        }
        unavailable = usage_rules;
        ConfidenceLevel::Unavailable
    } else if events == 0 {
        notes.push(
            "no audit events in the window, only older ones: is the audit log still being synced? \
             'unused' may mean 'not logged'"
                .into(),
        );
        ConfidenceLevel::Partial
    } else if !input.has_older_events {
        let start = first.unwrap_or(window_start);
        let days_in = (start - window_start).num_days().max(0);
        notes.push(format!(
            "audit data starts {}, {days_in} days into the {window_days}-day window: 'unused' means \
             unused since then",
            start.format("%Y-%m-%d %H:%M UTC")
        ));
        ConfidenceLevel::Partial
    } else {
        notes.push(format!(
            "audit data covers the whole {window_days}-day window"
        ));
        ConfidenceLevel::Complete
    };
    if level != ConfidenceLevel::Unavailable && !crate::access::audit_shows_rights_used(input.kind)
    {
        let blind: Vec<String> = [
            rules::UNUSED_GRANT,
            rules::WRITE_WHERE_READ_USED,
            rules::UNUSED_CREDENTIAL_SCOPE,
        ]
        .into_iter()
        .filter(|r| rules.enabled(r))
        .map(str::to_string)
        .collect();
        if !blind.is_empty() {
            notes.push(format!(
                "the backend's audit events record logins and admin operations, not which role or scope a request used: {} findings unavailable",
                blind.join(", ")
            ));
            unavailable.extend(blind);
        }
    }
    let unknown_expiry = m
        .creds
        .iter()
        .filter(|c| c.head && c.expiry == Expiry::Unknown && !c.is_session())
        .count();
    if unknown_expiry > 0 && rules.enabled(rules::NEVER_EXPIRING) {
        notes.push(format!(
            "expiry unknown for {unknown_expiry} credential(s) (the backend's data does not record \
             it): never-expiring and lifetime findings unavailable for them; triage the tokens \
             (`portcullis token inspect`) to learn their expiry"
        ));
    }
    let exempt = m.subjects.iter().filter(|s| s.exempt.is_some()).count() as u64;
    BackendCoverage {
        backend: input.name.clone(),
        kind: input.kind,
        level,
        events_in_window: events,
        first_event: first,
        last_event: last,
        principals: input.principals.len() as u64,
        credentials: input.credentials.len() as u64,
        exempt_principals: exempt,
        notes,
        unavailable_rules: unavailable,
    }
}

fn parse_enum<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

fn node_kind(s: &str) -> NodeKind {
    match s {
        "role" => NodeKind::Role,
        "permission" => NodeKind::Permission,
        _ => NodeKind::Principal,
    }
}

/// Store rows → one input per backend (the shape unit tests and benchmarks build directly).
pub fn build_inputs(
    inv: ReviewInventory,
    usage: Vec<UsageRow>,
    facts: Vec<portcullis_store::reviews::AuditFactRow>,
    has_older: &HashMap<i64, bool>,
    revocations: &[(String, DateTime<Utc>)],
    settings: &ReviewSettings,
    only: &[String],
) -> Vec<BackendInput> {
    let mut inputs: Vec<BackendInput> = Vec::new();
    let mut index: HashMap<i64, usize> = HashMap::new();
    for b in &inv.backends {
        if !only.is_empty() && !only.contains(&b.name) {
            continue;
        }
        let Ok(kind) = b.kind.parse::<BackendKind>() else {
            continue;
        };
        index.insert(b.id, inputs.len());
        inputs.push(BackendInput {
            name: b.name.clone(),
            kind,
            principals: vec![],
            roles: vec![],
            permissions: vec![],
            grants: vec![],
            credentials: vec![],
            usage: vec![],
            facts: vec![],
            has_older_events: has_older.get(&b.id).copied().unwrap_or(false),
            revocations: revocations
                .iter()
                .filter(|(t, _)| t.starts_with(&format!("{} ", b.name)))
                .cloned()
                .collect(),
        });
    }
    let at = |id: i64| index.get(&id).copied();
    for p in inv.principals {
        if let Some(i) = at(p.backend_id) {
            inputs[i].principals.push(input::PrincipalIn {
                kind: parse_enum(&p.kind).unwrap_or(PrincipalKind::Service),
                external_id: p.external_id,
                name: p.name,
                enabled: p.enabled,
                account_of: p.account_of,
            });
        }
    }
    for (b, id, name) in inv.roles {
        if let Some(i) = at(b) {
            inputs[i].roles.push((id, name));
        }
    }
    for p in inv.permissions {
        if let Some(i) = at(p.backend_id) {
            inputs[i].permissions.push(input::PermissionIn {
                action: parse_enum(&p.action).unwrap_or(Action::Other),
                raw: serde_json::from_str(&p.raw).unwrap_or(serde_json::Value::Null),
                external_id: p.external_id,
                name: p.name,
                resource: p.resource,
            });
        }
    }
    for g in inv.grants {
        if let Some(i) = at(g.backend_id) {
            inputs[i].grants.push(Grant {
                from_kind: node_kind(&g.from_kind),
                from_id: g.from_id,
                to_kind: node_kind(&g.to_kind),
                to_id: g.to_id,
            });
        }
    }
    for c in inv.credentials {
        if let Some(i) = at(c.backend_id) {
            inputs[i].credentials.push(CredentialIn {
                id: Some(c.id),
                kind: CredKind::Cached(parse_enum(&c.kind).unwrap_or(CredentialKind::AccessToken)),
                principal: c.principal,
                client: c.client,
                scopes: serde_json::from_str(&c.scopes).unwrap_or_default(),
                issued_at: c.issued_at,
                expires_at: c.expires_at,
                status: parse_enum(&c.status).unwrap_or(CredentialStatus::Unknown),
                attrs: serde_json::from_str(&c.attrs).unwrap_or(serde_json::Value::Null),
                origin: c.origin,
                external_id: c.external_id,
            });
        }
    }
    for u in usage {
        if let Some(i) = at(u.backend_id) {
            let (first_at, last_at) = (u.first_at(), u.last_at());
            inputs[i].usage.push(UseIn {
                outcome: parse_enum(&u.outcome).unwrap_or(Outcome::Error),
                credential: u.credential,
                actor: u.actor,
                action: u.action,
                resource: u.resource,
                source_ip: u.source_ip,
                count: u.count,
                first_id: u.first_id,
                last_id: u.last_id,
                first_at,
                last_at,
            });
        }
    }
    for f in facts {
        if let Some(i) = at(f.backend_id) {
            inputs[i].facts.push(FactIn {
                at: portcullis_store::key_time(f.event_id),
                outcome: parse_enum(&f.outcome).unwrap_or(Outcome::Error),
                event_id: f.event_id,
                credential: f.credential,
                actor: f.actor,
                action: f.action,
                periodic: f.periodic,
                created_accessor: f.created_accessor,
                text: f.text,
            });
        }
    }
    for d in &settings.declared_credentials {
        if let Some(input) = inputs.iter_mut().find(|b| b.name == d.backend) {
            input.credentials.push(CredentialIn {
                id: None,
                external_id: d.id.clone(),
                kind: CredKind::Declared(d.kind.clone()),
                principal: Some(d.principal.clone()),
                client: None,
                scopes: vec![],
                issued_at: d.issued_at,
                expires_at: d.expires_at,
                status: CredentialStatus::Active,
                attrs: serde_json::json!({ "note": d.note }),
                origin: "declared".into(),
            });
        }
    }
    inputs
}

#[cfg(test)]
mod tests;
