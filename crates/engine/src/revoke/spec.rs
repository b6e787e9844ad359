//! What one revocation targets on its backend, in a form the journal can keep and resumption can
//! rebuild the connector's [`RevokeTarget`] from — without a secret: a token is kept by its
//! fingerprint, and its value is joined back in only for the call that sends it.

use portcullis_connectors::RevokeTarget;
use portcullis_model::{CredentialKind, Grant};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum TargetSpec {
    Credential {
        kind: CredentialKind,
        external_id: String,
    },
    Login {
        principal: String,
    },
    Grant {
        grant: Grant,
    },
    /// A token revoked by its value (RFC 7009); `kind` is what the cache knows it as.
    Token {
        fingerprint: String,
        kind: Option<CredentialKind>,
    },
}

impl TargetSpec {
    /// A description without secrets, for the journal and messages (fingerprints shortened).
    pub(crate) fn describe(&self) -> String {
        match self {
            TargetSpec::Credential {
                kind: CredentialKind::Login,
                external_id,
            } => format!(
                "login of {}",
                external_id.strip_prefix("login:").unwrap_or(external_id)
            ),
            TargetSpec::Credential { kind, external_id } => {
                let id = if *kind == CredentialKind::AccessToken
                    || *kind == CredentialKind::RefreshToken
                {
                    short(external_id)
                } else {
                    external_id.clone()
                };
                format!("{} {id}", kind.as_str())
            }
            TargetSpec::Login { principal } => format!("login of {principal}"),
            TargetSpec::Grant { grant } => format!(
                "grant {} {} → {} {}",
                grant.from_kind.as_str(),
                grant.from_id,
                grant.to_kind.as_str(),
                grant.to_id
            ),
            TargetSpec::Token { fingerprint, kind } => format!(
                "{} {}",
                kind.map(|k| k.as_str()).unwrap_or("token"),
                short(fingerprint)
            ),
        }
    }

    /// The connector's target. None for a token whose value was not supplied.
    pub(crate) fn to_connector(&self, value: Option<&SecretString>) -> Option<RevokeTarget> {
        Some(match self {
            TargetSpec::Credential { kind, external_id } => RevokeTarget::Credential {
                kind: *kind,
                external_id: external_id.clone(),
            },
            TargetSpec::Login { principal } => RevokeTarget::Login {
                principal: principal.clone(),
            },
            TargetSpec::Grant { grant } => RevokeTarget::Grant(grant.clone()),
            TargetSpec::Token { .. } => RevokeTarget::Token {
                value: value?.clone(),
            },
        })
    }

    /// The credential this target is in the cache, for marking it revoked once verified.
    pub(crate) fn cached_credential_id(&self) -> Option<&str> {
        match self {
            TargetSpec::Credential { external_id, .. } => Some(external_id),
            TargetSpec::Token { fingerprint, .. } => Some(fingerprint),
            _ => None,
        }
    }
}

/// A fingerprint (or any long id) shortened for people: the first 12 characters and an ellipsis.
pub(crate) fn short(s: &str) -> String {
    match s.char_indices().nth(12) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_round_trip_through_the_journal_and_never_hold_a_value() {
        let spec = TargetSpec::Token {
            fingerprint: "ab".repeat(32),
            kind: Some(CredentialKind::RefreshToken),
        };
        let json = serde_json::to_value(&spec).unwrap();
        assert_eq!(json["type"], "token");
        let back: TargetSpec = serde_json::from_value(json).unwrap();
        assert_eq!(back, spec);
        assert_eq!(back.describe(), "refresh_token abababababab…");
        assert!(back.to_connector(None).is_none());
        let v = SecretString::from("the-value".to_string());
        assert!(matches!(
            back.to_connector(Some(&v)),
            Some(RevokeTarget::Token { .. })
        ));
    }
}
