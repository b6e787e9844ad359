//! The access map: who can do what, why, and how far a credential reaches, across every backend
//! in the cache.
//!
//! The cache's principals, roles, permissions, grant edges, credentials and aggregated audit
//! events are read once into an in-memory [`AccessIndex`] (graph + each principal's effective
//! permissions + their last use); every question is answered from it. The index is kept in the
//! [`Workspace`] and rebuilt only when the cache's access generation (bumped by SQLite triggers on
//! any write to those tables, whoever makes it) has moved, so a UI asking many questions pays the
//! build once per sync.
//!
//! Backend syntax (Vault globs, SQL objects, Kubernetes RBAC, scopes, Keycloak roles, AWS IAM
//! statements) lives in `dialect` (and its `keycloak` and `iam` parts); the graph, walks, matrix and questions are
//! backend-agnostic, so a backend added later is mapped with generic matching until it gets a
//! dialect of its own.

pub(crate) mod dialect;
#[cfg(test)]
mod github_tests;
#[cfg(test)]
mod gitlab_tests;
pub(crate) mod graph;
mod holders;
#[cfg(test)]
mod hoop_tests;
mod iam;
#[cfg(test)]
mod iam_tests;
pub(crate) mod index;
mod keycloak;
#[cfg(test)]
mod keycloak_fixture_tests;
mod matrix;
mod pattern;
mod query;
#[cfg(test)]
mod tests;
pub(crate) mod usage;
pub(crate) mod walk;

pub use holders::{Holders, NamedPrincipal, PrincipalSet};
pub use index::AccessIndex;
pub use matrix::matrix_svg;
pub use portcullis_store::access::{AccessBackendRow, AccessRows};

use chrono::Utc;
use portcullis_model::{
    ExplainQuery, Explanation, MatrixPage, MatrixQuery, Neighbourhood, NeighbourhoodQuery,
    WhoCanAnswer, WhoCanQuery, WhyAnswer,
};
use std::sync::{Arc, Mutex};

use crate::{EngineError, Result, Workspace};

/// Whether `kind`'s audit events can show that a right was used (see
/// `Dialect::audit_names_rights_used`); where they cannot, a right is neither used nor unused.
pub fn audit_shows_rights_used(kind: portcullis_model::BackendKind) -> bool {
    dialect::Dialect::for_kind(Some(kind)).audit_names_rights_used()
}

/// The workspace's cached index and the generation it was built from.
#[derive(Default)]
pub struct AccessCache {
    slot: Mutex<Option<Arc<AccessIndex>>>,
}

impl AccessCache {
    fn get(&self, generation: i64) -> Option<Arc<AccessIndex>> {
        let slot = self.slot.lock().ok()?;
        slot.as_ref()
            .filter(|i| i.generation == generation)
            .cloned()
    }

    fn put(&self, index: Arc<AccessIndex>) {
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Some(index);
        }
    }
}

impl Workspace {
    /// The access index of the cache as it is now: the cached one if the cache has not changed
    /// since it was built, else a fresh build.
    pub async fn access_index(&self) -> Result<Arc<AccessIndex>> {
        let generation = self.store.access_generation().await?;
        if let Some(index) = self.access.get(generation) {
            return Ok(index);
        }
        let (generation, rows) = self.store.access_rows().await?;
        let index = tokio::task::spawn_blocking(move || AccessIndex::build(&rows, generation))
            .await
            .map_err(|e| EngineError::Internal(format!("building the access index: {e}")))?;
        let index = Arc::new(index);
        self.access.put(index.clone());
        Ok(index)
    }

    /// Effective permissions of a principal or credential (every one matching the name, in every
    /// backend) with grant paths and blast radius; `q.permission` narrows to matching permissions.
    pub async fn access_explain(&self, q: &ExplainQuery) -> Result<Explanation> {
        self.access_index().await?.explain(q)
    }

    /// Who can do `q.action` on `q.resource`, across backends, with paths; deny rules honoured.
    pub async fn access_who_can(&self, q: &WhoCanQuery) -> Result<WhoCanAnswer> {
        self.access_index().await?.who_can(q)
    }

    /// Why `principal` holds `permission` (node ids, or a name / external id): every grant path.
    pub async fn access_why(&self, principal: &str, permission: &str) -> Result<WhyAnswer> {
        self.access_index().await?.why(principal, permission)
    }

    /// Nodes and edges around a node (principal, role, permission or credential id).
    pub async fn access_neighbourhood(&self, q: &NeighbourhoodQuery) -> Result<Neighbourhood> {
        self.access_index().await?.neighbourhood(q)
    }

    /// One page of the principals × permissions matrix with totals and the binned overview.
    pub async fn access_matrix(&self, q: &MatrixQuery) -> Result<MatrixPage> {
        self.access_index().await?.matrix(q, Utc::now())
    }

    /// The heatmap of the matrix under `q` as an SVG string of `width` × `height` pixels.
    pub async fn access_matrix_svg(
        &self,
        q: &MatrixQuery,
        width: u32,
        height: u32,
    ) -> Result<String> {
        let page = self.access_matrix(q).await?;
        matrix_svg(&page, (width.clamp(200, 4000), height.clamp(150, 4000)))
    }
}
