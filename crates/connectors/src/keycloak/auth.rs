//! The console's own login: a service-account client using the client credentials grant against
//! the realm's token endpoint, with the access token cached until 30 seconds before it expires.
//!
//! The access token and the client secret live only in memory, in [`SecretString`]s; errors quote
//! Keycloak's `error_description`, never a request. The same client authentication (HTTP Basic,
//! RFC 6749 §2.3.1) is used for introspection and RFC 7009 revocation.

use reqwest::{Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use std::time::{Duration, Instant};

use super::reps::TokenResponse;
use super::Keycloak;
use crate::ConnectorError;

/// A token is fetched again when it has less than this left.
pub(crate) const REFRESH_MARGIN: Duration = Duration::from_secs(30);
/// Lifetime assumed when the token endpoint does not say (`expires_in` absent).
const ASSUMED_LIFETIME: Duration = Duration::from_secs(60);

pub(crate) struct CachedToken {
    value: SecretString,
    expires_at: Instant,
}

impl Keycloak {
    /// The console's access token, fetched again when less than 30 s of it are left.
    pub(crate) async fn access_token(&self) -> Result<SecretString, ConnectorError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref() {
            if token.expires_at.saturating_duration_since(Instant::now()) > REFRESH_MARGIN {
                return Ok(token.value.clone());
            }
        }
        let fresh = self.fetch_token().await?;
        let value = fresh.value.clone();
        *cached = Some(fresh);
        Ok(value)
    }

    /// Drops the cached token (after a 401), so the next call logs in again.
    pub(crate) async fn forget_token(&self) {
        *self.token.lock().await = None;
    }

    fn secret(&self) -> Result<&str, ConnectorError> {
        self.secret
            .as_ref()
            .map(|s| s.expose_secret())
            .ok_or_else(|| ConnectorError::Unauthorized {
                target: self.target(),
                detail: format!(
                    "no client secret is configured for client `{}`",
                    self.client_id
                ),
            })
    }

    /// POSTs a form to a realm endpoint with the console client's credentials (HTTP Basic).
    /// Only token, introspection and revocation calls use this; all three are safe to retry.
    pub(crate) async fn post_client_form(
        &self,
        endpoint: &[&str],
        form: &[(&str, &str)],
    ) -> Result<Response, ConnectorError> {
        let secret = self.secret()?;
        let url = self.oidc_url(endpoint)?;
        // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
        let req = self
            .http
            .client()
            .post(url)
            .basic_auth(form_encode(&self.client_id), Some(form_encode(secret)))
            .form(form);
        self.http.send_idempotent(req).await
    }

    async fn fetch_token(&self) -> Result<CachedToken, ConnectorError> {
        let started = Instant::now();
        let resp = self
            .post_client_form(&["token"], &[("grant_type", "client_credentials")])
            .await?;
        let (status, retry, body) = self.read(resp).await?;
        if !status.is_success() {
            return Err(self.token_error(status, retry, &body));
        }
        let need = super::needs("the token endpoint's answer", "a service-account client");
        let token: TokenResponse = self.parse(&body, &need)?;
        if token.access_token.is_empty() {
            return Err(ConnectorError::Malformed {
                target: self.target(),
                what: "the token endpoint's answer".into(),
                detail: "empty access_token".into(),
            });
        }
        let lifetime = token
            .expires_in
            .map(Duration::from_secs)
            .unwrap_or(ASSUMED_LIFETIME);
        tracing::debug!(
            target = %self.target(),
            client = %self.client_id,
            token = %&crate::fingerprint(&token.access_token)[..12],
            lifetime_s = lifetime.as_secs(),
            "logged in with the client credentials grant"
        );
        Ok(CachedToken {
            value: SecretString::from(token.access_token),
            expires_at: started + lifetime,
        })
    }

    /// Keycloak answers a bad client secret with 401 `invalid_client` and a client without
    /// service accounts with 400 `unauthorized_client`: both mean the console's credential is not
    /// accepted, so both are `Unauthorized`, with what to change.
    fn token_error(
        &self,
        status: StatusCode,
        retry: Option<Duration>,
        body: &[u8],
    ) -> ConnectorError {
        let error = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string));
        let detail = crate::http::summarize_body(body);
        match (status.as_u16(), error.as_deref()) {
            (401, _) | (400, Some("invalid_client")) => ConnectorError::Unauthorized {
                target: self.target(),
                detail: format!(
                    "client `{}` was not accepted ({detail}); check the client id and secret",
                    self.client_id
                ),
            },
            (400, Some("unauthorized_client")) => ConnectorError::Unauthorized {
                target: self.target(),
                detail: format!(
                    "client `{}` may not use the client credentials grant ({detail}); turn on \"Service accounts roles\" for it",
                    self.client_id
                ),
            },
            (404, _) => ConnectorError::NotFound {
                target: self.target(),
                what: format!("realm `{}`", self.realm),
            },
            _ => self
                .http
                .status_error(status, retry, body, "the token endpoint"),
        }
    }
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
