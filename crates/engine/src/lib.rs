//! The application API of Portcullis: everything the desktop shell and the CLI call.
//!
//! A [`Workspace`] is one cache directory (SQLite database) plus the OS keychain. The engine never
//! sees a UI handle: long work reports through a `&dyn Fn(Progress)` callback, so the CLI and the
//! Tauri shell drive it the same way, and every failure is an [`EngineError`] that converts in one
//! place into the `{code, message}` the UI branches on.

pub mod access;
#[cfg(test)]
mod agreement_tests;
pub mod audit;
mod backends;
mod chart;
pub mod demo;
mod error;
mod journal_key;
mod overview;
mod pg_statement;
pub mod private_fs;
pub mod review;
mod revoke;
mod secrets;
pub mod shell;
mod sync;
mod triage;
mod ui_access;
mod ui_audit;
mod ui_incident;
mod ui_review;
mod views;

pub use error::EngineError;
pub use journal_key::JOURNAL_KEY_ENV;
pub use revoke::{current_actor, revocable_by_id};
pub use secrets::KEYCHAIN_SERVICE;
pub use tokio_util::sync::CancellationToken;
pub use ui_audit::EXPORT_DIR;
pub use ui_incident::INCIDENT_DIR;
pub use views::grant_paths;

use portcullis_store::Store;
use std::path::{Path, PathBuf};

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// The cache file inside a workspace directory.
pub const CACHE_FILE: &str = "cache.db";

/// One workspace: a cache directory and the backends registered in it.
pub struct Workspace {
    dir: PathBuf,
    store: Store,
    /// The access map's in-memory index, rebuilt when the cache changes.
    access: access::AccessCache,
    /// Set once the journal key and recorded head were fetched (`journal_key.rs`).
    journal_seal: tokio::sync::OnceCell<()>,
}

impl Workspace {
    /// The platform data directory (`~/.local/share/portcullis` on Linux).
    pub fn default_dir() -> Result<PathBuf> {
        directories::ProjectDirs::from("dev", "portcullis", "portcullis")
            .map(|d| d.data_dir().to_path_buf())
            .ok_or(EngineError::NoHomeDir)
    }

    /// Opens (creating if needed) the workspace in `dir`.
    pub async fn open(dir: &Path) -> Result<Workspace> {
        private_fs::create_private_dir(dir)?;
        let store = Store::open(&dir.join(CACHE_FILE)).await?;
        Ok(Workspace {
            dir: dir.to_path_buf(),
            store,
            access: access::AccessCache::default(),
            journal_seal: tokio::sync::OnceCell::new(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
}
