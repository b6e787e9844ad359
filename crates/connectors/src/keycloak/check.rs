//! `check`: log in, then find out which realm-management roles the service account holds and
//! whether the realm saves events.
//!
//! Reading rights are probed with one-item listings (authoritative: Keycloak answers 403 or
//! not). Managing rights cannot be probed without changing something, so they are read from the
//! console's own token by introspection (Keycloak puts effective client roles in
//! `resource_access`); when the token carries no roles they are reported as not confirmed.
//! Whether the realm saves user and admin events is reported as two more rights, because
//! usage-based findings depend on it and `capabilities()` cannot know the realm.

use portcullis_model::{CheckReport, RightCheck};
use std::time::Instant;

use super::{need, needs, Keycloak};
use crate::ConnectorError;

/// (listing probed, right it needs, what for).
const READ_PROBES: &[(&str, &str, &str)] = &[
    (
        "users",
        need::VIEW_USERS,
        "listing users, role mappings, sessions and consents",
    ),
    (
        "groups",
        need::QUERY_GROUPS,
        "listing groups and their members",
    ),
    (
        "clients",
        need::VIEW_CLIENTS,
        "listing clients, client roles, client scopes and sessions",
    ),
    (
        "roles",
        need::VIEW_REALM,
        "listing realm roles and composites",
    ),
];

/// (role, what for) read from the token.
const MANAGE_ROLES: &[(&str, &str)] = &[
    (
        "manage-users",
        "ending sessions, logging users out, revoking consents, memberships and role mappings",
    ),
    ("manage-clients", "pushing a client's not-before"),
    ("manage-realm", "pushing the realm's not-before"),
];

impl Keycloak {
    pub(crate) async fn check_report(&self) -> Result<CheckReport, ConnectorError> {
        let started = Instant::now();
        let token = self.access_token().await?;
        let mut rights = Vec::new();
        for (listing, right, why) in READ_PROBES {
            let mut url = self.admin_url(&[listing])?;
            url.query_pairs_mut()
                .append_pair("first", "0")
                .append_pair("max", "1");
            let probe: Result<serde_json::Value, _> = self
                .get_json(url, &needs(format!("the {listing} list"), right))
                .await;
            let granted = match probe {
                Ok(_) => true,
                Err(ConnectorError::Forbidden { .. }) => false,
                Err(e) => return Err(e),
            };
            rights.push(RightCheck {
                right: (*right).to_string(),
                needed_for: (*why).to_string(),
                granted,
                optional: false,
            });
        }
        let events = match self.events_config().await {
            Ok(c) => Some(c),
            Err(ConnectorError::Forbidden { .. }) => None,
            Err(e) => return Err(e),
        };
        rights.push(RightCheck {
            right: "realm-management role view-events".into(),
            needed_for: "importing user and admin events".into(),
            granted: events.is_some(),
            optional: false,
        });
        // The console's own token, introspected: who it is and which roles it carries.
        let me = self.introspect(&token).await.ok().filter(|i| i.active);
        let roles: Option<Vec<String>> = me
            .as_ref()
            .and_then(|i| i.resource_access.get("realm-management"))
            .map(|a| a.roles.clone());
        for (role, why) in MANAGE_ROLES {
            let (right, granted) = match &roles {
                Some(held) => (
                    format!("realm-management role {role}"),
                    held.iter().any(|r| r == role || r == "realm-admin"),
                ),
                None => (
                    format!(
                        "realm-management role {role} (not confirmed: the console's token carries no roles; add the `roles` client scope to client `{}`)",
                        self.client_id
                    ),
                    false,
                ),
            };
            rights.push(RightCheck {
                right,
                needed_for: (*why).to_string(),
                granted,
                optional: false,
            });
        }
        match &events {
            Some(config) => {
                rights.push(RightCheck {
                    right: format!("events saved in realm {}", self.realm),
                    needed_for: if config.events_enabled {
                        match config.events_expiration.filter(|s| *s > 0) {
                            Some(s) => format!(
                                "usage-based findings (logins, token use); Keycloak keeps events {} day(s)",
                                (s + 86_399) / 86_400
                            ),
                            None => "usage-based findings (logins, token use)".into(),
                        }
                    } else {
                        format!(
                            "usage-based findings: realm {} does not save events, so they are unavailable (Realm settings → Events → Save events)",
                            self.realm
                        )
                    },
                    granted: config.events_enabled,
                    optional: true,
                });
                rights.push(RightCheck {
                    right: format!("admin events saved in realm {}", self.realm),
                    needed_for: "the history of access changes made in Keycloak".into(),
                    granted: config.admin_events_enabled,
                    optional: true,
                });
            }
            None => rights.push(RightCheck {
                right: format!("events saved in realm {}", self.realm),
                needed_for: "usage-based findings: unknown without view-events".into(),
                granted: false,
                optional: true,
            }),
        }
        let username = me
            .as_ref()
            .and_then(|i| i.preferred_username.clone().or_else(|| i.username.clone()));
        Ok(CheckReport {
            backend: self.name.clone(),
            ok: true,
            identity: Some(format!(
                "service account of client `{}` in realm `{}`{}",
                self.client_id,
                self.realm,
                username.map(|u| format!(" (user {u})")).unwrap_or_default()
            )),
            server: Some(format!("Keycloak realm `{}`", self.realm)),
            credential_expires_at: None,
            rights,
            latency_ms: started.elapsed().as_millis() as u64,
            error: None,
        })
    }
}
