//! The morning glance: counts from the cache per backend, plus a chart rendered by the engine.

use serde::{Deserialize, Serialize};

use crate::{BackendKind, CheckSummary, SyncRunInfo};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub principals: u64,
    pub roles: u64,
    pub permissions: u64,
    pub grants: u64,
    pub credentials: u64,
    pub active_credentials: u64,
    pub never_expiring_credentials: u64,
    pub audit_events: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendCounts {
    pub backend: String,
    pub kind: BackendKind,
    pub counts: Counts,
    pub last_check: Option<CheckSummary>,
    pub last_sync: Option<SyncRunInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub totals: Counts,
    pub backends: Vec<BackendCounts>,
    /// An SVG (plotters) of credentials per backend by status; empty when there is nothing to draw.
    pub chart_svg: String,
}
