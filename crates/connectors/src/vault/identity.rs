//! Who is who in Vault / OpenBao, from the server's own identity data: identity entities with
//! their aliases, identity groups (nested), and the auth-method accounts (userpass users, AppRole
//! roles) that log in as an entity.
//!
//! Every link is the server's: an account belongs to an entity when one of the entity's aliases
//! names it (mount and name; an AppRole alias is named by the role's `role_id`); an entity is a
//! service when its aliases all come from machine auth methods. Nothing is read from names.
//! Graph shape: account → entity → group → parent group (principal edges, "logs in as" and
//! "member of"), each → its policies; so walking from an account gives what its login's token
//! holds (its own token policies plus the identity policies), and from an entity what every
//! token of it holds.

use portcullis_model::{Grant, Inventory, NodeKind, Principal, PrincipalKind, ACCOUNT_OF_KEY};
use serde_json::{json, Value};
use std::collections::HashMap;

use super::inventory::Wrapped;
use super::Vault;
use crate::ConnectorError;

/// Auth methods whose logins are machines, not people.
const MACHINE_METHODS: &[&str] = &[
    "approle",
    "cert",
    "kubernetes",
    "aws",
    "gcp",
    "azure",
    "alicloud",
    "oci",
];

/// One alias of an entity: an account on an auth mount.
#[derive(Debug, Clone)]
struct Alias {
    name: String,
    mount_type: String,
    /// `auth/userpass/`, as the server writes it.
    mount_path: String,
}

/// An AppRole role as read from its mount.
struct AppRoleRole {
    pid: String,
    name: String,
    role_id: Option<String>,
    policies: Vec<String>,
    mount: String,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn member_edge(from: &str, to: &str) -> Grant {
    Grant {
        from_kind: NodeKind::Principal,
        from_id: from.to_string(),
        to_kind: NodeKind::Principal,
        to_id: to.to_string(),
    }
}

fn policy_edge(from: &str, policy: &str) -> Grant {
    Grant {
        from_kind: NodeKind::Principal,
        from_id: from.to_string(),
        to_kind: NodeKind::Role,
        to_id: policy.to_string(),
    }
}

/// Auth mounts of one type, without the trailing `/`, sorted.
fn mounts_of(mounts: &HashMap<String, Value>, kind: &str) -> Vec<String> {
    let mut out: Vec<String> = mounts
        .iter()
        .filter(|(_, m)| m.get("type").and_then(Value::as_str) == Some(kind))
        .map(|(k, _)| k.trim_end_matches('/').to_string())
        .collect();
    out.sort();
    out
}

impl Vault {
    /// Entities, groups, userpass users and AppRole roles into `inv`, linked as the server links
    /// them. Groups and AppRole roles the console may not read are left out (the check names
    /// those rights as optional): tokens still carry their identity policies.
    pub(crate) async fn read_identity(&self, inv: &mut Inventory) -> Result<(), ConnectorError> {
        let mounts: HashMap<String, Value> = self
            .get_json("sys/auth", "read on sys/auth")
            .await
            .unwrap_or_default();
        let approles = self.approle_roles(&mounts_of(&mounts, "approle")).await?;
        let entities = self.entities(inv, &approles).await?;
        self.groups(inv).await?;
        for mount in mounts_of(&mounts, "userpass") {
            self.userpass_users(inv, &mount, &entities).await?;
        }
        for r in approles {
            let path = format!("auth/{}/", r.mount);
            let entity = r.role_id.as_deref().and_then(|id| {
                entities
                    .iter()
                    .find(|(_, aliases)| {
                        aliases.iter().any(|a| a.name == id && a.mount_path == path)
                    })
                    .map(|(e, _)| e.clone())
            });
            account(
                inv,
                &r.pid,
                &r.name,
                PrincipalKind::Service,
                &r.policies,
                entity.as_deref(),
                json!({"source": format!("auth/{}", r.mount)}),
            );
        }
        Ok(())
    }

    /// Every entity with its aliases (the map the accounts are linked through).
    async fn entities(
        &self,
        inv: &mut Inventory,
        approles: &[AppRoleRole],
    ) -> Result<Vec<(String, Vec<Alias>)>, ConnectorError> {
        let ids = self
            .list("identity/entity/id", "list on identity/entity/id")
            .await?;
        let mut out = Vec::new();
        for id in ids {
            let e: Wrapped<Value> = self
                .get_json(
                    &format!("identity/entity/id/{id}"),
                    "read on identity/entity/id",
                )
                .await?;
            let d = e.data;
            let aliases: Vec<Alias> = d
                .get("aliases")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|a| Alias {
                    name: a.get("name").and_then(Value::as_str).unwrap_or("").into(),
                    mount_type: a
                        .get("mount_type")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .into(),
                    mount_path: a
                        .get("mount_path")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .into(),
                })
                .collect();
            let entity_name = d.get("name").and_then(Value::as_str).unwrap_or(&id);
            inv.principals.push(Principal {
                external_id: id.clone(),
                kind: entity_kind(&aliases),
                name: readable_name(entity_name, &aliases, approles),
                enabled: !d.get("disabled").and_then(Value::as_bool).unwrap_or(false),
                attrs: json!({
                    "source": "identity entity",
                    "entity_name": entity_name,
                    "aliases": aliases.iter().map(|a| json!({"name": a.name, "mount_type": a.mount_type, "mount_path": a.mount_path})).collect::<Vec<_>>(),
                    "metadata": d.get("metadata"),
                }),
            });
            for pol in strings(d.get("policies")) {
                inv.grants.push(policy_edge(&id, &pol));
            }
            out.push((id, aliases));
        }
        Ok(out)
    }

    /// Identity groups: members and subgroups inherit their policies.
    async fn groups(&self, inv: &mut Inventory) -> Result<(), ConnectorError> {
        let ids = match self
            .list("identity/group/id", "list on identity/group/id")
            .await
        {
            Ok(ids) => ids,
            Err(ConnectorError::Forbidden { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        for id in ids {
            let g: Wrapped<Value> = self
                .get_json(
                    &format!("identity/group/id/{id}"),
                    "read on identity/group/id",
                )
                .await?;
            let d = g.data;
            inv.principals.push(Principal {
                external_id: id.clone(),
                kind: PrincipalKind::Group,
                name: d.get("name").and_then(Value::as_str).unwrap_or(&id).into(),
                enabled: true,
                attrs: json!({"source": "identity group", "type": d.get("type")}),
            });
            for pol in strings(d.get("policies")) {
                inv.grants.push(policy_edge(&id, &pol));
            }
            for member in strings(d.get("member_entity_ids")) {
                inv.grants.push(member_edge(&member, &id));
            }
            for sub in strings(d.get("member_group_ids")) {
                inv.grants.push(member_edge(&sub, &id));
            }
        }
        Ok(())
    }

    async fn userpass_users(
        &self,
        inv: &mut Inventory,
        mount: &str,
        entities: &[(String, Vec<Alias>)],
    ) -> Result<(), ConnectorError> {
        let path = format!("auth/{mount}/");
        for user in self
            .list(
                &format!("auth/{mount}/users"),
                &format!("list on auth/{mount}/users"),
            )
            .await?
        {
            let u: Wrapped<Value> = self
                .get_json(
                    &format!("auth/{mount}/users/{user}"),
                    &format!("read on auth/{mount}/users"),
                )
                .await?;
            let mut pols = strings(u.data.get("token_policies"));
            pols.extend(strings(u.data.get("policies")));
            pols.sort();
            pols.dedup();
            let entity = entities
                .iter()
                .find(|(_, aliases)| {
                    aliases
                        .iter()
                        .any(|a| a.name == user && a.mount_path == path)
                })
                .map(|(e, _)| e.as_str());
            account(
                inv,
                &format!("userpass:{mount}:{user}"),
                &user,
                PrincipalKind::User,
                &pols,
                entity,
                json!({"source": format!("auth/{mount}"), "token_ttl": u.data.get("token_ttl"), "token_max_ttl": u.data.get("token_max_ttl")}),
            );
        }
        Ok(())
    }

    /// AppRole roles of every AppRole mount, with their `role_id` (an entity alias's name).
    async fn approle_roles(&self, mounts: &[String]) -> Result<Vec<AppRoleRole>, ConnectorError> {
        let mut out = Vec::new();
        for mount in mounts {
            let names = match self
                .list(
                    &format!("auth/{mount}/role"),
                    &format!("list on auth/{mount}/role"),
                )
                .await
            {
                Ok(n) => n,
                Err(ConnectorError::Forbidden { .. }) => continue,
                Err(e) => return Err(e),
            };
            for name in names {
                let base = format!("auth/{mount}/role/{name}");
                let role: Wrapped<Value> = self
                    .get_json(&base, &format!("read on auth/{mount}/role"))
                    .await?;
                let role_id = match self
                    .get_json::<Wrapped<Value>>(
                        &format!("{base}/role-id"),
                        &format!("read on auth/{mount}/role/*/role-id"),
                    )
                    .await
                {
                    Ok(r) => r
                        .data
                        .get("role_id")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    Err(ConnectorError::Forbidden { .. }) => None,
                    Err(e) => return Err(e),
                };
                let mut policies = strings(role.data.get("token_policies"));
                policies.extend(strings(role.data.get("policies")));
                policies.sort();
                policies.dedup();
                out.push(AppRoleRole {
                    pid: format!("approle:{mount}:{name}"),
                    name,
                    role_id,
                    policies,
                    mount: mount.clone(),
                });
            }
        }
        Ok(out)
    }
}

/// An auth-method account: its token policies, and the entity it logs in as.
fn account(
    inv: &mut Inventory,
    pid: &str,
    name: &str,
    kind: PrincipalKind,
    policies: &[String],
    entity: Option<&str>,
    mut attrs: Value,
) {
    for pol in policies {
        inv.grants.push(policy_edge(pid, pol));
    }
    if let Some(e) = entity {
        inv.grants.push(member_edge(pid, e));
        attrs[ACCOUNT_OF_KEY] = json!(e);
    }
    inv.principals.push(Principal {
        external_id: pid.to_string(),
        kind,
        name: name.to_string(),
        enabled: true,
        attrs,
    });
}

/// A service when every alias comes from a machine auth method; a person otherwise (an entity
/// without aliases was made by an operator, for someone).
fn entity_kind(aliases: &[Alias]) -> PrincipalKind {
    let machine = |a: &Alias| MACHINE_METHODS.contains(&a.mount_type.as_str());
    if !aliases.is_empty() && aliases.iter().all(machine) {
        PrincipalKind::Service
    } else {
        PrincipalKind::User
    }
}

/// The entity's name when it is one of its accounts' names (or it has none); else the name of
/// its first account — a server-generated entity name is an id, not a name. An AppRole alias is
/// named by a `role_id`: its role's name stands in.
fn readable_name(entity_name: &str, aliases: &[Alias], approles: &[AppRoleRole]) -> String {
    let account_name = |a: &Alias| -> String {
        approles
            .iter()
            .find(|r| r.role_id.as_deref() == Some(a.name.as_str()))
            .map(|r| r.name.clone())
            .unwrap_or_else(|| a.name.clone())
    };
    let names: Vec<String> = aliases.iter().map(account_name).collect();
    if names.is_empty() || names.iter().any(|n| n == entity_name) {
        entity_name.to_string()
    } else {
        let mut sorted = names;
        sorted.sort();
        sorted.swap_remove(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alias(name: &str, mount_type: &str) -> Alias {
        Alias {
            name: name.into(),
            mount_type: mount_type.into(),
            mount_path: format!("auth/{mount_type}/"),
        }
    }

    #[test]
    fn kinds_come_from_the_auth_methods_not_the_names() {
        assert_eq!(
            entity_kind(&[alias("svc-x", "userpass")]),
            PrincipalKind::User
        );
        assert_eq!(
            entity_kind(&[alias("abc", "approle")]),
            PrincipalKind::Service
        );
        assert_eq!(
            entity_kind(&[alias("abc", "approle"), alias("bob", "oidc")]),
            PrincipalKind::User
        );
        assert_eq!(entity_kind(&[]), PrincipalKind::User);
    }

    #[test]
    fn a_generated_entity_name_gives_way_to_its_account() {
        let roles = [AppRoleRole {
            pid: "approle:approle:ci".into(),
            name: "ci".into(),
            role_id: Some("0f3c-role-id".into()),
            policies: vec![],
            mount: "approle".into(),
        }];
        assert_eq!(
            readable_name("entity_93a93b9f", &[alias("frank", "userpass")], &roles),
            "frank"
        );
        assert_eq!(
            readable_name("entity_1", &[alias("0f3c-role-id", "approle")], &roles),
            "ci"
        );
        assert_eq!(
            readable_name("alice", &[alias("alice", "userpass")], &roles),
            "alice"
        );
        assert_eq!(readable_name("ops-team", &[], &roles), "ops-team");
    }
}
