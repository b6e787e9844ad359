//! A GitHub organisation's members, fine-grained PAT grants, SSO credential authorizations and
//! GitHub App installations as the access model's inventory. Pure: the mapping is fuzzed and
//! tested on the documented payloads without a server.
//!
//! - Every member is a principal named by its login (the audit log names actors by login);
//!   `type: Bot` makes it a service, never its name.
//! - An owner (`role=admin` listing) holds the role `org:ORG:admin`: read, write and administer
//!   the organisation and every repository in it ([`ORG_RIGHTS`]). Any other member holds
//!   `org:ORG:member`: membership only. The organisation's base repository permission, teams and
//!   repository collaborators are not read, so a member's repository rights are not in the
//!   model (a coverage note of the kind, not a claim that there are none).
//! - A fine-grained PAT grant is a credential of its owner, `pat-grant:ID`; its scopes are its
//!   permissions written `organization:members:read`, `repository:contents:write`, which the
//!   dialect reads as classes of access to its owner's rights (a token can do at most what both
//!   allow). `token_expires_at: null` is a token that never expires.
//! - A pending grant request is no access: it is listed in its owner's `attrs.pat_requests`.
//! - An SSO credential authorization is a credential of its login, `sso:CREDENTIAL_ID`, with the
//!   classic scopes GitHub lists; the token's last eight characters are not kept.
//! - A GitHub App installation is a service principal, `installation:ID`, holding one permission
//!   per entry of its `permissions` map on the organisation.

use chrono::{DateTime, Utc};
use portcullis_model::{
    Action, Credential, CredentialKind, CredentialStatus, Grant, Inventory, NodeKind, Permission,
    Principal, PrincipalKind, Role,
};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A credential id's prefix for a fine-grained PAT grant.
pub const PAT_GRANT: &str = "pat-grant:";
/// A credential id's prefix for a SAML SSO credential authorization.
pub const SSO: &str = "sso:";
/// A principal id's prefix for a GitHub App installation.
pub const INSTALLATION: &str = "installation:";

/// GitHub's `simple-user`: what the mapping needs of an account.
#[derive(Debug, Clone, Deserialize)]
pub struct SimpleUser {
    pub login: String,
    #[serde(default)]
    pub id: Option<u64>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub site_admin: Option<bool>,
}

/// `permissions` of a grant or request: permission name → level, by kind.
pub type PermissionMap = BTreeMap<String, BTreeMap<String, String>>;

/// `GET /orgs/{org}/personal-access-tokens` (and, with `reason`/`created_at`, the requests).
#[derive(Debug, Clone, Deserialize)]
pub struct PatGrant {
    pub id: u64,
    pub owner: SimpleUser,
    #[serde(default)]
    pub repository_selection: Option<String>,
    #[serde(default)]
    pub permissions: PermissionMap,
    #[serde(default)]
    pub access_granted_at: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub token_id: Option<u64>,
    #[serde(default)]
    pub token_name: Option<String>,
    #[serde(default)]
    pub token_expired: bool,
    #[serde(default)]
    pub token_expires_at: Option<String>,
    #[serde(default)]
    pub token_last_used_at: Option<String>,
}

/// `GET /orgs/{org}/credential-authorizations` (GitHub Enterprise Cloud with SAML SSO).
#[derive(Debug, Clone, Deserialize)]
pub struct CredentialAuthorization {
    pub login: String,
    pub credential_id: u64,
    #[serde(default)]
    pub credential_type: Option<String>,
    #[serde(default)]
    pub credential_authorized_at: Option<String>,
    #[serde(default)]
    pub credential_accessed_at: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub fingerprint: Option<String>,
    #[serde(default)]
    pub authorized_credential_id: Option<u64>,
    /// An SSH key's title.
    #[serde(default)]
    pub authorized_credential_title: Option<String>,
    /// A token's note.
    #[serde(default)]
    pub authorized_credential_note: Option<String>,
    #[serde(default)]
    pub authorized_credential_expires_at: Option<String>,
}

/// One item of `GET /orgs/{org}/installations`.
#[derive(Debug, Clone, Deserialize)]
pub struct Installation {
    pub id: u64,
    #[serde(default)]
    pub app_id: Option<u64>,
    #[serde(default)]
    pub app_slug: Option<String>,
    #[serde(default)]
    pub repository_selection: Option<String>,
    #[serde(default)]
    pub permissions: BTreeMap<String, String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub suspended_at: Option<String>,
}

/// `GET /orgs/{org}/installations` answers an object around the list.
#[derive(Debug, Clone, Deserialize)]
pub struct InstallationsPage {
    #[serde(default)]
    pub installations: Vec<Installation>,
}

/// Everything the inventory is made of; `None`: that listing was refused (a coverage note).
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub org: String,
    pub members: Vec<SimpleUser>,
    /// Logins of the owners (`role=admin`).
    pub admins: Vec<String>,
    pub grants: Option<Vec<PatGrant>>,
    pub requests: Option<Vec<PatGrant>>,
    pub authorizations: Option<Vec<CredentialAuthorization>>,
    pub installations: Option<Vec<Installation>>,
}

/// An owner's rights on the organisation and every repository in it, lowest first.
pub const ORG_RIGHTS: [(&str, Action, &str); 3] = [
    ("read", Action::Read, "read every repository"),
    ("write", Action::Write, "push to every repository"),
    (
        "admin",
        Action::Admin,
        "administer the organisation: members, settings, apps, every repository",
    ),
];

/// A timestamp GitHub writes (`2023-05-16T08:47:09.000-07:00`); anything else is none.
pub fn time(text: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

pub fn map_inventory(s: &Snapshot, now: DateTime<Utc>) -> Inventory {
    let mut inv = Inventory::default();
    let mut permissions: BTreeMap<String, Permission> = BTreeMap::new();
    let mut roles: BTreeMap<String, Role> = BTreeMap::new();
    let requests = requests_by_owner(s.requests.as_deref().unwrap_or_default());
    for m in &s.members {
        let admin = s.admins.iter().any(|a| a == &m.login);
        let mut p = principal(m, admin);
        if let Some(r) = requests.get(m.login.as_str()) {
            p.attrs["pat_requests"] = Value::Array(r.clone());
        }
        inv.principals.push(p);
        let role = org_role(&s.org, admin, &mut roles, &mut permissions, &mut inv.grants);
        inv.grants.push(grant(&m.login, NodeKind::Role, &role));
    }
    let grants = s.grants.as_deref().unwrap_or_default();
    for g in grants {
        if !inv
            .principals
            .iter()
            .any(|p| p.external_id == g.owner.login)
        {
            inv.principals.push(principal(&g.owner, false));
        }
        inv.credentials.push(pat_credential(g, now));
    }
    for a in s.authorizations.as_deref().unwrap_or_default() {
        inv.credentials.push(sso_credential(a, now));
    }
    for i in s.installations.as_deref().unwrap_or_default() {
        installation(&s.org, i, &mut inv, &mut permissions);
    }
    inv.roles = roles.into_values().collect();
    inv.permissions = permissions.into_values().collect();
    inv
}

fn principal(u: &SimpleUser, admin: bool) -> Principal {
    Principal {
        external_id: u.login.clone(),
        kind: if u.kind.as_deref() == Some("Bot") {
            PrincipalKind::Service
        } else {
            PrincipalKind::User
        },
        name: u.login.clone(),
        enabled: true,
        attrs: json!({"id": u.id, "type": u.kind, "site_admin": u.site_admin, "org_owner": admin}),
    }
}

/// The pending requests of each owner, as the principal's attrs show them.
fn requests_by_owner(requests: &[PatGrant]) -> BTreeMap<&str, Vec<Value>> {
    let mut out: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for r in requests {
        out.entry(r.owner.login.as_str()).or_default().push(json!({
            "id": r.id,
            "token_id": r.token_id,
            "token_name": r.token_name,
            "reason": r.reason,
            "created_at": r.created_at,
            "repository_selection": r.repository_selection,
            "permissions": scopes_of(&r.permissions),
        }));
    }
    out
}

/// The role of an owner or a member and, the first time, its permissions.
fn org_role(
    org: &str,
    admin: bool,
    roles: &mut BTreeMap<String, Role>,
    permissions: &mut BTreeMap<String, Permission>,
    grants: &mut Vec<Grant>,
) -> String {
    let (name, rights): (&str, Vec<(String, Action, String, bool)>) = if admin {
        let r = ORG_RIGHTS
            .iter()
            .map(|(right, action, what)| (right.to_string(), *action, what.to_string(), true))
            .collect();
        ("admin", r)
    } else {
        let what = "be a member (base repository permission, teams and collaborators not read)";
        (
            "member",
            vec![("member".into(), Action::Read, what.into(), false)],
        )
    };
    let id = format!("org:{org}:{name}");
    if roles.contains_key(&id) {
        return id;
    }
    for (right, action, what, inherited) in rights {
        let pid = format!("{org}:{right}");
        grants.push(Grant {
            from_kind: NodeKind::Role,
            from_id: id.clone(),
            to_kind: NodeKind::Permission,
            to_id: pid.clone(),
        });
        permissions.entry(pid.clone()).or_insert(Permission {
            external_id: pid,
            name: format!("{right} {org}: {what}"),
            resource: org.to_string(),
            action,
            // An owner's rights reach every repository under the organisation.
            raw: json!({"org": org, "right": right, "inherited": inherited}),
        });
    }
    let label = if admin { "Owner" } else { "Member" };
    roles.insert(
        id.clone(),
        Role {
            external_id: id.clone(),
            name: format!("{label} of {org}"),
            description: Some(format!("organisation role {name} of {org}")),
        },
    );
    id
}

/// A grant's permissions as scope strings, `KIND:NAME:LEVEL`, in a stable order.
pub fn scopes_of(p: &PermissionMap) -> Vec<String> {
    p.iter()
        .flat_map(|(kind, perms)| {
            perms
                .iter()
                .map(move |(name, level)| format!("{kind}:{name}:{level}"))
        })
        .collect()
}

fn status(ended: bool, expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> CredentialStatus {
    if ended || expires_at.is_some_and(|e| e <= now) {
        CredentialStatus::Expired
    } else {
        CredentialStatus::Active
    }
}

fn pat_credential(g: &PatGrant, now: DateTime<Utc>) -> Credential {
    let expires_at = time(g.token_expires_at.as_deref());
    Credential {
        external_id: format!("{PAT_GRANT}{}", g.id),
        kind: CredentialKind::Pat,
        principal_external_id: Some(g.owner.login.clone()),
        client: None,
        scopes: scopes_of(&g.permissions),
        issued_at: time(g.access_granted_at.as_deref()),
        expires_at,
        last_used_at: time(g.token_last_used_at.as_deref()),
        status: status(g.token_expired, expires_at, now),
        attrs: json!({
            "grant": "fine-grained personal access token",
            "token_id": g.token_id,
            "name": g.token_name,
            "repository_selection": g.repository_selection,
            "never_expires": g.token_expires_at.is_none(),
        }),
    }
}

fn sso_credential(a: &CredentialAuthorization, now: DateTime<Utc>) -> Credential {
    let expires_at = time(a.authorized_credential_expires_at.as_deref());
    let ssh = a
        .credential_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("SSH key"));
    Credential {
        external_id: format!("{SSO}{}", a.credential_id),
        kind: if ssh {
            CredentialKind::ApiKey
        } else {
            CredentialKind::Pat
        },
        principal_external_id: Some(a.login.clone()),
        client: None,
        scopes: a.scopes.clone(),
        issued_at: time(a.credential_authorized_at.as_deref()),
        expires_at,
        last_used_at: time(a.credential_accessed_at.as_deref()),
        status: status(false, expires_at, now),
        attrs: json!({
            "grant": "SAML SSO credential authorization",
            "credential_type": a.credential_type,
            "authorized_credential_id": a.authorized_credential_id,
            "name": a.authorized_credential_title.as_ref().or(a.authorized_credential_note.as_ref()),
            "fingerprint": a.fingerprint,
        }),
    }
}

fn installation(
    org: &str,
    i: &Installation,
    inv: &mut Inventory,
    permissions: &mut BTreeMap<String, Permission>,
) {
    let id = format!("{INSTALLATION}{}", i.id);
    let all = i.repository_selection.as_deref() == Some("all");
    inv.principals.push(Principal {
        external_id: id.clone(),
        kind: PrincipalKind::Service,
        name: i.app_slug.clone().unwrap_or_else(|| id.clone()),
        enabled: i.suspended_at.is_none(),
        attrs: json!({"app_id": i.app_id, "app_slug": i.app_slug,
            "repository_selection": i.repository_selection, "created_at": i.created_at}),
    });
    for (name, level) in &i.permissions {
        // A level includes the ones below it: `write` reads too.
        for (below, action) in levels_up_to(level) {
            let pid = format!("{org}:app:{name}:{below}");
            inv.grants.push(grant(&id, NodeKind::Permission, &pid));
            permissions.entry(pid.clone()).or_insert(Permission {
                external_id: pid,
                name: format!("{name}: {below} on {org}"),
                resource: org.to_string(),
                action,
                // `selected`: only some repositories, which are not listed here.
                raw: json!({"org": org, "permission": name, "level": below, "inherited": all}),
            });
        }
    }
}

/// The levels GitHub grants with `level`, lowest first; none for a level it does not document.
fn levels_up_to(level: &str) -> Vec<(&'static str, Action)> {
    const LEVELS: [(&str, Action); 3] = [
        ("read", Action::Read),
        ("write", Action::Write),
        ("admin", Action::Admin),
    ];
    match LEVELS.iter().position(|(l, _)| *l == level) {
        Some(i) => LEVELS[..=i].to_vec(),
        None => Vec::new(),
    }
}

fn grant(from_principal: &str, to_kind: NodeKind, to: &str) -> Grant {
    Grant {
        from_kind: NodeKind::Principal,
        from_id: from_principal.into(),
        to_kind,
        to_id: to.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(login: &str, kind: &str) -> SimpleUser {
        SimpleUser {
            login: login.into(),
            id: Some(1),
            kind: Some(kind.into()),
            site_admin: None,
        }
    }

    fn pat(id: u64, owner: &str, expires: Option<&str>, expired: bool) -> PatGrant {
        PatGrant {
            id,
            owner: user(owner, "User"),
            repository_selection: Some("all".into()),
            permissions: [(
                "repository".to_string(),
                [("contents".to_string(), "write".to_string())].into(),
            )]
            .into(),
            access_granted_at: None,
            created_at: None,
            reason: None,
            token_id: Some(9),
            token_name: Some("ci".into()),
            token_expired: expired,
            token_expires_at: expires.map(String::from),
            token_last_used_at: None,
        }
    }

    #[test]
    fn kinds_come_from_the_type_and_owners_from_the_admin_listing() {
        let s = Snapshot {
            org: "acme".into(),
            // A human named like a bot and a bot named like a human: only `type` decides.
            members: vec![user("deploy-bot", "User"), user("alice", "Bot")],
            admins: vec!["alice".into()],
            ..Snapshot::default()
        };
        let inv = map_inventory(&s, Utc::now());
        let p = |id: &str| inv.principals.iter().find(|p| p.external_id == id).unwrap();
        assert_eq!(p("deploy-bot").kind, PrincipalKind::User);
        assert_eq!(p("alice").kind, PrincipalKind::Service);
        let to = |from: &str| -> Vec<&str> {
            inv.grants
                .iter()
                .filter(|g| g.from_id == from)
                .map(|g| g.to_id.as_str())
                .collect()
        };
        assert_eq!(to("alice"), ["org:acme:admin"]);
        assert_eq!(to("deploy-bot"), ["org:acme:member"]);
        assert_eq!(
            to("org:acme:admin"),
            ["acme:read", "acme:write", "acme:admin"]
        );
    }

    #[test]
    fn pat_grants_read_expiry_expired_flag_and_permissions() {
        let now = "2026-06-01T12:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let s = |g: PatGrant| pat_credential(&g, now);
        let live = s(pat(1, "bob", Some("2026-06-02T00:00:00.000-07:00"), false));
        assert_eq!(live.status, CredentialStatus::Active);
        assert_eq!(live.external_id, "pat-grant:1");
        assert_eq!(live.scopes, ["repository:contents:write"]);
        assert_eq!(live.principal_external_id.as_deref(), Some("bob"));
        let never = s(pat(2, "bob", None, false));
        assert_eq!(never.status, CredentialStatus::Active);
        assert_eq!(never.attrs["never_expires"], true);
        assert_eq!(
            s(pat(3, "bob", Some("2026-05-01T00:00:00Z"), false)).status,
            CredentialStatus::Expired
        );
        assert_eq!(
            s(pat(4, "bob", None, true)).status,
            CredentialStatus::Expired
        );
    }

    #[test]
    fn requests_are_no_access_and_installations_hold_their_permissions() {
        let s = Snapshot {
            org: "acme".into(),
            members: vec![user("bob", "User")],
            requests: Some(vec![pat(7, "bob", None, false)]),
            installations: Some(vec![Installation {
                id: 5,
                app_id: Some(2),
                app_slug: Some("ci-app".into()),
                repository_selection: Some("all".into()),
                permissions: [
                    ("contents".to_string(), "write".to_string()),
                    ("odd".to_string(), "sideways".to_string()),
                ]
                .into(),
                created_at: None,
                suspended_at: Some("2026-01-01T00:00:00Z".into()),
            }]),
            ..Snapshot::default()
        };
        let inv = map_inventory(&s, Utc::now());
        assert!(inv.credentials.is_empty(), "a request grants nothing");
        let bob = inv
            .principals
            .iter()
            .find(|p| p.external_id == "bob")
            .unwrap();
        assert_eq!(bob.attrs["pat_requests"][0]["id"], 7);
        let app = inv
            .principals
            .iter()
            .find(|p| p.external_id == "installation:5")
            .unwrap();
        assert!(!app.enabled, "a suspended installation");
        assert_eq!(app.kind, PrincipalKind::Service);
        let perm = inv
            .permissions
            .iter()
            .find(|p| p.external_id == "acme:app:contents:write")
            .unwrap();
        assert_eq!(perm.action, Action::Write);
        assert_eq!(perm.raw["inherited"], true);
        assert!(inv
            .permissions
            .iter()
            .any(|p| p.external_id == "acme:app:contents:read"));
        assert_eq!(inv.permissions.len(), 3, "the unknown level is no right");
    }
}
