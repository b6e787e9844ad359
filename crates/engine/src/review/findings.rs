//! Rule evaluation: one backend model in, findings out. Each rule is a function over the model;
//! every finding carries its evidence (events, grant paths, facts), a concrete recommendation and
//! the confidence the data allows.

use chrono::{DateTime, Duration, Utc};
use portcullis_model::{
    Action, BackendCoverage, BackendKind, Confidence, ConfidenceLevel, CredentialKind, Evidence,
    EvidenceEvent, Finding, FindingPrincipal, FindingSubject, GrantPath, NodeKind, Recommendation,
    RecommendedAction, SubjectKind,
};
use serde_json::Value;
use std::collections::{BTreeSet, HashSet};

use super::input::CredKind;
use super::model::{node_exists, BackendModel, CredModel, Expiry, Subject};
use super::rules::{self, RuleSet};
use crate::access::dialect::UseClass;

/// What every rule needs besides the model.
pub struct Ctx<'a> {
    pub rules: &'a RuleSet,
    pub as_of: DateTime<Utc>,
    pub window_start: DateTime<Utc>,
    /// Only these principals (external ids or names); empty: all.
    pub principals: &'a [String],
    pub coverage: &'a BackendCoverage,
}

const MAX_EVENTS: usize = 5;
const MAX_PATHS: usize = 5;

/// PostgreSQL role attributes that are administrative (SUPERUSER has its own rule).
const PG_ADMIN_ATTRIBUTES: [&str; 4] = ["CREATEROLE", "BYPASSRLS", "CREATEDB", "REPLICATION"];

pub fn evaluate(m: &BackendModel<'_>, ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let usage_ok = ctx.coverage.level != ConfidenceLevel::Unavailable;
    for (si, s) in m.subjects.iter().enumerate() {
        if s.exempt.is_some() || !selected(m, s, ctx.principals) {
            continue;
        }
        let run = |id: &str| ctx.rules.enabled(id);
        let usage_run = |id: &str| {
            usage_ok && run(id) && !ctx.coverage.unavailable_rules.iter().any(|r| r == id)
        };
        if usage_run(rules::UNUSED_GRANT) {
            unused_grant(m, ctx, s, &mut out);
        }
        if usage_run(rules::WRITE_WHERE_READ_USED) {
            write_where_read_used(m, ctx, s, &mut out);
        }
        if usage_run(rules::UNUSED_CREDENTIAL_SCOPE) {
            unused_credential_scope(m, ctx, s, &mut out);
        }
        if run(rules::WILDCARD_ADMIN_GRANT) {
            wildcard_admin(m, ctx, s, &mut out);
        }
        if run(rules::SUPERUSER) {
            superuser(m, ctx, s, &mut out);
        }
        if usage_run(rules::DORMANT_PRINCIPAL) {
            dormant(m, ctx, s, &mut out);
        }
        for c in &s.creds {
            let cred = &m.creds[*c];
            if !cred.head {
                continue;
            }
            if run(rules::NEVER_EXPIRING) || run(rules::LIFETIME_EXCEEDS_POLICY) {
                lifetime(m, ctx, s, cred, &mut out);
            }
            if usage_run(rules::UNUSED_CREDENTIAL) {
                unused_credential(m, ctx, s, cred, &mut out);
            }
            if run(rules::EXPIRED_PRESENT) {
                expired_present(m, ctx, s, cred, &mut out);
            }
            if run(rules::DISABLED_LIVE) {
                disabled_live(m, ctx, s, cred, &mut out);
            }
            if usage_run(rules::MANY_SOURCES) {
                many_sources(m, ctx, s, cred, &mut out);
            }
        }
        if usage_run(rules::USED_AFTER_REVOCATION) {
            for c in &s.creds {
                used_after_revocation(m, ctx, s, &m.creds[*c], &mut out);
            }
        }
        let _ = si;
    }
    if ctx.rules.enabled(rules::ORPHAN_BINDING) {
        orphan_bindings(m, ctx, &mut out);
    }
    out
}

fn selected(m: &BackendModel<'_>, s: &Subject, filter: &[String]) -> bool {
    filter.is_empty()
        || filter.iter().any(|f| {
            *f == s.name
                || s.members
                    .iter()
                    .any(|i| m.input.principals[*i].external_id == *f)
        })
}

fn principal(m: &BackendModel<'_>, s: &Subject) -> FindingPrincipal {
    FindingPrincipal {
        external_id: m.primary_id(s),
        name: s.name.clone(),
        kind: s.kind,
        enabled: s.enabled && s.refused_by.is_none(),
        members: m.member_ids(s),
    }
}

fn inventory_confidence(note: &str) -> Confidence {
    Confidence {
        level: ConfidenceLevel::Complete,
        note: note.to_string(),
    }
}

fn usage_confidence(ctx: &Ctx<'_>) -> Confidence {
    Confidence {
        level: ctx.coverage.level,
        note: ctx
            .coverage
            .notes
            .first()
            .cloned()
            .unwrap_or_else(|| "audit data covers the whole window".into()),
    }
}

#[allow(clippy::too_many_arguments)]
fn finding(
    m: &BackendModel<'_>,
    ctx: &Ctx<'_>,
    rule: &str,
    s: &Subject,
    subject: FindingSubject,
    title: String,
    evidence: Evidence,
    recommendation: Recommendation,
    confidence: Confidence,
    credential_id: Option<i64>,
) -> Finding {
    let p = principal(m, s);
    Finding {
        key: format!("{rule}|{}|{}|{}", m.input.name, p.external_id, subject.id),
        rule: rule.to_string(),
        severity: ctx.rules.severity(rule),
        backend: m.input.name.clone(),
        backend_kind: m.input.kind,
        principal: p,
        subject,
        title,
        evidence,
        recommendation,
        confidence,
        credential_id,
        grant_edges: Vec::new(),
        carrier_credentials: Vec::new(),
    }
}

/// The subject's most telling uses (most frequent first), as evidence.
fn top_events(m: &BackendModel<'_>, uses: impl Iterator<Item = usize>) -> Vec<EvidenceEvent> {
    let mut v: Vec<usize> = uses.collect();
    v.sort_by_key(|u| {
        let r = m.row(*u);
        (std::cmp::Reverse(r.count), std::cmp::Reverse(r.last_id))
    });
    v.dedup();
    v.into_iter()
        .take(MAX_EVENTS)
        .map(|u| event(m, u))
        .collect()
}

fn event(m: &BackendModel<'_>, u: usize) -> EvidenceEvent {
    let r = m.row(u);
    EvidenceEvent {
        event_id: r.last_id,
        first_at: r.first_at,
        last_at: r.last_at,
        count: r.count,
        action: r.action.clone(),
        resource: r.resource.clone(),
        outcome: r.outcome,
        source_ip: r.source_ip.clone(),
    }
}

fn used_grants(s: &Subject) -> Vec<String> {
    let mut v: Vec<String> = s
        .grants
        .iter()
        .filter(|h| !h.used_by.is_empty())
        .map(|h| h.label.clone())
        .collect();
    v.sort();
    v.dedup();
    v
}

fn active(m: &BackendModel<'_>, s: &Subject) -> bool {
    s.active(&m.uses)
}

fn count_uses(m: &BackendModel<'_>, s: &Subject) -> u64 {
    s.uses
        .iter()
        .filter(|u| m.uses[**u].class != UseClass::None)
        .map(|u| m.row(*u).count)
        .sum()
}

fn grant_subject(h: &super::model::GrantHold) -> FindingSubject {
    FindingSubject {
        kind: SubjectKind::Grant,
        id: h.to_id.clone(),
        label: h.label.clone(),
    }
}

fn with_grant(mut f: Finding, m: &BackendModel<'_>, h: &super::model::GrantHold) -> Finding {
    f.grant_edges = h.edges.clone();
    f.carrier_credentials = h
        .carriers
        .iter()
        .filter_map(|c| m.creds[*c].input.id)
        .collect();
    f
}

// ---- usage rules ----

fn unused_grant(m: &BackendModel<'_>, ctx: &Ctx<'_>, s: &Subject, out: &mut Vec<Finding>) {
    if !s.enabled || s.refused_by.is_some() || !active(m, s) {
        return;
    }
    let used = used_grants(s);
    for h in s.grants.iter().filter(|h| h.used_by.is_empty()) {
        let keep = if used.is_empty() {
            "nothing it holds was used".to_string()
        } else {
            format!("keep {}", used.join(", "))
        };
        let f = finding(
            m,
            ctx,
            rules::UNUSED_GRANT,
            s,
            grant_subject(h),
            format!(
                "{} holds {} but never used it in the window",
                s.name, h.label
            ),
            Evidence {
                events: top_events(m, s.uses.iter().copied()),
                paths: m.paths(s, h, MAX_PATHS),
                facts: vec![format!(
                    "{} was active ({} uses in the window); none of them exercised {}",
                    s.name,
                    count_uses(m, s),
                    h.label
                )],
            },
            Recommendation {
                action: RecommendedAction::RemoveGrant,
                text: format!("Remove {} from {}; {keep}.", h.label, s.name),
                proposed: used.clone(),
            },
            usage_confidence(ctx),
            None,
        );
        out.push(with_grant(f, m, h));
    }
}

fn write_where_read_used(m: &BackendModel<'_>, ctx: &Ctx<'_>, s: &Subject, out: &mut Vec<Finding>) {
    if !s.enabled || s.refused_by.is_some() {
        return;
    }
    for h in s.grants.iter().filter(|h| !h.used_by.is_empty()) {
        let strong = h
            .perms
            .iter()
            .any(|p| matches!(m.perms[*p].action, Action::Write | Action::Admin));
        let only_reads = h
            .used_by
            .iter()
            .all(|u| needs_read(m.input.kind, &m.row(*u).action));
        if !strong || !only_reads {
            continue;
        }
        let mut reads: Vec<String> = h
            .used_by
            .iter()
            .filter_map(|u| {
                let r = m.row(*u);
                r.resource
                    .as_ref()
                    .map(|res| format!("{} {res}", r.action.to_ascii_lowercase()))
            })
            .collect();
        reads.sort();
        reads.dedup();
        let f = finding(
            m,
            ctx,
            rules::WRITE_WHERE_READ_USED,
            s,
            grant_subject(h),
            format!(
                "{} holds write/admin rights through {} but only read",
                s.name, h.label
            ),
            Evidence {
                events: top_events(m, h.used_by.iter().copied()),
                paths: m.paths(s, h, MAX_PATHS),
                facts: vec![format!(
                    "{} carries {} write/admin permissions; every use through it was a read",
                    h.label,
                    h.perms
                        .iter()
                        .filter(|p| matches!(m.perms[**p].action, Action::Write | Action::Admin))
                        .count()
                )],
            },
            Recommendation {
                action: RecommendedAction::Reduce,
                text: format!(
                    "Replace {} with read-only access to what {} read: {}.",
                    h.label,
                    s.name,
                    reads.join(", ")
                ),
                proposed: reads,
            },
            usage_confidence(ctx),
            None,
        );
        out.push(with_grant(f, m, h));
    }
}

fn needs_read(kind: BackendKind, action: &str) -> bool {
    let a = action.to_ascii_lowercase();
    match kind {
        BackendKind::Oauth2 | BackendKind::Keycloak => false,
        _ => matches!(
            a.as_str(),
            "read" | "list" | "select" | "get" | "watch" | "head"
        ),
    }
}

fn unused_credential_scope(
    m: &BackendModel<'_>,
    ctx: &Ctx<'_>,
    s: &Subject,
    out: &mut Vec<Finding>,
) {
    if !s.enabled || s.refused_by.is_some() {
        return;
    }
    for c in s.creds.iter().copied().filter(|c| m.creds[*c].head) {
        let cred = &m.creds[c];
        if !cred.live(ctx.as_of) {
            continue;
        }
        let family: HashSet<usize> = cred.family.iter().copied().collect();
        let used_by_cred = |h: &super::model::GrantHold| {
            h.used_by
                .iter()
                .any(|u| m.uses[*u].cred.is_some_and(|x| family.contains(&x)))
        };
        let carried: Vec<&super::model::GrantHold> = s
            .grants
            .iter()
            .filter(|h| h.carriers.iter().any(|x| family.contains(x)))
            .collect();
        if !carried.iter().any(|h| used_by_cred(h)) {
            continue;
        }
        let kept: Vec<String> = carried
            .iter()
            .filter(|h| used_by_cred(h))
            .map(|h| h.label.clone())
            .collect();
        for h in carried
            .iter()
            .filter(|h| !h.used_by.is_empty() && !used_by_cred(h))
        {
            let subject = FindingSubject {
                kind: SubjectKind::Credential,
                id: format!("{}#{}", cred.input.external_id, h.to_id),
                label: format!("{} on {}", h.label, cred.label()),
            };
            out.push(finding(
                m,
                ctx,
                rules::UNUSED_CREDENTIAL_SCOPE,
                s,
                subject,
                format!(
                    "{} carries {} but {} only uses it through other credentials",
                    cred.label(),
                    h.label,
                    s.name
                ),
                Evidence {
                    events: top_events(
                        m,
                        cred.family.iter().flat_map(|x| m.creds[*x].uses.clone()),
                    ),
                    paths: m.paths(s, h, MAX_PATHS),
                    facts: vec![],
                },
                Recommendation {
                    action: RecommendedAction::Reduce,
                    text: format!("Re-issue the credential with {} only.", kept.join(", ")),
                    proposed: kept.clone(),
                },
                usage_confidence(ctx),
                cred.input.id,
            ));
        }
    }
}

fn dormant(m: &BackendModel<'_>, ctx: &Ctx<'_>, s: &Subject, out: &mut Vec<Finding>) {
    use portcullis_model::PrincipalKind as K;
    if !s.enabled
        || s.refused_by.is_some()
        || s.phantom
        || !matches!(s.kind, K::User | K::Service | K::Client)
        || s.grants.is_empty()
        || !s.creds.is_empty()
        || active(m, s)
    {
        return;
    }
    let grants: Vec<String> = s.grants.iter().map(|h| h.label.clone()).collect();
    let primary = m.primary_id(s);
    out.push(finding(
        m,
        ctx,
        rules::DORMANT_PRINCIPAL,
        s,
        FindingSubject {
            kind: SubjectKind::Principal,
            id: primary.clone(),
            label: format!("login of {}", s.name),
        },
        format!(
            "{} holds {} and did nothing in the window",
            s.name,
            grants.join(", ")
        ),
        Evidence {
            events: vec![],
            paths: s
                .grants
                .iter()
                .flat_map(|h| m.paths(s, h, 1))
                .take(MAX_PATHS)
                .collect(),
            facts: vec![format!(
                "no login and no request in the {} days reviewed",
                (ctx.as_of - ctx.window_start).num_days()
            )],
        },
        Recommendation {
            action: RecommendedAction::Revoke,
            text: format!(
                "Disable {}'s login (or remove its grants: {}).",
                s.name,
                grants.join(", ")
            ),
            proposed: vec![],
        },
        usage_confidence(ctx),
        None,
    ));
}

fn family_uses(m: &BackendModel<'_>, cred: &CredModel) -> Vec<usize> {
    cred.family
        .iter()
        .flat_map(|x| m.creds[*x].uses.iter().copied())
        .collect()
}

fn unused_credential(
    m: &BackendModel<'_>,
    ctx: &Ctx<'_>,
    s: &Subject,
    cred: &CredModel,
    out: &mut Vec<Finding>,
) {
    if !s.enabled || s.refused_by.is_some() || !cred.live(ctx.as_of) {
        return;
    }
    // Reviewer-declared credentials have no use the audit data can name, and an open session is
    // in use by definition (its login was judged when it was made).
    if matches!(cred.input.kind, CredKind::Declared(_)) || cred.is_session() {
        return;
    }
    let days = ctx.rules.param(rules::UNUSED_CREDENTIAL, "days");
    let since = (ctx.as_of - Duration::days(days)).max(ctx.window_start);
    let uses = family_uses(m, cred);
    // A client secret names no event of its own: the connector records the client's last
    // accepted authentication (OAuth event log) instead.
    let authenticated = cred
        .input
        .attrs
        .get("last_authenticated_at")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    let last = uses
        .iter()
        .map(|u| m.row(*u).last_at)
        .chain(authenticated)
        .max();
    if last.is_some_and(|l| l >= since) {
        return;
    }
    let mut facts = vec![match last {
        Some(l) => format!("last use {}", l.format("%Y-%m-%d %H:%M UTC")),
        None => format!(
            "no use since {} (start of the lookback)",
            since.format("%Y-%m-%d")
        ),
    }];
    if let Some(i) = cred.input.issued_at {
        facts.push(format!("issued {}", i.format("%Y-%m-%d %H:%M UTC")));
    }
    if cred.family.len() > 1 {
        facts.push(format!(
            "judged with the {} other tokens of the same grant",
            cred.family.len() - 1
        ));
    }
    out.push(finding(
        m,
        ctx,
        rules::UNUSED_CREDENTIAL,
        s,
        cred_subject(cred),
        format!("{} of {} was not used", cred.label(), s.name),
        Evidence {
            events: top_events(m, uses.into_iter()),
            paths: vec![],
            facts,
        },
        Recommendation {
            action: RecommendedAction::Revoke,
            text: format!(
                "Revoke {}; issue a new one if it is needed again.",
                cred.label()
            ),
            proposed: vec![],
        },
        usage_confidence(ctx),
        cred.input.id,
    ));
}

fn many_sources(
    m: &BackendModel<'_>,
    ctx: &Ctx<'_>,
    s: &Subject,
    cred: &CredModel,
    out: &mut Vec<Finding>,
) {
    let max = ctx.rules.param(rules::MANY_SOURCES, "max").max(0) as usize;
    let uses = family_uses(m, cred);
    let sources: BTreeSet<&str> = uses
        .iter()
        .filter_map(|u| m.row(*u).source_ip.as_deref())
        .collect();
    if sources.len() <= max {
        return;
    }
    let shown: Vec<&str> = sources.iter().take(10).copied().collect();
    out.push(finding(
        m,
        ctx,
        rules::MANY_SOURCES,
        s,
        cred_subject(cred),
        format!(
            "{} was used from {} addresses (more than {max})",
            cred.label(),
            sources.len()
        ),
        Evidence {
            events: top_events(m, uses.into_iter()),
            paths: vec![],
            facts: vec![format!("sources: {}", shown.join(", "))],
        },
        Recommendation {
            action: RecommendedAction::Investigate,
            text: "Find out who shares this credential; rotate it and give each user their own."
                .into(),
            proposed: vec![],
        },
        usage_confidence(ctx),
        cred.input.id,
    ));
}

fn used_after_revocation(
    m: &BackendModel<'_>,
    ctx: &Ctx<'_>,
    s: &Subject,
    cred: &CredModel,
    out: &mut Vec<Finding>,
) {
    let Some(revoked) = cred.revoked_at else {
        return;
    };
    let late: Vec<usize> = cred
        .uses
        .iter()
        .copied()
        .filter(|u| m.uses[*u].class == UseClass::Access && m.row(*u).last_at > revoked)
        .collect();
    if late.is_empty() {
        return;
    }
    out.push(finding(
        m,
        ctx,
        rules::USED_AFTER_REVOCATION,
        s,
        cred_subject(cred),
        format!("{} was accepted after its revocation", cred.label()),
        Evidence {
            events: top_events(m, late.into_iter()),
            paths: vec![],
            facts: vec![format!(
                "revoked {}",
                revoked.format("%Y-%m-%d %H:%M:%S UTC")
            )],
        },
        Recommendation {
            action: RecommendedAction::Investigate,
            text: "The backend still honours it: revoke again, verify, and check the backend's \
                   token cache and replicas."
                .into(),
            proposed: vec![],
        },
        usage_confidence(ctx),
        cred.input.id,
    ));
}

// ---- inventory rules ----

fn is_broad(kind: BackendKind, p: &super::model::Perm) -> bool {
    if p.action == Action::Deny {
        return false;
    }
    let privilege = p.privilege.as_deref().unwrap_or("");
    if kind == BackendKind::Postgres && (privilege == "SUPERUSER" || privilege == "OWNER") {
        return false;
    }
    if p.privilege.as_deref() == Some("root") {
        return false;
    }
    p.action == Action::Admin || p.wildcard || p.secret_reader
}

fn wildcard_admin(m: &BackendModel<'_>, ctx: &Ctx<'_>, s: &Subject, out: &mut Vec<Finding>) {
    let kind = m.input.kind;
    let mut direct: Vec<(&super::model::GrantHold, String)> = Vec::new();
    for h in &s.grants {
        let broad: Vec<usize> = h
            .perms
            .iter()
            .copied()
            .filter(|p| is_broad(kind, &m.perms[*p]))
            .collect();
        if broad.is_empty() {
            continue;
        }
        if h.to_kind == NodeKind::Permission {
            let label = super::model::short_perm_label(kind, &m.perms[broad[0]]);
            direct.push((h, label));
            continue;
        }
        let exercised: Vec<String> = h
            .exercised
            .iter()
            .map(|p| super::model::short_perm_label(kind, &m.perms[*p]))
            .collect();
        let facts: Vec<String> = broad
            .iter()
            .take(10)
            .map(|p| format!("reaches {}", m.perms[*p].label))
            .collect();
        let f = finding(
            m,
            ctx,
            rules::WILDCARD_ADMIN_GRANT,
            s,
            grant_subject(h),
            format!(
                "{} holds {}, which grants wildcard or admin rights",
                s.name, h.label
            ),
            Evidence {
                events: top_events(m, h.used_by.iter().copied()),
                paths: m.paths(s, h, MAX_PATHS),
                facts,
            },
            broad_recommendation(s, &h.label, exercised),
            inventory_confidence("from the backend's grants"),
            None,
        );
        out.push(with_grant(f, m, h));
    }
    if direct.is_empty() {
        return;
    }
    // Direct privileges (PostgreSQL role attributes, an admin scope) make one finding.
    direct.sort_by_key(|(_, l)| {
        (
            PG_ADMIN_ATTRIBUTES
                .iter()
                .position(|a| a == l)
                .unwrap_or(usize::MAX),
            l.clone(),
        )
    });
    let labels: Vec<String> = direct.iter().map(|(_, l)| l.clone()).collect();
    let id = labels.join(" ");
    let mut f = finding(
        m,
        ctx,
        rules::WILDCARD_ADMIN_GRANT,
        s,
        FindingSubject {
            kind: SubjectKind::Grant,
            id: id.clone(),
            label: id.clone(),
        },
        format!("{} holds {} directly", s.name, labels.join(", ")),
        Evidence {
            events: top_events(
                m,
                direct.iter().flat_map(|(h, _)| h.used_by.iter().copied()),
            ),
            paths: direct
                .iter()
                .flat_map(|(h, _)| m.paths(s, h, 1))
                .collect::<Vec<GrantPath>>(),
            facts: vec![],
        },
        broad_recommendation(s, &id, vec![]),
        inventory_confidence("from the backend's grants"),
        None,
    );
    f.grant_edges = direct.iter().flat_map(|(h, _)| h.edges.clone()).collect();
    f.carrier_credentials = direct
        .iter()
        .flat_map(|(h, _)| h.carriers.iter().filter_map(|c| m.creds[*c].input.id))
        .collect();
    out.push(f);
}

fn broad_recommendation(s: &Subject, what: &str, exercised: Vec<String>) -> Recommendation {
    if exercised.is_empty() {
        Recommendation {
            action: RecommendedAction::RemoveGrant,
            text: format!("Remove {what} from {}: nothing it grants was used.", s.name),
            proposed: vec![],
        }
    } else {
        Recommendation {
            action: RecommendedAction::Reduce,
            text: format!(
                "Replace {what} with the narrower set {} actually used: {}.",
                s.name,
                exercised.join(", ")
            ),
            proposed: exercised,
        }
    }
}

fn superuser(m: &BackendModel<'_>, ctx: &Ctx<'_>, s: &Subject, out: &mut Vec<Finding>) {
    let Some((h, p)) = s.grants.iter().find_map(|h| {
        h.perms
            .iter()
            .find(|p| {
                let perm = &m.perms[**p];
                perm.all && matches!(perm.privilege.as_deref(), Some("SUPERUSER") | Some("root"))
            })
            .map(|p| (h, *p))
    }) else {
        return;
    };
    let label = m.perms[p].privilege.clone().unwrap_or_default();
    let f = finding(
        m,
        ctx,
        rules::SUPERUSER,
        s,
        FindingSubject {
            kind: SubjectKind::Grant,
            id: label.clone(),
            label: label.clone(),
        },
        format!("{} is a superuser ({label})", s.name),
        Evidence {
            events: top_events(m, h.used_by.iter().copied()),
            paths: m.paths(s, h, MAX_PATHS),
            facts: vec![m.perms[p].label.clone()],
        },
        Recommendation {
            action: RecommendedAction::Reduce,
            text: format!(
                "Give {} the specific rights its work needs and remove {label}; keep superuser \
                 access to break-glass accounts.",
                s.name
            ),
            proposed: h
                .exercised
                .iter()
                .filter(|x| **x != p)
                .map(|x| m.perms[*x].label.clone())
                .collect(),
        },
        inventory_confidence("from the backend's role attributes"),
        None,
    );
    out.push(with_grant(f, m, h));
}

fn cred_subject(c: &CredModel) -> FindingSubject {
    FindingSubject {
        kind: SubjectKind::Credential,
        id: c.input.external_id.clone(),
        label: c.label(),
    }
}

fn lifetime(
    m: &BackendModel<'_>,
    ctx: &Ctx<'_>,
    s: &Subject,
    cred: &CredModel,
    out: &mut Vec<Finding>,
) {
    if !cred.live(ctx.as_of) || cred.is_session() {
        return;
    }
    let never_days = ctx.rules.param(rules::NEVER_EXPIRING, "days");
    let (never, fact) = match cred.expiry {
        Expiry::Unknown => return,
        Expiry::Never => (true, "no expiry".to_string()),
        Expiry::At(t) => {
            let from = cred.input.issued_at.unwrap_or(ctx.as_of);
            let days = (t - from).num_days();
            let fact = format!(
                "expires {} ({days} days after {})",
                t.format("%Y-%m-%d"),
                if cred.input.issued_at.is_some() {
                    "issue"
                } else {
                    "today"
                }
            );
            if cred.periodic {
                let how = match cred.input.attrs.get("period").and_then(Value::as_i64) {
                    Some(p) => format!("period {}, no explicit max TTL", human_seconds(p)),
                    None => "created with a period".to_string(),
                };
                (true, format!("{fact}; {how}: renewable forever"))
            } else {
                (days >= never_days, fact)
            }
        }
    };
    let evidence = Evidence {
        events: vec![],
        paths: vec![],
        facts: vec![fact.clone()],
    };
    if never {
        if ctx.rules.enabled(rules::NEVER_EXPIRING) {
            out.push(finding(
                m,
                ctx,
                rules::NEVER_EXPIRING,
                s,
                cred_subject(cred),
                format!("{} of {} never expires", cred.label(), s.name),
                evidence,
                Recommendation {
                    action: RecommendedAction::SetExpiry,
                    text: format!(
                        "Replace {} with a credential that expires (and rotate it on a schedule).",
                        cred.label()
                    ),
                    proposed: vec![],
                },
                inventory_confidence(
                    if cred.periodic && cred.input.attrs.get("period").is_none() {
                        "from the audit log's record of the token's creation"
                    } else if cred.periodic {
                        "from the token's period as the backend's token lookup states it"
                    } else {
                        "from the credential's expiry as the backend states it"
                    },
                ),
                cred.input.id,
            ));
        }
        return;
    }
    if !ctx.rules.enabled(rules::LIFETIME_EXCEEDS_POLICY) {
        return;
    }
    let max = ctx.rules.param(rules::LIFETIME_EXCEEDS_POLICY, "max_days");
    let Expiry::At(t) = cred.expiry else { return };
    let days = (t - cred.input.issued_at.unwrap_or(ctx.as_of)).num_days();
    if days <= max {
        return;
    }
    out.push(finding(
        m,
        ctx,
        rules::LIFETIME_EXCEEDS_POLICY,
        s,
        cred_subject(cred),
        format!(
            "{} of {} lives {days} days (policy: {max})",
            cred.label(),
            s.name
        ),
        evidence,
        Recommendation {
            action: RecommendedAction::SetExpiry,
            text: format!("Shorten its lifetime to at most {max} days and rotate it."),
            proposed: vec![],
        },
        inventory_confidence("from the credential's expiry as the backend states it"),
        cred.input.id,
    ));
}

fn expired_present(
    m: &BackendModel<'_>,
    ctx: &Ctx<'_>,
    s: &Subject,
    cred: &CredModel,
    out: &mut Vec<Finding>,
) {
    // Only credentials someone can bring back: an expired token is dead, an expired password on a
    // LOGIN role is one ALTER ROLE away from working again.
    let revivable = matches!(
        cred.input.kind,
        CredKind::Cached(CredentialKind::Login | CredentialKind::ApiKey | CredentialKind::Pat)
    );
    let expired = cred.input.status == portcullis_model::CredentialStatus::Expired
        || matches!(cred.expiry, Expiry::At(t) if t <= ctx.as_of);
    if !revivable || !expired || cred.input.origin != "sync" {
        return;
    }
    let when = match cred.expiry {
        Expiry::At(t) => t.format("%Y-%m-%d").to_string(),
        _ => "an unknown date".into(),
    };
    let grants: Vec<String> = s.grants.iter().map(|h| h.label.clone()).collect();
    out.push(finding(
        m,
        ctx,
        rules::EXPIRED_PRESENT,
        s,
        cred_subject(cred),
        format!(
            "{} of {} expired {when} but still exists",
            cred.label(),
            s.name
        ),
        Evidence {
            events: top_events(
                m,
                m.uses
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| {
                        m.row(*i).credential.as_deref() == Some(cred.input.external_id.as_str())
                    })
                    .map(|(i, _)| i),
            ),
            paths: vec![],
            facts: vec![
                format!("expired {when}"),
                if grants.is_empty() {
                    "holds no grants".into()
                } else {
                    format!("still holds {}", grants.join(", "))
                },
            ],
        },
        Recommendation {
            action: RecommendedAction::Revoke,
            text: format!(
                "Remove the login (or the principal) and its grants rather than leave {} one \
                 change away from working.",
                cred.label()
            ),
            proposed: vec![],
        },
        inventory_confidence("from the credential's expiry as the backend states it"),
        cred.input.id,
    ));
}

fn disabled_live(
    m: &BackendModel<'_>,
    ctx: &Ctx<'_>,
    s: &Subject,
    cred: &CredModel,
    out: &mut Vec<Finding>,
) {
    let disabled = !s.enabled || s.refused_by.is_some();
    if !disabled || !cred.live(ctx.as_of) {
        return;
    }
    let mut facts = vec![];
    let mut events = top_events(m, family_uses(m, cred).into_iter());
    let confidence = if let Some(fi) = s.refused_by {
        let f = &m.input.facts[fi];
        facts.push(format!(
            "the backend refused the account at {}: {}",
            f.at.format("%Y-%m-%d %H:%M:%S UTC"),
            f.text.clone().unwrap_or_default()
        ));
        events.insert(
            0,
            EvidenceEvent {
                event_id: f.event_id,
                first_at: f.at,
                last_at: f.at,
                count: 1,
                action: f.action.clone(),
                resource: None,
                outcome: f.outcome,
                source_ip: None,
            },
        );
        Confidence {
            level: ConfidenceLevel::Partial,
            note:
                "the account's state is inferred from the backend's refusal (its inventory keeps \
                   no disabled flag)"
                    .into(),
        }
    } else {
        facts.push(format!("{} is disabled on {}", s.name, m.input.name));
        inventory_confidence("from the backend's principal and credential state")
    };
    out.push(finding(
        m,
        ctx,
        rules::DISABLED_LIVE,
        s,
        cred_subject(cred),
        format!("{} of disabled {} is still live", cred.label(), s.name),
        Evidence {
            events,
            paths: vec![],
            facts,
        },
        Recommendation {
            action: RecommendedAction::Revoke,
            text: format!(
                "Revoke {} now: disabling the principal did not end it.",
                cred.label()
            ),
            proposed: vec![],
        },
        confidence,
        cred.input.id,
    ));
}

fn orphan_bindings(m: &BackendModel<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let mut seen = HashSet::new();
    for g in &m.input.grants {
        let from_ok = node_exists(m, g.from_kind, &g.from_id);
        let to_ok = node_exists(m, g.to_kind, &g.to_id);
        if from_ok && to_ok {
            continue;
        }
        if !seen.insert((g.from_id.clone(), g.to_id.clone())) {
            continue;
        }
        let missing = if from_ok {
            format!("{} {}", g.to_kind.as_str(), g.to_id)
        } else {
            format!("{} {}", g.from_kind.as_str(), g.from_id)
        };
        let s = Subject {
            name: g.from_id.clone(),
            kind: portcullis_model::PrincipalKind::Service,
            members: vec![],
            enabled: from_ok,
            refused_by: None,
            exempt: None,
            grants: vec![],
            creds: vec![],
            uses: vec![],
            phantom: true,
        };
        if !selected(m, &s, ctx.principals) {
            continue;
        }
        let mut f = finding(
            m,
            ctx,
            rules::ORPHAN_BINDING,
            &s,
            FindingSubject {
                kind: SubjectKind::Grant,
                id: format!("{}>{}", g.from_id, g.to_id),
                label: format!("{} → {}", g.from_id, g.to_id),
            },
            format!("a grant names {missing}, which does not exist"),
            Evidence {
                events: vec![],
                paths: vec![GrantPath {
                    permission: g.to_id.clone(),
                    hops: vec![
                        format!("{} {}", g.from_kind.as_str(), g.from_id),
                        format!("{} {}", g.to_kind.as_str(), g.to_id),
                    ],
                }],
                facts: vec![format!("{missing} is not in the backend's inventory")],
            },
            Recommendation {
                action: RecommendedAction::RemoveGrant,
                text: format!(
                    "Remove the binding before someone is created as {missing} and inherits it."
                ),
                proposed: vec![],
            },
            inventory_confidence("from the backend's grants and principals"),
            None,
        );
        f.grant_edges = vec![g.clone()];
        out.push(f);
    }
}

/// `86400` → `24h`, `90` → `90s`: a period as people write it.
fn human_seconds(secs: i64) -> String {
    if secs > 0 && secs % 86_400 == 0 && secs >= 7 * 86_400 {
        format!("{}d", secs / 86_400)
    } else if secs > 0 && secs % 3_600 == 0 {
        format!("{}h", secs / 3_600)
    } else if secs > 0 && secs % 60 == 0 {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}
