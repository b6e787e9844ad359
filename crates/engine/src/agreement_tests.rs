//! Agreement invariants on generated organisations: the screens that answer "who can do what,
//! used when" answer alike, because they read one model. Each seed builds a demo workspace (an
//! `orggen` organisation with random shapes and names, and audit history whose allow/deny was
//! decided over that inventory) and checks:
//!
//! 1. the review's unused grants are exactly the grants whose permissions `explain` shows never
//!    used in the window, for every account that was active;
//! 2. a principal is in `who-can A R` exactly when its effective permissions (explain's) hold the
//!    permission the answer cites, asked for every permission's own action and literal resource.
//!
//! A disagreement prints the seed and the smallest case that shows it.

use chrono::{Duration, Utc};
use portcullis_model::{
    AccessEdgeKind, AccessNodeKind, DemoSize, PrincipalKind, ReviewRequest, WhoCanQuery,
};
use std::collections::{BTreeSet, HashMap, HashSet};

use crate::access::graph::NodeId;
use crate::access::walk::grant_reach;
use crate::access::AccessIndex;
use crate::review::rules::UNUSED_GRANT;
use crate::Workspace;

/// Seeds 11.. : six by default (`make test`); `PORTCULLIS_AGREEMENT_SEEDS=N` runs N.
fn seeds() -> std::ops::Range<u64> {
    let n = std::env::var("PORTCULLIS_AGREEMENT_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    11..11 + n
}

async fn demo(seed: u64) -> (tempfile::TempDir, Workspace) {
    let dir = tempfile::tempdir().unwrap();
    let (ws, _) = Workspace::create_demo(&dir.path().join("demo"), seed, DemoSize::Small)
        .await
        .unwrap();
    (dir, ws)
}

/// A principal that is its own account: a user, service or client no account links to and that
/// is no account of another (its subject is itself and its credentials).
fn standalone(ix: &AccessIndex, p: NodeId) -> bool {
    let g = &ix.graph;
    let person = |n: NodeId| {
        matches!(
            g.nodes[n as usize].principal_kind,
            Some(PrincipalKind::User | PrincipalKind::Service | PrincipalKind::Client)
        ) && g.nodes[n as usize].kind == AccessNodeKind::Principal
    };
    person(p)
        && g.nodes[p as usize].enabled
        && !g.out.of(p).any(|(t, _)| person(t))
        && !g
            .inn
            .of(p)
            .any(|(f, k)| k == AccessEdgeKind::MemberOf && person(f))
}

fn used_since(ix: &AccessIndex, p: NodeId, perms: &[NodeId], since_ms: i64) -> bool {
    perms
        .iter()
        .any(|&q| ix.usage.get(p, q).is_some_and(|u| u.last_ms >= since_ms))
}

#[tokio::test]
async fn reviews_unused_grants_are_explains_never_used_permissions() {
    for seed in seeds() {
        let (_dir, ws) = demo(seed).await;
        let as_of = Utc::now() + Duration::minutes(1);
        let window_days = 3650;
        let since_ms = (as_of - Duration::days(window_days)).timestamp_millis();
        let run = ws
            .review_run(&ReviewRequest {
                window_days: Some(window_days as u32),
                as_of: Some(as_of),
                ..ReviewRequest::default()
            })
            .await
            .unwrap();
        let ix = ws.access_index().await.unwrap();
        let g = &ix.graph;
        let backend = |name: &str| g.backends.iter().position(|b| b.name == name).unwrap() as u16;
        let node = |b: u16, kind: AccessNodeKind, id: &str| {
            g.by_key.get(&(b, kind, id.to_string())).copied()
        };
        let mut reported: HashSet<(u16, NodeId, String)> = HashSet::new();
        let mut checked = 0;
        // Every finding: no permission the grant reaches was used by any member of the account.
        for f in run.findings.iter().filter(|f| f.rule == UNUSED_GRANT) {
            let b = backend(&f.backend);
            let grant = [
                AccessNodeKind::Role,
                AccessNodeKind::Principal,
                AccessNodeKind::Permission,
            ]
            .into_iter()
            .find_map(|k| node(b, k, &f.subject.id))
            .unwrap_or_else(|| panic!("seed {seed}: {} names no node", f.key));
            let reach = grant_reach(g, grant);
            for m in &f.principal.members {
                let p = node(b, AccessNodeKind::Principal, m).unwrap();
                assert!(
                    !used_since(&ix, p, &reach, since_ms),
                    "seed {seed}: review says {} never used {} but explain shows a use by {m}",
                    f.principal.name,
                    f.subject.id
                );
                reported.insert((b, p, f.subject.id.clone()));
            }
            checked += 1;
        }
        // Every active standalone account: each grant explain shows unused is reported.
        for (i, n) in g.nodes.iter().enumerate() {
            let p = i as NodeId;
            if n.kind != AccessNodeKind::Principal || !standalone(&ix, p) {
                continue;
            }
            if !used_since(&ix, p, &ix.eff[i], since_ms) {
                continue;
            }
            let dialect = g.backends[n.backend as usize].dialect;
            for (t, _) in g.out.of(p) {
                let to = &g.nodes[t as usize];
                if to.kind == AccessNodeKind::Credential || dialect.builtin_grant(&to.external_id) {
                    continue;
                }
                let reach = grant_reach(g, t);
                if !used_since(&ix, p, &reach, since_ms) {
                    assert!(
                        reported.contains(&(n.backend, p, to.external_id.clone())),
                        "seed {seed}: explain shows {} never used {} ({} permissions), but the \
                         review does not report it",
                        n.label,
                        to.external_id,
                        reach.len()
                    );
                    checked += 1;
                }
            }
        }
        eprintln!(
            "seed {seed}: {checked} grants compared, {} unused reported",
            reported.len()
        );
        assert!(checked > 0, "seed {seed}: nothing was compared");
    }
}

#[tokio::test]
async fn who_can_lists_exactly_the_principals_whose_explain_holds_the_permission() {
    for seed in seeds() {
        let (_dir, ws) = demo(seed).await;
        let ix = ws.access_index().await.unwrap();
        let g = &ix.graph;
        let mut compared = 0;
        for (i, n) in g.nodes.iter().enumerate() {
            let Some(meta) = n.perm.as_ref() else {
                continue;
            };
            // Its own action and literal resource: a permission surely covers that.
            if n.implied
                || meta.wildcard
                || meta.resource.contains('*')
                || meta.verbs.is_empty()
                || meta.action == portcullis_model::Action::Deny
            {
                continue;
            }
            let verb = meta.verbs.last().cloned().unwrap_or_default();
            let backend = g.backends[n.backend as usize].name.clone();
            let answer = ws
                .access_who_can(&WhoCanQuery {
                    action: verb.clone(),
                    resource: meta.resource.clone(),
                    backend: Some(backend.clone()),
                    max_paths: Some(1),
                })
                .await
                .unwrap();
            let listed: BTreeSet<String> = answer
                .allowed
                .iter()
                .chain(&answer.denied)
                .map(|e| e.principal.external_id.clone())
                .collect();
            let perm = i as NodeId;
            for (j, q) in g.nodes.iter().enumerate() {
                if q.kind != AccessNodeKind::Principal || q.backend != n.backend {
                    continue;
                }
                let holds = ix.eff[j].binary_search(&perm).is_ok();
                if holds {
                    assert!(
                        listed.contains(&q.external_id),
                        "seed {seed}: explain {} holds {} but who-can {verb} {} on {backend} \
                         does not list it",
                        q.label,
                        n.external_id,
                        meta.resource
                    );
                }
            }
            // And the other way: every principal listed holds a permission it cites.
            let by_id: HashMap<&str, NodeId> = g
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, x)| x.kind == AccessNodeKind::Principal && x.backend == n.backend)
                .map(|(k, x)| (x.external_id.as_str(), k as NodeId))
                .collect();
            for e in &answer.allowed {
                let p = by_id[e.principal.external_id.as_str()];
                let cited: Vec<NodeId> = e
                    .matches
                    .iter()
                    .filter_map(|m| g.find_node_id(&m.permission.id))
                    .collect();
                assert!(
                    cited
                        .iter()
                        .any(|c| ix.eff[p as usize].binary_search(c).is_ok()),
                    "seed {seed}: who-can {verb} {} lists {} citing {:?}, none of which explain \
                     shows it holding",
                    meta.resource,
                    e.principal.label,
                    e.matches
                        .iter()
                        .map(|m| &m.permission.id)
                        .collect::<Vec<_>>()
                );
            }
            compared += 1;
        }
        eprintln!("seed {seed}: who-can asked for {compared} permissions");
        assert!(
            compared > 10,
            "seed {seed}: only {compared} permissions compared"
        );
    }
}
