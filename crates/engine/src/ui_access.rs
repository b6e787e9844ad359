//! What the Access map and Reviews pages need beyond the engine's access and review APIs: revoking
//! ONE named target (a grant edge from a path row, a finding's credential or grant) after the
//! person has seen its preview, with the same single-item outcome the Credentials page shows.
//!
//! It exists because `revoke_credential` / `revoke_login` name their target kind, and a grant row
//! of the access map needs the generic form; it goes through the same planner and journalled
//! executor (planned → sent → confirmed → verified/failed), never around them.

use portcullis_model::{
    ErrorCode, IpcError, ItemState, RevocationConfirmation, RevocationEvent, RevocationOptions,
    RevocationOutcome, RevocationTarget,
};
use tokio_util::sync::CancellationToken;

use crate::{EngineError, Result, Workspace};

fn no_events(_: RevocationEvent) {}

impl Workspace {
    /// Revokes one target the person already confirmed from its preview
    /// ([`Workspace::preview_revocation`]), then verifies. Refuses (`unsupported`) when the plan
    /// says nothing can be sent, naming why.
    pub async fn revoke_target(&self, target: &RevocationTarget) -> Result<RevocationOutcome> {
        let plan = self
            .plan_revocation(std::slice::from_ref(target), &[])
            .await?;
        if plan.ready == 0 {
            let reason = plan
                .items
                .first()
                .and_then(|i| i.blocked_reason.clone())
                .unwrap_or_else(|| "nothing to revoke".into());
            return Err(EngineError::Connector(
                portcullis_connectors::ConnectorError::Unsupported(reason),
            ));
        }
        let report = self
            .execute_revocation(
                &plan,
                RevocationConfirmation { count: plan.ready },
                &[],
                &RevocationOptions::default(),
                &CancellationToken::new(),
                &no_events,
            )
            .await?;
        let r =
            report.items.into_iter().next().ok_or_else(|| {
                EngineError::Internal("a run of one item reported nothing".into())
            })?;
        let error = match (&r.state, r.error) {
            (ItemState::Verified, _) => None,
            (_, Some(e)) => Some(e),
            (_, None) => Some(IpcError::new(
                ErrorCode::Unsupported,
                r.note.clone().unwrap_or_else(|| "not revoked".into()),
            )),
        };
        Ok(RevocationOutcome {
            backend: r.backend,
            target: r.target,
            journal_seq: r.journal_seq.unwrap_or(0),
            receipt: r.receipt,
            verification: r.verification,
            error,
        })
    }
}
