//! The in-memory access graph, built once from the cache's rows and shared by every query until
//! the cache changes.
//!
//! Nodes are principals, roles, permissions and credentials of every backend, interned to `u32`;
//! edges are the grant edges the connectors wrote (by external id within a backend), plus the few
//! the backends' documented semantics imply (see [`Graph::add_implied`]), plus credential edges
//! (held by its principal, scoped to the roles or permissions its scopes name). Adjacency is kept
//! both ways in compressed arrays, so a who-can walks edges backwards as cheaply as explain walks
//! them forwards.

use portcullis_model::{
    AccessEdgeKind, AccessNode, AccessNodeKind, Action, BackendKind, PrincipalKind,
};
use portcullis_store::access::AccessRows;
use std::collections::HashMap;

use super::dialect::{vault_root_permission, Dialect, PermMeta, PG_PREDEFINED};

pub type NodeId = u32;

#[derive(Debug, Clone)]
pub struct BackendInfo {
    pub name: String,
    pub kind: Option<BackendKind>,
    pub dialect: Dialect,
}

/// How a credential's scopes relate to its rights (see `SubjectAccess::credential_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredMode {
    /// No scope names anything in the graph: the credential acts with its principal's rights.
    Principal,
    /// Its scopes name roles: they are its rights (Vault token policies).
    Scopes,
    /// Its scopes name permissions: what it may do is those scopes, limited by its principal's
    /// (or client's) rights where those are known.
    ScopesWithinPrincipal,
    /// Its scopes are classes of access (GitLab's `read_api`): it acts as its principal, with
    /// only the principal's rights of the action classes in [`CredInfo::actions`].
    PrincipalLimited,
}

#[derive(Debug, Clone)]
pub struct CredInfo {
    pub db_id: i64,
    pub principal: Option<NodeId>,
    pub client: Option<NodeId>,
    pub mode: CredMode,
    /// [`CredMode::PrincipalLimited`]: the action classes its scopes allow.
    pub actions: Vec<portcullis_model::Action>,
    /// Active (not revoked or expired): only these carry rights.
    pub live: bool,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub backend: u16,
    pub kind: AccessNodeKind,
    pub external_id: String,
    pub label: String,
    pub principal_kind: Option<PrincipalKind>,
    pub enabled: bool,
    pub implied: bool,
    pub perm: Option<PermMeta>,
    pub cred: Option<CredInfo>,
}

/// Compressed adjacency: the edges of node `n` are `targets[start[n]..start[n + 1]]`.
#[derive(Debug, Clone, Default)]
pub struct Adjacency {
    start: Vec<u32>,
    targets: Vec<NodeId>,
    kinds: Vec<AccessEdgeKind>,
}

impl Adjacency {
    fn build(n: usize, edges: &[(NodeId, NodeId, AccessEdgeKind)], reverse: bool) -> Adjacency {
        let mut count = vec![0u32; n + 1];
        for &(a, b, _) in edges {
            let from = if reverse { b } else { a };
            count[from as usize + 1] += 1;
        }
        for i in 0..n {
            count[i + 1] += count[i];
        }
        let mut fill = count.clone();
        let mut targets = vec![0; edges.len()];
        let mut kinds = vec![AccessEdgeKind::Grants; edges.len()];
        for &(a, b, k) in edges {
            let (from, to) = if reverse { (b, a) } else { (a, b) };
            let slot = fill[from as usize] as usize;
            targets[slot] = to;
            kinds[slot] = k;
            fill[from as usize] += 1;
        }
        Adjacency {
            start: count,
            targets,
            kinds,
        }
    }

    pub fn of(&self, n: NodeId) -> impl Iterator<Item = (NodeId, AccessEdgeKind)> + '_ {
        let (a, b) = (
            self.start[n as usize] as usize,
            self.start[n as usize + 1] as usize,
        );
        self.targets[a..b]
            .iter()
            .copied()
            .zip(self.kinds[a..b].iter().copied())
    }

    pub fn degree(&self, n: NodeId) -> u32 {
        self.start[n as usize + 1] - self.start[n as usize]
    }
}

#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub backends: Vec<BackendInfo>,
    pub nodes: Vec<Node>,
    pub out: Adjacency,
    pub inn: Adjacency,
    /// (backend, kind, external id) → node.
    pub by_key: HashMap<(u16, AccessNodeKind, String), NodeId>,
    /// Lower-cased principal/credential names and external ids → nodes, for lookups by name.
    pub by_name: HashMap<String, Vec<NodeId>>,
    /// Credential row id → node.
    pub by_db_id: HashMap<i64, NodeId>,
    pub edge_count: usize,
}

fn parse_kind<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

fn node_kind(s: &str) -> Option<AccessNodeKind> {
    match s {
        "principal" => Some(AccessNodeKind::Principal),
        "role" => Some(AccessNodeKind::Role),
        "permission" => Some(AccessNodeKind::Permission),
        _ => None,
    }
}

fn edge_kind(from: AccessNodeKind, to: AccessNodeKind) -> AccessEdgeKind {
    use AccessNodeKind::*;
    match (from, to) {
        (Principal, Principal) => AccessEdgeKind::MemberOf,
        (Principal, Role) => AccessEdgeKind::HasRole,
        (Role, Role) | (Role, Principal) => AccessEdgeKind::Includes,
        (Credential, Principal) => AccessEdgeKind::HeldBy,
        (Credential, _) => AccessEdgeKind::ScopedTo,
        _ => AccessEdgeKind::Grants,
    }
}

struct Builder {
    g: Graph,
    edges: Vec<(NodeId, NodeId, AccessEdgeKind)>,
}

impl Builder {
    fn node(&mut self, backend: u16, kind: AccessNodeKind, ext: &str, label: &str) -> NodeId {
        if let Some(&id) = self.g.by_key.get(&(backend, kind, ext.to_string())) {
            return id;
        }
        let id = self.g.nodes.len() as NodeId;
        self.g.nodes.push(Node {
            backend,
            kind,
            external_id: ext.to_string(),
            label: label.to_string(),
            principal_kind: None,
            enabled: true,
            implied: false,
            perm: None,
            cred: None,
        });
        self.g.by_key.insert((backend, kind, ext.to_string()), id);
        id
    }

    fn edge(&mut self, a: NodeId, b: NodeId) {
        let k = edge_kind(self.g.nodes[a as usize].kind, self.g.nodes[b as usize].kind);
        self.edges.push((a, b, k));
    }

    fn implied_permission(
        &mut self,
        b: u16,
        ext: &str,
        label: &str,
        resource: &str,
        action: Action,
        raw: serde_json::Value,
    ) -> NodeId {
        let dialect = self.g.backends[b as usize].dialect;
        let id = self.node(b, AccessNodeKind::Permission, ext, label);
        let n = &mut self.g.nodes[id as usize];
        n.implied = true;
        n.perm = Some(PermMeta::parse(dialect, ext, resource, action, &raw));
        id
    }
}

impl Graph {
    pub fn build(rows: &AccessRows) -> Graph {
        let mut b = Builder {
            g: Graph::default(),
            edges: Vec::new(),
        };
        let mut backend_ix: HashMap<i64, u16> = HashMap::new();
        for (i, r) in rows.backends.iter().enumerate() {
            let kind = r.kind.parse::<BackendKind>().ok();
            backend_ix.insert(r.id, i as u16);
            b.g.backends.push(BackendInfo {
                name: r.name.clone(),
                kind,
                dialect: Dialect::for_kind(kind),
            });
        }
        for p in &rows.principals {
            let Some(&bi) = backend_ix.get(&p.backend_id) else {
                continue;
            };
            let id = b.node(bi, AccessNodeKind::Principal, &p.external_id, &p.name);
            let n = &mut b.g.nodes[id as usize];
            n.label = p.name.clone();
            n.principal_kind = parse_kind(&p.kind);
            n.enabled = p.enabled;
        }
        for r in &rows.roles {
            let Some(&bi) = backend_ix.get(&r.backend_id) else {
                continue;
            };
            b.node(bi, AccessNodeKind::Role, &r.external_id, &r.name);
        }
        for p in &rows.permissions {
            let Some(&bi) = backend_ix.get(&p.backend_id) else {
                continue;
            };
            let dialect = b.g.backends[bi as usize].dialect;
            let action: Action = parse_kind(&p.action).unwrap_or(Action::Other);
            let raw: serde_json::Value =
                serde_json::from_str(&p.raw).unwrap_or(serde_json::Value::Null);
            let id = b.node(bi, AccessNodeKind::Permission, &p.external_id, &p.name);
            b.g.nodes[id as usize].perm = Some(PermMeta::parse(
                dialect,
                &p.external_id,
                &p.resource,
                action,
                &raw,
            ));
        }
        for e in &rows.grants {
            let Some(&bi) = backend_ix.get(&e.backend_id) else {
                continue;
            };
            let (Some(fk), Some(tk)) = (node_kind(&e.from_kind), node_kind(&e.to_kind)) else {
                continue;
            };
            // An edge may name a node the inventory does not list (PostgreSQL `PUBLIC`, a
            // predefined role): keep it, labelled by its id, so no path breaks.
            let a = b.node(bi, fk, &e.from_id, &e.from_id);
            let t = b.node(bi, tk, &e.to_id, &e.to_id);
            b.edge(a, t);
        }
        b.add_implied();
        let (scopes, clients) = b.g.scope_indices();
        for c in &rows.credentials {
            let Some(&bi) = backend_ix.get(&c.backend_id) else {
                continue;
            };
            // `login login:alice` says the kind twice: the id's own kind prefix goes.
            let id = c
                .external_id
                .strip_prefix(&format!("{}:", c.kind))
                .unwrap_or(&c.external_id);
            let label = format!("{} {}", c.kind, short(id));
            let id = b.node(bi, AccessNodeKind::Credential, &c.external_id, &label);
            let principal = c
                .principal_external_id
                .as_deref()
                .and_then(|p| {
                    b.g.by_key
                        .get(&(bi, AccessNodeKind::Principal, p.to_string()))
                })
                .copied();
            let client = c
                .client
                .as_ref()
                .and_then(|cl| clients.get(&(bi, cl.clone())))
                .copied();
            let mut roles = 0;
            let mut perms = 0;
            // Scopes that are classes of access name no node, whatever a node is called.
            let limits = b.g.backends[bi as usize].dialect.scope_actions(&c.scopes);
            for s in c.scopes.iter().filter(|_| limits.is_none()) {
                if let Some(&t) = scopes.get(&(bi, s.clone())) {
                    match b.g.nodes[t as usize].kind {
                        AccessNodeKind::Role => roles += 1,
                        _ => perms += 1,
                    }
                    b.edge(id, t);
                }
            }
            if let Some(p) = principal {
                b.edge(id, p);
            }
            let mode = if limits.is_some() {
                CredMode::PrincipalLimited
            } else if roles > 0 {
                CredMode::Scopes
            } else if perms > 0 {
                CredMode::ScopesWithinPrincipal
            } else {
                CredMode::Principal
            };
            b.g.by_db_id.insert(c.id, id);
            b.g.nodes[id as usize].cred = Some(CredInfo {
                db_id: c.id,
                principal,
                client,
                mode,
                actions: limits.unwrap_or_default(),
                live: c.status == "active"
                    && !(principal.is_some_and(|p| !b.g.nodes[p as usize].enabled)
                        && b.g.backends[bi as usize]
                            .dialect
                            .disabled_principal_voids_credentials()),
            });
        }
        let n = b.g.nodes.len();
        b.edges.sort_unstable_by_key(|e| (e.0, e.1));
        b.edges.dedup_by_key(|e| (e.0, e.1));
        b.g.out = Adjacency::build(n, &b.edges, false);
        b.g.inn = Adjacency::build(n, &b.edges, true);
        b.g.edge_count = b.edges.len();
        for (i, node) in b.g.nodes.iter().enumerate() {
            if matches!(
                node.kind,
                AccessNodeKind::Principal | AccessNodeKind::Credential
            ) {
                for key in [node.label.to_lowercase(), node.external_id.to_lowercase()] {
                    let v = b.g.by_name.entry(key).or_default();
                    if v.last() != Some(&(i as NodeId)) {
                        v.push(i as NodeId);
                    }
                }
            }
        }
        b.g
    }

    /// What a credential's scope string names, per backend: a role (by id, then name; not where
    /// [`Dialect::scopes_name_roles`] says scopes never do), else a
    /// permission (by id, then name, then Keycloak's `scope:NAME`: not any id ending in `:NAME`,
    /// which a Keycloak role right `realm-role:NAME` also does);
    /// and what its client string names: a principal by id, or an id ending in `:CLIENT`.
    #[allow(clippy::type_complexity)]
    fn scope_indices(
        &self,
    ) -> (
        HashMap<(u16, String), NodeId>,
        HashMap<(u16, String), NodeId>,
    ) {
        let mut scopes: HashMap<(u16, String), NodeId> = HashMap::new();
        let mut clients: HashMap<(u16, String), NodeId> = HashMap::new();
        let nodes = || self.nodes.iter().enumerate().map(|(i, n)| (i as NodeId, n));
        let role = |n: &Node| {
            n.kind == AccessNodeKind::Role
                && self.backends[n.backend as usize]
                    .dialect
                    .scopes_name_roles()
        };
        let passes: [&dyn Fn(&Node) -> Option<String>; 5] = [
            &|n| role(n).then(|| n.external_id.clone()),
            &|n| (n.kind == AccessNodeKind::Permission).then(|| n.external_id.clone()),
            &|n| role(n).then(|| n.label.clone()),
            &|n| (n.kind == AccessNodeKind::Permission).then(|| n.label.clone()),
            &|n| {
                (n.kind == AccessNodeKind::Permission)
                    .then(|| n.external_id.strip_prefix("scope:").map(str::to_string))
                    .flatten()
            },
        ];
        for pass in passes {
            for (i, n) in nodes() {
                if let Some(k) = pass(n) {
                    scopes.entry((n.backend, k)).or_insert(i);
                }
            }
        }
        for (i, n) in nodes().filter(|(_, n)| n.kind == AccessNodeKind::Principal) {
            clients
                .entry((n.backend, n.external_id.clone()))
                .or_insert(i);
        }
        for (i, n) in nodes().filter(|(_, n)| n.kind == AccessNodeKind::Principal) {
            if let Some((_, s)) = n.external_id.rsplit_once(':') {
                clients.entry((n.backend, s.to_string())).or_insert(i);
            }
        }
        (scopes, clients)
    }

    pub fn node_id_string(&self, n: NodeId) -> String {
        let node = &self.nodes[n as usize];
        format!(
            "{}/{}/{}",
            self.backends[node.backend as usize].name,
            node.kind.as_str(),
            node.external_id
        )
    }

    /// Parses `BACKEND/KIND/EXTERNAL_ID`.
    pub fn find_node_id(&self, id: &str) -> Option<NodeId> {
        let mut it = id.splitn(3, '/');
        let (backend, kind, ext) = (it.next()?, it.next()?, it.next()?);
        let b = self.backends.iter().position(|x| x.name == backend)? as u16;
        let kind = match kind {
            "credential" => AccessNodeKind::Credential,
            k => node_kind(k)?,
        };
        self.by_key.get(&(b, kind, ext.to_string())).copied()
    }

    pub fn view(&self, n: NodeId) -> AccessNode {
        let node = &self.nodes[n as usize];
        let principal = node.kind == AccessNodeKind::Principal;
        AccessNode {
            id: self.node_id_string(n),
            backend: self.backends[node.backend as usize].name.clone(),
            kind: node.kind,
            external_id: node.external_id.clone(),
            label: node.label.clone(),
            principal_kind: if principal { node.principal_kind } else { None },
            enabled: principal.then_some(node.enabled),
            resource: node.perm.as_ref().map(|p| p.resource.clone()),
            action: node.perm.as_ref().map(|p| p.action),
            risk: node.perm.as_ref().map(|p| p.risk),
            implied: node.implied,
        }
    }

    pub fn perm(&self, n: NodeId) -> Option<&PermMeta> {
        self.nodes[n as usize].perm.as_ref()
    }

    pub fn is_principal(&self, n: NodeId) -> bool {
        self.nodes[n as usize].kind == AccessNodeKind::Principal
    }
}

impl Builder {
    /// Edges and permissions the backends' own documentation implies but their inventories do
    /// not list: every PostgreSQL role is a member of `PUBLIC`; `pg_read_all_data` /
    /// `pg_write_all_data` read / write every table; a Vault token with the `root` policy may do
    /// anything.
    fn add_implied(&mut self) {
        for bi in 0..self.g.backends.len() as u16 {
            match self.g.backends[bi as usize].dialect {
                Dialect::Postgres => {
                    let public = self
                        .g
                        .by_key
                        .get(&(bi, AccessNodeKind::Principal, "PUBLIC".to_string()))
                        .copied();
                    if let Some(public) = public {
                        self.g.nodes[public as usize].implied = true;
                        self.g.nodes[public as usize].principal_kind = Some(PrincipalKind::Group);
                        let members: Vec<NodeId> = (0..self.g.nodes.len() as NodeId)
                            .filter(|&n| {
                                let x = &self.g.nodes[n as usize];
                                x.backend == bi
                                    && x.kind == AccessNodeKind::Principal
                                    && n != public
                            })
                            .collect();
                        for m in members {
                            self.edge(m, public);
                        }
                    }
                    for pre in &PG_PREDEFINED {
                        let Some(&r) = self.g.by_key.get(&(
                            bi,
                            AccessNodeKind::Principal,
                            pre.role.to_string(),
                        )) else {
                            continue;
                        };
                        self.g.nodes[r as usize].implied = true;
                        self.g.nodes[r as usize].principal_kind = Some(PrincipalKind::Group);
                        let (id, label, resource, raw) = pre.permission();
                        let p = self.implied_permission(bi, &id, &label, resource, pre.action, raw);
                        self.edge(r, p);
                    }
                }
                Dialect::Vault => {
                    let Some(&root) =
                        self.g
                            .by_key
                            .get(&(bi, AccessNodeKind::Role, "root".to_string()))
                    else {
                        continue;
                    };
                    let (id, label, resource, raw) = vault_root_permission();
                    let p = self.implied_permission(bi, id, label, resource, Action::Admin, raw);
                    self.edge(root, p);
                }
                _ => {}
            }
        }
    }
}

fn short(id: &str) -> String {
    if id.chars().count() > 16 {
        let s: String = id.chars().take(12).collect();
        format!("{s}…")
    } else {
        id.to_string()
    }
}
