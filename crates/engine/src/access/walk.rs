//! Walking the graph: what a principal or credential reaches, and the grant paths that explain it.
//!
//! From a principal the walk follows membership, role, composite and grant edges, and also the
//! live credentials it holds whose scopes are rights of their own (a Vault token's policies): a
//! principal can do what its tokens can. From a credential it follows the credential's mode (see
//! [`CredMode`]). Every node is visited once per walk, so composite cycles terminate; path
//! enumeration keeps the nodes of the current path and a work budget, so it terminates on any
//! graph, and the breadth-first parent chain guarantees at least one path per permission.

use portcullis_model::{AccessEdgeKind, AccessNodeKind};
use std::collections::{HashMap, HashSet, VecDeque};

use super::graph::{CredMode, Graph, NodeId};

/// Neighbours of `n` on a walk that started at `origin`.
pub fn step(g: &Graph, n: NodeId, origin: NodeId, out: &mut Vec<NodeId>) {
    step_with(g, n, origin, true, out)
}

/// [`step`], and from the origin principal into its live tokens' own rights only when `tokens`.
fn step_with(g: &Graph, n: NodeId, origin: NodeId, tokens: bool, out: &mut Vec<NodeId>) {
    out.clear();
    let node = &g.nodes[n as usize];
    match node.kind {
        AccessNodeKind::Principal => {
            out.extend(g.out.of(n).map(|(t, _)| t));
            if n == origin && tokens {
                for (c, k) in g.inn.of(n) {
                    let carrier = g.nodes[c as usize]
                        .cred
                        .as_ref()
                        .is_some_and(|ci| ci.live && ci.mode == CredMode::Scopes);
                    if k == AccessEdgeKind::HeldBy && carrier {
                        out.push(c);
                    }
                }
            }
        }
        AccessNodeKind::Role => out.extend(g.out.of(n).map(|(t, _)| t)),
        AccessNodeKind::Permission => {}
        AccessNodeKind::Credential => {
            let mode = node.cred.as_ref().map(|c| c.mode);
            let via_principal = n == origin && mode != Some(CredMode::Scopes);
            for (t, k) in g.out.of(n) {
                let follow = if via_principal {
                    // A credential acting as its principal: through the principal. (Scoped-within
                    // credentials are intersected by the caller, not walked.)
                    k == AccessEdgeKind::HeldBy
                        && matches!(mode, Some(CredMode::Principal | CredMode::PrincipalLimited))
                } else {
                    k == AccessEdgeKind::ScopedTo
                };
                if follow {
                    out.push(t);
                }
            }
        }
    }
}

/// Reusable scratch space for many walks (the index walks once per principal).
pub struct Walker {
    seen: Vec<u32>,
    epoch: u32,
    queue: VecDeque<NodeId>,
    buf: Vec<NodeId>,
}

impl Walker {
    pub fn new(g: &Graph) -> Walker {
        Walker {
            seen: vec![0; g.nodes.len()],
            epoch: 0,
            queue: VecDeque::new(),
            buf: Vec::new(),
        }
    }

    /// Permissions reachable from `origin`, sorted (a principal's include its live tokens').
    pub fn permissions(&mut self, g: &Graph, origin: NodeId) -> Vec<NodeId> {
        self.walk(g, origin, true)
    }

    /// A principal's own permissions, without those only its tokens carry: what it holds as
    /// one evaluation context (its memberships and grants), beside each token's own.
    pub fn own_permissions(&mut self, g: &Graph, origin: NodeId) -> Vec<NodeId> {
        self.walk(g, origin, false)
    }

    fn walk(&mut self, g: &Graph, origin: NodeId, tokens: bool) -> Vec<NodeId> {
        self.epoch += 1;
        let e = self.epoch;
        self.queue.clear();
        self.queue.push_back(origin);
        self.seen[origin as usize] = e;
        let mut perms = Vec::new();
        while let Some(n) = self.queue.pop_front() {
            if g.nodes[n as usize].kind == AccessNodeKind::Permission {
                perms.push(n);
                continue;
            }
            let mut buf = std::mem::take(&mut self.buf);
            step_with(g, n, origin, tokens, &mut buf);
            for &t in &buf {
                if self.seen[t as usize] != e {
                    self.seen[t as usize] = e;
                    self.queue.push_back(t);
                }
            }
            self.buf = buf;
        }
        perms.sort_unstable();
        perms
    }
}

/// The permissions one grant reaches: from a role, group or permission node along role,
/// membership and grant edges, not into the grants every principal of the backend holds by
/// construction ([`super::dialect::Dialect::builtin_grant`]: PostgreSQL's implied membership in
/// `PUBLIC` is not part of any other grant). Sorted.
pub fn grant_reach(g: &Graph, from: NodeId) -> Vec<NodeId> {
    let dialect = g.backends[g.nodes[from as usize].backend as usize].dialect;
    let mut seen = HashSet::from([from]);
    let mut queue = VecDeque::from([from]);
    let mut perms = Vec::new();
    while let Some(n) = queue.pop_front() {
        let node = &g.nodes[n as usize];
        match node.kind {
            AccessNodeKind::Permission => {
                perms.push(n);
                continue;
            }
            AccessNodeKind::Credential => continue,
            _ => {}
        }
        for (t, _) in g.out.of(n) {
            let to = &g.nodes[t as usize];
            let builtin =
                to.kind != AccessNodeKind::Permission && dialect.builtin_grant(&to.external_id);
            if !builtin && seen.insert(t) {
                queue.push_back(t);
            }
        }
    }
    perms.sort_unstable();
    perms
}

/// Breadth-first parents from `origin`: the shortest path to every reachable node.
pub fn bfs_parents(g: &Graph, origin: NodeId) -> HashMap<NodeId, NodeId> {
    let mut parent = HashMap::new();
    let mut seen = HashSet::from([origin]);
    let mut queue = VecDeque::from([origin]);
    let mut buf = Vec::new();
    while let Some(n) = queue.pop_front() {
        step(g, n, origin, &mut buf);
        for &t in &buf {
            if seen.insert(t) {
                parent.insert(t, n);
                if g.nodes[t as usize].kind != AccessNodeKind::Permission {
                    queue.push_back(t);
                }
            }
        }
    }
    parent
}

pub fn path_from_parents(
    parents: &HashMap<NodeId, NodeId>,
    origin: NodeId,
    target: NodeId,
) -> Option<Vec<NodeId>> {
    let mut path = vec![target];
    let mut n = target;
    while n != origin {
        n = *parents.get(&n)?;
        path.push(n);
        if path.len() > parents.len() + 1 {
            return None;
        }
    }
    path.reverse();
    Some(path)
}

/// Paths found for each target, and whether any target had more than were kept.
pub struct Paths {
    pub by_target: HashMap<NodeId, Vec<Vec<NodeId>>>,
    pub truncated: bool,
}

/// Permissions reachable from `origin`, sorted; for one-off walks (no scratch array the size of
/// the graph).
pub fn permissions_of(g: &Graph, origin: NodeId) -> Vec<NodeId> {
    let mut seen = HashSet::from([origin]);
    let mut queue = VecDeque::from([origin]);
    let mut buf = Vec::new();
    let mut perms = Vec::new();
    while let Some(n) = queue.pop_front() {
        if g.nodes[n as usize].kind == AccessNodeKind::Permission {
            perms.push(n);
            continue;
        }
        step(g, n, origin, &mut buf);
        for &t in &buf {
            if seen.insert(t) {
                queue.push_back(t);
            }
        }
    }
    perms.sort_unstable();
    perms
}

/// Simple paths from `origin` to permissions (only to those in `target` when given), at most
/// `max` per permission and `budget` edge steps in all. With targets, branches proven not to
/// lead to one are not explored twice.
pub fn enumerate_paths(
    g: &Graph,
    origin: NodeId,
    target: Option<&HashSet<NodeId>>,
    max: usize,
    budget: usize,
) -> Paths {
    let mut by_target: HashMap<NodeId, Vec<Vec<NodeId>>> = HashMap::new();
    let mut truncated = false;
    let mut on_path: HashSet<NodeId> = HashSet::from([origin]);
    let mut dead: HashSet<NodeId> = HashSet::new();
    let mut path = vec![origin];
    // Each frame: the node's neighbours and the next one to try; whether a target was found below.
    let mut stack: Vec<(Vec<NodeId>, usize, bool)> = Vec::new();
    let mut buf = Vec::new();
    step(g, origin, origin, &mut buf);
    stack.push((buf.clone(), 0, false));
    let mut steps = 0usize;
    while let Some(top) = stack.last_mut() {
        if top.1 >= top.0.len() {
            let found = top.2;
            stack.pop();
            if let Some(n) = path.pop() {
                on_path.remove(&n);
                if !found && target.is_some() && !stack.is_empty() {
                    dead.insert(n);
                }
            }
            if found {
                if let Some(parent) = stack.last_mut() {
                    parent.2 = true;
                }
            }
            continue;
        }
        let next = top.0[top.1];
        top.1 += 1;
        steps += 1;
        if steps > budget {
            truncated = true;
            break;
        }
        if on_path.contains(&next) || dead.contains(&next) {
            continue;
        }
        if g.nodes[next as usize].kind == AccessNodeKind::Permission {
            if target.is_none_or(|t| t.contains(&next)) {
                let list = by_target.entry(next).or_default();
                if list.len() < max {
                    let mut p = path.clone();
                    p.push(next);
                    list.push(p);
                } else {
                    truncated = true;
                }
                top.2 = true;
            }
            continue;
        }
        path.push(next);
        on_path.insert(next);
        step(g, next, origin, &mut buf);
        stack.push((buf.clone(), 0, false));
    }
    for list in by_target.values_mut() {
        list.sort_by_key(|p| p.len());
    }
    Paths {
        by_target,
        truncated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_store::access::*;

    fn rows(edges: &[(&str, &str, &str, &str)]) -> AccessRows {
        let mut r = AccessRows {
            backends: vec![AccessBackendRow {
                id: 1,
                name: "kc".into(),
                kind: "keycloak".into(),
            }],
            ..AccessRows::default()
        };
        for (fk, fi, tk, ti) in edges {
            r.grants.push(AccessGrantRow {
                backend_id: 1,
                from_kind: fk.to_string(),
                from_id: fi.to_string(),
                to_kind: tk.to_string(),
                to_id: ti.to_string(),
            });
        }
        r
    }

    fn id(g: &Graph, kind: &str, ext: &str) -> NodeId {
        g.find_node_id(&format!("kc/{kind}/{ext}")).unwrap()
    }

    #[test]
    fn cycles_terminate_and_every_route_is_a_path() {
        let g = Graph::build(&rows(&[
            ("principal", "alice", "principal", "admins"),
            ("principal", "alice", "role", "ops"),
            ("principal", "admins", "role", "ops"),
            ("role", "ops", "role", "base"),
            ("role", "base", "role", "ops"),
            ("role", "base", "permission", "read:x"),
        ]));
        let alice = id(&g, "principal", "alice");
        let perm = id(&g, "permission", "read:x");
        let mut w = Walker::new(&g);
        assert_eq!(w.permissions(&g, alice), vec![perm]);
        let p = enumerate_paths(&g, alice, None, 8, 10_000);
        let paths = &p.by_target[&perm];
        assert_eq!(paths.len(), 2, "{paths:?}");
        assert_eq!(paths[0].len(), 4, "alice → ops → base → read:x");
        assert_eq!(paths[1].len(), 5, "alice → admins → ops → base → read:x");
        assert!(!p.truncated);
        let only = enumerate_paths(&g, alice, Some(&HashSet::from([perm])), 1, 10_000);
        assert_eq!(only.by_target[&perm].len(), 1);
        assert!(only.truncated);
        let parents = bfs_parents(&g, alice);
        assert_eq!(
            path_from_parents(&parents, alice, perm).unwrap().len(),
            4,
            "shortest path"
        );
    }

    #[test]
    fn a_tiny_budget_stops_the_walk() {
        let mut edges = Vec::new();
        let names: Vec<String> = (0..12).map(|i| format!("r{i}")).collect();
        // A dense diamond lattice: many simple paths.
        for i in 0..11 {
            for j in (i + 1)..12 {
                edges.push(("role", names[i].as_str(), "role", names[j].as_str()));
            }
        }
        edges.push(("principal", "p", "role", "r0"));
        edges.push(("role", "r11", "permission", "x"));
        let g = Graph::build(&rows(&edges));
        let p = enumerate_paths(&g, id(&g, "principal", "p"), None, 1_000, 500);
        assert!(p.truncated);
    }
}
