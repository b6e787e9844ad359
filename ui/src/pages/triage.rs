//! Not a route: the token triage dialog any page opens (T, or "Triage a token"). It is mounted
//! only while open, so each opening reads the current backends and closing drops the token the
//! shell holds.

use yew::prelude::*;

use crate::components::triage::TriageDialog;
use crate::hooks::triage::use_triage;

#[derive(Properties, PartialEq)]
pub struct TriageHostProps {
    pub on_close: Callback<()>,
    /// The cache changed (a token was recorded or revoked): pages showing it reload.
    pub on_changed: Callback<()>,
}

#[component]
pub fn TriageHost(props: &TriageHostProps) -> Html {
    let triage = use_triage(props.on_changed.clone());
    html! {
        <TriageDialog state={(*triage.state).clone()} on_submit={triage.submit.clone()}
                      on_revoke={triage.revoke.clone()} on_close={props.on_close.clone()} />
    }
}
