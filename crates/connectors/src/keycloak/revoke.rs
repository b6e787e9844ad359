//! Revocation: what each [`RevokeTarget`] means in Keycloak, and the one documented Admin API
//! call that revokes it (tokens by value are in [`super::token`], the proof in
//! [`super::verify`]).
//!
//! Each call is sent once; its receipt says in plain words what the action does *not* do,
//! because in Keycloak most of them leave access tokens already issued valid until they expire.
//! A 404 means the thing was already gone; the receipt says so and the verification confirms it.

use chrono::{DateTime, Utc};
use portcullis_model::{CredentialKind, Grant, NodeKind, RevokeReceipt};
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{json, Value};

use super::reps::GlobalRequestResult;
use super::{need, needs, Keycloak, Need};
use crate::{ConnectorError, RevokeTarget};
use url::Url;

pub(super) const TOKENS_STAY: &str = "access tokens already issued stay valid until they expire (at most the realm's access token lifespan): resource servers check their signature, not Keycloak; push a not-before for the client or the realm to reach adapters with an admin URL";
const CAN_LOG_IN_AGAIN: &str =
    "the user can log in again: disable the user or remove the access to prevent that";
const OFFLINE_STAYS: &str =
    "offline tokens (offline sessions) are not ended: revoke the user's consents to end them";

/// A revocation target in Keycloak's terms.
#[derive(Debug)]
pub(super) enum Target<'a> {
    Session {
        user: String,
        session: String,
    },
    OfflineSession {
        user: String,
        client_uuid: String,
        session: String,
    },
    Consent {
        user: String,
        client_id: String,
    },
    Membership {
        user: String,
        group: String,
    },
    RoleMapping {
        holder: Holder,
        role: String,
    },
    Logout {
        user: String,
    },
    ClientNotBefore {
        client_id: String,
    },
    RealmNotBefore,
    Token(&'a SecretString),
}

/// Who holds a role mapping.
#[derive(Debug, Clone)]
pub(super) enum Holder {
    User(String),
    Group(String),
}

impl Holder {
    pub(super) fn segments(&self) -> [&str; 2] {
        match self {
            Holder::User(id) => ["users", id],
            Holder::Group(id) => ["groups", id],
        }
    }

    pub(super) fn describe(&self) -> String {
        match self {
            Holder::User(id) => format!("user {id}"),
            Holder::Group(id) => format!("group {id}"),
        }
    }
}

fn bad(detail: impl Into<String>) -> ConnectorError {
    ConnectorError::InvalidConfig(detail.into())
}

pub(super) fn unsupported(detail: impl Into<String>) -> ConnectorError {
    ConnectorError::Unsupported(detail.into())
}

/// `USER_ID/SESSION_ID` or `offline/USER_ID/CLIENT_UUID/SESSION_ID`.
fn parse_session(external_id: &str) -> Result<Target<'static>, ConnectorError> {
    if let Some(rest) = external_id.strip_prefix("offline/") {
        let mut parts = rest.rsplitn(3, '/');
        if let (Some(session), Some(client_uuid), Some(user)) =
            (parts.next(), parts.next(), parts.next())
        {
            if !session.is_empty() && !client_uuid.is_empty() && !user.is_empty() {
                return Ok(Target::OfflineSession {
                    user: user.into(),
                    client_uuid: client_uuid.into(),
                    session: session.into(),
                });
            }
        }
    } else if let Some((user, session)) = external_id.rsplit_once('/') {
        if !user.is_empty() && !session.is_empty() {
            return Ok(Target::Session {
                user: user.into(),
                session: session.into(),
            });
        }
    }
    Err(bad(format!(
        "`{external_id}` is not a Keycloak session id: the inventory names sessions USER_ID/SESSION_ID (offline ones offline/USER_ID/CLIENT_UUID/SESSION_ID)"
    )))
}

/// `consent/USER_ID/CLIENT_ID` (a clientId may contain `/`, a user id does not).
fn parse_consent(external_id: &str) -> Result<Target<'static>, ConnectorError> {
    external_id
        .strip_prefix("consent/")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(u, c)| !u.is_empty() && !c.is_empty())
        .map(|(user, client_id)| Target::Consent {
            user: user.into(),
            client_id: client_id.into(),
        })
        .ok_or_else(|| {
            bad(format!(
                "`{external_id}` is not a Keycloak consent id (consent/USER_ID/CLIENT_ID)"
            ))
        })
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

pub(super) fn receipt(action: String, caveats: Vec<&str>, detail: Value) -> RevokeReceipt {
    RevokeReceipt {
        action,
        at: now(),
        caveats: caveats.into_iter().map(str::to_string).collect(),
        detail,
    }
}

impl Keycloak {
    pub(super) fn classify<'a>(
        &self,
        target: &'a RevokeTarget,
    ) -> Result<Target<'a>, ConnectorError> {
        match target {
            RevokeTarget::Credential {
                kind: CredentialKind::Session,
                external_id,
            } => parse_session(external_id),
            RevokeTarget::Credential {
                kind: CredentialKind::RefreshToken,
                external_id,
            } => parse_consent(external_id),
            RevokeTarget::Credential { kind, external_id } => Err(unsupported(format!(
                "Keycloak has no {} credential `{external_id}`: revoke sessions, consents (refresh_token) or a token by value",
                kind.as_str()
            ))),
            RevokeTarget::Login { principal } => {
                if let Some(client_id) = principal.strip_prefix("client:") {
                    Ok(Target::ClientNotBefore {
                        client_id: client_id.into(),
                    })
                } else if let Some(realm) = principal.strip_prefix("realm:") {
                    if realm == self.realm {
                        Ok(Target::RealmNotBefore)
                    } else {
                        Err(bad(format!(
                            "this backend is realm `{}`, not `{realm}`",
                            self.realm
                        )))
                    }
                } else if principal.starts_with("group:") {
                    Err(unsupported(
                        "a group does not log in: log its members out, or remove their membership",
                    ))
                } else {
                    Ok(Target::Logout {
                        user: principal.clone(),
                    })
                }
            }
            RevokeTarget::Grant(g) => self.classify_grant(g),
            RevokeTarget::Token { value } => Ok(Target::Token(value)),
        }
    }

    fn classify_grant(&self, g: &Grant) -> Result<Target<'static>, ConnectorError> {
        let holder = |id: &str| -> Result<Holder, ConnectorError> {
            if let Some(group) = id.strip_prefix("group:") {
                Ok(Holder::Group(group.into()))
            } else if id.starts_with("client:") {
                Err(unsupported(format!(
                    "roles of `{id}` are held by its service account: revoke the grant of the service-account user"
                )))
            } else {
                Ok(Holder::User(id.into()))
            }
        };
        match (g.from_kind, g.to_kind) {
            (NodeKind::Principal, NodeKind::Principal) => match holder(&g.from_id)? {
                Holder::User(user) => {
                    if let Some(client_id) = g.to_id.strip_prefix("client:") {
                        Ok(Target::Consent {
                            user,
                            client_id: client_id.into(),
                        })
                    } else if let Some(group) = g.to_id.strip_prefix("group:") {
                        Ok(Target::Membership {
                            user,
                            group: group.into(),
                        })
                    } else {
                        Err(bad(format!(
                            "`{}` is neither a client (client:ID) nor a group (group:ID)",
                            g.to_id
                        )))
                    }
                }
                Holder::Group(_) => Err(unsupported(
                    "a subgroup's place in the group tree is configuration: move the group in Keycloak",
                )),
            },
            (NodeKind::Principal, NodeKind::Role) => Ok(Target::RoleMapping {
                holder: holder(&g.from_id)?,
                role: g.to_id.clone(),
            }),
            (NodeKind::Role, NodeKind::Role) => Err(unsupported(
                "a composite role is configuration: edit the composite in Keycloak",
            )),
            _ => Err(unsupported(
                "client scopes and scope mappings are configuration: change them in Keycloak",
            )),
        }
    }

    /// `(role representation, role-mapping path segments)` for a role external id. A client
    /// role is `client:CLIENT_ID:NAME`, where both parts may contain `:`; the split is the one
    /// whose client exists.
    async fn role_for_mapping(&self, role: &str) -> Result<(Value, Vec<String>), ConnectorError> {
        if let Some(name) = role.strip_prefix("realm:") {
            let rep: Value = self
                .get_json(
                    self.admin_url(&["roles", name])?,
                    &needs(format!("realm role `{name}`"), need::VIEW_REALM),
                )
                .await?;
            return Ok((rep, vec!["realm".into()]));
        }
        let rest = role.strip_prefix("client:").ok_or_else(|| {
            bad(format!(
                "`{role}` is not a Keycloak role id (realm:NAME or client:CLIENT_ID:NAME)"
            ))
        })?;
        let splits: Vec<usize> = rest.match_indices(':').map(|(i, _)| i).rev().collect();
        for i in splits {
            let (client_id, name) = (&rest[..i], &rest[i + 1..]);
            let uuid = match self.client_uuid(client_id).await {
                Ok(uuid) => uuid,
                Err(ConnectorError::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            };
            let rep: Value = self
                .get_json(
                    self.admin_url(&["clients", &uuid, "roles", name])?,
                    &needs(
                        format!("role `{name}` of client `{client_id}`"),
                        need::VIEW_CLIENTS,
                    ),
                )
                .await?;
            return Ok((rep, vec!["clients".into(), uuid]));
        }
        Err(ConnectorError::NotFound {
            target: self.target(),
            what: format!("the client of role `{role}`"),
        })
    }

    /// Sets a not-before of now on a client or the realm (read, change `notBefore`, write back,
    /// as the admin console does), then pushes it to clients with an admin URL.
    async fn push_not_before(
        &self,
        segments: &[&str],
        what: &str,
        right: &'static str,
    ) -> Result<(i64, GlobalRequestResult), ConnectorError> {
        let url = self.admin_url(segments)?;
        let mut rep: Value = self.get_json(url.clone(), &needs(what, right)).await?;
        let not_before = now().timestamp();
        match rep.as_object_mut() {
            Some(map) => {
                map.insert("notBefore".into(), json!(not_before));
            }
            None => {
                return Err(ConnectorError::Malformed {
                    target: self.target(),
                    what: format!("JSON of {what}"),
                    detail: "not an object".into(),
                })
            }
        }
        let (status, _) = self
            .send_action(Method::PUT, url, Some(&rep), &needs(what, right))
            .await?;
        if status == StatusCode::NOT_FOUND {
            return Err(ConnectorError::NotFound {
                target: self.target(),
                what: what.into(),
            });
        }
        let mut push = segments.to_vec();
        push.push("push-revocation");
        let (status, body) = self
            .send_action(
                Method::POST,
                self.admin_url(&push)?,
                None,
                &needs(what, right),
            )
            .await?;
        if status == StatusCode::NOT_FOUND {
            return Err(ConnectorError::NotFound {
                target: self.target(),
                what: what.into(),
            });
        }
        let result: GlobalRequestResult = if body.iter().all(u8::is_ascii_whitespace) {
            GlobalRequestResult::default()
        } else {
            self.parse(&body, &needs(format!("push-revocation of {what}"), right))?
        };
        Ok((not_before, result))
    }

    /// Sends a DELETE/POST and makes a receipt; 404 means it was already gone.
    async fn simple_action(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        need: Need,
        caveats: Vec<&str>,
    ) -> Result<RevokeReceipt, ConnectorError> {
        let action = format!("{method} {}", url.path())
            + &url.query().map(|q| format!("?{q}")).unwrap_or_default();
        let (status, _) = self.send_action(method, url, body, &need).await?;
        let mut caveats = caveats;
        let gone = status == StatusCode::NOT_FOUND;
        if gone {
            caveats.insert(
                0,
                "Keycloak answered 404: it was already gone (or never existed); nothing was changed",
            );
        }
        Ok(receipt(
            action,
            caveats,
            json!({"realm": self.realm, "what": need.what, "status": status.as_u16(), "already_gone": gone}),
        ))
    }

    pub(crate) async fn revoke_target(
        &self,
        target: &RevokeTarget,
    ) -> Result<RevokeReceipt, ConnectorError> {
        match self.classify(target)? {
            Target::Session { user, session } => {
                self.simple_action(
                    Method::DELETE,
                    self.admin_url(&["sessions", &session])?,
                    None,
                    needs(format!("session {session} of user {user}"), need::MANAGE_USERS),
                    vec![TOKENS_STAY, OFFLINE_STAYS, CAN_LOG_IN_AGAIN],
                )
                .await
            }
            Target::OfflineSession {
                user,
                client_uuid,
                session,
            } => {
                self.simple_action(
                    Method::DELETE,
                    {
                    let mut url = self.admin_url(&["sessions", &session])?;
                    url.query_pairs_mut().append_pair("isOffline", "true");
                    url
                },
                    None,
                    needs(format!("offline session {session} of user {user} (client {client_uuid})"), need::MANAGE_USERS),
                    vec![
                        TOKENS_STAY,
                        "the whole offline session goes, for every client it serves",
                        "the user's consent to the client stays: the client can get offline access again after a new login",
                    ],
                )
                .await
            }
            Target::Consent { user, client_id } => {
                self.simple_action(
                    Method::DELETE,
                    self.admin_url(&["users", &user, "consents", &client_id])?,
                    None,
                    needs(format!("consent of user {user} to client `{client_id}`"), need::MANAGE_USERS),
                    vec![
                        TOKENS_STAY,
                        "online sessions of the user with the client are not ended: delete them or log the user out",
                        "the user may consent again at the next login",
                    ],
                )
                .await
            }
            Target::Membership { user, group } => {
                self.simple_action(
                    Method::DELETE,
                    self.admin_url(&["users", &user, "groups", &group])?,
                    None,
                    needs(format!("membership of user {user} in group {group}"), need::MANAGE_USERS),
                    vec![
                        "tokens already issued keep the group's roles until they expire",
                        "roles the user holds directly or through other groups stay",
                    ],
                )
                .await
            }
            Target::RoleMapping { holder, role } => {
                let (rep, path) = self.role_for_mapping(&role).await?;
                let [kind, id] = holder.segments();
                let mut segments = vec![kind, id, "role-mappings"];
                segments.extend(path.iter().map(String::as_str));
                self.simple_action(
                    Method::DELETE,
                    self.admin_url(&segments)?,
                    Some(&json!([rep])),
                    needs(format!("role `{role}` of {}", holder.describe()), need::MANAGE_USERS),
                    vec![
                        "tokens already issued keep the role until they expire",
                        "the role may still be held through a group or a composite role",
                    ],
                )
                .await
            }
            Target::Logout { user } => {
                self.simple_action(
                    Method::POST,
                    self.admin_url(&["users", &user, "logout"])?,
                    None,
                    needs(format!("user {user}"), need::MANAGE_USERS),
                    vec![
                        "access tokens already issued stay valid at resource servers that check only their signature until they expire; Keycloak sets the user's not-before, so its own introspection and userinfo refuse them; push a not-before for the client or the realm to reach adapters with an admin URL",
                        OFFLINE_STAYS,
                        CAN_LOG_IN_AGAIN,
                    ],
                )
                .await
            }
            Target::ClientNotBefore { client_id } => {
                let uuid = self.client_uuid(&client_id).await?;
                let (not_before, push) = self
                    .push_not_before(
                        &["clients", &uuid],
                        &format!("client `{client_id}`"),
                        need::MANAGE_CLIENTS,
                    )
                    .await?;
                Ok(self.not_before_receipt(
                    format!(
                        "PUT notBefore={not_before} and POST push-revocation on client `{client_id}`"
                    ),
                    not_before,
                    push,
                    "client",
                ))
            }
            Target::RealmNotBefore => {
                let (not_before, push) = self
                    .push_not_before(&[], &format!("realm `{}`", self.realm), need::MANAGE_REALM)
                    .await?;
                Ok(self.not_before_receipt(
                    format!(
                        "PUT notBefore={not_before} and POST push-revocation on realm `{}`",
                        self.realm
                    ),
                    not_before,
                    push,
                    "realm",
                ))
            }
            Target::Token(value) => self.revoke_token(value).await,
        }
    }

    fn not_before_receipt(
        &self,
        action: String,
        not_before: i64,
        push: GlobalRequestResult,
        scope: &str,
    ) -> RevokeReceipt {
        let mut caveats = vec![
            "resource servers that validate JWTs themselves and have no admin URL keep accepting older access tokens until they expire".to_string(),
            "sessions are not ended: a user with a browser session gets new tokens without logging in again; delete sessions to force a new login".to_string(),
            format!("Keycloak refuses refresh tokens and offline tokens issued before the not-before for this {scope}, and its introspection reports older tokens inactive"),
        ];
        if !push.failed_requests.is_empty() {
            caveats.insert(
                0,
                format!(
                    "the push failed for {} admin URL(s): {}",
                    push.failed_requests.len(),
                    push.failed_requests.join(", ")
                ),
            );
        }
        RevokeReceipt {
            action,
            at: now(),
            caveats,
            detail: json!({
                "realm": self.realm,
                "not_before": not_before,
                "pushed_to": push.success_requests,
                "push_failed": push.failed_requests,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_parse_from_the_right() {
        match parse_session("f:ldap:jdoe/abc").unwrap() {
            Target::Session { user, session } => {
                assert_eq!((user.as_str(), session.as_str()), ("f:ldap:jdoe", "abc"));
            }
            other => panic!("{other:?}"),
        }
        match parse_session("offline/u1/c-uuid/s1").unwrap() {
            Target::OfflineSession {
                user,
                client_uuid,
                session,
            } => assert_eq!(
                (user.as_str(), client_uuid.as_str(), session.as_str()),
                ("u1", "c-uuid", "s1")
            ),
            other => panic!("{other:?}"),
        }
        for bad_id in ["abc", "/abc", "u1/", "offline/u1/s1"] {
            assert!(parse_session(bad_id).is_err(), "{bad_id}");
        }
    }

    #[test]
    fn consent_ids_keep_slashes_in_client_ids() {
        match parse_consent("consent/u1/https://sp.example.com/metadata").unwrap() {
            Target::Consent { user, client_id } => {
                assert_eq!(user, "u1");
                assert_eq!(client_id, "https://sp.example.com/metadata");
            }
            other => panic!("{other:?}"),
        }
        assert!(parse_consent("consent/u1").is_err());
        assert!(parse_consent("u1/app").is_err());
    }
}
