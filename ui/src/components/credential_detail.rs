//! The detail panel of one credential: what it is, its scopes, how its principal got each of its
//! permissions (the grant paths), and what it did recently. A side panel rather than a dialog, so
//! the table stays usable: clicking another row shows that one. Esc closes it.

use portcullis_model::{
    AuditEventView, CredentialDetail, CredentialStatus, GrantPath, JournalState,
    JournalledRevocation,
};
use yew::prelude::*;

use super::copy::CopyId;
use super::{ErrorNote, Time};
use crate::hooks::credentials::{kind_label, revocable, Revocation};
use crate::hooks::dom::use_keydown;
use crate::hooks::journal::JournalQuery;
use crate::hooks::Remote;
use crate::route::{Page, Route};

#[derive(Properties, PartialEq)]
pub struct PanelProps {
    pub id: i64,
    pub detail: Remote<CredentialDetail>,
    /// Whether its backend keeps an audit trail Portcullis reads (None: unknown).
    #[prop_or_default]
    pub audit: Option<bool>,
    #[prop_or_default]
    pub revocation: Option<Revocation>,
    pub on_close: Callback<()>,
    pub on_revoke: Callback<()>,
    pub on_triage: Callback<()>,
}

/// The Audit page, filtered on one credential as audit events name it (its backend's id, not
/// the cache's row number).
pub fn audit_href(backend: &str, external_id: &str) -> String {
    Route {
        page: Page::Audit,
        query: portcullis_model::credential_events_query(backend, external_id),
    }
    .href()
}

/// True while a modal dialog is open: Esc is then the dialog's, not the panel's.
fn dialog_open() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(".backdrop").ok().flatten())
        .is_some()
}

pub fn status_pill(status: CredentialStatus) -> Html {
    let class = match status {
        CredentialStatus::Active => "ok",
        CredentialStatus::Expired => "warn",
        CredentialStatus::Revoked => "bad",
        CredentialStatus::Unknown => "muted",
        CredentialStatus::Deleted => "muted",
    };
    html! { <span class={classes!("pill", "status-pill", class)} data-status={status.as_str()}>{ status.as_str() }</span> }
}

/// "Revoked by alice at 04:59 (verified), journal #1 · asked: POST auth/token/revoke-accessor ·
/// reason: INC-42": the journalled action that ended a credential, linked to its entry.
pub fn ended_by(r: &JournalledRevocation, testid: &'static str) -> Html {
    let verb = match r.state {
        JournalState::Verified => "Revoked and verified dead",
        JournalState::Failed => "Revocation failed",
        JournalState::Confirmed => "Revoked (the backend confirmed; not verified)",
        _ => "Revocation started",
    };
    html! {
        <p class="note ended-by" data-testid={testid} data-journal-seq={r.journal_seq.to_string()}
           data-state={r.state.as_str()}>
            { format!("{verb} by {} ", r.actor) }<Time at={r.at} />{ ", " }
            <a href={JournalQuery::entry(r.journal_seq).href()} data-testid="ended-by-journal">
                { format!("journal #{}", r.journal_seq) }
            </a>
            if let Some(asked) = &r.receipt { { format!(" · asked: {asked}") } }
            if let Some(reason) = &r.reason { { format!(" · reason: {reason}") } }
        </p>
    }
}

fn path_view(p: &GrantPath) -> Html {
    // Hops read "principal alice", "role ops", "permission read:x": kind, then name.
    let hops = p.hops.iter().enumerate().map(|(i, hop)| {
        let (kind, name) = hop.split_once(' ').unwrap_or(("", hop));
        html! {
            <>
                if i > 0 { <span class="arrow" aria-hidden="true">{ "→" }</span> }
                <span class={classes!("hop", kind.to_string())} title={kind.to_string()}>{ name }</span>
            </>
        }
    });
    html! { <li class="grant-path" data-testid="grant-path">{ for hops }</li> }
}

fn event_row(e: &AuditEventView) -> Html {
    let class = match e.outcome {
        portcullis_model::Outcome::Allow => "ok",
        portcullis_model::Outcome::Deny => "bad",
        portcullis_model::Outcome::Error => "warn",
    };
    html! {
        <tr data-testid="credential-event">
            <td><Time at={e.at} /></td>
            <td><code>{ &e.action }</code>{ e.resource.as_ref().map(|r| html! { <div class="muted">{ r }</div> }) }</td>
            <td><span class={classes!("pill", class)}>{ e.outcome.as_str() }</span></td>
            <td class="muted">{ e.source_ip.clone().unwrap_or_default() }</td>
        </tr>
    }
}

#[component]
pub fn CredentialPanel(props: &PanelProps) -> Html {
    {
        let on_close = props.on_close.clone();
        use_keydown(Callback::from(move |e: web_sys::KeyboardEvent| {
            if e.key() == "Escape" && !dialog_open() {
                e.prevent_default();
                on_close.emit(());
            }
        }));
    }
    let body = match &props.detail {
        Remote::Loading => html! { <p class="loading">{ "Loading…" }</p> },
        Remote::Failed(e) => {
            html! { <ErrorNote error={e.clone()} context="Could not load this credential" /> }
        }
        Remote::Ready(d) => detail_view(d, props),
    };
    let panel = html! {
        <aside id="credential-detail" class="drawer" aria-label="Credential detail" data-id={props.id.to_string()}>
            <header>
                <h2>{ "Credential" }<span class="muted">{ format!(" #{}", props.id) }</span></h2>
                <button class="icon" aria-label="Close (Esc)" title="Close (Esc)" onclick={props.on_close.reform(|_| ())}>{ "×" }</button>
            </header>
            { body }
        </aside>
    };
    // Outside the scrolling <main>, like dialogs (WebKitWebDriver hit-tests fixed boxes inside
    // a scroll container at the wrong place).
    match web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    {
        Some(body) => create_portal(panel, body.into()),
        None => panel,
    }
}

fn detail_view(d: &CredentialDetail, props: &PanelProps) -> Html {
    let c = &d.credential;
    let who = c.principal_name.clone().or_else(|| c.principal.clone());
    let can_revoke = revocable(c);
    let running = matches!(props.revocation, Some(Revocation::Running));
    html! {
        <>
            <div class="drawer-actions">
                {
                    match can_revoke {
                        Ok(()) => html! {
                            <button type="button" class="danger" id="detail-revoke" disabled={running}
                                    onclick={props.on_revoke.reform(|_| ())}>
                                { if running { "Revoking…" } else { "Revoke…" } }
                            </button>
                        },
                        Err(why) => html! {
                            <button type="button" class="danger" id="detail-revoke" disabled=true title={why}>{ "Revoke…" }</button>
                        },
                    }
                }
                <a class="button ghost" id="detail-events" href={audit_href(&c.backend, &c.external_id)}>{ "Show its events" }</a>
            </div>
            if let Some(r) = &d.ended_by { { ended_by(r, "detail-ended-by") } }
            if let Err(why) = can_revoke {
                if c.status == CredentialStatus::Active {
                    <p class="note" data-testid="revoke-unavailable">
                        { why }{ " " }
                        <button type="button" class="link" onclick={props.on_triage.reform(|_| ())}>{ "Open triage" }</button>
                    </p>
                }
            }
            <dl class="facts">
                <dt>{ "Kind" }</dt><dd data-testid="detail-kind">{ kind_label(c.kind) }</dd>
                <dt>{ "Status" }</dt><dd data-testid="detail-status">{ status_pill(c.status) }</dd>
                <dt>{ "Backend" }</dt><dd>{ &c.backend }<span class="muted">{ format!(" · {}", c.backend_kind.label()) }</span></dd>
                <dt>{ "Id" }</dt><dd><CopyId value={c.external_id.clone()} what="credential id" keep={28} testid="detail-external-id" /></dd>
                <dt>{ "Principal" }</dt>
                <dd data-testid="detail-principal">{
                    match (&who, &c.principal) {
                        (Some(name), Some(id)) if name != id => html! { <>{ name }<span class="muted">{ " · " }</span><CopyId value={id.clone()} what="principal id" keep={18} /></> },
                        (Some(name), _) => html! { { name } },
                        _ => html! { <span class="muted">{ "none named" }</span> },
                    }
                }</dd>
                if let Some(client) = &c.client { <dt>{ "Client" }</dt><dd>{ client }</dd> }
                <dt>{ "Issued" }</dt>
                <dd>{ match c.issued_at { Some(at) => html! { <Time at={at} /> }, None => html! { <span class="muted">{ "not reported" }</span> } } }</dd>
                <dt>{ "Expires" }</dt>
                <dd data-testid="detail-expires">{
                    match (c.status, c.expires_at) {
                        // An ended credential's expiry is moot: say so rather than count down.
                        (CredentialStatus::Revoked | CredentialStatus::Deleted, Some(at)) => html! {
                            <><span class="muted">{ format!("no longer: {} · was ", c.status.as_str()) }</span><Time at={at} /></>
                        },
                        (CredentialStatus::Revoked | CredentialStatus::Deleted, None) => html! {
                            <span class="muted">{ format!("no longer: {}", c.status.as_str()) }</span>
                        },
                        (_, Some(at)) => html! { <Time at={at} /> },
                        (_, None) => html! { <span class="pill warn never">{ "never" }</span> },
                    }
                }</dd>
                <dt>{ "Last used" }</dt>
                <dd data-testid="detail-last-used">{ match c.last_used_at { Some(at) => html! { <Time at={at} /> }, None => html! { <span class="muted">{ "never, as far as the audit trail shows" }</span> } } }</dd>
                <dt>{ "Known from" }</dt>
                <dd>{ if c.origin == "triage" { "token triage (looked up by its value)" } else { "the backend's inventory (sync)" } }</dd>
            </dl>

            <section>
                <h3>{ format!("Scopes ({})", c.scopes.len()) }</h3>
                if c.scopes.is_empty() {
                    <p class="muted">{ "The backend lists no scopes or policies for it." }</p>
                } else {
                    <p class="chips" data-testid="detail-scopes">{ for c.scopes.iter().map(|s| html! { <span class="chip scope">{ s }</span> }) }</p>
                }
            </section>

            <section>
                <h3>{ "How the principal got its permissions" }</h3>
                {
                    if d.paths.is_empty() {
                        html! { <p class="muted" data-testid="no-grant-path">{
                            match &who {
                                Some(w) => format!("The cache holds no grant path from {w} to a permission: its rights come with the credential itself (its scopes or policies)."),
                                None => "This credential names no principal, so there is no grant path to show.".to_string(),
                            }
                        }</p> }
                    } else {
                        html! { <ul class="grant-paths">{ for d.paths.iter().map(path_view) }</ul> }
                    }
                }
            </section>

            <section>
                <h3>{ format!("Recent events ({})", d.recent_events.len()) }</h3>
                if d.recent_events.is_empty() {
                    <p class="muted" data-testid="no-events">{
                        match props.audit {
                            Some(false) => "This backend keeps no audit trail Portcullis reads, so its use cannot be shown.",
                            _ => "No audit event mentions this credential in the cache (sync to pull new events).",
                        }
                    }</p>
                } else {
                    <table class="table compact events">
                        <thead><tr><th>{ "When" }</th><th>{ "Action" }</th><th>{ "Outcome" }</th><th>{ "From" }</th></tr></thead>
                        <tbody>{ for d.recent_events.iter().map(event_row) }</tbody>
                    </table>
                }
            </section>
        </>
    }
}
