//! Revoking on GitLab and proving it: a token is revoked (`DELETE /personal_access_tokens/:id`,
//! which serves personal, project and group access tokens alike), a user is blocked, a
//! membership is removed; each is then re-read from GitLab.

use chrono::Utc;
use portcullis_model::{NodeKind, RevokeReceipt, Verification};
use serde::Deserialize;
use serde_json::json;

use super::api::Api;
use super::inventory::Token;
use crate::{ConnectorError, RevokeTarget};

#[derive(Debug, Deserialize)]
struct UserState {
    #[serde(default)]
    state: Option<String>,
}

/// A membership grant as (`groups` | `projects`, namespace path, user id).
fn membership(target: &RevokeTarget) -> Option<(&'static str, &str, &str)> {
    let RevokeTarget::Grant(g) = target else {
        return None;
    };
    if g.from_kind != NodeKind::Principal || g.to_kind != NodeKind::Role {
        return None;
    }
    let (kind, rest) = g.to_id.split_once(':')?;
    let (path, _level) = rest.rsplit_once(':')?;
    let collection = match kind {
        "group" => "groups",
        "project" => "projects",
        _ => return None,
    };
    Some((collection, path, g.from_id.as_str()))
}

fn unsupported(what: &str) -> ConnectorError {
    ConnectorError::Unsupported(format!("GitLab: Portcullis cannot revoke {what}"))
}

pub async fn revoke(api: &Api, target: &RevokeTarget) -> Result<RevokeReceipt, ConnectorError> {
    let (action, caveats, detail) = match target {
        RevokeTarget::Credential { external_id, .. } => {
            let action = format!("DELETE /personal_access_tokens/{external_id}");
            api.delete(&["personal_access_tokens", external_id], &action)
                .await?;
            (
                action,
                vec![
                    "the token's owner keeps their other tokens, SSH keys and browser sessions"
                        .into(),
                    "tokens rotated from this one before (its family) are not revoked by this call"
                        .into(),
                ],
                json!({ "token": external_id }),
            )
        }
        RevokeTarget::Login { principal } => {
            let action = format!("POST /users/{principal}/block");
            api.post(&["users", principal, "block"], &action).await?;
            (
                action,
                vec!["a blocked user's tokens are refused while the block lasts; unblocking restores them".into()],
                json!({ "user": principal }),
            )
        }
        t @ RevokeTarget::Grant(_) => {
            let (collection, path, user) =
                membership(t).ok_or_else(|| unsupported("this grant (only memberships)"))?;
            let action = format!("DELETE /{collection}/{path}/members/{user}");
            api.delete(&[collection, path, "members", user], &action)
                .await?;
            (
                action,
                vec![
                    "memberships inherited from a parent group stay; they are grants of their own"
                        .into(),
                ],
                json!({ "namespace": path, "user": user }),
            )
        }
        RevokeTarget::Token { .. } => {
            return Err(unsupported(
                "a token by its value (revoke it by its id from the credentials list)",
            ))
        }
    };
    Ok(RevokeReceipt {
        action,
        at: Utc::now(),
        caveats,
        detail,
    })
}

pub async fn verify(api: &Api, target: &RevokeTarget) -> Result<Verification, ConnectorError> {
    let (dead, evidence) = match target {
        RevokeTarget::Credential { external_id, .. } => {
            let right = format!("GET /personal_access_tokens/{external_id}");
            match api
                .get::<Token>(&["personal_access_tokens", external_id], &[], &right)
                .await
            {
                Ok(t) => (
                    t.revoked || !t.active,
                    format!("{right} answered revoked={} active={}", t.revoked, t.active),
                ),
                Err(ConnectorError::NotFound { .. }) => (true, format!("{right} answered 404")),
                Err(e) => return Err(e),
            }
        }
        RevokeTarget::Login { principal } => {
            let right = format!("GET /users/{principal}");
            let u: UserState = api.get(&["users", principal], &[], &right).await?;
            let state = u.state.unwrap_or_default();
            (
                state == "blocked",
                format!("{right} answered state={state:?}"),
            )
        }
        t @ RevokeTarget::Grant(_) => {
            let (collection, path, user) =
                membership(t).ok_or_else(|| unsupported("this grant (only memberships)"))?;
            let right = format!("GET /{collection}/{path}/members/{user}");
            match api
                .get::<serde_json::Value>(&[collection, path, "members", user], &[], &right)
                .await
            {
                Ok(_) => (false, format!("{right} still lists the member")),
                Err(ConnectorError::NotFound { .. }) => (true, format!("{right} answered 404")),
                Err(e) => return Err(e),
            }
        }
        RevokeTarget::Token { .. } => return Err(unsupported("a token by its value")),
    };
    Ok(Verification {
        dead,
        evidence,
        at: Utc::now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_model::Grant;

    #[test]
    fn a_membership_grant_names_its_namespace_and_user() {
        let g = |to: &str| {
            RevokeTarget::Grant(Grant {
                from_kind: NodeKind::Principal,
                from_id: "7".into(),
                to_kind: NodeKind::Role,
                to_id: to.into(),
            })
        };
        assert_eq!(
            membership(&g("group:acme/a:b:40")),
            Some(("groups", "acme/a:b", "7"))
        );
        assert_eq!(
            membership(&g("project:acme/api:30")),
            Some(("projects", "acme/api", "7"))
        );
        assert_eq!(membership(&g("instance:admin")), None);
        assert_eq!(membership(&g("nothing")), None);
    }
}
