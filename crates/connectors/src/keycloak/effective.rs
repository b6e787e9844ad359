//! Effective access of a principal, recomputed from an [`Inventory`] alone, so it works from the
//! cache, offline, and explains itself: every role, client scope, admin right and group the
//! principal holds, each with the shortest chain of grants that gives it (user → group → parent
//! group → role → composite role → scope).
//!
//! Keycloak's grants form a graph with cycles (composite roles may include each other), so the
//! walk is breadth-first with a visited set: each node is reached once, by a shortest path, and
//! the walk ends on any graph. Ties between equally short paths are broken by external id, so the
//! answer is the same on every run.

use portcullis_model::{Inventory, NodeKind};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// One node on a path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Step {
    pub kind: NodeKind,
    pub external_id: String,
}

/// Something the principal holds, and how: `path` runs from the principal (first) to it (last).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reach {
    pub external_id: String,
    pub path: Vec<Step>,
}

impl Reach {
    /// The path as text: `u1 → group:g1 → realm:admin`.
    pub fn describe(&self) -> String {
        self.path
            .iter()
            .map(|s| s.external_id.as_str())
            .collect::<Vec<_>>()
            .join(" → ")
    }
}

/// Everything a principal holds, each with the path that gives it, sorted by external id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effective {
    /// Groups (and parent groups) the principal is in.
    pub groups: Vec<Reach>,
    pub roles: Vec<Reach>,
    /// Client scopes (`scope:NAME`) and admin rights (`admin:CLIENT:ROLE`).
    pub permissions: Vec<Reach>,
}

/// What `principal` (an external id: a user id, `group:ID`, `client:CLIENT_ID`) holds through
/// the inventory's grants. A principal not in the inventory holds nothing.
pub fn effective_access(inventory: &Inventory, principal: &str) -> Effective {
    let mut next: HashMap<(NodeKind, &str), Vec<(NodeKind, &str)>> = HashMap::new();
    for g in &inventory.grants {
        next.entry((g.from_kind, g.from_id.as_str()))
            .or_default()
            .push((g.to_kind, g.to_id.as_str()));
    }
    for targets in next.values_mut() {
        targets.sort_by(|a, b| (a.0.as_str(), a.1).cmp(&(b.0.as_str(), b.1)));
        targets.dedup();
    }
    let start = (NodeKind::Principal, principal);
    let mut parent: HashMap<(NodeKind, &str), (NodeKind, &str)> = HashMap::new();
    let mut order: Vec<(NodeKind, &str)> = Vec::new();
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for &to in next.get(&node).map(Vec::as_slice).unwrap_or_default() {
            if to == start || parent.contains_key(&to) {
                continue;
            }
            parent.insert(to, node);
            order.push(to);
            queue.push_back(to);
        }
    }
    let path_to = |node: (NodeKind, &str)| -> Vec<Step> {
        let mut path = vec![node];
        let mut at = node;
        while let Some(&p) = parent.get(&at) {
            path.push(p);
            at = p;
        }
        path.reverse();
        path.into_iter()
            .map(|(kind, id)| Step {
                kind,
                external_id: id.to_string(),
            })
            .collect()
    };
    let mut groups = BTreeMap::new();
    let mut roles = BTreeMap::new();
    let mut permissions = BTreeMap::new();
    for node in order {
        let reach = Reach {
            external_id: node.1.to_string(),
            path: path_to(node),
        };
        match node.0 {
            NodeKind::Principal => groups.insert(node.1, reach),
            NodeKind::Role => roles.insert(node.1, reach),
            NodeKind::Permission => permissions.insert(node.1, reach),
        };
    }
    Effective {
        groups: groups.into_values().collect(),
        roles: roles.into_values().collect(),
        permissions: permissions.into_values().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_model::Grant;

    fn g(from_kind: NodeKind, from: &str, to_kind: NodeKind, to: &str) -> Grant {
        Grant {
            from_kind,
            from_id: from.into(),
            to_kind,
            to_id: to.into(),
        }
    }

    use NodeKind::{Permission as Perm, Principal as P, Role as R};

    fn inventory() -> Inventory {
        Inventory {
            grants: vec![
                // alice is in sre, a subgroup of platform, a subgroup of engineering.
                g(P, "alice", P, "group:sre"),
                g(P, "group:sre", P, "group:platform"),
                g(P, "group:platform", P, "group:engineering"),
                g(P, "group:engineering", R, "realm:developer"),
                g(P, "group:engineering", R, "realm:engineer"),
                // developer ⊃ deployer ⊃ developer: a cycle of composites.
                g(R, "realm:developer", R, "realm:deployer"),
                g(R, "realm:deployer", R, "realm:developer"),
                g(R, "realm:deployer", Perm, "scope:deploy:write"),
                // A direct mapping that also reaches deployer, by a shorter path.
                g(P, "alice", R, "client:ci:runner"),
                g(R, "client:ci:runner", R, "realm:deployer"),
                // Someone else's access must not leak in.
                g(P, "bob", R, "client:realm-management:realm-admin"),
                g(
                    R,
                    "client:realm-management:realm-admin",
                    Perm,
                    "admin:realm-management:realm-admin",
                ),
                // A group cycle (cannot be built in Keycloak, but must not hang us).
                g(P, "group:engineering", P, "group:sre"),
            ],
            ..Inventory::default()
        }
    }

    fn ids(reaches: &[Reach]) -> Vec<&str> {
        reaches.iter().map(|r| r.external_id.as_str()).collect()
    }

    #[test]
    fn nested_groups_and_a_composite_cycle_end_with_shortest_paths() {
        let e = effective_access(&inventory(), "alice");
        assert_eq!(
            ids(&e.groups),
            ["group:engineering", "group:platform", "group:sre"]
        );
        assert_eq!(
            ids(&e.roles),
            [
                "client:ci:runner",
                "realm:deployer",
                "realm:developer",
                "realm:engineer"
            ]
        );
        assert_eq!(ids(&e.permissions), ["scope:deploy:write"]);

        assert_eq!(
            e.roles[3].describe(),
            "alice → group:sre → group:platform → group:engineering → realm:engineer"
        );
        assert_eq!(
            e.roles[2].describe(),
            "alice → client:ci:runner → realm:deployer → realm:developer",
            "through the composite cycle, shorter than through the groups"
        );
        assert_eq!(
            e.permissions[0].describe(),
            "alice → client:ci:runner → realm:deployer → scope:deploy:write"
        );
        assert_eq!(e.permissions[0].path[0].kind, P);
        assert_eq!(e.permissions[0].path[3].kind, Perm);
    }

    #[test]
    fn others_access_and_unknown_principals_stay_out() {
        let e = effective_access(&inventory(), "alice");
        assert!(!ids(&e.permissions).contains(&"admin:realm-management:realm-admin"));
        assert_eq!(
            effective_access(&inventory(), "nobody"),
            Effective::default()
        );
    }

    #[test]
    fn a_group_reaches_its_parents_roles() {
        let e = effective_access(&inventory(), "group:platform");
        assert_eq!(
            ids(&e.roles),
            ["realm:deployer", "realm:developer", "realm:engineer"]
        );
        assert_eq!(
            e.roles[1].describe(),
            "group:platform → group:engineering → realm:developer"
        );
    }

    #[test]
    fn a_self_cycle_and_duplicate_edges_do_not_loop() {
        let inv = Inventory {
            grants: vec![
                g(P, "u", R, "realm:a"),
                g(P, "u", R, "realm:a"),
                g(R, "realm:a", R, "realm:a"),
                g(P, "u", P, "u"),
            ],
            ..Inventory::default()
        };
        let e = effective_access(&inv, "u");
        assert_eq!(ids(&e.roles), ["realm:a"]);
        assert!(e.groups.is_empty(), "the principal itself is not listed");
    }
}
