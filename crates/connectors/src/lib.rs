//! Connectors: one module per backend kind behind the small [`Connector`] trait.
//!
//! The engine builds a connector from a [`BackendConfig`] (URL + the secret it fetched from the
//! keychain or the environment) and never learns how a backend is spoken to. Every connector maps
//! its failures to [`ConnectorError`], whose codes are shared with the UI; HTTP connectors go
//! through [`http::Http`] so that status mapping, timeouts and retries live in one place. Base URLs
//! are plain configuration, so tests point connectors at local servers.

pub mod aws_iam;
mod error;
pub mod github;
pub mod gitlab;
pub mod hoop;
pub mod http;
pub mod jsonl;
pub mod keycloak;
pub mod kong;
pub mod kubernetes;
pub mod oauth2;
pub mod postgres;
pub mod redact;
pub mod sink;
pub mod vault;

pub use error::ConnectorError;
pub use sink::{AuditSink, Cursor, RevokeTarget, SinkError, VecAuditSink};

use async_trait::async_trait;
use portcullis_model::{
    BackendKind, Capabilities, CheckReport, Inventory, Progress, RevokeReceipt, TokenInfo,
    Verification,
};
use secrecy::SecretString;
use std::time::Duration;

/// Default deadline for one network call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// What a connector is built from. The secret is held in a [`SecretString`], which never prints.
#[derive(Debug, Clone)]
pub struct BackendConfig {
    pub name: String,
    pub kind: BackendKind,
    pub url: String,
    pub secret: Option<SecretString>,
    pub timeout: Duration,
    /// A local audit log to read usage from (Vault file audit device, node-oidc-provider event
    /// log, PostgreSQL jsonlog, Kong file-log), when the backend does not serve it over its API.
    pub audit_log: Option<std::path::PathBuf>,
}

#[async_trait]
pub trait Connector: Send + Sync {
    fn kind(&self) -> BackendKind;
    /// What this backend can list, revoke and verify; screens show what it cannot.
    fn capabilities(&self) -> Capabilities;
    /// Reachability, who the console is on the backend, and which of the rights it needs it holds.
    /// Fails only when the backend cannot be reached or refuses the credential; a missing right is
    /// reported in [`CheckReport::rights`].
    async fn check(&self) -> Result<CheckReport, ConnectorError>;

    /// Reads principals, roles, permissions, grants and credentials in one pass.
    async fn inventory(&self, progress: &ProgressFn<'_>) -> Result<Inventory, ConnectorError>;

    /// Reads audit events after `since` (None: from the start), pushing batches with the cursor
    /// that follows each. Returns the cursor to resume from next time.
    async fn audit(
        &self,
        since: Option<Cursor>,
        sink: &mut dyn AuditSink,
    ) -> Result<Option<Cursor>, ConnectorError>;

    /// Token triage: what the backend knows of a token value. `Ok(None)`: the backend does not
    /// recognise it.
    async fn lookup_token(
        &self,
        token: &SecretString,
    ) -> Result<Option<TokenInfo>, ConnectorError> {
        let _ = token;
        Err(ConnectorError::Unsupported(format!(
            "{} cannot look a token up by its value",
            self.kind().label()
        )))
    }

    async fn revoke(&self, target: &RevokeTarget) -> Result<RevokeReceipt, ConnectorError>;

    /// The ids the console's own requests carry in this backend's audit trail beyond the account
    /// its URL names (a Vault token's accessor, a GitLab user id), read from the backend. The
    /// audit browser hides those requests by default.
    async fn console_identity(&self) -> Result<Vec<String>, ConnectorError> {
        Ok(Vec::new())
    }

    /// Asks the backend whether a revoked target is really dead.
    async fn verify_revoked(&self, target: &RevokeTarget) -> Result<Verification, ConnectorError>;

    /// Asks the backend about many revoked targets at once; one answer per target, in order.
    /// Backends that can prove many in one call override it (Vault/OpenBao: one listing of the
    /// live accessors instead of a lookup per token); the default asks one at a time,
    /// `hint.concurrency` at once.
    async fn verify_revoked_many(
        &self,
        targets: &[RevokeTarget],
        hint: VerifyHint,
    ) -> Vec<Result<Verification, ConnectorError>> {
        use futures::StreamExt;
        // Collected first: a stream whose type holds a closure over `&RevokeTarget` does not
        // satisfy the higher-ranked bound that the async-trait future's `Send` needs.
        let asks: Vec<_> = targets.iter().map(|t| self.verify_revoked(t)).collect();
        futures::stream::iter(asks)
            .buffered(hint.concurrency.max(1))
            .collect()
            .await
    }
}

/// What the engine knows that helps a connector choose how to verify many targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyHint {
    /// Requests in flight at most.
    pub concurrency: usize,
    /// How many live credentials the backend held at the last sync, if known: a listing costs in
    /// proportion to it.
    pub live_credentials: Option<usize>,
}

/// Progress callback handed to connectors.
pub type ProgressFn<'a> = dyn Fn(Progress) + Send + Sync + 'a;

/// Builds the connector for a backend kind.
pub fn build(config: BackendConfig) -> Result<Box<dyn Connector>, ConnectorError> {
    match config.kind {
        BackendKind::Oauth2 => Ok(Box::new(oauth2::OAuth2::new(config)?)),
        BackendKind::Vault => Ok(Box::new(vault::Vault::new(config)?)),
        BackendKind::Postgres => Ok(Box::new(postgres::Postgres::new(config)?)),
        BackendKind::Keycloak => Ok(Box::new(keycloak::Keycloak::new(config)?)),
        BackendKind::Kong => Ok(Box::new(kong::Kong::new(config)?)),
        BackendKind::GitLab => Ok(Box::new(gitlab::GitLab::new(config)?)),
        BackendKind::Kubernetes => Ok(Box::new(kubernetes::Kubernetes::new(config)?)),
        BackendKind::AwsIam => Ok(Box::new(aws_iam::AwsIam::new(config)?)),
        BackendKind::Hoop => Ok(Box::new(hoop::Hoop::new(config)?)),
        BackendKind::GitHub => Ok(Box::new(github::GitHub::new(config)?)),
    }
}

/// Capabilities of a kind without building a connector (for listing backends offline).
pub fn capabilities_of(kind: BackendKind) -> Capabilities {
    match kind {
        BackendKind::Oauth2 => oauth2::capabilities(),
        BackendKind::Vault => vault::capabilities(),
        BackendKind::Postgres => postgres::capabilities(),
        BackendKind::Keycloak => keycloak::capabilities(),
        BackendKind::Kong => kong::capabilities(),
        BackendKind::GitLab => gitlab::capabilities(),
        BackendKind::Kubernetes => kubernetes::capabilities(),
        BackendKind::AwsIam => aws_iam::capabilities(),
        BackendKind::Hoop => hoop::capabilities(),
        BackendKind::GitHub => github::capabilities(),
    }
}

/// Hex SHA-256 of a token value: how Portcullis names a token without keeping it.
pub fn fingerprint(token: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Parses a backend URL, saying what is wrong in words a person can act on.
pub(crate) fn parse_url(raw: &str) -> Result<url::Url, ConnectorError> {
    let url = url::Url::parse(raw)
        .map_err(|e| ConnectorError::InvalidConfig(format!("`{raw}` is not a URL: {e}")))?;
    if url.host_str().is_none() {
        return Err(ConnectorError::InvalidConfig(format!(
            "`{raw}` has no host"
        )));
    }
    Ok(url)
}

/// The URL without user info, for messages and requests.
pub(crate) fn display_url(url: &url::Url) -> String {
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.as_str().trim_end_matches('/').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_sha256_hex() {
        assert_eq!(
            fingerprint("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn display_url_strips_credentials() {
        let u = parse_url("http://client:pw@127.0.0.1:9400/").unwrap();
        assert_eq!(display_url(&u), "http://127.0.0.1:9400");
        assert!(parse_url("not a url").is_err());
    }

    #[test]
    fn kong_and_kubernetes_build() {
        for kind in [BackendKind::Kong, BackendKind::Kubernetes] {
            let c = build(BackendConfig {
                name: "x".into(),
                kind,
                url: "http://127.0.0.1:1".into(),
                secret: None,
                timeout: DEFAULT_TIMEOUT,
                audit_log: None,
            })
            .unwrap();
            assert_eq!(c.kind(), kind);
            assert_eq!(c.capabilities(), capabilities_of(kind));
        }
    }
}
