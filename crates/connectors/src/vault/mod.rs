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

mod audit;
pub mod identity;
mod inventory;

/// The file audit device line parser, for `portcullis audit import --format vault`.
pub use audit::parse_line as parse_audit_line;
pub mod policy;
mod policy_shape;
mod verify;

use crate::http::Http;
use crate::jsonl::{read_jsonl, FileCursor};
use crate::{
    display_url, parse_url, AuditSink, BackendConfig, Connector, ConnectorError, Cursor,
    ProgressFn, RevokeTarget, VerifyHint,
};
use portcullis_model::{CredentialKind, Inventory, RevokeReceipt, TokenInfo, Verification};

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
    (
        "auth/token/lookup-accessor",
        &["update"],
        "reading token details",
    ),
    ("auth/token/revoke-accessor", &["update"], "revoking tokens"),
    ("auth/token/lookup", &["update"], "token triage"),
    ("sys/policies/acl", &["list"], "listing policies"),
    (
        "sys/policies/acl/default",
        &["read"],
        "reading policy rules",
    ),
    ("auth/userpass/users", &["list"], "listing userpass users"),
    ("identity/entity/id", &["list"], "listing identity entities"),
    (
        "sys/audit-hash/file",
        &["update"],
        "matching audit-log accessors to tokens",
    ),
];

/// Rights that widen the picture but whose absence loses no credential: identity groups (their
/// policies reach member entities; tokens still carry them as identity policies) and AppRole
/// roles (the accounts machines log in with).
pub const OPTIONAL_RIGHTS: &[(&str, &[&str], &str)] = &[
    (
        "identity/group/id",
        &["list"],
        "listing identity groups and the policies members inherit",
    ),
    (
        "auth/approle/role",
        &["list"],
        "listing AppRole roles (machine accounts) and their policies",
    ),
];

pub struct Vault {
    http: Http,
    base: String,
    token: Option<SecretString>,
    audit_log: Option<std::path::PathBuf>,
}

#[derive(Debug, Deserialize)]
struct LookupSelf {
    data: LookupSelfData,
}

#[derive(Debug, Deserialize)]
struct LookupSelfData {
    #[serde(default)]
    accessor: String,
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
            audit_log: config.audit_log,
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

    /// The accessor a revocation target names (a token value is looked up first).
    async fn accessor_of(&self, target: &RevokeTarget) -> Result<String, ConnectorError> {
        match target {
            RevokeTarget::Credential { external_id, .. } => Ok(external_id.clone()),
            RevokeTarget::Token { value } => match self.lookup_token(value).await? {
                Some(info) => info.external_id.ok_or_else(|| ConnectorError::Malformed {
                    target: self.http.target().to_string(),
                    what: "token lookup".into(),
                    detail: "no accessor in the answer".into(),
                }),
                None => Err(ConnectorError::NotFound {
                    target: self.http.target().to_string(),
                    what: "token (already revoked or never issued here)".into(),
                }),
            },
            other => Err(ConnectorError::Unsupported(format!(
                "Vault/OpenBao revokes tokens, not {}",
                other.describe()
            ))),
        }
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

    async fn inventory(&self, progress: &ProgressFn<'_>) -> Result<Inventory, ConnectorError> {
        self.read_inventory(progress).await
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
            audit::parse_line,
        )
        .await?;
        if summary.rejected_total > 0 {
            tracing::warn!(rejected = summary.rejected_total, first = ?summary.rejected.first(), "audit lines rejected");
        }
        Ok(Some(summary.cursor.encode()))
    }

    async fn lookup_token(
        &self,
        token: &SecretString,
    ) -> Result<Option<TokenInfo>, ConnectorError> {
        let resp = self
            .http
            .send_idempotent(
                self.http
                    .client()
                    .post(self.url("auth/token/lookup"))
                    .header("X-Vault-Token", self.token()?)
                    .json(&serde_json::json!({ "token": token.expose_secret() })),
            )
            .await?;
        // An unknown token is a 403 "bad token" (or 400): the backend does not recognise it.
        if matches!(resp.status().as_u16(), 400 | 403) {
            let body = self.http.read_body(resp).await?;
            let text = crate::http::summarize_body(&body);
            if text.contains("bad token") || text.contains("invalid token") {
                return Ok(None);
            }
            return Err(self.http.status_error(
                reqwest::StatusCode::FORBIDDEN,
                None,
                &body,
                "update on auth/token/lookup",
            ));
        }
        #[derive(serde::Deserialize)]
        struct W {
            data: inventory::AccessorLookup,
        }
        // The response's `data.id` is the token itself: it is never kept, only the typed fields.
        let w: W = self.http.json(resp, "update on auth/token/lookup").await?;
        let l = w.data;
        let mut scopes = l.policies.clone();
        scopes.extend(l.identity_policies.iter().cloned());
        Ok(Some(TokenInfo {
            backend: String::new(),
            fingerprint: crate::fingerprint(token.expose_secret()),
            active: true,
            kind: CredentialKind::Accessor,
            external_id: Some(l.accessor.clone()),
            client: None,
            subject: Some(l.principal_id()),
            scopes,
            audience: Vec::new(),
            issued_at: l.issued_at(),
            expires_at: l.expires_at(),
            attrs: l.attrs(),
        }))
    }

    async fn revoke(&self, target: &RevokeTarget) -> Result<RevokeReceipt, ConnectorError> {
        let accessor = self.accessor_of(target).await?;
        let resp = self
            .http
            .send_idempotent(
                self.http
                    .client()
                    .post(self.url("auth/token/revoke-accessor"))
                    .header("X-Vault-Token", self.token()?)
                    .json(&serde_json::json!({ "accessor": accessor })),
            )
            .await?;
        let status = resp.status();
        let body = self.http.read_body(resp).await?;
        if !status.is_success() {
            return Err(self.http.status_error(
                status,
                None,
                &body,
                "update on auth/token/revoke-accessor",
            ));
        }
        Ok(RevokeReceipt {
            action: "POST auth/token/revoke-accessor".into(),
            at: Utc::now(),
            caveats: vec![
                "child tokens of this token are revoked with it; leases it created are revoked too"
                    .into(),
                "secrets it already read (e.g. database passwords) stay valid until rotated".into(),
            ],
            detail: serde_json::json!({ "accessor": accessor, "status": status.as_u16() }),
        })
    }

    async fn verify_revoked(&self, target: &RevokeTarget) -> Result<Verification, ConnectorError> {
        let accessor = match target {
            RevokeTarget::Token { value } => {
                let alive = self.lookup_token(value).await?;
                return Ok(Verification {
                    dead: alive.is_none(),
                    evidence: if alive.is_none() {
                        "auth/token/lookup no longer recognises the token".into()
                    } else {
                        "auth/token/lookup still answers for the token".into()
                    },
                    at: Utc::now(),
                });
            }
            other => self.accessor_of(other).await?,
        };
        match self.lookup_accessor(&accessor).await {
            Ok(_) => Ok(Verification {
                dead: false,
                evidence: format!("lookup-accessor still answers for {accessor}"),
                at: Utc::now(),
            }),
            Err(ConnectorError::Backend {
                status: 400,
                detail,
                ..
            }) => Ok(Verification {
                dead: true,
                evidence: format!("lookup-accessor answered 400: {detail}"),
                at: Utc::now(),
            }),
            Err(e) => Err(e),
        }
    }

    async fn verify_revoked_many(
        &self,
        targets: &[RevokeTarget],
        hint: VerifyHint,
    ) -> Vec<Result<Verification, ConnectorError>> {
        self.verify_many(targets, hint).await
    }

    async fn console_identity(&self) -> Result<Vec<String>, ConnectorError> {
        let me: LookupSelf = self
            .get_json("auth/token/lookup-self", "a valid token")
            .await?;
        Ok(vec![me.data.accessor]
            .into_iter()
            .filter(|a| !a.is_empty())
            .collect())
    }

    async fn check(&self) -> Result<CheckReport, ConnectorError> {
        let started = Instant::now();
        let version = self.version().await;
        let me: LookupSelf = match self
            .get_json("auth/token/lookup-self", "a valid token")
            .await
        {
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
        let paths: Vec<&str> = NEEDED_RIGHTS
            .iter()
            .chain(OPTIONAL_RIGHTS)
            .map(|(p, _, _)| *p)
            .collect();
        let caps: HashMap<String, serde_json::Value> = match self
            .post_json(
                "sys/capabilities-self",
                &serde_json::json!({ "paths": paths }),
                "update on sys/capabilities-self",
            )
            .await
        {
            Ok(c) => c,
            // Without capabilities-self the console cannot tell its rights in advance: say so
            // as a missing right rather than failing the check of a working token.
            Err(ConnectorError::Forbidden { .. }) => {
                let mut rights = vec![RightCheck {
                    right: "update on sys/capabilities-self".into(),
                    needed_for: "checking the console's other rights in advance".into(),
                    granted: false,
                    optional: false,
                }];
                let listed = self
                    .get_json::<serde_json::Value>("auth/token/accessors?list=true", "list")
                    .await;
                rights.push(RightCheck {
                    right: "list+sudo on auth/token/accessors".into(),
                    needed_for: "listing tokens".into(),
                    granted: listed.is_ok(),
                    optional: false,
                });
                return Ok(CheckReport {
                    backend: String::new(),
                    ok: true,
                    identity: Some(format!(
                        "token {} (policies: {})",
                        me.data.display_name,
                        me.data.policies.join(", ")
                    )),
                    server: version.map(|v| format!("Vault API {v}")),
                    credential_expires_at: None,
                    rights,
                    latency_ms: started.elapsed().as_millis() as u64,
                    error: None,
                });
            }
            Err(e) => return Err(e),
        };
        let optional = NEEDED_RIGHTS
            .iter()
            .map(|r| (r, false))
            .chain(OPTIONAL_RIGHTS.iter().map(|r| (r, true)));
        let rights = optional
            .map(|((path, needed, why), optional)| {
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
                    optional,
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
            audit_log: None,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn many_revoked_tokens_are_verified_by_one_listing() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/auth/token/accessors"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"data": {"keys": ["acc-3", "console"]}})),
            )
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v1/auth/token/lookup-accessor"))
            .respond_with(ResponseTemplate::new(500))
            .expect(0)
            .mount(&server)
            .await;
        let targets: Vec<RevokeTarget> = (0..20)
            .map(|i| RevokeTarget::Credential {
                kind: CredentialKind::Accessor,
                external_id: format!("acc-{i}"),
            })
            .collect();
        let hint = VerifyHint {
            concurrency: 4,
            live_credentials: Some(30),
        };
        let out = connector(&server.uri(), "t")
            .verify_revoked_many(&targets, hint)
            .await;
        assert_eq!(out.len(), 20);
        for (i, v) in out.into_iter().enumerate() {
            let v = v.unwrap();
            assert_eq!(v.dead, i != 3, "acc-{i}: {}", v.evidence);
        }
    }

    #[tokio::test]
    async fn a_few_revoked_tokens_are_looked_up_one_by_one() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/auth/token/accessors"))
            .respond_with(ResponseTemplate::new(500))
            .expect(0)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v1/auth/token/lookup-accessor"))
            .respond_with(
                ResponseTemplate::new(400)
                    .set_body_json(serde_json::json!({"errors": ["invalid accessor"]})),
            )
            .expect(2)
            .mount(&server)
            .await;
        let targets: Vec<RevokeTarget> = (0..2)
            .map(|i| RevokeTarget::Credential {
                kind: CredentialKind::Accessor,
                external_id: format!("acc-{i}"),
            })
            .collect();
        let hint = VerifyHint {
            concurrency: 4,
            live_credentials: Some(30),
        };
        let out = connector(&server.uri(), "t")
            .verify_revoked_many(&targets, hint)
            .await;
        assert!(out.iter().all(|v| v.as_ref().is_ok_and(|v| v.dead)));
    }

    #[tokio::test]
    async fn unknown_token_is_unauthorized_not_forbidden() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/auth/token/lookup-self"))
            .respond_with(
                ResponseTemplate::new(403)
                    .set_body_json(serde_json::json!({"errors": ["permission denied"]})),
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
        assert!(
            report
                .rights
                .iter()
                .find(|r| r.right == "update on auth/token/lookup-accessor")
                .unwrap()
                .granted
        );
        assert!(report.credential_expires_at.is_some());
    }
}
