//! Credentials, their revocation, and token triage.
//!
//! A pasted token crosses IPC once, inbound, in [`triage_token`]: the shell keeps it (as a
//! `SecretString`) for a later "Revoke now", which names it by its fingerprint only.

use portcullis_model::{
    CredentialDetail, CredentialFilter, CredentialView, ErrorCode, IpcError, RevocationOutcome,
    RevocationPlanItem, TriageResult,
};
use serde::Serialize;
use wasm_bindgen::JsValue;

use super::{args, invoke};

#[derive(Serialize)]
struct FilterArg<'a> {
    filter: &'a CredentialFilter,
}

#[derive(Serialize)]
struct IdArg {
    id: i64,
}

pub async fn list_credentials(filter: &CredentialFilter) -> Result<Vec<CredentialView>, IpcError> {
    invoke("list_credentials", args(&FilterArg { filter })?).await
}

pub async fn credential_detail(id: i64) -> Result<CredentialDetail, IpcError> {
    let mut detail: serde_json::Value = invoke("credential_detail", args(&IdArg { id })?).await?;
    // Audit event ids are time keys (epoch ms << 20), beyond the 2^53 integers a JavaScript
    // number holds exactly: the web view has already rounded them, so they no longer decode as
    // i64. The panel never uses them (events are linked through the credential), so they are
    // zeroed here rather than failing the whole panel.
    if let Some(events) = detail
        .get_mut("recent_events")
        .and_then(|e| e.as_array_mut())
    {
        for event in events {
            if let Some(id) = event.get_mut("id").filter(|i| !i.is_i64()) {
                *id = serde_json::Value::from(0);
            }
        }
    }
    serde_json::from_value(detail).map_err(|e| {
        IpcError::new(
            ErrorCode::Internal,
            format!("the answer to `credential_detail` could not be read: {e}"),
        )
    })
}

/// What revoking credential `id` will and will not do; nothing is sent.
pub async fn preview_revocation(id: i64) -> Result<RevocationPlanItem, IpcError> {
    invoke("preview_revocation", args(&IdArg { id })?).await
}

/// Revokes credential `id`, then asks the backend to prove it dead.
#[derive(Serialize)]
struct RevokeArgs<'a> {
    id: i64,
    reason: Option<&'a str>,
}

/// Revokes credential `id`; `reason` (a reason or ticket) is recorded in the journal.
pub async fn revoke_credential(
    id: i64,
    reason: Option<&str>,
) -> Result<RevocationOutcome, IpcError> {
    invoke("revoke_credential", args(&RevokeArgs { id, reason })?).await
}

#[derive(Serialize)]
struct TriageArgs<'a> {
    token: &'a str,
    backend: Option<&'a str>,
}

/// Asks the backends about a token. The value goes in and never comes back.
pub async fn triage_token(
    token: &str,
    backend: Option<&str>,
) -> Result<Vec<TriageResult>, IpcError> {
    invoke("triage_token", args(&TriageArgs { token, backend })?).await
}

#[derive(Serialize)]
struct RevokeTriagedArgs<'a> {
    backend: &'a str,
    fingerprint: &'a str,
}

/// Revokes the token last brought to triage (named by its fingerprint) on `backend`.
pub async fn revoke_triaged_token(
    backend: &str,
    fingerprint: &str,
) -> Result<RevocationOutcome, IpcError> {
    let a = args(&RevokeTriagedArgs {
        backend,
        fingerprint,
    })?;
    invoke("revoke_triaged_token", a).await
}

/// Drops the token the shell holds for triage (the dialog closed).
pub async fn forget_triaged_token() -> Result<(), IpcError> {
    invoke("forget_triaged_token", JsValue::UNDEFINED).await
}
