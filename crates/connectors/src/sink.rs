//! How connectors hand over what they read, and what they are asked to revoke.
//!
//! Inventory comes back whole ([`Inventory`]) because the store diffs it against the cache.
//! Audit events are pushed in batches into an [`AuditSink`] together with the cursor that follows
//! each batch, so the engine can commit both in one transaction: a sync killed at any point resumes
//! from the last committed batch and never imports an event twice.

use async_trait::async_trait;
use portcullis_model::{AuditEvent, CredentialKind, ErrorCode, Grant};
use secrecy::SecretString;

/// An opaque, connector-defined position in a backend's audit trail (a byte offset, a timestamp).
pub type Cursor = String;

/// Why a sink refused a batch, with the code it keeps all the way to the person: a cache that
/// cannot be written is `storage`, not a backend failure worth retrying.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SinkError {
    pub code: ErrorCode,
    pub message: String,
}

impl SinkError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        SinkError {
            code,
            message: message.into(),
        }
    }

    pub fn cancelled() -> Self {
        SinkError::new(ErrorCode::Cancelled, "cancelled")
    }
}

#[async_trait]
pub trait AuditSink: Send {
    /// Accepts one batch and the cursor to resume from after it.
    async fn batch(&mut self, events: Vec<AuditEvent>, cursor: Cursor) -> Result<(), SinkError>;

    /// Whether the reader should stop now. Asked between lines as well as at batches, so a file
    /// of nothing but rejected lines (which never fills a batch) still stops when asked.
    fn is_cancelled(&self) -> bool {
        false
    }
}

/// Collects into memory; for tests and for small imports.
#[derive(Debug, Default)]
pub struct VecAuditSink {
    pub events: Vec<AuditEvent>,
    pub cursor: Option<Cursor>,
}

#[async_trait]
impl AuditSink for VecAuditSink {
    async fn batch(&mut self, events: Vec<AuditEvent>, cursor: Cursor) -> Result<(), SinkError> {
        self.events.extend(events);
        self.cursor = Some(cursor);
        Ok(())
    }
}

/// What to revoke.
#[derive(Debug, Clone)]
pub enum RevokeTarget {
    /// A cached credential, by the backend's own id (accessor, session pid, key id).
    Credential {
        kind: CredentialKind,
        external_id: String,
    },
    /// A raw token a reviewer holds right now (triage); used for this call only.
    Token { value: SecretString },
    /// A principal's ability to log in (PostgreSQL NOLOGIN, Keycloak logout of all sessions).
    Login { principal: String },
    /// One grant edge (a membership, a privilege, a policy attachment).
    Grant(Grant),
}

impl RevokeTarget {
    /// A description without secrets, for the journal and messages.
    pub fn describe(&self) -> String {
        match self {
            RevokeTarget::Credential { kind, external_id } => {
                format!("{} {external_id}", kind.as_str())
            }
            RevokeTarget::Token { value } => {
                use secrecy::ExposeSecret;
                format!("token {}", &crate::fingerprint(value.expose_secret())[..12])
            }
            RevokeTarget::Login { principal } => format!("login of {principal}"),
            RevokeTarget::Grant(g) => format!(
                "grant {} {} → {} {}",
                g.from_kind.as_str(),
                g.from_id,
                g.to_kind.as_str(),
                g.to_id
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonl::{read_jsonl, FileCursor, LineOutcome};
    use crate::ConnectorError;

    struct FullDisk;

    #[async_trait]
    impl AuditSink for FullDisk {
        async fn batch(&mut self, _: Vec<AuditEvent>, _: Cursor) -> Result<(), SinkError> {
            Err(SinkError::new(
                ErrorCode::Storage,
                "database or disk is full",
            ))
        }
    }

    /// A cache that cannot be written is a storage failure all the way up, not a backend error
    /// ("failed with HTTP 0") that invites a retry of the backend.
    #[tokio::test]
    async fn a_sink_failure_keeps_its_code_through_the_connector() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        std::fs::write(&path, "{\"a\":1}\n").unwrap();
        let event = |_: &str, _: u64| {
            Ok(LineOutcome::Event(Box::new(AuditEvent {
                dedup_key: "k".into(),
                at: chrono::Utc::now(),
                actor: None,
                credential: None,
                action: "read".into(),
                resource: None,
                outcome: portcullis_model::Outcome::Allow,
                source_ip: None,
                raw: serde_json::Value::Null,
            })))
        };
        let err = read_jsonl(&path, FileCursor::default(), &mut FullDisk, event)
            .await
            .unwrap_err();
        assert!(matches!(err, ConnectorError::Sink(_)), "{err:?}");
        assert_eq!(err.code(), ErrorCode::Storage);
        assert!(err.to_string().contains("disk is full"), "{err}");
    }
}
