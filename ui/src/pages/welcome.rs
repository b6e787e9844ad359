//! The first run: with no backend registered, the app opens here instead of on an empty Overview,
//! and says what Portcullis is for and the two ways to start — connect a real system, or look
//! around a demo organisation first.

use yew::prelude::*;

use crate::components::ErrorNote;
use crate::hooks::app::{use_demo, DemoSwitch};
use crate::route::{href_with, Page};

/// The link that opens the Backends page with its add-backend dialog open.
pub fn add_backend_href() -> String {
    href_with(Page::Backends, &[("add", "1".into())])
}

#[component]
pub fn Welcome() -> Html {
    let demo = use_demo();
    let busy = *demo.state == DemoSwitch::Busy;
    html! {
        <section class="welcome" data-testid="welcome" aria-labelledby="welcome-title">
            <header class="welcome-head">
                <img src="logo.png" alt="" width="56" height="56" />
                <div>
                    <h1 id="welcome-title">{ "Welcome to Portcullis" }</h1>
                    <p class="sub">
                        { "See who can do what with your API credentials across OAuth 2.0 servers, Vault and \
                           OpenBao, PostgreSQL, Keycloak, Kong, Kubernetes, AWS IAM, GitLab, GitHub organisations and hoop.dev — find what is granted but unused, \
                           and revoke with proof that it is dead." }
                    </p>
                </div>
            </header>
            <div class="welcome-choices">
                <article class="card choice">
                    <h2>{ "Add a backend" }</h2>
                    <p>
                        { "Connect a system whose access you review. Portcullis reads its principals, grants, \
                           credentials and audit trail into a cache on this machine; the console's own credential \
                           goes to the OS keychain, never into the cache." }
                    </p>
                    <a id="welcome-add-backend" class="button primary" href={add_backend_href()}>
                        { "Add a backend" }
                    </a>
                </article>
                <article class="card choice" data-testid="welcome-demo">
                    <h2>{ "Explore a demo organisation" }</h2>
                    <p>
                        { "A generated organisation with a few backends, their people and services, grants, \
                           credentials and months of audit history — in a workspace of its own, labelled as demo \
                           data, never mixed into yours." }
                    </p>
                    <button id="welcome-demo" class="ghost" disabled={busy}
                            onclick={demo.open.reform(|_: MouseEvent| ())}>
                        { if busy { "Generating the organisation…" } else { "Explore a demo organisation" } }
                    </button>
                    if let DemoSwitch::Failed(e) = &*demo.state {
                        <ErrorNote error={e.clone()} context="The demo could not be opened" />
                    }
                </article>
            </div>
            <p class="muted welcome-cli">
                { "Prefer a terminal? " }<code>{ "portcullis backend add --help" }</code>
                { " · " }<code>{ "man portcullis" }</code>
            </p>
        </section>
    }
}
