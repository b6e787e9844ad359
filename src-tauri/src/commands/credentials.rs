//! Credentials page: the cached credentials, one credential's detail, and revoking it (preview
//! first, then revoke → verify).

use portcullis_model::{
    CredentialDetail, CredentialFilter, CredentialView, IpcError, RevocationOutcome,
    RevocationPlanItem, RevocationTarget,
};

use super::Ws;

#[tauri::command]
pub async fn list_credentials(
    ws: Ws<'_>,
    filter: CredentialFilter,
) -> Result<Vec<CredentialView>, IpcError> {
    Ok(ws.get()?.credentials(&filter).await?)
}

#[tauri::command]
pub async fn credential_detail(ws: Ws<'_>, id: i64) -> Result<CredentialDetail, IpcError> {
    Ok(ws.get()?.credential_detail(id).await?)
}

/// What revoking credential `id` will and will not do. Nothing is sent.
#[tauri::command]
pub async fn preview_revocation(ws: Ws<'_>, id: i64) -> Result<RevocationPlanItem, IpcError> {
    let target = RevocationTarget::Credential { id };
    Ok(ws.get()?.preview_revocation(&target).await?)
}

/// Revokes credential `id` (journalled before it is sent), then asks the backend to prove it dead.
#[tauri::command]
pub async fn revoke_credential(
    ws: Ws<'_>,
    id: i64,
    reason: Option<String>,
) -> Result<RevocationOutcome, IpcError> {
    Ok(ws
        .get()?
        .revoke_credential_because(id, reason.as_deref())
        .await?)
}
