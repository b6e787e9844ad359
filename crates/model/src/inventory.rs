//! The normalised model every connector maps its backend into, and the store keeps.
//!
//! Records are keyed within a backend by `external_id`, the backend's own stable identifier (user
//! id, role name, token accessor, token fingerprint), so a re-sync updates rather than duplicates.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    User,
    Service,
    Client,
    Group,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::Service => "service",
            PrincipalKind::Client => "client",
            PrincipalKind::Group => "group",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Principal {
    pub external_id: String,
    pub kind: PrincipalKind,
    pub name: String,
    pub enabled: bool,
    /// Backend-specific facts worth showing (superuser, valid_until, email...).
    pub attrs: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    pub external_id: String,
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Read,
    Write,
    Admin,
    Execute,
    Deny,
    Other,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Write => "write",
            Action::Admin => "admin",
            Action::Execute => "execute",
            Action::Deny => "deny",
            Action::Other => "other",
        }
    }
}

/// A scope, privilege or policy rule: one action on one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Permission {
    pub external_id: String,
    pub name: String,
    pub resource: String,
    pub action: Action,
    /// The rule as the backend states it (HCL stanza, GRANT, scope string).
    pub raw: serde_json::Value,
}

/// The kinds of node a grant edge connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Principal,
    Role,
    Permission,
}

impl NodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Principal => "principal",
            NodeKind::Role => "role",
            NodeKind::Permission => "permission",
        }
    }
}

/// One edge of the grant graph: principal→group (principal), principal→role, role→role
/// (composite), role→permission, principal→permission.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Grant {
    pub from_kind: NodeKind,
    pub from_id: String,
    pub to_kind: NodeKind,
    pub to_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    AccessToken,
    RefreshToken,
    ApiKey,
    Session,
    Pat,
    Accessor,
    Login,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::AccessToken => "access_token",
            CredentialKind::RefreshToken => "refresh_token",
            CredentialKind::ApiKey => "api_key",
            CredentialKind::Session => "session",
            CredentialKind::Pat => "pat",
            CredentialKind::Accessor => "accessor",
            CredentialKind::Login => "login",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialStatus {
    Active,
    Revoked,
    Expired,
    Unknown,
}

impl CredentialStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialStatus::Active => "active",
            CredentialStatus::Revoked => "revoked",
            CredentialStatus::Expired => "expired",
            CredentialStatus::Unknown => "unknown",
        }
    }
}

/// A credential, identified by the backend's own id (accessor, session id) or by the SHA-256
/// fingerprint of its value — never by the value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credential {
    pub external_id: String,
    pub kind: CredentialKind,
    pub principal_external_id: Option<String>,
    pub client: Option<String>,
    pub scopes: Vec<String>,
    pub issued_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub status: CredentialStatus,
    pub attrs: serde_json::Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Allow,
    Deny,
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Deny => "deny",
            Outcome::Error => "error",
        }
    }
}

/// One audit event, normalised. `dedup_key` makes re-imports idempotent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub dedup_key: String,
    pub at: DateTime<Utc>,
    pub actor: Option<String>,
    pub credential: Option<String>,
    pub action: String,
    pub resource: Option<String>,
    pub outcome: Outcome,
    pub source_ip: Option<String>,
    pub raw: serde_json::Value,
}
