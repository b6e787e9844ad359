//! The questions: explain a principal or credential (effective permissions, paths, blast radius),
//! who can do an action on a resource, why a principal holds a permission, and the neighbourhood
//! of a node.

use portcullis_model::{
    AccessNodeKind, Action, BackendReach, BlastRadius, Coverage, EffectivePermission, ExplainQuery,
    Explanation, GraphEdge, GraphNode, Neighbourhood, NeighbourhoodQuery, ReachItem, SubjectAccess,
    WhoCanAnswer, WhoCanEntry, WhoCanMatch, WhoCanQuery, WhyAnswer,
};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use super::dialect::{ActionQuery, DenyRule, Dialect};
use super::graph::{CredMode, NodeId};
use super::index::{AccessIndex, PATH_BUDGET};
use super::walk::{bfs_parents, enumerate_paths, path_from_parents};
use crate::EngineError;

const DEFAULT_MAX_PATHS: usize = 8;
const DEFAULT_REACH_LIMIT: usize = 500;

fn not_found(what: &'static str, name: &str) -> EngineError {
    EngineError::Store(portcullis_store::StoreError::NotFound {
        what,
        name: name.to_string(),
    })
}

impl AccessIndex {
    fn backend_filter(&self, backend: Option<&str>) -> Result<Option<u16>, EngineError> {
        match backend {
            None => Ok(None),
            Some(name) => self
                .graph
                .backends
                .iter()
                .position(|b| b.name == name)
                .map(|i| Some(i as u16))
                .ok_or_else(|| not_found("backend", name)),
        }
    }

    /// Principals (or credentials) a person's word names: a node id, a credential's numeric id,
    /// an external id or a name (case-insensitive), in any backend.
    pub fn resolve_subjects(
        &self,
        text: &str,
        credential: bool,
        backend: Option<u16>,
    ) -> Vec<NodeId> {
        let g = &self.graph;
        let want = if credential {
            AccessNodeKind::Credential
        } else {
            AccessNodeKind::Principal
        };
        if let Some(n) = g.find_node_id(text) {
            return vec![n];
        }
        let mut out: Vec<NodeId> = Vec::new();
        if credential {
            if let Some(&n) = text.parse::<i64>().ok().and_then(|id| g.by_db_id.get(&id)) {
                out.push(n);
            }
        }
        for &n in g.by_name.get(&text.to_lowercase()).into_iter().flatten() {
            if g.nodes[n as usize].kind == want && !out.contains(&n) {
                out.push(n);
            }
        }
        out.retain(|&n| backend.is_none_or(|b| g.nodes[n as usize].backend == b));
        out.sort_by_key(|&n| (g.nodes[n as usize].backend, n));
        out
    }

    /// Permissions a person's word names: node id, external id or name exactly; else those whose
    /// id, name or resource contains it.
    fn resolve_permissions(&self, text: &str) -> HashSet<NodeId> {
        let g = &self.graph;
        if let Some(n) = g.find_node_id(text) {
            return HashSet::from([n]);
        }
        let perms = || {
            g.nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.kind == AccessNodeKind::Permission)
        };
        let exact: HashSet<NodeId> = perms()
            .filter(|(_, n)| n.external_id == text || n.label == text)
            .map(|(i, _)| i as NodeId)
            .collect();
        if !exact.is_empty() {
            return exact;
        }
        let lower = text.to_lowercase();
        perms()
            .filter(|(_, n)| {
                n.external_id.to_lowercase().contains(&lower)
                    || n.label.to_lowercase().contains(&lower)
                    || n.perm
                        .as_ref()
                        .is_some_and(|m| m.resource.to_lowercase().contains(&lower))
            })
            .map(|(i, _)| i as NodeId)
            .collect()
    }

    pub fn explain(&self, q: &ExplainQuery) -> Result<Explanation, EngineError> {
        let backend = self.backend_filter(q.backend.as_deref())?;
        let subjects = self.resolve_subjects(&q.subject, q.credential, backend);
        let only = q.permission.as_deref().map(|p| self.resolve_permissions(p));
        let max_paths = q
            .max_paths
            .map(|m| m.max(1) as usize)
            .unwrap_or(if only.is_some() {
                32
            } else {
                DEFAULT_MAX_PATHS
            });
        let limit = q.reach_limit.map_or(DEFAULT_REACH_LIMIT, |l| l as usize);
        let mut out = Vec::new();
        for s in &subjects {
            let (permissions, paths_truncated) = self.effective(*s, only.as_ref(), max_paths);
            let credential_mode = self.graph.nodes[*s as usize].cred.as_ref().map(|c| {
                match c.mode {
                    CredMode::Principal => "principal",
                    CredMode::Scopes => "scopes",
                    CredMode::ScopesWithinPrincipal => "scopes ∩ principal",
                    CredMode::PrincipalLimited => "principal, limited by scopes",
                }
                .to_string()
            });
            let blast_radius = self.blast_radius(&permissions, limit);
            out.push(SubjectAccess {
                subject: self.graph.view(*s),
                credential_mode,
                permissions,
                blast_radius,
                paths_truncated,
            });
        }
        let what = if q.credential {
            "credential"
        } else {
            "principal"
        };
        let hint = if out.is_empty() {
            Some(format!(
                "no {what} named `{}` in the cache{}. Give a name or id as `portcullis principals` / `portcullis credentials` list them (or a node id BACKEND/KIND/ID), or sync first: portcullis sync",
                q.subject,
                q.backend.as_deref().map(|b| format!(" of backend {b}")).unwrap_or_default()
            ))
        } else if only.is_some() && out.iter().all(|s| s.permissions.is_empty()) {
            Some(format!(
                "`{}` holds no permission matching `{}`; run {} to list what it holds",
                q.subject,
                q.permission.as_deref().unwrap_or_default(),
                crate::shell::suggestion(&["portcullis", "explain", &q.subject])
            ))
        } else {
            None
        };
        Ok(Explanation {
            query: q.subject.clone(),
            subjects: out,
            hint,
        })
    }

    /// Resources × actions reachable, per backend and in total.
    pub fn blast_radius(&self, perms: &[EffectivePermission], limit: usize) -> BlastRadius {
        // Per backend: distinct resources, distinct (resource, action) pairs, deny rules.
        type Reach = (BTreeSet<String>, BTreeSet<(String, Action)>, u64);
        let mut per: BTreeMap<String, Reach> = BTreeMap::new();
        let mut items = Vec::new();
        for e in perms {
            let p = &e.permission;
            let (Some(resource), Some(action)) = (&p.resource, p.action) else {
                continue;
            };
            let entry = per.entry(p.backend.clone()).or_default();
            if action == Action::Deny {
                entry.2 += 1;
                continue;
            }
            entry.0.insert(resource.clone());
            if entry.1.insert((resource.clone(), action)) {
                items.push(ReachItem {
                    backend: p.backend.clone(),
                    resource: resource.clone(),
                    action,
                    risk: p.risk.unwrap_or(portcullis_model::Risk::Low),
                    wildcard: resource.contains('*') || resource.split('/').any(|s| s == "+"),
                });
            }
        }
        let mut total = BackendReach {
            backend: "total".into(),
            ..BackendReach::default()
        };
        let mut per_backend = Vec::new();
        for (backend, (resources, pairs, denied)) in per {
            let mut r = BackendReach {
                backend_kind: self
                    .graph
                    .backends
                    .iter()
                    .find(|b| b.name == backend)
                    .and_then(|b| b.kind),
                backend,
                resources: resources.len() as u64,
                pairs: pairs.len() as u64,
                denied,
                ..BackendReach::default()
            };
            for (res, a) in &pairs {
                match a {
                    Action::Read => r.read += 1,
                    Action::Write => r.write += 1,
                    Action::Admin => r.admin += 1,
                    Action::Execute => r.execute += 1,
                    _ => r.other += 1,
                }
                if res.contains('*') || res.split('/').any(|s| s == "+") {
                    r.wildcard_pairs += 1;
                }
            }
            total.resources += r.resources;
            total.pairs += r.pairs;
            total.read += r.read;
            total.write += r.write;
            total.admin += r.admin;
            total.execute += r.execute;
            total.other += r.other;
            total.wildcard_pairs += r.wildcard_pairs;
            total.denied += r.denied;
            per_backend.push(r);
        }
        items.sort_by(|a, b| {
            (&a.backend, b.risk, &a.resource, a.action).cmp(&(
                &b.backend,
                a.risk,
                &b.resource,
                b.action,
            ))
        });
        let items_truncated = items.len() > limit;
        items.truncate(limit);
        BlastRadius {
            per_backend,
            total,
            items,
            items_truncated,
        }
    }

    pub fn why(&self, principal: &str, permission: &str) -> Result<WhyAnswer, EngineError> {
        let g = &self.graph;
        let subject = match g.find_node_id(principal) {
            Some(n) => n,
            None => *self
                .resolve_subjects(principal, false, None)
                .first()
                .ok_or_else(|| not_found("principal", principal))?,
        };
        let perm = match g.find_node_id(permission) {
            Some(n) if g.nodes[n as usize].kind == AccessNodeKind::Permission => n,
            _ => {
                let b = g.nodes[subject as usize].backend;
                let mut found: Vec<NodeId> = self
                    .resolve_permissions(permission)
                    .into_iter()
                    .filter(|&p| g.nodes[p as usize].backend == b)
                    .collect();
                found.sort_unstable();
                *found
                    .first()
                    .ok_or_else(|| not_found("permission", permission))?
            }
        };
        let only = HashSet::from([perm]);
        let (perms, truncated) = self.effective(subject, Some(&only), 64);
        let held = perms.into_iter().next();
        Ok(WhyAnswer {
            principal: g.view(subject),
            permission: g.view(perm),
            granted: held.is_some(),
            paths: held.as_ref().map(|h| h.paths.clone()).unwrap_or_default(),
            paths_truncated: truncated,
            last_used_at: held.as_ref().and_then(|h| h.last_used_at),
            uses: held.map_or(0, |h| h.uses),
        })
    }

    pub fn who_can(&self, q: &WhoCanQuery) -> Result<WhoCanAnswer, EngineError> {
        let g = &self.graph;
        let only = self.backend_filter(q.backend.as_deref())?;
        let max_paths = q.max_paths.map_or(4, |m| m.max(1) as usize);
        let any = ActionQuery {
            class: None,
            verb: None,
        };
        let mut allowed = Vec::new();
        let mut denied = Vec::new();
        let mut searched = Vec::new();
        let mut understood = false;
        for (bi, backend) in g.backends.iter().enumerate() {
            let bi = bi as u16;
            if only.is_some_and(|o| o != bi) {
                continue;
            }
            let dialect = backend.dialect;
            let Some(action) = dialect.parse_action(&q.action) else {
                continue;
            };
            understood = true;
            searched.push(backend.name.clone());
            let resource = dialect.parse_resource(&q.resource);
            // Permissions granting the action on the resource, and all permissions touching the
            // resource whatever their action (Vault decides by the most specific path rule).
            let mut grants: HashMap<NodeId, Coverage> = HashMap::new();
            let mut touching: HashMap<NodeId, Coverage> = HashMap::new();
            for &p in &self.permissions[bi as usize] {
                let node = &g.nodes[p as usize];
                let Some(meta) = &node.perm else { continue };
                if let Some(c) = dialect.grant_match(meta, &node.external_id, &any, &resource) {
                    touching.insert(p, c);
                    if let Some(c) =
                        dialect.grant_match(meta, &node.external_id, &action, &resource)
                    {
                        grants.insert(p, c);
                    }
                }
            }
            // Backend-wide grants (SUPERUSER, `root`, a bare `*` rule) would answer any question
            // put to any backend; unless the question names the backend, they count only where
            // it has some narrower grant on the resource, i.e. the question is about its data.
            let asked_everything = q.resource.trim() == "*";
            let evidence = touching.keys().any(|&p| {
                g.perm(p)
                    .is_some_and(|m| !m.backend_wide() && m.action != Action::Deny)
            });
            if touching.is_empty()
                || !(evidence
                    || asked_everything
                    || only.is_some()
                    || dialect.owns_resource(&q.resource))
                || !dialect.plausible(&q.resource)
            {
                continue;
            }
            let concrete = resource.is_concrete();
            for &pr in &self.principals[bi as usize] {
                let (verdict, credentials) =
                    self.principal_verdict(dialect, pr, &grants, &touching, concrete);
                let (list, matches) = match verdict {
                    Verdict::None => continue,
                    Verdict::Allowed(m) => (&mut allowed, m),
                    Verdict::Denied(m) => (&mut denied, m),
                };
                let targets: HashSet<NodeId> = matches.iter().map(|(p, _)| *p).collect();
                let mut paths = self.paths_to(pr, &targets, max_paths);
                let matches = matches
                    .into_iter()
                    .map(|(p, coverage)| WhoCanMatch {
                        permission: g.view(p),
                        coverage,
                        paths: paths.remove(&p).unwrap_or_default(),
                    })
                    .collect();
                list.push(WhoCanEntry {
                    principal: g.view(pr),
                    matches,
                    credentials: credentials.into_iter().map(|c| g.view(c)).collect(),
                });
            }
        }
        if !understood {
            return Err(EngineError::InvalidInput(format!(
                "unknown action `{}`: use read, write, admin, execute or any, or a backend's own verb (Vault capability such as list, SQL privilege such as SELECT, Kubernetes verb such as get)",
                q.action
            )));
        }
        let sort = |v: &mut Vec<WhoCanEntry>| {
            v.sort_by(|a, b| {
                (&a.principal.backend, &a.principal.label, &a.principal.id).cmp(&(
                    &b.principal.backend,
                    &b.principal.label,
                    &b.principal.id,
                ))
            })
        };
        sort(&mut allowed);
        sort(&mut denied);
        let hint = if g.backends.is_empty() {
            Some("no backends in the cache yet: add one (portcullis backend add) and sync".into())
        } else if allowed.is_empty() && denied.is_empty() {
            Some(format!(
                "nobody can {} `{}` in the cached inventory of {}. Check the resource syntax of the backend (Vault path, e.g. secret/data/APP/* for kv-v2; schema.table; a scope name; ns:NAMESPACE/GROUP/RESOURCE[#NAME] for Kubernetes; an ARN and an action such as s3:GetObject for AWS IAM; for Keycloak the role as the action on its client or realm, e.g. who-can orders-editor 'client hx-portal', or any on 'client hx-portal: orders-editor'), or sync to refresh the cache",
                q.action,
                q.resource,
                if searched.is_empty() { "any backend".to_string() } else { searched.join(", ") }
            ))
        } else {
            None
        };
        Ok(WhoCanAnswer {
            action: q.action.clone(),
            resource: q.resource.clone(),
            allowed,
            denied,
            backends_searched: searched,
            hint,
        })
    }

    /// Up to `max` grant paths from a principal or credential to each of `targets` (at least one
    /// for each it holds), walked once.
    pub fn paths_to(
        &self,
        from: NodeId,
        targets: &HashSet<NodeId>,
        max: usize,
    ) -> HashMap<NodeId, Vec<portcullis_model::AccessPath>> {
        let found = enumerate_paths(&self.graph, from, Some(targets), max, PATH_BUDGET);
        let mut parents = None;
        targets
            .iter()
            .map(|&t| {
                let mut paths = found.by_target.get(&t).cloned().unwrap_or_default();
                if paths.is_empty() {
                    let parents = parents.get_or_insert_with(|| bfs_parents(&self.graph, from));
                    if let Some(p) = path_from_parents(parents, from, t) {
                        paths.push(p);
                    }
                }
                (t, paths.iter().map(|p| self.path_view(p)).collect())
            })
            .collect()
    }

    /// Whether principal `pr` may (or is explicitly denied), and which of its live credentials
    /// may. The backend evaluates each credential on its own rights (a Vault token's policies,
    /// merged, decide for that token alone), so the principal's own grants and each credential
    /// are separate contexts: the principal can when any of them can, and is denied only when
    /// none can and one is denied.
    fn principal_verdict(
        &self,
        dialect: Dialect,
        pr: NodeId,
        grants: &HashMap<NodeId, Coverage>,
        touching: &HashMap<NodeId, Coverage>,
        concrete: bool,
    ) -> (Verdict, Vec<NodeId>) {
        let own = self.evaluate(
            dialect,
            self.own_permissions(pr),
            grants,
            touching,
            concrete,
        );
        let mut allowed_by: Vec<NodeId> = Vec::new();
        let mut via: Vec<(NodeId, Coverage)> = Vec::new();
        let mut denied: Option<Vec<(NodeId, Coverage)>> = None;
        let own_allowed = matches!(own, Verdict::Allowed(_));
        for (c, perms) in self.live_credentials(pr) {
            // A credential acting as its principal holds exactly the principal's own rights:
            // its verdict is the principal's, not worth evaluating again.
            let as_principal = cred_mode(&self.graph, c) == Some(CredMode::Principal);
            if as_principal {
                if own_allowed {
                    allowed_by.push(c);
                }
                continue;
            }
            match self.evaluate(dialect, perms, grants, touching, concrete) {
                Verdict::Allowed(m) => {
                    allowed_by.push(c);
                    via.extend(m);
                }
                Verdict::Denied(m) => denied = denied.or(Some(m)),
                Verdict::None => {}
            }
        }
        let merge = |mut a: Vec<(NodeId, Coverage)>, b: Vec<(NodeId, Coverage)>| {
            for (p, c) in b {
                match a.iter_mut().find(|(q, _)| *q == p) {
                    Some(x) if c == Coverage::Full => x.1 = Coverage::Full,
                    Some(_) => {}
                    None => a.push((p, c)),
                }
            }
            a
        };
        let verdict = match own {
            Verdict::Allowed(m) => Verdict::Allowed(merge(m, via)),
            _ if !allowed_by.is_empty() => Verdict::Allowed(merge(Vec::new(), via)),
            Verdict::Denied(m) => Verdict::Denied(m),
            Verdict::None => denied.map_or(Verdict::None, Verdict::Denied),
        };
        (verdict, allowed_by)
    }

    /// Whether one evaluation context (a set of permissions, sorted) may, or is explicitly
    /// denied, by the backend's rules.
    fn evaluate(
        &self,
        dialect: Dialect,
        eff: &[NodeId],
        grants: &HashMap<NodeId, Coverage>,
        touching: &HashMap<NodeId, Coverage>,
        concrete: bool,
    ) -> Verdict {
        let g = &self.graph;
        let is_deny = |p: NodeId| g.perm(p).is_some_and(|m| m.action == Action::Deny);
        let held_matching: Vec<(NodeId, Coverage)> = eff
            .iter()
            .filter_map(|p| grants.get(p).map(|c| (*p, *c)))
            .collect();
        let held_grants: Vec<(NodeId, Coverage)> = held_matching
            .iter()
            .copied()
            .filter(|(p, _)| !is_deny(*p))
            .collect();
        let held_touch: Vec<(NodeId, Coverage)> = eff
            .iter()
            .filter_map(|p| touching.get(p).map(|c| (*p, *c)))
            .collect();
        if held_touch.is_empty() {
            return Verdict::None;
        }
        let superuser: Vec<(NodeId, Coverage)> = held_grants
            .iter()
            .copied()
            .filter(|(p, _)| g.perm(*p).is_some_and(|m| m.superuser))
            .collect();
        match dialect {
            Dialect::Vault if !superuser.is_empty() => Verdict::Allowed(superuser),
            Dialect::Vault if concrete => {
                // The most specific matching path rule decides; a deny in it wins.
                let top = held_touch
                    .iter()
                    .filter_map(|(p, _)| g.perm(*p).and_then(|m| m.vault.as_ref()))
                    .max_by(|a, b| a.priority_cmp(b));
                let Some(top) = top else {
                    return Verdict::None;
                };
                let in_top = |p: NodeId| g.perm(p).and_then(|m| m.vault.as_ref()) == Some(top);
                let denies: Vec<(NodeId, Coverage)> = held_touch
                    .iter()
                    .copied()
                    .filter(|(p, _)| in_top(*p) && is_deny(*p))
                    .collect();
                if !denies.is_empty() {
                    return Verdict::Denied(denies);
                }
                let ok: Vec<(NodeId, Coverage)> = held_grants
                    .iter()
                    .copied()
                    .filter(|(p, _)| in_top(*p))
                    .collect();
                if ok.is_empty() {
                    Verdict::None
                } else {
                    Verdict::Allowed(ok)
                }
            }
            _ => {
                if held_grants.is_empty() {
                    // Only a deny touches it: worth listing only if the principal was otherwise
                    // granted something there, which it was not.
                    return Verdict::None;
                }
                // Which denies count: IAM's reach only their own actions; the others' reach the
                // resource whatever the action.
                let deny_source = match dialect.deny_rule() {
                    DenyRule::AnyMatchingDeny => &held_matching,
                    DenyRule::MostSpecificPath | DenyRule::ResourceDeny => &held_touch,
                };
                let denies: Vec<(NodeId, Coverage)> = deny_source
                    .iter()
                    .copied()
                    .filter(|(p, _)| is_deny(*p))
                    .collect();
                let pattern = |p: NodeId| g.perm(p).and_then(|m| m.vault.clone());
                let wins = |d: NodeId| match dialect.deny_rule() {
                    // A deny covering the whole question overrides grants no more specific.
                    DenyRule::MostSpecificPath => {
                        held_grants
                            .iter()
                            .all(|(a, _)| match (pattern(d), pattern(*a)) {
                                (Some(pd), Some(pa)) => pd.priority_cmp(&pa) != Ordering::Less,
                                _ => true,
                            })
                    }
                    _ => true,
                };
                let full_denies: Vec<(NodeId, Coverage)> = denies
                    .iter()
                    .copied()
                    .filter(|(d, c)| *c == Coverage::Full && wins(*d))
                    .collect();
                if !full_denies.is_empty() {
                    return Verdict::Denied(full_denies);
                }
                let partial = !denies.is_empty();
                Verdict::Allowed(
                    held_grants
                        .into_iter()
                        .map(|(p, c)| (p, if partial { Coverage::Partial } else { c }))
                        .collect(),
                )
            }
        }
    }

    pub fn neighbourhood(&self, q: &NeighbourhoodQuery) -> Result<Neighbourhood, EngineError> {
        let g = &self.graph;
        let centre = g
            .find_node_id(&q.node)
            .ok_or_else(|| not_found("graph node", &q.node))?;
        let depth = q.depth.unwrap_or(1).min(4);
        let limit = q.limit.unwrap_or(150).clamp(1, 2000) as usize;
        let mut dist: HashMap<NodeId, u32> = HashMap::from([(centre, 0)]);
        let mut order = vec![centre];
        let mut queue = VecDeque::from([centre]);
        let mut truncated = false;
        'walk: while let Some(n) = queue.pop_front() {
            let d = dist[&n];
            if d >= depth {
                continue;
            }
            let next = g.out.of(n).chain(g.inn.of(n)).map(|(t, _)| t);
            for t in next {
                if dist.contains_key(&t) {
                    continue;
                }
                if order.len() >= limit {
                    truncated = true;
                    break 'walk;
                }
                dist.insert(t, d + 1);
                order.push(t);
                queue.push_back(t);
            }
        }
        let mut edges = Vec::new();
        for &n in &order {
            for (t, kind) in g.out.of(n) {
                if dist.contains_key(&t) {
                    edges.push(GraphEdge {
                        from: g.node_id_string(n),
                        to: g.node_id_string(t),
                        kind,
                    });
                }
            }
        }
        Ok(Neighbourhood {
            centre: g.node_id_string(centre),
            nodes: order
                .iter()
                .map(|&n| GraphNode {
                    node: g.view(n),
                    out_degree: g.out.degree(n),
                    in_degree: g.inn.degree(n),
                    distance: dist[&n],
                })
                .collect(),
            edges,
            truncated,
        })
    }
}

fn cred_mode(g: &super::graph::Graph, c: NodeId) -> Option<CredMode> {
    g.nodes[c as usize].cred.as_ref().map(|i| i.mode)
}

enum Verdict {
    None,
    Allowed(Vec<(NodeId, Coverage)>),
    Denied(Vec<(NodeId, Coverage)>),
}
