//! hoop's answers mapped into the model. Pure, and fuzzed: every field of every answer is
//! optional, and nothing here can panic.
//!
//! What a principal may do on hoop is decided by hoop's own rules (`gateway/models/
//! connections.go`, `gateway/transport/interceptors/accessrequest`):
//! - the `admin` group may do everything, and the `auditor` group sees every connection and
//!   reads every session: both are **roles** with a backend-wide permission;
//! - with the `access_control` plugin off, every principal reaches every connection: the
//!   virtual role [`EVERYONE`] holds those grants and every principal is its member;
//! - with it on, a group reaches a connection when the plugin lists the group for it, or when
//!   an attribute binds the group and the connection;
//! - a connection offers only the access modes it has enabled: `connect` (port forwarding),
//!   `exec` (ad hoc executions), `runbooks`, and `schema` (introspection) — one permission
//!   each, `CONNECTION|MODE`;
//! - an access-request rule (`jit` for connect, `command` for exec) or the legacy `review`
//!   plugin makes a mode need approval: its permission carries the rule in `raw.approval`,
//!   which the access model reads as a partial grant (who skips review depends on all of a
//!   user's groups, which the rule lists beside it).
//!
//! Credentials: API keys and AI agents (each also a principal of its own, named by its id as
//! hoop's sessions and audit log name it, since hoop gives a key the rights of its groups, not
//! of a user), approved just-in-time access (a review held by its
//! user, scoped to its connection's `connect`, expiring at `revoke_at`) and open sessions
//! (scoped to their connection and verb, until killed). Users sign in through the identity
//! provider; hoop lists no credential of theirs.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use portcullis_model::{
    Action, Credential, CredentialKind, CredentialStatus, Grant, Inventory, NodeKind, Permission,
    Principal, PrincipalKind, Role,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// The virtual role every principal holds while the `access_control` plugin is off.
pub use portcullis_model::HOOP_EVERYONE as EVERYONE;
/// hoop's built-in groups (`gateway/storagev2/types`).
pub const ADMIN_GROUP: &str = "admin";
pub const AUDITOR_GROUP: &str = "auditor";
/// The permission ids of the two built-in groups' rights.
pub const ADMIN_PERMISSION: &str = "*|admin";
pub const AUDITOR_PERMISSION: &str = "*|audit";

/// A connection's access modes, in the order hoop's API names them.
pub const MODES: [(&str, Action, &str); 4] = [
    (
        "connect",
        Action::Execute,
        "port forwarding: a native client with the connection's credentials",
    ),
    ("exec", Action::Execute, "ad hoc executions"),
    ("runbooks", Action::Execute, "runbook executions"),
    ("schema", Action::Read, "schema introspection"),
];

/// `openapi.User` (`id` is the user's subject, as sessions name it).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct User {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default, deserialize_with = "strings")]
    pub groups: Vec<String>,
}

/// `openapi.ServiceAccount`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServiceAccount {
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "strings")]
    pub groups: Vec<String>,
}

/// `openapi.APIKeyResponse` and `openapi.AIAgentResponse`, which share their shape.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Key {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub masked_key: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "strings")]
    pub groups: Vec<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub last_used_at: Option<String>,
    #[serde(default)]
    pub deactivated_at: Option<String>,
}

/// `openapi.Connection`, the fields that decide access.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Connection {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub subtype: Option<String>,
    #[serde(default)]
    pub access_mode_connect: Option<String>,
    #[serde(default)]
    pub access_mode_exec: Option<String>,
    #[serde(default)]
    pub access_mode_runbooks: Option<String>,
    #[serde(default)]
    pub access_schema: Option<String>,
    #[serde(default, deserialize_with = "strings")]
    pub reviewers: Vec<String>,
    #[serde(default, deserialize_with = "strings")]
    pub attributes: Vec<String>,
}

/// `openapi.Plugin` (the `access_control` one), with the groups listed per connection.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Plugin {
    #[serde(default)]
    pub name: String,
    #[serde(default, deserialize_with = "seq")]
    pub connections: Vec<PluginConnection>,
}

/// `openapi.PluginResourceConnection`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PluginConnection {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "strings")]
    pub config: Vec<String>,
}

/// `openapi.AccessRequestRule`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Rule {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub access_type: Option<String>,
    #[serde(default, deserialize_with = "strings")]
    pub connection_names: Vec<String>,
    #[serde(default, deserialize_with = "strings")]
    pub attributes: Vec<String>,
    #[serde(default, deserialize_with = "strings")]
    pub approval_required_groups: Vec<String>,
    #[serde(default, deserialize_with = "strings")]
    pub skip_review_groups: Vec<String>,
    #[serde(default, deserialize_with = "strings")]
    pub reviewers_groups: Vec<String>,
    #[serde(default)]
    pub min_approvals: Option<i64>,
}

/// `openapi.Attributes`, the bindings that grant access.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Attribute {
    #[serde(default)]
    pub name: String,
    #[serde(default, deserialize_with = "strings")]
    pub access_control_group_names: Vec<String>,
    #[serde(default, deserialize_with = "strings")]
    pub connection_names: Vec<String>,
}

/// `openapi.Session`, without its input, output and metadata (never read: they may hold
/// anything a user typed).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Session {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub connection: Option<String>,
    #[serde(default)]
    pub verb: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub end_date: Option<String>,
    #[serde(default)]
    pub exit_code: Option<i64>,
    #[serde(default)]
    pub identity_type: Option<String>,
    #[serde(default)]
    pub review: Option<SessionReview>,
}

/// `openapi.SessionReview`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SessionReview {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub access_duration: Option<i64>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub revoke_at: Option<String>,
    #[serde(default)]
    pub access_request_rule_name: Option<String>,
}

/// Everything one inventory is read from.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub users: Vec<User>,
    pub service_accounts: Vec<ServiceAccount>,
    pub api_keys: Vec<Key>,
    pub ai_agents: Vec<Key>,
    pub connections: Vec<Connection>,
    /// `None`: the `access_control` plugin is not enabled (hoop answered 404).
    pub access_control: Option<Plugin>,
    pub rules: Vec<Rule>,
    pub attributes: Vec<Attribute>,
    /// Recent sessions: open ones and approved just-in-time access are credentials.
    pub sessions: Vec<Session>,
}

/// A list of strings where one is expected; anything else (null, a number) is an empty list.
fn strings<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(portcullis_model::string_list(Some(&Value::deserialize(d)?)))
}

/// A list of objects; items that are not the expected shape are dropped, null is empty.
fn seq<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::Array(a) => a
            .into_iter()
            .filter_map(|x| serde_json::from_value(x).ok())
            .collect(),
        _ => Vec::new(),
    })
}

pub fn time(text: Option<&str>) -> Option<DateTime<Utc>> {
    text.filter(|t| !t.is_empty())?.parse().ok()
}

/// A credential id says what it is; the key's principal is its bare id, the subject hoop
/// names it by in sessions and the audit log.
pub fn key_credential(kind: KeyKind, id: &str) -> String {
    format!("{}:{id}", kind.as_str())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    ApiKey,
    AiAgent,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::ApiKey => "api-key",
            KeyKind::AiAgent => "ai-agent",
        }
    }

    /// The collection hoop serves these keys under.
    pub fn collection(self) -> &'static str {
        match self {
            KeyKind::ApiKey => "api-keys",
            KeyKind::AiAgent => "ai-agents",
        }
    }
}

/// A credential id says what it is: `api-key:ID`, `ai-agent:ID`, `review:ID`, `session:ID`.
pub fn credential_target(external_id: &str) -> Option<(&str, &str)> {
    let (kind, id) = external_id.split_once(':')?;
    matches!(kind, "api-key" | "ai-agent" | "review" | "session")
        .then_some((kind, id))
        .filter(|(_, id)| !id.is_empty())
}

pub fn map_inventory(s: &Snapshot, now: DateTime<Utc>) -> Inventory {
    let mut inv = Inventory::default();
    let mut groups: BTreeSet<String> = [ADMIN_GROUP, AUDITOR_GROUP]
        .into_iter()
        .map(str::to_string)
        .collect();
    let mut members: Vec<(String, Vec<String>)> = Vec::new();
    principals(s, &mut inv, &mut members);
    keys(s, now, &mut inv, &mut members);
    for (_, gs) in &members {
        groups.extend(gs.iter().cloned());
    }
    let perms = connections(s, &mut inv);
    access(s, &perms, &mut groups, &mut inv);
    for g in &groups {
        inv.roles.push(Role {
            external_id: g.clone(),
            name: g.clone(),
            description: match g.as_str() {
                ADMIN_GROUP => Some("hoop administrators: every route and every connection".into()),
                AUDITOR_GROUP => Some("hoop auditors: read every connection, user and session".into()),
                EVERYONE => Some("every principal: the access_control plugin is off, so every connection is open to all".into()),
                _ => None,
            },
        });
    }
    for (principal, gs) in members {
        let mut seen = BTreeSet::new();
        for g in gs.into_iter().filter(|g| seen.insert(g.clone())) {
            inv.grants
                .push(edge(NodeKind::Principal, &principal, NodeKind::Role, &g));
        }
        if s.access_control.is_none() {
            inv.grants.push(edge(
                NodeKind::Principal,
                &principal,
                NodeKind::Role,
                EVERYONE,
            ));
        }
    }
    sessions(s, now, &mut inv);
    inv
}

fn edge(from_kind: NodeKind, from: &str, to_kind: NodeKind, to: &str) -> Grant {
    Grant {
        from_kind,
        from_id: from.to_string(),
        to_kind,
        to_id: to.to_string(),
    }
}

fn principals(s: &Snapshot, inv: &mut Inventory, members: &mut Vec<(String, Vec<String>)>) {
    for u in s.users.iter().filter(|u| !u.id.is_empty()) {
        inv.principals.push(Principal {
            external_id: u.id.clone(),
            kind: PrincipalKind::User,
            name: if u.email.is_empty() {
                u.name.clone().unwrap_or_else(|| u.id.clone())
            } else {
                u.email.clone()
            },
            enabled: u.status.as_deref() == Some("active"),
            attrs: json!({"status": u.status, "role": u.role, "display_name": u.name, "groups": u.groups}),
        });
        members.push((u.id.clone(), u.groups.clone()));
    }
    for a in s.service_accounts.iter().filter(|a| !a.subject.is_empty()) {
        inv.principals.push(Principal {
            external_id: a.subject.clone(),
            kind: PrincipalKind::Service,
            name: a.name.clone().unwrap_or_else(|| a.subject.clone()),
            enabled: a.status.as_deref() == Some("active"),
            attrs: json!({"status": a.status, "service_account": true, "groups": a.groups}),
        });
        members.push((a.subject.clone(), a.groups.clone()));
    }
}

fn keys(
    s: &Snapshot,
    now: DateTime<Utc>,
    inv: &mut Inventory,
    members: &mut Vec<(String, Vec<String>)>,
) {
    let all = s
        .api_keys
        .iter()
        .map(|k| (KeyKind::ApiKey, k))
        .chain(s.ai_agents.iter().map(|k| (KeyKind::AiAgent, k)));
    for (kind, k) in all.filter(|(_, k)| !k.id.is_empty()) {
        let principal = k.id.clone();
        let active = k.status.as_deref() == Some("active");
        inv.principals.push(Principal {
            external_id: principal.clone(),
            kind: PrincipalKind::Service,
            name: k.name.clone().unwrap_or_else(|| k.id.clone()),
            enabled: active,
            attrs: json!({"key_kind": kind.as_str(), "created_by": k.created_by, "groups": k.groups}),
        });
        let last_used = time(k.last_used_at.as_deref());
        inv.credentials.push(Credential {
            external_id: key_credential(kind, &k.id),
            kind: CredentialKind::ApiKey,
            principal_external_id: Some(principal.clone()),
            client: None,
            scopes: Vec::new(),
            issued_at: time(k.created_at.as_deref()),
            // hoop's keys never expire: they live until revoked.
            expires_at: None,
            last_used_at: last_used.filter(|t| *t <= now),
            status: match k.status.as_deref() {
                Some("active") => CredentialStatus::Active,
                Some("revoked") => CredentialStatus::Revoked,
                _ => CredentialStatus::Unknown,
            },
            attrs: json!({
                "masked_key": k.masked_key,
                "key_kind": kind.as_str(),
                "created_by": k.created_by,
                "deactivated_at": k.deactivated_at,
            }),
        });
        members.push((principal, k.groups.clone()));
    }
}

/// One permission per enabled access mode of each connection, `CONNECTION|MODE`; returns the
/// permission ids per connection name.
fn connections(s: &Snapshot, inv: &mut Inventory) -> BTreeMap<String, Vec<String>> {
    let approvals = approvals(s);
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in s.connections.iter().filter(|c| !c.name.is_empty()) {
        if out.contains_key(&c.name) {
            continue;
        }
        let enabled = [
            &c.access_mode_connect,
            &c.access_mode_exec,
            &c.access_mode_runbooks,
            &c.access_schema,
        ];
        let mut ids = Vec::new();
        for ((mode, action, what), flag) in MODES.iter().zip(enabled) {
            if flag.as_deref() != Some("enabled") {
                continue;
            }
            let id = format!("{}|{mode}", c.name);
            let approval = approvals.get(&(c.name.clone(), *mode)).cloned();
            inv.permissions.push(Permission {
                external_id: id.clone(),
                name: format!("{mode} on {} ({what})", c.name),
                resource: c.name.clone(),
                action: *action,
                raw: json!({
                    "verb": mode,
                    "connection_id": c.id,
                    "type": c.kind,
                    "subtype": c.subtype,
                    "attributes": c.attributes,
                    "approval": approval,
                }),
            });
            ids.push(id);
        }
        out.insert(c.name.clone(), ids);
    }
    for (id, name, action, raw) in [
        (
            ADMIN_PERMISSION,
            "every route and connection of the gateway (admin group)",
            Action::Admin,
            json!({"superuser": true}),
        ),
        (
            AUDITOR_PERMISSION,
            "read every connection, user and session (auditor group)",
            Action::Read,
            json!({"wildcard": true, "verb": "audit"}),
        ),
    ] {
        inv.permissions.push(Permission {
            external_id: id.into(),
            name: name.into(),
            resource: "*".into(),
            action,
            raw,
        });
    }
    out
}

/// Which (connection, mode) needs approval, and by which rule: access-request rules (`jit`
/// covers connect, `command` covers exec, `jit_command` both; by name or by attribute) and the
/// legacy review plugin's reviewers on a connection (exec).
fn approvals(s: &Snapshot) -> BTreeMap<(String, &'static str), Value> {
    let mut out = BTreeMap::new();
    for c in &s.connections {
        if !c.reviewers.is_empty() {
            out.insert(
                (c.name.clone(), "exec"),
                json!({"review_plugin": true, "reviewers_groups": c.reviewers}),
            );
        }
    }
    for r in &s.rules {
        let modes: &[&'static str] = match r.access_type.as_deref() {
            Some("jit") => &["connect"],
            Some("command") => &["exec"],
            Some("jit_command") => &["connect", "exec"],
            _ => &[],
        };
        let covered = s.connections.iter().filter(|c| {
            r.connection_names.contains(&c.name)
                || c.attributes.iter().any(|a| r.attributes.contains(a))
        });
        for c in covered {
            for m in modes {
                out.insert(
                    (c.name.clone(), *m),
                    json!({
                        "rule": r.name,
                        "approval_required_groups": r.approval_required_groups,
                        "skip_review_groups": r.skip_review_groups,
                        "reviewers_groups": r.reviewers_groups,
                        "min_approvals": r.min_approvals,
                    }),
                );
            }
        }
    }
    out
}

/// The grants from groups (or [`EVERYONE`]) to connections, and the built-in groups' rights.
fn access(
    s: &Snapshot,
    perms: &BTreeMap<String, Vec<String>>,
    groups: &mut BTreeSet<String>,
    inv: &mut Inventory,
) {
    inv.grants.push(edge(
        NodeKind::Role,
        ADMIN_GROUP,
        NodeKind::Permission,
        ADMIN_PERMISSION,
    ));
    inv.grants.push(edge(
        NodeKind::Role,
        AUDITOR_GROUP,
        NodeKind::Permission,
        AUDITOR_PERMISSION,
    ));
    let mut bound: BTreeSet<(String, String)> = BTreeSet::new();
    match &s.access_control {
        None => {
            groups.insert(EVERYONE.into());
            for name in perms.keys() {
                bound.insert((EVERYONE.into(), name.clone()));
            }
        }
        Some(plugin) => {
            for pc in &plugin.connections {
                let name = pc.name.clone().or_else(|| {
                    s.connections
                        .iter()
                        .find(|c| c.id.is_some() && c.id == pc.id)
                        .map(|c| c.name.clone())
                });
                let Some(name) = name else { continue };
                for g in &pc.config {
                    bound.insert((g.clone(), name.clone()));
                }
            }
            for a in &s.attributes {
                for c in s.connections.iter().filter(|c| {
                    c.attributes.contains(&a.name) || a.connection_names.contains(&c.name)
                }) {
                    for g in &a.access_control_group_names {
                        bound.insert((g.clone(), c.name.clone()));
                    }
                }
            }
        }
    }
    for (group, conn) in bound {
        let Some(ids) = perms.get(&conn) else {
            continue;
        };
        groups.insert(group.clone());
        for id in ids {
            inv.grants
                .push(edge(NodeKind::Role, &group, NodeKind::Permission, id));
        }
    }
}

/// Approved just-in-time access and open sessions: live access a responder may end.
fn sessions(s: &Snapshot, now: DateTime<Utc>, inv: &mut Inventory) {
    let mut seen = BTreeSet::new();
    for x in s.sessions.iter().filter(|x| !x.id.is_empty()) {
        let conn = x.connection.clone().unwrap_or_default();
        let verb = x.verb.clone().unwrap_or_else(|| "exec".into());
        if let Some(r) = x.review.as_ref().filter(|r| !r.id.is_empty()) {
            if let Some(c) = jit_credential(x, r, &conn, now) {
                if seen.insert(c.external_id.clone()) {
                    inv.credentials.push(c);
                }
            }
        }
        if x.status.as_deref() == Some("open") && x.end_date.is_none() {
            let id = format!("session:{}", x.id);
            if seen.insert(id.clone()) {
                inv.credentials.push(Credential {
                    external_id: id,
                    kind: CredentialKind::Session,
                    principal_external_id: x.user_id.clone(),
                    client: None,
                    scopes: vec![format!("{conn}|{verb}")],
                    issued_at: time(x.start_date.as_deref()),
                    expires_at: None,
                    last_used_at: None,
                    status: CredentialStatus::Active,
                    attrs: json!({"connection": conn, "verb": verb, "user": x.user}),
                });
            }
        }
    }
}

/// A `jit` review that was approved: access to its connection until `revoke_at` (or its start
/// plus its duration, in nanoseconds).
fn jit_credential(
    x: &Session,
    r: &SessionReview,
    conn: &str,
    now: DateTime<Utc>,
) -> Option<Credential> {
    if r.kind.as_deref() != Some("jit") {
        return None;
    }
    let issued = time(r.created_at.as_deref());
    let expires = time(r.revoke_at.as_deref()).or_else(|| {
        let ns = r.access_duration.filter(|d| *d > 0)?;
        issued?.checked_add_signed(Duration::nanoseconds(ns))
    });
    let status = match r.status.as_deref() {
        Some("APPROVED") if expires.is_some_and(|e| e <= now) => CredentialStatus::Expired,
        Some("APPROVED") => CredentialStatus::Active,
        Some("REVOKED") => CredentialStatus::Revoked,
        _ => return None,
    };
    Some(Credential {
        external_id: format!("review:{}", r.id),
        kind: CredentialKind::Session,
        principal_external_id: x.user_id.clone(),
        client: None,
        scopes: vec![format!("{conn}|connect")],
        issued_at: issued,
        expires_at: expires,
        last_used_at: None,
        status,
        attrs: json!({"connection": conn, "review": "jit", "session": x.id, "rule": r.access_request_rule_name}),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(name: &str, modes: [&str; 4]) -> Connection {
        let m = |s: &str| Some(s.to_string());
        Connection {
            id: Some(format!("id-{name}")),
            name: name.into(),
            access_mode_connect: m(modes[0]),
            access_mode_exec: m(modes[1]),
            access_mode_runbooks: m(modes[2]),
            access_schema: m(modes[3]),
            ..Default::default()
        }
    }

    fn user(id: &str, groups: &[&str]) -> User {
        User {
            id: id.into(),
            email: format!("{id}@example.com"),
            status: Some("active".into()),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..Default::default()
        }
    }

    fn grants_to(inv: &Inventory, role: &str) -> Vec<String> {
        inv.grants
            .iter()
            .filter(|g| g.from_id == role && g.to_kind == NodeKind::Permission)
            .map(|g| g.to_id.clone())
            .collect()
    }

    #[test]
    fn only_enabled_modes_become_permissions_and_the_plugin_decides_who() {
        let s = Snapshot {
            users: vec![user("alice", &["dba"]), user("bob", &["dev"])],
            connections: vec![
                conn("pg", ["enabled", "enabled", "disabled", "enabled"]),
                conn("shell", ["disabled", "enabled", "enabled", "disabled"]),
            ],
            access_control: Some(Plugin {
                name: "access_control".into(),
                connections: vec![PluginConnection {
                    id: Some("id-pg".into()),
                    name: None,
                    config: vec!["dba".into()],
                }],
            }),
            ..Default::default()
        };
        let inv = map_inventory(&s, Utc::now());
        assert_eq!(
            grants_to(&inv, "dba"),
            ["pg|connect", "pg|exec", "pg|schema"]
        );
        assert!(grants_to(&inv, "dev").is_empty());
        assert!(!inv.roles.iter().any(|r| r.external_id == EVERYONE));
        assert!(inv
            .permissions
            .iter()
            .any(|p| p.external_id == "shell|runbooks"));
        assert!(!inv
            .permissions
            .iter()
            .any(|p| p.external_id == "shell|connect"));
    }

    #[test]
    fn without_access_control_everyone_reaches_every_connection() {
        let s = Snapshot {
            users: vec![user("alice", &[])],
            connections: vec![conn("pg", ["enabled", "disabled", "disabled", "disabled"])],
            ..Default::default()
        };
        let inv = map_inventory(&s, Utc::now());
        assert_eq!(grants_to(&inv, EVERYONE), ["pg|connect"]);
        assert!(inv
            .grants
            .iter()
            .any(|g| g.from_id == "alice" && g.to_id == EVERYONE));
    }

    #[test]
    fn attributes_bind_groups_and_rules_mark_approval() {
        let mut pg = conn("pg", ["enabled", "enabled", "disabled", "disabled"]);
        pg.attributes = vec!["production".into()];
        let s = Snapshot {
            users: vec![user("alice", &["sre"])],
            connections: vec![pg],
            access_control: Some(Plugin::default()),
            attributes: vec![Attribute {
                name: "production".into(),
                access_control_group_names: vec!["sre".into()],
                connection_names: vec![],
            }],
            rules: vec![Rule {
                name: "prod-approvals".into(),
                access_type: Some("command".into()),
                attributes: vec!["production".into()],
                ..Default::default()
            }],
            ..Default::default()
        };
        let inv = map_inventory(&s, Utc::now());
        assert_eq!(grants_to(&inv, "sre"), ["pg|connect", "pg|exec"]);
        let approval = |id: &str| {
            inv.permissions
                .iter()
                .find(|p| p.external_id == id)
                .map(|p| p.raw["approval"].clone())
                .unwrap()
        };
        assert_eq!(approval("pg|exec")["rule"], "prod-approvals");
        assert!(approval("pg|connect").is_null());
    }

    #[test]
    fn keys_are_principals_with_their_groups_and_never_expire() {
        let s = Snapshot {
            api_keys: vec![Key {
                id: "k1".into(),
                name: Some("ci".into()),
                masked_key: Some("hpk_1nzb****".into()),
                status: Some("active".into()),
                groups: vec!["admin".into()],
                last_used_at: Some("2026-11-30T10:00:00Z".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        let inv = map_inventory(&s, Utc::now());
        let c = &inv.credentials[0];
        assert_eq!(c.external_id, "api-key:k1");
        assert_eq!(c.principal_external_id.as_deref(), Some("k1"));
        assert_eq!(c.expires_at, None);
        assert_eq!(c.status, CredentialStatus::Active);
        assert!(inv
            .grants
            .iter()
            .any(|g| g.from_id == "k1" && g.to_id == ADMIN_GROUP));
        assert_eq!(credential_target("api-key:k1"), Some(("api-key", "k1")));
        assert_eq!(credential_target("k1"), None);
    }

    #[test]
    fn approved_jit_reviews_and_open_sessions_are_live_access() {
        let now: DateTime<Utc> = "2026-12-01T12:00:00Z".parse().unwrap();
        let session = |id: &str, status: &str, review: Option<(&str, &str)>| Session {
            id: id.into(),
            user_id: Some("alice".into()),
            connection: Some("pg".into()),
            verb: Some("connect".into()),
            status: Some(status.into()),
            review: review.map(|(st, until)| SessionReview {
                id: format!("r-{id}"),
                status: Some(st.into()),
                kind: Some("jit".into()),
                revoke_at: Some(until.into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let s = Snapshot {
            sessions: vec![
                session("s1", "open", Some(("APPROVED", "2026-12-01T13:00:00Z"))),
                session("s2", "done", Some(("APPROVED", "2026-12-01T11:00:00Z"))),
                session("s3", "done", Some(("PENDING", "2026-12-01T13:00:00Z"))),
            ],
            ..Default::default()
        };
        let inv = map_inventory(&s, now);
        let st = |id: &str| {
            inv.credentials
                .iter()
                .find(|c| c.external_id == id)
                .map(|c| c.status)
        };
        assert_eq!(st("review:r-s1"), Some(CredentialStatus::Active));
        assert_eq!(st("session:s1"), Some(CredentialStatus::Active));
        assert_eq!(st("review:r-s2"), Some(CredentialStatus::Expired));
        assert_eq!(st("review:r-s3"), None);
        assert_eq!(st("session:s2"), None);
    }

    #[test]
    fn hostile_shapes_are_dropped_not_fatal() {
        let u: User = serde_json::from_value(json!({"id": "x", "groups": null})).unwrap();
        assert!(u.groups.is_empty());
        let p: Plugin =
            serde_json::from_value(json!({"name": "access_control", "connections": [1, {"name": "pg", "config": [2, "dba"]}]}))
                .unwrap();
        assert_eq!(p.connections.len(), 1);
        assert_eq!(p.connections[0].config, ["dba"]);
    }
}
