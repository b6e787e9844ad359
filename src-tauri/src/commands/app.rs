//! The app itself: the About box (version, workspace, demo label) and the demo organisation,
//! which the app serves in place of the real workspace until it is left.

use std::sync::Arc;

use portcullis_engine::demo::{default_demo_dir, demo_info, DEFAULT_SEED};
use portcullis_engine::Workspace;
use portcullis_model::{AppInfo, DemoSize, IpcError, VERSION};

use super::Ws;

/// Answers even when the workspace could not be opened: the About box is where one looks then.
#[tauri::command]
pub async fn app_info(ws: Ws<'_>) -> Result<AppInfo, IpcError> {
    let workspace = match ws.get() {
        Ok(ws) => ws.dir().to_path_buf(),
        Err(_) => crate::workspace_dir()?,
    };
    Ok(AppInfo {
        version: VERSION.to_string(),
        demo: demo_info(&workspace),
        workspace: workspace.display().to_string(),
    })
}

/// "Explore a demo organisation": builds the demo workspace the first time (in a directory of its
/// own, see `default_demo_dir`), opens it again later, and serves it until `leave_demo`.
#[tauri::command]
pub async fn open_demo(ws: Ws<'_>) -> Result<AppInfo, IpcError> {
    let dir = default_demo_dir(DEFAULT_SEED, DemoSize::Small)?;
    let demo = if demo_info(&dir).is_some() {
        Workspace::open(&dir).await?
    } else {
        Workspace::create_demo(&dir, DEFAULT_SEED, DemoSize::Small)
            .await?
            .0
    };
    ws.enter_demo(Arc::new(demo));
    app_info(ws).await
}

/// Back to the workspace the demo replaced.
#[tauri::command]
pub async fn leave_demo(ws: Ws<'_>) -> Result<AppInfo, IpcError> {
    ws.leave_demo();
    app_info(ws).await
}
