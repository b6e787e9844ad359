//! Engine errors and their single conversion into the IPC shape `{code, message}`.

use portcullis_connectors::ConnectorError;
use portcullis_model::{ErrorCode, IpcError};
use portcullis_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    #[error("{0}")]
    InvalidInput(String),
    #[error("the OS keychain is unavailable: {0}. Use an environment variable for this backend's credential (--credential-env VAR), or unlock/start the keychain (Secret Service)")]
    Keychain(String),
    #[error("no credential for backend `{backend}`: {hint}")]
    MissingCredential { backend: String, hint: String },
    #[error("cannot find a home directory for the default workspace; pass --workspace DIR")]
    NoHomeDir,
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cancelled: {0}")]
    Cancelled(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl EngineError {
    pub fn code(&self) -> ErrorCode {
        match self {
            EngineError::Store(StoreError::SchemaTooNew { .. }) => ErrorCode::SchemaTooNew,
            EngineError::Store(StoreError::NotFound { .. }) => ErrorCode::NotFound,
            EngineError::Store(StoreError::Conflict { .. }) => ErrorCode::Conflict,
            // Another writer held the cache past the wait: trying again later helps.
            EngineError::Store(StoreError::Busy) => ErrorCode::Timeout,
            EngineError::Store(_) => ErrorCode::Storage,
            EngineError::Connector(e) => e.code(),
            EngineError::InvalidInput(_) => ErrorCode::InvalidInput,
            EngineError::Keychain(_) => ErrorCode::SecretStore,
            EngineError::MissingCredential { .. } => ErrorCode::MissingCredential,
            EngineError::NoHomeDir => ErrorCode::InvalidInput,
            EngineError::Io { .. } => ErrorCode::Storage,
            EngineError::Cancelled(_) => ErrorCode::Cancelled,
            EngineError::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<EngineError> for IpcError {
    fn from(e: EngineError) -> Self {
        IpcError::new(e.code(), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_maps_to_not_found_code() {
        let e: IpcError = EngineError::Store(StoreError::NotFound {
            what: "backend",
            name: "x".into(),
        })
        .into();
        assert_eq!(e.code, ErrorCode::NotFound);
        assert_eq!(e.message, "backend `x` not found");
    }
}
