//! Revoking one credential: the confirmation that names exactly the target and says what the
//! revocation will and will NOT do (the engine's preview, before anything is sent), then the
//! outcome in place — verified dead with the backend's evidence, or what failed with its code.

use portcullis_model::{
    CredentialView, IpcError, Readiness, RevocationOutcome, RevocationPlanItem,
};
use yew::prelude::*;

use super::copy::short;
use super::{Dialog, ErrorNote, Time};
use crate::hooks::credentials::{holder, kind_label, verdict, Revocation, Verdict};
use crate::hooks::dom::focus;
use crate::hooks::journal::JournalQuery;

#[derive(Properties, PartialEq)]
pub struct ResultProps {
    pub outcome: Result<RevocationOutcome, IpcError>,
}

/// The end of a revocation: the verdict first, then the backend's evidence, the receipt's
/// caveats and the journal entry that records it.
#[component]
pub fn RevocationResult(props: &ResultProps) -> Html {
    let o = match &props.outcome {
        Err(e) => {
            return html! {
                <section class="revoke-result bad" data-testid="revoke-result" data-verdict="failed" aria-live="polite">
                    <p class="verdict">{ "✗ Not revoked" }</p>
                    <ErrorNote error={e.clone()} />
                </section>
            }
        }
        Ok(o) => o,
    };
    let v = verdict(o);
    let (class, name, headline) = match &v {
        Verdict::Verified { .. } => ("ok", "verified", "✓ Verified dead".to_string()),
        Verdict::Unverified => (
            "warn",
            "unverified",
            "Revoked, but not verified: the backend confirmed it and offers no way to prove it"
                .to_string(),
        ),
        Verdict::Failed(_) if o.receipt.is_some() => {
            ("bad", "failed", "✗ Sent, but not proven dead".to_string())
        }
        Verdict::Failed(_) => ("bad", "failed", "✗ Revocation failed".to_string()),
    };
    html! {
        <section class={classes!("revoke-result", class)} data-testid="revoke-result" data-verdict={name} aria-live="polite"
                 data-journal-seq={o.journal_seq.to_string()}>
            <p class="verdict">{ headline }</p>
            if let Verdict::Failed(e) = &v { <ErrorNote error={e.clone()} /> }
            <dl class="facts">
                <dt>{ "Target" }</dt><dd>{ &o.target }{ " on " }<strong>{ &o.backend }</strong></dd>
                if let Some(r) = &o.receipt {
                    <dt>{ "Sent" }</dt><dd><code>{ &r.action }</code>{ " · " }<Time at={r.at} /></dd>
                }
                if let Some(ver) = &o.verification {
                    <dt>{ "Evidence" }</dt>
                    <dd data-testid="revoke-evidence">{ &ver.evidence }{ " · " }<Time at={ver.at} /></dd>
                }
                if o.journal_seq > 0 {
                    <dt>{ "Journal" }</dt>
                    <dd><a href={JournalQuery::entry(o.journal_seq).href()} data-testid="revoke-journal-link">
                        { format!("entry #{}", o.journal_seq) }
                    </a></dd>
                }
            </dl>
            if let Some(r) = o.receipt.as_ref().filter(|r| !r.caveats.is_empty()) {
                <div class="caveats">
                    <strong>{ "Caveats, from the backend's receipt" }</strong>
                    <ul>{ for r.caveats.iter().map(|c| html! { <li>{ c }</li> }) }</ul>
                </div>
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct RevokeDialogProps {
    pub credential: CredentialView,
    /// Asks the engine what revoking will do (nothing is sent).
    pub preview: Callback<(i64, Callback<Result<RevocationPlanItem, IpcError>>)>,
    /// The revocation of this credential, once started.
    pub state: Option<Revocation>,
    /// (credential id, the reason or ticket typed, if any)
    pub on_confirm: Callback<(i64, Option<String>)>,
    pub on_close: Callback<()>,
}

/// The reason / ticket field every revocation dialog carries: recorded in the journal with the
/// action, and shown wherever the revocation is told again (the credential's detail, triage).
pub fn reason_field(value: &UseStateHandle<String>) -> Html {
    let oninput = {
        let value = value.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(input) = e
                .target()
                .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlInputElement>(t).ok())
            {
                value.set(input.value());
            }
        })
    };
    html! {
        <label class="reason-field">
            <span>{ "Reason or ticket" }<span class="muted">{ " (optional, kept in the journal)" }</span></span>
            <input id="revoke-reason" type="text" autocomplete="off" placeholder="INC-1234, leaked in a paste"
                   value={(**value).clone()} {oninput} />
        </label>
    }
}

/// The typed reason, or None when blank.
pub fn typed_reason(value: &str) -> Option<String> {
    Some(value.trim().to_string()).filter(|r| !r.is_empty())
}

/// A titled list of the plan's sentences (what it does, does not do, takes down); nothing when
/// there are none.
fn list(title: &str, class: &str, items: &[String]) -> Html {
    if items.is_empty() {
        return html! {};
    }
    html! {
        <div class={classes!("plan-list", class.to_string())}>
            <strong>{ title }</strong>
            <ul>{ for items.iter().map(|i| html! { <li>{ i }</li> }) }</ul>
        </div>
    }
}

/// The plan item in words: what is sent, what happens, what does not, how it is checked.
/// What one revocation will send, do, not do and take down with it, and how it is then proved;
/// or why nothing will be sent. Every revoke dialog shows a plan item this way.
pub(super) fn plan_view(p: &RevocationPlanItem) -> Html {
    let blocked = p.readiness != Readiness::Ready;
    let collateral: Vec<String> = p.collateral.iter().map(|c| c.description.clone()).collect();
    html! {
        <div class="plan" data-testid="revoke-plan" data-readiness={p.readiness.as_str()}>
            <p class="plan-target" data-testid="revoke-target">{ &p.description }</p>
            if blocked {
                <div class="blocked" role="note">
                    <strong>{ "Nothing will be sent. " }</strong>
                    { crate::words::gui_words(p.blocked_reason.as_deref().unwrap_or_default()) }
                    if !p.alternatives.is_empty() {
                        <ul>{ for p.alternatives.iter().map(|a| html! { <li>{ a }</li> }) }</ul>
                    }
                </div>
            } else {
                <>
                    <p class="sent"><span class="muted">{ "Sends " }</span><code>{ &p.action }</code></p>
                    { list("What it does", "will", &p.will) }
                    { list("What it does NOT do", "will-not", &p.will_not) }
                    { list("Also goes down with it", "collateral", &collateral) }
                    if !p.verify.is_empty() {
                        <p class="verify"><span class="muted">{ "Then proves it gone: " }</span>{ &p.verify }</p>
                    }
                </>
            }
        </div>
    }
}

#[component]
pub fn RevokeDialog(props: &RevokeDialogProps) -> Html {
    let preview = use_state(|| None::<Result<RevocationPlanItem, IpcError>>);
    let reason = use_state(String::new);
    {
        let (preview, ask) = (preview.clone(), props.preview.clone());
        use_effect_with(props.credential.id, move |id| {
            let preview = preview.clone();
            ask.emit((*id, Callback::from(move |r| preview.set(Some(r)))));
        });
    }
    {
        // Keyboard users land on the result's Close button when the outcome arrives.
        let done = matches!(props.state, Some(Revocation::Done(_)));
        use_effect_with(done, |done| {
            if *done {
                focus("#revoke-done");
            }
        });
    }
    let c = &props.credential;
    let who = holder(c).unwrap_or_else(|| "no principal".into());
    let ready = matches!(&*preview, Some(Ok(p)) if p.readiness == Readiness::Ready);
    // A preview that failed does not block: the receipt will state the caveats instead.
    let can_send = ready || matches!(&*preview, Some(Err(_)));
    let confirm = {
        let (on_confirm, id, reason) = (props.on_confirm.clone(), c.id, reason.clone());
        Callback::from(move |_: MouseEvent| on_confirm.emit((id, typed_reason(&reason))))
    };
    let title = match &props.state {
        None => "Revoke this credential?".to_string(),
        Some(Revocation::Running) => "Revoking…".to_string(),
        Some(Revocation::Done(_)) => "Revocation result".to_string(),
    };
    let body = match &props.state {
        Some(Revocation::Done(outcome)) => html! {
            <>
                <RevocationResult outcome={outcome.clone()} />
                <footer>
                    <button type="button" class="primary" data-autofocus="true" id="revoke-done"
                            onclick={props.on_close.reform(|_| ())}>{ "Close" }</button>
                </footer>
            </>
        },
        Some(Revocation::Running) => html! {
            <p class="checking" data-testid="revoke-running" aria-live="polite">
                <span class="spinner" />
                { format!("Asking {} to revoke it, then to prove it dead…", c.backend) }
            </p>
        },
        None => html! {
            <>
                <dl class="facts target-facts">
                    <dt>{ "Credential" }</dt>
                    <dd>{ kind_label(c.kind) }{ " " }<code title={c.external_id.clone()}>{ short(&c.external_id, 24) }</code></dd>
                    <dt>{ "Held by" }</dt><dd>{ who }</dd>
                    <dt>{ "Backend" }</dt><dd>{ &c.backend }{ format!(" ({})", c.backend_kind.label()) }</dd>
                </dl>
                {
                    match &*preview {
                        None => html! { <p class="checking"><span class="spinner" />{ "Working out what this will do…" }</p> },
                        Some(Ok(p)) => plan_view(p),
                        Some(Err(e)) => html! {
                            <>
                                <ErrorNote error={e.clone()} context="Could not work out what this will do" />
                                <p class="muted">{ "You can still revoke it: the backend's receipt will list what it did not do." }</p>
                            </>
                        },
                    }
                }
                if can_send { { reason_field(&reason) } }
                <footer>
                    <button type="button" class="ghost" data-autofocus="true" onclick={props.on_close.reform(|_| ())}>{ "Cancel" }</button>
                    <button id="confirm-revoke" type="button" class="danger" disabled={!can_send} onclick={confirm}>
                        { format!("Revoke {}", short(&c.external_id, 14)) }
                    </button>
                </footer>
            </>
        },
    };
    html! {
        <Dialog id="revoke-dialog" title={title} on_close={props.on_close.clone()}
                class={classes!((!matches!(props.state, Some(Revocation::Done(_)))).then_some("danger"))}>
            { body }
        </Dialog>
    }
}
