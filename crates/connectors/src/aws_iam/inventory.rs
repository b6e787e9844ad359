//! IAM → the one access model, as a pure function of what the API returned ([`Snapshot`]).
//!
//! Mapping (written here because the model has no IAM words; external ids are IAM's own names,
//! which are unique within an account and are what every IAM call takes):
//! - an **IAM user** is a `user` principal `user/NAME`; an **IAM role** is a `service` principal
//!   `role/NAME` (it acts when assumed; its trust policy is kept in `attrs.trust_policy`);
//! - a **group** is a role `group/NAME`, with user→group grants;
//! - a **managed policy** is a role named by its ARN, an **inline policy** a role
//!   `inline/{user|group|role}/OWNER/NAME`; user/group/role→policy grants;
//! - each **statement** is a permission `POLICY#N` (N from 0, in document order) with the
//!   statement in `raw` as IAM states it (`Effect`, `Action`/`NotAction`, `Resource`/
//!   `NotResource`, `Condition`, `Sid`, lists as arrays); `Deny` statements have action `deny`;
//!   what the patterns mean is the engine's access dialect's business;
//! - an **access key** is an `api_key` credential whose external id is its `AccessKeyId` (an id,
//!   not a secret: the secret is never readable after creation); an `Inactive` key is `unknown`
//!   with `attrs.aws_status = "Inactive"`: it signs nothing (so it carries no rights), but it is
//!   not dead either (anyone allowed `iam:UpdateAccessKey` can switch it back on), so a
//!   revocation still deletes it; last use from `GetAccessKeyLastUsed`.

use chrono::{DateTime, Utc};
use portcullis_model::{
    Action, Credential, CredentialKind, CredentialStatus, Grant, Inventory, NodeKind, Permission,
    Principal, PrincipalKind, Role,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

use super::policy::{self, Statement};
use super::xml::{AccessKey, LastUsed, Named, User};

/// Who holds a policy: a user, a group or a role, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Holder {
    User,
    Group,
    Role,
}

impl Holder {
    pub fn as_str(self) -> &'static str {
        match self {
            Holder::User => "user",
            Holder::Group => "group",
            Holder::Role => "role",
        }
    }

    /// The node a holder is in the model: users and roles are principals, groups roles.
    fn node(self, name: &str) -> (NodeKind, String) {
        let id = format!("{}/{name}", self.as_str());
        match self {
            Holder::Group => (NodeKind::Role, id),
            Holder::User | Holder::Role => (NodeKind::Principal, id),
        }
    }
}

/// An inline policy with its (still URL-encoded) document.
#[derive(Debug, Clone, PartialEq)]
pub struct Inline {
    pub holder: Holder,
    pub owner: String,
    pub name: String,
    pub document: String,
}

/// A managed policy with its default version's (URL-encoded) document.
#[derive(Debug, Clone, PartialEq)]
pub struct Managed {
    pub arn: String,
    pub name: String,
    pub document: String,
}

/// Everything read from IAM for one inventory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub users: Vec<User>,
    pub groups: Vec<Named>,
    pub roles: Vec<Named>,
    /// (user, group) memberships.
    pub memberships: Vec<(String, String)>,
    /// (holder, holder name, policy ARN) attachments.
    pub attachments: Vec<(Holder, String, String)>,
    pub inline: Vec<Inline>,
    pub managed: Vec<Managed>,
    pub keys: Vec<(AccessKey, Option<LastUsed>)>,
}

/// A document that cannot be read is kept as a policy without statements and named in `notes`.
fn statements_of(id: &str, document: &str, notes: &mut Vec<String>) -> Vec<Statement> {
    match policy::parse(document) {
        Ok(s) => s,
        Err(e) => {
            notes.push(format!(
                "policy {id}: {e}; its statements are not in the inventory"
            ));
            Vec::new()
        }
    }
}

/// Whether any pattern of `list` is a bare `*`.
fn has_star(list: &Option<Vec<String>>) -> bool {
    list.as_ref().is_some_and(|l| l.iter().any(|p| p == "*"))
}

/// The action class of a statement: `deny` for Deny; `admin` when it reaches every action or
/// IAM itself (`*`, `iam:*`, any NotAction); `read` when every action it names is a read
/// (`Get`, `List`, `Describe`); else `write`.
pub fn statement_action(s: &Statement) -> Action {
    if s.is_deny() {
        return Action::Deny;
    }
    let Some(actions) = &s.action else {
        return Action::Admin;
    };
    let admin = actions.iter().any(|a| {
        let l = a.to_ascii_lowercase();
        l == "*" || l.starts_with("iam:*")
    });
    if admin {
        return Action::Admin;
    }
    let read = actions.iter().all(|a| {
        let verb = a.split_once(':').map_or(a.as_str(), |(_, v)| v);
        ["Get", "List", "Describe"]
            .iter()
            .any(|p| verb.len() > p.len() && verb[..p.len()].eq_ignore_ascii_case(p))
    });
    if read {
        Action::Read
    } else {
        Action::Write
    }
}

fn statement_permission(policy_id: &str, i: usize, s: &Statement) -> Permission {
    let resource = match (&s.resource, &s.not_resource) {
        (Some(r), _) => r.join(" "),
        (None, Some(n)) => format!("NOT {}", n.join(" ")),
        (None, None) => String::new(),
    };
    let actions = match (&s.action, &s.not_action) {
        (Some(a), _) => a.join(" "),
        (None, Some(n)) => format!("NOT {}", n.join(" ")),
        (None, None) => String::new(),
    };
    let mut raw = s.raw();
    let superuser =
        !s.is_deny() && has_star(&s.action) && has_star(&s.resource) && s.condition.is_none();
    if let Value::Object(m) = &mut raw {
        m.insert("policy".into(), json!(policy_id));
        m.insert("superuser".into(), json!(superuser));
        let wild = |l: &Option<Vec<String>>| {
            l.as_ref()
                .is_some_and(|v| v.iter().any(|p| p.contains('*') || p.contains('?')))
        };
        let wildcard = wild(&s.action)
            || wild(&s.resource)
            || s.not_action.is_some()
            || s.not_resource.is_some();
        m.insert("wildcard".into(), json!(wildcard));
    }
    Permission {
        external_id: format!("{policy_id}#{i}"),
        name: format!(
            "{} {} on {}{}",
            s.effect,
            actions,
            resource,
            s.sid
                .as_deref()
                .map(|x| format!(" ({x})"))
                .unwrap_or_default()
        ),
        resource,
        action: statement_action(s),
        raw,
    }
}

fn inline_id(i: &Inline) -> String {
    format!("inline/{}/{}/{}", i.holder.as_str(), i.owner, i.name)
}

fn grant(from: (NodeKind, String), to_kind: NodeKind, to_id: String) -> Grant {
    Grant {
        from_kind: from.0,
        from_id: from.1,
        to_kind,
        to_id,
    }
}

fn ts(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| json!(t.to_rfc3339()))
}

fn principals(s: &Snapshot) -> Vec<Principal> {
    let users = s.users.iter().map(|u| Principal {
        external_id: format!("user/{}", u.name),
        kind: PrincipalKind::User,
        name: u.name.clone(),
        enabled: true,
        attrs: json!({
            "arn": u.arn, "user_id": u.id, "path": u.path, "created_at": ts(u.created),
            "password_last_used": ts(u.password_last_used),
        }),
    });
    let roles = s.roles.iter().map(|r| Principal {
        external_id: format!("role/{}", r.name),
        kind: PrincipalKind::Service,
        name: r.name.clone(),
        enabled: true,
        attrs: json!({
            "arn": r.arn, "role_id": r.id, "created_at": ts(r.created),
            "trust_policy": r.document.as_deref().and_then(|d| policy::decode(d).ok())
                .and_then(|d| serde_json::from_str::<Value>(&d).ok()),
        }),
    });
    users.chain(roles).collect()
}

fn credential(key: &AccessKey, used: Option<&LastUsed>) -> Credential {
    let active = key.status == "Active";
    Credential {
        external_id: key.id.clone(),
        kind: CredentialKind::ApiKey,
        principal_external_id: key.user.as_ref().map(|u| format!("user/{u}")),
        client: None,
        scopes: Vec::new(),
        issued_at: key.created,
        expires_at: None,
        last_used_at: used.and_then(|u| u.at),
        status: if active {
            CredentialStatus::Active
        } else {
            CredentialStatus::Unknown
        },
        attrs: json!({
            "aws_status": key.status,
            "last_used_service": used.and_then(|u| u.service.clone()),
            "last_used_region": used.and_then(|u| u.region.clone()),
        }),
    }
}

/// The inventory, and notes on what could not be read.
pub fn map_inventory(s: &Snapshot) -> (Inventory, Vec<String>) {
    let mut inv = Inventory {
        principals: principals(s),
        ..Inventory::default()
    };
    let mut notes = Vec::new();
    let mut roles: BTreeMap<String, Role> = BTreeMap::new();
    for g in &s.groups {
        let id = format!("group/{}", g.name);
        roles.insert(
            id.clone(),
            Role {
                external_id: id,
                name: g.name.clone(),
                description: Some("IAM group".into()),
            },
        );
    }
    let mut statements: Vec<(String, Vec<Statement>)> = Vec::new();
    for m in &s.managed {
        let aws = m.arn.starts_with("arn:aws:iam::aws:");
        roles.insert(
            m.arn.clone(),
            Role {
                external_id: m.arn.clone(),
                name: m.name.clone(),
                description: Some(
                    if aws {
                        "AWS managed policy"
                    } else {
                        "customer managed policy"
                    }
                    .into(),
                ),
            },
        );
        statements.push((
            m.arn.clone(),
            statements_of(&m.arn, &m.document, &mut notes),
        ));
    }
    for i in &s.inline {
        let id = inline_id(i);
        roles.insert(
            id.clone(),
            Role {
                external_id: id.clone(),
                name: i.name.clone(),
                description: Some(format!(
                    "inline policy of {} {}",
                    i.holder.as_str(),
                    i.owner
                )),
            },
        );
        statements.push((id.clone(), statements_of(&id, &i.document, &mut notes)));
        inv.grants
            .push(grant(i.holder.node(&i.owner), NodeKind::Role, id));
    }
    for (policy_id, list) in &statements {
        for (n, st) in list.iter().enumerate() {
            let p = statement_permission(policy_id, n, st);
            inv.grants.push(grant(
                (NodeKind::Role, policy_id.clone()),
                NodeKind::Permission,
                p.external_id.clone(),
            ));
            inv.permissions.push(p);
        }
    }
    for (user, group) in &s.memberships {
        inv.grants.push(grant(
            Holder::User.node(user),
            NodeKind::Role,
            format!("group/{group}"),
        ));
    }
    let mut attached = BTreeSet::new();
    for (holder, name, arn) in &s.attachments {
        if !roles.contains_key(arn) {
            notes.push(format!(
                "{} {name}: attached policy {arn} was not read",
                holder.as_str()
            ));
            continue;
        }
        if attached.insert((*holder, name.clone(), arn.clone())) {
            inv.grants
                .push(grant(holder.node(name), NodeKind::Role, arn.clone()));
        }
    }
    inv.roles = roles.into_values().collect();
    inv.credentials = s
        .keys
        .iter()
        .map(|(k, used)| credential(k, used.as_ref()))
        .collect();
    (inv, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(statements: &str) -> String {
        format!(r#"{{"Version":"2012-10-17","Statement":{statements}}}"#)
    }

    #[test]
    fn users_groups_policies_statements_and_keys() {
        let s = Snapshot {
            users: vec![User {
                name: "ana".into(),
                id: Some("AIDA1".into()),
                arn: None,
                path: None,
                created: None,
                password_last_used: None,
            }],
            groups: vec![Named {
                name: "ops".into(),
                id: None,
                arn: None,
                created: None,
                document: None,
                default_version: None,
            }],
            memberships: vec![("ana".into(), "ops".into())],
            attachments: vec![
                (
                    Holder::Group,
                    "ops".into(),
                    "arn:aws:iam::1:policy/p".into(),
                ),
                (
                    Holder::User,
                    "ana".into(),
                    "arn:aws:iam::1:policy/missing".into(),
                ),
            ],
            managed: vec![Managed {
                arn: "arn:aws:iam::1:policy/p".into(),
                name: "p".into(),
                document: doc(
                    r#"[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","NotAction":["iam:Get*"],"NotResource":"arn:x"}]"#,
                ),
            }],
            inline: vec![Inline {
                holder: Holder::User,
                owner: "ana".into(),
                name: "own".into(),
                document: doc(
                    r#"{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"arn:aws:s3:::b/*"}"#,
                ),
            }],
            keys: vec![(
                AccessKey {
                    id: "AKIA1".into(),
                    user: Some("ana".into()),
                    status: "Inactive".into(),
                    created: None,
                },
                None,
            )],
            ..Snapshot::default()
        };
        let (inv, notes) = map_inventory(&s);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert_eq!(inv.permissions.len(), 3);
        let admin = &inv
            .permissions
            .iter()
            .find(|p| p.external_id == "arn:aws:iam::1:policy/p#0")
            .unwrap();
        assert_eq!(admin.action, Action::Admin);
        assert_eq!(admin.raw["superuser"], true);
        let deny = &inv
            .permissions
            .iter()
            .find(|p| p.external_id == "arn:aws:iam::1:policy/p#1")
            .unwrap();
        assert_eq!(deny.action, Action::Deny);
        assert_eq!(deny.raw["NotAction"], json!(["iam:Get*"]));
        assert_eq!(deny.raw["NotResource"], json!(["arn:x"]));
        let own = inv
            .permissions
            .iter()
            .find(|p| p.external_id.starts_with("inline/user/ana/own"))
            .unwrap();
        assert_eq!(own.action, Action::Read);
        assert!(inv
            .grants
            .iter()
            .any(|g| g.from_id == "user/ana" && g.to_id == "group/ops"));
        assert!(inv
            .grants
            .iter()
            .any(|g| g.from_id == "group/ops" && g.to_id == "arn:aws:iam::1:policy/p"));
        assert_eq!(inv.credentials[0].status, CredentialStatus::Unknown);
        assert_eq!(
            inv.credentials[0].principal_external_id.as_deref(),
            Some("user/ana")
        );
    }
}
