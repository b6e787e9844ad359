//! Incident page state: the selection form (turned into the engine's `key=value` text), the dry
//! run, the live per-item progress of a confirmed run (a reducer fed by the shell's channel, so
//! events arriving faster than renders are never lost), the final report, its export, and the
//! unfinished actions of an interrupted run with their resume.

use std::collections::HashMap;
use std::rc::Rc;

use portcullis_model::{
    IpcError, JournalState, RevocationEvent, RevocationPlan, RevocationReport, UnfinishedAction,
};
use yew::platform::spawn_local;
use yew::prelude::*;

use super::Remote;
use crate::ipc;

/// The selection form, one field per selector key; several values of a field are comma-separated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectionForm {
    pub principal: String,
    pub client: String,
    pub scope: String,
    pub permission: String,
    pub backend: String,
    pub fingerprint: String,
    pub source: String,
    pub since: String,
    pub until: String,
    pub grants: bool,
}

/// The form's fields in order: (selector key, label, placeholder).
pub const FIELDS: [(&str, &str, &str); 9] = [
    ("principal", "Principal", "alice"),
    ("client", "OAuth client", "billing-web"),
    ("scope", "Scope or policy", "payments:write"),
    ("permission", "Permission or role", "billing_write"),
    ("backend", "Backend", "all backends"),
    ("fingerprint", "Token fingerprint", "SHA-256, ≥ 8 hex"),
    ("source", "Source address", "10.0.0.0/8"),
    ("since", "Issued since", "2h, 14:00, 2026-11-22"),
    ("until", "Issued until", "RFC 3339 or HH:MM"),
];

impl SelectionForm {
    pub fn get(&self, key: &str) -> &str {
        match key {
            "principal" => &self.principal,
            "client" => &self.client,
            "scope" => &self.scope,
            "permission" => &self.permission,
            "backend" => &self.backend,
            "fingerprint" => &self.fingerprint,
            "source" => &self.source,
            "since" => &self.since,
            "until" => &self.until,
            _ => "",
        }
    }

    pub fn set(&mut self, key: &str, value: String) {
        let slot = match key {
            "principal" => &mut self.principal,
            "client" => &mut self.client,
            "scope" => &mut self.scope,
            "permission" => &mut self.permission,
            "backend" => &mut self.backend,
            "fingerprint" => &mut self.fingerprint,
            "source" => &mut self.source,
            "since" => &mut self.since,
            "until" => &mut self.until,
            _ => return,
        };
        *slot = value;
    }

    /// The engine's selection text: `key=v1,v2` per non-empty field (spaces inside a value would
    /// split it, so values are split on commas and whitespace alike).
    pub fn to_text(&self) -> String {
        let mut parts: Vec<String> = FIELDS
            .iter()
            .filter_map(|(key, _, _)| {
                let values: Vec<&str> = self
                    .get(key)
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|v| !v.is_empty())
                    .collect();
                (!values.is_empty()).then(|| format!("{key}={}", values.join(",")))
            })
            .collect();
        if self.grants {
            parts.push("grants=yes".into());
        }
        parts.join(" ")
    }

    /// Reads a selection text back (the URL keeps it); unknown words are ignored.
    pub fn from_text(text: &str) -> Self {
        let mut form = SelectionForm::default();
        for word in text.split_whitespace() {
            if let Some((k, v)) = word.split_once('=') {
                if k == "grants" {
                    form.grants = matches!(v, "yes" | "true" | "direct");
                } else {
                    form.set(k, v.to_string());
                }
            }
        }
        form
    }
}

/// The live state of a run: the last event per item key, and the overall count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunProgress {
    pub items: HashMap<String, RevocationEvent>,
    pub done: u64,
    pub total: u64,
    pub running: bool,
    /// An event the shell sent that could not be read.
    pub error: Option<IpcError>,
}

pub enum RunAction {
    Start,
    Event(Result<RevocationEvent, IpcError>),
    Finish,
}

impl Reducible for RunProgress {
    type Action = RunAction;

    fn reduce(self: Rc<Self>, action: RunAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            RunAction::Start => {
                next = RunProgress {
                    running: true,
                    ..RunProgress::default()
                }
            }
            RunAction::Event(Ok(e)) => {
                next.done = next.done.max(e.done);
                next.total = e.total;
                next.items.insert(e.key.clone(), e);
            }
            RunAction::Event(Err(e)) => next.error = Some(e),
            RunAction::Finish => next.running = false,
        }
        Rc::new(next)
    }
}

/// What a row shows while a run goes: its last journalled state, or none yet.
pub fn live_state(progress: &RunProgress, key: &str) -> Option<JournalState> {
    progress.items.get(key).map(|e| e.state)
}

/// A call to the shell that reports per-item events and ends with a report (execute or resume).
type RunCall = Box<
    dyn FnOnce(
        Callback<Result<RevocationEvent, IpcError>>,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<RevocationReport, IpcError>>>,
    >,
>;

/// What the page shows of the current incident, kept outside the page: a responder who looks
/// at the Audit page mid-incident and comes back finds the dry run, the run's progress and the
/// report where they left them, and a run that ends while the page is away still lands here.
#[derive(Clone, Default, PartialEq)]
pub struct Kept {
    pub plan: Option<Remote<RevocationPlan>>,
    pub progress: RunProgress,
    pub report: Option<Remote<RevocationReport>>,
    pub exported: Option<Remote<String>>,
    pub cancelling: bool,
    /// The selection text of the dry run shown.
    pub selection: String,
}

thread_local! {
    static KEPT: std::cell::RefCell<Kept> = std::cell::RefCell::new(Kept::default());
    /// The mounted page's re-render, if a page is mounted.
    static NOTIFY: std::cell::RefCell<Option<Callback<()>>> = const { std::cell::RefCell::new(None) };
}

/// Changes the kept incident and re-renders the page showing it, if any.
fn update(f: impl FnOnce(&mut Kept)) {
    KEPT.with(|k| f(&mut k.borrow_mut()));
    if let Some(notify) = NOTIFY.with(|n| n.borrow().clone()) {
        notify.emit(());
    }
}

fn kept() -> Kept {
    KEPT.with(|k| k.borrow().clone())
}

/// The selection of the kept incident's dry run (empty before any).
pub fn kept_selection() -> String {
    KEPT.with(|k| k.borrow().selection.clone())
}

#[derive(Clone, PartialEq)]
pub struct IncidentHandle {
    pub plan: Rc<Option<Remote<RevocationPlan>>>,
    pub progress: Rc<RunProgress>,
    pub report: Rc<Option<Remote<RevocationReport>>>,
    pub unfinished: UseStateHandle<Remote<Vec<UnfinishedAction>>>,
    pub exported: Rc<Option<Remote<String>>>,
    /// A dry run of (selection, pasted token values).
    pub dry_run: Callback<(String, String)>,
    /// Stops the running revocation from sending more.
    pub cancel: Callback<()>,
    /// Set once a cancel was asked for, until the run ends.
    pub cancelling: Rc<bool>,
    /// Sends the current plan with the confirmed count and the reason or ticket, if typed.
    pub execute: Callback<(u32, Option<String>)>,
    pub resume: Callback<()>,
    pub export: Callback<()>,
}

/// `progress` after `action`, by the reducer's rule.
fn step(progress: &RunProgress, action: RunAction) -> RunProgress {
    (*Rc::new(progress.clone()).reduce(action)).clone()
}

/// Runs a report-producing call (execute or resume) with live progress into the kept incident,
/// then calls `done` (the unfinished list's refresh).
fn run(call: RunCall, done: Callback<()>) {
    update(|k| {
        k.cancelling = false;
        k.progress = step(&RunProgress::default(), RunAction::Start);
        k.report = Some(Remote::Loading);
        k.exported = None;
    });
    let on_event =
        Callback::from(|e| update(|k| k.progress = step(&k.progress, RunAction::Event(e))));
    spawn_local(async move {
        let result = call(on_event).await;
        update(|k| {
            k.progress = step(&k.progress, RunAction::Finish);
            k.cancelling = false;
            k.report = Some(Remote::from_result(result));
        });
        done.emit(());
    });
}

#[hook]
pub fn use_incident() -> IncidentHandle {
    let version = use_state(|| 0u32);
    {
        let version = version.clone();
        use_effect_with((), move |_| {
            let bump = Callback::from(move |()| version.set(version.wrapping_add(1)));
            NOTIFY.with(|n| *n.borrow_mut() = Some(bump));
            || NOTIFY.with(|n| *n.borrow_mut() = None)
        });
    }
    let now = kept();
    let unfinished = use_state(|| Remote::Loading);
    let generation = use_state(|| 0u32);
    {
        let unfinished = unfinished.clone();
        use_effect_with(*generation, move |_| {
            spawn_local(async move {
                unfinished.set(Remote::from_result(ipc::incident_unfinished().await))
            });
        });
    }
    let dry_run = Callback::from(move |(selection, tokens): (String, String)| {
        update(|k| {
            k.selection = selection.clone();
            k.plan = Some(Remote::Loading);
            k.report = None;
            k.exported = None;
            k.progress = RunProgress::default();
        });
        spawn_local(async move {
            let plan = Remote::from_result(ipc::incident_plan(&selection, &tokens).await);
            update(|k| k.plan = Some(plan));
        });
    });
    let cancel = Callback::from(move |()| {
        update(|k| k.cancelling = true);
        spawn_local(async move {
            // The run's own report says what was cancelled; a failure here changes nothing.
            let _ = ipc::incident_cancel().await;
        });
    });
    let refresh = {
        let generation = generation.clone();
        Callback::from(move |()| generation.set(generation.wrapping_add(1)))
    };
    let execute = {
        let refresh = refresh.clone();
        Callback::from(move |(count, reason): (u32, Option<String>)| {
            let Some(Remote::Ready(p)) = kept().plan else {
                return;
            };
            run(
                Box::new(move |on_event| {
                    Box::pin(async move {
                        ipc::incident_execute(&p, count, reason.as_deref(), move |e| {
                            on_event.emit(e)
                        })
                        .await
                    })
                }),
                refresh.clone(),
            );
        })
    };
    let resume = Callback::from(move |()| {
        update(|k| k.plan = None);
        run(
            Box::new(|on_event| {
                Box::pin(async move { ipc::incident_resume(move |e| on_event.emit(e)).await })
            }),
            refresh.clone(),
        );
    });
    let export = Callback::from(move |()| {
        let Some(Remote::Ready(r)) = kept().report else {
            return;
        };
        update(|k| k.exported = Some(Remote::Loading));
        spawn_local(async move {
            let written = Remote::from_result(ipc::incident_export(&r).await);
            update(|k| k.exported = Some(written));
        });
    });
    IncidentHandle {
        plan: Rc::new(now.plan),
        progress: Rc::new(now.progress),
        report: Rc::new(now.report),
        unfinished,
        exported: Rc::new(now.exported),
        dry_run,
        cancel,
        cancelling: Rc::new(now.cancelling),
        execute,
        resume,
        export,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_to_text_and_back() {
        let mut f = SelectionForm::default();
        assert_eq!(f.to_text(), "");
        f.principal = "alice, bob".into();
        f.backend = "openbao".into();
        f.since = "2h".into();
        f.grants = true;
        let text = f.to_text();
        assert_eq!(
            text,
            "principal=alice,bob backend=openbao since=2h grants=yes"
        );
        let back = SelectionForm::from_text(&text);
        assert_eq!(back.principal, "alice,bob");
        assert_eq!(back.backend, "openbao");
        assert!(back.grants);
        assert_eq!(back.to_text(), text);
    }

    #[test]
    fn progress_keeps_the_last_state_per_item() {
        let ev = |key: &str, state, done| RevocationEvent {
            key: key.into(),
            backend: "b".into(),
            target: "t".into(),
            state,
            done,
            total: 2,
            message: String::new(),
        };
        let p = Rc::new(RunProgress::default()).reduce(RunAction::Start);
        let p = p.reduce(RunAction::Event(Ok(ev("a", JournalState::Sent, 0))));
        let p = p.reduce(RunAction::Event(Ok(ev("a", JournalState::Verified, 1))));
        let p = p.reduce(RunAction::Event(Ok(ev("b", JournalState::Failed, 2))));
        assert_eq!(live_state(&p, "a"), Some(JournalState::Verified));
        assert_eq!(live_state(&p, "b"), Some(JournalState::Failed));
        assert_eq!(live_state(&p, "c"), None);
        assert_eq!((p.done, p.total, p.running), (2, 2, true));
        assert!(!p.reduce(RunAction::Finish).running);
    }
}
