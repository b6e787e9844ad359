//! Token triage and revocation by value: RFC 7662 introspection and the realm's RFC 7009
//! endpoint, both authenticated as the console's client.
//!
//! Keycloak revokes a token by value only for the client it was issued to (`azp`), and answers
//! some refusals with HTTP 200 and an error body; so a token is introspected first, a token of
//! another client is refused with the revocations that do work for it, and a 200 is read.

use chrono::{DateTime, Utc};
use portcullis_model::{CredentialKind, RevokeReceipt, TokenInfo};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::reps::IntrospectionRep;
use super::revoke::{receipt, unsupported, TOKENS_STAY};
use super::{needs, Keycloak};
use crate::ConnectorError;

fn token_kind(typ: Option<&str>) -> CredentialKind {
    match typ.map(str::to_ascii_lowercase).as_deref() {
        Some("refresh") | Some("offline") => CredentialKind::RefreshToken,
        _ => CredentialKind::AccessToken,
    }
}

pub(super) fn seconds(s: Option<i64>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
}

impl Keycloak {
    /// Introspects a token with the console's client (RFC 7662).
    pub(crate) async fn introspect(
        &self,
        token: &SecretString,
    ) -> Result<IntrospectionRep, ConnectorError> {
        let resp = self
            .post_client_form(
                &["token", "introspect"],
                &[("token", token.expose_secret())],
            )
            .await?;
        let (status, retry, body) = self.read(resp).await?;
        let need = needs(
            "the introspection endpoint",
            "a confidential client allowed to introspect tokens",
        );
        if !status.is_success() {
            return Err(self.status_error(status, retry, &body, &need));
        }
        self.parse(&body, &need)
    }

    pub(super) async fn revoke_token(
        &self,
        value: &SecretString,
    ) -> Result<RevokeReceipt, ConnectorError> {
        let fingerprint = crate::fingerprint(value.expose_secret());
        let info = self.introspect(value).await?;
        if !info.active {
            return Ok(receipt(
                "nothing sent: introspection already reports the token inactive".into(),
                vec!["Keycloak does not tell an expired, revoked or foreign token apart"],
                json!({"realm": self.realm, "token": fingerprint}),
            ));
        }
        let issued_to = info.issued_to().unwrap_or("an unknown client").to_string();
        if issued_to != self.client_id {
            let session = match (info.sub.as_deref(), info.session()) {
                (Some(user), Some(sid)) => {
                    format!("delete its session `{user}/{sid}`, ")
                }
                _ => String::new(),
            };
            return Err(unsupported(format!(
                "Keycloak revokes a token by value (RFC 7009) only for the client it was issued to (`{issued_to}`), not for the console's client `{}`; instead {session}revoke the user's consent to `{issued_to}`, or push a not-before for client `{issued_to}`",
                self.client_id
            )));
        }
        let kind = token_kind(info.typ.as_deref());
        let hint = match kind {
            CredentialKind::RefreshToken => "refresh_token",
            _ => "access_token",
        };
        let resp = self
            .post_client_form(
                &["revoke"],
                &[("token", value.expose_secret()), ("token_type_hint", hint)],
            )
            .await?;
        let (status, retry, body) = self.read(resp).await?;
        let need = needs("the revocation endpoint", "a confidential client");
        if !status.is_success() {
            return Err(self.status_error(status, retry, &body, &need));
        }
        // Keycloak answers some refusals ("Invalid token") with 200 and an error body.
        if let Ok(v) = serde_json::from_slice::<Value>(&body) {
            if let Some(error) = v.get("error").and_then(Value::as_str) {
                return Err(ConnectorError::Backend {
                    target: self.target(),
                    status: status.as_u16(),
                    detail: format!(
                        "revocation refused with `{error}`: {}",
                        crate::http::summarize_body(&body)
                    ),
                });
            }
        }
        let mut caveats = vec![];
        if kind == CredentialKind::RefreshToken {
            caveats.push("Keycloak also revokes the user's consent to this client and ends the client's sessions for the user");
            caveats.push(TOKENS_STAY);
        } else {
            caveats.push("Keycloak's introspection now reports the token inactive, but resource servers that check only its signature accept it until it expires");
        }
        Ok(receipt(
            format!(
                "POST {} (RFC 7009, token_type_hint={hint})",
                self.oidc_url(&["revoke"])?.path()
            ),
            caveats,
            json!({
                "realm": self.realm,
                "token": fingerprint,
                "jti": info.jti,
                "expires_at": seconds(info.exp),
            }),
        ))
    }

    /// Token triage: `None` when Keycloak does not report the token active (expired, revoked,
    /// from another realm, or not a token: introspection does not say which).
    pub(crate) async fn introspect_token(
        &self,
        token: &SecretString,
    ) -> Result<Option<TokenInfo>, ConnectorError> {
        let info = self.introspect(token).await?;
        if !info.active {
            return Ok(None);
        }
        let audience = match &info.aud {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        Ok(Some(TokenInfo {
            backend: self.name.clone(),
            fingerprint: crate::fingerprint(token.expose_secret()),
            active: true,
            kind: token_kind(info.typ.as_deref()),
            external_id: info.jti.clone(),
            client: info.issued_to().map(str::to_string),
            subject: info.sub.clone(),
            scopes: info
                .scope
                .as_deref()
                .unwrap_or("")
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            audience,
            issued_at: seconds(info.iat),
            expires_at: seconds(info.exp),
            attrs: json!({
                "typ": info.typ,
                "username": info.preferred_username.as_ref().or(info.username.as_ref()),
                "session": info.session(),
                "issuer": info.iss,
                "realm_roles": info.realm_access.as_ref().map(|a| &a.roles),
                "client_roles": info.resource_access.iter()
                    .map(|(k, v)| (k.clone(), json!(v.roles)))
                    .collect::<serde_json::Map<String, Value>>(),
            }),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_kinds_follow_typ() {
        assert_eq!(token_kind(Some("Bearer")), CredentialKind::AccessToken);
        assert_eq!(token_kind(Some("Refresh")), CredentialKind::RefreshToken);
        assert_eq!(token_kind(Some("Offline")), CredentialKind::RefreshToken);
        assert_eq!(token_kind(None), CredentialKind::AccessToken);
    }
}
