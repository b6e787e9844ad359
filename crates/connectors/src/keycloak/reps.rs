//! The Keycloak Admin REST API representations Portcullis reads, reduced to the fields it uses.
//!
//! Field names follow the API reference (`UserRepresentation`, `RoleRepresentation`,
//! `MappingsRepresentation`, `UserSessionRepresentation`, `EventRepresentation`, ...). Keycloak
//! omits null fields, but some versions send explicit `null` for lists and maps, so those default
//! to empty instead of failing. Anything of the wrong type fails deserialisation, which the
//! connector reports as [`crate::ConnectorError::Malformed`]; nothing here can panic.
//!
//! Deliberately absent: `ClientRepresentation.secret`, client `attributes` (they hold rotated
//! secrets and keys) and user `credentials`. What is not parsed cannot be stored or logged.

use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// `null` and absent both become the type's default.
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Objects listed through `first`/`max` paging, identified so that a server ignoring `first`
/// cannot make the connector loop.
pub(crate) trait Keyed {
    fn key(&self) -> String;
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserRep {
    pub id: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub email_verified: Option<bool>,
    #[serde(default)]
    pub created_timestamp: Option<i64>,
    #[serde(default)]
    pub federation_link: Option<String>,
    #[serde(default)]
    pub service_account_client_id: Option<String>,
}

impl Keyed for UserRep {
    fn key(&self) -> String {
        self.id.clone()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RoleRep {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub composite: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub client_role: bool,
    /// The realm id for realm roles, the client's UUID for client roles.
    #[serde(default)]
    pub container_id: Option<String>,
}

impl Keyed for RoleRep {
    fn key(&self) -> String {
        self.id.clone()
    }
}

/// `GET .../role-mappings` and `GET .../scope-mappings`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MappingsRep {
    #[serde(default, deserialize_with = "null_default")]
    pub realm_mappings: Vec<RoleRep>,
    /// Keyed by clientId.
    #[serde(default, deserialize_with = "null_default")]
    pub client_mappings: BTreeMap<String, ClientMappingsRep>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ClientMappingsRep {
    /// The clientId.
    #[serde(default)]
    pub client: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub mappings: Vec<RoleRep>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupRep {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub path: Option<String>,
    /// Keycloak 23+: how many children a group has (they are no longer inlined).
    #[serde(default)]
    pub sub_group_count: Option<u64>,
    #[serde(default, deserialize_with = "null_default")]
    pub sub_groups: Vec<GroupRep>,
}

impl Keyed for GroupRep {
    fn key(&self) -> String {
        self.id.clone()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ClientRep {
    pub id: String,
    pub client_id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub public_client: Option<bool>,
    #[serde(default)]
    pub bearer_only: Option<bool>,
    #[serde(default)]
    pub service_accounts_enabled: Option<bool>,
    #[serde(default)]
    pub standard_flow_enabled: Option<bool>,
    #[serde(default)]
    pub implicit_flow_enabled: Option<bool>,
    #[serde(default)]
    pub direct_access_grants_enabled: Option<bool>,
    #[serde(default)]
    pub consent_required: Option<bool>,
    #[serde(default)]
    pub full_scope_allowed: Option<bool>,
    #[serde(default)]
    pub not_before: Option<i64>,
}

impl Keyed for ClientRep {
    fn key(&self) -> String {
        self.id.clone()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ClientScopeRep {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub attributes: BTreeMap<String, serde_json::Value>,
}

/// The brief form `default-client-scopes` / `optional-client-scopes` answer with.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ClientScopeRef {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserSessionRep {
    pub id: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub ip_address: Option<String>,
    /// Milliseconds since the epoch.
    #[serde(default)]
    pub start: Option<i64>,
    /// Milliseconds since the epoch.
    #[serde(default)]
    pub last_access: Option<i64>,
    #[serde(default)]
    pub remember_me: Option<bool>,
    /// Client UUID → clientId.
    #[serde(default, deserialize_with = "null_default")]
    pub clients: BTreeMap<String, String>,
}

impl Keyed for UserSessionRep {
    fn key(&self) -> String {
        self.id.clone()
    }
}

/// One entry of `GET /users/{id}/consents` (a map in the API, not `UserConsentRepresentation`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConsentRep {
    pub client_id: String,
    #[serde(default, deserialize_with = "null_default")]
    pub granted_client_scopes: Vec<String>,
    /// Milliseconds; null for a client that holds only an offline token.
    #[serde(default)]
    pub created_date: Option<i64>,
    #[serde(default)]
    pub last_updated_date: Option<i64>,
    #[serde(default, deserialize_with = "null_default")]
    pub additional_grants: Vec<AdditionalGrant>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AdditionalGrant {
    #[serde(default)]
    pub key: Option<String>,
}

impl ConsentRep {
    pub fn has_offline_token(&self) -> bool {
        self.additional_grants
            .iter()
            .any(|g| g.key.as_deref() == Some("Offline Token"))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventRep {
    /// Milliseconds since the epoch (the id, sent by recent versions, is read from the raw
    /// event for its key).
    pub time: i64,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub ip_address: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AdminEventRep {
    pub time: i64,
    #[serde(default)]
    pub auth_details: Option<AuthDetailsRep>,
    #[serde(default)]
    pub operation_type: Option<String>,
    #[serde(default)]
    pub resource_type: Option<String>,
    #[serde(default)]
    pub resource_path: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuthDetailsRep {
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub ip_address: Option<String>,
}

/// `GET /events/config` (`RealmEventsConfigRepresentation`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventsConfigRep {
    #[serde(default, deserialize_with = "null_default")]
    pub events_enabled: bool,
    #[serde(default)]
    pub events_expiration: Option<i64>,
    #[serde(default, deserialize_with = "null_default")]
    pub admin_events_enabled: bool,
}

/// The token endpoint's answer to the client credentials grant.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub expires_in: Option<u64>,
}

/// RFC 7662 introspection as Keycloak answers it (the token's claims plus `active`).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct IntrospectionRep {
    #[serde(default, deserialize_with = "null_default")]
    pub active: bool,
    #[serde(default)]
    pub exp: Option<i64>,
    #[serde(default)]
    pub iat: Option<i64>,
    #[serde(default)]
    pub jti: Option<String>,
    #[serde(default)]
    pub sub: Option<String>,
    #[serde(default)]
    pub typ: Option<String>,
    #[serde(default)]
    pub azp: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub preferred_username: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub aud: Option<serde_json::Value>,
    #[serde(default)]
    pub iss: Option<String>,
    #[serde(default)]
    pub sid: Option<String>,
    #[serde(default)]
    pub session_state: Option<String>,
    #[serde(default)]
    pub realm_access: Option<AccessRep>,
    #[serde(default, deserialize_with = "null_default")]
    pub resource_access: BTreeMap<String, AccessRep>,
}

impl IntrospectionRep {
    /// The client the token was issued to.
    pub fn issued_to(&self) -> Option<&str> {
        self.azp.as_deref().or(self.client_id.as_deref())
    }

    pub fn session(&self) -> Option<&str> {
        self.sid.as_deref().or(self.session_state.as_deref())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct AccessRep {
    #[serde(default, deserialize_with = "null_default")]
    pub roles: Vec<String>,
}

/// What `push-revocation` answers (`GlobalRequestResult`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GlobalRequestResult {
    #[serde(default, deserialize_with = "null_default")]
    pub success_requests: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub failed_requests: Vec<String>,
}
