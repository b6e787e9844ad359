//! An error from the shell as the reviewer sees it: what failed (the message) and its stable code.

use portcullis_model::IpcError;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ErrorProps {
    pub error: IpcError,
    /// What was being attempted, e.g. "Could not load backends".
    #[prop_or_default]
    pub context: Option<AttrValue>,
}

#[component]
pub fn ErrorNote(props: &ErrorProps) -> Html {
    let retry = if props.error.code.is_transient() {
        " Retrying later may help."
    } else {
        ""
    };
    html! {
        <div class="error-note" role="alert" data-testid="error" data-code={props.error.code.as_str()}>
            if let Some(ctx) = &props.context { <strong>{ ctx.clone() }{ ": " }</strong> }
            <span class="msg">{ &props.error.message }{ retry }</span>
            <code class="code">{ props.error.code.as_str() }</code>
        </div>
    }
}
