//! The About box: which Portcullis this is (the workspace-wide version, from the shell) and which
//! workspace it serves — what a bug report or an auditor asks first.

use yew::prelude::*;

use crate::components::{Dialog, ErrorNote};
use crate::hooks::app::use_app_info;
use crate::hooks::Remote;

#[derive(Properties, PartialEq)]
pub struct AboutProps {
    pub on_close: Callback<()>,
}

#[component]
pub fn AboutDialog(props: &AboutProps) -> Html {
    let info = use_app_info();
    let body = match &*info {
        Remote::Loading => html! { <p class="loading">{ "Loading…" }</p> },
        Remote::Failed(e) => {
            html! { <ErrorNote error={e.clone()} context="Could not ask the app" /> }
        }
        Remote::Ready(i) => html! {
            <dl class="about">
                <dt>{ "Version" }</dt>
                <dd data-testid="about-version">{ &i.version }</dd>
                <dt>{ "Workspace" }</dt>
                <dd><code data-testid="about-workspace">{ &i.workspace }</code></dd>
                if let Some(d) = &i.demo {
                    <dt>{ "Demo" }</dt>
                    <dd data-testid="about-demo">{ d.label() }</dd>
                }
                <dt>{ "Licence" }</dt>
                <dd>{ "Apache-2.0" }</dd>
                <dt>{ "Command line" }</dt>
                <dd><code>{ "portcullis --help" }</code>{ " · " }<code>{ "man portcullis" }</code></dd>
            </dl>
        },
    };
    html! {
        <Dialog id="about" title="About Portcullis" on_close={props.on_close.clone()}>
            <p class="muted">{ "Who can do what with your API credentials — and revoke it fast." }</p>
            { body }
            <footer>
                <button class="primary" onclick={props.on_close.reform(|_| ())}>{ "Close" }</button>
            </footer>
        </Dialog>
    }
}
