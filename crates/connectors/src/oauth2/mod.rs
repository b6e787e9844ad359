//! OAuth 2.0 / OIDC authorization servers: discovery (RFC 8414, then OIDC), client authentication
//! (client_secret_basic or client_secret_post), introspection (RFC 7662).
//!
//! The console's client id travels in the URL's user part (`https://CLIENT_ID@issuer/`); its secret
//! comes from the keychain or the environment. These servers cannot list their tokens, so the
//! capabilities say so: the reviewer brings tokens to triage.

use async_trait::async_trait;
use portcullis_model::{BackendKind, Capabilities, CheckReport, RightCheck};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::time::Instant;

pub mod events;

use crate::http::Http;
use crate::jsonl::{read_jsonl, FileCursor};
use crate::{
    display_url, parse_url, AuditSink, BackendConfig, Connector, ConnectorError, Cursor,
    ProgressFn, RevokeTarget, VecAuditSink,
};
use chrono::{TimeZone, Utc};
use portcullis_model::{
    Action, CredentialKind, Grant, Inventory, NodeKind, Permission, Principal, PrincipalKind,
    Progress, RevokeReceipt, TokenInfo, Verification,
};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

pub fn capabilities() -> Capabilities {
    Capabilities {
        list_principals: true,
        list_credentials: false,
        token_lookup: true,
        audit: true,
        revoke: true,
        verify: true,
        notes: vec![
            "OAuth 2.0 servers cannot list their tokens: bring a token to triage to inspect, revoke and verify it".into(),
            "usage comes from the server's event log, imported as audit events".into(),
            "tokens' expiry and client secrets' expiry come from the event log too, where the server writes them (`exp=`, `client.configured`)".into(),
        ],
    }
}

/// Server metadata, the fields Portcullis uses (RFC 8414 §2).
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    pub token_endpoint: Option<String>,
    pub introspection_endpoint: Option<String>,
    pub revocation_endpoint: Option<String>,
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    #[serde(default)]
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    Basic,
    Post,
}

pub struct OAuth2 {
    http: Http,
    issuer: String,
    origin: String,
    path: String,
    client_id: String,
    secret: Option<SecretString>,
    audit_log: Option<std::path::PathBuf>,
}

impl OAuth2 {
    pub fn new(config: BackendConfig) -> Result<Self, ConnectorError> {
        let url = parse_url(&config.url)?;
        let client_id = url.username().to_string();
        if client_id.is_empty() {
            return Err(ConnectorError::InvalidConfig(format!(
                "put the console's client id in the URL's user part, e.g. {}://CLIENT_ID@{}",
                url.scheme(),
                url.host_str().unwrap_or("host")
            )));
        }
        let issuer = display_url(&url);
        let origin = url.origin().ascii_serialization();
        let path = url.path().trim_end_matches('/').to_string();
        Ok(OAuth2 {
            http: Http::new(format!("OAuth 2.0 server at {issuer}"), config.timeout)?,
            issuer,
            origin,
            path,
            client_id,
            secret: config.secret,
            audit_log: config.audit_log,
        })
    }

    /// RFC 8414 metadata first (well-known inserted before the issuer path), then OIDC discovery.
    pub async fn discover(&self) -> Result<Metadata, ConnectorError> {
        let candidates = [
            format!(
                "{}/.well-known/oauth-authorization-server{}",
                self.origin, self.path
            ),
            format!("{}/.well-known/openid-configuration", self.issuer),
        ];
        let mut last = None;
        for url in candidates {
            let resp = self
                .http
                .send_idempotent(self.http.client().get(&url))
                .await?;
            match self.http.json::<Metadata>(resp, "discovery metadata").await {
                Ok(meta) => return Ok(meta),
                Err(e @ ConnectorError::NotFound { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| ConnectorError::NotFound {
            target: self.issuer.clone(),
            what: "discovery metadata".into(),
        }))
    }

    fn auth_method(meta: &Metadata) -> ClientAuth {
        let methods = if meta
            .introspection_endpoint_auth_methods_supported
            .is_empty()
        {
            &meta.token_endpoint_auth_methods_supported
        } else {
            &meta.introspection_endpoint_auth_methods_supported
        };
        if methods.is_empty() || methods.iter().any(|m| m == "client_secret_basic") {
            ClientAuth::Basic
        } else {
            ClientAuth::Post
        }
    }

    fn secret(&self) -> Result<&str, ConnectorError> {
        self.secret
            .as_ref()
            .map(|s| s.expose_secret())
            .ok_or_else(|| ConnectorError::Unauthorized {
                target: self.issuer.clone(),
                detail: format!(
                    "no client secret is configured for client `{}`",
                    self.client_id
                ),
            })
    }

    /// Refuses an endpoint outside the issuer's origin: the discovery document is backend data,
    /// and an endpoint it names elsewhere would receive the client secret and the token under
    /// triage, exactly as a cross-origin redirect would.
    fn same_origin(&self, endpoint: &str) -> Result<(), ConnectorError> {
        let origin = url::Url::parse(endpoint)
            .map(|u| u.origin().ascii_serialization())
            .map_err(|e| ConnectorError::Malformed {
                target: self.issuer.clone(),
                what: "an endpoint in the discovery metadata".into(),
                detail: format!("`{endpoint}`: {e}"),
            })?;
        if origin == self.origin {
            return Ok(());
        }
        Err(ConnectorError::Redirected {
            target: self.http.target().to_string(),
            from: self.origin.clone(),
            to: origin,
            why: "its discovery metadata names an endpoint on another origin, which would receive the console's client secret",
        })
    }

    /// POSTs a form to an endpoint with client authentication. Used for introspection and
    /// revocation, which are idempotent, so transient failures are retried.
    pub async fn post_authenticated(
        &self,
        endpoint: &str,
        method: ClientAuth,
        form: &[(&str, &str)],
    ) -> Result<reqwest::Response, ConnectorError> {
        self.same_origin(endpoint)?;
        let secret = self.secret()?;
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        let mut req = self.http.client().post(endpoint);
        match method {
            ClientAuth::Basic => {
                // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
                let id = form_encode(&self.client_id);
                let sec = form_encode(secret);
                req = req.basic_auth(id, Some(sec));
            }
            ClientAuth::Post => {
                fields.push(("client_id", &self.client_id));
                fields.push(("client_secret", secret));
            }
        }
        self.http.send_idempotent(req.form(&fields)).await
    }
}

/// Scope name → action class: the words people put in scope names.
pub fn scope_action(scope: &str) -> Action {
    let s = scope.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| s.contains(w));
    if has(&["admin", "manage", "sudo", "root", "all"]) {
        Action::Admin
    } else if has(&[
        "write", "create", "update", "delete", "refund", "deploy", "export",
    ]) {
        Action::Write
    } else if has(&["read", "view", "list", "get"]) {
        Action::Read
    } else {
        Action::Other
    }
}

fn scope_permission(scope: &str) -> Permission {
    Permission {
        external_id: scope.to_string(),
        name: format!("scope {scope}"),
        resource: scope.split(':').next().unwrap_or(scope).to_string(),
        action: scope_action(scope),
        raw: json!({ "scope": scope }),
    }
}

impl OAuth2 {
    /// RFC 7662 introspection of a token value. `Ok(None)`: the server gives no introspection.
    pub async fn introspect(
        &self,
        token: &SecretString,
    ) -> Result<Option<TokenInfo>, ConnectorError> {
        let meta = self.discover().await?;
        let Some(endpoint) = meta.introspection_endpoint.clone() else {
            return Ok(None);
        };
        let resp = self
            .post_authenticated(
                &endpoint,
                Self::auth_method(&meta),
                &[("token", token.expose_secret())],
            )
            .await?;
        let v: serde_json::Value = self
            .http
            .json(resp, "introspection as the console's client")
            .await?;
        let active =
            v.get("active")
                .and_then(|a| a.as_bool())
                .ok_or_else(|| ConnectorError::Malformed {
                    target: self.http.target().to_string(),
                    what: "introspection response".into(),
                    detail: "no boolean `active`".into(),
                })?;
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        let time = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_i64())
                .and_then(|t| Utc.timestamp_opt(t, 0).single())
        };
        let audience = match v.get("aud") {
            Some(serde_json::Value::String(a)) => vec![a.clone()],
            Some(serde_json::Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        let kind = match s("token_type").as_deref() {
            Some(t) if t.eq_ignore_ascii_case("refresh_token") => CredentialKind::RefreshToken,
            _ if v.get("token_type").is_none() && active && s("sub").is_some() => {
                CredentialKind::RefreshToken
            }
            _ => CredentialKind::AccessToken,
        };
        Ok(Some(TokenInfo {
            backend: String::new(),
            fingerprint: crate::fingerprint(token.expose_secret()),
            active,
            kind,
            // For opaque tokens the jti IS the token value: never keep it.
            external_id: None,
            client: s("client_id"),
            subject: s("sub"),
            scopes: s("scope")
                .map(|x| x.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
            audience,
            issued_at: time("iat"),
            expires_at: time("exp"),
            attrs: json!({ "token_type": s("token_type"), "iss": s("iss") }),
        }))
    }
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[async_trait]
impl Connector for OAuth2 {
    fn kind(&self) -> BackendKind {
        BackendKind::Oauth2
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    async fn inventory(&self, progress: &ProgressFn<'_>) -> Result<Inventory, ConnectorError> {
        let task = "oauth2 inventory".to_string();
        progress(Progress::Started {
            task: task.clone(),
            total: None,
        });
        // The inventory itself needs no client authentication; checking it anyway keeps a
        // wrong secret from passing as a successful sync.
        self.check().await?;
        let meta = self.discover().await?;
        let mut inv = Inventory::default();
        let mut principals = BTreeMap::new();
        principals.insert(
            format!("client:{}", self.client_id),
            Principal {
                external_id: format!("client:{}", self.client_id),
                kind: PrincipalKind::Client,
                name: self.client_id.clone(),
                enabled: true,
                attrs: json!({"role": "the console's own client"}),
            },
        );
        let mut scopes: BTreeMap<String, Permission> = meta
            .scopes_supported
            .iter()
            .map(|s| (s.clone(), scope_permission(s)))
            .collect();
        if let Some(path) = &self.audit_log {
            let mut sink = VecAuditSink::default();
            let summary =
                read_jsonl(path, FileCursor::default(), &mut sink, events::parse_line).await?;
            let raw: Vec<serde_json::Value> = sink.events.into_iter().map(|e| e.raw).collect();
            for v in &raw {
                for (key, prefix, kind) in [
                    ("client_id", "client", PrincipalKind::Client),
                    ("account_id", "account", PrincipalKind::User),
                ] {
                    if let Some(id) = v
                        .get(key)
                        .and_then(|x| x.as_str())
                        .filter(|x| !x.is_empty())
                    {
                        principals
                            .entry(format!("{prefix}:{id}"))
                            .or_insert_with(|| Principal {
                                external_id: format!("{prefix}:{id}"),
                                kind,
                                name: id.to_string(),
                                enabled: true,
                                attrs: json!({"source": "event log"}),
                            });
                    }
                }
            }
            inv.credentials = events::credentials_from_events(&raw);
            let mut grants = BTreeSet::new();
            for c in &inv.credentials {
                let Some(p) = &c.principal_external_id else {
                    continue;
                };
                for scope in &c.scopes {
                    scopes
                        .entry(scope.clone())
                        .or_insert_with(|| scope_permission(scope));
                    grants.insert((p.clone(), scope.clone()));
                }
            }
            inv.grants = grants
                .into_iter()
                .map(|(p, s)| Grant {
                    from_kind: NodeKind::Principal,
                    from_id: p,
                    to_kind: NodeKind::Permission,
                    to_id: s,
                })
                .collect();
            progress(Progress::Advanced {
                task: task.clone(),
                done: summary.lines,
                total: None,
                message: format!("{} event-log lines read", summary.lines),
            });
        }
        inv.principals = principals.into_values().collect();
        inv.permissions = scopes.into_values().collect();
        progress(Progress::Finished {
            task,
            ok: true,
            message: format!(
                "{} clients/accounts, {} scopes, {} tokens",
                inv.principals.len(),
                inv.permissions.len(),
                inv.credentials.len()
            ),
        });
        Ok(inv)
    }

    async fn audit(
        &self,
        since: Option<Cursor>,
        sink: &mut dyn AuditSink,
    ) -> Result<Option<Cursor>, ConnectorError> {
        let Some(path) = &self.audit_log else {
            return Ok(None);
        };
        let summary = read_jsonl(
            path,
            FileCursor::parse(since.as_deref()),
            sink,
            events::parse_line,
        )
        .await?;
        Ok(Some(summary.cursor.encode()))
    }

    async fn lookup_token(
        &self,
        token: &SecretString,
    ) -> Result<Option<TokenInfo>, ConnectorError> {
        let info = self.introspect(token).await?;
        Ok(info.filter(|i| i.active))
    }

    async fn revoke(&self, target: &RevokeTarget) -> Result<RevokeReceipt, ConnectorError> {
        let RevokeTarget::Token { value } = target else {
            return Err(ConnectorError::Unsupported(
                "an OAuth 2.0 server revokes a token by its value (RFC 7009): paste the token into triage to revoke it".into(),
            ));
        };
        let meta = self.discover().await?;
        let endpoint = meta.revocation_endpoint.clone().ok_or_else(|| {
            ConnectorError::Unsupported(format!(
                "{} advertises no revocation_endpoint",
                self.issuer
            ))
        })?;
        let resp = self
            .post_authenticated(
                &endpoint,
                Self::auth_method(&meta),
                &[("token", value.expose_secret())],
            )
            .await?;
        let status = resp.status();
        let body = self.http.read_body(resp).await?;
        if !status.is_success() {
            return Err(self.http.status_error(
                status,
                None,
                &body,
                "revocation as the console's client",
            ));
        }
        Ok(RevokeReceipt {
            action: format!("POST {endpoint} (RFC 7009)"),
            at: Utc::now(),
            caveats: vec![
                "RFC 7009 answers 200 even when the server declines to revoke: only introspection proves the token dead".into(),
                "revoking a refresh token ends its grant and the access tokens issued from it; revoking an access token leaves its refresh token alive".into(),
                "self-contained (JWT) access tokens stay valid at resource servers that do not introspect, until they expire".into(),
            ],
            detail: json!({ "status": status.as_u16(), "fingerprint": crate::fingerprint(value.expose_secret()) }),
        })
    }

    async fn verify_revoked(&self, target: &RevokeTarget) -> Result<Verification, ConnectorError> {
        let RevokeTarget::Token { value } = target else {
            return Err(ConnectorError::Unsupported(
                "verification needs the token value (introspection, RFC 7662)".into(),
            ));
        };
        let info = self.introspect(value).await?;
        let active = info.as_ref().is_some_and(|i| i.active);
        Ok(Verification {
            dead: !active,
            evidence: format!("introspection answered active:{active}"),
            at: Utc::now(),
        })
    }

    async fn check(&self) -> Result<CheckReport, ConnectorError> {
        let started = Instant::now();
        let meta = self.discover().await?;
        let mut rights = vec![RightCheck {
            right: "revocation endpoint (RFC 7009)".into(),
            needed_for: "revoking tokens".into(),
            granted: meta.revocation_endpoint.is_some(),
            optional: false,
        }];
        let introspection = match &meta.introspection_endpoint {
            None => false,
            Some(endpoint) => {
                let resp = self
                    .post_authenticated(
                        endpoint,
                        Self::auth_method(&meta),
                        &[("token", events::CONNECTIVITY_PROBE)],
                    )
                    .await?;
                let status = resp.status();
                let body = self.http.read_body(resp).await?;
                if status.as_u16() == 401
                    || (status.as_u16() == 400 && body_has_invalid_client(&body))
                {
                    return Err(ConnectorError::Unauthorized {
                        target: self.http.target().to_string(),
                        detail: format!(
                            "client `{}` was not accepted ({})",
                            self.client_id,
                            crate::http::summarize_body(&body)
                        ),
                    });
                }
                status.is_success()
            }
        };
        rights.insert(
            0,
            RightCheck {
                right: format!("introspection (RFC 7662) as client `{}`", self.client_id),
                needed_for: "token triage and verifying revocations".into(),
                granted: introspection,
                optional: false,
            },
        );
        Ok(CheckReport {
            backend: String::new(),
            ok: true,
            identity: Some(format!("client {}", self.client_id)),
            server: Some(format!("issuer {}", meta.issuer)),
            credential_expires_at: None,
            rights,
            latency_ms: started.elapsed().as_millis() as u64,
            error: None,
        })
    }
}

fn body_has_invalid_client(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("error")
                .and_then(|e| e.as_str())
                .map(|e| e == "invalid_client")
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DEFAULT_TIMEOUT;
    use portcullis_model::ErrorCode;
    use wiremock::matchers::{header_exists, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn connector(url: &str, secret: Option<&str>) -> OAuth2 {
        OAuth2::new(BackendConfig {
            name: "as".into(),
            kind: BackendKind::Oauth2,
            url: url.into(),
            secret: secret.map(|s| SecretString::from(s.to_string())),
            timeout: DEFAULT_TIMEOUT,
            audit_log: None,
        })
        .unwrap()
    }

    async fn server_with_metadata() -> MockServer {
        let server = MockServer::start().await;
        let uri = server.uri();
        Mock::given(method("GET"))
            .and(path("/.well-known/oauth-authorization-server"))
            .respond_with(ResponseTemplate::new(404))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "issuer": uri,
                "token_endpoint": format!("{uri}/token"),
                "introspection_endpoint": format!("{uri}/token/introspection"),
                "revocation_endpoint": format!("{uri}/token/revocation"),
                "unknown_field": {"ignored": true}
            })))
            .mount(&server)
            .await;
        server
    }

    fn with_client(uri: &str) -> String {
        uri.replacen("http://", "http://console@", 1)
    }

    #[test]
    fn client_id_is_required_in_the_url() {
        let err = OAuth2::new(BackendConfig {
            name: "as".into(),
            kind: BackendKind::Oauth2,
            url: "http://127.0.0.1:9400".into(),
            secret: None,
            timeout: DEFAULT_TIMEOUT,
            audit_log: None,
        })
        .err()
        .unwrap();
        assert_eq!(err.code(), ErrorCode::InvalidInput);
        assert!(err.to_string().contains("CLIENT_ID@"));
    }

    #[tokio::test]
    async fn check_falls_back_to_oidc_discovery_and_authenticates_with_basic() {
        let server = server_with_metadata().await;
        Mock::given(method("POST"))
            .and(path("/token/introspection"))
            .and(header_exists("authorization"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(serde_json::json!({"active": false})),
            )
            .mount(&server)
            .await;
        let report = connector(&with_client(&server.uri()), Some("s3cret"))
            .check()
            .await
            .unwrap();
        assert!(report.ok);
        assert!(
            report.rights.iter().all(|r| r.granted),
            "{:?}",
            report.rights
        );
        assert_eq!(report.identity.as_deref(), Some("client console"));
    }

    #[tokio::test]
    async fn wrong_secret_is_unauthorized() {
        let server = server_with_metadata().await;
        Mock::given(method("POST"))
            .and(path("/token/introspection"))
            .respond_with(ResponseTemplate::new(401).set_body_json(
                serde_json::json!({"error": "invalid_client", "error_description": "client authentication failed"}),
            ))
            .mount(&server)
            .await;
        let err = connector(&with_client(&server.uri()), Some("wrong"))
            .check()
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Unauthorized);
        assert!(
            err.to_string().contains("client authentication failed"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn garbage_metadata_is_malformed() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string("<html>login</html>"))
            .mount(&server)
            .await;
        let err = connector(&with_client(&server.uri()), Some("s"))
            .check()
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Malformed);
    }
}
