//! One audit event in a side panel: its facts, the record as the backend delivered it (pretty
//! JSON, with what was redacted at ingest named), the engine's pivots (same actor, same credential, same resource, same source),
//! and a Revoke action for the credential it names when the cache holds it (journey 3: from the
//! suspicious event straight to revocation).

use portcullis_model::{
    AuditEventDetail, AuditField, CredentialStatus, CredentialView, IpcError, RevocationTarget,
};
use yew::prelude::*;

use super::credential_detail::status_pill;
use super::{ErrorNote, Time};
use crate::hooks::credentials::{holder, kind_label, revocable};
use crate::hooks::Remote;

#[derive(Properties, PartialEq)]
pub struct AuditDetailProps {
    pub detail: Remote<AuditEventDetail>,
    pub on_close: Callback<()>,
    /// Replaces the search with a pivot's query.
    pub on_pivot: Callback<String>,
    /// Opens the revoke dialog for a target, with the label it shows.
    pub on_revoke: Callback<(RevocationTarget, String)>,
}

fn pretty(raw: &serde_json::Value) -> String {
    serde_json::to_string_pretty(raw).unwrap_or_else(|_| raw.to_string())
}

/// "As the backend wrote it" is only true when nothing was redacted at ingest; otherwise the
/// reviewer is told which values were replaced, so a `redacted:` value is not mistaken for data.
fn raw_heading(d: &AuditEventDetail) -> Html {
    let paths = d.redacted_paths();
    if paths.is_empty() {
        return html! { <h3>{ "Raw event, as the backend wrote it" }</h3> };
    }
    let shown: Vec<&str> = paths.iter().copied().take(8).collect();
    let more = paths.len() - shown.len();
    html! {
        <>
            <h3>{ "Raw event, as the backend wrote it, secrets redacted" }</h3>
            <p class="muted audit-redacted" data-testid="detail-redacted">
                { format!("{} value(s) replaced at ingest, before anything was stored: ", paths.len()) }
                { for shown.iter().enumerate().map(|(i, p)| html! {
                    <>{ if i > 0 { ", " } else { "" } }<code>{ *p }</code></>
                }) }
                if more > 0 { { format!(" and {more} more") } }
                { ". Tokens keep a fingerprint (redacted:<sha256>) that matches cached credentials." }
            </p>
        </>
    }
}

/// The cached credential's status and, where the Credentials page would offer it, Revoke (or
/// why not, e.g. an OAuth 2.0 token is revoked only by its value, through triage).
fn cached_credential(c: &CredentialView, on_revoke: &Callback<(RevocationTarget, String)>) -> Html {
    let who = holder(c).unwrap_or_else(|| "no principal".into());
    let label = format!(
        "{} {} of {who} on {}",
        kind_label(c.kind),
        c.external_id,
        c.backend
    );
    let (target, cb) = (RevocationTarget::Credential { id: c.id }, on_revoke.clone());
    let action = match revocable(c) {
        Ok(()) if c.status != CredentialStatus::Expired => html! {
            <button type="button" class="danger small" data-testid="detail-revoke"
                    title="Revoke this credential: preview, confirm, then the backend proves it gone"
                    onclick={Callback::from(move |_| cb.emit((target.clone(), label.clone())))}>{ "Revoke…" }</button>
        },
        Ok(()) => html! {},
        Err(why) => {
            html! { <span class="muted small" data-testid="detail-not-revocable">{ why }</span> }
        }
    };
    html! {
        <span class="detail-credential" data-testid="detail-credential" data-status={c.status.as_str()}>
            { status_pill(c.status) }{ " " }{ action }
        </span>
    }
}

fn body(
    d: &AuditEventDetail,
    on_pivot: &Callback<String>,
    on_revoke: &Callback<(RevocationTarget, String)>,
) -> Html {
    let e = &d.event;
    let credential_pivot = e
        .credential
        .as_ref()
        .map(|c| AuditField::Credential.term(c));
    html! {
        <>
            <dl class="facts">
                <dt>{ "When" }</dt><dd><Time at={e.at} /></dd>
                <dt>{ "Backend" }</dt><dd>{ &e.backend }{ " (" }{ d.backend_kind.as_str() }{ ")" }</dd>
                <dt>{ "Outcome" }</dt><dd><span class={classes!("pill", "outcome", e.outcome.as_str())}>{ e.outcome.as_str() }</span></dd>
                <dt>{ "Actor" }</dt><dd>{ e.actor.clone().unwrap_or_else(|| "—".into()) }</dd>
                <dt>{ "Credential" }</dt>
                <dd>
                    if let (Some(c), Some(q)) = (&e.credential, &credential_pivot) {
                        <button class="link" data-testid="detail-credential-pivot" title="Every event of this credential"
                                onclick={{ let (p, q) = (on_pivot.clone(), q.clone()); Callback::from(move |_| p.emit(q.clone())) }}>{ c }</button>
                        if let Some(cached) = &d.credential {
                            { " " }{ cached_credential(cached, on_revoke) }
                        } else {
                            <span class="muted" data-testid="detail-credential-uncached">{ " · not in the cache: sync its backend, or triage the token (T), to revoke it" }</span>
                        }
                    } else { { "—" } }
                </dd>
                <dt>{ "Action" }</dt><dd><code>{ &e.action }</code></dd>
                <dt>{ "Resource" }</dt><dd>{ e.resource.clone().unwrap_or_else(|| "—".into()) }</dd>
                <dt>{ "Source" }</dt><dd>{ e.source_ip.clone().unwrap_or_else(|| "—".into()) }</dd>
                <dt>{ "Dedup key" }</dt><dd><code class="muted">{ &d.dedup_key }</code></dd>
            </dl>
            if !d.pivots.is_empty() {
                <h3>{ "Pivot" }</h3>
                <div class="chips" data-testid="detail-pivots">
                    { for d.pivots.iter().map(|p| {
                        let (on_pivot, q) = (on_pivot.clone(), p.query.clone());
                        html! { <button class="chip" data-query={p.query.clone()} title={p.query.clone()}
                                        onclick={Callback::from(move |_| on_pivot.emit(q.clone()))}>{ &p.label }</button> }
                    }) }
                </div>
            }
            { raw_heading(d) }
            <pre class="json audit-raw" data-testid="detail-raw">{ pretty(&d.raw) }</pre>
        </>
    }
}

#[component]
pub fn AuditDetail(props: &AuditDetailProps) -> Html {
    let content = match &props.detail {
        Remote::Loading => html! { <p class="loading">{ "Loading…" }</p> },
        Remote::Failed(e) => failed(e),
        Remote::Ready(d) => body(d, &props.on_pivot, &props.on_revoke),
    };
    let panel = html! {
        <aside id="audit-detail" class="drawer audit-drawer" aria-label="Audit event">
            <header>
                <h2>{ "Audit event" }</h2>
                <button class="icon" aria-label="Close (Esc)" title="Close (Esc)" onclick={props.on_close.reform(|_| ())}>{ "×" }</button>
            </header>
            { content }
        </aside>
    };
    // Outside the scrolling <main>, like the other drawers (WebDriver hit-testing).
    match web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    {
        Some(body) => create_portal(panel, body.into()),
        None => panel,
    }
}

fn failed(e: &IpcError) -> Html {
    html! { <ErrorNote error={e.clone()} context="Could not load this event" /> }
}
