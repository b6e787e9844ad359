//! Revoking on hoop and proving it, each by hoop's own API and then re-read from it:
//! - an API key or AI agent: `DELETE /api-keys/:id` (or `/ai-agents/:id`), which sets its status
//!   to `revoked` (hoop can reactivate it later: the preview says so);
//! - approved just-in-time access: `PUT /reviews/:id` with status `REVOKED`;
//! - an open session: `POST /sessions/:id/kill`;
//! - a user or a service account: its status set to `inactive` (`PUT /users/:id`,
//!   `PUT /serviceaccounts/:subject`), the rest of the record sent back as read, since hoop's PUT
//!   replaces the whole record.

use chrono::Utc;
use portcullis_model::{RevokeReceipt, Verification};
use reqwest::Method;
use serde_json::{json, Value};

use super::api::Api;
use super::inventory::{credential_target, Key};
use crate::{ConnectorError, RevokeTarget};

fn unsupported(what: &str) -> ConnectorError {
    ConnectorError::Unsupported(format!("hoop: Portcullis cannot revoke {what}"))
}

/// What a target is on hoop.
enum Target<'a> {
    Key {
        collection: &'static str,
        id: &'a str,
    },
    Review(&'a str),
    Session(&'a str),
    /// A principal: a user (by subject), else a service account, else an API key (whose
    /// principal is its id).
    Principal(&'a str),
}

fn credential(id: &str) -> Result<Target<'_>, ConnectorError> {
    match credential_target(id) {
        Some(("api-key", k)) => Ok(Target::Key {
            collection: "api-keys",
            id: k,
        }),
        Some(("ai-agent", k)) => Ok(Target::Key {
            collection: "ai-agents",
            id: k,
        }),
        Some(("review", r)) => Ok(Target::Review(r)),
        Some(("session", s)) => Ok(Target::Session(s)),
        _ => Err(unsupported(&format!("credential `{id}`"))),
    }
}

fn target(t: &RevokeTarget) -> Result<Target<'_>, ConnectorError> {
    match t {
        RevokeTarget::Credential { external_id, .. } => credential(external_id),
        RevokeTarget::Login { principal } => Ok(Target::Principal(principal)),
        RevokeTarget::Grant(_) => Err(unsupported(
            "a single grant (change the group's access in hoop's access control, or deactivate the principal)",
        )),
        RevokeTarget::Token { .. } => Err(unsupported(
            "a key by its value (revoke it by its id from the credentials list)",
        )),
    }
}

pub async fn revoke(api: &Api, t: &RevokeTarget) -> Result<RevokeReceipt, ConnectorError> {
    let (action, caveats, detail) = match target(t)? {
        Target::Key { collection, id } => {
            let action = format!("DELETE /{collection}/{id}");
            api.send_ok(Method::DELETE, &[collection, id], &action)
                .await?;
            (
                action,
                vec!["hoop keeps the key as revoked; an administrator can reactivate it".into()],
                json!({ "key": id }),
            )
        }
        Target::Review(id) => {
            let action = format!("PUT /reviews/{id} status=REVOKED");
            let _: Value = api
                .put(&["reviews", id], &json!({"status": "REVOKED"}), &action)
                .await?;
            (
                action,
                vec!["a session already open under this access is not killed by this call".into()],
                json!({ "review": id }),
            )
        }
        Target::Session(id) => {
            let action = format!("POST /sessions/{id}/kill");
            api.send_ok(Method::POST, &["sessions", id, "kill"], &action)
                .await?;
            (
                action,
                vec!["the user may open a new session if their groups still allow it".into()],
                json!({ "session": id }),
            )
        }
        Target::Principal(id) => deactivate(api, id).await?,
    };
    Ok(RevokeReceipt {
        action,
        at: Utc::now(),
        caveats,
        detail,
    })
}

/// A user (or, if hoop has no such user, a service account) set to `inactive`.
async fn deactivate(api: &Api, id: &str) -> Result<(String, Vec<String>, Value), ConnectorError> {
    let right = format!("GET /users/{id}");
    match api.get::<Value>(&["users", id], &[], &right).await {
        Ok(mut user) => {
            let action = format!("PUT /users/{id} status=inactive");
            if let Some(o) = user.as_object_mut() {
                o.insert("status".into(), json!("inactive"));
            }
            let _: Value = api.put(&["users", id], &user, &action).await?;
            Ok((
                action,
                vec!["hoop refuses an inactive user's every request; open sessions are not killed by this call".into()],
                json!({ "user": id }),
            ))
        }
        Err(ConnectorError::NotFound { .. }) => {
            let Some(account) = service_account(api, id).await? else {
                let action = format!("DELETE /api-keys/{id}");
                api.send_ok(Method::DELETE, &["api-keys", id], &action)
                    .await?;
                return Ok((
                    action,
                    vec![
                        "hoop keeps the key as revoked; an administrator can reactivate it".into(),
                    ],
                    json!({ "key": id }),
                ));
            };
            let action = format!("PUT /serviceaccounts/{id} status=inactive");
            let body = json!({
                "subject": id,
                "name": account.get("name").cloned().unwrap_or(Value::Null),
                "groups": account.get("groups").cloned().unwrap_or(json!([])),
                "status": "inactive",
            });
            let _: Value = api.put(&["serviceaccounts", id], &body, &action).await?;
            Ok((
                action,
                vec!["the identity provider's client keeps its secret; hoop refuses it while inactive".into()],
                json!({ "service_account": id }),
            ))
        }
        Err(e) => Err(e),
    }
}

/// hoop serves service accounts only as a list.
async fn service_account(api: &Api, subject: &str) -> Result<Option<Value>, ConnectorError> {
    let all: Vec<Value> = api
        .get(&["serviceaccounts"], &[], "GET /serviceaccounts")
        .await?;
    Ok(all
        .into_iter()
        .find(|a| a.get("subject").and_then(Value::as_str) == Some(subject)))
}

pub async fn verify(api: &Api, t: &RevokeTarget) -> Result<Verification, ConnectorError> {
    let (dead, evidence) = match target(t)? {
        Target::Key { collection, id } => {
            let right = format!("GET /{collection}/{id}");
            match api.get::<Key>(&[collection, id], &[], &right).await {
                Ok(k) => {
                    let status = k.status.unwrap_or_default();
                    (
                        status == "revoked",
                        format!("{right} answered status={status:?}"),
                    )
                }
                Err(ConnectorError::NotFound { .. }) => (true, format!("{right} answered 404")),
                Err(e) => return Err(e),
            }
        }
        Target::Review(id) => {
            let right = format!("GET /reviews/{id}");
            let r: Value = api.get(&["reviews", id], &[], &right).await?;
            let status = r.get("status").and_then(Value::as_str).unwrap_or_default();
            (
                status == "REVOKED",
                format!("{right} answered status={status:?}"),
            )
        }
        Target::Session(id) => {
            let right = format!("GET /sessions/{id}");
            let s: Value = api.get(&["sessions", id], &[], &right).await?;
            let status = s.get("status").and_then(Value::as_str).unwrap_or_default();
            (
                status == "done",
                format!("{right} answered status={status:?}"),
            )
        }
        Target::Principal(id) => {
            let right = format!("GET /users/{id}");
            let record = match api.get::<Value>(&["users", id], &[], &right).await {
                Ok(u) => Some(u),
                Err(ConnectorError::NotFound { .. }) => service_account(api, id).await?,
                Err(e) => return Err(e),
            };
            match record {
                Some(r) => {
                    let status = r.get("status").and_then(Value::as_str).unwrap_or_default();
                    (
                        status == "inactive",
                        format!("hoop answered status={status:?} for {id}"),
                    )
                }
                None => {
                    let right = format!("GET /api-keys/{id}");
                    let k: Key = api.get(&["api-keys", id], &[], &right).await?;
                    let status = k.status.unwrap_or_default();
                    (
                        status == "revoked",
                        format!("{right} answered status={status:?}"),
                    )
                }
            }
        }
    };
    Ok(Verification {
        dead,
        evidence,
        at: Utc::now(),
    })
}
