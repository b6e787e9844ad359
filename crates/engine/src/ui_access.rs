//! What the Access map and Reviews pages need beyond the engine's access and review APIs: revoking
//! ONE named target (a grant edge from a path row, a finding's credential or grant) after the
//! person has seen its preview, with the same single-item outcome the Credentials page shows.
//!
//! It exists because `revoke_credential` / `revoke_login` name their target kind, and a grant row
//! of the access map needs the generic form; it goes through the same planner and journalled
//! executor (planned → sent → confirmed → verified/failed), never around them.

use portcullis_model::{RevocationOutcome, RevocationTarget};

use crate::{Result, Workspace};

impl Workspace {
    /// Revokes one target the person already confirmed from its preview
    /// ([`Workspace::preview_revocation`]), then verifies. Refuses (`unsupported`) when the plan
    /// says nothing can be sent, naming why. The same path as the per-kind one-click revocations.
    pub async fn revoke_target(
        &self,
        target: &RevocationTarget,
        reason: Option<&str>,
    ) -> Result<RevocationOutcome> {
        self.revoke_one(target, reason).await
    }
}
