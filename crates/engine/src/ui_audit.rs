//! What the desktop Audit page needs beyond `audit/`: an export of the current search into the
//! workspace's `exports/` folder under a fresh name, because the app has no native save dialog
//! (no dialog plugin in the build) and must not let the web view pick arbitrary paths.

use chrono::Utc;
use portcullis_model::ExportFormat;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

use crate::{Result, Workspace};

/// The folder of a workspace where exports of the Audit page are written.
pub const EXPORT_DIR: &str = "exports";

impl Workspace {
    /// Writes every event matching `query` to `<workspace>/exports/audit-<time>.csv|jsonl`;
    /// returns the file's path and how many events it holds.
    pub async fn export_audit_to_workspace(
        &self,
        query: &str,
        format: ExportFormat,
    ) -> Result<(PathBuf, u64)> {
        let dir = self.dir().join(EXPORT_DIR);
        crate::private_fs::create_private_dir(&dir)?;
        let ext = match format {
            ExportFormat::Csv => "csv",
            ExportFormat::JsonLines => "jsonl",
        };
        let path = dir.join(format!(
            "audit-{}.{ext}",
            Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
        ));
        let n = self
            .audit_export_to_file(query, format, &path, &CancellationToken::new())
            .await?;
        Ok((path, n))
    }
}
