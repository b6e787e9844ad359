//! The audit browser: one search box (the engine's query language, shown), a windowed table that
//! scrolls through any number of cached events by fetching keyset pages as it goes, the timeline
//! of the same search (pick a range on it), the raw event in a side panel, pivots on actor,
//! credential and resource, highlights, export of the result, and import of an audit file.

use portcullis_model::{
    AuditEventView, AuditField, AuditFormat, BackendInfo, ExportFormat, ImportReport, Progress,
};
use wasm_bindgen::JsCast;
use yew::platform::spawn_local;
use yew::prelude::*;

use super::PageHead;
use crate::components::access_path::target_revoke_dialog;
use crate::components::audit_detail::AuditDetail;
use crate::components::audit_timeline::AuditTimelineChart;
use crate::components::{Dialog, EmptyState, ErrorNote};
use crate::hooks::access::use_target_revoke;
use crate::hooks::audit::{
    add_term, use_audit, wants_more, window, with_range, ImportState, ROW_HEIGHT,
};
use crate::hooks::dom::use_keydown;
use crate::hooks::triage::TriageContext;
use crate::hooks::Remote;
use crate::ipc;
use crate::route::{Page, Route};

#[derive(Properties, PartialEq)]
pub struct AuditProps {
    /// The search kept in the URL (`#/audit?q=credential:12`).
    #[prop_or_default]
    pub query: String,
}

const SYNTAX: &str = "actor:alice outcome:deny resource:secret/* since:-1h";

/// `Nov 22, 08:14:03` in local time: audit rows need the seconds.
fn local_seconds(at: &chrono::DateTime<chrono::Utc>) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        at.timestamp_millis() as f64
    ));
    let options = js_sys::Object::new();
    for (k, v) in [
        ("month", "short"),
        ("day", "numeric"),
        ("hour", "2-digit"),
        ("minute", "2-digit"),
        ("second", "2-digit"),
        ("hour12", "false"),
    ] {
        let value = if v == "false" {
            wasm_bindgen::JsValue::FALSE
        } else {
            v.into()
        };
        let _ = js_sys::Reflect::set(&options, &k.into(), &value);
    }
    String::from(date.to_locale_string("default", &options))
}

fn pivot_cell(field: AuditField, value: &Option<String>, on_pivot: &Callback<String>) -> Html {
    match value {
        Some(v) => {
            let (on_pivot, term) = (on_pivot.clone(), field.term(v));
            html! {
                <button class="link pivot" data-testid={format!("pivot-{}", field.as_str())} title={format!("Filter on {term}")}
                        onclick={Callback::from(move |e: MouseEvent| { e.stop_propagation(); on_pivot.emit(term.clone()) })}>{ v }</button>
            }
        }
        None => html! { <span class="muted">{ "—" }</span> },
    }
}

fn row(
    i: usize,
    e: &AuditEventView,
    selected: bool,
    on_open: &Callback<i64>,
    on_pivot: &Callback<String>,
) -> Html {
    let id = e.id;
    let on_open = on_open.clone();
    html! {
        <div class={classes!("arow", selected.then_some("selected"))} role="row" data-testid="audit-row"
             data-id={id.to_string()} data-outcome={e.outcome.as_str()}
             data-actor={e.actor.clone().unwrap_or_default()} data-credential={e.credential.clone().unwrap_or_default()}
             style={format!("top:{}px", i as f64 * ROW_HEIGHT)} onclick={Callback::from(move |_| on_open.emit(id))}>
            <span class="c-time">{ local_seconds(&e.at) }</span>
            <span class="c-backend">{ &e.backend }</span>
            <span class="c-outcome"><span class={classes!("pill", "outcome", e.outcome.as_str())}>{ e.outcome.as_str() }</span></span>
            <span class="c-actor">{ pivot_cell(AuditField::Actor, &e.actor, on_pivot) }</span>
            <span class="c-cred">{ pivot_cell(AuditField::Credential, &e.credential, on_pivot) }</span>
            <span class="c-action"><code>{ &e.action }</code></span>
            <span class="c-resource">{ pivot_cell(AuditField::Resource, &e.resource, on_pivot) }</span>
            <span class="c-source">{ e.source_ip.clone().unwrap_or_default() }</span>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct ImportProps {
    on_close: Callback<()>,
    on_run: Callback<(String, AuditFormat, String)>,
    state: ImportState,
}

fn import_result(r: &ImportReport) -> Html {
    html! {
        <div class="import-result" data-testid="import-result" data-imported={r.imported.to_string()}
             data-duplicates={r.duplicates.to_string()} data-rejected={r.rejected_total.to_string()}>
            <p><strong>{ format!("{} imported", r.imported) }</strong>
               { format!(", {} duplicates (already in the cache), {} skipped, {} rejected — {} lines in {} ms",
                         r.duplicates, r.skipped, r.rejected_total, r.lines, r.duration_ms) }</p>
            if !r.rejected.is_empty() {
                <ul class="rejections">
                    { for r.rejected.iter().take(50).map(|x| html! { <li><code>{ format!("line {}", x.line) }</code>{ " " }{ &x.reason }</li> }) }
                    // `rejected` is the report's first rejections; the total counts them all.
                    if r.rejected_total > 50 { <li class="muted">{ format!("… and {} more", r.rejected_total - r.rejected.len().min(50) as u64) }</li> }
                </ul>
            }
        </div>
    }
}

#[component]
fn ImportDialog(props: &ImportProps) -> Html {
    let backends = use_state(|| Remote::<Vec<BackendInfo>>::Loading);
    let format = use_state(|| AuditFormat::Vault);
    let backend = use_state(String::new);
    let path = use_state(String::new);
    {
        let (backends, backend, format) = (backends.clone(), backend.clone(), format.clone());
        use_effect_with((), move |_| {
            spawn_local(async move {
                let r = ipc::list_backends().await;
                // The first backend that writes an audit file, with its format: the two
                // defaults go together.
                let first = r.as_ref().ok().and_then(|l| {
                    l.iter()
                        .find_map(|b| AuditFormat::for_kind(b.kind).map(|f| (b.name.clone(), f)))
                });
                if let Some((name, f)) = first {
                    backend.set(name);
                    format.set(f);
                }
                backends.set(Remote::from_result(r));
            });
        });
    }
    let select = |set: Callback<String>| {
        Callback::from(move |e: Event| {
            if let Some(s) = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok())
            {
                set.emit(s.value());
            }
        })
    };
    let on_format = select({
        let format = format.clone();
        Callback::from(move |v: String| {
            if let Some(f) = AuditFormat::ALL.into_iter().find(|f| f.as_str() == v) {
                format.set(f);
            }
        })
    });
    let on_backend = select({
        let (backend, format, backends) = (backend.clone(), format.clone(), backends.clone());
        Callback::from(move |v: String| {
            // Choosing a backend chooses its format; the format can still be changed after.
            if let Remote::Ready(list) = &*backends {
                if let Some(f) = list
                    .iter()
                    .find(|b| b.name == v)
                    .and_then(|b| AuditFormat::for_kind(b.kind))
                {
                    format.set(f);
                }
            }
            backend.set(v)
        })
    });
    let on_path = {
        let path = path.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(i) = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            {
                path.set(i.value());
            }
        })
    };
    let running = matches!(props.state, ImportState::Running(_));
    let on_submit = {
        let (on_run, backend, format, path) = (
            props.on_run.clone(),
            backend.clone(),
            format.clone(),
            path.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            on_run.emit(((*backend).clone(), *format, path.trim().to_string()));
        })
    };
    let backend_select = match &*backends {
        Remote::Loading => html! { <p class="loading">{ "Loading backends…" }</p> },
        Remote::Failed(e) => {
            html! { <ErrorNote error={e.clone()} context="Could not list backends" /> }
        }
        Remote::Ready(list) if list.is_empty() => html! {
            <p class="note">{ "No backend is registered: add one on the Backends page first; imported events belong to a backend." }</p>
        },
        Remote::Ready(list) => html! {
            <select id="import-backend" onchange={on_backend}>
                { for list.iter().map(|b| html! {
                    <option value={b.name.clone()} selected={*backend == b.name}>{ format!("{} ({})", b.name, b.kind.as_str()) }</option>
                }) }
            </select>
        },
    };
    let progress = match &props.state {
        ImportState::Running(Some(Progress::Advanced {
            done,
            total: Some(t),
            ..
        })) if *t > 0 => html! {
            <div class="inc-progress"><progress max={t.to_string()} value={done.to_string()} />
            <span>{ format!("{:.0}%", *done as f64 * 100.0 / *t as f64) }</span></div>
        },
        ImportState::Running(_) => html! { <p class="loading">{ "Importing…" }</p> },
        ImportState::Done(Ok(r)) => import_result(r),
        ImportState::Done(Err(e)) => {
            html! { <ErrorNote error={e.clone()} context="Import failed" /> }
        }
        ImportState::Idle => html! {},
    };
    html! {
        <Dialog id="audit-import" title="Import audit file" on_close={props.on_close.clone()}>
            <form class="form" onsubmit={on_submit}>
                <label>{ "Target backend" }{ backend_select }</label>
                <label>{ "Format (the backend's own; change it only if the file is in another)" }
                    <select id="import-format" onchange={on_format}>
                        { for AuditFormat::ALL.iter().map(|f| html! {
                            <option value={f.as_str()} selected={*format == *f}>{ f.as_str() }</option>
                        }) }
                    </select>
                </label>
                <label>{ "File path on this machine" }
                    <input id="import-path" type="text" placeholder="/var/log/vault/audit.log" value={(*path).clone()}
                           oninput={on_path} autocomplete="off" spellcheck="false" />
                </label>
                <p class="muted small">{ "Re-importing a file is safe: events already in the cache are counted as duplicates, not added twice." }</p>
                { progress }
                <footer>
                    <button type="button" onclick={props.on_close.reform(|_| ())}>{ "Close" }</button>
                    <button class="primary" type="submit" id="import-run" disabled={running || path.trim().is_empty() || backend.is_empty()}>{ "Import" }</button>
                </footer>
            </form>
        </Dialog>
    }
}

#[component]
pub fn AuditPage(props: &AuditProps) -> Html {
    let revision = use_context::<TriageContext>()
        .map(|t| t.revision)
        .unwrap_or(0);
    let input = use_state(|| props.query.clone());
    let audit = use_audit(props.query.clone(), revision);
    let scroll = use_state(|| (0.0f64, 480.0f64));
    let selected = use_state(|| None::<i64>);
    let importing = use_state(|| false);
    let open_highlight = use_state(|| None::<usize>);
    let scroller = use_node_ref();

    // The URL's query is the search: a link (`#/audit?q=credential:12`) or Back changes it.
    {
        let (input, scroller, scroll) = (input.clone(), scroller.clone(), scroll.clone());
        use_effect_with(props.query.clone(), move |q| {
            input.set(q.clone());
            if let Some(el) = scroller.cast::<web_sys::Element>() {
                el.set_scroll_top(0);
                scroll.set((0.0, f64::from(el.client_height())));
            }
        });
    }
    // A search is a navigation: the URL holds it and Back returns to the previous one.
    let search = Callback::from(move |q: String| {
        let href = Route {
            page: Page::Audit,
            query: q.trim().to_string(),
        }
        .href();
        if let Some(w) = web_sys::window() {
            let _ = w.location().set_hash(&href);
        }
    });
    // After a revocation the open event shows the credential's new status.
    let revoke = {
        let (open, selected) = (audit.open.clone(), selected.clone());
        use_target_revoke(Callback::from(move |()| {
            if let Some(id) = *selected {
                open.emit(id);
            }
        }))
    };
    {
        let (close, selected, importing) =
            (audit.close.clone(), selected.clone(), importing.clone());
        let revoking = revoke.current.open.is_some();
        use_keydown(Callback::from(move |e: web_sys::KeyboardEvent| {
            // Esc closes the revoke dialog first (the dialog handles it), then the event.
            if e.key() == "Escape" && selected.is_some() && !*importing && !revoking {
                close.emit(());
                selected.set(None);
            }
        }));
    }
    let on_input = {
        let input = input.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(i) = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            {
                input.set(i.value());
            }
        })
    };
    let on_submit = {
        let (search, input) = (search.clone(), input.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            search.emit((*input).clone());
        })
    };
    let on_pivot = {
        let (search, q) = (search.clone(), props.query.clone());
        Callback::from(move |term: String| search.emit(add_term(&q, &term)))
    };
    let on_replace = {
        let (search, selected, close) = (search.clone(), selected.clone(), audit.close.clone());
        Callback::from(move |q: String| {
            selected.set(None);
            close.emit(());
            search.emit(q);
        })
    };
    let on_open = {
        let (open, selected) = (audit.open.clone(), selected.clone());
        Callback::from(move |id: i64| {
            selected.set(Some(id));
            open.emit(id);
        })
    };
    let on_range = {
        let (search, q) = (search.clone(), props.query.clone());
        Callback::from(move |(since, until): (String, String)| {
            search.emit(with_range(&q, &since, &until))
        })
    };

    let results = &*audit.results;
    let (start, end) = window(scroll.0, scroll.1, results.rows.len());
    // Fetch the next page once the window nears the loaded end.
    {
        let more = audit.more.clone();
        let want = results.next_cursor.is_some()
            && !results.loading
            && wants_more(end, results.rows.len());
        use_effect_with(
            (want, results.rows.len(), results.generation),
            move |(want, _, _)| {
                if *want {
                    more.emit(());
                }
            },
        );
    }
    let on_scroll = {
        let scroll = scroll.clone();
        Callback::from(move |e: Event| {
            if let Some(el) = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            {
                scroll.set((f64::from(el.scroll_top()), f64::from(el.client_height())));
            }
        })
    };

    let chips: [(&str, &str); 4] = [
        ("denied", "outcome:deny"),
        ("last hour", "since:-1h"),
        ("last day", "since:-1d"),
        ("errors", "outcome:error"),
    ];
    let count = match (&results.total, results.loading && results.rows.is_empty()) {
        (_, true) => "Searching…".to_string(),
        (Some(t), _) if t.exact => format!("{} event(s)", t.count),
        (Some(t), _) => format!(
            "about {} events (an estimate: counting stops at {})",
            t.count,
            portcullis_model::AUDIT_EXACT_COUNT
        ),
        (None, _) => String::new(),
    };
    let height =
        (results.rows.len() + usize::from(results.next_cursor.is_some())) as f64 * ROW_HEIGHT;
    let shows_own = console_shown(&props.query);
    let toggle_own = {
        let (search, q) = (search.clone(), props.query.clone());
        Callback::from(move |_| search.emit(with_console_shown(&q, !shows_own)))
    };
    let hidden_note = if shows_own {
        ""
    } else {
        " The console's own requests are hidden: tick “Show the console's own requests” to see them too."
    };

    let table = if let Some(e) = &results.error {
        html! { <ErrorNote error={e.clone()} context="Search failed" /> }
    } else if !results.loading && results.rows.is_empty() {
        if props.query.trim().is_empty() {
            html! {
                <EmptyState title="No audit events in the cache" testid="audit-empty">
                    <p>{ "Sync a backend that has an audit trail (Backends page → Sync all), or import an audit file with “Import audit file…”." }{ hidden_note }</p>
                </EmptyState>
            }
        } else {
            html! {
                <EmptyState title="No event matches this search" testid="audit-no-match">
                    <p>{ "Remove a filter, widen the time range (since:-1d), or check the spelling; click “denied” or “last hour” to start from a simple search." }{ hidden_note }</p>
                </EmptyState>
            }
        }
    } else {
        html! {
            <div class="audit-table" role="table" aria-rowcount={results.rows.len().to_string()}>
                <div class="arow head" role="row">
                    <span>{ "Time" }</span><span>{ "Backend" }</span><span>{ "Outcome" }</span><span>{ "Actor" }</span>
                    <span>{ "Credential" }</span><span>{ "Action" }</span><span>{ "Resource" }</span><span>{ "Source" }</span>
                </div>
                <div class="audit-scroll" id="audit-scroll" data-testid="audit-scroll" ref={scroller} onscroll={on_scroll}
                     data-loaded={results.rows.len().to_string()} data-rendered={(end - start).to_string()}>
                    <div class="audit-spacer" style={format!("height:{height}px")}>
                        { for (start..end).map(|i| row(i, &results.rows[i], *selected == Some(results.rows[i].id), &on_open, &on_pivot)) }
                        if results.next_cursor.is_some() {
                            <div class="arow loading-row" style={format!("top:{}px", results.rows.len() as f64 * ROW_HEIGHT)}>
                                <span class="muted">{ "Loading more…" }</span>
                            </div>
                        }
                    </div>
                </div>
            </div>
        }
    };

    let timeline = match &*audit.timeline {
        Remote::Ready(t) if !t.buckets.is_empty() => {
            html! { <AuditTimelineChart timeline={t.clone()} on_range={on_range} /> }
        }
        Remote::Ready(_) => html! {},
        Remote::Loading => html! { <p class="loading">{ "Drawing the timeline…" }</p> },
        Remote::Failed(e) => html! { <ErrorNote error={e.clone()} context="Timeline" /> },
    };

    let highlights = match &*audit.highlights {
        Remote::Ready(views) if !views.is_empty() => {
            let open = *open_highlight;
            html! {
                <div class="highlights" data-testid="audit-highlights">
                    <span class="muted">{ "Highlights:" }</span>
                    { for views.iter().enumerate().map(|(i, v)| {
                        let oh = open_highlight.clone();
                        html! {
                            <button class={classes!("chip", (open == Some(i)).then_some("on"), (!v.items.is_empty()).then_some("hot"))}
                                    title={v.description.clone()} data-kind={v.kind.as_str()}
                                    onclick={Callback::from(move |_| oh.set(if open == Some(i) { None } else { Some(i) }))}>
                                { format!("{} ({})", v.title, v.items.len()) }
                            </button>
                        }
                    }) }
                    if let Some(v) = open.and_then(|i| views.get(i)) {
                        <div class="highlight-items">
                            <p class="muted">{ &v.description }{ " " }
                                <button class="link" onclick={{ let (r, q) = (on_replace.clone(), v.query.clone()); Callback::from(move |_| r.emit(q.clone())) }}>{ "Show the raw material" }</button></p>
                            if v.items.is_empty() { <p class="muted">{ "Nothing found in the cached events." }</p> }
                            <ul>
                                { for v.items.iter().map(|it| {
                                    let (r, q) = (on_replace.clone(), it.query.clone());
                                    html! { <li><button class="link" onclick={Callback::from(move |_| r.emit(q.clone()))}>{ &it.summary }</button>
                                        <span class="muted">{ format!(" · {} · {} event(s)", it.backend, it.count) }</span></li> }
                                }) }
                            </ul>
                        </div>
                    }
                </div>
            }
        }
        Remote::Failed(e) => html! { <ErrorNote error={e.clone()} context="Highlights" /> },
        _ => html! {},
    };

    let exported = match &*audit.exported {
        Some(Remote::Ready((path, n))) => {
            html! { <p class="muted" data-testid="audit-exported">{ format!("{n} event(s) written to ") }<code>{ path }</code></p> }
        }
        Some(Remote::Failed(e)) => {
            html! { <ErrorNote error={e.clone()} context="Export failed" /> }
        }
        Some(Remote::Loading) => html! { <p class="loading">{ "Exporting…" }</p> },
        None => html! {},
    };

    let detail = match &*audit.detail {
        Some(d) => {
            let close = {
                let (c, s) = (audit.close.clone(), selected.clone());
                Callback::from(move |()| {
                    s.set(None);
                    c.emit(())
                })
            };
            html! { <AuditDetail detail={d.clone()} on_close={close} on_pivot={on_replace.clone()} on_revoke={revoke.start.clone()} /> }
        }
        None => html! {},
    };
    let import_dialog = if *importing {
        let close = {
            let i = importing.clone();
            Callback::from(move |()| i.set(false))
        };
        html! { <ImportDialog on_close={close} on_run={audit.run_import.clone()} state={(*audit.import).clone()} /> }
    } else {
        html! {}
    };
    let has_rows = !results.rows.is_empty();

    html! {
        <>
            <PageHead title="Audit" subtitle="What principals and credentials actually did, on every backend.">
                <button id="audit-import-open" onclick={{ let i = importing.clone(); Callback::from(move |_| i.set(true)) }}>{ "Import audit file…" }</button>
                <button id="audit-export-csv" disabled={!has_rows} onclick={audit.export.reform(|_| ExportFormat::Csv)}>{ "Export CSV" }</button>
                <button id="audit-export-jsonl" disabled={!has_rows} onclick={audit.export.reform(|_| ExportFormat::JsonLines)}>{ "Export JSON lines" }</button>
            </PageHead>
            <form class="audit-search" onsubmit={on_submit}>
                <input id="audit-search" data-search="" type="search" placeholder={SYNTAX} value={(*input).clone()}
                       oninput={on_input} autocomplete="off" spellcheck="false" aria-label="Search audit events" />
                <button class="primary" type="submit" id="audit-search-go">{ "Search" }</button>
            </form>
            <div class="audit-help">
                <span class="muted">{ "Syntax: " }<code>{ SYNTAX }</code>{  " · fields: backend actor credential action resource outcome source since until console · " }<code>{ "-" }</code>{ " negates · " }<code>{ "*" }</code>{ " is a prefix" }</span>
                <span class="chips">
                    { for chips.iter().map(|(label, term)| {
                        let (on_pivot, term) = (on_pivot.clone(), term.to_string());
                        html! { <button class="chip" data-term={term.clone()} onclick={Callback::from(move |_| on_pivot.emit(term.clone()))}>{ *label }</button> }
                    }) }
                    if !props.query.is_empty() {
                        <button class="chip" id="audit-clear" onclick={search.reform(|_| String::new())}>{ "clear" }</button>
                    }
                </span>
            </div>
            { highlights }
            { timeline }
            <div class="audit-count">
                <strong data-testid="audit-count">{ count }</strong>
                <label class="own-toggle" title="Requests the console itself made to the backends: syncs, checks, verification lookups (console:show in the query)">
                    <input type="checkbox" id="audit-show-console" checked={shows_own} onchange={toggle_own} />
                    { " Show the console's own requests" }
                </label>
                if !results.normalised.is_empty() && results.normalised != props.query.trim() {
                    <span class="muted">{ " · understood as " }<code>{ &results.normalised }</code></span>
                }
            </div>
            { exported }
            { table }
            { detail }
            { import_dialog }
            { target_revoke_dialog(&revoke) }
        </>
    }
}

/// Whether a query shows the console's own requests (`console:show` or `console:only`).
fn console_shown(query: &str) -> bool {
    query.split_whitespace().any(|t| {
        let t = t.to_ascii_lowercase();
        t == "console:show" || t == "console:only"
    })
}

/// `query` with its `console:` terms replaced by `console:show`, or dropped (the default hides).
fn with_console_shown(query: &str, show: bool) -> String {
    let mut out = query.to_string();
    for term in query
        .split_whitespace()
        .filter(|t| t.to_ascii_lowercase().starts_with("console:"))
    {
        out = out.replacen(term, "", 1);
    }
    let mut out = out.trim().to_string();
    if show {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str("console:show");
    }
    out
}
