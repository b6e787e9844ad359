//! The access index: the graph plus what every query needs precomputed — each principal's
//! effective permissions with their last use — built once per cache generation.

use chrono::{DateTime, Utc};
use portcullis_model::{AccessNodeKind, AccessPath, EffectivePermission};
use portcullis_store::access::AccessRows;
use std::collections::{HashMap, HashSet};

use super::graph::{CredMode, Graph, NodeId};
use super::usage::{Usage, Use};
use super::walk::{bfs_parents, enumerate_paths, path_from_parents, permissions_of, Walker};

/// Edge steps one path enumeration may take before settling for shortest paths.
pub const PATH_BUDGET: usize = 50_000;

/// The graph and its precomputed answers. Immutable: a new cache generation builds a new one.
pub struct AccessIndex {
    pub graph: Graph,
    /// Per node (principals only; empty otherwise): effective permissions, sorted.
    pub eff: Vec<Vec<NodeId>>,
    /// Parallel to `eff`: newest allowed use in ms since the epoch, `i64::MIN` if never.
    pub eff_last: Vec<Vec<i64>>,
    pub usage: Usage,
    /// Principals per backend, in node order.
    pub principals: Vec<Vec<NodeId>>,
    /// Permissions per backend, in node order.
    pub permissions: Vec<Vec<NodeId>>,
    /// Principals whose own rights differ from `eff` (they hold live tokens with rights of their
    /// own): their own permissions, sorted. See [`AccessIndex::own_permissions`].
    own: HashMap<NodeId, Vec<NodeId>>,
    /// Every live credential's permissions, sorted: each is evaluated on its own.
    cred_eff: HashMap<NodeId, Vec<NodeId>>,
    pub generation: i64,
}

impl AccessIndex {
    pub fn build(rows: &AccessRows, generation: i64) -> AccessIndex {
        let graph = Graph::build(rows);
        let n = graph.nodes.len();
        let mut walker = Walker::new(&graph);
        let mut eff = vec![Vec::new(); n];
        let mut principals = vec![Vec::new(); graph.backends.len()];
        let mut permissions = vec![Vec::new(); graph.backends.len()];
        let mut own = HashMap::new();
        for (i, node) in graph.nodes.iter().enumerate() {
            match node.kind {
                AccessNodeKind::Principal => {
                    eff[i] = walker.permissions(&graph, i as NodeId);
                    if holds_carriers(&graph, i as NodeId) {
                        own.insert(i as NodeId, walker.own_permissions(&graph, i as NodeId));
                    }
                    principals[node.backend as usize].push(i as NodeId);
                }
                AccessNodeKind::Permission => permissions[node.backend as usize].push(i as NodeId),
                _ => {}
            }
        }
        let backend_of: HashMap<i64, u16> = rows
            .backends
            .iter()
            .enumerate()
            .map(|(i, b)| (b.id, i as u16))
            .collect();
        let usage = {
            let (g, eff_ref) = (&graph, &eff);
            let rights_fn = |s: NodeId| rights(g, eff_ref, s);
            Usage::build(g, &rows.usage, &rows.statements, &backend_of, &rights_fn)
        };
        let eff_last = eff
            .iter()
            .enumerate()
            .map(|(s, perms)| {
                perms
                    .iter()
                    .map(|&p| {
                        usage
                            .get(s as NodeId, p)
                            .map_or(i64::MIN, |u: Use| u.last_ms)
                    })
                    .collect()
            })
            .collect();
        let cred_eff = graph
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.cred.as_ref().is_some_and(|c| c.live))
            .map(|(i, _)| {
                let perms = credential_rights(&graph, |h| eff[h as usize].as_slice(), i as NodeId);
                (i as NodeId, perms)
            })
            .collect();
        AccessIndex {
            graph,
            eff,
            eff_last,
            usage,
            principals,
            permissions,
            own,
            cred_eff,
            generation,
        }
    }

    /// What a principal holds as one evaluation context: its grants and memberships, without
    /// what only its tokens carry (each token is a context of its own, [`Self::live_credentials`]).
    pub fn own_permissions(&self, principal: NodeId) -> &[NodeId] {
        self.own
            .get(&principal)
            .unwrap_or(&self.eff[principal as usize])
    }

    /// The rights an event by principal or credential `n` is matched against: a principal's
    /// effective permissions (its live tokens' included), a credential's by its mode.
    pub fn rights(&self, n: NodeId) -> Vec<NodeId> {
        rights(&self.graph, &self.eff, n)
    }

    /// A live credential's own permissions (sorted); None for a credential that is not live.
    pub fn live_credential_permissions(&self, credential: NodeId) -> Option<&[NodeId]> {
        self.cred_eff.get(&credential).map(Vec::as_slice)
    }

    /// The live credentials a principal holds, each with its permissions (sorted).
    pub fn live_credentials(&self, principal: NodeId) -> Vec<(NodeId, &[NodeId])> {
        let mut out: Vec<(NodeId, &[NodeId])> = self
            .graph
            .inn
            .of(principal)
            .filter(|(_, k)| *k == portcullis_model::AccessEdgeKind::HeldBy)
            .filter_map(|(c, _)| self.cred_eff.get(&c).map(|p| (c, p.as_slice())))
            .collect();
        out.sort_by_key(|(c, _)| *c);
        out
    }

    /// The effective permissions of a principal or credential, each with its paths (bounded),
    /// and whether any list of paths was cut short.
    pub fn effective(
        &self,
        subject: NodeId,
        only: Option<&HashSet<NodeId>>,
        max_paths: usize,
    ) -> (Vec<EffectivePermission>, bool) {
        let g = &self.graph;
        let perms: Vec<(NodeId, Vec<Vec<NodeId>>)> =
            if g.nodes[subject as usize].kind == AccessNodeKind::Principal {
                self.eff[subject as usize]
                    .iter()
                    .map(|&p| (p, Vec::new()))
                    .collect()
            } else {
                credential_permissions(g, &self.eff, subject)
            };
        let wanted: Vec<(NodeId, Vec<Vec<NodeId>>)> = perms
            .into_iter()
            .filter(|(p, _)| only.is_none_or(|o| o.contains(p)))
            .collect();
        let mut truncated = false;
        let targets: Option<HashSet<NodeId>> =
            only.map(|_| wanted.iter().map(|(p, _)| *p).collect());
        let found = enumerate_paths(g, subject, targets.as_ref(), max_paths, PATH_BUDGET);
        truncated |= found.truncated;
        let parents = bfs_parents(g, subject);
        let mut out = Vec::with_capacity(wanted.len());
        for (p, mut extra) in wanted {
            let mut paths = found.by_target.get(&p).cloned().unwrap_or_default();
            paths.append(&mut extra);
            if paths.is_empty() {
                if let Some(sp) = path_from_parents(&parents, subject, p) {
                    paths.push(sp);
                }
            }
            paths.sort_by_key(|x| x.len());
            paths.dedup();
            if paths.len() > max_paths {
                paths.truncate(max_paths);
                truncated = true;
            }
            let used = self.usage.get(subject, p);
            out.push(EffectivePermission {
                permission: g.view(p),
                paths: paths.iter().map(|x| self.path_view(x)).collect(),
                last_used_at: used.and_then(|u| DateTime::<Utc>::from_timestamp_millis(u.last_ms)),
                uses: used.map_or(0, |u| u.count),
            });
        }
        out.sort_by(|a, b| {
            (
                &a.permission.backend,
                b.permission.risk,
                &a.permission.label,
            )
                .cmp(&(
                    &b.permission.backend,
                    a.permission.risk,
                    &b.permission.label,
                ))
        });
        (out, truncated)
    }

    pub fn path_view(&self, nodes: &[NodeId]) -> AccessPath {
        AccessPath {
            hops: nodes.iter().map(|&n| self.graph.view(n)).collect(),
        }
    }
}

fn rights(g: &Graph, eff: &[Vec<NodeId>], n: NodeId) -> Vec<NodeId> {
    if g.nodes[n as usize].kind == AccessNodeKind::Principal {
        eff[n as usize].clone()
    } else {
        credential_rights(g, |h| eff[h as usize].as_slice(), n)
    }
}

/// A credential's permissions by its mode, sorted, without the paths
/// [`credential_permissions`] explains them by: its own walk, or for scopes limited by its
/// principal (or client), the scopes those hold (all its scopes when the holders hold nothing
/// known). `eff` gives a principal's effective permissions, sorted.
pub fn credential_rights<R: std::borrow::Borrow<[NodeId]>>(
    g: &Graph,
    eff: impl Fn(NodeId) -> R,
    cred: NodeId,
) -> Vec<NodeId> {
    let Some(info) = g.nodes[cred as usize].cred.as_ref() else {
        return Vec::new();
    };
    match info.mode {
        CredMode::ScopesWithinPrincipal => {}
        CredMode::PrincipalLimited => return limited(g, info, permissions_of(g, cred)),
        CredMode::Principal | CredMode::Scopes => return permissions_of(g, cred),
    }
    let held: Vec<R> = [info.principal, info.client]
        .into_iter()
        .flatten()
        .map(&eff)
        .collect();
    let none_known = held.iter().all(|h| h.borrow().is_empty());
    let mut out: Vec<NodeId> = g
        .out
        .of(cred)
        .map(|(t, _)| t)
        .filter(|&t| g.nodes[t as usize].kind == AccessNodeKind::Permission)
        .filter(|t| none_known || held.iter().any(|h| h.borrow().binary_search(t).is_ok()))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The permissions among `perms` whose action class the credential's scopes allow.
fn limited(g: &Graph, info: &super::graph::CredInfo, mut perms: Vec<NodeId>) -> Vec<NodeId> {
    perms.retain(|&p| g.perm(p).is_some_and(|m| info.actions.contains(&m.action)));
    perms
}

/// [`AccessIndex::rights`] for a graph without an index, computed on demand and kept: a review
/// walks only the principals and credentials its events name, not every node.
pub struct LazyRights<'g> {
    g: &'g Graph,
    walker: std::cell::RefCell<Walker>,
    eff: std::cell::RefCell<HashMap<NodeId, Vec<NodeId>>>,
}

impl<'g> LazyRights<'g> {
    pub fn new(g: &'g Graph) -> LazyRights<'g> {
        LazyRights {
            g,
            walker: std::cell::RefCell::new(Walker::new(g)),
            eff: std::cell::RefCell::new(HashMap::new()),
        }
    }

    fn eff(&self, p: NodeId) -> Vec<NodeId> {
        if let Some(v) = self.eff.borrow().get(&p) {
            return v.clone();
        }
        let v = self.walker.borrow_mut().permissions(self.g, p);
        self.eff.borrow_mut().insert(p, v.clone());
        v
    }

    pub fn rights(&self, n: NodeId) -> Vec<NodeId> {
        if self.g.is_principal(n) {
            self.eff(n)
        } else {
            credential_rights(self.g, |h| self.eff(h), n)
        }
    }
}

/// Whether a principal holds a live token whose scopes are rights of their own (its walk then
/// differs from its own rights).
fn holds_carriers(g: &Graph, principal: NodeId) -> bool {
    g.inn.of(principal).any(|(c, k)| {
        k == portcullis_model::AccessEdgeKind::HeldBy
            && g.nodes[c as usize]
                .cred
                .as_ref()
                .is_some_and(|ci| ci.live && ci.mode == CredMode::Scopes)
    })
}

/// A credential's permissions by its mode, with the paths that are not walks from the credential
/// itself (for scopes limited by the principal: credential → scope, and credential → principal →
/// … → scope).
pub fn credential_permissions(
    g: &Graph,
    eff: &[Vec<NodeId>],
    cred: NodeId,
) -> Vec<(NodeId, Vec<Vec<NodeId>>)> {
    let Some(info) = g.nodes[cred as usize].cred.as_ref() else {
        return Vec::new();
    };
    match info.mode {
        CredMode::Principal | CredMode::Scopes => permissions_of(g, cred)
            .into_iter()
            .map(|p| (p, Vec::new()))
            .collect(),
        CredMode::PrincipalLimited => limited(g, info, permissions_of(g, cred))
            .into_iter()
            .map(|p| (p, Vec::new()))
            .collect(),
        CredMode::ScopesWithinPrincipal => {
            let scoped: Vec<NodeId> = g
                .out
                .of(cred)
                .filter(|(t, _)| g.nodes[*t as usize].kind == AccessNodeKind::Permission)
                .map(|(t, _)| t)
                .collect();
            let holders: Vec<NodeId> = [info.principal, info.client]
                .into_iter()
                .flatten()
                .collect();
            let allowed: HashSet<NodeId> = holders
                .iter()
                .flat_map(|&h| eff[h as usize].iter().copied())
                .collect();
            let parents: Vec<(NodeId, HashMap<NodeId, NodeId>)> =
                holders.iter().map(|&h| (h, bfs_parents(g, h))).collect();
            let mut out = Vec::new();
            for p in scoped {
                if !allowed.is_empty() && !allowed.contains(&p) {
                    continue;
                }
                let mut paths = vec![vec![cred, p]];
                for (h, parents) in &parents {
                    if eff[*h as usize].binary_search(&p).is_ok() {
                        if let Some(mut hp) = path_from_parents(parents, *h, p) {
                            hp.insert(0, cred);
                            paths.push(hp);
                        }
                    }
                }
                out.push((p, paths));
            }
            out
        }
    }
}
