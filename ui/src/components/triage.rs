//! The token triage dialog: paste a token, learn which backend knows it and what it can do, and
//! revoke it on the spot. Built for the keyboard: `T` opens it with the cursor in the token
//! field, Enter looks the token up, focus lands on "Revoke now", Enter asks, Enter confirms.
//!
//! The token lives in this component only until it is submitted: the field is cleared at once
//! and the value is never rendered anywhere.

use portcullis_model::{SeenToken, TokenInfo, TriageResult};
use wasm_bindgen::JsCast;
use yew::prelude::*;

use super::copy::{short, CopyId};
use super::credential_detail::{audit_href, ended_by, status_pill};
use super::revoke::RevocationResult;
use super::{Dialog, ErrorNote, Time};
use crate::hooks::credentials::{kind_label, verdict, CredentialQuery, Revocation, Verdict};
use crate::hooks::dom::focus;
use crate::hooks::triage::{Lookup, TriageState};
use crate::hooks::Remote;

/// The token as pasted, without the whitespace and `Bearer ` prefix a copied header brings.
pub fn clean_token(raw: &str) -> &str {
    let t = raw.trim();
    let t = t
        .strip_prefix("Authorization:")
        .or_else(|| t.strip_prefix("authorization:"))
        .map(str::trim)
        .unwrap_or(t);
    match t.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("bearer ") => t[7..].trim(),
        _ => t,
    }
}

#[derive(Properties, PartialEq)]
pub struct TriageDialogProps {
    pub state: TriageState,
    pub on_submit: Callback<(String, Option<String>)>,
    /// (backend, fingerprint)
    pub on_revoke: Callback<(String, String)>,
    pub on_close: Callback<()>,
}

#[component]
pub fn TriageDialog(props: &TriageDialogProps) -> Html {
    let token = use_state(String::new);
    let backend = use_state(String::new);
    let error = use_state(|| None::<String>);
    // The backend whose "Revoke now" is waiting for its confirmation.
    let confirming = use_state(|| None::<String>);

    let on_token = {
        let token = token.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(i) = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            {
                token.set(i.value());
            }
        })
    };
    let on_backend = {
        let backend = backend.clone();
        Callback::from(move |e: Event| {
            if let Some(s) = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok())
            {
                backend.set(s.value());
            }
        })
    };
    let busy = matches!(props.state.lookup, Some(Lookup::Running));
    let on_submit = {
        let (token, backend, error, confirming, submit) = (
            token.clone(),
            backend.clone(),
            error.clone(),
            confirming.clone(),
            props.on_submit.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if busy {
                return;
            }
            let value = clean_token(&token).to_string();
            if value.is_empty() {
                error.set(Some("Paste the token first.".into()));
                return;
            }
            error.set(None);
            confirming.set(None);
            // Cleared before the call: the field never shows it again.
            token.set(String::new());
            let only = (!backend.is_empty()).then(|| (*backend).clone());
            submit.emit((value, only));
        })
    };

    // When the answers arrive, put the keyboard on the first "Revoke now".
    let answered = matches!(props.state.lookup, Some(Lookup::Done(_)));
    use_effect_with(answered, |answered| {
        if *answered && !focus("[data-testid=triage-revoke]:not([disabled])") {
            focus("#triage-token");
        }
    });
    {
        let asking = (*confirming).clone();
        use_effect_with(asking, |asking| {
            if asking.is_some() {
                focus("#triage-confirm-revoke");
            }
        });
    }

    let lookup_backends = props.state.lookup_backends();
    let picker = match &props.state.backends {
        Remote::Loading => html! { <p class="muted">{ "Loading backends…" }</p> },
        Remote::Failed(e) => {
            html! { <ErrorNote error={e.clone()} context="Could not list the backends" /> }
        }
        Remote::Ready(_) if lookup_backends.is_empty() => html! {
            <p class="hint" data-testid="triage-no-backends">
                { "No backend can look tokens up yet: add an OAuth 2.0, Vault/OpenBao or Keycloak backend on the " }
                <a href="#/backends" onclick={props.on_close.reform(|_| ())}>{ "Backends page" }</a>{ "." }
            </p>
        },
        Remote::Ready(_) => html! {
            <>
                <label for="triage-backend">{ "Ask" }</label>
                <select id="triage-backend" onchange={on_backend}>
                    <option value="" selected={backend.is_empty()}>
                        { format!("Every backend that can look tokens up ({})", lookup_backends.len()) }
                    </option>
                    { for lookup_backends.iter().map(|b| html! {
                        <option value={b.name.clone()} selected={*backend == b.name}>
                            { format!("{} ({})", b.name, b.kind.label()) }
                        </option>
                    }) }
                </select>
            </>
        },
    };

    let results = match &props.state.lookup {
        None => html! {},
        Some(Lookup::Running) => html! {
            <p class="checking" data-testid="triage-running" aria-live="polite"><span class="spinner" />{ "Asking the backends…" }</p>
        },
        Some(Lookup::Done(Err(e))) => {
            html! { <ErrorNote error={e.clone()} context="The token could not be looked up" /> }
        }
        Some(Lookup::Done(Ok(list))) => {
            let known = list.iter().filter(|r| r.token.is_some()).count();
            let seen = list.iter().any(|r| r.token.is_none() && r.seen.is_some());
            let summary = if known == 0 && seen {
                "No backend recognises this token now, but Portcullis has met it before: its history is below.".to_string()
            } else if known == 0 {
                "No backend recognises this token. It may have expired or been revoked, or come from a system Portcullis does not read.".to_string()
            } else {
                format!(
                    "Recognised by {known} of {} backend{} asked.",
                    list.len(),
                    if list.len() == 1 { "" } else { "s" }
                )
            };
            html! {
                <section class="triage-results" aria-live="polite">
                    <p class={classes!("summary", (known > 0).then_some("found"))} data-testid="triage-summary">{ summary }</p>
                    { for list.iter().map(|r| result_card(r, props, &confirming)) }
                </section>
            }
        }
    };

    html! {
        <Dialog id="triage-dialog" title="Token triage" on_close={props.on_close.clone()} class="wide">
            <form id="triage-form" class="form" onsubmit={on_submit} novalidate=true autocomplete="off">
                <label for="triage-token">{ "Token" }</label>
                <div class="inline-field">
                    <input id="triage-token" type="password" autocomplete="off" spellcheck="false" data-autofocus="true"
                           placeholder="Paste the token (Ctrl+V), then Enter" value={(*token).clone()} oninput={on_token}
                           aria-invalid={error.is_some().to_string()} aria-describedby="triage-hint" />
                    <button id="triage-submit" type="submit" class="primary" disabled={busy}>
                        { if busy { "Looking up…" } else { "Look up" } }
                    </button>
                </div>
                if let Some(e) = &*error { <p class="field-error" data-testid="triage-token-error">{ e }</p> }
                <p class="hint" id="triage-hint">
                    { "Sent once to the backends you ask and matched by its SHA-256 fingerprint; Portcullis never stores it or shows it again. Whitespace and a leading “Bearer ” are ignored." }
                </p>
                { picker }
            </form>
            { results }
            <footer>
                <button type="button" class="ghost" onclick={props.on_close.reform(|_| ())}>{ "Close" }</button>
            </footer>
        </Dialog>
    }
}

fn result_card(
    r: &TriageResult,
    props: &TriageDialogProps,
    confirming: &UseStateHandle<Option<String>>,
) -> Html {
    // A token proven dead since the lookup is no longer shown as a live find.
    let live = r.token.as_ref().is_some_and(|t| t.active) && !revoked_here(r, props);
    let (state, body) = match (&r.token, &r.error) {
        (Some(info), _) => ("true", recognised(r, info, props, confirming)),
        (None, Some(e)) => (
            "error",
            html! {
                <>
                    <p class="headline"><strong>{ &r.backend }</strong><span class="muted">{ format!(" · {}", r.backend_kind.label()) }</span></p>
                    <ErrorNote error={e.clone()} context={format!("Could not ask {}", r.backend)} />
                </>
            },
        ),
        (None, None) => (
            "false",
            html! {
                <>
                    <p class="headline muted">
                        { "Not recognised by " }<strong>{ &r.backend }</strong>{ format!(" · {}", r.backend_kind.label()) }
                    </p>
                    if let Some(seen) = &r.seen { { seen_view(r, seen) } }
                </>
            },
        ),
    };
    html! {
        <article class={classes!("triage-result", (state == "true").then_some(if live { "known" } else { "dead" }))}
                 data-testid="triage-result" data-backend={r.backend.clone()} data-recognised={state}>
            { body }
        </article>
    }
}

/// What Portcullis remembers of a token its backend no longer knows: the cached credential it
/// was and the revocation that ended it ("revoked by you at 04:59, journal #1").
fn seen_view(r: &TriageResult, seen: &SeenToken) -> Html {
    let find = CredentialQuery {
        search: seen.external_id.clone(),
        backend: r.backend.clone(),
        selected: Some(seen.credential_id),
        ..CredentialQuery::from_params(&[])
    };
    html! {
        <div class="seen" data-testid="triage-seen" data-status={seen.status.as_str()}>
            <p>
                { "Portcullis has met this token: " }
                <a href={find.href()} data-testid="triage-seen-credential">
                    { format!("credential {}", short(&seen.external_id, 18)) }
                </a>
                { ", now " }{ status_pill(seen.status) }
            </p>
            if let Some(rev) = &seen.revocation { { ended_by(rev, "triage-seen-revocation") } }
            <a class="button ghost small" data-testid="triage-seen-events"
               href={audit_href(&r.backend, &seen.external_id)}>{ "Show its events" }</a>
        </div>
    }
}

/// A scalar backend fact (display name, renewable, orphan…) as text; None for nested values.
fn scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Bool(b) => Some(if *b { "yes".into() } else { "no".into() }),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `display_name` → `Display name`.
fn label(key: &str) -> String {
    let words = key.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => words,
    }
}

/// Whether this dialog revoked the token on `r`'s backend and the backend proved it dead: the
/// lookup's answer is then no longer current.
fn revoked_here(r: &TriageResult, props: &TriageDialogProps) -> bool {
    let run = props.state.revokes.get(&r.backend);
    matches!(run, Some(Revocation::Done(Ok(o))) if matches!(verdict(o), Verdict::Verified { .. }))
}

fn recognised(
    r: &TriageResult,
    info: &TokenInfo,
    props: &TriageDialogProps,
    confirming: &UseStateHandle<Option<String>>,
) -> Html {
    let run = props.state.revokes.get(&r.backend);
    let revoked = revoked_here(r, props);
    let live = info.active && !revoked;
    let asking = confirming.as_deref() == Some(r.backend.as_str());
    let find_in_list = CredentialQuery {
        search: info.cache_id().to_owned(),
        backend: r.backend.clone(),
        ..CredentialQuery::from_params(&[])
    }
    .href();
    let events = super::credential_detail::audit_href(&r.backend, info.cache_id());
    let extra: Vec<(String, String)> = info
        .attrs
        .as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| scalar(v).map(|s| (label(k), s)))
                .take(8)
                .collect()
        })
        .unwrap_or_default();
    let ask = {
        let (confirming, backend) = (confirming.clone(), r.backend.clone());
        Callback::from(move |_: MouseEvent| confirming.set(Some(backend.clone())))
    };
    let cancel = {
        let confirming = confirming.clone();
        Callback::from(move |_: MouseEvent| confirming.set(None))
    };
    let confirm = {
        let (confirming, revoke, backend, fp) = (
            confirming.clone(),
            props.on_revoke.clone(),
            r.backend.clone(),
            info.fingerprint.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            confirming.set(None);
            revoke.emit((backend.clone(), fp.clone()));
        })
    };
    let who = info
        .subject
        .clone()
        .unwrap_or_else(|| "an unnamed subject".into());
    html! {
        <>
            <p class="headline">
                <span class={classes!("status", if live { "ok" } else { "bad" })}><span class="dot" /></span>
                { "Recognised by " }<strong>{ &r.backend }</strong>
                <span class="muted">{ format!(" · {}", r.backend_kind.label()) }</span>
                if revoked {
                    <span class="pill bad" data-testid="triage-active">{ "revoked" }</span>
                } else if info.active {
                    <span class="pill ok" data-testid="triage-active">{ "active" }</span>
                } else {
                    <span class="pill bad" data-testid="triage-active">{ "inactive" }</span>
                }
            </p>
            <dl class="facts two">
                <dt>{ "Kind" }</dt><dd data-testid="triage-kind">{ kind_label(info.kind) }</dd>
                <dt>{ "Subject" }</dt><dd data-testid="triage-subject">{ info.subject.clone().unwrap_or_else(|| "—".into()) }</dd>
                <dt>{ "Client" }</dt><dd>{ info.client.clone().unwrap_or_else(|| "—".into()) }</dd>
                <dt>{ "Scopes" }</dt>
                <dd data-testid="triage-scopes">
                    if info.scopes.is_empty() { <span class="muted">{ "none" }</span> }
                    { for info.scopes.iter().map(|s| html! { <span class="chip scope">{ s }</span> }) }
                </dd>
                <dt>{ "Audience" }</dt>
                <dd>{ if info.audience.is_empty() { "—".to_string() } else { info.audience.join(", ") } }</dd>
                <dt>{ "Issued" }</dt>
                <dd>{ match info.issued_at { Some(at) => html! { <Time at={at} /> }, None => html! { <span class="muted">{ "not reported" }</span> } } }</dd>
                <dt>{ "Expires" }</dt>
                <dd data-testid="triage-expires">{ match (live, info.expires_at) {
                    (true, Some(at)) => html! { <Time at={at} /> },
                    (true, None) => html! { <span class="pill warn never">{ "never" }</span> },
                    (false, _) if revoked => html! { <span class="muted">{ "no longer: revoked just now" }</span> },
                    (false, _) => html! { <span class="muted">{ "no longer: inactive" }</span> },
                } }</dd>
                <dt>{ "Fingerprint" }</dt>
                <dd><CopyId value={info.fingerprint.clone()} what="fingerprint" keep={16} testid="triage-fingerprint" /></dd>
                if let Some(id) = &info.external_id {
                    <dt>{ "Backend id" }</dt>
                    <dd><CopyId value={id.clone()} what="backend id" keep={16} testid="triage-external-id" /></dd>
                }
                { for extra.iter().map(|(k, v)| html! { <><dt>{ k }</dt><dd>{ v }</dd></> }) }
            </dl>
            <div class="triage-actions">
                {
                    match run {
                        Some(Revocation::Running) => html! {
                            <p class="checking" data-testid="revoke-running"><span class="spinner" />
                                { format!("Asking {} to revoke it, then to prove it dead…", r.backend) }</p>
                        },
                        Some(Revocation::Done(outcome)) => html! { <RevocationResult outcome={outcome.clone()} /> },
                        None if asking => html! {
                            <div class="confirm-strip" role="alertdialog" aria-labelledby={format!("confirm-{}", r.backend)}>
                                <p id={format!("confirm-{}", r.backend)}>
                                    <strong>{ format!("Revoke this {} of {who} on {}?", kind_label(info.kind).to_lowercase(), r.backend) }</strong>
                                    { format!(" Token {} — ", short(&info.fingerprint, 12)) }
                                    { "Portcullis asks the backend to revoke it, then looks it up again to prove it is dead. It does not stop the owner from getting a new token, and what the token already read stays read." }
                                </p>
                                <div class="buttons">
                                    <button id="triage-confirm-revoke" type="button" class="danger" onclick={confirm}>{ "Confirm: revoke" }</button>
                                    <button type="button" class="ghost" onclick={cancel}>{ "Cancel" }</button>
                                </div>
                            </div>
                        },
                        None => html! {
                            <>
                                <button type="button" class="danger" data-testid="triage-revoke" disabled={!info.active}
                                        title={if info.active { format!("Revoke it on {}", r.backend) } else { "Already inactive: nothing to revoke".to_string() }}
                                        onclick={ask}>{ "Revoke now" }</button>
                                <a class="button ghost" href={find_in_list} onclick={props.on_close.reform(|_| ())}>{ "Find in Credentials" }</a>
                            </>
                        },
                    }
                }
                <a class="button ghost" data-testid="triage-events" href={events} onclick={props.on_close.reform(|_| ())}>{ "Show its events" }</a>
            </div>
        </>
    }
}

#[cfg(test)]
mod tests {
    use super::clean_token;

    #[test]
    fn pasted_headers_and_whitespace_are_trimmed() {
        assert_eq!(clean_token("  s.abc123\n"), "s.abc123");
        assert_eq!(clean_token("Bearer eyJx.y.z"), "eyJx.y.z");
        assert_eq!(clean_token("Authorization: bearer  tok "), "tok");
        assert_eq!(clean_token("bearer"), "bearer");
        assert_eq!(clean_token(""), "");
    }
}
