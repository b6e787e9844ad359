//! The application shell: sidebar navigation, theme, keyboard shortcuts and the current route.
//!
//! Routing is a hash (`#/backends`) read on `hashchange`, not yew-router: eight pages need no more,
//! and the route stays plain data (`route.rs`) testable without a browser.

use yew::prelude::*;

use crate::components::Now;
use crate::hooks::dom::{focus, typing_in_field, use_hashchange, use_keydown, use_now};
use crate::pages;
use crate::route::{Page, Route};

fn current_route() -> Route {
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    Route::parse(&hash)
}

fn go(route: &Route) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_hash(&route.href());
    }
}

/// Replaces the URL without a navigation (for filters typed into a page).
pub fn replace_route(route: &Route) {
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ =
            history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&route.href()));
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Theme {
    Light,
    Dark,
}

const THEME_KEY: &str = "portcullis-theme";

/// The theme in force: the stored choice (applied by boot.js before the app starts), else the OS's.
fn current_theme() -> Theme {
    let window = web_sys::window();
    let explicit = window
        .as_ref()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
        .and_then(|e| e.get_attribute("data-theme"));
    match explicit.as_deref() {
        Some("dark") => Theme::Dark,
        Some("light") => Theme::Light,
        _ => {
            let dark = window
                .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
                .map(|m| m.matches())
                .unwrap_or(false);
            if dark {
                Theme::Dark
            } else {
                Theme::Light
            }
        }
    }
}

fn apply_theme(theme: Theme) {
    let name = match theme {
        Theme::Light => "light",
        Theme::Dark => "dark",
    };
    let window = web_sys::window();
    if let Some(el) = window
        .as_ref()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = el.set_attribute("data-theme", name);
    }
    if let Some(storage) = window.and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.set_item(THEME_KEY, name);
    }
}

#[component]
pub fn App() -> Html {
    let route = use_state(current_route);
    let theme = use_state(current_theme);
    let now = use_now(30_000);

    {
        let route = route.clone();
        use_hashchange(Callback::from(move |()| route.set(current_route())));
    }
    use_keydown(Callback::from(|e: web_sys::KeyboardEvent| {
        if e.alt_key() && !e.ctrl_key() && !e.meta_key() {
            // Alt+1…Alt+8: go to the nth page. `code` is layout-independent.
            let digit = e
                .code()
                .strip_prefix("Digit")
                .and_then(|d| d.parse::<usize>().ok());
            if let Some(page) = digit
                .and_then(|d| d.checked_sub(1))
                .and_then(|i| Page::ALL.get(i))
            {
                e.prevent_default();
                go(&Route::new(*page));
            }
        } else if e.key() == "/" && !typing_in_field(&e) && focus("[data-search]") {
            e.prevent_default();
        }
    }));

    let toggle_theme = {
        let theme = theme.clone();
        Callback::from(move |_: MouseEvent| {
            let next = match *theme {
                Theme::Light => Theme::Dark,
                Theme::Dark => Theme::Light,
            };
            apply_theme(next);
            theme.set(next);
        })
    };
    let theme_label = match *theme {
        Theme::Light => "Dark theme",
        Theme::Dark => "Light theme",
    };

    let page = match route.page {
        Page::Overview => html! { <pages::overview::OverviewPage /> },
        Page::AccessMap => html! { <pages::access_map::AccessMapPage /> },
        Page::Reviews => html! { <pages::reviews::ReviewsPage /> },
        Page::Credentials => html! { <pages::credentials::CredentialsPage /> },
        Page::Audit => html! { <pages::audit::AuditPage /> },
        Page::Incident => html! { <pages::incident::IncidentPage /> },
        Page::Backends => html! { <pages::backends::BackendsPage query={route.query.clone()} /> },
        Page::Journal => html! { <pages::journal::JournalPage /> },
    };

    html! {
        <ContextProvider<Now> context={Now(now)}>
            <div class="shell">
                <aside class="sidebar">
                    <div class="brand">
                        <img src="logo.png" alt="" width="28" height="28" />
                        <span>{ "Portcullis" }</span>
                    </div>
                    <nav aria-label="Pages">
                        { for Page::ALL.iter().enumerate().map(|(i, p)| {
                            let active = *p == route.page;
                            let keys = format!("Alt+{}", i + 1);
                            html! {
                                <a id={format!("nav-{}", p.slug())}
                                   class={classes!("nav-link", active.then_some("active"))}
                                   href={Route::new(*p).href()}
                                   aria-current={active.then_some("page")}
                                   aria-keyshortcuts={keys.clone()}
                                   title={format!("{} ({keys})", p.title())}>
                                    <span>{ p.title() }</span>
                                    <kbd>{ format!("Alt {}", i + 1) }</kbd>
                                </a>
                            }
                        }) }
                    </nav>
                    <div class="sidebar-foot">
                        <button id="theme-toggle" class="ghost" onclick={toggle_theme}>{ theme_label }</button>
                        <p class="hint"><kbd>{ "/" }</kbd>{ " search · " }<kbd>{ "Esc" }</kbd>{ " close" }</p>
                    </div>
                </aside>
                <main id="main" data-page={route.page.slug()}>
                    { page }
                </main>
            </div>
        </ContextProvider<Now>>
    }
}
