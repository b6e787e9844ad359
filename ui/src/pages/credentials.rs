//! Credentials: every token, key, session and login the backends hold, in one table with filters
//! and sorting kept in the URL; a detail panel saying how each credential's principal got its
//! rights; per-row revocation with a confirmation and the backend's proof in place; and the way
//! into token triage (T).

use std::collections::HashMap;

use portcullis_model::{BackendInfo, CredentialStatus, CredentialView};
use wasm_bindgen::JsCast;
use yew::prelude::*;

use super::PageHead;
use crate::app::replace_href;
use crate::components::credential_detail::{status_pill, CredentialPanel};
use crate::components::revoke::RevokeDialog;
use crate::components::{EmptyState, ErrorNote, Time};
use crate::hooks::credentials::{
    holder, kind_label, revocable, use_credentials, verdict, CredentialQuery, CredentialsHandle,
    Listing, Revocation, SortKey, Verdict, KINDS, LIST_CAP, PAGE_SIZE, STATUSES,
};
use crate::hooks::triage::TriageContext;
use crate::hooks::Remote;

#[derive(Properties, PartialEq)]
pub struct CredentialsProps {
    /// The URL's filters (`#/credentials?q=…&status=…`).
    #[prop_or_default]
    pub params: Vec<(String, String)>,
}

fn target_value(e: &Event) -> String {
    let target = e.target();
    if let Some(s) = target
        .clone()
        .and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok())
    {
        return s.value();
    }
    target
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        .map(|i| i.value())
        .unwrap_or_default()
}

fn checked(e: &Event) -> bool {
    e.target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        .is_some_and(|i| i.checked())
}

/// What the table needs to know about each backend.
struct BackendFacts {
    audit: HashMap<String, bool>,
}

impl BackendFacts {
    fn of(backends: &Remote<Vec<BackendInfo>>) -> Self {
        let audit = match backends {
            Remote::Ready(list) => list
                .iter()
                .map(|b| (b.name.clone(), b.capabilities.audit))
                .collect(),
            _ => HashMap::new(),
        };
        BackendFacts { audit }
    }
}

#[component]
pub fn CredentialsPage(props: &CredentialsProps) -> Html {
    let query = use_state(|| CredentialQuery::from_params(&props.params));
    {
        // A link followed to this page (or Back) changes the URL: show what it says.
        let query = query.clone();
        use_effect_with(props.params.clone(), move |p| {
            let q = CredentialQuery::from_params(p);
            if *query != q {
                query.set(q);
            }
        });
    }
    let triage = use_context::<TriageContext>();
    let revision = triage.as_ref().map(|t| t.revision).unwrap_or(0);
    let open_triage = triage.map(|t| t.open).unwrap_or_default();
    let creds = use_credentials(&query, revision);
    let revoking = use_state(|| None::<CredentialView>);

    let set_query = {
        let query = query.clone();
        Callback::from(move |q: CredentialQuery| {
            replace_href(&q.href());
            query.set(q);
        })
    };
    let edit = |f: fn(&mut CredentialQuery, &Event)| {
        let (query, set_query) = (query.clone(), set_query.clone());
        Callback::from(move |e: Event| {
            let mut next = (*query).clone();
            f(&mut next, &e);
            next.page = 1;
            set_query.emit(next);
        })
    };
    let on_search = {
        let (query, set_query) = (query.clone(), set_query.clone());
        Callback::from(move |e: InputEvent| {
            let value = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
                .map(|i| i.value())
                .unwrap_or_default();
            set_query.emit(CredentialQuery {
                search: value,
                page: 1,
                ..(*query).clone()
            });
        })
    };
    let on_backend = edit(|q, e| q.backend = target_value(e));
    let on_kind = edit(|q, e| {
        let v = target_value(e);
        q.kind = KINDS.into_iter().find(|k| k.as_str() == v);
    });
    let on_status = edit(|q, e| {
        let v = target_value(e);
        q.status = STATUSES.into_iter().find(|s| s.as_str() == v);
    });
    let on_never = edit(|q, e| q.never_expires = checked(e));
    let clear = {
        let (query, set_query) = (query.clone(), set_query.clone());
        Callback::from(move |_: MouseEvent| set_query.emit(query.cleared()))
    };
    let select = {
        let (query, set_query) = (query.clone(), set_query.clone());
        Callback::from(move |id: Option<i64>| {
            set_query.emit(CredentialQuery {
                selected: id,
                ..(*query).clone()
            })
        })
    };
    let ask_revoke = {
        let revoking = revoking.clone();
        Callback::from(move |c: CredentialView| revoking.set(Some(c)))
    };

    let state = &*creds.state;
    let facts = BackendFacts::of(&state.backends);
    let body = match &state.list {
        Remote::Loading => {
            html! { <p class="loading" data-testid="loading">{ "Loading credentials…" }</p> }
        }
        Remote::Failed(e) => {
            html! { <ErrorNote error={e.clone()} context="Could not load the credentials" /> }
        }
        Remote::Ready(l) if l.rows.is_empty() => {
            empty(&query, &state.backends, &clear, &open_triage)
        }
        Remote::Ready(l) => table(l, &query, &set_query, &select, &ask_revoke, &creds, &facts),
    };

    let panel = query.selected.map(|id| {
        let detail = match &state.detail {
            Some((i, d)) if *i == id => d.clone(),
            _ => Remote::Loading,
        };
        let backend = match &detail {
            Remote::Ready(d) => Some(d.credential.backend.clone()),
            _ => None,
        };
        let on_revoke = {
            let (ask, detail) = (ask_revoke.clone(), detail.clone());
            Callback::from(move |()| {
                if let Remote::Ready(d) = &detail {
                    ask.emit(d.credential.clone());
                }
            })
        };
        html! {
            <CredentialPanel id={id} detail={detail}
                audit={backend.and_then(|b| facts.audit.get(&b).copied())}
                revocation={state.revocations.get(&id).cloned()}
                on_close={select.reform(|()| None)}
                on_revoke={on_revoke}
                on_triage={open_triage.clone()} />
        }
    });

    let q = &*query;
    let backend_names: Vec<String> = match &state.backends {
        Remote::Ready(list) => list.iter().map(|b| b.name.clone()).collect(),
        _ => Vec::new(),
    };
    html! {
        <>
            <PageHead title="Credentials" subtitle="Every token, key, session and login your backends hold, from the local cache.">
                <input id="credential-search" class="search" type="search" data-search="true"
                       placeholder="Search  ( / )" aria-label="Search credentials by id, principal, client, scope or backend"
                       value={q.search.clone()} oninput={on_search} />
                <button id="open-triage" class="primary" onclick={open_triage.reform(|_| ())}
                        aria-keyshortcuts="T" title="Paste a token to find its owner and rights, and revoke it (T)">
                    { "Triage a token" }<kbd>{ "T" }</kbd>
                </button>
                <button id="credentials-refresh" class="ghost" onclick={creds.reload.reform(|_| ())}>{ "Refresh" }</button>
            </PageHead>
            <div class="filters" role="group" aria-label="Filters">
                <label>{ "Backend" }
                    <select id="filter-backend" onchange={on_backend}>
                        <option value="" selected={q.backend.is_empty()}>{ "All" }</option>
                        { for backend_names.iter().map(|b| html! { <option value={b.clone()} selected={q.backend == *b}>{ b }</option> }) }
                        // A backend named in the URL but gone from the list still shows as chosen.
                        if !q.backend.is_empty() && !backend_names.contains(&q.backend) {
                            <option value={q.backend.clone()} selected=true>{ &q.backend }</option>
                        }
                    </select>
                </label>
                <label>{ "Kind" }
                    <select id="filter-kind" onchange={on_kind}>
                        <option value="" selected={q.kind.is_none()}>{ "All" }</option>
                        { for KINDS.iter().map(|k| html! { <option value={k.as_str()} selected={q.kind == Some(*k)}>{ kind_label(*k) }</option> }) }
                    </select>
                </label>
                <label>{ "Status" }
                    <select id="filter-status" onchange={on_status}>
                        <option value="" selected={q.status.is_none()}>{ "All" }</option>
                        { for STATUSES.iter().map(|s| html! { <option value={s.as_str()} selected={q.status == Some(*s)}>{ s.as_str() }</option> }) }
                    </select>
                </label>
                <label class="check">
                    <input type="checkbox" id="filter-never" checked={q.never_expires} onchange={on_never} />
                    { "Never expires" }
                </label>
                if q.is_filtered() {
                    <button type="button" id="clear-filters" class="link" onclick={clear.clone()}>{ "Clear filters" }</button>
                }
                <span class="count muted" data-testid="credential-count" aria-live="polite">{
                    match &state.list {
                        Remote::Ready(l) => {
                            let n = l.rows.len();
                            let more = if l.truncated { "+" } else { "" };
                            format!("{n}{more} credential{}{}", if n == 1 { "" } else { "s" }, if state.refreshing { " · updating…" } else { "" })
                        }
                        _ => String::new(),
                    }
                }</span>
            </div>
            { body }
            { for panel }
            if let Some(c) = &*revoking {
                <RevokeDialog credential={c.clone()} preview={creds.preview.clone()}
                              state={state.revocations.get(&c.id).cloned()}
                              on_confirm={creds.revoke.clone()}
                              on_close={{ let r = revoking.clone(); Callback::from(move |()| r.set(None)) }} />
            }
        </>
    }
}

fn empty(
    q: &CredentialQuery,
    backends: &Remote<Vec<BackendInfo>>,
    clear: &Callback<MouseEvent>,
    open_triage: &Callback<()>,
) -> Html {
    if q.is_filtered() {
        return html! {
            <EmptyState title="No credential matches these filters" testid="credentials-no-match">
                <p>{ "Try fewer filters, or search for part of an id, a principal, a client or a scope." }</p>
                <button class="primary" onclick={clear.clone()}>{ "Clear filters" }</button>
            </EmptyState>
        };
    }
    match backends {
        Remote::Ready(list) if list.is_empty() => html! {
            <EmptyState title="No backends yet" testid="credentials-no-backends">
                <p>{ "Credentials come from the backends Portcullis reads. Add one on the " }
                   <a href="#/backends">{ "Backends page" }</a>{ ", then sync it." }</p>
                <a class="button primary" href="#/backends">{ "Go to Backends" }</a>
            </EmptyState>
        },
        Remote::Ready(list)
            if !list
                .iter()
                .any(|b| b.last_sync.as_ref().is_some_and(|s| s.ok == Some(true))) =>
        {
            html! {
                <EmptyState title="Sync your backends" testid="credentials-not-synced">
                    <p>{ format!("{} backend{} registered, but none synced yet: the cache holds no credentials to list.", list.len(), if list.len() == 1 { " is" } else { "s are" }) }</p>
                    <p>{ "On the Backends page, press " }<strong>{ "Sync all" }</strong>{ " (or run " }<code>{ "portcullis sync" }</code>{ ")." }</p>
                    <a class="button primary" href="#/backends">{ "Go to Backends" }</a>
                </EmptyState>
            }
        }
        _ => html! {
            <EmptyState title="No credentials in the cache" testid="credentials-empty">
                <p>{ "The synced backends list no tokens, keys or sessions. Some cannot list them at all (an OAuth 2.0 server has no API for it): bring such a token to triage to see what it is." }</p>
                <button class="primary" onclick={open_triage.reform(|_| ())}>{ "Triage a token" }</button>
            </EmptyState>
        },
    }
}

fn sort_header(
    label: &str,
    key: SortKey,
    q: &CredentialQuery,
    set_query: &Callback<CredentialQuery>,
    class: Option<&'static str>,
) -> Html {
    let active = q.sort == key;
    let aria = match (active, q.descending) {
        (false, _) => "none",
        (true, false) => "ascending",
        (true, true) => "descending",
    };
    let arrow = match aria {
        "ascending" => " ▲",
        "descending" => " ▼",
        _ => "",
    };
    let next = q.sorted_by(key);
    html! {
        <th aria-sort={aria} class={classes!(class)}>
            <button type="button" class={classes!("sort", active.then_some("active"))} data-sort={key.as_str()}
                    title={format!("Sort by {}", label.to_lowercase())}
                    onclick={set_query.reform(move |_| next.clone())}>
                { label }<span class="arrow" aria-hidden="true">{ arrow }</span>
            </button>
        </th>
    }
}

fn date_cell(at: Option<chrono::DateTime<chrono::Utc>>, none: Html, testid: &'static str) -> Html {
    html! {
        <td class="when" data-testid={testid}>{
            match at { Some(at) => html! { <Time at={at} compact=true /> }, None => none }
        }</td>
    }
}

fn revocation_badge(r: Option<&Revocation>) -> Html {
    match r {
        None => html! {},
        Some(Revocation::Running) => html! {
            <span class="rev-badge running" data-testid="row-revocation" data-verdict="running">{ "revoking…" }</span>
        },
        Some(Revocation::Done(Err(e))) => html! {
            <span class="rev-badge bad" data-testid="row-revocation" data-verdict="failed" title={format!("{} ({})", e.message, e.code)}>
                { format!("failed: {}", e.code) }
            </span>
        },
        Some(Revocation::Done(Ok(o))) => match verdict(o) {
            Verdict::Verified { evidence } => html! {
                <span class="rev-badge ok" data-testid="row-revocation" data-verdict="verified" title={evidence}>{ "✓ verified dead" }</span>
            },
            Verdict::Unverified => html! {
                <span class="rev-badge warn" data-testid="row-revocation" data-verdict="unverified">{ "not verified" }</span>
            },
            Verdict::Failed(e) => html! {
                <span class="rev-badge bad" data-testid="row-revocation" data-verdict="failed" title={format!("{} ({})", e.message, e.code)}>
                    { format!("failed: {}", e.code) }
                </span>
            },
        },
    }
}

fn table(
    l: &Listing,
    q: &CredentialQuery,
    set_query: &Callback<CredentialQuery>,
    select: &Callback<Option<i64>>,
    ask_revoke: &Callback<CredentialView>,
    creds: &CredentialsHandle,
    facts: &BackendFacts,
) -> Html {
    let pages = l.rows.len().div_ceil(PAGE_SIZE).max(1);
    let page = q.page.clamp(1, pages);
    let start = (page - 1) * PAGE_SIZE;
    let shown = &l.rows[start..(start + PAGE_SIZE).min(l.rows.len())];
    let go = |p: usize| {
        let next = CredentialQuery {
            page: p,
            ..q.clone()
        };
        set_query.reform(move |_: MouseEvent| next.clone())
    };
    let row = |c: &CredentialView| {
        let open = {
            let (select, id) = (select.clone(), c.id);
            Callback::from(move |_: MouseEvent| select.emit(Some(id)))
        };
        let on_key = {
            let (select, id) = (select.clone(), c.id);
            Callback::from(move |e: KeyboardEvent| {
                if e.key() == "Enter" {
                    e.prevent_default();
                    select.emit(Some(id));
                }
            })
        };
        let revoke = {
            let (ask, c) = (ask_revoke.clone(), c.clone());
            Callback::from(move |e: MouseEvent| {
                e.stop_propagation();
                ask.emit(c.clone());
            })
        };
        let who = holder(c);
        let shown_scopes = 3;
        let audit = facts.audit.get(&c.backend).copied();
        let running = matches!(
            creds.state.revocations.get(&c.id),
            Some(Revocation::Running)
        );
        html! {
            <tr data-testid="credential-row" data-id={c.id.to_string()} data-external-id={c.external_id.clone()}
                class={classes!("clickable", (q.selected == Some(c.id)).then_some("selected"), (c.status == CredentialStatus::Revoked).then_some("revoked"))}
                tabindex="0" onclick={open} onkeydown={on_key}
                aria-label={format!("{} of {} on {}", kind_label(c.kind), who.clone().unwrap_or_else(|| "no principal".into()), c.backend)}>
                <td>
                    <span class="kind">{ kind_label(c.kind) }</span>
                    <div class="sub muted" data-testid="row-backend">{ &c.backend }</div>
                </td>
                <td class="principal">
                    <span data-testid="row-principal">{ who.clone().unwrap_or_else(|| "—".into()) }</span>
                    if let Some(client) = &c.client { <div class="sub muted">{ format!("client {client}") }</div> }
                </td>
                <td class="scopes" data-testid="row-scopes" title={c.scopes.join(" ")}>
                    { for c.scopes.iter().take(shown_scopes).map(|s| html! { <span class="chip scope">{ s }</span> }) }
                    if c.scopes.len() > shown_scopes { <span class="more muted">{ format!("+{}", c.scopes.len() - shown_scopes) }</span> }
                    if c.scopes.is_empty() { <span class="muted">{ "—" }</span> }
                </td>
                { date_cell(c.issued_at, html! { <span class="muted">{ "—" }</span> }, "row-issued") }
                if ended(c.status) {
                    // Its expiry no longer matters: it is over.
                    <td data-testid="row-expires"><span class="muted">{ "—" }</span></td>
                } else {
                    { date_cell(c.expires_at, html! { <span class="pill warn never">{ "never" }</span> }, "row-expires") }
                }
                { date_cell(c.last_used_at, html! { <span class="muted">{ if audit == Some(false) { "no audit trail" } else { "never used" } }</span> }, "row-last-used") }
                <td class="status-cell" data-testid="row-status">
                    { status_pill(c.status) }
                    { revocation_badge(creds.state.revocations.get(&c.id)) }
                </td>
                <td class="row-actions">{
                    match revocable(c) {
                        Err(_) if ended(c.status) => html! {
                            <span class="muted small" data-testid="row-ended">{ "ended" }</span>
                        },
                        Ok(()) => html! {
                            <button type="button" class="ghost danger small" data-testid="revoke-credential" disabled={running}
                                    title={format!("Revoke this {} on {}", kind_label(c.kind).to_lowercase(), c.backend)} onclick={revoke}>
                                { "Revoke" }
                            </button>
                        },
                        Err(why) => html! {
                            <button type="button" class="ghost danger small" data-testid="revoke-credential" disabled=true
                                    title={why} aria-label={format!("Revoke (unavailable: {why})")}>
                                { "Revoke" }
                            </button>
                        },
                    }
                }</td>
            </tr>
        }
    };
    html! {
        <>
            if l.truncated {
                <p class="note" data-testid="list-capped">{ format!(
                    "Showing the first {} matches in this order; narrow the filters or search to see the rest.",
                    LIST_CAP
                ) }</p>
            }
            <div class="card table-card">
                <table class="table credentials" id="credentials-table">
                    <thead><tr>
                        { sort_header("Credential", SortKey::Backend, q, set_query, None) }
                        { sort_header("Principal", SortKey::Principal, q, set_query, None) }
                        <th>{ "Scopes" }</th>
                        { sort_header("Issued", SortKey::Issued, q, set_query, Some("when")) }
                        { sort_header("Expires", SortKey::Expires, q, set_query, Some("when")) }
                        { sort_header("Last used", SortKey::LastUsed, q, set_query, Some("when")) }
                        { sort_header("Status", SortKey::Status, q, set_query, None) }
                        <th><span class="sr-only">{ "Actions" }</span></th>
                    </tr></thead>
                    <tbody>{ for shown.iter().map(row) }</tbody>
                </table>
            </div>
            if pages > 1 {
                <nav class="pager" aria-label="Pages">
                    <button type="button" id="page-prev" class="ghost" disabled={page <= 1} onclick={go(page.saturating_sub(1))}>{ "‹ Previous" }</button>
                    <span data-testid="page-info">{ format!("{}–{} of {}{}", start + 1, start + shown.len(), l.rows.len(), if l.truncated { "+" } else { "" }) }</span>
                    <button type="button" id="page-next" class="ghost" disabled={page >= pages} onclick={go(page + 1)}>{ "Next ›" }</button>
                </nav>
            }
        </>
    }
}

/// Revoked or no longer listed: over for good, so nothing about its future applies.
fn ended(status: CredentialStatus) -> bool {
    matches!(
        status,
        CredentialStatus::Revoked | CredentialStatus::Deleted
    )
}
