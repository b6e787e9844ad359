//! GitLab's users, memberships and access tokens as the access model's inventory. Pure: the
//! mapping is fuzzed and tested on the documented payloads without a server.
//!
//! - Every user is a principal, named by GitLab's numeric id; `bot: true` (the users behind
//!   project and group access tokens, and service accounts) makes it a service, never its name.
//!   Only `state: active` can sign in; `blocked`, `deactivated`, `banned` … cannot, and GitLab
//!   refuses their tokens.
//! - `is_admin: true` grants the instance-wide permission [`ADMIN_PERMISSION`].
//! - A membership of a group or project at an access level is a grant of the role
//!   `group:PATH:LEVEL` / `project:PATH:LEVEL`, which grants the rights of that level there,
//!   cumulatively: view (Guest, Planner), read (Reporter), write (Developer), maintain
//!   (Maintainer), own (Owner). A group's rights reach its subgroups and projects: the dialect's
//!   resource matching reads that from the permission's `raw.inherited`.
//! - A personal, project or group access token is a credential of its user, carrying its scopes;
//!   the dialect limits what a scope lets the token do with its user's rights.

use chrono::{DateTime, NaiveDate, Utc};
use portcullis_model::{
    Action, Credential, CredentialKind, CredentialStatus, Grant, Inventory, NodeKind, Permission,
    Principal, PrincipalKind, Role,
};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

/// The permission every administrator holds: everything on the instance.
pub const ADMIN_PERMISSION: &str = "instance:admin";
/// An administrator's reading of every group and project, which a token with only a reading
/// scope (`read_api`) keeps.
pub const ADMIN_READ_PERMISSION: &str = "instance:read";

/// `GET /users` (as an administrator, who also sees `is_admin`).
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: u64,
    pub username: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub is_admin: Option<bool>,
    #[serde(default)]
    pub bot: Option<bool>,
}

/// `GET /groups` and `GET /projects`: what the mapping needs of a namespace.
#[derive(Debug, Clone, Deserialize)]
pub struct Namespace {
    pub id: u64,
    /// Groups have `full_path`, projects `path_with_namespace`.
    #[serde(default, alias = "path_with_namespace")]
    pub full_path: String,
}

/// `GET /groups/:id/members`, `GET /projects/:id/members`.
#[derive(Debug, Clone, Deserialize)]
pub struct Member {
    pub id: u64,
    pub access_level: u32,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// `GET /personal_access_tokens` (and the project / group access token listings).
#[derive(Debug, Clone, Deserialize)]
pub struct Token {
    pub id: u64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub revoked: bool,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub user_id: Option<u64>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_used_at: Option<DateTime<Utc>>,
    /// A date (`2026-12-31`): GitLab ends the token at the start of that day, UTC.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// Project and group access tokens: the level of the bot user that holds them.
    #[serde(default)]
    pub access_level: Option<u32>,
}

fn yes() -> bool {
    true
}

/// Which namespace a membership is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NamespaceKind {
    Group,
    Project,
}

impl NamespaceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NamespaceKind::Group => "group",
            NamespaceKind::Project => "project",
        }
    }
}

/// Everything the inventory is made of.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub users: Vec<User>,
    pub memberships: Vec<(NamespaceKind, Namespace, Vec<Member>)>,
    pub tokens: Vec<Token>,
}

/// GitLab's access levels (`doc/api/members.md`) and the rights each adds, lowest first.
const LEVELS: [(u32, &str, &str, Action, &str); 6] = [
    (
        10,
        "Guest",
        "view",
        Action::Read,
        "view issues and the wiki",
    ),
    (15, "Planner", "view", Action::Read, "view and plan issues"),
    (
        20,
        "Reporter",
        "read",
        Action::Read,
        "read code, packages and the registry",
    ),
    (
        30,
        "Developer",
        "write",
        Action::Write,
        "push code and open merge requests",
    ),
    (
        40,
        "Maintainer",
        "maintain",
        Action::Admin,
        "change settings, protected branches and members",
    ),
    (
        50,
        "Owner",
        "own",
        Action::Admin,
        "delete, transfer and manage everything",
    ),
];

/// The name GitLab gives a level (`Maintainer`), or the number when it is not documented.
pub fn level_name(level: u32) -> String {
    LEVELS
        .iter()
        .find(|l| l.0 == level)
        .map(|l| l.1.to_string())
        .unwrap_or_else(|| format!("access level {level}"))
}

pub fn role_id(kind: NamespaceKind, path: &str, level: u32) -> String {
    format!("{}:{path}:{level}", kind.as_str())
}

fn permission_id(kind: NamespaceKind, path: &str, right: &str) -> String {
    format!("{}:{path}:{right}", kind.as_str())
}

pub fn map_inventory(s: &Snapshot, now: DateTime<Utc>) -> Inventory {
    let mut inv = Inventory::default();
    let mut permissions: BTreeMap<String, Permission> = BTreeMap::new();
    let mut roles: BTreeMap<String, Role> = BTreeMap::new();
    for u in &s.users {
        let id = u.id.to_string();
        inv.principals.push(Principal {
            external_id: id.clone(),
            kind: if u.bot == Some(true) {
                PrincipalKind::Service
            } else {
                PrincipalKind::User
            },
            name: u.username.clone(),
            enabled: u.state.as_deref().is_none_or(|s| s == "active"),
            attrs: json!({"name": u.name, "state": u.state, "is_admin": u.is_admin, "bot": u.bot}),
        });
        if u.is_admin == Some(true) {
            for p in admin_permissions() {
                inv.grants
                    .push(grant(&id, NodeKind::Permission, &p.external_id));
                permissions.entry(p.external_id.clone()).or_insert(p);
            }
        }
    }
    for (kind, ns, members) in &s.memberships {
        for m in members {
            if m.state.as_deref().is_some_and(|st| st != "active") {
                continue;
            }
            let role = role_id(*kind, &ns.full_path, m.access_level);
            if !roles.contains_key(&role) {
                let (role_row, perms) = level_role(*kind, &ns.full_path, m.access_level);
                for p in perms {
                    inv.grants
                        .push(grant_from(NodeKind::Role, &role, &p.external_id));
                    permissions.entry(p.external_id.clone()).or_insert(p);
                }
                roles.insert(role.clone(), role_row);
            }
            inv.grants
                .push(grant(&m.id.to_string(), NodeKind::Role, &role));
        }
    }
    inv.credentials = s.tokens.iter().map(|t| credential(t, now)).collect();
    inv.roles = roles.into_values().collect();
    inv.permissions = permissions.into_values().collect();
    inv
}

fn admin_permissions() -> [Permission; 2] {
    [
        Permission {
            external_id: ADMIN_PERMISSION.into(),
            name: "administer the instance: every group, project, user and setting".into(),
            resource: "*".into(),
            action: Action::Admin,
            raw: json!({"superuser": true}),
        },
        Permission {
            external_id: ADMIN_READ_PERMISSION.into(),
            name: "read every group and project".into(),
            resource: "*".into(),
            action: Action::Read,
            raw: json!({"wildcard": true}),
        },
    ]
}

/// The role of one level in one namespace and the permissions it grants (every level's up to it).
fn level_role(kind: NamespaceKind, path: &str, level: u32) -> (Role, Vec<Permission>) {
    let role = Role {
        external_id: role_id(kind, path, level),
        name: format!("{} of {path}", level_name(level)),
        description: Some(format!("{} membership of {path}", kind.as_str())),
    };
    let mut perms: Vec<Permission> = Vec::new();
    for (min, _, right, action, what) in LEVELS {
        if level < min
            || perms
                .iter()
                .any(|p| p.external_id.ends_with(&format!(":{right}")))
        {
            continue;
        }
        perms.push(Permission {
            external_id: permission_id(kind, path, right),
            name: format!("{right} {path}: {what}"),
            resource: path.to_string(),
            action,
            raw: json!({
                "namespace": path,
                "kind": kind.as_str(),
                "right": right,
                // Group rights reach every subgroup and project under the group.
                "inherited": kind == NamespaceKind::Group,
            }),
        });
    }
    (role, perms)
}

fn grant(from_principal: &str, to_kind: NodeKind, to: &str) -> Grant {
    Grant {
        from_kind: NodeKind::Principal,
        from_id: from_principal.into(),
        to_kind,
        to_id: to.into(),
    }
}

fn grant_from(from_kind: NodeKind, from: &str, to_permission: &str) -> Grant {
    Grant {
        from_kind,
        from_id: from.into(),
        to_kind: NodeKind::Permission,
        to_id: to_permission.into(),
    }
}

/// The start of `date` (`YYYY-MM-DD`) in UTC; anything else is no date.
pub fn expiry(date: &str) -> Option<DateTime<Utc>> {
    NaiveDate::parse_from_str(date.get(..10)?, "%Y-%m-%d")
        .ok()?
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
}

fn credential(t: &Token, now: DateTime<Utc>) -> Credential {
    let expires_at = t.expires_at.as_deref().and_then(expiry);
    let status = if t.revoked {
        CredentialStatus::Revoked
    } else if !t.active || expires_at.is_some_and(|e| e <= now) {
        CredentialStatus::Expired
    } else {
        CredentialStatus::Active
    };
    Credential {
        external_id: t.id.to_string(),
        kind: CredentialKind::Pat,
        principal_external_id: t.user_id.map(|u| u.to_string()),
        client: None,
        scopes: t.scopes.clone(),
        issued_at: t.created_at,
        expires_at,
        last_used_at: t.last_used_at,
        status,
        attrs: json!({"name": t.name, "access_level": t.access_level}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: u64, name: &str, state: &str, admin: bool, bot: bool) -> User {
        User {
            id,
            username: name.into(),
            name: None,
            state: Some(state.into()),
            is_admin: Some(admin),
            bot: Some(bot),
        }
    }

    fn member(id: u64, level: u32) -> Member {
        Member {
            id,
            access_level: level,
            state: Some("active".into()),
            expires_at: None,
        }
    }

    #[test]
    fn kinds_come_from_the_bot_flag_and_rights_from_levels() {
        let s = Snapshot {
            // A human named like a bot and a bot named like a human: only `bot` decides.
            users: vec![
                user(1, "svc-deploy", "active", false, false),
                user(2, "alice", "active", false, true),
                user(3, "root", "blocked", true, false),
            ],
            memberships: vec![(
                NamespaceKind::Group,
                Namespace {
                    id: 9,
                    full_path: "acme/platform".into(),
                },
                vec![member(1, 30), member(2, 40)],
            )],
            tokens: vec![],
        };
        let inv = map_inventory(&s, Utc::now());
        let kind = |id: &str| inv.principals.iter().find(|p| p.external_id == id).unwrap();
        assert_eq!(kind("1").kind, PrincipalKind::User);
        assert_eq!(kind("2").kind, PrincipalKind::Service);
        assert!(!kind("3").enabled, "a blocked user cannot sign in");
        let role_perms = |role: &str| -> Vec<&str> {
            inv.grants
                .iter()
                .filter(|g| g.from_id == role)
                .map(|g| g.to_id.as_str())
                .collect()
        };
        assert_eq!(
            role_perms("group:acme/platform:30"),
            [
                "group:acme/platform:view",
                "group:acme/platform:read",
                "group:acme/platform:write"
            ]
        );
        assert_eq!(role_perms("group:acme/platform:40").len(), 4);
        assert!(inv
            .grants
            .iter()
            .any(|g| g.from_id == "3" && g.to_id == ADMIN_PERMISSION));
    }

    #[test]
    fn token_status_reads_revoked_active_and_expiry() {
        let now = "2026-06-01T12:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let token = |revoked, active, expires: Option<&str>| Token {
            id: 4,
            name: Some("ci".into()),
            revoked,
            active,
            scopes: vec!["read_api".into()],
            user_id: Some(3),
            created_at: None,
            last_used_at: None,
            expires_at: expires.map(String::from),
            access_level: None,
        };
        let status = |t: Token| credential(&t, now).status;
        assert_eq!(status(token(true, false, None)), CredentialStatus::Revoked);
        assert_eq!(status(token(false, false, None)), CredentialStatus::Expired);
        assert_eq!(
            status(token(false, true, Some("2026-06-01"))),
            CredentialStatus::Expired
        );
        assert_eq!(
            status(token(false, true, Some("2026-06-02"))),
            CredentialStatus::Active
        );
        assert_eq!(
            status(token(false, true, Some("garbage"))),
            CredentialStatus::Active
        );
        assert_eq!(
            credential(&token(false, true, None), now)
                .principal_external_id
                .as_deref(),
            Some("3")
        );
    }
}
