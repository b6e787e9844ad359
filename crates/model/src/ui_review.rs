//! What the Reviews page shows after an evidence export: where the files went and the manifest's
//! own digest, so the reviewer can hand both to an auditor without opening a terminal.

use serde::{Deserialize, Serialize};

use crate::EvidenceManifest;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceExport {
    /// Absolute directory the files and `manifest.json` were written to.
    pub dir: String,
    /// SHA-256 (hex) of `manifest.json` as written.
    pub manifest_sha256: String,
    pub manifest: EvidenceManifest,
}
