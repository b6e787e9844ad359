//! The one error shape that reaches a person: a stable code the UI and scripts branch on, and a
//! sentence that says what failed and what to do about it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Stable, machine-readable error codes. Add one only when a caller branches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Connection refused, DNS failure, host down. Retrying later may help.
    Unreachable,
    /// TLS handshake or certificate failure. Retrying does not help until the trust setup changes.
    Tls,
    /// The backend rejected the console's credential (401, bad password, unknown token).
    Unauthorized,
    /// The credential is valid but lacks a right; the message names the right.
    Forbidden,
    /// The backend asked us to slow down (429). Retry after the delay in the message.
    RateLimited,
    /// No answer within the deadline. Retrying may help.
    Timeout,
    /// The backend answered something we cannot parse.
    Malformed,
    /// The backend failed (5xx). Retrying may help.
    BackendError,
    /// A named thing (backend, credential, review) does not exist.
    NotFound,
    /// The thing already exists (e.g. a backend name is taken).
    Conflict,
    /// The request itself is wrong (bad name, bad URL, missing option).
    InvalidInput,
    /// The OS keychain is unavailable or refused the operation.
    SecretStore,
    /// The credential of a backend is not configured (no keychain entry, env var unset).
    MissingCredential,
    /// The local cache could not be read or written.
    Storage,
    /// The cache was written by a newer Portcullis.
    SchemaTooNew,
    /// The backend kind cannot do this (e.g. list tokens on an OAuth 2.0 server).
    Unsupported,
    /// The operation was cancelled by the reviewer.
    Cancelled,
    /// The backend redirected a request to another origin; the console refuses to forward its
    /// credential (or a pasted token) there. Point the backend's URL at the final address.
    Redirected,
    /// A bug: the message says where.
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unreachable => "unreachable",
            ErrorCode::Tls => "tls",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Malformed => "malformed",
            ErrorCode::BackendError => "backend_error",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::SecretStore => "secret_store",
            ErrorCode::MissingCredential => "missing_credential",
            ErrorCode::Storage => "storage",
            ErrorCode::SchemaTooNew => "schema_too_new",
            ErrorCode::Unsupported => "unsupported",
            ErrorCode::Cancelled => "cancelled",
            ErrorCode::Redirected => "redirected",
            ErrorCode::Internal => "internal",
        }
    }

    /// Whether trying the same call again later can succeed without anyone changing anything.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorCode::Unreachable
                | ErrorCode::RateLimited
                | ErrorCode::Timeout
                | ErrorCode::BackendError
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What crosses IPC and what `--json` prints on failure: `{ "code": ..., "message": ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpcError {
    pub code: ErrorCode,
    pub message: String,
}

impl IpcError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for IpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.code, self.message)
    }
}

impl std::error::Error for IpcError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipc_error_json_shape_is_stable() {
        let e = IpcError::new(ErrorCode::RateLimited, "slow down");
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(json, r#"{"code":"rate_limited","message":"slow down"}"#);
        let back: IpcError = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn as_str_matches_serde_name() {
        for code in [
            ErrorCode::Unreachable,
            ErrorCode::Tls,
            ErrorCode::Forbidden,
            ErrorCode::SchemaTooNew,
            ErrorCode::MissingCredential,
        ] {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json.as_str().unwrap(), code.as_str());
        }
    }
}
