//! Vault / OpenBao ACL policies (HCL or JSON) parsed into permissions.
//!
//! Each `path` stanza becomes one permission per action class present in its capabilities
//! (read: read/list/scan; write: create/update/patch/delete; admin: sudo; deny: deny), keyed by
//! `path|action` so that two policies granting the same thing share one permission node. Globs
//! (`*` at the end) and `+` segments are kept verbatim in the resource and flagged in `raw`.

use portcullis_model::{Action, Permission};
use serde_json::json;

/// One `path` stanza.
#[derive(Debug, Clone, PartialEq)]
pub struct PathRule {
    pub path: String,
    pub capabilities: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("policy `{policy}` cannot be parsed: {detail}")]
pub struct PolicyError {
    pub policy: String,
    pub detail: String,
}

/// Parses policy text, HCL or JSON.
pub fn parse_policy(name: &str, text: &str) -> Result<Vec<PathRule>, PolicyError> {
    let err = |detail: String| PolicyError {
        policy: name.to_string(),
        detail,
    };
    if text.trim_start().starts_with('{') {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| err(format!("JSON: {e}")))?;
        let paths = v
            .get("path")
            .and_then(|p| p.as_object())
            .ok_or_else(|| err("JSON policy has no `path` object".into()))?;
        return paths
            .iter()
            .map(|(path, body)| {
                let caps = body
                    .get("capabilities")
                    .and_then(|c| c.as_array())
                    .ok_or_else(|| err(format!("path `{path}` has no capabilities list")))?;
                let capabilities = caps
                    .iter()
                    .map(|c| {
                        c.as_str().map(str::to_string).ok_or_else(|| {
                            err(format!("path `{path}`: capability {c} is not a string"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(PathRule {
                    path: path.clone(),
                    capabilities,
                })
            })
            .collect();
    }
    super::policy_shape::check(text).map_err(|e| err(format!("HCL: {e}")))?;
    let body: hcl::Body = hcl::from_str(text).map_err(|e| err(format!("HCL: {e}")))?;
    let mut rules = Vec::new();
    for block in body.blocks() {
        if block.identifier() != "path" {
            continue;
        }
        let path = block
            .labels()
            .first()
            .map(|l| l.as_str().to_string())
            .ok_or_else(|| err("a `path` block has no path label".into()))?;
        let mut capabilities = Vec::new();
        for attr in block.body().attributes() {
            if attr.key() != "capabilities" {
                continue;
            }
            match attr.expr() {
                hcl::Expression::Array(items) => {
                    for item in items {
                        match item {
                            hcl::Expression::String(s) => capabilities.push(s.clone()),
                            other => {
                                return Err(err(format!(
                                    "path `{path}`: capability {other:?} is not a string"
                                )))
                            }
                        }
                    }
                }
                other => {
                    return Err(err(format!(
                        "path `{path}`: capabilities is {other:?}, not a list"
                    )))
                }
            }
        }
        rules.push(PathRule { path, capabilities });
    }
    Ok(rules)
}

fn action_of(capability: &str) -> Action {
    match capability {
        "read" | "list" | "scan" => Action::Read,
        "create" | "update" | "patch" | "delete" => Action::Write,
        "sudo" => Action::Admin,
        "deny" => Action::Deny,
        _ => Action::Other,
    }
}

/// The permissions a rule grants: one per capability, so a permission means the same thing in
/// every policy that names it (`secret/x|read` is read on `secret/x`, whoever holds it). Rules of
/// two policies on one path then share nodes exactly where they grant the same capability, as
/// Vault merges them; a permission per action class would give one policy's `read+list` to a
/// holder of another's `read`.
pub fn rule_permissions(rule: &PathRule) -> Vec<Permission> {
    let mut caps: Vec<&String> = rule.capabilities.iter().collect();
    caps.sort();
    caps.dedup();
    caps.into_iter()
        .map(|cap| Permission {
            external_id: format!("{}|{cap}", rule.path),
            name: format!("{cap} on {}", rule.path),
            resource: rule.path.clone(),
            action: action_of(cap),
            raw: json!({
                "path": rule.path,
                "capabilities": [cap],
                "glob": rule.path.ends_with('*'),
                "plus_segments": rule.path.split('/').filter(|s| *s == "+").count(),
                "wildcard": rule.path == "*" || rule.path.ends_with("/*") || rule.path.contains('+'),
            }),
        })
        .collect()
}

/// A policy's rules into an inventory: each permission once (`perms`), and a grant from the
/// policy (a role) to each of its permissions.
pub fn policy_into(
    name: &str,
    rules: &[PathRule],
    grants: &mut Vec<portcullis_model::Grant>,
    perms: &mut std::collections::BTreeMap<String, Permission>,
) {
    for rule in rules {
        for p in rule_permissions(rule) {
            grants.push(portcullis_model::Grant {
                from_kind: portcullis_model::NodeKind::Role,
                from_id: name.to_string(),
                to_kind: portcullis_model::NodeKind::Permission,
                to_id: p.external_id.clone(),
            });
            perms.entry(p.external_id.clone()).or_insert(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/vault-openbao/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn detailed_policy_has_deny_and_allowed_parameters() {
        let rules = parse_policy("detailed", &fixture("openbao-policy-detailed.hcl")).unwrap();
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[1].path, "secret/super-secret");
        assert_eq!(rules[1].capabilities, vec!["deny"]);
        let perms = rule_permissions(&rules[0]);
        let ids: Vec<&str> = perms.iter().map(|p| p.external_id.as_str()).collect();
        let caps = [
            "create", "delete", "list", "patch", "read", "scan", "update",
        ];
        let want: Vec<String> = caps.iter().map(|c| format!("secret/*|{c}")).collect();
        assert_eq!(ids, want, "one per capability");
        let actions: Vec<Action> = perms.iter().map(|p| p.action).collect();
        use Action::{Read, Write};
        assert_eq!(actions, vec![Write, Write, Read, Write, Read, Read, Write]);
        assert_eq!(perms[4].raw["glob"], true);
        assert_eq!(perms[4].raw["capabilities"], serde_json::json!(["read"]));
        assert_eq!(rule_permissions(&rules[1])[0].action, Action::Deny);
    }

    #[test]
    fn globs_and_plus_segments_are_kept_and_flagged() {
        let rules = parse_policy("globs", &fixture("openbao-policy-globs.hcl")).unwrap();
        let paths: Vec<&str> = rules.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, vec!["secret/foo", "secret/bar/*", "secret/zip-*"]);
        let plus = parse_policy("plus", &fixture("openbao-policy-plus-segments.hcl")).unwrap();
        let p = rule_permissions(&plus[1]);
        assert_eq!(p[0].resource, "secret/+/+/teamb");
        assert_eq!(p[0].raw["plus_segments"], 2);
    }

    #[test]
    fn json_policy_parses_like_hcl() {
        let json_rules = parse_policy("simple", &fixture("openbao-policy-simple.json")).unwrap();
        let hcl_rules = parse_policy("simple", &fixture("openbao-policy-simple.hcl")).unwrap();
        assert_eq!(json_rules, hcl_rules);
    }

    #[test]
    fn malformed_policies_are_errors() {
        for bad in [
            "path \"x\" { capabilities = [",
            "path { capabilities = [\"read\"] }",
            "path \"x\" { capabilities = \"read\" }",
            "path \"x\" { capabilities = [1] }",
            "{\"path\": 3}",
            "{\"path\": {\"x\": {\"capabilities\": [true]}}}",
            "{ truncated",
        ] {
            assert!(parse_policy("bad", bad).is_err(), "{bad}");
        }
        assert_eq!(parse_policy("empty", "").unwrap(), vec![]);
    }
}
