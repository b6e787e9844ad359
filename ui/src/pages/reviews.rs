//! Access review campaigns: findings sorted by severity, keep / reduce / revoke decisions, sign-off.

use yew::prelude::*;

use super::Planned;

#[component]
pub fn ReviewsPage() -> Html {
    html! {
        <Planned
            title="Reviews"
            subtitle="Periodic access reviews with findings, decisions and sign-off."
            will={vec![
                "Start a review campaign over chosen backends",
                "Work through findings by severity: unused grants, tokens that never expire, wildcard rights",
                "Keep, reduce or revoke each item with a note, then sign off and export a verifiable report",
            ]}
            now="Add a backend on the Backends page and check its connection; this page fills once backends are synced."
        />
    }
}
