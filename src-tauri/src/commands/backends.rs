//! Backends page: register, list, check and remove the systems Portcullis reads.

use portcullis_model::{BackendInfo, CheckReport, IpcError, NewBackend, Progress};
use tauri::ipc::Channel;

use super::Ws;

#[tauri::command]
pub async fn list_backends(ws: Ws<'_>) -> Result<Vec<BackendInfo>, IpcError> {
    Ok(ws.get()?.list_backends().await?)
}

/// The request may carry a keychain secret: it goes straight to the engine and is never echoed.
#[tauri::command]
pub async fn add_backend(ws: Ws<'_>, req: NewBackend) -> Result<BackendInfo, IpcError> {
    Ok(ws.get()?.add_backend(req).await?)
}

#[tauri::command]
pub async fn check_backend(ws: Ws<'_>, name: String) -> Result<CheckReport, IpcError> {
    Ok(ws.get()?.check_backend(&name).await?)
}

/// Checks every backend, streaming [`Progress`] to the caller's channel as each one finishes.
#[tauri::command]
pub async fn check_all(
    ws: Ws<'_>,
    on_progress: Channel<Progress>,
) -> Result<Vec<CheckReport>, IpcError> {
    let report = move |p: Progress| {
        // A closed channel (page left) must not stop the checks.
        let _ = on_progress.send(p);
    };
    Ok(ws.get()?.check_all(&report).await?)
}

#[tauri::command]
pub async fn remove_backend(ws: Ws<'_>, name: String) -> Result<(), IpcError> {
    Ok(ws.get()?.remove_backend(&name).await?)
}
