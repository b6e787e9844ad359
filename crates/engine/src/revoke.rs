//! Revocation of one target, journalled before it is sent: `planned` (durable) → `sent` →
//! `confirmed` (the backend's receipt) → `verified` or `failed` (the backend's own proof). The
//! journal never holds a token value, only descriptions and fingerprints.

use portcullis_connectors::RevokeTarget;
use portcullis_model::{
    CredentialKind, CredentialStatus, IpcError, JournalState, RevocationOutcome,
};
use portcullis_store::{BackendRow, NewJournalEntry};
use secrecy::SecretString;
use serde_json::json;

use crate::{Result, Workspace};

/// Who is acting, for the journal: the OS user, since the console has no accounts of its own.
pub fn current_actor() -> String {
    std::env::var("PORTCULLIS_ACTOR")
        .or_else(|_| std::env::var("USER"))
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

impl Workspace {
    /// Revokes a cached credential by its row id, then verifies.
    pub async fn revoke_credential(&self, id: i64) -> Result<RevocationOutcome> {
        let view = self.store.credential_by_id(id).await?;
        let row = self.store.backend_by_name(&view.backend).await?;
        let target = RevokeTarget::Credential {
            kind: view.kind,
            external_id: view.external_id.clone(),
        };
        let outcome = self.revoke_target(&row, &target).await?;
        if outcome.verification.as_ref().is_some_and(|v| v.dead) {
            self.store
                .set_credential_status(row.id, &view.external_id, CredentialStatus::Revoked)
                .await?;
        }
        Ok(outcome)
    }

    /// Revokes a token value the reviewer holds (triage) on one backend, then verifies.
    pub async fn revoke_token(
        &self,
        backend: &str,
        token: &SecretString,
    ) -> Result<RevocationOutcome> {
        use secrecy::ExposeSecret;
        let row = self.store.backend_by_name(backend).await?;
        let fingerprint = portcullis_connectors::fingerprint(token.expose_secret());
        let outcome = self
            .revoke_target(
                &row,
                &RevokeTarget::Token {
                    value: token.clone(),
                },
            )
            .await?;
        if outcome.verification.as_ref().is_some_and(|v| v.dead) {
            self.store
                .set_credential_status(row.id, &fingerprint, CredentialStatus::Revoked)
                .await?;
            if let Some(acc) = outcome
                .receipt
                .as_ref()
                .and_then(|r| r.detail.get("accessor"))
                .and_then(|a| a.as_str())
            {
                self.store
                    .set_credential_status(row.id, acc, CredentialStatus::Revoked)
                    .await?;
            }
        }
        Ok(outcome)
    }

    /// Revokes a login right (PostgreSQL NOLOGIN, Keycloak logout of all sessions).
    pub async fn revoke_login(&self, backend: &str, principal: &str) -> Result<RevocationOutcome> {
        let row = self.store.backend_by_name(backend).await?;
        self.revoke_target(
            &row,
            &RevokeTarget::Login {
                principal: principal.to_string(),
            },
        )
        .await
    }

    pub(crate) async fn revoke_target(
        &self,
        row: &BackendRow,
        target: &RevokeTarget,
    ) -> Result<RevocationOutcome> {
        let actor = current_actor();
        let description = format!("{} {}", row.name, target.describe());
        let planned = self
            .store
            .journal_append(NewJournalEntry {
                actor: &actor,
                action: "revoke",
                target: &description,
                state: JournalState::Planned,
                action_seq: None,
                detail: json!({ "backend": row.name, "kind": row.kind, "target": target.describe() }),
            })
            .await?;
        let step = |state: JournalState, detail: serde_json::Value| {
            let actor = actor.clone();
            let description = description.clone();
            async move {
                self.store
                    .journal_append(NewJournalEntry {
                        actor: &actor,
                        action: "revoke",
                        target: &description,
                        state,
                        action_seq: Some(planned.seq),
                        detail,
                    })
                    .await
            }
        };
        let mut outcome = RevocationOutcome {
            backend: row.name.clone(),
            target: target.describe(),
            journal_seq: planned.seq,
            receipt: None,
            verification: None,
            error: None,
        };
        let connector = match self.connector(row).await {
            Ok(c) => c,
            Err(e) => {
                let err = IpcError::from(e);
                step(JournalState::Failed, json!({ "error": err })).await?;
                outcome.error = Some(err);
                return Ok(outcome);
            }
        };
        step(JournalState::Sent, json!({})).await?;
        match connector.revoke(target).await {
            Ok(receipt) => {
                step(
                    JournalState::Confirmed,
                    json!({ "action": receipt.action, "caveats": receipt.caveats }),
                )
                .await?;
                outcome.receipt = Some(receipt);
            }
            Err(e) => {
                let err = IpcError::from(e);
                step(JournalState::Failed, json!({ "error": err })).await?;
                outcome.error = Some(err);
                return Ok(outcome);
            }
        }
        match connector.verify_revoked(target).await {
            Ok(v) if v.dead => {
                step(JournalState::Verified, json!({ "evidence": v.evidence })).await?;
                outcome.verification = Some(v);
            }
            Ok(v) => {
                step(
                    JournalState::Failed,
                    json!({ "evidence": v.evidence, "error": "the backend still accepts it" }),
                )
                .await?;
                outcome.error = Some(IpcError::new(
                    portcullis_model::ErrorCode::BackendError,
                    format!(
                        "{} confirmed the revocation but still accepts the credential: {}",
                        row.name, v.evidence
                    ),
                ));
                outcome.verification = Some(v);
            }
            Err(e) => {
                let err = IpcError::from(e);
                step(JournalState::Failed, json!({ "error": err, "note": "revocation sent and confirmed; verification failed" })).await?;
                outcome.error = Some(err);
            }
        }
        Ok(outcome)
    }

    pub async fn journal(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<portcullis_model::JournalEntry>> {
        Ok(self.store.journal_entries(after_seq, limit).await?)
    }

    pub async fn journal_verify(&self) -> Result<portcullis_model::JournalVerification> {
        Ok(self.store.journal_verify().await?)
    }
}

/// Whether a credential kind can be revoked by id alone (without its value).
pub fn revocable_by_id(kind: CredentialKind) -> bool {
    !matches!(
        kind,
        CredentialKind::AccessToken | CredentialKind::RefreshToken
    )
}
