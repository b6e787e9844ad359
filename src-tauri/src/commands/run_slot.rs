//! One long run at a time (a sync, an incident's revocation): the slot holds the running run's
//! cancellation token, and the guard that [`RunSlot::begin`] returns frees it when dropped. A run
//! that returns early with `?`, fails, panics or whose future is dropped therefore never leaves
//! "already running" behind until a restart, which during an incident would block the next
//! revocation.

use std::sync::{Mutex, MutexGuard, PoisonError};

use portcullis_engine::CancellationToken;
use portcullis_model::{ErrorCode, IpcError};

#[derive(Default)]
pub struct RunSlot(Mutex<Option<CancellationToken>>);

/// The running run's hold on its slot; frees the slot when dropped.
pub struct RunGuard<'a> {
    slot: &'a RunSlot,
    token: CancellationToken,
}

impl RunSlot {
    /// Takes the slot, or says what is running (`busy`) with a `conflict`.
    pub fn begin(&self, busy: &str) -> Result<RunGuard<'_>, IpcError> {
        let mut slot = self.lock();
        if slot.is_some() {
            return Err(IpcError::new(ErrorCode::Conflict, busy));
        }
        let token = CancellationToken::new();
        *slot = Some(token.clone());
        Ok(RunGuard { slot: self, token })
    }

    /// Asks the running run (if any) to stop; returns whether one ran.
    pub fn cancel(&self) -> bool {
        self.lock()
            .as_ref()
            .map(CancellationToken::cancel)
            .is_some()
    }

    /// The slot holds only a token, which a panic cannot leave half-written, so a poisoned lock
    /// is taken as it is rather than turned into "restart Portcullis".
    fn lock(&self) -> MutexGuard<'_, Option<CancellationToken>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl RunGuard<'_> {
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }
}

impl Drop for RunGuard<'_> {
    fn drop(&mut self) {
        *self.slot.lock() = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_run_at_a_time_and_the_slot_is_freed_on_every_exit() {
        let slot = RunSlot::default();
        let run = slot.begin("busy").unwrap();
        assert_eq!(slot.begin("busy").err().unwrap().code, ErrorCode::Conflict);
        assert!(slot.cancel());
        assert!(run.token().is_cancelled());
        drop(run);
        assert!(!slot.cancel(), "nothing runs after the guard is dropped");

        let early_return = || -> Result<(), IpcError> {
            let _run = slot.begin("busy")?;
            Err(IpcError::new(ErrorCode::Storage, "failed half-way"))
        };
        assert!(early_return().is_err());
        assert!(slot.begin("busy").is_ok(), "an early return freed the slot");

        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _run = slot.begin("busy").unwrap();
            panic!("a bug inside the run");
        }));
        assert!(panicked.is_err());
        assert!(slot.begin("busy").is_ok(), "a panic freed the slot");
    }
}
