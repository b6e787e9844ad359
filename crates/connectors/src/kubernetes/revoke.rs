//! Revoking in Kubernetes and proving it.
//!
//! - principal → binding grant: the subject is removed from the binding (GET, then PUT with the
//!   read `resourceVersion`, so a concurrent change makes the PUT fail with 409 and the removal is
//!   retried once on the fresh object);
//! - binding → role grant: the binding is deleted;
//! - a legacy token Secret: the Secret is deleted (the API server refuses a legacy token whose
//!   Secret is gone).
//!
//! Verification re-reads (404 or the subject's absence) and, for a removed subject, asks a
//! SubjectAccessReview whether the subject can still do the first thing the bound role allows:
//! `allowed: false` is the proof; `allowed: true` means another binding still grants it.

use chrono::Utc;
use portcullis_model::{Grant, NodeKind, RevokeReceipt, Verification};
use serde_json::{json, Value};
use url::Url;

use super::api::{Api, Attributes};
use super::objects::{PolicyRule, RoleRef, Subject};
use crate::{ConnectorError, RevokeTarget};

const RBAC: &str = "/apis/rbac.authorization.k8s.io/v1";

/// A binding named by its role-node id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingRef {
    Namespaced { ns: String, name: String },
    Cluster { name: String },
}

impl BindingRef {
    pub fn parse(id: &str) -> Option<BindingRef> {
        if let Some(rest) = id.strip_prefix("RoleBinding/") {
            let (ns, name) = rest.split_once('/')?;
            return Some(BindingRef::Namespaced {
                ns: ns.to_string(),
                name: name.to_string(),
            });
        }
        id.strip_prefix("ClusterRoleBinding/")
            .filter(|n| !n.is_empty())
            .map(|name| BindingRef::Cluster {
                name: name.to_string(),
            })
    }

    pub fn url(&self, api: &Api) -> Url {
        match self {
            BindingRef::Namespaced { ns, name } => api.url(
                &format!("{RBAC}/namespaces"),
                &[ns.as_str(), "rolebindings", name.as_str()],
            ),
            BindingRef::Cluster { name } => {
                api.url(&format!("{RBAC}/clusterrolebindings"), &[name.as_str()])
            }
        }
    }

    pub fn path(&self) -> String {
        match self {
            BindingRef::Namespaced { ns, name } => {
                format!("{RBAC}/namespaces/{ns}/rolebindings/{name}")
            }
            BindingRef::Cluster { name } => format!("{RBAC}/clusterrolebindings/{name}"),
        }
    }

    fn namespace(&self) -> Option<&str> {
        match self {
            BindingRef::Namespaced { ns, .. } => Some(ns),
            BindingRef::Cluster { .. } => None,
        }
    }
}

/// Whether a binding subject is the principal `pid` (ids as in [`super::inventory`]).
pub fn subject_is(s: &Subject, pid: &str, binding_ns: Option<&str>) -> bool {
    if let Some(g) = pid.strip_prefix("group:") {
        return s.kind == "Group" && s.name == g;
    }
    if let Some(rest) = pid.strip_prefix("system:serviceaccount:") {
        if s.kind == "User" && s.name == pid {
            return true;
        }
        let Some((ns, name)) = rest.split_once(':') else {
            return false;
        };
        let sns = s
            .namespace
            .as_deref()
            .filter(|n| !n.is_empty())
            .or(binding_ns)
            .unwrap_or("default");
        return s.kind == "ServiceAccount" && s.name == name && sns == ns;
    }
    s.kind == "User" && s.name == pid
}

/// The user and groups a SubjectAccessReview asks about for a principal.
pub fn review_subject(pid: &str) -> (Option<String>, Vec<String>) {
    if let Some(g) = pid.strip_prefix("group:") {
        return (None, vec![g.to_string()]);
    }
    let mut groups = vec!["system:authenticated".to_string()];
    if let Some(rest) = pid.strip_prefix("system:serviceaccount:") {
        if let Some((ns, _)) = rest.split_once(':') {
            groups.push("system:serviceaccounts".into());
            groups.push(format!("system:serviceaccounts:{ns}"));
        }
    }
    (Some(pid.to_string()), groups)
}

fn secret_ref(id: &str) -> Option<(&str, &str)> {
    id.strip_prefix("Secret/")?.split_once('/')
}

fn subjects_of(obj: &Value) -> Vec<Subject> {
    obj.get("subjects")
        .cloned()
        .and_then(|s| serde_json::from_value::<Option<Vec<Subject>>>(s).ok())
        .flatten()
        .unwrap_or_default()
}

fn unsupported(what: &str) -> ConnectorError {
    ConnectorError::Unsupported(what.to_string())
}

fn grant_kind(g: &Grant) -> Result<(BindingRef, bool), ConnectorError> {
    match (g.from_kind, g.to_kind) {
        (NodeKind::Principal, NodeKind::Role) => BindingRef::parse(&g.to_id)
            .map(|b| (b, true))
            .ok_or_else(|| unsupported(&format!(
                "`{}` is not a RoleBinding or ClusterRoleBinding: revoke the principal's binding instead",
                g.to_id
            ))),
        (NodeKind::Role, NodeKind::Role) => BindingRef::parse(&g.from_id)
            .map(|b| (b, false))
            .ok_or_else(|| unsupported(&format!(
                "`{} → {}` is a ClusterRole aggregation or a role's own rules: change the role's labels or rules with kubectl",
                g.from_id, g.to_id
            ))),
        _ => Err(unsupported(
            "Portcullis revokes bindings, binding subjects and legacy token Secrets; a role's rules are edited with kubectl",
        )),
    }
}

fn receipt(action: String, caveats: Vec<String>, detail: Value) -> RevokeReceipt {
    RevokeReceipt {
        action,
        at: Utc::now(),
        caveats,
        detail,
    }
}

pub async fn revoke(api: &Api, target: &RevokeTarget) -> Result<RevokeReceipt, ConnectorError> {
    match target {
        RevokeTarget::Credential { external_id, .. } => {
            let (ns, name) = secret_ref(external_id).ok_or_else(|| {
                unsupported(&format!(
                    "`{external_id}` is not a legacy token Secret (Secret/NAMESPACE/NAME)"
                ))
            })?;
            let path = format!("/api/v1/namespaces/{ns}/secrets/{name}");
            let action = format!("DELETE {path}");
            api.delete(api.url("/api/v1/namespaces", &[ns, "secrets", name]), &action)
                .await?;
            Ok(receipt(
                action,
                vec![
                    "pods that mounted the Secret keep the token file, but the API server refuses a legacy token whose Secret is gone".into(),
                    "the ServiceAccount itself and its short-lived (TokenRequest) tokens are untouched".into(),
                ],
                json!({ "namespace": ns, "secret": name }),
            ))
        }
        RevokeTarget::Grant(g) => {
            let (binding, subject_only) = grant_kind(g)?;
            if subject_only {
                remove_subject(api, &binding, &g.from_id).await
            } else {
                let action = format!("DELETE {}", binding.path());
                api.delete(binding.url(api), &action).await?;
                Ok(receipt(
                    action,
                    vec!["every subject of the binding loses what it granted".into()],
                    json!({ "binding": g.from_id }),
                ))
            }
        }
        RevokeTarget::Token { .. } => Err(unsupported(
            "Kubernetes cannot revoke a token by value: delete its legacy Secret, or the pod / ServiceAccount a bound token belongs to",
        )),
        RevokeTarget::Login { .. } => Err(unsupported(
            "Kubernetes has no login to disable: remove the subject from its bindings",
        )),
    }
}

async fn remove_subject(
    api: &Api,
    binding: &BindingRef,
    pid: &str,
) -> Result<RevokeReceipt, ConnectorError> {
    let path = binding.path();
    let right = format!("get and update {path}");
    let mut last_err = None;
    for _attempt in 0..2 {
        let mut obj: Value = api.get(binding.url(api), &right).await?;
        let subjects = subjects_of(&obj);
        let (removed, kept): (Vec<Subject>, Vec<Subject>) = subjects
            .into_iter()
            .partition(|s| subject_is(s, pid, binding.namespace()));
        if removed.is_empty() {
            return Err(ConnectorError::NotFound {
                target: api.target().to_string(),
                what: format!("{pid} among the subjects of {path}"),
            });
        }
        let left = kept.len();
        if let Some(o) = obj.as_object_mut() {
            o.insert("subjects".into(), json!(kept));
        }
        match api.put(binding.url(api), &obj, &right).await {
            Ok(_) => {
                let mut caveats = vec![
                    "other bindings may grant the same role to this subject (or to a group it belongs to)".to_string(),
                ];
                if left == 0 {
                    caveats.push("the binding now has no subjects: delete it to tidy up".into());
                }
                return Ok(receipt(
                    format!("PUT {path} without subject {pid}"),
                    caveats,
                    json!({ "binding": path, "removed": removed, "subjects_left": left }),
                ));
            }
            Err(e @ ConnectorError::Backend { status: 409, .. }) => {
                tracing::debug!("binding changed while removing a subject; retrying once");
                last_err = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| ConnectorError::Backend {
        target: api.target().to_string(),
        status: 409,
        detail: format!("{path} kept changing"),
    }))
}

fn verification(dead: bool, evidence: String) -> Verification {
    Verification {
        dead,
        evidence,
        at: Utc::now(),
    }
}

/// The first thing a role allows, as review attributes.
fn first_allowed(rules: &[PolicyRule], ns: Option<&str>) -> Option<Attributes> {
    for r in rules {
        let Some(verb) = r.verbs.first() else {
            continue;
        };
        if let (Some(group), Some(res)) = (r.api_groups.first(), r.resources.first()) {
            let (resource, sub) = match res.split_once('/') {
                Some((a, b)) => (a.to_string(), Some(b.to_string())),
                None => (res.clone(), None),
            };
            return Some(Attributes::Resource {
                verb: verb.clone(),
                group: group.clone(),
                resource,
                subresource: sub,
                name: r.resource_names.first().cloned(),
                namespace: ns.map(str::to_string),
            });
        }
        if ns.is_none() {
            if let Some(path) = r.non_resource_urls.first() {
                return Some(Attributes::NonResource {
                    verb: verb.clone(),
                    path: path.clone(),
                });
            }
        }
    }
    None
}

async fn role_rules(
    api: &Api,
    role_ref: &RoleRef,
    ns: Option<&str>,
) -> Result<Option<Vec<PolicyRule>>, ConnectorError> {
    let url = match (role_ref.kind.as_str(), ns) {
        ("Role", Some(ns)) => api.url(
            &format!("{RBAC}/namespaces"),
            &[ns, "roles", role_ref.name.as_str()],
        ),
        ("ClusterRole", _) => api.url(&format!("{RBAC}/clusterroles"), &[role_ref.name.as_str()]),
        _ => return Ok(None),
    };
    let right = format!("get {} {}", role_ref.kind, role_ref.name);
    match api.get::<Value>(url, &right).await {
        Ok(v) => Ok(v
            .get("rules")
            .cloned()
            .and_then(|r| serde_json::from_value::<Option<Vec<PolicyRule>>>(r).ok())
            .flatten()),
        Err(ConnectorError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

pub async fn verify(api: &Api, target: &RevokeTarget) -> Result<Verification, ConnectorError> {
    match target {
        RevokeTarget::Credential { external_id, .. } => {
            let (ns, name) = secret_ref(external_id).ok_or_else(|| {
                unsupported(&format!("`{external_id}` is not a legacy token Secret"))
            })?;
            let path = format!("/api/v1/namespaces/{ns}/secrets/{name}");
            match api
                .get::<Value>(
                    api.url("/api/v1/namespaces", &[ns, "secrets", name]),
                    &format!("GET {path}"),
                )
                .await
            {
                Err(ConnectorError::NotFound { .. }) => Ok(verification(
                    true,
                    format!("GET {path} answered 404: the Secret, and so its token, is gone"),
                )),
                Ok(_) => Ok(verification(false, format!("GET {path} still answers 200"))),
                Err(e) => Err(e),
            }
        }
        RevokeTarget::Grant(g) => {
            let (binding, subject_only) = grant_kind(g)?;
            let path = binding.path();
            let read = api
                .get::<Value>(binding.url(api), &format!("GET {path}"))
                .await;
            let obj = match read {
                Err(ConnectorError::NotFound { .. }) => {
                    return Ok(verification(
                        true,
                        format!("GET {path} answered 404: the binding is gone"),
                    ))
                }
                Err(e) => return Err(e),
                Ok(v) => v,
            };
            if !subject_only {
                return Ok(verification(
                    false,
                    format!("GET {path} still answers 200: the binding exists"),
                ));
            }
            let pid = &g.from_id;
            if subjects_of(&obj)
                .iter()
                .any(|s| subject_is(s, pid, binding.namespace()))
            {
                return Ok(verification(
                    false,
                    format!("{path} still lists {pid} as a subject"),
                ));
            }
            let role_ref: RoleRef = obj
                .get("roleRef")
                .cloned()
                .and_then(|r| serde_json::from_value(r).ok())
                .unwrap_or_default();
            let attrs = role_rules(api, &role_ref, binding.namespace())
                .await?
                .and_then(|rules| first_allowed(&rules, binding.namespace()));
            let Some(attrs) = attrs else {
                return Ok(verification(
                    true,
                    format!(
                        "{path} no longer lists {pid}; {} {} has no rule to test with a SubjectAccessReview",
                        role_ref.kind, role_ref.name
                    ),
                ));
            };
            let (user, groups) = review_subject(pid);
            let decision = api.subject_can(user.as_deref(), &groups, &attrs).await?;
            let what = attrs.describe();
            Ok(if decision.allowed {
                verification(
                    false,
                    format!(
                        "{path} no longer lists {pid}, but a SubjectAccessReview still allows {what} ({}): another binding grants it",
                        if decision.reason.is_empty() { "no reason given" } else { decision.reason.as_str() }
                    ),
                )
            } else {
                verification(
                    true,
                    format!(
                        "{path} no longer lists {pid}, and a SubjectAccessReview answers allowed: false for {what}"
                    ),
                )
            })
        }
        RevokeTarget::Token { .. } | RevokeTarget::Login { .. } => Err(unsupported(
            "Kubernetes verifies only bindings, binding subjects and legacy token Secrets",
        )),
    }
}
