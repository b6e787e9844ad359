//! Build script: make sure the embedded frontend exists, then let tauri-build generate the context
//! and the permissions of the app's own commands (one `allow-<command>` each, see capabilities/).

use std::path::Path;

/// Every command in `commands/`; a command missing here cannot be allowed by a capability.
const COMMANDS: &[&str] = &[
    "list_backends",
    "add_backend",
    "check_backend",
    "check_all",
    "remove_backend",
    "overview",
    "sync_backends",
    "cancel_sync",
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
