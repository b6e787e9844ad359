//! Connector errors: typed, each mapped to one stable [`ErrorCode`], each message saying what to do.

use portcullis_model::{ErrorCode, IpcError};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error("{target} is unreachable ({detail}); check that it runs and that the URL and port are right")]
    Unreachable { target: String, detail: String },
    #[error(
        "TLS with {target} failed ({detail}); check the URL scheme and the server certificate"
    )]
    Tls { target: String, detail: String },
    #[error("{target} rejected the console's credential: {detail}")]
    Unauthorized { target: String, detail: String },
    #[error("{target} refused: the console's credential lacks {right}{}", detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Forbidden {
        target: String,
        right: String,
        detail: Option<String>,
    },
    #[error("{target} is rate limiting the console; retry after {}s", retry_after.map(|d| d.as_secs()).unwrap_or(0))]
    RateLimited {
        target: String,
        retry_after: Option<Duration>,
    },
    #[error("{target} did not answer within {}s; check its load or the network", after.as_secs())]
    Timeout { target: String, after: Duration },
    #[error("{target} sent a response the console cannot read ({what}: {detail})")]
    Malformed {
        target: String,
        what: String,
        detail: String,
    },
    #[error("{target} failed with HTTP {status}: {detail}")]
    Backend {
        target: String,
        status: u16,
        detail: String,
    },
    #[error("{what} not found on {target}")]
    NotFound { target: String, what: String },
    #[error("{target} redirected the console from {from} to {to}; the redirect was refused ({why}). Set the backend's URL to the address that answers without a redirect")]
    Redirected {
        target: String,
        from: String,
        to: String,
        why: &'static str,
    },
    #[error(transparent)]
    Sink(#[from] crate::SinkError),
    /// A local file (an audit log the console reads, a file given to `audit import`): the advice
    /// is about the path and its permissions, never about a URL or a port.
    #[error("cannot read {path}: {source}; check the path (the backend's audit log setting, or the file given to the import) and that this user may read it")]
    LocalFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid backend configuration: {0}")]
    InvalidConfig(String),
    #[error("{0}")]
    Unsupported(String),
    /// The reader's sink asked it to stop (a person pressed Ctrl-C, closed the dialog).
    #[error("cancelled")]
    Cancelled,
}

impl ConnectorError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ConnectorError::Unreachable { .. } => ErrorCode::Unreachable,
            ConnectorError::Tls { .. } => ErrorCode::Tls,
            ConnectorError::Unauthorized { .. } => ErrorCode::Unauthorized,
            ConnectorError::Forbidden { .. } => ErrorCode::Forbidden,
            ConnectorError::RateLimited { .. } => ErrorCode::RateLimited,
            ConnectorError::Timeout { .. } => ErrorCode::Timeout,
            ConnectorError::Malformed { .. } => ErrorCode::Malformed,
            ConnectorError::Backend { .. } => ErrorCode::BackendError,
            ConnectorError::NotFound { .. } => ErrorCode::NotFound,
            ConnectorError::Redirected { .. } => ErrorCode::Redirected,
            ConnectorError::Sink(e) => e.code,
            ConnectorError::LocalFile { source, .. } => match source.kind() {
                std::io::ErrorKind::NotFound => ErrorCode::NotFound,
                std::io::ErrorKind::PermissionDenied => ErrorCode::Forbidden,
                _ => ErrorCode::Storage,
            },
            ConnectorError::InvalidConfig(_) => ErrorCode::InvalidInput,
            ConnectorError::Unsupported(_) => ErrorCode::Unsupported,
            ConnectorError::Cancelled => ErrorCode::Cancelled,
        }
    }
}

impl From<&ConnectorError> for IpcError {
    fn from(e: &ConnectorError) -> Self {
        IpcError::new(e.code(), e.to_string())
    }
}

impl From<ConnectorError> for IpcError {
    fn from(e: ConnectorError) -> Self {
        IpcError::from(&e)
    }
}
