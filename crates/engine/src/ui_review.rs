//! Evidence export for the desktop app: the CLI names an output directory, the app does not ask,
//! so the files go to a fresh, dated directory under the workspace's `evidence/` and the answer
//! says where, with the manifest's own SHA-256 (what an auditor pins).

use chrono::Utc;
use portcullis_model::EvidenceExport;
use sha2::{Digest, Sha256};

use crate::{EngineError, Result, Workspace};

impl Workspace {
    /// Exports campaign `id` to `<workspace>/evidence/campaign-<id>-<UTC time>/` and returns where,
    /// with the manifest and its digest.
    pub async fn export_campaign_evidence(&self, id: i64) -> Result<EvidenceExport> {
        let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
        let dir = self
            .dir()
            .join("evidence")
            .join(format!("campaign-{id}-{stamp}"));
        let manifest = self.export_campaign(id, &dir).await?;
        let bytes = tokio::fs::read(dir.join("manifest.json"))
            .await
            .map_err(|e| {
                EngineError::Internal(format!(
                    "the evidence was written to {} but its manifest.json could not be read back: {e}",
                    dir.display()
                ))
            })?;
        Ok(EvidenceExport {
            dir: dir.display().to_string(),
            manifest_sha256: hex::encode(Sha256::digest(&bytes)),
            manifest,
        })
    }
}
