//! The pure mapping from Keycloak representations to the normalised model: external ids,
//! permissions of client scopes and admin roles, principals and credentials. No IO: the
//! inventory (fetching) and the audit and revocation code share these names.
//!
//! # Permissions
//! - A client scope is a Permission `scope:NAME` (resource = the scope name). Its action follows
//!   [`scope_action`]: words meaning administration (`admin`, `manage`) → admin; changes
//!   (`write`, `create`, `update`, `delete`, `edit`) → write; reading (`read`, `view`, `get`,
//!   `list`, `query`) and the protocol scopes (`model::PROTOCOL_SCOPES`: `openid`, `profile`,
//!   `email` …) → read; anything else, `offline_access` included → other.
//!   A role in the scope's role scope mappings gets a grant role → scope; a client gets a grant
//!   client → scope for each default and optional client scope (the principal's attrs say which).
//! - Each role of the `realm-management` client (in the master realm also of each `REALM-realm`
//!   client) carries a Permission `admin:CLIENT_ID:ROLE` ([`admin_role_permission`]):
//!   realm-admin, manage-*, create-client and impersonation → admin; view-* and query-* → read.
//! - Every other role is a permission of its realm or client ([`role_permission`]): Keycloak
//!   puts roles into tokens and applications enforce them, so for an application its roles *are*
//!   the rights. The role grants it (role → permission), so composites, group inheritance and
//!   client scope role mappings reach it like any other right.
//!
//! # Credentials
//! Sessions (online and offline) are `session` credentials: start = issued_at, lastAccess =
//! last_used_at, ip and clients in attrs. A consent (granted scopes, and the offline tokens
//! Keycloak ties to it; Keycloak lists a client holding only offline tokens as a consent too) is a
//! `refresh_token` credential: revoking it ends the client's offline access for that user.

use chrono::{DateTime, Utc};
use portcullis_model::{
    Action, Credential, CredentialKind, CredentialStatus, Grant, Inventory, NodeKind, Permission,
    Principal, PrincipalKind, Role, PROTOCOL_SCOPES,
};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};

use super::reps::{ClientScopeRep, ConsentRep, MappingsRep, RoleRep, UserRep, UserSessionRep};

/// The action a client scope grants, from its name (see the module documentation).
pub fn scope_action(name: &str) -> Action {
    let lower = name.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let has = |list: &[&str]| words.iter().any(|w| list.contains(w));
    if has(&["admin", "administer", "manage", "superuser", "root"]) {
        Action::Admin
    } else if has(&[
        "write", "create", "update", "delete", "edit", "modify", "remove", "post", "put", "patch",
    ]) {
        Action::Write
    } else if has(&["read", "view", "get", "list", "query"])
        || (lower != "offline_access" && PROTOCOL_SCOPES.contains(&lower.as_str()))
    {
        Action::Read
    } else {
        Action::Other
    }
}

/// The right a role of a realm-management client gives over `realm`.
pub fn admin_role_permission(client_id: &str, role: &str, realm: &str) -> Permission {
    let (action, what) = match role {
        "realm-admin" => (Action::Admin, "everything".to_string()),
        "create-client" => (Action::Admin, "clients".to_string()),
        "impersonation" => (Action::Admin, "users (impersonation)".to_string()),
        r => {
            if let Some(rest) = r.strip_prefix("manage-") {
                (Action::Admin, rest.to_string())
            } else if let Some(rest) = r.strip_prefix("view-") {
                (Action::Read, rest.to_string())
            } else if let Some(rest) = r.strip_prefix("query-") {
                (Action::Read, rest.to_string())
            } else {
                (Action::Other, r.to_string())
            }
        }
    };
    Permission {
        external_id: format!("admin:{client_id}:{role}"),
        name: format!("{role} on realm {realm}"),
        resource: format!("realm {realm}: {what}"),
        action,
        raw: json!({
            "source": "realm-management client role",
            "client": client_id,
            "role": role,
            "realm": realm,
        }),
    }
}

/// The right a realm role or an application's client role stands for: a permission of its realm
/// (`realm-role:NAME`) or of its client (`client-role:CLIENT_ID:NAME`), granted by the role
/// itself. What the right allows is decided by the application that checks the role, so its
/// action is [`Action::Other`] and its verb is the role's own name; its resource names the realm
/// or client as the reviewer reads it (`realm REALM`, `client CLIENT_ID`), and its name joins
/// both (`client hx-portal: orders-editor`), which is also how `who-can` takes it.
/// Roles of the realm-management clients carry [`admin_role_permission`] instead.
pub fn role_permission(
    realm: &str,
    client_id: Option<&str>,
    role: &str,
    description: Option<&str>,
) -> Permission {
    let (external_id, resource, source) = match client_id {
        Some(c) => (
            format!("client-role:{c}:{role}"),
            format!("client {c}"),
            "client role",
        ),
        None => (
            format!("realm-role:{role}"),
            format!("realm {realm}"),
            "realm role",
        ),
    };
    Permission {
        name: format!("{resource}: {role}"),
        external_id,
        resource,
        action: Action::Other,
        raw: compact(json!({
            "source": source,
            "client": client_id,
            "role": role,
            "realm": realm,
            "description": description,
        })),
    }
}

pub(crate) fn realm_role_id(name: &str) -> String {
    format!("realm:{name}")
}

pub(crate) fn client_role_id(client_id: &str, name: &str) -> String {
    format!("client:{client_id}:{name}")
}

pub(crate) fn client_principal_id(client_id: &str) -> String {
    format!("client:{client_id}")
}

pub(crate) fn group_principal_id(group_id: &str) -> String {
    format!("group:{group_id}")
}

pub(crate) fn scope_permission_id(name: &str) -> String {
    format!("scope:{name}")
}

pub(crate) fn session_id(user_id: &str, session_id: &str) -> String {
    format!("{user_id}/{session_id}")
}

pub(crate) fn offline_session_id(user_id: &str, client_uuid: &str, session_id: &str) -> String {
    format!("offline/{user_id}/{client_uuid}/{session_id}")
}

pub(crate) fn consent_id(user_id: &str, client_id: &str) -> String {
    format!("consent/{user_id}/{client_id}")
}

/// A role's external id; client roles are named by their client's clientId, which
/// `clients` maps from the client UUID Keycloak puts in `containerId`.
pub(super) fn role_id(
    role: &RoleRep,
    clients: &HashMap<String, String>,
    fallback_client: Option<&str>,
) -> String {
    if role.client_role {
        let client = role
            .container_id
            .as_deref()
            .and_then(|c| clients.get(c).map(String::as_str))
            .or(fallback_client)
            .or(role.container_id.as_deref())
            .unwrap_or("unknown-client");
        client_role_id(client, &role.name)
    } else {
        realm_role_id(&role.name)
    }
}

/// The roles of a `MappingsRepresentation` with their external ids.
pub(super) fn mapped_roles<'a>(
    m: &'a MappingsRep,
    clients: &HashMap<String, String>,
) -> Vec<(String, &'a RoleRep)> {
    let mut out: Vec<(String, &RoleRep)> = m
        .realm_mappings
        .iter()
        .map(|r| (role_id(r, clients, None), r))
        .collect();
    for (key, cm) in &m.client_mappings {
        let client = cm.client.as_deref().unwrap_or(key);
        out.extend(cm.mappings.iter().map(|r| {
            let resolved = r
                .container_id
                .as_deref()
                .and_then(|c| clients.get(c))
                .map(String::as_str)
                .unwrap_or(client);
            (client_role_id(resolved, &r.name), r)
        }));
    }
    out
}

pub(super) fn millis(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.filter(|m| *m > 0)
        .and_then(DateTime::<Utc>::from_timestamp_millis)
}

/// Drops `null` members, so attrs show only what Keycloak said.
pub(super) fn compact(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(map) = v.as_object_mut() {
        map.retain(|_, value| !value.is_null());
    }
    v
}

#[derive(Default)]
pub(super) struct Builder {
    pub(super) principals: BTreeMap<String, Principal>,
    pub(super) roles: BTreeMap<String, Role>,
    pub(super) permissions: BTreeMap<String, Permission>,
    pub(super) grants: HashSet<Grant>,
    pub(super) credentials: BTreeMap<String, Credential>,
}

impl Builder {
    pub(super) fn principal(&mut self, p: Principal) {
        self.principals.entry(p.external_id.clone()).or_insert(p);
    }

    pub(super) fn role(&mut self, external_id: String, name: String, description: Option<String>) {
        self.roles.entry(external_id.clone()).or_insert(Role {
            external_id,
            name,
            description,
        });
    }

    pub(super) fn role_from(&mut self, rep: &RoleRep, external_id: &str) {
        let name = external_id
            .strip_prefix("realm:")
            .map(str::to_string)
            .or_else(|| {
                external_id
                    .strip_prefix("client:")
                    .and_then(|rest| rest.strip_suffix(&format!(":{}", rep.name)))
                    .map(|client| format!("{client}/{}", rep.name))
            })
            .unwrap_or_else(|| rep.name.clone());
        self.role(external_id.to_string(), name, rep.description.clone());
    }

    pub(super) fn permission(&mut self, p: Permission) {
        self.permissions.entry(p.external_id.clone()).or_insert(p);
    }

    pub(super) fn grant(
        &mut self,
        from_kind: NodeKind,
        from_id: &str,
        to_kind: NodeKind,
        to_id: &str,
    ) {
        self.grants.insert(Grant {
            from_kind,
            from_id: from_id.to_string(),
            to_kind,
            to_id: to_id.to_string(),
        });
    }

    pub(super) fn credential(&mut self, c: Credential) {
        self.credentials.entry(c.external_id.clone()).or_insert(c);
    }

    /// Grants from a principal to the roles of its direct mappings.
    pub(super) fn mappings(
        &mut self,
        from: &str,
        m: &MappingsRep,
        clients: &HashMap<String, String>,
    ) {
        for (id, r) in mapped_roles(m, clients) {
            self.role_from(r, &id);
            self.grant(NodeKind::Principal, from, NodeKind::Role, &id);
        }
    }

    pub(super) fn finish(self) -> Inventory {
        let mut grants: Vec<Grant> = self.grants.into_iter().collect();
        grants.sort_by(|a, b| {
            (
                a.from_kind.as_str(),
                &a.from_id,
                a.to_kind.as_str(),
                &a.to_id,
            )
                .cmp(&(
                    b.from_kind.as_str(),
                    &b.from_id,
                    b.to_kind.as_str(),
                    &b.to_id,
                ))
        });
        Inventory {
            principals: self.principals.into_values().collect(),
            roles: self.roles.into_values().collect(),
            permissions: self.permissions.into_values().collect(),
            grants,
            credentials: self.credentials.into_values().collect(),
        }
    }
}

pub(super) fn scope_permission(s: &ClientScopeRep) -> Permission {
    Permission {
        external_id: scope_permission_id(&s.name),
        name: s.name.clone(),
        resource: s.name.clone(),
        action: scope_action(&s.name),
        raw: compact(json!({
            "client_scope_id": s.id,
            "name": s.name,
            "description": s.description,
            "protocol": s.protocol,
            "attributes": s.attributes,
        })),
    }
}

pub(super) fn user_principal(u: &UserRep) -> Principal {
    Principal {
        external_id: u.id.clone(),
        kind: PrincipalKind::User,
        name: u.username.clone().unwrap_or_else(|| u.id.clone()),
        enabled: u.enabled.unwrap_or(true),
        attrs: compact(json!({
            "email": u.email,
            "first_name": u.first_name,
            "last_name": u.last_name,
            "email_verified": u.email_verified,
            "created_at": millis(u.created_timestamp),
            "federation_link": u.federation_link,
        })),
    }
}

pub(super) fn session_credential(
    s: &UserSessionRep,
    offline: Option<(&str, &str)>,
) -> Option<Credential> {
    let user = s.user_id.as_deref()?;
    let clients: Vec<&String> = s.clients.values().collect();
    let (external_id, client) = match offline {
        Some((uuid, client_id)) => (
            offline_session_id(user, uuid, &s.id),
            Some(client_id.to_string()),
        ),
        None => (
            session_id(user, &s.id),
            (clients.len() == 1).then(|| clients[0].clone()),
        ),
    };
    Some(Credential {
        external_id,
        kind: CredentialKind::Session,
        principal_external_id: Some(user.to_string()),
        client,
        scopes: Vec::new(),
        issued_at: millis(s.start),
        expires_at: None,
        last_used_at: millis(s.last_access),
        status: CredentialStatus::Active,
        attrs: compact(json!({
            "session_id": s.id,
            "offline": offline.is_some(),
            "username": s.username,
            "ip_address": s.ip_address,
            "clients": clients,
            "remember_me": s.remember_me,
        })),
    })
}

pub(super) fn consent_credential(user: &str, c: &ConsentRep) -> Credential {
    Credential {
        external_id: consent_id(user, &c.client_id),
        kind: CredentialKind::RefreshToken,
        principal_external_id: Some(user.to_string()),
        client: Some(c.client_id.clone()),
        scopes: c.granted_client_scopes.clone(),
        issued_at: millis(c.created_date),
        expires_at: None,
        last_used_at: None,
        status: CredentialStatus::Active,
        attrs: compact(json!({
            "consent": c.created_date.is_some(),
            "offline_tokens": c.has_offline_token(),
            "consent_updated_at": millis(c.last_updated_date),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_actions_follow_the_documented_heuristic() {
        for (name, action) in [
            ("profile", Action::Read),
            ("email", Action::Read),
            ("web-origins", Action::Read),
            ("orders:read", Action::Read),
            ("orders.write", Action::Write),
            ("delete-invoices", Action::Write),
            ("api-admin", Action::Admin),
            ("manage_billing", Action::Admin),
            ("offline_access", Action::Other),
            ("uma_protection", Action::Other),
        ] {
            assert_eq!(scope_action(name), action, "{name}");
        }
    }

    #[test]
    fn realm_management_roles_map_to_admin_and_read_rights() {
        let p = admin_role_permission("realm-management", "manage-users", "acme");
        assert_eq!(p.action, Action::Admin);
        assert_eq!(p.resource, "realm acme: users");
        assert_eq!(p.external_id, "admin:realm-management:manage-users");
        assert_eq!(
            admin_role_permission("realm-management", "realm-admin", "acme").action,
            Action::Admin
        );
        assert_eq!(
            admin_role_permission("realm-management", "query-groups", "acme").action,
            Action::Read
        );
        assert_eq!(
            admin_role_permission("acme-realm", "impersonation", "acme").action,
            Action::Admin
        );
    }

    #[test]
    fn client_roles_are_named_by_client_id() {
        let role: RoleRep = serde_json::from_value(json!({
            "id": "r1", "name": "manage-users", "clientRole": true, "containerId": "uuid-1"
        }))
        .unwrap();
        let clients = HashMap::from([("uuid-1".to_string(), "realm-management".to_string())]);
        assert_eq!(
            role_id(&role, &clients, None),
            "client:realm-management:manage-users"
        );
        let mut b = Builder::default();
        b.role_from(&role, "client:realm-management:manage-users");
        assert_eq!(
            b.roles["client:realm-management:manage-users"].name,
            "realm-management/manage-users"
        );
    }
}
