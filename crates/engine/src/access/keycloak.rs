//! The Keycloak part of the dialect: roles as the rights applications check.
//!
//! Keycloak puts a user's realm roles and client roles into the tokens it issues, and the
//! applications decide what a role lets one do; so for Keycloak a role *is* a permission of its
//! realm or client (the connector's `role_permission`, `realm-role:NAME` /
//! `client-role:CLIENT_ID:NAME`; realm-management roles carry their admin right). A question
//! names such a right the way the access map prints it: the role as the action and its realm or
//! client as the resource (`who-can orders-editor 'client hx-portal'`, or the client id alone),
//! or the whole right as the resource with any action (`who-can any 'client hx-portal:
//! orders-editor'`). Client scopes and admin rights keep their resource text
//! (`who-can read profile`, `who-can admin 'realm acme: users'`).
//!
//! Nothing here reads meaning from a role's name: an application role has no action class
//! (read, write, ...), only its name; the classes are those the connector documents for client
//! scopes and realm-management roles.

use portcullis_model::{Action, Coverage};
use serde_json::Value;

use super::dialect::{ActionQuery, PermMeta};
use super::pattern::glob_match;

/// The realm or client a Keycloak role belongs to, and the role's name, from the permission's
/// `raw` (`client`, `realm`, `role`, as the connector writes them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRight {
    /// The client's clientId; None for a realm role.
    pub client: Option<String>,
    pub realm: Option<String>,
    pub role: String,
}

impl RoleRight {
    pub fn from_raw(raw: &Value) -> Option<RoleRight> {
        let text = |k: &str| raw.get(k).and_then(Value::as_str).map(str::to_string);
        Some(RoleRight {
            role: text("role")?,
            client: text("client"),
            realm: text("realm"),
        })
    }
}

/// Which container a question names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Realm,
    Client,
    /// A bare name: a client id or the realm's name.
    Either,
}

/// A question's resource: `client C[: ROLE]`, `realm [R][: ROLE]`, or a bare name (a client id,
/// the realm, a client scope, an admin right's resource).
#[derive(Debug, Clone)]
pub struct RoleQuery {
    container: Container,
    /// The realm or client named (empty: any realm).
    name: String,
    role: Option<String>,
    /// The text as asked, for client scopes and admin rights.
    pub text: String,
}

impl RoleQuery {
    pub fn parse(text: &str) -> RoleQuery {
        let t = text.trim();
        let (container, rest) = if let Some(r) = t.strip_prefix("client ") {
            (Container::Client, r)
        } else if t == "realm" {
            (Container::Realm, "")
        } else if let Some(r) = t.strip_prefix("realm ") {
            (Container::Realm, r)
        } else {
            (Container::Either, t)
        };
        let (name, role) = match rest.split_once(": ") {
            Some((n, r)) if container != Container::Either => {
                (n.trim(), Some(r.trim().to_string()))
            }
            _ => (rest.trim(), None),
        };
        RoleQuery {
            container,
            name: name.to_string(),
            role,
            text: t.to_string(),
        }
    }
}

/// Whether a Keycloak permission is asked for by `q`: a role right by its role's name (an
/// application role only so; a realm-management role also by its action class), anything else
/// by its action class; "any" asks for everything.
pub fn action_ok(m: &PermMeta, q: &ActionQuery) -> bool {
    if q.class.is_none() && q.verb.is_none() {
        return true;
    }
    let by_name = m
        .keycloak
        .as_ref()
        .is_some_and(|r| q.verb.as_deref() == Some(r.role.as_str()));
    let application_role = m.keycloak.is_some() && m.action == Action::Other;
    by_name || (!application_role && q.class == Some(m.action))
}

/// How much of the asked resource the permission covers: a role right when its realm or client
/// (and role, if asked) match; otherwise the text rules every dialect without one of its own uses.
pub fn resource_match(
    m: &PermMeta,
    external_id: &str,
    q: &RoleQuery,
    text_match: fn(&PermMeta, &str, &str) -> Option<Coverage>,
) -> Option<Coverage> {
    if let Some(r) = &m.keycloak {
        let realm_ok = || {
            q.name.is_empty()
                || r.realm
                    .as_deref()
                    .is_some_and(|realm| glob_match(&q.name, realm))
        };
        let container_ok = match (q.container, &r.client) {
            (Container::Client | Container::Either, Some(c)) => glob_match(&q.name, c),
            (Container::Realm | Container::Either, None) => realm_ok(),
            _ => false,
        };
        let role_ok = q
            .role
            .as_deref()
            .is_none_or(|want| glob_match(want, &r.role));
        if container_ok && role_ok {
            return Some(Coverage::Full);
        }
    }
    text_match(m, external_id, &q.text)
}

#[cfg(test)]
mod tests {
    use super::super::dialect::Dialect;
    use super::*;
    use serde_json::json;

    fn role(client: Option<&str>, name: &str) -> (String, PermMeta) {
        let (id, resource) = match client {
            Some(c) => (format!("client-role:{c}:{name}"), format!("client {c}")),
            None => (format!("realm-role:{name}"), "realm acme".to_string()),
        };
        let raw = json!({"client": client, "realm": "acme", "role": name});
        let m = PermMeta::parse(Dialect::Keycloak, &id, &resource, Action::Other, &raw);
        (id, m)
    }

    fn asks(m: &(String, PermMeta), action: &str, resource: &str) -> bool {
        let d = Dialect::Keycloak;
        let (Some(a), r) = (d.parse_action(action), d.parse_resource(resource)) else {
            return false;
        };
        d.grant_match(&m.1, &m.0, &a, &r).is_some()
    }

    #[test]
    fn a_client_role_is_asked_by_its_name_on_its_client() {
        let editor = role(Some("hx-portal"), "orders-editor");
        assert!(asks(&editor, "orders-editor", "hx-portal"));
        assert!(asks(&editor, "orders-editor", "client hx-portal"));
        assert!(asks(&editor, "any", "client hx-portal: orders-editor"));
        assert!(asks(&editor, "any", "client hx-*"));
        assert!(!asks(&editor, "orders-viewer", "hx-portal"));
        assert!(!asks(&editor, "orders-editor", "other-app"));
        assert!(!asks(&editor, "orders-editor", "realm acme"));
        assert!(
            !asks(&editor, "write", "hx-portal"),
            "an application role has no action class: only its name asks for it"
        );
    }

    #[test]
    fn a_realm_role_is_asked_on_its_realm() {
        let auditor = role(None, "auditor");
        assert!(asks(&auditor, "auditor", "realm"));
        assert!(asks(&auditor, "auditor", "realm acme"));
        assert!(asks(&auditor, "auditor", "acme"));
        assert!(asks(&auditor, "any", "realm acme: auditor"));
        assert!(!asks(&auditor, "any", "realm acme: other"));
        assert!(!asks(&auditor, "auditor", "client acme"));
        assert!(!asks(&auditor, "auditor", "realm other"));
    }

    #[test]
    fn admin_rights_answer_to_their_role_and_their_class() {
        let raw = json!({"client": "realm-management", "realm": "acme", "role": "manage-users"});
        let id = "admin:realm-management:manage-users".to_string();
        let m = PermMeta::parse(
            Dialect::Keycloak,
            &id,
            "realm acme: users",
            Action::Admin,
            &raw,
        );
        let admin = (id, m);
        assert!(asks(&admin, "manage-users", "realm-management"));
        assert!(asks(&admin, "admin", "realm acme: users"));
        assert!(!asks(&admin, "read", "realm acme: users"));
    }

    #[test]
    fn client_scopes_keep_their_text() {
        let id = "scope:profile".to_string();
        let m = PermMeta::parse(Dialect::Keycloak, &id, "profile", Action::Read, &json!({}));
        let scope = (id, m);
        assert!(asks(&scope, "read", "profile"));
        assert!(asks(&scope, "any", "profile"));
        assert!(!asks(&scope, "write", "profile"));
        assert!(!asks(&scope, "profile", "profile"), "a scope is no role");
    }
}
