//! Incident mode: select everything a leak touches (a principal, a client, a scope, a backend, a
//! token fingerprint, a source address, a time window), see the dry run — every action with what
//! it will and will NOT do and its collateral, and what cannot be revoked said plainly — confirm
//! with the count, watch each item go verified one by one, and export the report.

use portcullis_model::{
    ItemState, JournalState, Readiness, RevocationPlan, RevocationPlanItem, RevocationReport,
    UnfinishedAction,
};
use wasm_bindgen::JsCast;
use yew::prelude::*;

use super::PageHead;
use crate::app::replace_href;
use crate::components::revoke::{reason_field, typed_reason};
use crate::components::{Dialog, EmptyState, ErrorNote, Time};
use crate::hooks::incident::{
    kept_selection, live_state, use_incident, RunProgress, SelectionForm, FIELDS,
};
use crate::hooks::journal::JournalQuery;
use crate::hooks::Remote;
use crate::route::{Page, Route};

#[derive(Properties, PartialEq)]
pub struct IncidentProps {
    /// The selection text kept in the URL (`#/incident?q=principal%3Dalice`).
    #[prop_or_default]
    pub query: String,
}

fn readiness_label(r: Readiness) -> &'static str {
    match r {
        Readiness::Ready => "will be sent",
        Readiness::NeedsTokenValue => "cannot be revoked without the token value",
        Readiness::Unsupported => "cannot be revoked here",
        Readiness::AlreadyInactive => "already inactive",
        Readiness::Covered => "goes with another item",
        Readiness::Protected => "protected: the console's own access",
    }
}

fn live_label(s: Option<JournalState>) -> (&'static str, &'static str) {
    match s {
        None => ("waiting", "waiting"),
        Some(JournalState::Planned) => ("planned", "planned"),
        Some(JournalState::Sent) => ("sent", "sent…"),
        Some(JournalState::Confirmed) => ("confirmed", "confirmed, verifying…"),
        Some(JournalState::Verified) => ("verified", "✓ verified dead"),
        Some(JournalState::Failed) => ("failed", "✗ failed"),
    }
}

fn item_card(
    item: &RevocationPlanItem,
    progress: &RunProgress,
    report: Option<&RevocationReport>,
) -> Html {
    let ready = item.is_ready();
    let live = live_state(progress, &item.key);
    let final_item = report.and_then(|r| r.items.iter().find(|i| i.key == item.key));
    let (state_attr, state_text) = match (final_item, ready) {
        (Some(f), _) => (
            f.state.as_str(),
            match f.state {
                ItemState::Verified => "✓ verified dead",
                ItemState::Confirmed => "confirmed, not provable",
                ItemState::Failed => "✗ failed",
                ItemState::Skipped => "not sent",
                ItemState::Covered => "covered by another item",
            },
        ),
        (None, true) if progress.running || live.is_some() => live_label(live),
        (None, true) => ("ready", "will be sent"),
        (None, false) => (item.readiness.as_str(), readiness_label(item.readiness)),
    };
    let message = progress
        .items
        .get(&item.key)
        .map(|e| crate::words::gui_words(&e.message))
        .filter(|m| !m.is_empty());
    html! {
        <li class={classes!("inc-item", state_attr.to_string(), (!ready).then_some("blocked"))}
            data-testid="incident-item" data-key={item.key.clone()} data-state={state_attr}
            data-readiness={item.readiness.as_str()}>
            <div class="inc-head">
                <span class={classes!("pill", "inc-state", state_attr.to_string())}>{ state_text }</span>
                <strong class="inc-desc">{ &item.description }</strong>
                <span class="badge">{ &item.backend }</span>
            </div>
            if ready {
                <dl class="facts">
                    <dt>{ "Sends" }</dt><dd><code>{ &item.action }</code></dd>
                    if !item.will.is_empty() {
                        <dt>{ "Will" }</dt><dd><ul>{ for item.will.iter().map(|w| html! { <li>{ w }</li> }) }</ul></dd>
                    }
                    if !item.will_not.is_empty() {
                        <dt>{ "Will not" }</dt>
                        <dd class="will-not"><ul>{ for item.will_not.iter().map(|w| html! { <li>{ w }</li> }) }</ul></dd>
                    }
                    <dt>{ "Verified by" }</dt><dd>{ &item.verify }</dd>
                    if !item.collateral.is_empty() {
                        <dt>{ "Collateral" }</dt>
                        <dd data-testid="incident-collateral"><ul>{ for item.collateral.iter().map(|c| html! { <li>{ &c.description }{ " dies with it" }</li> }) }</ul></dd>
                    }
                </dl>
            } else {
                // Covered or already inactive is not a problem: only what needs the responder's
                // attention is in the alarm colour.
                <p class={classes!("inc-why", matches!(item.readiness, Readiness::Covered | Readiness::AlreadyInactive).then_some("fine"))}>
                    { crate::words::gui_words(item.blocked_reason.as_deref().unwrap_or_default()) }
                </p>
                if !item.alternatives.is_empty() {
                    <ul class="inc-alt">{ for item.alternatives.iter().map(|a| html! { <li>{ "Instead: " }{ a }</li> }) }</ul>
                }
            }
            if let Some(f) = final_item {
                if let Some(v) = &f.verification {
                    <p class="inc-evidence" data-testid="incident-evidence">{ &v.evidence }{ " · " }<Time at={v.at} /></p>
                }
                if let Some(e) = &f.error { if f.state == ItemState::Failed { <ErrorNote error={e.clone()} /> } }
                if let Some(seq) = f.journal_seq {
                    <a class="inc-journal" href={JournalQuery::entry(seq).href()}>{ format!("journal #{seq}") }</a>
                }
            } else if let Some(m) = message {
                <p class="muted inc-msg">{ m }</p>
            }
        </li>
    }
}

/// Unfinished actions listed by name; the rest are counted.
const UNFINISHED_SHOWN: usize = 12;

fn unfinished_panel(list: &[UnfinishedAction], busy: bool, on_resume: Callback<()>) -> Html {
    if list.is_empty() {
        return html! {};
    }
    html! {
        <section class="card inc-unfinished" data-testid="incident-unfinished">
            <h2>{ format!("{} action(s) of an interrupted run are unfinished", list.len()) }</h2>
            <p class="muted">{ "A run stopped before these reached verified or failed. Resuming asks each backend first and sends again only what is still alive." }</p>
            // The button before the list: after a crash mid-incident the list can be thousands long.
            <button class="primary" id="incident-resume" data-testid="incident-resume" disabled={busy}
                    onclick={on_resume.reform(|_| ())}>{ format!("Resume {}", list.len()) }</button>
            <ul>
                { for list.iter().take(UNFINISHED_SHOWN).map(|u| html! {
                    <li>
                        <a href={JournalQuery::entry(u.seq).href()}>{ format!("#{}", u.seq) }</a>{ " " }
                        <strong>{ &u.action }</strong>{ " " }{ &u.target }{ " — last state " }
                        <code>{ u.state.as_str() }</code>{ " · " }<Time at={u.at} />
                        <span class="muted">{ " — " }{ &u.note }</span>
                    </li>
                }) }
                if list.len() > UNFINISHED_SHOWN {
                    <li class="muted">{ format!("… and {} more; the Journal page lists them all, and Resume takes them all", list.len() - UNFINISHED_SHOWN) }</li>
                }
            </ul>
        </section>
    }
}

/// "; 3 item(s) go with another item; 2 item(s) cannot be sent as they are": items left out, split by whether
/// anything is wrong (covered and already-inactive ones need nothing from the responder).
fn left_out(plan: &RevocationPlan, sent: bool) -> String {
    let (mut covered, mut inactive, mut blocked) = (0, 0, 0);
    for i in plan.items.iter().filter(|i| !i.is_ready()) {
        match i.readiness {
            Readiness::Covered => covered += 1,
            Readiness::AlreadyInactive => inactive += 1,
            _ => blocked += 1,
        }
    }
    let mut parts = Vec::new();
    if covered > 0 {
        parts.push(format!("{covered} item(s) go with another item"));
    }
    if inactive > 0 {
        parts.push(format!("{inactive} item(s) already inactive"));
    }
    if blocked > 0 {
        parts.push(if sent {
            format!("{blocked} item(s) were not sent (listed below, with why)")
        } else {
            format!("{blocked} item(s) cannot be sent as they are (listed below, with why)")
        });
    }
    parts.iter().map(|p| format!("; {p}")).collect()
}

fn plan_summary(plan: &RevocationPlan, sent: bool) -> Html {
    let backends: std::collections::BTreeSet<&str> = plan
        .items
        .iter()
        .filter(|i| i.is_ready())
        .map(|i| i.backend.as_str())
        .collect();
    html! {
        <div class="inc-summary" data-testid="incident-summary" data-ready={plan.ready.to_string()} data-blocked={plan.blocked.to_string()}>
            <p>
                <strong>{ format!("{} action(s) {}", plan.ready, if sent { "sent" } else { "will be sent" }) }</strong>
                { format!(" on {} backend(s){}", backends.len(), left_out(plan, sent)) }
                { if sent { "." } else { ". Nothing has been sent yet." } }
            </p>
            if !plan.notes.is_empty() {
                <ul class="notes">{ for plan.notes.iter().map(|n| html! { <li>{ crate::words::gui_words(n) }</li> }) }</ul>
            }
        </div>
    }
}

fn report_panel(
    r: &RevocationReport,
    exported: Option<&Remote<String>>,
    on_export: Callback<()>,
) -> Html {
    let class = if r.failed > 0 {
        "bad"
    } else if r.confirmed > 0 {
        "warn"
    } else {
        "ok"
    };
    html! {
        <section class={classes!("card", "inc-report", class)} data-testid="incident-report"
                 data-verified={r.verified.to_string()} data-failed={r.failed.to_string()} data-confirmed={r.confirmed.to_string()}>
            <h2>{ "Report" }</h2>
            <div class="counts">
                <span class="pill ok">{ format!("{} verified", r.verified) }</span>
                <span class="pill warn">{ format!("{} confirmed (not provable)", r.confirmed) }</span>
                <span class="pill bad">{ format!("{} failed", r.failed) }</span>
                <span class="pill">{ format!("{} not sent", r.skipped) }</span>
                <span class="pill">{ format!("{} covered", r.covered) }</span>
                <span class="muted">{ format!("in {:.1} s", r.elapsed_ms as f64 / 1000.0) }</span>
            </div>
            if let Some(seq) = r.incident_seq {
                <p>{ "Recorded as " }<a href={JournalQuery::entry(seq).href()}>{ format!("journal incident #{seq}") }</a></p>
            }
            if let Some(reason) = &r.reason {
                <p data-testid="incident-reason">{ "Reason: " }<strong>{ reason.clone() }</strong></p>
            }
            <div class="actions">
                <button id="incident-export" data-testid="incident-export" onclick={on_export.reform(|_| ())}
                        disabled={matches!(exported, Some(Remote::Loading))}>{ "Export report" }</button>
                { match exported {
                    Some(Remote::Ready(path)) => html! {
                        <span class="muted" data-testid="incident-exported">{ "Written to " }<code>{ path }</code>{ " (with the journal head hash)" }</span>
                    },
                    Some(Remote::Failed(e)) => html! { <ErrorNote error={e.clone()} context="Could not export" /> },
                    _ => html! {},
                } }
            </div>
        </section>
    }
}

#[component]
pub fn IncidentPage(props: &IncidentProps) -> Html {
    // The URL's selection, else the one of the incident kept while the page was away.
    let form = use_state(|| {
        let text = if props.query.trim().is_empty() {
            kept_selection()
        } else {
            props.query.clone()
        };
        SelectionForm::from_text(&text)
    });
    let confirm = use_state(|| false);
    let reason = use_state(String::new);
    let inc = use_incident();
    // Pasted token values: sent once with the dry run, then cleared from the page; the shell
    // holds them for this incident only. `held` is how many went with the last dry run.
    let tokens = use_state(String::new);
    let held = use_state(|| 0usize);
    let on_tokens = {
        let tokens = tokens.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(area) = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlTextAreaElement>().ok())
            {
                tokens.set(area.value());
            }
        })
    };

    let on_field = |key: &'static str| {
        let form = form.clone();
        Callback::from(move |e: InputEvent| {
            let Some(input) = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            else {
                return;
            };
            let mut f = (*form).clone();
            f.set(key, input.value());
            form.set(f);
        })
    };
    let on_grants = {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let Some(input) = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            else {
                return;
            };
            let mut f = (*form).clone();
            f.grants = input.checked();
            form.set(f);
        })
    };
    let text = form.to_text();
    let on_submit = {
        let (dry_run, text) = (inc.dry_run.clone(), text.clone());
        let (tokens, held) = (tokens.clone(), held.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let pasted = (*tokens).clone();
            held.set(pasted.lines().filter(|l| !l.trim().is_empty()).count());
            tokens.set(String::new());
            replace_href(
                &Route {
                    page: Page::Incident,
                    query: text.clone(),
                }
                .href(),
            );
            dry_run.emit((text.clone(), pasted));
        })
    };
    let running = inc.progress.running;
    let plan = (*inc.plan).clone();
    let report = match &*inc.report {
        Some(Remote::Ready(r)) => Some(r.clone()),
        _ => None,
    };
    let sent = inc.report.is_some();
    let ready = match &plan {
        Some(Remote::Ready(p)) => p.ready,
        _ => 0,
    };

    let unfinished = match &*inc.unfinished {
        Remote::Ready(list) => unfinished_panel(list, running, inc.resume.clone()),
        Remote::Failed(e) => {
            html! { <ErrorNote error={e.clone()} context="Could not read unfinished actions" /> }
        }
        Remote::Loading => html! {},
    };

    let plan_view = match &plan {
        // A resume run has no plan; its report and items say what happened.
        None if sent => html! {},
        None => html! {
            <EmptyState title="Name what leaked, then do a dry run" testid="incident-empty">
                <p>{ "Fill one or more fields — every field narrows, comma-separated values widen. A principal alone selects everything it holds, on every backend. Nothing is sent until you confirm the count." }</p>
            </EmptyState>
        },
        Some(Remote::Loading) => html! { <p class="loading">{ "Planning…" }</p> },
        Some(Remote::Failed(e)) => {
            html! { <ErrorNote error={e.clone()} context="Dry run failed" /> }
        }
        Some(Remote::Ready(p)) if p.items.is_empty() => html! {
            <EmptyState title="Nothing matches this selection" testid="incident-nothing">
                <p>{ "No cached credential, login or grant matches. Check the spelling, widen the time window, or sync the backends (Backends page) if the cache is old." }</p>
            </EmptyState>
        },
        Some(Remote::Ready(p)) => {
            let (ready_items, blocked): (Vec<_>, Vec<_>) =
                p.items.iter().partition(|i| i.is_ready());
            html! {
                <section class="inc-plan" data-testid="incident-plan">
                    { plan_summary(p, sent) }
                    if running || inc.progress.total > 0 {
                        <div class="inc-progress" data-testid="incident-progress">
                            <progress max={inc.progress.total.max(1).to_string()} value={inc.progress.done.to_string()} />
                            <span>{ format!("{} of {} finished", inc.progress.done, inc.progress.total) }</span>
                            if running {
                                <button id="incident-cancel" data-testid="incident-cancel" disabled={*inc.cancelling}
                                        title="Stop sending: items already sent are still proved; the rest end as not sent"
                                        onclick={inc.cancel.reform(|_| ())}>
                                    { if *inc.cancelling { "Cancelling…" } else { "Cancel run" } }
                                </button>
                            }
                        </div>
                    }
                    if p.ready > 0 && report.is_none() && !running {
                        <div class="confirm-strip">
                            <button class="danger" id="incident-revoke" data-testid="incident-revoke"
                                    onclick={{ let c = confirm.clone(); Callback::from(move |_| c.set(true)) }}>
                                { format!("Revoke {}…", p.ready) }
                            </button>
                            <span class="muted">{ "You will be asked to confirm the count." }</span>
                        </div>
                    }
                    if !ready_items.is_empty() {
                        <h2>{ format!("To send ({})", ready_items.len()) }</h2>
                        <ul class="inc-list">{ for ready_items.iter().map(|i| item_card(i, &inc.progress, report.as_ref())) }</ul>
                    }
                    if !blocked.is_empty() {
                        <h2>{ format!("Not sent ({})", blocked.len()) }</h2>
                        <ul class="inc-list">{ for blocked.iter().map(|i| item_card(i, &inc.progress, report.as_ref())) }</ul>
                    }
                </section>
            }
        }
    };

    // A resume run has no plan: show its items from the report.
    let resume_items = if plan.is_none() {
        match &*inc.report {
            Some(Remote::Ready(r)) => html! {
                <ul class="inc-list">
                    { for r.items.iter().map(|i| html! {
                        <li class={classes!("inc-item", i.state.as_str())} data-testid="incident-item" data-state={i.state.as_str()}>
                            <div class="inc-head"><span class={classes!("pill", "inc-state", i.state.as_str())}>{ i.state.as_str() }</span>
                            <strong>{ &i.target }</strong><span class="badge">{ &i.backend }</span></div>
                            if let Some(n) = &i.note { <p class="muted">{ n }</p> }
                        </li>
                    }) }
                </ul>
            },
            _ => html! {},
        }
    } else {
        html! {}
    };

    let report_view = match &*inc.report {
        Some(Remote::Ready(r)) => report_panel(r, (*inc.exported).as_ref(), inc.export.clone()),
        Some(Remote::Failed(e)) => {
            html! { <ErrorNote error={e.clone()} context="The run failed" /> }
        }
        Some(Remote::Loading) => {
            html! { <p class="loading" data-testid="incident-running">{ "Revoking… items turn green as each backend proves them dead." }</p> }
        }
        None => html! {},
    };

    let dialog = if *confirm {
        let close = {
            let c = confirm.clone();
            Callback::from(move |()| c.set(false))
        };
        let go = {
            let (c, execute, reason) = (confirm.clone(), inc.execute.clone(), reason.clone());
            Callback::from(move |_| {
                c.set(false);
                execute.emit((ready, typed_reason(&reason)));
                // A reason belongs to the run it was typed for, not to the next one.
                reason.set(String::new());
            })
        };
        let backends: std::collections::BTreeSet<String> = match &plan {
            Some(Remote::Ready(p)) => p
                .items
                .iter()
                .filter(|i| i.is_ready())
                .map(|i| i.backend.clone())
                .collect(),
            _ => Default::default(),
        };
        html! {
            <Dialog id="incident-confirm-dialog" title={format!("Revoke {ready} action(s)?")} on_close={close.clone()} class="danger">
                <p>{ format!("This sends {ready} revocation(s) to {} backend(s): ", backends.len()) }
                   <strong>{ backends.into_iter().collect::<Vec<_>>().join(", ") }</strong>{ "." }</p>
                <p>{ "Each is journalled before it is sent and verified afterwards. Items listed as not sent stay untouched. This cannot be undone." }</p>
                { reason_field(&reason) }
                <footer>
                    <button onclick={close.reform(|_| ())}>{ "Cancel" }</button>
                    <button class="danger" id="incident-confirm" data-testid="incident-confirm" onclick={go}>{ format!("Revoke {ready}") }</button>
                </footer>
            </Dialog>
        }
    } else {
        html! {}
    };

    html! {
        <>
            <PageHead title="Incident" subtitle="Contain a leak: preview everything a selection reaches, on every backend, then revoke it in one confirmed step." />
            { unfinished }
            <form class="card inc-form" data-testid="incident-form" onsubmit={on_submit}>
                <div class="inc-fields">
                    { for FIELDS.iter().map(|(key, label, placeholder)| html! {
                        <label class="inline-field">
                            <span>{ *label }</span>
                            <input id={format!("incident-{key}")} data-testid={format!("incident-{key}")} type="text"
                                   placeholder={*placeholder} value={form.get(key).to_string()} oninput={on_field(key)}
                                   autocomplete="off" spellcheck="false" />
                        </label>
                    }) }
                    <label class="inc-tokens">
                        <span>{ "Token values" }</span>
                        <textarea id="incident-tokens" data-testid="incident-tokens" rows="2"
                                  placeholder="Only for backends that revoke a token by its value (OAuth 2.0): paste the leaked tokens, one per line"
                                  value={(*tokens).clone()} oninput={on_tokens} autocomplete="off" spellcheck="false" />
                        if *held > 0 {
                            <span class="muted" data-testid="incident-tokens-held">{ format!("{} token value(s) went with the last dry run; held in memory for this incident only, never stored", *held) }</span>
                        }
                    </label>
                    <label class="inc-grants">
                        <input type="checkbox" id="incident-grants" checked={form.grants} onchange={on_grants} />
                        { " Also revoke direct grants (memberships, privileges)" }
                    </label>
                </div>
                <div class="inc-submit">
                    <code class="muted" data-testid="incident-selection">{ if text.is_empty() { "(empty selection)".to_string() } else { text.clone() } }</code>
                    <button class="primary" type="submit" id="incident-dry-run" data-testid="incident-dry-run"
                            disabled={text.is_empty() || running}>{ "Dry run" }</button>
                </div>
            </form>
            { report_view }
            { plan_view }
            { resume_items }
            { dialog }
        </>
    }
}
