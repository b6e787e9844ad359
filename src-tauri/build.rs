//! Build script: make sure the embedded frontend exists, then let tauri-build generate the context
//! and the permissions of the app's own commands (one `allow-<command>` each, see capabilities/).

use std::path::Path;

/// Every command in `commands/`; a command missing here cannot be allowed by a capability.
const COMMANDS: &[&str] = &[
    "app_info",
    "open_demo",
    "leave_demo",
    "list_backends",
    "add_backend",
    "check_backend",
    "check_all",
    "remove_backend",
    "overview",
    "sync_backends",
    "cancel_sync",
    "list_credentials",
    "credential_detail",
    "preview_revocation",
    "revoke_credential",
    "triage_token",
    "revoke_triaged_token",
    "forget_triaged_token",
    "journal_entries",
    "verify_journal",
    "access_explain",
    "access_who_can",
    "access_why",
    "access_neighbourhood",
    "access_matrix",
    "access_matrix_svg",
    "preview_target",
    "revoke_target",
    "review_run",
    "list_campaigns",
    "get_campaign",
    "create_campaign",
    "decide_campaign",
    "sign_off_campaign",
    "export_campaign",
    "incident_plan",
    "incident_execute",
    "incident_cancel",
    "incident_unfinished",
    "incident_resume",
    "incident_export",
    "audit_search",
    "audit_event",
    "audit_timeline",
    "audit_highlights",
    "audit_export",
    "audit_import",
];

const PLACEHOLDER: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Portcullis</title></head>\
<body><p>The UI has not been built yet: run <code>cargo run -p xtask -- build-ui</code>, then rebuild the app.</p></body></html>\n";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dist = Path::new("../ui/dist");
    if !dist.join("index.html").exists() {
        std::fs::create_dir_all(dist)?;
        std::fs::write(dist.join("index.html"), PLACEHOLDER)?;
    }
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )?;
    Ok(())
}
