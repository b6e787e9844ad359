//! What a review reads about one backend: its inventory, aggregated audit use and raw facts, as
//! the store hands them over (or a test or benchmark builds them), and the same inventory as rows
//! of the access graph, so that reviews evaluate it with the access map's one model.

use chrono::{DateTime, Utc};
use portcullis_model::{
    Action, BackendKind, CredentialKind, CredentialStatus, Grant, Outcome, PrincipalKind,
};
use portcullis_store::access::{
    AccessBackendRow, AccessCredentialRow, AccessGrantRow, AccessPermissionRow, AccessPrincipalRow,
    AccessRoleRow, AccessRows,
};
use serde_json::Value;

/// A principal as the cache holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct PrincipalIn {
    pub external_id: String,
    pub kind: PrincipalKind,
    pub name: String,
    pub enabled: bool,
    /// The principal this one is an account of (`portcullis_model::ACCOUNT_OF_KEY`).
    pub account_of: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PermissionIn {
    pub external_id: String,
    pub name: String,
    pub resource: String,
    pub action: Action,
    pub raw: Value,
}

/// What kind of credential: the cache's kinds, or one a reviewer declared.
#[derive(Debug, Clone, PartialEq)]
pub enum CredKind {
    Cached(CredentialKind),
    Declared(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CredentialIn {
    /// Cache row id (None for declared credentials).
    pub id: Option<i64>,
    pub external_id: String,
    pub kind: CredKind,
    pub principal: Option<String>,
    pub client: Option<String>,
    pub scopes: Vec<String>,
    pub issued_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub status: CredentialStatus,
    pub attrs: Value,
    /// `sync`, `triage` or `declared`.
    pub origin: String,
}

/// Aggregated events (see `portcullis_store::reviews::UsageRow`).
#[derive(Debug, Clone, PartialEq)]
pub struct UseIn {
    pub credential: Option<String>,
    pub actor: Option<String>,
    pub action: String,
    pub resource: Option<String>,
    pub outcome: Outcome,
    pub source_ip: Option<String>,
    pub count: u64,
    pub first_id: i64,
    pub last_id: i64,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
}

/// One event's raw fact (see `portcullis_store::reviews::AuditFactRow`).
#[derive(Debug, Clone, PartialEq)]
pub struct FactIn {
    pub event_id: i64,
    pub at: DateTime<Utc>,
    pub credential: Option<String>,
    pub actor: Option<String>,
    pub action: String,
    pub outcome: Outcome,
    pub periodic: bool,
    pub created_accessor: Option<String>,
    pub text: Option<String>,
}

/// Everything a findings run reads about one backend.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendInput {
    pub name: String,
    pub kind: BackendKind,
    pub principals: Vec<PrincipalIn>,
    /// (external id, name)
    pub roles: Vec<(String, String)>,
    pub permissions: Vec<PermissionIn>,
    pub grants: Vec<Grant>,
    pub credentials: Vec<CredentialIn>,
    pub usage: Vec<UseIn>,
    pub facts: Vec<FactIn>,
    /// Events older than the window exist (the log covers the whole window).
    pub has_older_events: bool,
    /// Verified revocations from the journal: target description → time.
    pub revocations: Vec<(String, DateTime<Utc>)>,
}

impl CredKind {
    pub fn as_str(&self) -> &str {
        match self {
            CredKind::Cached(k) => k.as_str(),
            CredKind::Declared(k) => k,
        }
    }
}

impl BackendInput {
    /// The inventory as rows of the access graph (one backend; declared credentials get ids
    /// below zero), so the graph, walks and usage matching of `access/` judge it.
    pub fn access_rows(&self) -> AccessRows {
        const B: i64 = 1;
        AccessRows {
            backends: vec![AccessBackendRow {
                id: B,
                name: self.name.clone(),
                kind: self.kind.as_str().into(),
            }],
            principals: self
                .principals
                .iter()
                .map(|p| AccessPrincipalRow {
                    backend_id: B,
                    external_id: p.external_id.clone(),
                    kind: p.kind.as_str().into(),
                    name: p.name.clone(),
                    enabled: p.enabled,
                })
                .collect(),
            roles: self
                .roles
                .iter()
                .map(|(id, name)| AccessRoleRow {
                    backend_id: B,
                    external_id: id.clone(),
                    name: name.clone(),
                })
                .collect(),
            permissions: self
                .permissions
                .iter()
                .map(|p| AccessPermissionRow {
                    backend_id: B,
                    external_id: p.external_id.clone(),
                    name: p.name.clone(),
                    resource: p.resource.clone(),
                    action: p.action.as_str().into(),
                    raw: p.raw.to_string(),
                })
                .collect(),
            grants: self
                .grants
                .iter()
                .map(|g| AccessGrantRow {
                    backend_id: B,
                    from_kind: g.from_kind.as_str().into(),
                    from_id: g.from_id.clone(),
                    to_kind: g.to_kind.as_str().into(),
                    to_id: g.to_id.clone(),
                })
                .collect(),
            credentials: self
                .credentials
                .iter()
                .enumerate()
                .map(|(i, c)| AccessCredentialRow {
                    id: c.id.unwrap_or(-(i as i64) - 1),
                    backend_id: B,
                    external_id: c.external_id.clone(),
                    kind: c.kind.as_str().into(),
                    principal_external_id: c.principal.clone(),
                    client: c.client.clone(),
                    scopes: c.scopes.clone(),
                    status: c.status.as_str().into(),
                })
                .collect(),
            usage: Vec::new(),
            statements: Vec::new(),
        }
    }
}
