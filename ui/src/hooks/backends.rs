//! Backends page state: the list, the result of each backend's last check in this session, and the
//! progress of "Check all". A reducer, so concurrent checks never overwrite each other's results,
//! and so the transitions are testable without a browser.

use std::collections::BTreeMap;
use std::rc::Rc;

use portcullis_model::{BackendInfo, CheckReport, IpcError, NewBackend, Progress, SyncReport};
use yew::platform::spawn_local;
use yew::prelude::*;

use super::Remote;
use crate::ipc;

/// The state of one backend's check, as started from this page.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckState {
    Running,
    Done(CheckReport),
    /// The check could not run at all (the report itself carries backend-side failures).
    Failed(IpcError),
}

/// Long work started from this page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BulkKind {
    #[default]
    Check,
    Sync,
}

/// "Check all" or a sync, as the progress channel reports it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BulkProgress {
    pub kind: BulkKind,
    pub running: bool,
    /// A cancellation was asked for and not yet honoured.
    pub cancelling: bool,
    pub done: u64,
    pub total: Option<u64>,
    pub message: String,
    pub ok: Option<bool>,
    /// Succeeded, but something is missing (a synced backend whose audit trail was not read).
    pub partial: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BackendsState {
    pub list: Remote<Vec<BackendInfo>>,
    pub checks: BTreeMap<String, CheckState>,
    pub bulk: Option<BulkProgress>,
}

impl Default for BackendsState {
    fn default() -> Self {
        Self {
            list: Remote::Loading,
            checks: BTreeMap::new(),
            bulk: None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Action {
    Listed(Result<Vec<BackendInfo>, IpcError>),
    CheckStarted(String),
    Checked(String, Result<CheckReport, IpcError>),
    BulkStarted(BulkKind),
    BulkProgress(Progress),
    BulkFinished(Result<Vec<CheckReport>, IpcError>),
    SyncFinished(Result<Vec<SyncReport>, IpcError>),
    CancelRequested,
    Removed(String),
}

impl Reducible for BackendsState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Action::Listed(Ok(list)) => next.list = Remote::Ready(list),
            // Keep showing the last good list when a refresh fails; the error shows in a banner.
            Action::Listed(Err(e)) => next.list = Remote::Failed(e),
            Action::CheckStarted(name) => {
                next.checks.insert(name, CheckState::Running);
            }
            Action::Checked(name, result) => {
                let state = match result {
                    Ok(report) => CheckState::Done(report),
                    Err(e) => CheckState::Failed(e),
                };
                next.checks.insert(name, state);
            }
            Action::BulkStarted(kind) => {
                next.bulk = Some(BulkProgress {
                    kind,
                    running: true,
                    message: match kind {
                        BulkKind::Check => "Starting checks…".into(),
                        BulkKind::Sync => "Starting sync…".into(),
                    },
                    ..BulkProgress::default()
                });
            }
            Action::CancelRequested => {
                if let Some(bulk) = next.bulk.as_mut().filter(|b| b.running) {
                    bulk.cancelling = true;
                    bulk.message = "Cancelling after the current batch…".into();
                }
            }
            Action::SyncFinished(result) => {
                let bulk = next.bulk.get_or_insert_with(BulkProgress::default);
                bulk.running = false;
                bulk.cancelling = false;
                match result {
                    Ok(reports) => {
                        let failed: Vec<String> = reports
                            .iter()
                            .filter(|r| !r.ok)
                            .map(|r| match &r.error {
                                Some(e) => format!("{}: {} ({})", r.backend, e.message, e.code),
                                None => r.backend.clone(),
                            })
                            .collect();
                        bulk.done = reports.len() as u64;
                        bulk.total = Some(reports.len() as u64);
                        bulk.ok = Some(failed.is_empty());
                        // Synced, but without their audit trail: said, not hidden in a success.
                        let gaps: Vec<String> = reports
                            .iter()
                            .filter(|r| r.ok)
                            .filter_map(|r| {
                                r.audit_gap
                                    .as_ref()
                                    .map(|g| format!("{}: {} ({})", r.backend, g.message, g.code))
                            })
                            .collect();
                        bulk.message = match (reports.len(), failed.len()) {
                            (0, _) => "Nothing was synced.".into(),
                            (n, 0) => {
                                format!("Synced {n} backend{}.", if n == 1 { "" } else { "s" })
                            }
                            (n, _) => format!(
                                "{} of {n} syncs failed — {}",
                                failed.len(),
                                failed.join("; ")
                            ),
                        };
                        bulk.partial = !gaps.is_empty();
                        if bulk.partial {
                            bulk.message.push_str(&format!(
                                " No audit trail for {} — {}",
                                gaps.len(),
                                gaps.join("; ")
                            ));
                        }
                    }
                    Err(e) => {
                        bulk.ok = Some(false);
                        bulk.message = format!("Sync stopped: {} ({})", e.message, e.code);
                    }
                }
            }
            Action::BulkProgress(p) => {
                let bulk = next.bulk.get_or_insert_with(BulkProgress::default);
                match p {
                    Progress::Started { task, total } => {
                        bulk.total = total;
                        bulk.done = 0;
                        bulk.message = task;
                    }
                    Progress::Advanced {
                        done,
                        total,
                        message,
                        ..
                    } => {
                        bulk.done = done;
                        bulk.total = total.or(bulk.total);
                        bulk.message = message;
                    }
                    Progress::Finished { ok, message, .. } => {
                        bulk.ok = Some(ok);
                        bulk.message = message;
                    }
                }
            }
            Action::BulkFinished(result) => {
                let bulk = next.bulk.get_or_insert_with(BulkProgress::default);
                bulk.running = false;
                bulk.cancelling = false;
                match result {
                    Ok(reports) => {
                        let failed = reports.iter().filter(|r| !r.ok).count();
                        bulk.done = reports.len() as u64;
                        bulk.total = Some(reports.len() as u64);
                        bulk.ok = Some(failed == 0);
                        bulk.message = match (reports.len(), failed) {
                            (0, _) => "No backends to check.".into(),
                            (n, 0) => format!("All {n} checks passed."),
                            (n, f) => format!("{f} of {n} checks failed."),
                        };
                        for r in reports {
                            next.checks.insert(r.backend.clone(), CheckState::Done(r));
                        }
                    }
                    Err(e) => {
                        bulk.ok = Some(false);
                        bulk.message = format!("Check all stopped: {} ({})", e.message, e.code);
                    }
                }
            }
            Action::Removed(name) => {
                next.checks.remove(&name);
                if let Remote::Ready(list) = &mut next.list {
                    list.retain(|b| b.name != name);
                }
            }
        }
        Rc::new(next)
    }
}

/// Everything the Backends page can see and do.
#[derive(Clone, PartialEq)]
pub struct BackendsHandle {
    pub state: UseReducerHandle<BackendsState>,
    pub reload: Callback<()>,
    pub check: Callback<String>,
    pub check_all: Callback<()>,
    /// Syncs the named backends (all when empty).
    pub sync: Callback<Vec<String>>,
    pub cancel_sync: Callback<()>,
    /// Registers a backend; the callback gets the outcome (the dialog shows errors in place).
    pub add: Callback<(NewBackend, Callback<Result<BackendInfo, IpcError>>)>,
    pub remove: Callback<(String, Callback<Result<(), IpcError>>)>,
}

fn refresh(dispatch: UseReducerDispatcher<BackendsState>) {
    spawn_local(async move { dispatch.dispatch(Action::Listed(ipc::list_backends().await)) });
}

#[hook]
pub fn use_backends() -> BackendsHandle {
    let state = use_reducer(BackendsState::default);
    let dispatch = state.dispatcher();
    {
        let dispatch = dispatch.clone();
        use_effect_with((), move |_| refresh(dispatch));
    }
    let reload = {
        let dispatch = dispatch.clone();
        Callback::from(move |()| refresh(dispatch.clone()))
    };
    let check = {
        let dispatch = dispatch.clone();
        Callback::from(move |name: String| {
            let dispatch = dispatch.clone();
            dispatch.dispatch(Action::CheckStarted(name.clone()));
            spawn_local(async move {
                let result = ipc::check_backend(&name).await;
                dispatch.dispatch(Action::Checked(name, result));
                dispatch.dispatch(Action::Listed(ipc::list_backends().await));
            });
        })
    };
    let check_all = {
        let dispatch = dispatch.clone();
        Callback::from(move |()| {
            let dispatch = dispatch.clone();
            dispatch.dispatch(Action::BulkStarted(BulkKind::Check));
            spawn_local(async move {
                let events = dispatch.clone();
                let result = ipc::check_all(move |p| {
                    if let Ok(p) = p {
                        events.dispatch(Action::BulkProgress(p));
                    }
                })
                .await;
                dispatch.dispatch(Action::BulkFinished(result));
                dispatch.dispatch(Action::Listed(ipc::list_backends().await));
            });
        })
    };
    let sync = {
        let dispatch = dispatch.clone();
        Callback::from(move |names: Vec<String>| {
            let dispatch = dispatch.clone();
            dispatch.dispatch(Action::BulkStarted(BulkKind::Sync));
            spawn_local(async move {
                let events = dispatch.clone();
                let result = ipc::sync_backends(&names, move |p| {
                    if let Ok(p) = p {
                        events.dispatch(Action::BulkProgress(p));
                    }
                })
                .await;
                dispatch.dispatch(Action::SyncFinished(result));
                dispatch.dispatch(Action::Listed(ipc::list_backends().await));
            });
        })
    };
    let cancel_sync = {
        let dispatch = dispatch.clone();
        Callback::from(move |()| {
            dispatch.dispatch(Action::CancelRequested);
            // The sync's own answer reports the outcome; nothing to do with this one.
            spawn_local(async move {
                let _ = ipc::cancel_sync().await;
            });
        })
    };
    let add = {
        let dispatch = dispatch.clone();
        Callback::from(
            move |(req, done): (NewBackend, Callback<Result<BackendInfo, IpcError>>)| {
                let dispatch = dispatch.clone();
                spawn_local(async move {
                    let result = ipc::add_backend(&req).await;
                    let added = result.is_ok();
                    done.emit(result);
                    if added {
                        dispatch.dispatch(Action::Listed(ipc::list_backends().await));
                    }
                });
            },
        )
    };
    let remove = {
        let dispatch = dispatch.clone();
        Callback::from(
            move |(name, done): (String, Callback<Result<(), IpcError>>)| {
                let dispatch = dispatch.clone();
                spawn_local(async move {
                    let result = ipc::remove_backend(&name).await;
                    if result.is_ok() {
                        dispatch.dispatch(Action::Removed(name));
                    }
                    done.emit(result);
                    dispatch.dispatch(Action::Listed(ipc::list_backends().await));
                });
            },
        )
    };
    BackendsHandle {
        state,
        reload,
        check,
        check_all,
        sync,
        cancel_sync,
        add,
        remove,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_model::ErrorCode;

    fn report(name: &str, ok: bool) -> CheckReport {
        CheckReport {
            backend: name.into(),
            ok,
            identity: None,
            server: None,
            credential_expires_at: None,
            rights: vec![],
            latency_ms: 3,
            error: None,
        }
    }

    #[test]
    fn concurrent_checks_keep_both_results() {
        let s = Rc::new(BackendsState::default());
        let s = s.reduce(Action::CheckStarted("a".into()));
        let s = s.reduce(Action::CheckStarted("b".into()));
        let s = s.reduce(Action::Checked("b".into(), Ok(report("b", true))));
        let s = s.reduce(Action::Checked(
            "a".into(),
            Err(IpcError::new(ErrorCode::Unreachable, "down")),
        ));
        assert!(matches!(s.checks["a"], CheckState::Failed(_)));
        assert!(matches!(s.checks["b"], CheckState::Done(_)));
    }

    #[test]
    fn bulk_summary_counts_failures() {
        let s = Rc::new(BackendsState::default()).reduce(Action::BulkStarted(BulkKind::Check));
        let s = s.reduce(Action::BulkProgress(Progress::Started {
            task: "check".into(),
            total: Some(2),
        }));
        assert_eq!(s.bulk.as_ref().and_then(|b| b.total), Some(2));
        let s = s.reduce(Action::BulkFinished(Ok(vec![
            report("a", true),
            report("b", false),
        ])));
        let bulk = s.bulk.clone().unwrap_or_default();
        assert!(!bulk.running);
        assert_eq!(bulk.ok, Some(false));
        assert_eq!(bulk.message, "1 of 2 checks failed.");
        assert_eq!(s.checks.len(), 2);
    }

    #[test]
    fn sync_summary_names_failures_and_cancel_is_shown() {
        let s = Rc::new(BackendsState::default()).reduce(Action::BulkStarted(BulkKind::Sync));
        let s = s.reduce(Action::CancelRequested);
        assert!(s.bulk.as_ref().is_some_and(|b| b.cancelling));
        let failed = SyncReport {
            backend: "pg".into(),
            ok: false,
            counts: Default::default(),
            duration_ms: 5,
            error: Some(IpcError::new(ErrorCode::Cancelled, "stopped")),
            audit_gap: None,
        };
        let s = s.reduce(Action::SyncFinished(Ok(vec![failed])));
        let bulk = s.bulk.clone().unwrap_or_default();
        assert!(!bulk.running && !bulk.cancelling);
        assert_eq!(
            bulk.message,
            "1 of 1 syncs failed — pg: stopped (cancelled)"
        );
    }
}
