//! Verification: asking Keycloak, through a different call than the revocation, whether the
//! revoked thing is gone: the user's sessions, offline sessions, consents, groups or role
//! mappings, the client's or the realm's not-before, or introspection (`active: false`).
//! A user (or client) that no longer exists counts as revoked.

use portcullis_model::Verification;
use secrecy::ExposeSecret;
use serde_json::Value;

use super::map::{client_role_id, realm_role_id};
use super::reps::{ConsentRep, GroupRep, MappingsRep, UserSessionRep};
use super::revoke::Target;
use super::token::seconds;
use super::{need, needs, Keycloak};
use crate::{ConnectorError, RevokeTarget};

fn verification(dead: bool, evidence: String) -> Verification {
    Verification {
        dead,
        evidence,
        at: chrono::Utc::now(),
    }
}

impl Keycloak {
    pub(crate) async fn verify_target(
        &self,
        target: &RevokeTarget,
    ) -> Result<Verification, ConnectorError> {
        match self.classify(target)? {
            Target::Session { user, session } => {
                let Some(sessions) = self.user_sessions(&user).await? else {
                    return Ok(verification(true, format!("user {user} no longer exists")));
                };
                let alive = sessions.iter().any(|s| s.id == session);
                Ok(verification(
                    !alive,
                    format!(
                        "GET /users/{user}/sessions lists {} session(s), {}including {session}",
                        sessions.len(),
                        if alive { "" } else { "not " }
                    ),
                ))
            }
            Target::OfflineSession {
                user,
                client_uuid,
                session,
            } => {
                let url = self.admin_url(&["users", &user, "offline-sessions", &client_uuid])?;
                let sessions: Vec<UserSessionRep> = match self
                    .get_json(url, &needs("offline sessions", need::VIEW_USERS))
                    .await
                {
                    Ok(s) => s,
                    Err(ConnectorError::NotFound { .. }) => {
                        return Ok(verification(
                            true,
                            format!("user {user} or client {client_uuid} no longer exists"),
                        ))
                    }
                    Err(e) => return Err(e),
                };
                let alive = sessions.iter().any(|s| s.id == session);
                Ok(verification(
                    !alive,
                    format!(
                        "GET /users/{user}/offline-sessions/{client_uuid} lists {} offline session(s), {}including {session}",
                        sessions.len(),
                        if alive { "" } else { "not " }
                    ),
                ))
            }
            Target::Consent { user, client_id } => {
                let Some(consents) = self.user_consents(&user).await? else {
                    return Ok(verification(true, format!("user {user} no longer exists")));
                };
                let alive = consents.iter().any(|c| c.client_id == client_id);
                Ok(verification(
                    !alive,
                    format!(
                        "GET /users/{user}/consents {} client `{client_id}`",
                        if alive {
                            "still lists"
                        } else {
                            "no longer lists"
                        }
                    ),
                ))
            }
            Target::Membership { user, group } => {
                let groups: Vec<GroupRep> = match self
                    .get_paged(
                        &["users", &user, "groups"],
                        &[("briefRepresentation", "true")],
                        &needs(format!("groups of user {user}"), need::VIEW_USERS),
                    )
                    .await
                {
                    Ok(g) => g,
                    Err(ConnectorError::NotFound { .. }) => {
                        return Ok(verification(true, format!("user {user} no longer exists")))
                    }
                    Err(e) => return Err(e),
                };
                let alive = groups.iter().any(|g| g.id == group);
                Ok(verification(
                    !alive,
                    format!(
                        "GET /users/{user}/groups {} group {group}",
                        if alive {
                            "still lists"
                        } else {
                            "no longer lists"
                        }
                    ),
                ))
            }
            Target::RoleMapping { holder, role } => {
                let [kind, id] = holder.segments();
                let mappings: MappingsRep = match self
                    .get_json(
                        self.admin_url(&[kind, id, "role-mappings"])?,
                        &needs(
                            format!("role mappings of {}", holder.describe()),
                            need::VIEW_USERS,
                        ),
                    )
                    .await
                {
                    Ok(m) => m,
                    Err(ConnectorError::NotFound { .. }) => {
                        return Ok(verification(
                            true,
                            format!("{} no longer exists", holder.describe()),
                        ))
                    }
                    Err(e) => return Err(e),
                };
                let mut held: Vec<String> = mappings
                    .realm_mappings
                    .iter()
                    .map(|r| realm_role_id(&r.name))
                    .collect();
                for (key, cm) in &mappings.client_mappings {
                    let client = cm.client.as_deref().unwrap_or(key);
                    held.extend(cm.mappings.iter().map(|r| client_role_id(client, &r.name)));
                }
                let alive = held.contains(&role);
                Ok(verification(
                    !alive,
                    format!(
                        "GET /{kind}/{id}/role-mappings {} `{role}` as a direct mapping (roles through groups or composites are not part of this check)",
                        if alive { "still lists" } else { "no longer lists" }
                    ),
                ))
            }
            Target::Logout { user } => {
                let Some(sessions) = self.user_sessions(&user).await? else {
                    return Ok(verification(true, format!("user {user} no longer exists")));
                };
                let offline = self
                    .user_consents(&user)
                    .await?
                    .unwrap_or_default()
                    .iter()
                    .filter(|c| c.has_offline_token())
                    .count();
                Ok(verification(
                    sessions.is_empty(),
                    format!(
                        "GET /users/{user}/sessions lists {} session(s); {offline} client(s) still hold offline tokens for the user",
                        sessions.len()
                    ),
                ))
            }
            Target::ClientNotBefore { client_id } => {
                let uuid = self.client_uuid(&client_id).await?;
                let rep: Value = self
                    .get_json(
                        self.admin_url(&["clients", &uuid])?,
                        &needs(format!("client `{client_id}`"), need::VIEW_CLIENTS),
                    )
                    .await?;
                Ok(not_before_verification(
                    &rep,
                    &format!("client `{client_id}`"),
                ))
            }
            Target::RealmNotBefore => {
                let rep: Value = self
                    .get_json(
                        self.admin_url(&[])?,
                        &needs(format!("realm `{}`", self.realm), need::VIEW_REALM),
                    )
                    .await?;
                Ok(not_before_verification(
                    &rep,
                    &format!("realm `{}`", self.realm),
                ))
            }
            Target::Token(value) => {
                let info = self.introspect(value).await?;
                Ok(verification(
                    !info.active,
                    format!(
                        "introspection answered active:{} for token {}",
                        info.active,
                        &crate::fingerprint(value.expose_secret())[..12]
                    ),
                ))
            }
        }
    }

    /// The user's online sessions; `None` when the user does not exist.
    async fn user_sessions(
        &self,
        user: &str,
    ) -> Result<Option<Vec<UserSessionRep>>, ConnectorError> {
        match self
            .get_json(
                self.admin_url(&["users", user, "sessions"])?,
                &needs(format!("user {user}"), need::VIEW_USERS),
            )
            .await
        {
            Ok(s) => Ok(Some(s)),
            Err(ConnectorError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The user's consents; `None` when the user does not exist.
    async fn user_consents(&self, user: &str) -> Result<Option<Vec<ConsentRep>>, ConnectorError> {
        match self
            .get_json(
                self.admin_url(&["users", user, "consents"])?,
                &needs(format!("user {user}"), need::VIEW_USERS),
            )
            .await
        {
            Ok(c) => Ok(Some(c)),
            Err(ConnectorError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn not_before_verification(rep: &Value, what: &str) -> Verification {
    let not_before = rep.get("notBefore").and_then(Value::as_i64).unwrap_or(0);
    match seconds(Some(not_before)).filter(|_| not_before > 0) {
        Some(t) => verification(
            true,
            format!(
                "{what} has not-before {}: Keycloak refuses tokens issued before it",
                t.to_rfc3339()
            ),
        ),
        None => verification(false, format!("{what} has no not-before set")),
    }
}
