//! Backends: register the systems Portcullis reads, check the console's access to each, remove them.

use portcullis_model::{BackendInfo, Capabilities, IpcError};
use wasm_bindgen::JsCast;
use yew::prelude::*;

use super::PageHead;
use crate::app::replace_route;
use crate::components::backend_form::AddBackendDialog;
use crate::components::check_report::CheckResult;
use crate::components::{Dialog, EmptyState, ErrorNote};
use crate::hooks::backends::{use_backends, BackendsHandle, BulkKind, BulkProgress, CheckState};
use crate::hooks::Remote;
use crate::pages::overview::{last_check, last_sync};
use crate::route::{Page, Route};

#[derive(Properties, PartialEq)]
pub struct BackendsProps {
    /// The filter from the URL (`#/backends?q=`).
    #[prop_or_default]
    pub query: String,
    /// Open the add-backend dialog at once (`#/backends?add=1`, from the welcome page).
    #[prop_or_default]
    pub add: bool,
}

fn matches(b: &BackendInfo, filter: &str) -> bool {
    let f = filter.trim().to_lowercase();
    f.is_empty()
        || b.name.to_lowercase().contains(&f)
        || b.url.to_lowercase().contains(&f)
        || b.kind.label().to_lowercase().contains(&f)
        || b.kind.as_str().contains(&f)
}

#[component]
pub fn BackendsPage(props: &BackendsProps) -> Html {
    let backends = use_backends();
    let adding = use_state(|| props.add);
    let removing = use_state(|| None::<BackendInfo>);
    let filter = use_state(|| props.query.clone());

    let open_add = {
        let adding = adding.clone();
        Callback::from(move |_: MouseEvent| adding.set(true))
    };
    // Closing the dialog also drops `add=1` from the URL, so a reload does not reopen it.
    let forget_add = {
        let query = props.query.clone();
        move || {
            replace_route(&Route {
                page: Page::Backends,
                query: query.clone(),
            })
        }
    };
    let close_add = {
        let (adding, forget_add) = (adding.clone(), forget_add.clone());
        Callback::from(move |()| {
            forget_add();
            adding.set(false)
        })
    };
    let on_added = {
        let adding = adding.clone();
        Callback::from(move |_: BackendInfo| {
            forget_add();
            adding.set(false)
        })
    };
    let on_filter = {
        let filter = filter.clone();
        Callback::from(move |e: InputEvent| {
            let value = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
                .map(|i| i.value())
                .unwrap_or_default();
            replace_route(&Route {
                page: Page::Backends,
                query: value.clone(),
            });
            filter.set(value);
        })
    };
    let state = &*backends.state;
    let running_all = state.bulk.as_ref().is_some_and(|b| b.running);
    let syncing = state
        .bulk
        .as_ref()
        .is_some_and(|b| b.running && b.kind == BulkKind::Sync);
    let checking_all = running_all && !syncing;
    let has_backends = matches!(&state.list, Remote::Ready(l) if !l.is_empty());

    let body = match &state.list {
        Remote::Loading => {
            html! { <p class="loading" data-testid="loading">{ "Loading backends…" }</p> }
        }
        Remote::Failed(e) => {
            html! { <ErrorNote error={e.clone()} context="Could not load the backends" /> }
        }
        Remote::Ready(list) if list.is_empty() => html! {
            <EmptyState title="No backends yet" testid="backends-empty">
                <p>{ "Add the first system whose access you review: an OAuth 2.0 server, Vault or OpenBao, PostgreSQL, Keycloak, Kong, Kubernetes, AWS IAM, GitLab, a GitHub organisation or a hoop.dev gateway." }</p>
                <p class="muted">{ "For a local playground, " }<code>{ "make run" }</code>{ " starts the sandbox and connects it." }</p>
                <button class="primary" onclick={open_add.clone()}>{ "Add backend" }</button>
            </EmptyState>
        },
        Remote::Ready(list) => {
            let shown: Vec<&BackendInfo> = list.iter().filter(|b| matches(b, &filter)).collect();
            if shown.is_empty() {
                html! { <p class="muted" data-testid="no-match">{ format!("No backend matches “{}”.", filter.trim()) }</p> }
            } else {
                html! {
                    <ul class="backend-list" data-testid="backend-list">
                        { for shown.into_iter().map(|b| backend_card(b, &backends, &removing, running_all)) }
                    </ul>
                }
            }
        }
    };

    html! {
        <>
            <PageHead title="Backends" subtitle="The systems Portcullis reads, and what it can do on each.">
                <input id="backend-filter" class="search" type="search" data-search="true"
                       placeholder="Filter  ( / )" aria-label="Filter backends"
                       value={(*filter).clone()} oninput={on_filter} />
                <button id="check-all" class="ghost" disabled={running_all || !has_backends}
                        onclick={backends.check_all.reform(|_| ())}>
                    { if checking_all { "Checking…" } else { "Check all" } }
                </button>
                <button id="sync-all" class="ghost" disabled={running_all || !has_backends}
                        title="Pull inventories and new audit events of every backend into the cache"
                        onclick={backends.sync.reform(|_| Vec::new())}>
                    { if syncing { "Syncing…" } else { "Sync all" } }
                </button>
                <button id="add-backend" class="primary" onclick={open_add}>{ "Add backend" }</button>
            </PageHead>
            if let Some(bulk) = &state.bulk { { bulk_view(bulk, &backends.cancel_sync) } }
            { body }
            if *adding {
                <AddBackendDialog on_close={close_add} on_submit={backends.add.clone()} on_added={on_added} />
            }
            if let Some(target) = &*removing {
                <RemoveDialog backend={target.clone()} remove={backends.remove.clone()}
                              on_close={{ let r = removing.clone(); Callback::from(move |()| r.set(None)) }} />
            }
        </>
    }
}

fn bulk_view(b: &BulkProgress, cancel: &Callback<()>) -> Html {
    let (max, value) = match b.total {
        Some(t) if t > 0 => (t as f64, b.done.min(t) as f64),
        _ => (1.0, if b.running { 0.0 } else { 1.0 }),
    };
    let class = match (b.running, b.ok) {
        (true, _) => "running",
        (false, Some(true)) if b.partial => "ok partial",
        (false, Some(true)) => "ok",
        _ => "bad",
    };
    let (testid, title) = match b.kind {
        BulkKind::Check => ("check-all-progress", "Check"),
        BulkKind::Sync => ("sync-progress", "Sync"),
    };
    html! {
        <section class={classes!("bulk", class)} data-testid={testid} aria-live="polite"
                 data-running={b.running.to_string()}>
            <strong>{ title }</strong>
            if b.running && b.total.is_none() {
                <span class="spinner" />
            } else {
                <progress max={max.to_string()} value={value.to_string()} />
            }
            <span class="count">{
                match b.total { Some(t) => format!("{} / {}", b.done, t), None => String::new() }
            }</span>
            <span class="msg">{ &b.message }</span>
            if b.running && b.kind == BulkKind::Sync {
                <button id="cancel-sync" class="ghost" disabled={b.cancelling}
                        onclick={cancel.reform(|_| ())}>{ "Cancel" }</button>
            }
        </section>
    }
}

/// A capability badge: label, what it means, and how to read it from [`Capabilities`].
type CapabilityBadge = (&'static str, &'static str, fn(&Capabilities) -> bool);

const CAPABILITIES: [CapabilityBadge; 6] = [
    ("Principals", "lists users, roles and clients", |c| {
        c.list_principals
    }),
    ("Credentials", "lists live tokens, keys or sessions", |c| {
        c.list_credentials
    }),
    (
        "Token lookup",
        "looks a token up by its value (triage)",
        |c| c.token_lookup,
    ),
    (
        "Audit trail",
        "has an audit trail Portcullis can read",
        |c| c.audit,
    ),
    ("Revoke", "can revoke credentials", |c| c.revoke),
    ("Verify", "can prove a revoked credential is dead", |c| {
        c.verify
    }),
];

fn backend_card(
    b: &BackendInfo,
    backends: &BackendsHandle,
    removing: &UseStateHandle<Option<BackendInfo>>,
    busy: bool,
) -> Html {
    let check_state = backends.state.checks.get(&b.name).cloned();
    let running = matches!(check_state, Some(CheckState::Running));
    let on_check = {
        let (check, name) = (backends.check.clone(), b.name.clone());
        Callback::from(move |_: MouseEvent| check.emit(name.clone()))
    };
    let on_sync = {
        let (sync, name) = (backends.sync.clone(), b.name.clone());
        Callback::from(move |_: MouseEvent| sync.emit(vec![name.clone()]))
    };
    let on_remove = {
        let (removing, b) = (removing.clone(), b.clone());
        Callback::from(move |_: MouseEvent| removing.set(Some(b.clone())))
    };
    let caps = &b.capabilities;
    html! {
        <li class="card backend" data-testid="backend-row" data-name={b.name.clone()}>
            <div class="row-head">
                <div class="title">
                    <h3 data-testid="backend-name">{ &b.name }</h3>
                    <span class="chip" data-testid="backend-kind">{ b.kind.label() }</span>
                </div>
                <div class="actions">
                    <button class="ghost" data-testid="sync-backend" disabled={busy} onclick={on_sync}
                            title={format!("Pull the inventory and new audit events of {} into the cache", b.name)}>
                        { "Sync" }
                    </button>
                    <button class="ghost" data-testid="check-backend" disabled={running || busy} onclick={on_check}
                            title={format!("Check that Portcullis can reach {} and has the rights it needs", b.name)}>
                        { if running { "Checking…" } else { "Check" } }
                    </button>
                    <button class="ghost danger" data-testid="remove-backend" onclick={on_remove}>{ "Remove" }</button>
                </div>
            </div>
            <dl class="facts inline">
                <dt>{ "URL" }</dt><dd><code data-testid="backend-url">{ &b.url }</code></dd>
                <dt>{ "Credential" }</dt><dd data-testid="backend-credential">{ b.credential.describe() }</dd>
                if let Some(log) = &b.audit_log {
                    <dt>{ "Audit log" }</dt><dd><code data-testid="backend-audit-log">{ log }</code></dd>
                }
                <dt>{ "Last check" }</dt><dd data-testid="backend-last-check">{ last_check(b.last_check.as_ref(), false) }</dd>
                <dt>{ "Last sync" }</dt><dd data-testid="backend-last-sync">{ last_sync(b.last_sync.as_ref(), false) }</dd>
            </dl>
            <div class="caps" aria-label="Capabilities">
                { for CAPABILITIES.iter().map(|(label, what, has)| {
                    let on = has(caps);
                    let title = if on { format!("This backend {what}") } else { format!("This backend cannot: {what}") };
                    html! { <span class={classes!("badge", if on { "on" } else { "off" })} title={title}>
                        { if on { "✓ " } else { "— " } }{ *label }
                    </span> }
                }) }
            </div>
            if !caps.notes.is_empty() {
                <ul class="notes">{ for caps.notes.iter().map(|n| html! { <li>{ n }</li> }) }</ul>
            }
            if let Some(state) = check_state {
                <CheckResult backend={b.name.clone()} state={state} />
            }
        </li>
    }
}

#[derive(Properties, PartialEq)]
struct RemoveProps {
    backend: BackendInfo,
    remove: Callback<(String, Callback<Result<(), IpcError>>)>,
    on_close: Callback<()>,
}

#[component]
fn RemoveDialog(props: &RemoveProps) -> Html {
    let error = use_state(|| None::<IpcError>);
    let busy = use_state(|| false);
    let b = &props.backend;
    let confirm = {
        let (error, busy, remove, on_close, name) = (
            error.clone(),
            busy.clone(),
            props.remove.clone(),
            props.on_close.clone(),
            b.name.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            busy.set(true);
            let (error, busy, on_close) = (error.clone(), busy.clone(), on_close.clone());
            remove.emit((
                name.clone(),
                Callback::from(move |result: Result<(), IpcError>| {
                    busy.set(false);
                    match result {
                        Ok(()) => on_close.emit(()),
                        Err(e) => error.set(Some(e)),
                    }
                }),
            ));
        })
    };
    html! {
        <Dialog id="remove-backend-dialog" title={format!("Remove backend “{}”?", b.name)}
                on_close={props.on_close.clone()} class="danger">
            <p>
                { "Portcullis will stop reading " }<strong>{ &b.name }</strong>
                { format!(" ({}, ", b.kind.label()) }<code>{ &b.url }</code>
                { ") and delete what it cached from it, along with its keychain entry if it has one." }
            </p>
            <p class="muted">{ "Nothing changes on the backend itself: no credential or grant there is revoked." }</p>
            if let Some(e) = &*error { <ErrorNote error={e.clone()} context="The backend was not removed" /> }
            <footer>
                <button type="button" class="ghost" data-autofocus="true" onclick={props.on_close.reform(|_| ())}>{ "Cancel" }</button>
                <button id="confirm-remove" type="button" class="danger" disabled={*busy} onclick={confirm}>
                    { format!("Remove {}", b.name) }
                </button>
            </footer>
        </Dialog>
    }
}
