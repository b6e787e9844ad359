//! The access map: answer "who can read this table or path, and why" with the grant path of each principal.

use yew::prelude::*;

use super::Planned;

#[component]
pub fn AccessMapPage() -> Html {
    html! {
        <Planned
            title="Access map"
            subtitle="Who can reach what, across backends, and why."
            will={vec![
                "Ask who can reach a resource (a table, a secret path, a scope) across every backend",
                "See the grant path of each answer: user → group → role → privilege",
                "Revoke a membership or grant from the path that gives it",
            ]}
            now="Add a backend on the Backends page and check its connection; this page fills once backends are synced."
        />
    }
}
