//! The journal: every state-changing action, recorded before it is sent.

use yew::prelude::*;

use super::Planned;

#[component]
pub fn JournalPage() -> Html {
    html! {
        <Planned
            title="Journal"
            subtitle="The append-only, hash-chained record of every change Portcullis made."
            will={vec![
                "Read every revocation and review decision, with who, when, and its state (planned → sent → verified)",
                "Verify the hash chain of the journal",
                "Export entries for an auditor",
            ]}
            now="This version does not change anything on a backend yet, so there is nothing to record. Add and check backends meanwhile."
        />
    }
}
