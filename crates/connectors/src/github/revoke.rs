//! Revoking on GitHub and proving it: a fine-grained PAT grant is revoked with the bulk endpoint
//! (`POST /orgs/{org}/personal-access-tokens`, `action: revoke`, `pat_ids`), an SSO credential
//! authorization is removed (`DELETE /orgs/{org}/credential-authorizations/{credential_id}`);
//! each is then re-read from GitHub's listing, which no longer names a revoked one.
//!
//! Neither ends the token itself: GitHub gives an organisation no call that does. The caveats
//! say so, and the preview (engine `revoke/preview.rs`) says it before.

use chrono::Utc;
use portcullis_model::{RevokeReceipt, Verification};
use serde_json::json;

use super::api::Api;
use super::inventory::{CredentialAuthorization, PatGrant, PAT_GRANT, SSO};
use crate::{ConnectorError, RevokeTarget};

/// What a credential id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// A fine-grained PAT grant, by its `pat_id` (the grant's `id`).
    PatGrant(u64),
    /// A SAML SSO authorization, by its `credential_id`.
    Sso(&'a str),
}

/// The target a credential id names; `None` for anything Portcullis does not revoke here.
pub fn target(external_id: &str) -> Option<Target<'_>> {
    if let Some(id) = external_id.strip_prefix(PAT_GRANT) {
        return id.parse().ok().map(Target::PatGrant);
    }
    let id = external_id.strip_prefix(SSO)?;
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then_some(Target::Sso(id))
}

fn unsupported(what: &str) -> ConnectorError {
    ConnectorError::Unsupported(format!("GitHub: Portcullis cannot revoke {what}"))
}

fn credential_target(t: &RevokeTarget) -> Result<Target<'_>, ConnectorError> {
    match t {
        RevokeTarget::Credential { external_id, .. } => target(external_id)
            .ok_or_else(|| unsupported(&format!("the credential {external_id:?}"))),
        RevokeTarget::Token { .. } => Err(unsupported(
            "a token by its value (revoke its grant from the credentials list)",
        )),
        RevokeTarget::Login { .. } => Err(unsupported(
            "a member's login (GitHub accounts are the user's own; remove the member in GitHub)",
        )),
        RevokeTarget::Grant(_) => Err(unsupported("an organisation role or app permission")),
    }
}

pub async fn revoke(
    api: &Api,
    org: &str,
    target: &RevokeTarget,
) -> Result<RevokeReceipt, ConnectorError> {
    let (action, caveats, detail) = match credential_target(target)? {
        Target::PatGrant(id) => {
            let action = format!("POST /orgs/{org}/personal-access-tokens (revoke {id})");
            let body = json!({ "action": "revoke", "pat_ids": [id] });
            api.post_json(&["orgs", org, "personal-access-tokens"], &body, &action)
                .await?;
            (
                action,
                vec![
                    "the token itself lives on: it keeps its access to its owner's own repositories and to other organisations".into(),
                    "its owner can ask this organisation for access again with the same token".into(),
                ],
                json!({ "pat_id": id }),
            )
        }
        Target::Sso(id) => {
            let action = format!("DELETE /orgs/{org}/credential-authorizations/{id}");
            api.delete(&["orgs", org, "credential-authorizations", id], &action)
                .await?;
            (
                action,
                vec![
                    "only the SSO authorization is removed: the token or SSH key still exists and still works outside this organisation's SSO".into(),
                    "its owner can authorize it for SSO again".into(),
                ],
                json!({ "credential_id": id }),
            )
        }
    };
    Ok(RevokeReceipt {
        action,
        at: Utc::now(),
        caveats,
        detail,
    })
}

pub async fn verify(
    api: &Api,
    org: &str,
    target: &RevokeTarget,
) -> Result<Verification, ConnectorError> {
    let (dead, evidence) = match credential_target(target)? {
        Target::PatGrant(id) => {
            let right = format!("GET /orgs/{org}/personal-access-tokens");
            let grants: Vec<PatGrant> = api
                .list_all(&["orgs", org, "personal-access-tokens"], &[], &right, |v| v)
                .await?;
            let listed = grants.iter().any(|g| g.id == id);
            listed_evidence(&right, listed, &id.to_string())
        }
        Target::Sso(id) => {
            let right = format!("GET /orgs/{org}/credential-authorizations");
            let auths: Vec<CredentialAuthorization> = api
                .list_all(
                    &["orgs", org, "credential-authorizations"],
                    &[],
                    &right,
                    |v| v,
                )
                .await?;
            let listed = auths.iter().any(|a| a.credential_id.to_string() == id);
            listed_evidence(&right, listed, id)
        }
    };
    Ok(Verification {
        dead,
        evidence,
        at: Utc::now(),
    })
}

/// (dead, evidence) from whether the listing still names the id.
fn listed_evidence(right: &str, listed: bool, id: &str) -> (bool, String) {
    if listed {
        (false, format!("{right} still lists {id}"))
    } else {
        (true, format!("{right} no longer lists {id}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_ids_name_grants_and_authorizations_only() {
        assert_eq!(target("pat-grant:25381"), Some(Target::PatGrant(25381)));
        assert_eq!(target("sso:161195"), Some(Target::Sso("161195")));
        assert_eq!(target("pat-grant:x"), None);
        assert_eq!(target("sso:1/../2"), None);
        assert_eq!(target("sso:"), None);
        assert_eq!(target("25381"), None);
    }
}
