//! Connectors: one module per backend kind behind the small [`Connector`] trait.
//!
//! The engine builds a connector from a [`BackendConfig`] (URL + the secret it fetched from the
//! keychain or the environment) and never learns how a backend is spoken to. Every connector maps
//! its failures to [`ConnectorError`], whose codes are shared with the UI; HTTP connectors go
//! through [`http::Http`] so that status mapping, timeouts and retries live in one place. Base URLs
//! are plain configuration, so tests point connectors at local servers.

mod error;
pub mod http;
pub mod oauth2;
pub mod postgres;
pub mod vault;

pub use error::ConnectorError;

use async_trait::async_trait;
use portcullis_model::{BackendKind, Capabilities, CheckReport};
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
}

/// Builds the connector for a backend kind.
pub fn build(config: BackendConfig) -> Result<Box<dyn Connector>, ConnectorError> {
    match config.kind {
        BackendKind::Oauth2 => Ok(Box::new(oauth2::OAuth2::new(config)?)),
        BackendKind::Vault => Ok(Box::new(vault::Vault::new(config)?)),
        BackendKind::Postgres => Ok(Box::new(postgres::Postgres::new(config)?)),
        kind @ (BackendKind::Keycloak | BackendKind::Kong | BackendKind::Kubernetes) => {
            Err(ConnectorError::Unsupported(format!(
                "the {} connector is not available in this build yet",
                kind.label()
            )))
        }
    }
}

/// Capabilities of a kind without building a connector (for listing backends offline).
pub fn capabilities_of(kind: BackendKind) -> Capabilities {
    match kind {
        BackendKind::Oauth2 => oauth2::capabilities(),
        BackendKind::Vault => vault::capabilities(),
        BackendKind::Postgres => postgres::capabilities(),
        BackendKind::Keycloak | BackendKind::Kong | BackendKind::Kubernetes => Capabilities {
            notes: vec!["connector not available in this build yet".into()],
            ..Capabilities::default()
        },
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
    fn unavailable_kinds_say_so() {
        let err = build(BackendConfig {
            name: "kc".into(),
            kind: BackendKind::Keycloak,
            url: "http://127.0.0.1:1".into(),
            secret: None,
            timeout: DEFAULT_TIMEOUT,
        })
        .err()
        .unwrap();
        assert_eq!(err.code(), portcullis_model::ErrorCode::Unsupported);
    }
}
