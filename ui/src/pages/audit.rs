//! The audit view: searchable events read from each backend's audit trail.

use yew::prelude::*;

use super::Planned;

#[component]
pub fn AuditPage() -> Html {
    html! {
        <Planned
            title="Audit"
            subtitle="What principals and credentials actually did."
            will={vec![
                "Search audit events of every backend by actor, credential, resource, outcome and time",
                "Filter on one credential to see what it did since a given time, including denied requests",
                "Open an event's raw record as the backend wrote it",
            ]}
            now="Add a backend on the Backends page and check its connection; this page fills once backends are synced."
        />
    }
}
