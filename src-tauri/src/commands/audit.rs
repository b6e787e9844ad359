//! Audit page: keyset pages of a search, one event's raw record, the timeline, highlights, export
//! of the current result, and import of an audit file.
//!
//! Audit event ids are time keys (~1.9e18), beyond the integers a JavaScript number holds exactly:
//! answers that carry them are sent as raw JSON bytes (an `ArrayBuffer` the UI decodes itself, so
//! no JS number ever holds an id), and an id coming in arrives as a string.

use portcullis_engine::CancellationToken;
use portcullis_model::{
    AuditFormat, AuditTimeline, ErrorCode, ExportFormat, ImportReport, IpcError, Progress,
    SavedView,
};
use serde::Serialize;
use tauri::ipc::{Channel, Response};

use super::Ws;

/// `value` as JSON bytes, delivered to the web view untouched by its number parser.
fn raw_json<T: Serialize>(value: &T) -> Result<Response, IpcError> {
    serde_json::to_vec(value)
        .map(Response::new)
        .map_err(|e| IpcError::new(ErrorCode::Internal, format!("encoding the answer: {e}")))
}

/// One page of events (an `AuditPage`, newest first) as raw JSON.
#[tauri::command]
pub async fn audit_search(
    ws: Ws<'_>,
    query: String,
    cursor: Option<String>,
    limit: u32,
) -> Result<Response, IpcError> {
    raw_json(
        &ws.get()?
            .audit_search(&query, cursor.as_deref(), limit)
            .await?,
    )
}

/// One event with its raw record and pivots (an `AuditEventDetail`) as raw JSON; `id` in decimal.
#[tauri::command]
pub async fn audit_event(ws: Ws<'_>, id: String) -> Result<Response, IpcError> {
    let id = id.parse::<i64>().map_err(|_| {
        IpcError::new(
            ErrorCode::InvalidInput,
            format!("`{id}` is not an audit event id"),
        )
    })?;
    raw_json(&ws.get()?.audit_event(id).await?)
}

#[tauri::command]
pub async fn audit_timeline(
    ws: Ws<'_>,
    query: String,
    max_buckets: u32,
) -> Result<AuditTimeline, IpcError> {
    Ok(ws.get()?.audit_timeline(&query, max_buckets).await?)
}

#[tauri::command]
pub async fn audit_highlights(ws: Ws<'_>) -> Result<Vec<SavedView>, IpcError> {
    Ok(ws.get()?.audit_highlights().await?)
}

/// Writes the search's events to `<workspace>/exports/`; returns (path, events written).
#[tauri::command]
pub async fn audit_export(
    ws: Ws<'_>,
    query: String,
    format: ExportFormat,
) -> Result<(String, u64), IpcError> {
    let (path, n) = ws.get()?.export_audit_to_workspace(&query, format).await?;
    Ok((path.display().to_string(), n))
}

/// Imports an audit file into a registered backend, streaming [`Progress`].
#[tauri::command]
pub async fn audit_import(
    ws: Ws<'_>,
    backend: String,
    format: AuditFormat,
    path: String,
    on_progress: Channel<Progress>,
) -> Result<ImportReport, IpcError> {
    let report = move |p: Progress| drop(on_progress.send(p));
    Ok(ws
        .get()?
        .import_audit(
            &backend,
            format,
            std::path::Path::new(&path),
            &report,
            &CancellationToken::new(),
        )
        .await?)
}
