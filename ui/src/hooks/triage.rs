//! Token triage state: which backends to ask, what each answered, and the "Revoke now" runs.
//!
//! The token itself is not kept here: the dialog sends it once to the shell, which holds it for a
//! later revocation (named by fingerprint) and drops it when the dialog closes.

use std::collections::BTreeMap;
use std::rc::Rc;

use portcullis_model::{BackendInfo, IpcError, RevocationOutcome, TriageResult};
use yew::platform::spawn_local;
use yew::prelude::*;

use super::credentials::Revocation;
use super::Remote;
use crate::ipc;

/// Lets any page open the triage dialog, and tells pages when triage changed the cache (it
/// records recognised tokens, and a revocation marks them revoked) so they reload.
#[derive(Clone, PartialEq)]
pub struct TriageContext {
    pub open: Callback<()>,
    pub revision: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    Running,
    Done(Result<Vec<TriageResult>, IpcError>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct TriageState {
    pub backends: Remote<Vec<BackendInfo>>,
    /// None until a token is looked up.
    pub lookup: Option<Lookup>,
    /// "Revoke now" runs of the current token, by backend.
    pub revokes: BTreeMap<String, Revocation>,
}

impl Default for TriageState {
    fn default() -> Self {
        Self {
            backends: Remote::Loading,
            lookup: None,
            revokes: BTreeMap::new(),
        }
    }
}

impl TriageState {
    /// The backends that can look a token up, for the backend picker.
    pub fn lookup_backends(&self) -> Vec<&BackendInfo> {
        match &self.backends {
            Remote::Ready(list) => list
                .iter()
                .filter(|b| b.capabilities.token_lookup)
                .collect(),
            _ => Vec::new(),
        }
    }
}

// A reducer action lives for one dispatch: its size does not matter (the lint fires on 64-bit
// targets only, not on wasm32).
#[allow(clippy::large_enum_variant)]
pub enum Action {
    Backends(Result<Vec<BackendInfo>, IpcError>),
    LookupStarted,
    LookedUp(Result<Vec<TriageResult>, IpcError>),
    RevokeStarted(String),
    Revoked(String, Result<RevocationOutcome, IpcError>),
}

impl Reducible for TriageState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Action::Backends(r) => next.backends = Remote::from_result(r),
            Action::LookupStarted => {
                // A new token: the previous one's results and revocations no longer apply.
                next.lookup = Some(Lookup::Running);
                next.revokes.clear();
            }
            Action::LookedUp(r) => next.lookup = Some(Lookup::Done(r)),
            Action::RevokeStarted(backend) => {
                next.revokes.insert(backend, Revocation::Running);
            }
            Action::Revoked(backend, r) => {
                next.revokes.insert(backend, Revocation::Done(r));
            }
        }
        Rc::new(next)
    }
}

#[derive(Clone, PartialEq)]
pub struct TriageHandle {
    pub state: UseReducerHandle<TriageState>,
    /// Looks a token up: the value, and the one backend to ask (None: every one that can).
    pub submit: Callback<(String, Option<String>)>,
    /// Revokes the looked-up token on a backend: (backend, fingerprint).
    pub revoke: Callback<(String, String)>,
}

/// Triage for the dialog's lifetime; `on_changed` fires when the cache changed (a token was
/// recorded or revoked). Unmounting drops the token the shell holds.
#[hook]
pub fn use_triage(on_changed: Callback<()>) -> TriageHandle {
    let state = use_reducer(TriageState::default);
    let dispatch = state.dispatcher();
    {
        let dispatch = dispatch.clone();
        use_effect_with((), move |_| {
            spawn_local(
                async move { dispatch.dispatch(Action::Backends(ipc::list_backends().await)) },
            );
            || {
                // Nothing to do with the answer: the shell forgets, or there was nothing held.
                spawn_local(async {
                    let _ = ipc::forget_triaged_token().await;
                })
            }
        });
    }
    let submit = {
        let (dispatch, on_changed) = (dispatch.clone(), on_changed.clone());
        Callback::from(move |(token, backend): (String, Option<String>)| {
            let (dispatch, on_changed) = (dispatch.clone(), on_changed.clone());
            dispatch.dispatch(Action::LookupStarted);
            spawn_local(async move {
                let r = ipc::triage_token(&token, backend.as_deref()).await;
                // The value is not needed past the call: drop it now rather than with the future.
                drop(token);
                let recognised = matches!(&r, Ok(list) if list.iter().any(|t| t.token.is_some()));
                dispatch.dispatch(Action::LookedUp(r));
                if recognised {
                    on_changed.emit(());
                }
            });
        })
    };
    let revoke = {
        let dispatch = dispatch.clone();
        Callback::from(move |(backend, fingerprint): (String, String)| {
            let (dispatch, on_changed) = (dispatch.clone(), on_changed.clone());
            dispatch.dispatch(Action::RevokeStarted(backend.clone()));
            spawn_local(async move {
                let r = ipc::revoke_triaged_token(&backend, &fingerprint).await;
                dispatch.dispatch(Action::Revoked(backend, r));
                on_changed.emit(());
            });
        })
    };
    TriageHandle {
        state,
        submit,
        revoke,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_model::{BackendKind, ErrorCode};

    #[test]
    fn a_new_lookup_forgets_the_previous_tokens_revocations() {
        let s = Rc::new(TriageState::default())
            .reduce(Action::LookupStarted)
            .reduce(Action::LookedUp(Ok(vec![TriageResult {
                backend: "openbao".into(),
                backend_kind: BackendKind::Vault,
                token: None,
                error: None,
                seen: None,
            }])))
            .reduce(Action::RevokeStarted("openbao".into()))
            .reduce(Action::Revoked(
                "openbao".into(),
                Err(IpcError::new(ErrorCode::NotFound, "paste it again")),
            ));
        assert_eq!(s.revokes.len(), 1);
        let s = s.reduce(Action::LookupStarted);
        assert!(s.revokes.is_empty());
        assert_eq!(s.lookup, Some(Lookup::Running));
    }
}
