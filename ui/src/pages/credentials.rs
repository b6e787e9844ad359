//! Credentials inventory and token triage.

use yew::prelude::*;

use super::Planned;

#[component]
pub fn CredentialsPage() -> Html {
    html! {
        <Planned
            title="Credentials"
            subtitle="Tokens, keys and sessions the backends hold, and how to triage a leaked one."
            will={vec![
                "List the tokens, API keys and sessions of every backend, with expiry and last use",
                "Paste a leaked token to find its owner, rights and age (matched by fingerprint, never stored)",
                "Revoke a credential and verify that it is dead",
            ]}
            now="Add a backend on the Backends page and check its connection; this page fills once backends are synced."
        />
    }
}
