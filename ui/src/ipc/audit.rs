//! The audit browser: keyset pages of a search, one event, the timeline, highlights, export and
//! import of audit files.
//!
//! Event ids are time keys beyond 2^53: answers carrying them come from the shell as raw JSON
//! bytes and are decoded here with serde_json, so no JavaScript number ever rounds an id; an id
//! sent back travels as a decimal string.

use portcullis_model::{
    AuditEventDetail, AuditFormat, AuditPage, AuditTimeline, ErrorCode, ExportFormat, ImportReport,
    IpcError, Progress, SavedView,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::JsValue;

use super::{args, bridge, invoke, rejection, with_progress};

/// Calls a command that answers with raw JSON bytes (an `ArrayBuffer`) and decodes them exactly.
async fn invoke_raw<T: DeserializeOwned>(cmd: &str, args: JsValue) -> Result<T, IpcError> {
    let value = bridge::invoke(cmd, args).await.map_err(rejection)?;
    let bytes = js_sys::Uint8Array::new(&value).to_vec();
    serde_json::from_slice(&bytes).map_err(|e| {
        IpcError::new(
            ErrorCode::Internal,
            format!("the answer to `{cmd}` could not be read: {e}"),
        )
    })
}

#[derive(Serialize)]
struct SearchArgs<'a> {
    query: &'a str,
    cursor: Option<&'a str>,
    limit: u32,
}

#[derive(Serialize)]
struct IdArg {
    id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TimelineArgs<'a> {
    query: &'a str,
    max_buckets: u32,
}

#[derive(Serialize)]
struct ExportArgs<'a> {
    query: &'a str,
    format: ExportFormat,
}

#[derive(Serialize)]
struct ImportArgs<'a> {
    backend: &'a str,
    format: AuditFormat,
    path: &'a str,
}

/// One page of events matching `query`, newest first; `cursor` from the previous page.
pub async fn audit_search(
    query: &str,
    cursor: Option<&str>,
    limit: u32,
) -> Result<AuditPage, IpcError> {
    invoke_raw(
        "audit_search",
        args(&SearchArgs {
            query,
            cursor,
            limit,
        })?,
    )
    .await
}

pub async fn audit_event(id: i64) -> Result<AuditEventDetail, IpcError> {
    invoke_raw("audit_event", args(&IdArg { id: id.to_string() })?).await
}

pub async fn audit_timeline(query: &str, max_buckets: u32) -> Result<AuditTimeline, IpcError> {
    invoke(
        "audit_timeline",
        args(&TimelineArgs { query, max_buckets })?,
    )
    .await
}

pub async fn audit_highlights() -> Result<Vec<SavedView>, IpcError> {
    invoke("audit_highlights", JsValue::UNDEFINED).await
}

/// Writes the search's events into the workspace's `exports/` folder: (path, events written).
pub async fn audit_export(query: &str, format: ExportFormat) -> Result<(String, u64), IpcError> {
    invoke("audit_export", args(&ExportArgs { query, format })?).await
}

/// Imports an audit file into a registered backend, streaming progress.
pub async fn audit_import(
    backend: &str,
    format: AuditFormat,
    path: &str,
    on_progress: impl Fn(Result<Progress, IpcError>) + 'static,
) -> Result<ImportReport, IpcError> {
    let args = with_progress(
        args(&ImportArgs {
            backend,
            format,
            path,
        })?,
        on_progress,
    )?;
    invoke("audit_import", args).await
}
