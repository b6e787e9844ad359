//! Incident mode: preview and revoke every credential of a principal across backends.

use yew::prelude::*;

use super::Planned;

#[component]
pub fn IncidentPage() -> Html {
    html! {
        <Planned
            title="Incident"
            subtitle="Contain a leak: revoke everything a principal holds, everywhere."
            will={vec![
                "Preview every credential a principal holds, on every backend, with the collateral of revoking it",
                "Revoke them in one confirmed step and watch each one verified dead",
                "Export an incident report with the journal's hash",
            ]}
            now="Add a backend on the Backends page and check its connection; this page fills once backends are synced."
        />
    }
}
