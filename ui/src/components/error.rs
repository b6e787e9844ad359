//! An error from the shell as the reviewer sees it: what failed and what to do, in the app's
//! words (never a command-line flag), its stable code, and — when the text is a backend's or a
//! library's own (an HTTP client's chain of causes) — that raw text behind a "details"
//! disclosure instead of in the sentence.

use portcullis_model::IpcError;
use yew::prelude::*;

use crate::words::{gui_words, is_raw, sentence};

#[derive(Properties, PartialEq)]
pub struct ErrorProps {
    pub error: IpcError,
    /// What was being attempted, e.g. "Could not load backends".
    #[prop_or_default]
    pub context: Option<AttrValue>,
}

#[component]
pub fn ErrorNote(props: &ErrorProps) -> Html {
    let message = gui_words(&props.error.message);
    let raw = is_raw(&message);
    let retry = if props.error.code.is_transient() && !raw {
        " Retrying later may help."
    } else {
        ""
    };
    html! {
        <div class="error-note" role="alert" data-testid="error" data-code={props.error.code.as_str()}>
            if let Some(ctx) = &props.context { <strong>{ ctx.clone() }{ ": " }</strong> }
            if raw {
                <span class="msg">{ sentence(props.error.code) }</span>
            } else {
                <span class="msg">{ message.clone() }{ retry }</span>
            }
            <code class="code">{ props.error.code.as_str() }</code>
            if raw {
                <details class="raw" data-testid="error-details">
                    <summary>{ "Details" }</summary>
                    <pre>{ message }</pre>
                </details>
            }
        </div>
    }
}
