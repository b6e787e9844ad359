//! Kubernetes RBAC objects → the normalised inventory, as a pure function (the live API and
//! `kubectl` output files both end here).
//!
//! The graph, so a why-path reads like the cluster's own objects:
//! - **principals**: ServiceAccounts `system:serviceaccount:{ns}:{name}` (kind `service`), Users
//!   named in bindings by their user name (kind `user`), Groups as `group:{name}` (kind `group`).
//!   A ServiceAccount is a member of `system:serviceaccounts`, `system:serviceaccounts:{ns}` and
//!   `system:authenticated`, and a User of `system:authenticated`, when a binding names those
//!   groups (other group memberships come from the authenticator and are not visible here);
//! - **roles**: `Role/{ns}/{name}`, `ClusterRole/{name}`, and every binding as a role node
//!   `RoleBinding/{ns}/{name}` / `ClusterRoleBinding/{name}`, so revoking principal→binding
//!   removes that subject from that binding and binding→role deletes the binding;
//! - a **RoleBinding to a ClusterRole** grants the ClusterRole's rules in the binding's namespace
//!   only: it points at a namespaced instance `ClusterRole/{name}@{ns}` whose permissions carry
//!   `ns:{ns}` in their resource (see [`super::rules`]);
//! - **aggregation**: a ClusterRole with `aggregationRule.clusterRoleSelectors` gets a role→role
//!   edge to every other ClusterRole whose labels match, so their rules count for it (the API
//!   server also copies them into `rules`; both paths lead to the same permission nodes);
//! - **credentials**: legacy token Secrets (`Secret/{ns}/{name}`), never with their token: only its
//!   SHA-256, the last-used date label and the invalid-since label (status `expired`).

use chrono::{DateTime, NaiveDate, Utc};
use portcullis_model::{
    Credential, CredentialKind, CredentialStatus, Grant, Inventory, NodeKind, Permission,
    Principal, PrincipalKind, Role,
};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

use super::objects::{BindingObj, Objects, RoleObj, SecretObj, Subject};
use super::rules::{expand, selector_matches, Scope};

pub const LAST_USED_LABEL: &str = "kubernetes.io/legacy-token-last-used";
pub const INVALID_SINCE_LABEL: &str = "kubernetes.io/legacy-token-invalid-since";
const SA_NAME_ANNOTATION: &str = "kubernetes.io/service-account.name";
const SA_UID_ANNOTATION: &str = "kubernetes.io/service-account.uid";

pub fn role_id(ns: &str, name: &str) -> String {
    format!("Role/{ns}/{name}")
}

pub fn cluster_role_id(name: &str) -> String {
    format!("ClusterRole/{name}")
}

pub fn scoped_cluster_role_id(name: &str, ns: &str) -> String {
    format!("ClusterRole/{name}@{ns}")
}

pub fn role_binding_id(ns: &str, name: &str) -> String {
    format!("RoleBinding/{ns}/{name}")
}

pub fn cluster_role_binding_id(name: &str) -> String {
    format!("ClusterRoleBinding/{name}")
}

pub fn service_account_id(ns: &str, name: &str) -> String {
    format!("system:serviceaccount:{ns}:{name}")
}

pub fn group_id(name: &str) -> String {
    format!("group:{name}")
}

pub fn secret_id(ns: &str, name: &str) -> String {
    format!("Secret/{ns}/{name}")
}

/// The principal id a binding subject stands for; `None` for a kind RBAC does not define or a
/// subject without a name.
pub fn subject_id(s: &Subject, binding_ns: Option<&str>) -> Option<String> {
    // The API server refuses a subject without a name; a file can still hold one.
    if s.name.is_empty() {
        return None;
    }
    match s.kind.as_str() {
        "User" => Some(s.name.clone()),
        "Group" => Some(group_id(&s.name)),
        "ServiceAccount" => {
            let ns = s
                .namespace
                .as_deref()
                .filter(|n| !n.is_empty())
                .or(binding_ns)
                .unwrap_or("default");
            Some(service_account_id(ns, &s.name))
        }
        _ => None,
    }
}

fn parse_time(s: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The `YYYY-MM-DD` of the legacy-token labels, as midnight UTC.
fn label_date(s: Option<&String>) -> Option<DateTime<Utc>> {
    NaiveDate::parse_from_str(s?, "%Y-%m-%d")
        .ok()?
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc())
}

#[derive(Default)]
struct Builder {
    inv: Inventory,
    principals: BTreeSet<String>,
    roles: BTreeSet<String>,
    permissions: BTreeSet<String>,
    grants: BTreeSet<(&'static str, String, &'static str, String)>,
}

impl Builder {
    fn principal(&mut self, p: Principal) {
        if self.principals.insert(p.external_id.clone()) {
            self.inv.principals.push(p);
        }
    }

    fn role(&mut self, id: &str, name: String, description: String) -> bool {
        if self.roles.insert(id.to_string()) {
            self.inv.roles.push(Role {
                external_id: id.to_string(),
                name,
                description: Some(description),
            });
            true
        } else {
            false
        }
    }

    fn permissions(&mut self, role: &str, perms: Vec<Permission>) {
        for p in perms {
            self.grant(NodeKind::Role, role, NodeKind::Permission, &p.external_id);
            if self.permissions.insert(p.external_id.clone()) {
                self.inv.permissions.push(p);
            }
        }
    }

    fn grant(&mut self, from_kind: NodeKind, from: &str, to_kind: NodeKind, to: &str) {
        if self.grants.insert((
            from_kind.as_str(),
            from.to_string(),
            to_kind.as_str(),
            to.to_string(),
        )) {
            self.inv.grants.push(Grant {
                from_kind,
                from_id: from.to_string(),
                to_kind,
                to_id: to.to_string(),
            });
        }
    }
}

struct Mapper<'a> {
    b: Builder,
    cluster_roles: BTreeMap<&'a str, &'a RoleObj>,
    roles: BTreeMap<(&'a str, &'a str), &'a RoleObj>,
}

impl<'a> Mapper<'a> {
    /// The other ClusterRoles a ClusterRole aggregates.
    fn aggregated(&self, cr: &RoleObj) -> Vec<&'a str> {
        let Some(rule) = &cr.aggregation_rule else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (name, other) in &self.cluster_roles {
            if *name == cr.metadata.name {
                continue;
            }
            if rule
                .cluster_role_selectors
                .iter()
                .any(|sel| selector_matches(sel, &other.metadata.labels))
            {
                out.push(*name);
            }
        }
        out
    }

    fn cluster_role(&mut self, cr: &RoleObj) {
        let id = cluster_role_id(&cr.metadata.name);
        let members = self.aggregated(cr);
        let description = if members.is_empty() {
            "ClusterRole".to_string()
        } else {
            format!("ClusterRole aggregating {}", members.join(", "))
        };
        if !self.b.role(&id, cr.metadata.name.clone(), description) {
            return;
        }
        self.b.permissions(&id, expand(&cr.rules, &Scope::Cluster));
        for m in members {
            self.b
                .grant(NodeKind::Role, &id, NodeKind::Role, &cluster_role_id(m));
        }
    }

    /// `ClusterRole/{name}@{ns}`: the ClusterRole's rules, in one namespace (RoleBinding).
    fn scoped_cluster_role(&mut self, name: &str, ns: &str) -> String {
        let id = scoped_cluster_role_id(name, ns);
        let Some(cr) = self.cluster_roles.get(name).copied() else {
            self.b.role(
                &id,
                format!("{name} in {ns}"),
                format!("ClusterRole {name} (not found in the input) bound in namespace {ns}"),
            );
            return id;
        };
        let members = self.aggregated(cr);
        if !self.b.role(
            &id,
            format!("{name} in {ns}"),
            format!("ClusterRole {name} as granted in namespace {ns} by a RoleBinding"),
        ) {
            return id;
        }
        self.b
            .permissions(&id, expand(&cr.rules, &Scope::Namespace(ns.to_string())));
        for m in members {
            let member = self.scoped_cluster_role(m, ns);
            self.b.grant(NodeKind::Role, &id, NodeKind::Role, &member);
        }
        id
    }

    fn subjects(&mut self, binding: &BindingObj, binding_id: &str, ns: Option<&str>) {
        for s in &binding.subjects {
            let Some(pid) = subject_id(s, ns) else {
                continue;
            };
            let (kind, attrs) = match s.kind.as_str() {
                "User" => (PrincipalKind::User, json!({ "kubernetes_kind": "User" })),
                "Group" => (
                    PrincipalKind::Group,
                    json!({ "kubernetes_kind": "Group", "group": s.name }),
                ),
                _ => (
                    PrincipalKind::Service,
                    json!({
                        "kubernetes_kind": "ServiceAccount",
                        "namespace": s.namespace.as_deref().or(ns),
                        "name": s.name,
                        "declared": false,
                    }),
                ),
            };
            self.b.principal(Principal {
                external_id: pid.clone(),
                kind,
                name: if kind == PrincipalKind::Group {
                    s.name.clone()
                } else {
                    pid.clone()
                },
                enabled: true,
                attrs,
            });
            self.b
                .grant(NodeKind::Principal, &pid, NodeKind::Role, binding_id);
        }
    }
}

fn token_credential(s: &SecretObj) -> Credential {
    let m = &s.metadata;
    let ns = m.ns();
    let sa = m.annotations.get(SA_NAME_ANNOTATION);
    let invalid_since = m.labels.get(INVALID_SINCE_LABEL);
    Credential {
        external_id: secret_id(ns, &m.name),
        kind: CredentialKind::ApiKey,
        principal_external_id: sa.map(|n| service_account_id(ns, n)),
        client: None,
        scopes: vec![],
        issued_at: parse_time(m.creation_timestamp.as_deref()),
        expires_at: None,
        last_used_at: label_date(m.labels.get(LAST_USED_LABEL)),
        status: if invalid_since.is_some() {
            CredentialStatus::Expired
        } else {
            CredentialStatus::Active
        },
        attrs: json!({
            "kubernetes_kind": "Secret",
            "type": super::objects::SA_TOKEN_TYPE,
            "namespace": ns,
            "secret": m.name,
            "service_account": sa,
            "service_account_uid": m.annotations.get(SA_UID_ANNOTATION),
            "token_sha256": s.data.as_ref().and_then(|d| d.token.0.clone()),
            "last_used_date": m.labels.get(LAST_USED_LABEL),
            "invalid_since": invalid_since,
            "legacy": true,
        }),
    }
}

/// Builds the inventory from sorted objects; deterministic for a given input order.
pub fn build_inventory(o: &Objects) -> Inventory {
    let mut m = Mapper {
        b: Builder::default(),
        cluster_roles: o
            .cluster_roles
            .iter()
            .map(|r| (r.metadata.name.as_str(), r))
            .collect(),
        roles: o
            .roles
            .iter()
            .map(|r| ((r.metadata.ns(), r.metadata.name.as_str()), r))
            .collect(),
    };

    for sa in &o.service_accounts {
        let ns = sa.metadata.ns();
        m.b.principal(Principal {
            external_id: service_account_id(ns, &sa.metadata.name),
            kind: PrincipalKind::Service,
            name: service_account_id(ns, &sa.metadata.name),
            enabled: true,
            attrs: json!({
                "kubernetes_kind": "ServiceAccount",
                "namespace": ns,
                "name": sa.metadata.name,
                "uid": sa.metadata.uid,
                "created_at": sa.metadata.creation_timestamp,
                "automount_token": sa.automount_service_account_token,
                "secrets": sa.secrets.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
                "declared": true,
            }),
        });
    }

    for r in &o.roles {
        let ns = r.metadata.ns();
        let id = role_id(ns, &r.metadata.name);
        if m.b.role(
            &id,
            r.metadata.name.clone(),
            format!("Role in namespace {ns}"),
        ) {
            m.b.permissions(&id, expand(&r.rules, &Scope::Namespace(ns.to_string())));
        }
    }
    for cr in &o.cluster_roles {
        m.cluster_role(cr);
    }

    for crb in &o.cluster_role_bindings {
        let id = cluster_role_binding_id(&crb.metadata.name);
        let r = &crb.role_ref;
        m.b.role(
            &id,
            crb.metadata.name.clone(),
            format!(
                "ClusterRoleBinding: grants {} {} cluster-wide to {} subject(s)",
                r.kind,
                r.name,
                crb.subjects.len()
            ),
        );
        if r.kind == "ClusterRole" {
            let target = cluster_role_id(&r.name);
            if !m.cluster_roles.contains_key(r.name.as_str()) {
                m.b.role(
                    &target,
                    r.name.clone(),
                    "ClusterRole referenced by a binding but not found in the input".into(),
                );
            }
            m.b.grant(NodeKind::Role, &id, NodeKind::Role, &target);
        }
        m.subjects(crb, &id, None);
    }

    for rb in &o.role_bindings {
        let ns = rb.metadata.ns();
        let id = role_binding_id(ns, &rb.metadata.name);
        let r = &rb.role_ref;
        m.b.role(
            &id,
            rb.metadata.name.clone(),
            format!(
                "RoleBinding in namespace {ns}: grants {} {} there to {} subject(s)",
                r.kind,
                r.name,
                rb.subjects.len()
            ),
        );
        let target = match r.kind.as_str() {
            "Role" => {
                let target = role_id(ns, &r.name);
                if !m.roles.contains_key(&(ns, r.name.as_str())) {
                    m.b.role(
                        &target,
                        r.name.clone(),
                        format!("Role in namespace {ns} referenced by a binding but not found in the input"),
                    );
                }
                Some(target)
            }
            "ClusterRole" => Some(m.scoped_cluster_role(&r.name, ns)),
            _ => None,
        };
        if let Some(target) = target {
            m.b.grant(NodeKind::Role, &id, NodeKind::Role, &target);
        }
        m.subjects(rb, &id, Some(ns));
    }

    for s in &o.token_secrets {
        let c = token_credential(s);
        if let Some(p) = &c.principal_external_id {
            let ns = s.metadata.ns();
            let name = s
                .metadata
                .annotations
                .get(SA_NAME_ANNOTATION)
                .cloned()
                .unwrap_or_default();
            m.b.principal(Principal {
                external_id: p.clone(),
                kind: PrincipalKind::Service,
                name: p.clone(),
                enabled: true,
                attrs: json!({
                    "kubernetes_kind": "ServiceAccount",
                    "namespace": ns,
                    "name": name,
                    "declared": false,
                }),
            });
        }
        m.b.inv.credentials.push(c);
    }

    // Implicit memberships, towards the groups that bindings name.
    let groups: BTreeSet<String> =
        m.b.inv
            .principals
            .iter()
            .filter(|p| p.kind == PrincipalKind::Group)
            .map(|p| p.external_id.clone())
            .collect();
    let members: Vec<(String, PrincipalKind, Option<String>)> =
        m.b.inv
            .principals
            .iter()
            .filter(|p| matches!(p.kind, PrincipalKind::User | PrincipalKind::Service))
            .map(|p| {
                let ns = p
                    .external_id
                    .strip_prefix("system:serviceaccount:")
                    .and_then(|rest| rest.split(':').next())
                    .map(str::to_string);
                (p.external_id.clone(), p.kind, ns)
            })
            .collect();
    for (pid, kind, ns) in members {
        let mut implied = vec![group_id("system:authenticated")];
        if kind == PrincipalKind::Service {
            if let Some(ns) = ns {
                implied.push(group_id("system:serviceaccounts"));
                implied.push(group_id(&format!("system:serviceaccounts:{ns}")));
            }
        }
        for g in implied {
            if groups.contains(&g) {
                m.b.grant(NodeKind::Principal, &pid, NodeKind::Principal, &g);
            }
        }
    }
    m.b.inv
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_subject_without_a_name_is_no_principal() {
        // Found by fuzz/fuzz_targets/k8s_objects.rs: `name: ""` became a principal with an
        // empty id, granted the binding.
        let mut o = Objects::default();
        o.add(
            json!({
                "kind": "RoleBinding",
                "metadata": {"name": "read-pods", "namespace": "default"},
                "subjects": [
                    {"kind": "User", "name": ""},
                    {"kind": "ServiceAccount", "name": ""},
                    {"kind": "Group", "name": ""},
                    {"kind": "User", "name": "jane"}
                ],
                "roleRef": {"kind": "Role", "name": "pod-reader", "apiGroup": "rbac.authorization.k8s.io"}
            }),
            "document 1",
        )
        .unwrap();
        let inv = build_inventory(&o);
        assert!(inv.principals.iter().all(|p| !p.external_id.is_empty()));
        assert!(inv.grants.iter().all(|g| !g.from_id.is_empty()));
        assert!(inv.principals.iter().any(|p| p.external_id == "jane"));
    }
}
