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

/// `Principal::attrs` key naming the principal this one is an account of, as the backend links
/// them (a Vault userpass user or AppRole role → the identity entity its logins act as). Such
/// principals are one reviewable subject; nothing else (a shared name) merges principals.
pub const ACCOUNT_OF_KEY: &str = "account_of";

impl Principal {
    /// The principal (external id) this one is an account of, per [`ACCOUNT_OF_KEY`].
    pub fn account_of(&self) -> Option<&str> {
        self.attrs.get(ACCOUNT_OF_KEY).and_then(|v| v.as_str())
    }
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
    /// Gone from the backend: a sync no longer lists it (deleted, or ended by something the
    /// backend does not report). Kept in the cache with its history, never live again unless a
    /// sync lists it once more.
    Deleted,
}

impl CredentialStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialStatus::Active => "active",
            CredentialStatus::Revoked => "revoked",
            CredentialStatus::Expired => "expired",
            CredentialStatus::Unknown => "unknown",
            CredentialStatus::Deleted => "deleted",
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

/// Everything a connector read from a backend in one pass. The store replaces a backend's cached
/// inventory with it, writing only the rows that changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    pub principals: Vec<Principal>,
    pub roles: Vec<Role>,
    pub permissions: Vec<Permission>,
    pub grants: Vec<Grant>,
    pub credentials: Vec<Credential>,
}

/// What a backend says about a token a reviewer brought (token triage). Never holds the value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub backend: String,
    /// SHA-256 hex of the token value.
    pub fingerprint: String,
    pub active: bool,
    pub kind: CredentialKind,
    /// The backend's own id for it (Vault accessor, jti), when it has one.
    pub external_id: Option<String>,
    pub client: Option<String>,
    pub subject: Option<String>,
    pub scopes: Vec<String>,
    pub audience: Vec<String>,
    pub issued_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Remaining backend-specific facts (display name, renewable, orphan, token type...).
    pub attrs: serde_json::Value,
}

impl TokenInfo {
    /// The id the cache and audit events know this token by: the backend's own, else its
    /// fingerprint.
    pub fn cache_id(&self) -> &str {
        self.external_id.as_deref().unwrap_or(&self.fingerprint)
    }
}

/// What a backend answered when asked to revoke something.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevokeReceipt {
    /// What was done, in the backend's terms ("POST auth/token/revoke-accessor", "ALTER ROLE x NOLOGIN").
    pub action: String,
    pub at: DateTime<Utc>,
    /// What the revocation does not do, said plainly ("access tokens already issued stay valid
    /// until they expire").
    pub caveats: Vec<String>,
    pub detail: serde_json::Value,
}

/// The backend's own proof that a revoked credential is dead (or not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub dead: bool,
    /// How it was checked and what the backend said ("lookup-accessor answered 400: invalid accessor").
    pub evidence: String,
    pub at: DateTime<Utc>,
}

/// A credential as listed on the Credentials page and by `portcullis credentials`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialView {
    pub id: i64,
    pub backend: String,
    pub backend_kind: crate::BackendKind,
    pub external_id: String,
    pub kind: CredentialKind,
    pub principal: Option<String>,
    pub principal_name: Option<String>,
    pub client: Option<String>,
    pub scopes: Vec<String>,
    pub issued_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub status: CredentialStatus,
    /// `sync` or `triage`.
    pub origin: String,
    pub attrs: serde_json::Value,
}

/// Attributes in which a connector records the network address a credential is used from:
/// `client_addr` (a PostgreSQL session, from `pg_stat_activity`), `ip_address` (a Keycloak user
/// session, `UserSessionRepresentation.ipAddress`). One list, read by every selection by address.
pub const CREDENTIAL_ADDRESS_ATTRS: [&str; 2] = ["client_addr", "ip_address"];

impl CredentialView {
    /// The addresses the credential itself records (see [`CREDENTIAL_ADDRESS_ATTRS`]).
    pub fn recorded_addresses(&self) -> impl Iterator<Item = &str> {
        CREDENTIAL_ADDRESS_ATTRS
            .iter()
            .filter_map(|k| self.attrs.get(*k).and_then(serde_json::Value::as_str))
    }

    /// The clients the credential was issued to or used by: its `client`, and a Keycloak
    /// session's `clients` (a session opened through several clients names no single one).
    pub fn recorded_clients(&self) -> impl Iterator<Item = &str> {
        let listed = self
            .attrs
            .get("clients")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(serde_json::Value::as_str);
        self.client.as_deref().into_iter().chain(listed)
    }
}

/// Filters for listing credentials; every field narrows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CredentialFilter {
    pub backend: Option<String>,
    pub principal: Option<String>,
    pub kind: Option<CredentialKind>,
    pub status: Option<CredentialStatus>,
    /// Only credentials without expiry.
    #[serde(default)]
    pub never_expires: bool,
    /// Free text over id, principal, client and scopes.
    pub search: Option<String>,
    /// `expires`, `issued`, `last_used`, `principal`, `backend` (default: backend then principal).
    pub sort: Option<String>,
    #[serde(default)]
    pub descending: bool,
    pub limit: Option<u32>,
}

/// A principal as listed by `portcullis principals` and the UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrincipalView {
    pub id: i64,
    pub backend: String,
    pub backend_kind: crate::BackendKind,
    pub external_id: String,
    pub kind: PrincipalKind,
    pub name: String,
    pub enabled: bool,
    /// Direct grants: role / group / permission ids this principal holds.
    pub grants: Vec<String>,
    pub credentials: u64,
    pub attrs: serde_json::Value,
}

/// Why a credential's principal has a scope: each hop from the principal to the permission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantPath {
    pub permission: String,
    pub hops: Vec<String>,
}

/// The detail panel of one credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialDetail {
    pub credential: CredentialView,
    pub paths: Vec<GrantPath>,
    pub recent_events: Vec<AuditEventView>,
    /// The journalled revocation that ended it, when Portcullis did.
    #[serde(default)]
    pub ended_by: Option<JournalledRevocation>,
}

/// A revocation the journal holds for a credential: the action's first entry, its last state,
/// who did it and what the backend answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalledRevocation {
    /// The action's first (planned) entry: what the Journal page links to.
    pub journal_seq: i64,
    /// The action's last state (`verified` when the backend proved it dead).
    pub state: crate::JournalState,
    /// When that last state was written.
    pub at: DateTime<Utc>,
    pub actor: String,
    /// What the backend was asked ("POST auth/token/revoke-accessor"), from its receipt.
    pub receipt: Option<String>,
    /// The reason or ticket given with the revocation.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A token triage has met before: the cached credential holding its fingerprint, and the
/// revocation that ended it when Portcullis did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeenToken {
    pub credential_id: i64,
    pub external_id: String,
    pub status: CredentialStatus,
    pub revocation: Option<JournalledRevocation>,
}

/// An audit event as shown in lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEventView {
    /// Crosses IPC as a string: event ids are time keys beyond 2^53, which JavaScript numbers
    /// would round.
    #[serde(with = "crate::id_string")]
    pub id: i64,
    pub backend: String,
    pub at: DateTime<Utc>,
    pub actor: Option<String>,
    pub credential: Option<String>,
    pub action: String,
    pub resource: Option<String>,
    pub outcome: Outcome,
    pub source_ip: Option<String>,
}

/// What one backend said about a token brought to triage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriageResult {
    pub backend: String,
    pub backend_kind: crate::BackendKind,
    /// `Some`: the backend recognises the token as live.
    pub token: Option<TokenInfo>,
    pub error: Option<crate::IpcError>,
    /// Not recognised now, but the cache knows its fingerprint: what became of it.
    #[serde(default)]
    pub seen: Option<SeenToken>,
}

/// One revocation, end to end: what was sent, what the backend answered, and the proof.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevocationOutcome {
    pub backend: String,
    pub target: String,
    /// Journal sequence number of the action's first (planned) entry.
    pub journal_seq: i64,
    pub receipt: Option<RevokeReceipt>,
    pub verification: Option<Verification>,
    pub error: Option<crate::IpcError>,
}

/// The strings of a JSON array; anything else (absent, null, another type) reads as empty, and
/// what is not a string in it is skipped: how connectors read lists in backend answers and the
/// access model reads lists in a permission's `raw` facts, leniently and without panicking.
pub fn string_list(v: Option<&serde_json::Value>) -> Vec<String> {
    v.and_then(serde_json::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
