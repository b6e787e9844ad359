//! Vault / OpenBao over the Vault HTTP API (`X-Vault-Token`).
//!
//! `check` asks the server what the console's own token may do (`sys/capabilities-self`) so a
//! missing right is named precisely (e.g. `sudo` on `auth/token/accessors`) before a sync fails.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use portcullis_model::{BackendKind, Capabilities, CheckReport, RightCheck};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::HashMap;
use std::time::Instant;

use crate::http::Http;
use crate::{display_url, parse_url, BackendConfig, Connector, ConnectorError};

pub fn capabilities() -> Capabilities {
    Capabilities {
        list_principals: true,
        list_credentials: true,
        token_lookup: true,
        audit: true,
        revoke: true,
        verify: true,
        notes: vec![
            "Vault keeps no last-used time: usage comes from the file audit device's log".into(),
        ],
    }
}

/// Rights the console needs: (path, capabilities, what for).
pub const NEEDED_RIGHTS: &[(&str, &[&str], &str)] = &[
    ("auth/token/accessors", &["list", "sudo"], "listing tokens"),
    ("auth/token/lookup-accessor", &["update"], "reading token details"),
    ("auth/token/revoke-accessor", &["update"], "revoking tokens"),
    ("auth/token/lookup", &["update"], "token triage"),
    ("sys/policies/acl", &["list"], "listing policies"),
    ("sys/policies/acl/default", &["read"], "reading policy rules"),
    ("auth/userpass/users", &["list"], "listing userpass users"),
    ("identity/entity/id", &["list"], "listing identity entities"),
    ("sys/audit-hash/file", &["update"], "matching audit-log accessors to tokens"),
];

pub struct Vault {
    http: Http,
    base: String,
    token: Option<SecretString>,
}

#[derive(Debug, Deserialize)]
struct LookupSelf {
    data: LookupSelfData,
}

#[derive(Debug, Deserialize)]
struct LookupSelfData {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    policies: Vec<String>,
    expire_time: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Health {
    version: Option<String>,
}

impl Vault {
    pub fn new(config: BackendConfig) -> Result<Self, ConnectorError> {
        let url = parse_url(&config.url)?;
        let base = display_url(&url);
        Ok(Vault {
            http: Http::new(format!("Vault/OpenBao at {base}"), config.timeout)?,
            base,
            token: config.secret,
        })
    }

    fn token(&self) -> Result<&str, ConnectorError> {
        self.token
            .as_ref()
            .map(|t| t.expose_secret())
            .ok_or_else(|| ConnectorError::Unauthorized {
                target: self.http.target().to_string(),
                detail: "no token is configured for the console".into(),
            })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1/{}", self.base, path.trim_start_matches('/'))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        right: &str,
    ) -> Result<T, ConnectorError> {
        let req = self
            .http
            .client()
            .get(self.url(path))
            .header("X-Vault-Token", self.token()?);
        let resp = self.http.send_idempotent(req).await?;
        self.http.json(resp, right).await
    }

    async fn post_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
        right: &str,
    ) -> Result<T, ConnectorError> {
        let req = self
            .http
            .client()
            .post(self.url(path))
            .header("X-Vault-Token", self.token()?)
            .json(body);
        let resp = self.http.send_idempotent(req).await?;
        self.http.json(resp, right).await
    }

    async fn version(&self) -> Option<String> {
        let req = self.http.client().get(self.url("sys/health"));
        let resp = self.http.send(req).await.ok()?;
        // sys/health answers non-200 codes for standby/sealed nodes, still with a JSON body.
        let body = self.http.read_body(resp).await.ok()?;
        serde_json::from_slice::<Health>(&body).ok()?.version
    }
}

#[async_trait]
impl Connector for Vault {
    fn kind(&self) -> BackendKind {
        BackendKind::Vault
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    async fn check(&self) -> Result<CheckReport, ConnectorError> {
        let started = Instant::now();
        let version = self.version().await;
        let me: LookupSelf = match self.get_json("auth/token/lookup-self", "a valid token").await {
            Ok(me) => me,
            // Vault answers 403 "permission denied" for a token it does not know.
            Err(ConnectorError::Forbidden { detail, .. }) => {
                return Err(ConnectorError::Unauthorized {
                    target: self.http.target().to_string(),
                    detail: format!(
                        "the token is not accepted (expired, revoked or mistyped){}",
                        detail.map(|d| format!(": {d}")).unwrap_or_default()
                    ),
                })
            }
            Err(e) => return Err(e),
        };
        let paths: Vec<&str> = NEEDED_RIGHTS.iter().map(|(p, _, _)| *p).collect();
        let caps: HashMap<String, serde_json::Value> = self
            .post_json(
                "sys/capabilities-self",
                &serde_json::json!({ "paths": paths }),
                "update on sys/capabilities-self",
            )
            .await?;
        let rights = NEEDED_RIGHTS
            .iter()
            .map(|(path, needed, why)| {
                let held: Vec<String> = caps
                    .get(*path)
                    .and_then(|v| serde_json::from_value(v.clone()).ok())
                    .unwrap_or_default();
                let root = held.iter().any(|c| c == "root");
                let granted = !held.iter().any(|c| c == "deny")
                    && (root || needed.iter().all(|n| held.iter().any(|h| h == n)));
                RightCheck {
                    right: format!("{} on {path}", needed.join("+")),
                    needed_for: (*why).to_string(),
                    granted,
                }
            })
            .collect();
        let expires = me
            .data
            .expire_time
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        Ok(CheckReport {
            backend: String::new(),
            ok: true,
            identity: Some(format!(
                "token {} (policies: {})",
                if me.data.display_name.is_empty() {
                    "(unnamed)"
                } else {
                    &me.data.display_name
                },
                me.data.policies.join(", ")
            )),
            server: version.map(|v| format!("Vault API {v}")),
            credential_expires_at: expires,
            rights,
            latency_ms: started.elapsed().as_millis() as u64,
            error: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DEFAULT_TIMEOUT;
    use portcullis_model::ErrorCode;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn connector(uri: &str, token: &str) -> Vault {
        Vault::new(BackendConfig {
            name: "bao".into(),
            kind: BackendKind::Vault,
            url: uri.into(),
            secret: Some(SecretString::from(token.to_string())),
            timeout: DEFAULT_TIMEOUT,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn unknown_token_is_unauthorized_not_forbidden() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/auth/token/lookup-self"))
            .respond_with(
                ResponseTemplate::new(403).set_body_json(serde_json::json!({"errors": ["permission denied"]})),
            )
            .mount(&server)
            .await;
        let err = connector(&server.uri(), "nope").check().await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::Unauthorized);
    }

    #[tokio::test]
    async fn missing_sudo_is_reported_as_a_missing_right() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/auth/token/lookup-self"))
            .and(header("X-Vault-Token", "t"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "data": {"display_name": "token-console", "policies": ["console"], "expire_time": "2030-01-01T00:00:00Z"}
            })))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v1/sys/capabilities-self"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "auth/token/accessors": ["list"],
                "auth/token/lookup-accessor": ["update"],
                "capabilities": ["list"]
            })))
            .mount(&server)
            .await;
        let report = connector(&server.uri(), "t").check().await.unwrap();
        let accessors = report
            .rights
            .iter()
            .find(|r| r.right == "list+sudo on auth/token/accessors")
            .unwrap();
        assert!(!accessors.granted);
        assert!(report
            .rights
            .iter()
            .find(|r| r.right == "update on auth/token/lookup-accessor")
            .unwrap()
            .granted);
        assert!(report.credential_expires_at.is_some());
    }
}
