//! Incident page: dry run of a selection, confirmed execution with per-item progress and cancel,
//! resume of an interrupted run, and export of the final report.
//!
//! Token values a responder pastes (for backends that revoke a token only by its value, e.g.
//! OAuth 2.0 per RFC 7009) cross IPC once, inbound, with the dry run. They are wrapped in
//! `SecretString` at once and held here, in memory, for that incident only: the execution and a
//! resume use them without the page sending them again, and they are forgotten when a run ends or
//! the next dry run replaces them. They are never returned, logged or stored.

use std::sync::{Mutex, MutexGuard, PoisonError};

use portcullis_model::{
    IpcError, RevocationConfirmation, RevocationEvent, RevocationOptions, RevocationPlan,
    RevocationReport, UnfinishedAction,
};
use secrecy::SecretString;
use tauri::ipc::Channel;
use tauri::State;

use super::run_slot::{RunGuard, RunSlot};
use super::Ws;

/// What the Incident page's run holds between its dry run and its end.
#[derive(Default)]
pub struct IncidentState {
    tokens: Mutex<Vec<SecretString>>,
    running: RunSlot,
}

/// A running revocation: frees the slot and forgets the pasted token values when dropped, however
/// the run ends.
struct IncidentRun<'a> {
    run: RunGuard<'a>,
    state: &'a IncidentState,
}

impl Drop for IncidentRun<'_> {
    fn drop(&mut self) {
        self.state.tokens().clear();
    }
}

impl IncidentState {
    /// Token values are replaced whole, never left half-written, so a poisoned lock is usable.
    fn tokens(&self) -> MutexGuard<'_, Vec<SecretString>> {
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn hold(&self, tokens: Vec<SecretString>) {
        *self.tokens() = tokens;
    }

    fn held(&self) -> Vec<SecretString> {
        self.tokens().clone()
    }

    /// Starts a run: one at a time per window.
    fn begin(&self) -> Result<IncidentRun<'_>, IpcError> {
        let run = self
            .running
            .begin("a revocation is already running; wait for it or cancel it first")?;
        Ok(IncidentRun { run, state: self })
    }
}

/// Splits pasted text into token values: one per line, blank lines ignored.
fn token_values(pasted: Option<String>) -> Vec<SecretString> {
    pasted
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| SecretString::from(l.to_string()))
        .collect()
}

/// The dry run of a selection in text form (`principal=alice backend=openbao since=2h`).
/// `tokens`: pasted token values, one per line, held for this incident (see the module docs).
#[tauri::command]
pub async fn incident_plan(
    ws: Ws<'_>,
    state: State<'_, IncidentState>,
    selection: String,
    tokens: Option<String>,
) -> Result<RevocationPlan, IpcError> {
    state.hold(token_values(tokens));
    let held = state.held();
    Ok(ws.get()?.plan_incident_text(&selection, &held).await?)
}

/// Sends the plan's ready items once `count` names how many they are; one event per item change.
#[tauri::command]
pub async fn incident_execute(
    ws: Ws<'_>,
    state: State<'_, IncidentState>,
    plan: RevocationPlan,
    count: u32,
    reason: Option<String>,
    on_event: Channel<RevocationEvent>,
) -> Result<RevocationReport, IpcError> {
    let ws = ws.get()?;
    let run = state.begin()?;
    let tokens = state.held();
    let send = move |e: RevocationEvent| drop(on_event.send(e));
    let report = ws
        .execute_revocation(
            &plan,
            RevocationConfirmation::new(count).because(reason.as_deref()),
            &tokens,
            &RevocationOptions::default(),
            run.run.token(),
            &send,
        )
        .await?;
    Ok(report)
}

/// Stops the running revocation: nothing more is sent; items in flight finish and are proved,
/// the rest end as "not sent: cancelled" in the journal. Returns whether a run was going.
#[tauri::command]
pub fn incident_cancel(state: State<'_, IncidentState>) -> Result<bool, IpcError> {
    Ok(state.running.cancel())
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
    state: State<'_, IncidentState>,
    on_event: Channel<RevocationEvent>,
) -> Result<RevocationReport, IpcError> {
    let ws = ws.get()?;
    let run = state.begin()?;
    let tokens = state.held();
    let send = move |e: RevocationEvent| drop(on_event.send(e));
    let report = ws
        .resume_revocations(
            &tokens,
            &RevocationOptions::default(),
            run.run.token(),
            &send,
        )
        .await?;
    Ok(report)
}

/// Writes the report to `<workspace>/incidents/…json` (with the journal head); returns the path.
#[tauri::command]
pub async fn incident_export(ws: Ws<'_>, report: RevocationReport) -> Result<String, IpcError> {
    let path = ws.get()?.export_incident_report(&report).await?;
    Ok(path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn pasted_tokens_are_one_per_line_and_a_run_forgets_them() {
        let t = token_values(Some("  abc \n\n def\r\n".into()));
        let v: Vec<&str> = t.iter().map(|s| s.expose_secret()).collect();
        assert_eq!(v, ["abc", "def"]);
        assert!(token_values(None).is_empty());

        let state = IncidentState::default();
        state.hold(t);
        assert_eq!(state.held().len(), 2);
        let run = state.begin().unwrap();
        assert_eq!(
            state.begin().err().unwrap().code,
            portcullis_model::ErrorCode::Conflict,
            "one run at a time"
        );
        assert!(!run.run.token().is_cancelled());
        assert!(state.running.cancel());
        assert!(run.run.token().is_cancelled());
        drop(run);
        assert!(state.held().is_empty());
        assert!(state.begin().is_ok());
    }

    #[test]
    fn a_run_that_fails_half_way_frees_the_slot_and_forgets_the_tokens() {
        let state = IncidentState::default();
        state.hold(token_values(Some("secret-token".into())));
        let failing = || -> Result<(), IpcError> {
            let _run = state.begin()?;
            Err(IpcError::new(
                portcullis_model::ErrorCode::Storage,
                "database is locked",
            ))
        };
        assert!(failing().is_err());
        assert!(state.held().is_empty(), "the pasted token outlived its run");
        assert!(state.begin().is_ok(), "the failed run left the slot taken");
    }
}
