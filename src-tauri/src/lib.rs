//! The Portcullis desktop shell.
//!
//! This crate only wires things up: it opens the [`Workspace`] once, keeps it in Tauri state as an
//! `Arc`, and registers the commands of `commands/`, each a one-line call into `portcullis-engine`.
//! No logic lives here, so everything the window can do, the CLI and the engine's tests can do too.

pub mod commands;
mod error;

use std::path::PathBuf;
use std::sync::Arc;

use portcullis_engine::Workspace;
use portcullis_model::IpcError;
use tauri::{Manager, Runtime};

use commands::WorkspaceState;

pub use error::ShellError;

/// The environment variable that points the app at another workspace directory (tests, demos).
pub const WORKSPACE_ENV: &str = "PORTCULLIS_WORKSPACE";

/// Where the workspace lives: `$PORTCULLIS_WORKSPACE` if set, else the platform data directory.
pub fn workspace_dir() -> Result<PathBuf, ShellError> {
    match std::env::var_os(WORKSPACE_ENV) {
        Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir)),
        _ => Ok(Workspace::default_dir()?),
    }
}

/// Opens the workspace the app will serve, blocking the setup hook until it is ready.
pub fn open_workspace() -> Result<Arc<Workspace>, ShellError> {
    let dir = workspace_dir()?;
    let workspace = tauri::async_runtime::block_on(Workspace::open(&dir))
        .map_err(|source| ShellError::Open { dir, source })?;
    Ok(Arc::new(workspace))
}

/// Registers the command handlers and the state they share besides the workspace.
pub fn with_commands<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder
        .manage(commands::sync::SyncControl::default())
        .manage(commands::triage::HeldToken::default())
        .manage(commands::incident::IncidentState::default())
        .invoke_handler(tauri::generate_handler![
            commands::app::app_info,
            commands::app::open_demo,
            commands::app::leave_demo,
            commands::backends::list_backends,
            commands::backends::add_backend,
            commands::backends::check_backend,
            commands::backends::check_all,
            commands::backends::remove_backend,
            commands::overview::overview,
            commands::sync::sync_backends,
            commands::sync::cancel_sync,
            commands::credentials::list_credentials,
            commands::credentials::credential_detail,
            commands::credentials::preview_revocation,
            commands::credentials::revoke_credential,
            commands::triage::triage_token,
            commands::triage::revoke_triaged_token,
            commands::triage::forget_triaged_token,
            commands::journal::journal_entries,
            commands::journal::verify_journal,
            commands::access::access_explain,
            commands::access::access_who_can,
            commands::access::access_why,
            commands::access::access_neighbourhood,
            commands::access::access_matrix,
            commands::access::access_matrix_svg,
            commands::access::preview_target,
            commands::access::revoke_target,
            commands::reviews::review_run,
            commands::reviews::list_campaigns,
            commands::reviews::get_campaign,
            commands::reviews::create_campaign,
            commands::reviews::decide_campaign,
            commands::reviews::sign_off_campaign,
            commands::reviews::export_campaign,
            commands::incident::incident_plan,
            commands::incident::incident_execute,
            commands::incident::incident_cancel,
            commands::incident::incident_unfinished,
            commands::incident::incident_resume,
            commands::incident::incident_export,
            commands::audit::audit_search,
            commands::audit::audit_event,
            commands::audit::audit_timeline,
            commands::audit::audit_highlights,
            commands::audit::audit_export,
            commands::audit::audit_import,
        ])
}

/// Builds and runs the desktop app until its last window closes.
pub fn run() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();

    let result = with_commands(tauri::Builder::default())
        .setup(|app| {
            let workspace = open_workspace();
            match &workspace {
                Ok(ws) => {
                    tracing::info!(dir = %ws.dir().display(), "workspace open");
                    let ws = ws.clone();
                    tauri::async_runtime::spawn(async move { ws.prepare_journal_seal().await });
                }
                Err(e) => tracing::error!("{e}"),
            }
            app.manage(WorkspaceState::new(workspace.map_err(IpcError::from)));
            Ok(())
        })
        .run(tauri::generate_context!());
    if let Err(err) = result {
        tracing::error!("Portcullis stopped: {err}");
        eprintln!("Portcullis stopped: {err}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests;
