//! Revoking on Kong and proving it: delete a consumer's credential, an ACL membership, a consumer
//! group membership or an OAuth 2.0 token, then re-read (404 or absence = dead).
//!
//! A credential is named by Kong's own id only, so its plugin and consumer are found first through
//! the global collections (`GET /key-auths/{id}` …), then it is deleted through the documented
//! consumer path (`DELETE /consumers/{consumer}/key-auth/{id}`).

use chrono::Utc;
use portcullis_model::{CredentialKind, NodeKind, RevokeReceipt, Verification};
use serde::Deserialize;
use serde_json::json;

use super::admin::Admin;
use super::inventory::{Acl, EntityRef};
use crate::{ConnectorError, RevokeTarget};

/// (global collection, per-consumer path, the kind the inventory gives its credentials).
const COLLECTIONS: [(&str, &str, CredentialKind); 5] = [
    ("key-auths", "key-auth", CredentialKind::ApiKey),
    ("jwts", "jwt", CredentialKind::ApiKey),
    ("hmac-auths", "hmac-auth", CredentialKind::ApiKey),
    ("oauth2", "oauth2", CredentialKind::ApiKey),
    ("basic-auths", "basic-auth", CredentialKind::Login),
];

#[derive(Debug, Deserialize)]
struct Owned {
    #[serde(default)]
    consumer: Option<EntityRef>,
}

#[derive(Debug, Clone, PartialEq)]
enum Located {
    Token,
    Credential {
        plugin: &'static str,
        consumer: String,
    },
}

/// Where a credential id lives, trying the collections of its kind first. `None`: nowhere.
async fn locate(
    admin: &Admin,
    kind: CredentialKind,
    id: &str,
) -> Result<Option<(Located, String)>, ConnectorError> {
    let mut order: Vec<(&'static str, &'static str)> = Vec::new();
    if kind == CredentialKind::AccessToken || kind == CredentialKind::RefreshToken {
        order.push(("oauth2_tokens", ""));
    }
    for (global, plugin, k) in COLLECTIONS {
        if k == kind {
            order.push((global, plugin));
        }
    }
    for (global, plugin, k) in COLLECTIONS {
        if k != kind {
            order.push((global, plugin));
        }
    }
    if !order.iter().any(|(g, _)| *g == "oauth2_tokens") {
        order.push(("oauth2_tokens", ""));
    }
    for (global, plugin) in order {
        let path = format!("GET /{global}/{id}");
        match admin.get::<Owned>(&[global, id], &path).await {
            Ok(_) if global == "oauth2_tokens" => return Ok(Some((Located::Token, path))),
            Ok(found) => {
                let consumer = found.consumer.map(|c| c.id).ok_or_else(|| {
                    admin.malformed(&path, "the credential names no consumer".into())
                })?;
                return Ok(Some((Located::Credential { plugin, consumer }, path)));
            }
            Err(ConnectorError::NotFound { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

fn receipt(action: String, caveats: Vec<String>, detail: serde_json::Value) -> RevokeReceipt {
    RevokeReceipt {
        action,
        at: Utc::now(),
        caveats,
        detail,
    }
}

const CACHE_CAVEAT: &str = "Kong nodes cache credentials: other nodes (and hybrid-mode data planes) stop accepting it once the change propagates, usually within seconds";

pub async fn revoke(admin: &Admin, target: &RevokeTarget) -> Result<RevokeReceipt, ConnectorError> {
    match target {
        RevokeTarget::Credential { kind, external_id } => {
            let Some((located, _)) = locate(admin, *kind, external_id).await? else {
                return Err(ConnectorError::NotFound {
                    target: admin.target().to_string(),
                    what: format!("credential {external_id} (already deleted?)"),
                });
            };
            match located {
                Located::Token => {
                    let action = format!("DELETE /oauth2_tokens/{external_id}");
                    admin
                        .delete(&["oauth2_tokens", external_id], &action)
                        .await?;
                    Ok(receipt(
                        action,
                        vec![
                            "the token's refresh token is deleted with it; the OAuth 2.0 application can still obtain new tokens".into(),
                            CACHE_CAVEAT.into(),
                        ],
                        json!({ "oauth2_token": external_id }),
                    ))
                }
                Located::Credential { plugin, consumer } => {
                    let action = format!("DELETE /consumers/{consumer}/{plugin}/{external_id}");
                    admin
                        .delete(&["consumers", &consumer, plugin, external_id], &action)
                        .await?;
                    let mut caveats = vec![CACHE_CAVEAT.to_string()];
                    if plugin == "oauth2" {
                        caveats.insert(
                            0,
                            "deleting an OAuth 2.0 application also deletes the tokens issued to it"
                                .into(),
                        );
                    }
                    if plugin == "jwt" {
                        caveats.insert(
                            0,
                            "JWTs signed with this credential are refused from now on, whatever their exp".into(),
                        );
                    }
                    Ok(receipt(
                        action,
                        caveats,
                        json!({ "plugin": plugin, "consumer": consumer, "credential": external_id }),
                    ))
                }
            }
        }
        RevokeTarget::Grant(g) => match (g.from_kind, g.to_kind) {
            (NodeKind::Principal, NodeKind::Role) => {
                let group = g.to_id.strip_prefix("acl/").ok_or_else(|| unsupported_grant(g))?;
                let action = format!("DELETE /consumers/{}/acls/{group}", g.from_id);
                admin
                    .delete(&["consumers", &g.from_id, "acls", group], &action)
                    .await?;
                Ok(receipt(
                    action,
                    vec![
                        "the consumer keeps any route or service another of its ACL groups allows".into(),
                        CACHE_CAVEAT.into(),
                    ],
                    json!({ "consumer": g.from_id, "acl_group": group }),
                ))
            }
            (NodeKind::Principal, NodeKind::Principal) => {
                let group = g
                    .to_id
                    .strip_prefix("consumer_group/")
                    .ok_or_else(|| unsupported_grant(g))?;
                let action = format!("DELETE /consumers/{}/consumer_groups/{group}", g.from_id);
                admin
                    .delete(&["consumers", &g.from_id, "consumer_groups", group], &action)
                    .await?;
                Ok(receipt(
                    action,
                    vec!["plugins scoped to the consumer group stop applying to the consumer".into()],
                    json!({ "consumer": g.from_id, "consumer_group": group }),
                ))
            }
            _ => Err(unsupported_grant(g)),
        },
        RevokeTarget::Token { .. } => Err(ConnectorError::Unsupported(
            "Kong cannot revoke a token by its value: revoke the credential by its id from the inventory".into(),
        )),
        RevokeTarget::Login { .. } => Err(ConnectorError::Unsupported(
            "Kong consumers have no login to disable: revoke their credentials one by one".into(),
        )),
    }
}

fn unsupported_grant(g: &portcullis_model::Grant) -> ConnectorError {
    ConnectorError::Unsupported(format!(
        "Portcullis revokes Kong ACL and consumer-group memberships only; `{} → {}` is in an acl plugin's configuration: edit the plugin's allow/deny lists",
        g.from_id, g.to_id
    ))
}

#[derive(Debug, Deserialize)]
struct GroupsOfConsumer {
    #[serde(default)]
    consumer_groups: Vec<EntityRefNamed>,
}

#[derive(Debug, Deserialize)]
struct EntityRefNamed {
    id: String,
    #[serde(default)]
    name: Option<String>,
}

fn verification(dead: bool, evidence: String) -> Verification {
    Verification {
        dead,
        evidence,
        at: Utc::now(),
    }
}

pub async fn verify(admin: &Admin, target: &RevokeTarget) -> Result<Verification, ConnectorError> {
    match target {
        RevokeTarget::Credential { kind, external_id } => {
            match locate(admin, *kind, external_id).await? {
                None => Ok(verification(
                    true,
                    format!("credential {external_id} is in none of Kong's credential collections (every GET answered 404)"),
                )),
                Some((_, path)) => Ok(verification(
                    false,
                    format!("{path} still answers 200: the credential exists"),
                )),
            }
        }
        RevokeTarget::Grant(g) if g.to_id.starts_with("acl/") => {
            let group = g.to_id.trim_start_matches("acl/");
            let right = format!("GET /consumers/{}/acls", g.from_id);
            match admin
                .list_all::<Acl>(&["consumers", &g.from_id, "acls"], &right)
                .await
            {
                Err(ConnectorError::NotFound { .. }) => Ok(verification(
                    true,
                    format!("{right} answered 404: the consumer no longer exists"),
                )),
                Err(e) => Err(e),
                Ok(acls) => {
                    let still = acls.iter().any(|a| a.group == group);
                    Ok(verification(
                        !still,
                        if still {
                            format!("{right} still lists group `{group}`")
                        } else {
                            format!("{right} no longer lists group `{group}`")
                        },
                    ))
                }
            }
        }
        RevokeTarget::Grant(g) if g.to_id.starts_with("consumer_group/") => {
            let group = g.to_id.trim_start_matches("consumer_group/");
            let right = format!("GET /consumers/{}/consumer_groups", g.from_id);
            match admin
                .get::<GroupsOfConsumer>(&["consumers", &g.from_id, "consumer_groups"], &right)
                .await
            {
                Err(ConnectorError::NotFound { .. }) => Ok(verification(
                    true,
                    format!("{right} answered 404: the consumer no longer exists"),
                )),
                Err(e) => Err(e),
                Ok(groups) => {
                    let still = groups
                        .consumer_groups
                        .iter()
                        .any(|x| x.id == group || x.name.as_deref() == Some(group));
                    Ok(verification(
                        !still,
                        if still {
                            format!("{right} still lists consumer group {group}")
                        } else {
                            format!("{right} no longer lists consumer group {group}")
                        },
                    ))
                }
            }
        }
        RevokeTarget::Grant(g) => Err(unsupported_grant(g)),
        RevokeTarget::Token { .. } | RevokeTarget::Login { .. } => {
            Err(ConnectorError::Unsupported(
                "Kong can verify only credentials and memberships it revoked".into(),
            ))
        }
    }
}
