//! Reviews page: a findings run over a window, and the campaign workflow (create, decide, sign
//! off, export evidence). Revoking from a finding goes through `access::preview_target` /
//! `access::revoke_target`.

use portcullis_model::{
    Campaign, CampaignSummary, DecisionInput, EvidenceExport, FindingsRun, IpcError, NewCampaign,
    ReviewRequest,
};

use super::Ws;

#[tauri::command]
pub async fn review_run(ws: Ws<'_>, req: ReviewRequest) -> Result<FindingsRun, IpcError> {
    Ok(ws.get()?.review_run(&req).await?)
}

#[tauri::command]
pub async fn list_campaigns(ws: Ws<'_>) -> Result<Vec<CampaignSummary>, IpcError> {
    Ok(ws.get()?.campaigns().await?)
}

#[tauri::command]
pub async fn get_campaign(ws: Ws<'_>, id: i64) -> Result<Campaign, IpcError> {
    Ok(ws.get()?.campaign(id).await?)
}

#[tauri::command]
pub async fn create_campaign(ws: Ws<'_>, new: NewCampaign) -> Result<CampaignSummary, IpcError> {
    Ok(ws.get()?.campaign_create(&new).await?)
}

/// Records one or many decisions (each journalled before it is stored).
#[tauri::command]
pub async fn decide_campaign(
    ws: Ws<'_>,
    id: i64,
    reviewer: String,
    decisions: Vec<DecisionInput>,
) -> Result<CampaignSummary, IpcError> {
    Ok(ws.get()?.campaign_decide(id, &reviewer, &decisions).await?)
}

#[tauri::command]
pub async fn sign_off_campaign(
    ws: Ws<'_>,
    id: i64,
    reviewer: String,
) -> Result<CampaignSummary, IpcError> {
    Ok(ws.get()?.campaign_sign_off(id, &reviewer).await?)
}

/// Writes the campaign's evidence under the workspace and says where, with the manifest's digest.
#[tauri::command]
pub async fn export_campaign(ws: Ws<'_>, id: i64) -> Result<EvidenceExport, IpcError> {
    Ok(ws.get()?.export_campaign_evidence(id).await?)
}
