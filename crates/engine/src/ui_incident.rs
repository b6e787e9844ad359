//! Thin entry points the desktop Incident page needs on top of `revoke/`: the selection as the
//! form writes it (text, parsed here where the clock and the local offset live, so the wasm UI
//! never guesses a time zone), and the export of a finished run as an incident report file that
//! pins the journal's head hash, so a report can later be checked against the journal it cites.

use chrono::{Local, Utc};
use portcullis_model::{RevocationPlan, RevocationReport, RevocationSelector};
use secrecy::SecretString;
use serde_json::json;
use std::path::PathBuf;

use crate::{current_actor, EngineError, Result, Workspace};

/// The folder of a workspace where incident reports are written.
pub const INCIDENT_DIR: &str = "incidents";

impl Workspace {
    /// Incident dry run from the selection's text form (`principal=alice backend=openbao since=2h`,
    /// see [`RevocationSelector::parse`]); nothing is sent.
    /// `tokens` are values the responder holds, for backends that revoke a token only by its
    /// value (OAuth 2.0, RFC 7009); they are matched by fingerprint and never kept.
    pub async fn plan_incident_text(
        &self,
        selection: &str,
        tokens: &[SecretString],
    ) -> Result<RevocationPlan> {
        let selector = RevocationSelector::parse(selection, Utc::now(), *Local::now().offset())
            .map_err(|e| EngineError::InvalidInput(e.message))?;
        self.plan_incident(&selector, tokens).await
    }

    /// Writes a finished run's report to `<workspace>/incidents/incident-<seq>-<time>.json`: what
    /// was revoked, when, by whom, how each item was verified, and the journal head hash at export
    /// time (with whether the chain verified). Returns the file's path.
    pub async fn export_incident_report(&self, report: &RevocationReport) -> Result<PathBuf> {
        let journal = self.journal_verify().await?;
        let now = Utc::now();
        let dir = self.dir().join(INCIDENT_DIR);
        crate::private_fs::create_private_dir(&dir)?;
        let name = format!(
            "incident-{}-{}.json",
            report
                .incident_seq
                .map(|s| s.to_string())
                .unwrap_or_else(|| "single".into()),
            now.format("%Y%m%dT%H%M%SZ")
        );
        let path = dir.join(name);
        let doc = json!({
            "kind": "portcullis.incident_report",
            "portcullis_version": portcullis_model::VERSION,
            "demo": self.demo_info().map(|d| d.label()),
            "exported_at": now,
            "exported_by": current_actor(),
            "selection": report.selection,
            "incident_seq": report.incident_seq,
            "counts": {
                "verified": report.verified,
                "confirmed": report.confirmed,
                "failed": report.failed,
                "skipped": report.skipped,
                "covered": report.covered,
            },
            "elapsed_ms": report.elapsed_ms,
            "items": report.items,
            "journal": {
                "head": journal.head,
                "entries": journal.entries,
                "chain_ok": journal.ok,
                "message": journal.message,
            },
        });
        let text = serde_json::to_vec_pretty(&doc)
            .map_err(|e| EngineError::Internal(format!("encoding the incident report: {e}")))?;
        crate::private_fs::write_private(&path, &text)?;
        Ok(path)
    }
}
