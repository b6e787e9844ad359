//! Access map page: explain a principal, who-can, why, a node's neighbourhood, the matrix and its
//! heatmap, and revoking one grant edge from a path (preview first, then revoke → verify).

use portcullis_model::{
    ExplainQuery, Explanation, IpcError, MatrixPage, MatrixQuery, Neighbourhood,
    NeighbourhoodQuery, RevocationOutcome, RevocationPlanItem, RevocationTarget, WhoCanAnswer,
    WhoCanQuery, WhyAnswer,
};

use super::Ws;

#[tauri::command]
pub async fn access_explain(ws: Ws<'_>, q: ExplainQuery) -> Result<Explanation, IpcError> {
    Ok(ws.get()?.access_explain(&q).await?)
}

#[tauri::command]
pub async fn access_who_can(ws: Ws<'_>, q: WhoCanQuery) -> Result<WhoCanAnswer, IpcError> {
    Ok(ws.get()?.access_who_can(&q).await?)
}

#[tauri::command]
pub async fn access_why(
    ws: Ws<'_>,
    principal: String,
    permission: String,
) -> Result<WhyAnswer, IpcError> {
    Ok(ws.get()?.access_why(&principal, &permission).await?)
}

#[tauri::command]
pub async fn access_neighbourhood(
    ws: Ws<'_>,
    q: NeighbourhoodQuery,
) -> Result<Neighbourhood, IpcError> {
    Ok(ws.get()?.access_neighbourhood(&q).await?)
}

#[tauri::command]
pub async fn access_matrix(ws: Ws<'_>, q: MatrixQuery) -> Result<MatrixPage, IpcError> {
    Ok(ws.get()?.access_matrix(&q).await?)
}

/// The engine's plotters heatmap of the matrix under `q`.
#[tauri::command]
pub async fn access_matrix_svg(
    ws: Ws<'_>,
    q: MatrixQuery,
    width: u32,
    height: u32,
) -> Result<String, IpcError> {
    Ok(ws.get()?.access_matrix_svg(&q, width, height).await?)
}

/// What revoking `target` (a grant edge, a credential, a login) will and will not do. Nothing is sent.
#[tauri::command]
pub async fn preview_target(
    ws: Ws<'_>,
    target: RevocationTarget,
) -> Result<RevocationPlanItem, IpcError> {
    Ok(ws.get()?.preview_revocation(&target).await?)
}

/// Revokes `target` (journalled before it is sent), then asks the backend to prove it gone.
#[tauri::command]
pub async fn revoke_target(
    ws: Ws<'_>,
    target: RevocationTarget,
    reason: Option<String>,
) -> Result<RevocationOutcome, IpcError> {
    Ok(ws.get()?.revoke_target(&target, reason.as_deref()).await?)
}
