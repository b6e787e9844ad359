//! Revoking an IAM access key and proving it: find the key's user (`GetAccessKeyLastUsed` names
//! it), deactivate the key (`UpdateAccessKey Status=Inactive`: it stops signing at once, and stays
//! visible should the delete fail), then delete it (`DeleteAccessKey`). Verification re-reads:
//! the key must be gone from the user's `ListAccessKeys`, or IAM must no longer know it at all.
//!
//! A key is named by its `AccessKeyId` only; STS sessions already made with it are not ended
//! (IAM cannot: that needs a Deny on `aws:TokenIssueTime` in the user's policies).

use chrono::Utc;
use portcullis_model::{RevokeReceipt, Verification};
use serde_json::json;

use super::api::{Api, Call};
use super::xml;
use crate::{ConnectorError, RevokeTarget};

pub const STS_CAVEAT: &str = "STS sessions already made with the key (AssumeRole, GetSessionToken) stay valid until they expire: IAM cannot end them";

/// The user owning `key`, or None when IAM does not know the key.
async fn owner(api: &Api, key: &str) -> Result<Option<String>, ConnectorError> {
    match api
        .call("GetAccessKeyLastUsed", &[("AccessKeyId", key)], Call::Read)
        .await
    {
        Ok(body) => {
            let used = xml::last_used(&body)
                .map_err(|e| api.malformed("the GetAccessKeyLastUsed answer", e))?;
            used.user.map(Some).ok_or_else(|| {
                api.malformed(
                    "the GetAccessKeyLastUsed answer",
                    format!("no UserName for key {key}"),
                )
            })
        }
        Err(ConnectorError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The key as `ListAccessKeys` of its user shows it, if it does.
async fn listed(
    api: &Api,
    user: &str,
    key: &str,
) -> Result<Option<xml::AccessKey>, ConnectorError> {
    match api
        .list(
            "ListAccessKeys",
            &[("UserName", user)],
            "AccessKeyMetadata",
            xml::access_key,
        )
        .await
    {
        Ok(keys) => Ok(keys.into_iter().find(|k| k.id == key)),
        Err(ConnectorError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

fn unsupported(what: &str) -> ConnectorError {
    ConnectorError::Unsupported(format!(
        "Portcullis revokes AWS IAM access keys only; {what}: detach the policy or remove the group membership in IAM"
    ))
}

pub async fn revoke(api: &Api, target: &RevokeTarget) -> Result<RevokeReceipt, ConnectorError> {
    let RevokeTarget::Credential { external_id, .. } = target else {
        return Err(unsupported(&target.describe()));
    };
    let key = external_id.as_str();
    let Some(user) = owner(api, key).await? else {
        return Err(ConnectorError::NotFound {
            target: api.target().to_string(),
            what: format!("access key {key} (already deleted?)"),
        });
    };
    let base = [("UserName", user.as_str()), ("AccessKeyId", key)];
    let mut params = base.to_vec();
    params.push(("Status", "Inactive"));
    api.call("UpdateAccessKey", &params, Call::Change).await?;
    api.call("DeleteAccessKey", &base, Call::Change).await?;
    Ok(RevokeReceipt {
        action: format!(
            "UpdateAccessKey Status=Inactive, then DeleteAccessKey (user {user}, key {key})"
        ),
        at: Utc::now(),
        caveats: vec![
            STS_CAVEAT.into(),
            "the user keeps its other access keys, its console password and any role it may assume"
                .into(),
        ],
        detail: json!({ "user": user, "access_key_id": key, "deactivated": true, "deleted": true }),
    })
}

pub async fn verify(api: &Api, target: &RevokeTarget) -> Result<Verification, ConnectorError> {
    let RevokeTarget::Credential { external_id, .. } = target else {
        return Err(unsupported(&target.describe()));
    };
    let key = external_id.as_str();
    let at = Utc::now();
    let Some(user) = owner(api, key).await? else {
        return Ok(Verification {
            dead: true,
            evidence: format!(
                "GetAccessKeyLastUsed answered NoSuchEntity: IAM no longer knows key {key}"
            ),
            at,
        });
    };
    Ok(match listed(api, &user, key).await? {
        None => Verification {
            dead: true,
            evidence: format!("ListAccessKeys of user {user} no longer lists key {key}"),
            at,
        },
        Some(k) => Verification {
            dead: false,
            evidence: format!(
                "ListAccessKeys of user {user} still lists key {key} as {}",
                k.status.chars().take(32).collect::<String>()
            ),
            at,
        },
    })
}
