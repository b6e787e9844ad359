//! Token triage: a responder pastes a token and learns which backend knows it, then may revoke it.
//!
//! The value crosses IPC once, inbound: `triage_token` wraps it in a `SecretString` at once and
//! keeps it here (zeroised when dropped) so that "Revoke now" can name it by fingerprint instead
//! of sending it again. Only the latest token is held; the dialog's closing forgets it. It is never
//! returned, logged or stored.

use std::sync::Mutex;

use portcullis_model::{ErrorCode, IpcError, RevocationOutcome, TriageResult};
use secrecy::SecretString;
use tauri::State;

use super::Ws;

/// The token last brought to triage and its fingerprint, while the dialog is open.
#[derive(Default)]
pub struct HeldToken(Mutex<Option<(String, SecretString)>>);

fn poisoned() -> IpcError {
    IpcError::new(
        ErrorCode::Internal,
        "triage state is unusable after a crash; restart Portcullis",
    )
}

impl HeldToken {
    /// Holds `token` under the fingerprint a backend reported, replacing any earlier one; holds
    /// nothing when no backend recognised it (there is nothing to revoke).
    fn keep(&self, results: &[TriageResult], token: SecretString) -> Result<(), IpcError> {
        let fingerprint = results
            .iter()
            .find_map(|r| r.token.as_ref())
            .map(|t| t.fingerprint.clone());
        let mut slot = self.0.lock().map_err(|_| poisoned())?;
        *slot = fingerprint.map(|fp| (fp, token));
        Ok(())
    }

    fn get(&self, fingerprint: &str) -> Result<SecretString, IpcError> {
        let slot = self.0.lock().map_err(|_| poisoned())?;
        match slot.as_ref() {
            Some((fp, token)) if fp == fingerprint => Ok(token.clone()),
            _ => Err(IpcError::new(
                ErrorCode::NotFound,
                "that token is no longer held (Portcullis forgets it when the triage dialog \
                 closes or another token is looked up): paste it into triage again",
            )),
        }
    }

    pub fn forget(&self) -> Result<(), IpcError> {
        *self.0.lock().map_err(|_| poisoned())? = None;
        Ok(())
    }
}

/// Asks every backend that can look tokens up (or only `backend`) about `token`.
#[tauri::command]
pub async fn triage_token(
    ws: Ws<'_>,
    held: State<'_, HeldToken>,
    token: String,
    backend: Option<String>,
) -> Result<Vec<TriageResult>, IpcError> {
    let token = SecretString::from(token);
    let results = ws.get()?.triage_token(&token, backend.as_deref()).await?;
    held.keep(&results, token)?;
    Ok(results)
}

/// Revokes the held token on `backend`, then asks the backend to prove it dead.
#[tauri::command]
pub async fn revoke_triaged_token(
    ws: Ws<'_>,
    held: State<'_, HeldToken>,
    backend: String,
    fingerprint: String,
    reason: Option<String>,
) -> Result<RevocationOutcome, IpcError> {
    let token = held.get(&fingerprint)?;
    Ok(ws
        .get()?
        .revoke_token_because(&backend, &token, reason.as_deref())
        .await?)
}

#[tauri::command]
pub fn forget_triaged_token(held: State<'_, HeldToken>) -> Result<(), IpcError> {
    held.forget()
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_model::{BackendKind, CredentialKind, TokenInfo};
    use secrecy::ExposeSecret;

    fn result(fingerprint: Option<&str>) -> TriageResult {
        TriageResult {
            backend: "openbao".into(),
            backend_kind: BackendKind::Vault,
            token: fingerprint.map(|fp| TokenInfo {
                backend: "openbao".into(),
                fingerprint: fp.into(),
                active: true,
                kind: CredentialKind::Accessor,
                external_id: None,
                client: None,
                subject: None,
                scopes: vec![],
                audience: vec![],
                issued_at: None,
                expires_at: None,
                attrs: serde_json::Value::Null,
            }),
            error: None,
            seen: None,
        }
    }

    #[test]
    fn only_a_recognised_token_is_held_and_only_under_its_fingerprint() {
        let held = HeldToken::default();
        held.keep(
            &[result(None), result(Some("fp1"))],
            "tok-1".to_string().into(),
        )
        .unwrap();
        assert_eq!(held.get("fp1").unwrap().expose_secret(), "tok-1");
        assert_eq!(held.get("fp2").unwrap_err().code, ErrorCode::NotFound);
        // A token nobody recognised replaces the held one with nothing.
        held.keep(&[result(None)], "tok-2".to_string().into())
            .unwrap();
        assert!(held.get("fp1").is_err());
        held.keep(&[result(Some("fp3"))], "tok-3".to_string().into())
            .unwrap();
        held.forget().unwrap();
        let err = held.get("fp3").unwrap_err();
        assert!(!err.message.contains("tok-3"), "{err}");
    }
}
