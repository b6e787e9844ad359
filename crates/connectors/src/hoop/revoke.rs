//! Revoking on hoop and proving it, each by hoop's own API and then re-read from it:
//! - an API key or AI agent: `DELETE /api-keys/:id` (or `/ai-agents/:id`), which sets its status
//!   to `revoked` (hoop can reactivate it later: the preview says so);
//! - approved just-in-time access: `PUT /reviews/:id` with status `REVOKED`;
//! - an open session: `POST /sessions/:id/kill`;
//! - a user or a service account: its status set to `inactive` (`PUT /users/:id`,
//!   `PUT /serviceaccounts/:subject`), the rest of the record sent back as read, since hoop's PUT
//!   replaces the whole record;
//! - a user's or service account's membership of a group: the record PUT back without the group.

use chrono::Utc;
use portcullis_model::{string_list, NodeKind, RevokeReceipt, Verification, HOOP_EVERYONE};
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
    /// A user's or service account's membership of a group.
    Membership {
        principal: &'a str,
        group: &'a str,
    },
}

/// A principal's record as hoop keeps it: a user, or a service account (served only as a list).
struct Record {
    collection: &'static str,
    body: Value,
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
        RevokeTarget::Grant(g)
            if g.from_kind == NodeKind::Principal
                && g.to_kind == NodeKind::Role
                && g.to_id != HOOP_EVERYONE =>
        {
            Ok(Target::Membership {
                principal: &g.from_id,
                group: &g.to_id,
            })
        }
        RevokeTarget::Grant(_) => Err(unsupported(
            "a connection's access control or a built-in grant (change the group's access in hoop, or deactivate the principal)",
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
        Target::Membership { principal, group } => leave(api, principal, group).await?,
    };
    Ok(RevokeReceipt {
        action,
        at: Utc::now(),
        caveats,
        detail,
    })
}

/// The user `id`, else the service account `id`; None when hoop has neither (an API key's id).
async fn record_of(api: &Api, id: &str) -> Result<Option<Record>, ConnectorError> {
    let right = format!("GET /users/{id}");
    match api.get::<Value>(&["users", id], &[], &right).await {
        Ok(body) => Ok(Some(Record {
            collection: "users",
            body,
        })),
        Err(ConnectorError::NotFound { .. }) => {
            let all: Vec<Value> = api
                .get(&["serviceaccounts"], &[], "GET /serviceaccounts")
                .await?;
            let account = all
                .into_iter()
                .find(|a| a.get("subject").and_then(Value::as_str) == Some(id));
            Ok(account.map(|a| Record {
                collection: "serviceaccounts",
                // What `PUT /serviceaccounts/:subject` takes, as it was.
                body: json!({
                    "subject": id,
                    "name": a.get("name").cloned().unwrap_or(Value::Null),
                    "groups": a.get("groups").cloned().unwrap_or(json!([])),
                    "status": a.get("status").cloned().unwrap_or(Value::Null),
                }),
            }))
        }
        Err(e) => Err(e),
    }
}

/// A user or service account set to `inactive`; an API key's id is revoked as the key.
async fn deactivate(api: &Api, id: &str) -> Result<(String, Vec<String>, Value), ConnectorError> {
    let Some(mut record) = record_of(api, id).await? else {
        let action = format!("DELETE /api-keys/{id}");
        api.send_ok(Method::DELETE, &["api-keys", id], &action)
            .await?;
        return Ok((
            action,
            vec!["hoop keeps the key as revoked; an administrator can reactivate it".into()],
            json!({ "key": id }),
        ));
    };
    let action = format!("PUT /{}/{id} status=inactive", record.collection);
    record.body["status"] = json!("inactive");
    let _: Value = api
        .put(&[record.collection, id], &record.body, &action)
        .await?;
    Ok((
        action,
        vec!["hoop refuses every request of an inactive user or service account; open sessions are not killed by this call".into()],
        json!({ "principal": id }),
    ))
}

/// The principal's record PUT back without `group`.
async fn leave(
    api: &Api,
    id: &str,
    group: &str,
) -> Result<(String, Vec<String>, Value), ConnectorError> {
    let Some(mut record) = record_of(api, id).await? else {
        return Err(unsupported(
            "an API key's group (revoke the key, or change its groups in hoop)",
        ));
    };
    let groups: Vec<String> = string_list(record.body.get("groups"))
        .into_iter()
        .filter(|g| g != group)
        .collect();
    record.body["groups"] = json!(groups);
    let action = format!("PUT /{}/{id} without group {group}", record.collection);
    let _: Value = api
        .put(&[record.collection, id], &record.body, &action)
        .await?;
    Ok((
        action,
        vec![
            "the principal's other groups may still open the same connections".into(),
            "open sessions are not killed by this call".into(),
        ],
        json!({ "principal": id, "group": group }),
    ))
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
        Target::Principal(id) => match record_of(api, id).await? {
            Some(r) => {
                let status = r
                    .body
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                (
                    status == "inactive",
                    format!("GET /{}/{id} answered status={status:?}", r.collection),
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
        },
        Target::Membership { principal, group } => {
            let Some(r) = record_of(api, principal).await? else {
                return Err(unsupported("an API key's group"));
            };
            let groups = string_list(r.body.get("groups"));
            (
                !groups.iter().any(|g| g == group),
                format!(
                    "GET /{}/{principal} answered groups={groups:?}",
                    r.collection
                ),
            )
        }
    };
    Ok(Verification {
        dead,
        evidence,
        at: Utc::now(),
    })
}
