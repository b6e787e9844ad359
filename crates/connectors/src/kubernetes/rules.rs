//! RBAC rules → permissions, one per (verb, apiGroup, resource[/subresource], resourceName) or
//! (verb, nonResourceURL), and label selectors for ClusterRole aggregation.
//!
//! Permission `resource` strings (also used for audit events, so the two can be matched):
//! - `{scope}/{apiGroup}/{resource}[/{subresource}][#{resourceName}]`, where `scope` is
//!   `ns:{namespace}` for a Role, or for a ClusterRole bound by a RoleBinding, and `cluster` for a
//!   ClusterRole bound cluster-wide (every namespace and the cluster-scoped resources); the core
//!   API group `""` is written `core`;
//! - `url:{path}` for non-resource URLs (granted cluster-wide only).
//!
//! Wildcards stay wildcards (`*` verb, group, resource, `pods/*`, `*/scale`, `/api/*`) and the
//! permission's `raw` says `"wildcard": true`. The external id is `{verb} {resource}`, so two
//! roles granting the same thing share one permission node.

use portcullis_model::{Action, Permission};
use serde_json::json;
use std::collections::BTreeMap;

use super::objects::{LabelSelector, PolicyRule};

/// Where a set of rules applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Cluster,
    Namespace(String),
}

impl Scope {
    pub fn prefix(&self) -> String {
        match self {
            Scope::Cluster => "cluster".into(),
            Scope::Namespace(ns) => format!("ns:{ns}"),
        }
    }

    fn words(&self) -> String {
        match self {
            Scope::Cluster => "cluster-wide".into(),
            Scope::Namespace(ns) => format!("in namespace {ns}"),
        }
    }
}

/// The normalised action of a Kubernetes verb.
pub fn verb_action(verb: &str) -> Action {
    match verb {
        "get" | "list" | "watch" => Action::Read,
        "create" | "update" | "patch" | "delete" | "deletecollection" => Action::Write,
        "*" | "escalate" | "bind" | "impersonate" | "approve" | "sign" => Action::Admin,
        _ => Action::Other,
    }
}

/// `core` for the empty (core) API group.
pub fn group_name(g: &str) -> &str {
    if g.is_empty() {
        "core"
    } else {
        g
    }
}

/// The resource string of an object or rule item; see the module docs.
pub fn resource_string(
    scope: &Scope,
    group: &str,
    resource: &str,
    subresource: Option<&str>,
    name: Option<&str>,
) -> String {
    let mut s = format!("{}/{}/{}", scope.prefix(), group_name(group), resource);
    if let Some(sub) = subresource {
        s.push('/');
        s.push_str(sub);
    }
    if let Some(n) = name {
        s.push('#');
        s.push_str(n);
    }
    s
}

/// Expands rules into permissions. Non-resource URLs are kept only cluster-wide, as a RoleBinding
/// cannot grant them.
pub fn expand(rules: &[PolicyRule], scope: &Scope) -> Vec<Permission> {
    let mut out = Vec::new();
    for rule in rules {
        for verb in &rule.verbs {
            for group in &rule.api_groups {
                for res in &rule.resources {
                    let (resource, sub) = match res.split_once('/') {
                        Some((r, s)) => (r, Some(s)),
                        None => (res.as_str(), None),
                    };
                    let names: Vec<Option<&str>> = if rule.resource_names.is_empty() {
                        vec![None]
                    } else {
                        rule.resource_names
                            .iter()
                            .map(|n| Some(n.as_str()))
                            .collect()
                    };
                    for name in names {
                        let wildcard =
                            verb == "*" || group == "*" || resource == "*" || sub == Some("*");
                        let r = resource_string(scope, group, resource, sub, name);
                        let what = match (sub, name) {
                            (Some(s), Some(n)) => format!("{resource}/{s} {n}"),
                            (Some(s), None) => format!("{resource}/{s}"),
                            (None, Some(n)) => format!("{resource} {n}"),
                            (None, None) => resource.to_string(),
                        };
                        out.push(Permission {
                            external_id: format!("{verb} {r}"),
                            name: format!(
                                "{verb} {what} ({}) {}",
                                group_name(group),
                                scope.words()
                            ),
                            resource: r,
                            action: verb_action(verb),
                            raw: json!({
                                "verb": verb,
                                "apiGroup": group,
                                "resource": resource,
                                "subresource": sub,
                                "resourceName": name,
                                "scope": scope.prefix(),
                                "namespace": match scope {
                                    Scope::Namespace(ns) => Some(ns.as_str()),
                                    Scope::Cluster => None,
                                },
                                "wildcard": wildcard,
                            }),
                        });
                    }
                }
            }
            if *scope == Scope::Cluster {
                for url in &rule.non_resource_urls {
                    let wildcard = verb == "*" || url.ends_with('*');
                    out.push(Permission {
                        external_id: format!("{verb} url:{url}"),
                        name: format!("{verb} {url}"),
                        resource: format!("url:{url}"),
                        action: verb_action(verb),
                        raw: json!({
                            "verb": verb,
                            "nonResourceURL": url,
                            "wildcard": wildcard,
                        }),
                    });
                }
            }
        }
    }
    out
}

/// Whether labels satisfy a selector (matchLabels and matchExpressions, all must hold). An empty
/// selector matches everything, as in Kubernetes.
pub fn selector_matches(sel: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    sel.match_labels
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v))
        && sel.match_expressions.iter().all(|req| {
            let value = labels.get(&req.key);
            match req.operator.as_str() {
                "In" => value.is_some_and(|v| req.values.contains(v)),
                "NotIn" => value.is_none_or(|v| !req.values.contains(v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                // An operator we do not know selects nothing rather than everything.
                _ => false,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubernetes::objects::LabelRequirement;

    fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
        PolicyRule {
            api_groups: groups.iter().map(|s| s.to_string()).collect(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
            verbs: verbs.iter().map(|s| s.to_string()).collect(),
            ..PolicyRule::default()
        }
    }

    #[test]
    fn expands_every_combination_and_marks_wildcards() {
        let perms = expand(
            &[rule(
                &["", "apps"],
                &["pods/log", "deployments"],
                &["get", "*"],
            )],
            &Scope::Namespace("dev".into()),
        );
        assert_eq!(perms.len(), 8);
        let ids: Vec<&str> = perms.iter().map(|p| p.external_id.as_str()).collect();
        assert!(ids.contains(&"get ns:dev/core/pods/log"));
        assert!(ids.contains(&"* ns:dev/apps/deployments"));
        let star = perms
            .iter()
            .find(|p| p.external_id == "* ns:dev/apps/deployments")
            .unwrap();
        assert_eq!(star.raw["wildcard"], true);
        assert_eq!(star.action, Action::Admin);
    }

    #[test]
    fn non_resource_urls_only_cluster_wide() {
        let r = PolicyRule {
            non_resource_urls: vec!["/healthz/*".into()],
            verbs: vec!["get".into()],
            ..PolicyRule::default()
        };
        assert!(expand(std::slice::from_ref(&r), &Scope::Namespace("x".into())).is_empty());
        let p = &expand(&[r], &Scope::Cluster)[0];
        assert_eq!(p.resource, "url:/healthz/*");
        assert_eq!(p.raw["wildcard"], true);
    }

    #[test]
    fn selectors() {
        let labels: BTreeMap<String, String> =
            [("a".to_string(), "1".to_string())].into_iter().collect();
        let mut sel = LabelSelector::default();
        assert!(selector_matches(&sel, &labels));
        sel.match_labels.insert("a".into(), "1".into());
        assert!(selector_matches(&sel, &labels));
        sel.match_expressions.push(LabelRequirement {
            key: "b".into(),
            operator: "DoesNotExist".into(),
            values: vec![],
        });
        assert!(selector_matches(&sel, &labels));
        sel.match_expressions.push(LabelRequirement {
            key: "a".into(),
            operator: "NotIn".into(),
            values: vec!["1".into()],
        });
        assert!(!selector_matches(&sel, &labels));
    }
}
