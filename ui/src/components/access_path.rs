//! A grant path drawn as hops (alice → payments-readers → pay_ro → SELECT payments), each grant
//! edge with an optional Revoke button; and the dialog that revokes one named target after the
//! engine's preview said exactly what it will and will NOT do.

use portcullis_model::{AccessPath, IpcError, Readiness, RevocationPlanItem, RevocationTarget};
use yew::prelude::*;

use super::revoke::{plan_view, RevocationResult};
use super::{Dialog, ErrorNote};
use crate::hooks::access::{edge_target, TargetRevokeHandle};
use crate::hooks::credentials::Revocation;

#[derive(Properties, PartialEq)]
pub struct PathProps {
    pub path: AccessPath,
    /// When set, each grant edge gets a Revoke button naming it.
    #[prop_or_default]
    pub on_revoke: Option<Callback<(RevocationTarget, String)>>,
    /// When set, the path can be shown on the graph.
    #[prop_or_default]
    pub on_show: Option<Callback<Vec<String>>>,
}

#[component]
pub fn PathView(props: &PathProps) -> Html {
    let hops = &props.path.hops;
    let items = hops.iter().enumerate().map(|(i, h)| {
        let edge = (i > 0).then(|| &hops[i - 1]).and_then(|prev| {
            let t = edge_target(prev, h)?;
            let label = format!("{} → {} on {}", prev.label, h.label, h.backend);
            Some((t, label))
        });
        let revoke = match (&props.on_revoke, edge) {
            (Some(cb), Some((t, label))) => {
                let cb = cb.clone();
                let title = format!("Revoke the grant {label}");
                html! {
                    <button type="button" class="link danger-link revoke-edge" title={title}
                            data-testid="revoke-edge" onclick={move |_| cb.emit((t.clone(), label.clone()))}>
                        { "✕" }
                    </button>
                }
            }
            _ => html! {},
        };
        html! {
            <>
                if i > 0 { <span class="arrow" aria-hidden="true">{ "→" }</span>{ revoke } }
                <span class={classes!("hop", format!("k-{}", h.kind.as_str()), h.implied.then_some("implied"))}
                      title={h.id.clone()}>{ &h.label }</span>
            </>
        }
    });
    let show = props.on_show.clone().map(|cb| {
        let ids: Vec<String> = hops.iter().map(|h| h.id.clone()).collect();
        html! {
            <button type="button" class="link show-path" data-testid="show-path"
                    onclick={move |_| cb.emit(ids.clone())}>{ "show on map" }</button>
        }
    });
    html! {
        <span class="access-path" data-testid="access-path">{ for items }{ for show }</span>
    }
}

#[derive(Properties, PartialEq)]
pub struct TargetRevokeProps {
    /// How the page names the target.
    pub label: AttrValue,
    pub preview: Option<Result<RevocationPlanItem, IpcError>>,
    pub state: Option<Revocation>,
    pub on_confirm: Callback<()>,
    pub on_close: Callback<()>,
}

/// Preview → confirm → outcome for one target; nothing is sent before the confirm button.
#[component]
pub fn TargetRevokeDialog(props: &TargetRevokeProps) -> Html {
    let ready = matches!(&props.preview, Some(Ok(p)) if p.readiness == Readiness::Ready);
    let body = match &props.state {
        Some(Revocation::Done(outcome)) => html! {
            <>
                <RevocationResult outcome={outcome.clone()} />
                <footer>
                    <button type="button" class="primary" data-autofocus="true" id="target-revoke-done"
                            onclick={props.on_close.reform(|_| ())}>{ "Close" }</button>
                </footer>
            </>
        },
        Some(Revocation::Running) => html! {
            <p class="checking" data-testid="revoke-running" aria-live="polite">
                <span class="spinner" />{ "Asking the backend to revoke it, then to prove it gone…" }
            </p>
        },
        None => html! {
            <>
                <p class="muted">{ props.label.clone() }</p>
                {
                    match &props.preview {
                        None => html! { <p class="checking"><span class="spinner" />{ "Working out what this will do…" }</p> },
                        Some(Err(e)) => html! { <ErrorNote error={e.clone()} context="Could not work out what this will do; nothing will be sent" /> },
                        Some(Ok(p)) => plan_view(p),
                    }
                }
                <footer>
                    <button type="button" class="ghost" data-autofocus="true" onclick={props.on_close.reform(|_| ())}>{ "Cancel" }</button>
                    <button id="confirm-target-revoke" type="button" class="danger" disabled={!ready}
                            onclick={props.on_confirm.reform(|_| ())}>{ "Revoke" }</button>
                </footer>
            </>
        },
    };
    let title = match &props.state {
        None => "Revoke this?",
        Some(Revocation::Running) => "Revoking…",
        Some(Revocation::Done(_)) => "Revocation result",
    };
    html! {
        <Dialog id="target-revoke-dialog" title={title} on_close={props.on_close.clone()} class={classes!("danger")}>
            { body }
        </Dialog>
    }
}

/// The dialog of a page's [`TargetRevokeHandle`] while a target is open in it; nothing otherwise.
pub fn target_revoke_dialog(revoke: &TargetRevokeHandle) -> Html {
    match &revoke.current.open {
        Some((_, label)) => html! {
            <TargetRevokeDialog label={label.clone()} preview={revoke.current.preview.clone()}
                state={revoke.current.state.clone()} on_confirm={revoke.confirm.clone()} on_close={revoke.close.clone()} />
        },
        None => html! {},
    }
}
