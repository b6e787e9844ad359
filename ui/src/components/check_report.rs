//! The result of checking one backend: who the console is there, which rights it has, how fast the
//! backend answered — or exactly what failed.

use portcullis_model::CheckReport;
use yew::prelude::*;

use super::{ErrorNote, Time};
use crate::hooks::backends::CheckState;

#[derive(Properties, PartialEq)]
pub struct CheckProps {
    pub backend: AttrValue,
    pub state: CheckState,
}

#[component]
pub fn CheckResult(props: &CheckProps) -> Html {
    let body = match &props.state {
        CheckState::Running => html! {
            <p class="checking" data-testid="check-running"><span class="spinner" />{ "Checking…" }</p>
        },
        CheckState::Failed(e) => {
            html! { <ErrorNote error={e.clone()} context="The check could not run" /> }
        }
        CheckState::Done(r) => report(r),
    };
    let ok = match &props.state {
        CheckState::Done(r) => Some(r.ok),
        CheckState::Failed(_) => Some(false),
        CheckState::Running => None,
    };
    html! {
        <div class={classes!("check-result", ok.map(|ok| if ok { "ok" } else { "bad" }))}
             data-testid="check-result" data-backend={props.backend.clone()}
             data-ok={ok.map(|ok| ok.to_string())}>
            { body }
        </div>
    }
}

fn report(r: &CheckReport) -> Html {
    let missing = r.rights.iter().filter(|x| !x.granted).count();
    let headline = if r.ok {
        "Check passed".to_string()
    } else {
        "Check failed".to_string()
    };
    html! {
        <>
            <p class="headline">
                <span class={classes!("pill", if r.ok { "ok" } else { "bad" })}>{ headline }</span>
                if r.ok && missing > 0 {
                    <span class="pill warn">{ format!("{missing} right{} missing", if missing == 1 { "" } else { "s" }) }</span>
                }
                <span class="muted">{ format!(" answered in {} ms", r.latency_ms) }</span>
            </p>
            if let Some(e) = &r.error { <ErrorNote error={e.clone()} /> }
            <dl class="facts">
                if let Some(id) = &r.identity { <dt>{ "Signed in as" }</dt><dd data-testid="check-identity">{ id }</dd> }
                if let Some(s) = &r.server { <dt>{ "Server" }</dt><dd>{ s }</dd> }
                <dt>{ "Console credential expires" }</dt>
                <dd>{
                    match &r.credential_expires_at {
                        Some(at) => html! { <Time at={*at} /> },
                        None => html! { <span class="muted">{ "not reported by the backend" }</span> },
                    }
                }</dd>
            </dl>
            if !r.rights.is_empty() {
                <table class="table compact rights">
                    <caption>{
                        if missing == 0 { "All rights Portcullis needs are granted".to_string() }
                        else { format!("{missing} of {} rights missing", r.rights.len()) }
                    }</caption>
                    <thead><tr><th>{ "Right" }</th><th>{ "Needed for" }</th><th>{ "Status" }</th></tr></thead>
                    <tbody>{ for r.rights.iter().map(|x| html! {
                        <tr class={if x.granted { "granted" } else { "missing" }}>
                            <td><code>{ &x.right }</code></td>
                            <td>{ &x.needed_for }</td>
                            <td>{ if x.granted { "✓ granted" } else { "✗ missing" } }</td>
                        </tr>
                    }) }</tbody>
                </table>
            }
        </>
    }
}
