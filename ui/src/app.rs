//! The application shell: sidebar navigation, theme, keyboard shortcuts and the current route.
//!
//! Routing is a hash (`#/backends`) read on `hashchange`, not yew-router: eight pages need no more,
//! and the route stays plain data (`route.rs`) testable without a browser.

use yew::prelude::*;

use crate::components::Now;
use crate::hooks::dom::{focus, typing_in_field, use_hashchange, use_keydown, use_now};
use crate::hooks::triage::TriageContext;
use crate::pages;
use crate::route::{self, Page, Route};

fn current_hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

fn current_route() -> Route {
    Route::parse(&current_hash())
}

fn go(route: &Route) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_hash(&route.href());
    }
}

/// Replaces the URL without a navigation (for filters typed into a page).
pub fn replace_route(route: &Route) {
    replace_href(&route.href());
}

/// Replaces the URL with `href` (a page's filters, see `route::href_with`) without a navigation.
pub fn replace_href(href: &str) {
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(href));
    }
}

/// True while a modal dialog is open (a second one must not stack on it).
fn dialog_open() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(".backdrop").ok().flatten())
        .is_some()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Theme {
    Light,
    Dark,
}

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
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = el.set_attribute("data-theme", name);
    }
    crate::prefs::save(crate::prefs::THEME, name);
}

#[component]
pub fn App() -> Html {
    let route = use_state(current_route);
    let theme = use_state(current_theme);
    let now = use_now(30_000);
    let triage_open = use_state(|| false);
    let about_open = use_state(|| false);
    let info = crate::hooks::app::use_app_info();
    let demo = crate::hooks::app::use_demo();
    let demo_info = match &*info {
        crate::hooks::Remote::Ready(i) => i.demo.clone(),
        _ => None,
    };
    // Bumped when triage changed the cache, so the page on screen reloads what it shows.
    let revision = use_state(|| 0u32);

    {
        let (route, triage_open) = (route.clone(), triage_open.clone());
        use_hashchange(Callback::from(move |()| {
            route.set(current_route());
            // Following a link out of the dialog ("Find in Credentials") leaves it.
            triage_open.set(false);
        }));
    }
    let open_triage = {
        let triage_open = triage_open.clone();
        Callback::from(move |()| triage_open.set(true))
    };
    let triage = TriageContext {
        open: open_triage.clone(),
        revision: *revision,
    };
    use_keydown(Callback::from(move |e: web_sys::KeyboardEvent| {
        let plain = !e.alt_key() && !e.ctrl_key() && !e.meta_key();
        if plain && e.key().eq_ignore_ascii_case("t") && !typing_in_field(&e) && !dialog_open() {
            // T: token triage, from any page (journey 1: a token leaked, minutes count).
            e.prevent_default();
            open_triage.emit(());
        } else if e.alt_key() && !e.ctrl_key() && !e.meta_key() {
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
        Page::AccessMap => {
            html! { <pages::access_map::AccessMapPage params={route::params(&current_hash())} /> }
        }
        Page::Reviews => {
            html! { <pages::reviews::ReviewsPage params={route::params(&current_hash())} /> }
        }
        Page::Credentials => {
            html! { <pages::credentials::CredentialsPage params={route::params(&current_hash())} /> }
        }
        Page::Audit => html! { <pages::audit::AuditPage query={route.query.clone()} /> },
        Page::Incident => html! { <pages::incident::IncidentPage query={route.query.clone()} /> },
        Page::Backends => {
            // `#/backends?add=1` (the welcome page's "Add a backend") opens the add dialog.
            let add = route::params(&current_hash())
                .iter()
                .any(|(k, v)| k == "add" && v == "1");
            html! { <pages::backends::BackendsPage query={route.query.clone()} {add} /> }
        }
        Page::Journal => {
            html! { <pages::journal::JournalPage params={route::params(&current_hash())} /> }
        }
    };

    html! {
        <ContextProvider<Now> context={Now(now)}>
        <ContextProvider<TriageContext> context={triage}>
            <div class="shell">
                <aside class="sidebar">
                    <div class="brand">
                        <img src="logo.png" alt="" width="28" height="28" />
                        <span>{ "Portcullis" }</span>
                        if demo_info.is_some() { <span class="pill demo">{ "DEMO" }</span> }
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
                        <button id="about-open" class="ghost about-link" title="Version, workspace, licence"
                                onclick={{ let a = about_open.clone(); Callback::from(move |_: MouseEvent| a.set(true)) }}>
                            <span>{ "About" }</span>
                            <span class="version">{ format!("v{}", portcullis_model::VERSION) }</span>
                        </button>
                        <p class="hint"><kbd>{ "/" }</kbd>{ " search · " }<kbd>{ "T" }</kbd>{ " triage · " }<kbd>{ "Esc" }</kbd>{ " close" }</p>
                    </div>
                </aside>
                <main id="main" data-page={route.page.slug()}>
                    // A demo workspace says so on every page, above everything else.
                    if let Some(d) = &demo_info {
                        <div class="demo-banner" role="status" data-testid="demo-banner">
                            <span class="pill">{ "DEMO" }</span>
                            <span>{ d.label() }</span>
                            <button id="leave-demo" class="small ghost"
                                    disabled={*demo.state == crate::hooks::app::DemoSwitch::Busy}
                                    onclick={demo.leave.reform(|_: MouseEvent| ())}>
                                { "Leave the demo" }
                            </button>
                        </div>
                    }
                    { page }
                </main>
            </div>
            if *about_open {
                <pages::about::AboutDialog
                    on_close={{ let a = about_open.clone(); Callback::from(move |()| a.set(false)) }} />
            }
            if *triage_open {
                <pages::triage::TriageHost
                    on_close={{ let t = triage_open.clone(); Callback::from(move |()| t.set(false)) }}
                    on_changed={{ let r = revision.clone(); Callback::from(move |()| r.set(r.wrapping_add(1))) }} />
            }
        </ContextProvider<TriageContext>>
        </ContextProvider<Now>>
    }
}
