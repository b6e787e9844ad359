//! How connectors hand over what they read, and what they are asked to revoke.
//!
//! Inventory comes back whole ([`Inventory`]) because the store diffs it against the cache.
//! Audit events are pushed in batches into an [`AuditSink`] together with the cursor that follows
//! each batch, so the engine can commit both in one transaction: a sync killed at any point resumes
//! from the last committed batch and never imports an event twice.

use async_trait::async_trait;
use portcullis_model::{AuditEvent, CredentialKind, Grant};
use secrecy::SecretString;

/// An opaque, connector-defined position in a backend's audit trail (a byte offset, a timestamp).
pub type Cursor = String;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);

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
