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
use portcullis_model::string_list as strings;

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
#[derive(Debug, Clone)]
pub struct AppRoleRole {
    /// `approle:MOUNT:NAME`.
    pub pid: String,
    pub name: String,
    /// Its `role-id`: the name of the entity alias its logins use.
    pub role_id: Option<String>,
    pub policies: Vec<String>,
    /// The mount, without the trailing `/`.
    pub mount: String,
}

/// The server's identity data, as its API answers (the connector reads it over HTTP; the demo
/// generates it), for [`map_identity`].
#[derive(Debug, Clone, Default)]
pub struct IdentityData {
    /// Each entity's id and the `data` of `identity/entity/id/ID`.
    pub entities: Vec<(String, Value)>,
    /// Each group's id and the `data` of `identity/group/id/ID`.
    pub groups: Vec<(String, Value)>,
    /// Each userpass user's mount (without `/`), name, and the `data` of `auth/MOUNT/users/NAME`.
    pub userpass_users: Vec<(String, String, Value)>,
    pub approles: Vec<AppRoleRole>,
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
        let mut data = IdentityData {
            approles: self.approle_roles(&mounts_of(&mounts, "approle")).await?,
            ..IdentityData::default()
        };
        for id in self
            .list("identity/entity/id", "list on identity/entity/id")
            .await?
        {
            let path = format!("identity/entity/id/{id}");
            let e: Wrapped<Value> = self.get_json(&path, "read on identity/entity/id").await?;
            data.entities.push((id, e.data));
        }
        self.read_groups(&mut data).await?;
        for mount in mounts_of(&mounts, "userpass") {
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
                data.userpass_users.push((mount.clone(), user, u.data));
            }
        }
        map_identity(inv, &data);
        Ok(())
    }

    /// Identity groups, when the console may read them.
    async fn read_groups(&self, data: &mut IdentityData) -> Result<(), ConnectorError> {
        let ids = match self
            .list("identity/group/id", "list on identity/group/id")
            .await
        {
            Ok(ids) => ids,
            Err(ConnectorError::Forbidden { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        for id in ids {
            let path = format!("identity/group/id/{id}");
            let g: Wrapped<Value> = self.get_json(&path, "read on identity/group/id").await?;
            data.groups.push((id, g.data));
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

/// The server's identity data into `inv`: entities named by their accounts, nested groups,
/// and each userpass user and AppRole role linked to the entity one of whose aliases names it.
pub fn map_identity(inv: &mut Inventory, data: &IdentityData) {
    let entities: Vec<(&str, Vec<Alias>)> = data
        .entities
        .iter()
        .map(|(id, d)| (id.as_str(), entity(inv, id, d, &data.approles)))
        .collect();
    for (id, d) in &data.groups {
        group(inv, id, d);
    }
    let entity_of = |name: &str, path: &str| {
        entities
            .iter()
            .find(|(_, aliases)| {
                aliases
                    .iter()
                    .any(|a| a.name == name && a.mount_path == path)
            })
            .map(|(e, _)| *e)
    };
    for (mount, user, u) in &data.userpass_users {
        let mut pols = strings(u.get("token_policies"));
        pols.extend(strings(u.get("policies")));
        pols.sort();
        pols.dedup();
        account(
            inv,
            &format!("userpass:{mount}:{user}"),
            user,
            PrincipalKind::User,
            &pols,
            entity_of(user, &format!("auth/{mount}/")),
            json!({"source": format!("auth/{mount}"), "token_ttl": u.get("token_ttl"), "token_max_ttl": u.get("token_max_ttl")}),
        );
    }
    for r in &data.approles {
        let entity = r
            .role_id
            .as_deref()
            .and_then(|id| entity_of(id, &format!("auth/{}/", r.mount)));
        account(
            inv,
            &r.pid,
            &r.name,
            PrincipalKind::Service,
            &r.policies,
            entity,
            json!({"source": format!("auth/{}", r.mount)}),
        );
    }
}

/// One entity: its principal (kind from its aliases' methods, name from its accounts) and its
/// identity policies; returns its aliases.
fn entity(inv: &mut Inventory, id: &str, d: &Value, approles: &[AppRoleRole]) -> Vec<Alias> {
    let aliases: Vec<Alias> = d
        .get("aliases")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|a| {
            let field = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            Alias {
                name: field("name"),
                mount_type: field("mount_type"),
                mount_path: field("mount_path"),
            }
        })
        .collect();
    let entity_name = d.get("name").and_then(Value::as_str).unwrap_or(id);
    inv.principals.push(Principal {
        external_id: id.to_string(),
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
        inv.grants.push(policy_edge(id, &pol));
    }
    aliases
}

/// One identity group: members and subgroups inherit its policies.
fn group(inv: &mut Inventory, id: &str, d: &Value) {
    inv.principals.push(Principal {
        external_id: id.to_string(),
        kind: PrincipalKind::Group,
        name: d.get("name").and_then(Value::as_str).unwrap_or(id).into(),
        enabled: true,
        attrs: json!({"source": "identity group", "type": d.get("type")}),
    });
    for pol in strings(d.get("policies")) {
        inv.grants.push(policy_edge(id, &pol));
    }
    for member in strings(d.get("member_entity_ids")) {
        inv.grants.push(member_edge(&member, id));
    }
    for sub in strings(d.get("member_group_ids")) {
        inv.grants.push(member_edge(&sub, id));
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
