//! Incident page: dry run of a selection, confirmed execution with per-item progress, resume of an
//! interrupted run, and export of the final report.

use portcullis_engine::CancellationToken;
use portcullis_model::{
    IpcError, RevocationConfirmation, RevocationEvent, RevocationOptions, RevocationPlan,
    RevocationReport, UnfinishedAction,
};
use tauri::ipc::Channel;

use super::Ws;

/// The dry run of a selection in text form (`principal=alice backend=openbao since=2h`).
#[tauri::command]
pub async fn incident_plan(ws: Ws<'_>, selection: String) -> Result<RevocationPlan, IpcError> {
    Ok(ws.get()?.plan_incident_text(&selection).await?)
}

/// Sends the plan's ready items once `count` names how many they are; one event per item change.
#[tauri::command]
pub async fn incident_execute(
    ws: Ws<'_>,
    plan: RevocationPlan,
    count: u32,
    on_event: Channel<RevocationEvent>,
) -> Result<RevocationReport, IpcError> {
    let send = move |e: RevocationEvent| drop(on_event.send(e));
    let (opts, cancel) = (RevocationOptions::default(), CancellationToken::new());
    Ok(ws
        .get()?
        .execute_revocation(
            &plan,
            RevocationConfirmation { count },
            &[],
            &opts,
            &cancel,
            &send,
        )
        .await?)
}

/// Actions an interrupted run left without a final state.
#[tauri::command]
pub async fn incident_unfinished(ws: Ws<'_>) -> Result<Vec<UnfinishedAction>, IpcError> {
    Ok(ws.get()?.unfinished_revocations().await?)
}

/// Finishes what an interrupted run left open (verify first, resend only what is still alive).
#[tauri::command]
pub async fn incident_resume(
    ws: Ws<'_>,
    on_event: Channel<RevocationEvent>,
) -> Result<RevocationReport, IpcError> {
    let send = move |e: RevocationEvent| drop(on_event.send(e));
    let (opts, cancel) = (RevocationOptions::default(), CancellationToken::new());
    Ok(ws
        .get()?
        .resume_revocations(&[], &opts, &cancel, &send)
        .await?)
}

/// Writes the report to `<workspace>/incidents/…json` (with the journal head); returns the path.
#[tauri::command]
pub async fn incident_export(ws: Ws<'_>, report: RevocationReport) -> Result<String, IpcError> {
    let path = ws.get()?.export_incident_report(&report).await?;
    Ok(path.display().to_string())
}
