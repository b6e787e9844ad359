//! Who holds a right, and whose a credential is: the access model's answers to an incident
//! selection (`principal=`, `permission=`), so the incident planner, `who-can` and `explain`
//! cannot disagree. Names resolve as `explain` resolves them ([`AccessIndex::resolve_subjects`]);
//! a principal holds a permission when `explain` lists it ([`AccessIndex::eff`]); a role is
//! held by whoever the graph's reverse adjacency reaches it from, under the same walking rules
//! as `walk::step` (a credential acting as its principal holds what the principal reaches; a
//! principal also holds what its live policy-carrying tokens reach, but its groups do not).

use portcullis_model::{AccessEdgeKind, AccessNodeKind, PrincipalKind};
use std::collections::{HashSet, VecDeque};

use super::graph::{CredMode, NodeId};
use super::index::AccessIndex;

/// A principal as a selection found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedPrincipal {
    pub backend: String,
    pub external_id: String,
    pub name: String,
    pub kind: Option<PrincipalKind>,
}

/// The principals a selection names, by graph node.
#[derive(Debug, Clone, Default)]
pub struct PrincipalSet {
    nodes: HashSet<NodeId>,
}

/// Principals and credentials holding one of the rights a selection names.
#[derive(Debug, Clone, Default)]
pub struct Holders {
    permissions: HashSet<NodeId>,
    principals: HashSet<NodeId>,
    /// Credentials holding a named role themselves (permissions are checked per credential).
    credentials: HashSet<NodeId>,
}

impl AccessIndex {
    /// The principals `names` name (each as `explain` resolves a name), in any backend.
    pub fn principals_named(&self, names: &[String]) -> PrincipalSet {
        let nodes = names
            .iter()
            .flat_map(|n| self.resolve_subjects(n, false, None))
            .collect();
        PrincipalSet { nodes }
    }

    /// The principals of `set`, readable, in node order.
    pub fn principal_list(&self, set: &PrincipalSet) -> Vec<NamedPrincipal> {
        let g = &self.graph;
        let mut nodes: Vec<NodeId> = set.nodes.iter().copied().collect();
        nodes.sort_unstable();
        nodes
            .into_iter()
            .map(|n| {
                let node = &g.nodes[n as usize];
                NamedPrincipal {
                    backend: g.backends[node.backend as usize].name.clone(),
                    external_id: node.external_id.clone(),
                    name: node.label.clone(),
                    kind: node.principal_kind,
                }
            })
            .collect()
    }

    /// Whether the cached credential `db_id` is held by a principal of `set`.
    pub fn credential_of(&self, db_id: i64, set: &PrincipalSet) -> bool {
        self.credential_principal(db_id)
            .is_some_and(|p| set.nodes.contains(&p))
    }

    fn credential_principal(&self, db_id: i64) -> Option<NodeId> {
        let node = *self.graph.by_db_id.get(&db_id)?;
        self.graph.nodes[node as usize].cred.as_ref()?.principal
    }

    /// Permissions and roles named exactly by a node id, an external id or a name. Exact only:
    /// an incident must not widen `read` into every permission that mentions it.
    pub fn rights_named(&self, text: &str) -> Vec<NodeId> {
        let g = &self.graph;
        let is_right = |n: NodeId| {
            matches!(
                g.nodes[n as usize].kind,
                AccessNodeKind::Permission | AccessNodeKind::Role
            )
        };
        if let Some(n) = g.find_node_id(text).filter(|&n| is_right(n)) {
            return vec![n];
        }
        (0..g.nodes.len() as NodeId)
            .filter(|&n| is_right(n))
            .filter(|&n| {
                let node = &g.nodes[n as usize];
                node.external_id == text || node.label == text
            })
            .collect()
    }

    /// Who holds any of the rights `names` name.
    pub fn holders(&self, names: &[String]) -> Holders {
        let mut h = Holders::default();
        for right in names.iter().flat_map(|n| self.rights_named(n)) {
            match self.graph.nodes[right as usize].kind {
                AccessNodeKind::Permission => {
                    h.permissions.insert(right);
                    let b = self.graph.nodes[right as usize].backend as usize;
                    h.principals.extend(
                        self.principals[b]
                            .iter()
                            .filter(|&&p| self.eff[p as usize].binary_search(&right).is_ok()),
                    );
                }
                _ => self.reaching_role(right, &mut h),
            }
        }
        h
    }

    /// Whether the cached credential `db_id` holds a right of `h`, or its principal does.
    pub fn credential_holds(&self, db_id: i64, h: &Holders) -> bool {
        let Some(&node) = self.graph.by_db_id.get(&db_id) else {
            return false;
        };
        if self
            .credential_principal(db_id)
            .is_some_and(|p| h.principals.contains(&p))
            || h.credentials.contains(&node)
        {
            return true;
        }
        // A credential acting as its principal holds no more than the principal.
        let own_rights = self.graph.nodes[node as usize]
            .cred
            .as_ref()
            .is_some_and(|c| c.mode != CredMode::Principal);
        // Live credentials' rights are precomputed; others hold none.
        own_rights
            && !h.permissions.is_empty()
            && self
                .live_credential_permissions(node)
                .is_some_and(|perms| perms.iter().any(|p| h.permissions.contains(p)))
    }

    /// Everything that reaches role `role`, walking the reverse adjacency.
    fn reaching_role(&self, role: NodeId, h: &mut Holders) {
        let g = &self.graph;
        let mut seen = HashSet::from([role]);
        let mut queue = VecDeque::from([role]);
        while let Some(n) = queue.pop_front() {
            for (m, kind) in g.inn.of(n) {
                let node = &g.nodes[m as usize];
                match node.kind {
                    AccessNodeKind::Role | AccessNodeKind::Principal => {
                        if node.kind == AccessNodeKind::Principal {
                            h.principals.insert(m);
                        }
                        if seen.insert(m) {
                            queue.push_back(m);
                        }
                    }
                    AccessNodeKind::Credential => {
                        let Some(c) = &node.cred else { continue };
                        let scoped = kind == AccessEdgeKind::ScopedTo && c.mode == CredMode::Scopes;
                        let as_principal =
                            kind == AccessEdgeKind::HeldBy && c.mode == CredMode::Principal;
                        if scoped || as_principal {
                            h.credentials.insert(m);
                        }
                        // A principal walks into its live policy-carrying tokens (not its groups).
                        if scoped && c.live {
                            h.principals.extend(c.principal);
                        }
                    }
                    AccessNodeKind::Permission => {}
                }
            }
        }
    }
}
