//! Overview page: the morning glance over the cache.

use portcullis_model::{IpcError, Overview};

use super::Ws;

#[tauri::command]
pub async fn overview(ws: Ws<'_>) -> Result<Overview, IpcError> {
    Ok(ws.get()?.overview().await?)
}
