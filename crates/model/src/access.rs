//! The access map: who can do what, why, and how far a credential reaches.
//!
//! These are the answers the engine's access graph gives (explain, who-can, why, blast radius,
//! neighbourhood, matrix). Every node is named by a stable string id `BACKEND/KIND/EXTERNAL_ID`
//! (e.g. `openbao/role/billing-rw`, `postgres/principal/alice`, `oidc/credential/3f2a…`) so the UI
//! can put it in a route and ask for its neighbourhood later; the ids are opaque to the UI.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Action, BackendKind, PrincipalKind};

/// What a node of the access graph stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum AccessNodeKind {
    Principal,
    Role,
    Permission,
    Credential,
}

impl AccessNodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessNodeKind::Principal => "principal",
            AccessNodeKind::Role => "role",
            AccessNodeKind::Permission => "permission",
            AccessNodeKind::Credential => "credential",
        }
    }
}

/// How risky holding a permission is, from its action and how wide its resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    Low,
    Medium,
    High,
}

impl Risk {
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
        }
    }
}

/// One node, as every answer names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessNode {
    /// `BACKEND/KIND/EXTERNAL_ID`.
    pub id: String,
    pub backend: String,
    pub kind: AccessNodeKind,
    pub external_id: String,
    /// A person's name for it (principal name, role name, permission name, credential kind + id).
    pub label: String,
    /// Principals only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_kind: Option<PrincipalKind>,
    /// Principals only: false for a disabled account / NOLOGIN role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Permissions only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Permissions only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// Permissions only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<Risk>,
    /// True for nodes the access map adds from the backend's documented semantics rather than
    /// from its inventory (PostgreSQL `PUBLIC` membership and predefined roles, Vault `root`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub implied: bool,
}

/// What an edge of the access graph means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessEdgeKind {
    /// principal → group principal.
    MemberOf,
    /// principal → role.
    HasRole,
    /// role → role (composite role, aggregation, binding → role).
    Includes,
    /// role → permission, or principal → permission.
    Grants,
    /// credential → its principal.
    HeldBy,
    /// credential → the role or permission its scopes name.
    ScopedTo,
}

impl AccessEdgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessEdgeKind::MemberOf => "member_of",
            AccessEdgeKind::HasRole => "has_role",
            AccessEdgeKind::Includes => "includes",
            AccessEdgeKind::Grants => "grants",
            AccessEdgeKind::HeldBy => "held_by",
            AccessEdgeKind::ScopedTo => "scoped_to",
        }
    }
}

/// One grant path, from a principal (or credential) to a permission: every hop in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessPath {
    pub hops: Vec<AccessNode>,
}

/// A permission a principal or credential effectively holds, with the paths that explain it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EffectivePermission {
    pub permission: AccessNode,
    /// Every path found, shortest first (at least one).
    pub paths: Vec<AccessPath>,
    /// Newest allowed audit event that exercised it, if the cache has one.
    pub last_used_at: Option<DateTime<Utc>>,
    /// How many allowed audit events exercised it.
    pub uses: u64,
}

/// Reach in one backend: distinct resources, distinct (resource, action) pairs, by action.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BackendReach {
    pub backend: String,
    pub backend_kind: Option<BackendKind>,
    /// Distinct resource patterns reachable (a glob counts once).
    pub resources: u64,
    /// Distinct (resource, action) pairs.
    pub pairs: u64,
    pub read: u64,
    pub write: u64,
    pub admin: u64,
    pub execute: u64,
    pub other: u64,
    /// Pairs whose resource is a wildcard pattern (each may stand for many objects).
    pub wildcard_pairs: u64,
    /// Deny rules that carve exceptions out of the reach (listed, not counted in `pairs`).
    pub denied: u64,
}

/// One reachable (resource, action) pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReachItem {
    pub backend: String,
    pub resource: String,
    pub action: Action,
    pub risk: Risk,
    pub wildcard: bool,
}

/// How far a principal or credential reaches: resources × actions, per backend and in total.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BlastRadius {
    pub per_backend: Vec<BackendReach>,
    pub total: BackendReach,
    /// The pairs themselves, sorted by backend, risk (high first), resource; at most `limit` of
    /// them (see `items_truncated`).
    pub items: Vec<ReachItem>,
    pub items_truncated: bool,
}

/// Everything one principal or credential can do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubjectAccess {
    pub subject: AccessNode,
    /// For a credential: `principal` (acts with its principal's rights), `scopes` (its scopes are
    /// its rights, as Vault policies on a token) or `scopes ∩ principal` (OAuth-style scopes
    /// limited by what the principal may hold).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_mode: Option<String>,
    pub permissions: Vec<EffectivePermission>,
    pub blast_radius: BlastRadius,
    /// True when a permission has more grant paths than were listed.
    pub paths_truncated: bool,
}

/// The answer to `explain PRINCIPAL [PERMISSION]`: every matching principal (a name may exist in
/// several backends) or credential, with its effective permissions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub query: String,
    pub subjects: Vec<SubjectAccess>,
    /// What to do next when nothing matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Options of `explain`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExplainQuery {
    /// Node id, external id or name of a principal; or a credential (node id, external id, or the
    /// numeric id `portcullis credentials` prints) when `credential` is set.
    pub subject: String,
    /// Only permissions whose id, name or resource matches this (exact id/name first).
    pub permission: Option<String>,
    #[serde(default)]
    pub credential: bool,
    pub backend: Option<String>,
    /// Most paths listed per permission (default 8).
    pub max_paths: Option<u32>,
    /// Most blast-radius items listed (default 500).
    pub reach_limit: Option<u32>,
}

/// Why a principal holds a permission: all grant paths (bounded), or none and a reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhyAnswer {
    pub principal: AccessNode,
    pub permission: AccessNode,
    pub granted: bool,
    pub paths: Vec<AccessPath>,
    pub paths_truncated: bool,
    pub last_used_at: Option<DateTime<Utc>>,
    pub uses: u64,
}

/// How much of the asked resource a matching grant covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    /// The grant covers everything the question names.
    Full,
    /// The grant covers part of it (some columns, some names, one path level of a glob, or a deny
    /// rule carves out part of it).
    Partial,
}

/// A grant that answers a who-can question for one principal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhoCanMatch {
    pub permission: AccessNode,
    pub coverage: Coverage,
    pub paths: Vec<AccessPath>,
}

/// One principal that can (or is explicitly denied).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhoCanEntry {
    pub principal: AccessNode,
    pub matches: Vec<WhoCanMatch>,
    /// The principal's live credentials that can, each by its own rights (a Vault token by its
    /// own policies: two tokens of one principal never lend each other rights or denials).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<AccessNode>,
}

/// The answer to `who-can ACTION RESOURCE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhoCanAnswer {
    pub action: String,
    pub resource: String,
    /// Principals that can, sorted by backend then name. Groups appear too (PostgreSQL NOLOGIN
    /// roles hold grants and can be assumed; their members also appear, each with the path
    /// through the group): `principal.principal_kind` tells them apart.
    pub allowed: Vec<WhoCanEntry>,
    /// Principals whose matching grant is overridden by a deny rule (Vault `deny`), with the deny.
    pub denied: Vec<WhoCanEntry>,
    pub backends_searched: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Options of `who-can`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WhoCanQuery {
    /// A normalised action (read, write, admin, execute, any) or the backend's own verb
    /// (Vault capability, SQL privilege, Kubernetes verb).
    pub action: String,
    /// In the backend's own syntax: a Vault path (globs allowed), `schema.table[.column]`, a scope,
    /// a Kubernetes `ns:NS/GROUP/RESOURCE[#NAME]`; `*` allowed.
    pub resource: String,
    pub backend: Option<String>,
    /// Most paths listed per match (default 4).
    pub max_paths: Option<u32>,
}

/// A node of a neighbourhood view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphNode {
    pub node: AccessNode,
    /// Edges out / in, in the whole graph (so the UI knows whether expanding shows more).
    pub out_degree: u32,
    pub in_degree: u32,
    /// Distance from the centre.
    pub distance: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GraphEdge {
    pub from: String,
    pub to: String,
    pub kind: AccessEdgeKind,
}

/// Options of a neighbourhood query.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NeighbourhoodQuery {
    /// The centre: a node id (`BACKEND/KIND/EXTERNAL_ID`).
    pub node: String,
    /// Hops in both directions (default 1, at most 4).
    pub depth: Option<u32>,
    /// Most nodes returned (default 150, at most 2000); nearer nodes first.
    pub limit: Option<u32>,
}

/// Nodes and edges around a node; expand a node by asking for its own neighbourhood.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Neighbourhood {
    pub centre: String,
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
    /// True when `limit` cut nodes off.
    pub truncated: bool,
}

/// What one cell of the matrix says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellState {
    GrantedUsed,
    GrantedUnused,
    NotGranted,
}

/// Row order of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MatrixSort {
    /// Backend, then name.
    #[default]
    Name,
    /// Most granted permissions first.
    Granted,
    /// Most granted-but-unused first (review candidates).
    Unused,
    /// Highest-risk grants first (count of high, then medium).
    Risk,
}

/// The filter of the matrix; every field narrows. Rows are principals (groups excluded unless
/// asked) holding at least one permission among the filtered columns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MatrixQuery {
    /// Backend names (empty: all).
    #[serde(default)]
    pub backends: Vec<String>,
    /// Actions (empty: all).
    #[serde(default)]
    pub actions: Vec<Action>,
    /// Risks (empty: all).
    #[serde(default)]
    pub risks: Vec<Risk>,
    /// Substring of a principal's name or id.
    pub principal_search: Option<String>,
    /// Substring of a permission's name, id or resource.
    pub permission_search: Option<String>,
    #[serde(default)]
    pub include_groups: bool,
    /// Review window in days: granted-but-unused means no allowed use since now − window
    /// (default 90).
    pub window_days: Option<u32>,
    #[serde(default)]
    pub sort: MatrixSort,
    /// Page of rows (default 0, 50; at most 500).
    pub row_offset: Option<u32>,
    pub row_limit: Option<u32>,
    /// Page of columns (default 0, 50; at most 500). Columns are ordered by backend, then most
    /// holders first.
    pub col_offset: Option<u32>,
    pub col_limit: Option<u32>,
    /// Bins of the whole-matrix overview (default 40 × 40, at most 200 each).
    pub overview_rows: Option<u32>,
    pub overview_cols: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixRow {
    pub principal: AccessNode,
    /// Over all filtered columns, not only this page.
    pub granted: u32,
    pub used: u32,
    pub unused: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixColumn {
    pub permission: AccessNode,
    /// Over all filtered rows.
    pub holders: u32,
    pub used_by: u32,
}

/// One non-empty cell of the page (cells not listed are `not_granted`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixCell {
    /// Index into `rows` of this page.
    pub row: u32,
    /// Index into `columns` of this page.
    pub col: u32,
    pub state: CellState,
}

/// Counts of the three states.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellCounts {
    pub granted_used: u64,
    pub granted_unused: u64,
    pub not_granted: u64,
}

/// The whole filtered matrix squeezed into `rows × cols` bins (row-major), each bin counting its
/// cells by state: what a heatmap of 5,000 × 2,000 draws without 10 million items.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MatrixOverview {
    pub rows: u32,
    pub cols: u32,
    /// Principals per row bin and permissions per column bin (the last bin may hold fewer).
    pub rows_per_bin: u32,
    pub cols_per_bin: u32,
    pub bins: Vec<CellCounts>,
}

/// One page of the matrix plus its totals and overview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixPage {
    pub rows: Vec<MatrixRow>,
    pub columns: Vec<MatrixColumn>,
    pub cells: Vec<MatrixCell>,
    pub total_rows: u32,
    pub total_columns: u32,
    pub totals: CellCounts,
    pub overview: MatrixOverview,
    /// Start of the review window.
    pub window_start: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Scopes that are part of the OAuth 2.0 / OpenID Connect protocol (and Keycloak's default
/// client scopes), not API permissions: every client gets them, so holding one is never a
/// finding, and apart from `offline_access` they only ask for identity claims. One list for the
/// Keycloak mapping and the access dialect.
pub const PROTOCOL_SCOPES: &[&str] = &[
    "openid",
    "offline_access",
    "profile",
    "email",
    "address",
    "phone",
    "roles",
    "web-origins",
    "microprofile-jwt",
    "acr",
    "basic",
    "role_list",
    "organization",
];
