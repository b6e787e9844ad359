//! The access map: pick a person (or service, or credential) and see everything they can reach
//! across backends and why — as a table of effective permissions with their grant paths, as a
//! layered graph of the neighbourhood, and in the principals × permissions matrix coloured by
//! granted-and-used / granted-but-unused / not granted. Plus "who can ACTION on RESOURCE".
//! The subject and the who-can question live in the URL (`#/access?who=alice`).

use portcullis_model::{
    Action, CellState, EffectivePermission, Explanation, MatrixQuery, MatrixSort, Risk,
    SubjectAccess, WhoCanAnswer, WhyAnswer,
};
use wasm_bindgen::JsCast;
use yew::prelude::*;

use super::PageHead;
use crate::components::access_graph::AccessGraph;
use crate::components::access_path::{target_revoke_dialog, PathView};
use crate::components::{EmptyState, ErrorNote, Time};
use crate::hooks::access::{use_access, use_target_revoke, MatrixView};
use crate::hooks::Remote;
use crate::route::{href_with, Page};

#[derive(Properties, PartialEq)]
pub struct AccessProps {
    /// The URL's state (`who`, `action`, `resource`).
    #[prop_or_default]
    pub params: Vec<(String, String)>,
}

fn param(params: &[(String, String)], key: &str) -> String {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn value(e: &Event) -> String {
    let t = e.target();
    if let Some(s) = t
        .clone()
        .and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok())
    {
        return s.value();
    }
    t.and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        .map(|i| i.value())
        .unwrap_or_default()
}

fn go(params: &[(&str, String)]) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_hash(&href_with(Page::AccessMap, params));
    }
}

/// Matrix filters, kept in the page (they are many and change often).
#[derive(Clone, PartialEq, Default)]
struct MatrixFilter {
    backend: String,
    action: String,
    risk: String,
    search: String,
    sort: String,
    row_offset: u32,
}

const ROWS: u32 = 25;
const COLS: u32 = 30;

impl MatrixFilter {
    fn query(&self) -> MatrixQuery {
        let action = match self.action.as_str() {
            "read" => Some(Action::Read),
            "write" => Some(Action::Write),
            "admin" => Some(Action::Admin),
            "execute" => Some(Action::Execute),
            _ => None,
        };
        let risk = match self.risk.as_str() {
            "high" => Some(Risk::High),
            "medium" => Some(Risk::Medium),
            "low" => Some(Risk::Low),
            _ => None,
        };
        MatrixQuery {
            backends: if self.backend.is_empty() {
                Vec::new()
            } else {
                vec![self.backend.clone()]
            },
            actions: action.into_iter().collect(),
            risks: risk.into_iter().collect(),
            principal_search: (!self.search.is_empty()).then(|| self.search.clone()),
            sort: match self.sort.as_str() {
                "granted" => MatrixSort::Granted,
                "unused" => MatrixSort::Unused,
                "risk" => MatrixSort::Risk,
                _ => MatrixSort::Name,
            },
            row_offset: Some(self.row_offset),
            row_limit: Some(ROWS),
            col_limit: Some(COLS),
            ..MatrixQuery::default()
        }
    }
}

#[component]
pub fn AccessMapPage(props: &AccessProps) -> Html {
    let access = use_access();
    let who = param(&props.params, "who");
    let wc_action = param(&props.params, "action");
    let wc_resource = param(&props.params, "resource");
    let subject_text = use_state(|| who.clone());
    let action_text = use_state(|| {
        if wc_action.is_empty() {
            "read".to_string()
        } else {
            wc_action.clone()
        }
    });
    let resource_text = use_state(|| wc_resource.clone());
    let highlight = use_state(Vec::<String>::new);
    let filter = use_state(MatrixFilter::default);
    let revoke = {
        let (explain, who) = (access.explain.clone(), who.clone());
        use_target_revoke(Callback::from(move |()| {
            if !who.is_empty() {
                explain.emit(who.clone())
            }
        }))
    };
    {
        let explain = access.explain.clone();
        let subject_text = subject_text.clone();
        use_effect_with(who.clone(), move |who| {
            subject_text.set(who.clone());
            if !who.is_empty() {
                explain.emit(who.clone());
            }
        });
    }
    {
        let ask = access.ask_who_can.clone();
        use_effect_with((wc_action.clone(), wc_resource.clone()), move |(a, r)| {
            if !r.is_empty() {
                ask.emit((
                    if a.is_empty() {
                        "read".into()
                    } else {
                        a.clone()
                    },
                    r.clone(),
                ));
            }
        });
    }
    {
        let load = access.load_matrix.clone();
        use_effect_with((*filter).clone(), move |f| load.emit(f.query()));
    }
    let url_state = {
        let (s, a, r) = (
            subject_text.clone(),
            action_text.clone(),
            resource_text.clone(),
        );
        move |who: Option<String>| {
            vec![
                ("who", who.unwrap_or_else(|| (*s).clone())),
                ("action", (*a).clone()),
                ("resource", (*r).clone()),
            ]
        }
    };
    let on_explain = {
        let url_state = url_state.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            go(&url_state(None));
        })
    };
    let on_who_can = {
        let url_state = url_state.clone();
        let who = who.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            go(&url_state(Some(who.clone())));
        })
    };
    let on_show = {
        let highlight = highlight.clone();
        Callback::from(move |ids: Vec<String>| highlight.set(ids))
    };
    let on_revoke = revoke.start.clone();

    let explain_body = match &*access.explanation {
        None => html! {
            <EmptyState title="Pick someone" testid="access-empty">
                <p>{ "Type a person's, service's or group's name (e.g. one from the Credentials page) and press Enter: you will see every permission they reach in every synced backend, and the path that gives it." }</p>
            </EmptyState>
        },
        Some(Remote::Loading) => {
            html! { <p class="loading" data-testid="loading">{ "Working out their access…" }</p> }
        }
        Some(Remote::Failed(e)) => {
            html! { <ErrorNote error={e.clone()} context="Could not explain this subject" /> }
        }
        Some(Remote::Ready(x)) => explanation_view(x, &on_revoke, &on_show, &access.ask_why),
    };
    let graph_body = match &*access.graph {
        None => {
            html! { <p class="muted">{ "The map of the chosen subject appears here; click any node to centre on it." }</p> }
        }
        Some(Remote::Loading) => html! { <p class="loading">{ "Drawing the neighbourhood…" }</p> },
        Some(Remote::Failed(e)) => {
            html! { <ErrorNote error={e.clone()} context="Could not load the neighbourhood" /> }
        }
        Some(Remote::Ready(g)) => html! {
            <AccessGraph graph={g.clone()} highlight={(*highlight).clone()} on_select={access.expand.clone()} />
        },
    };
    let who_can_body = match &*access.who_can {
        None => {
            html! { <p class="muted">{ "Ask e.g. read on secret/payments/* (OpenBao) or SELECT on public.payments (PostgreSQL)." }</p> }
        }
        Some(Remote::Loading) => html! { <p class="loading">{ "Searching every backend…" }</p> },
        Some(Remote::Failed(e)) => {
            html! { <ErrorNote error={e.clone()} context="Could not answer" /> }
        }
        Some(Remote::Ready(a)) => who_can_view(a, &on_revoke, &on_show),
    };
    let why_body = match &*access.why {
        None => html! {},
        Some(Remote::Loading) => {
            html! { <section class="card why"><p class="loading">{ "Finding the path…" }</p></section> }
        }
        Some(Remote::Failed(e)) => {
            html! { <section class="card why"><ErrorNote error={e.clone()} context="Could not explain this cell" /></section> }
        }
        Some(Remote::Ready(w)) => why_view(w, &on_revoke, &on_show),
    };
    let set = |f: fn(&mut MatrixFilter, String)| {
        let filter = filter.clone();
        Callback::from(move |e: Event| {
            let mut next = (*filter).clone();
            f(&mut next, value(&e));
            next.row_offset = 0;
            filter.set(next);
        })
    };
    let page_by = |delta: i64| {
        let filter = filter.clone();
        Callback::from(move |_: MouseEvent| {
            let mut next = (*filter).clone();
            next.row_offset = (next.row_offset as i64 + delta * ROWS as i64).max(0) as u32;
            filter.set(next);
        })
    };
    let matrix_body = match &*access.matrix {
        None | Some(Remote::Loading) => html! { <p class="loading">{ "Building the matrix…" }</p> },
        Some(Remote::Failed(e)) => {
            html! { <ErrorNote error={e.clone()} context="Could not build the matrix" /> }
        }
        Some(Remote::Ready(m)) => matrix_view(
            m,
            &access.ask_why,
            page_by(-1),
            page_by(1),
            filter.row_offset,
        ),
    };
    let f = &*filter;

    html! {
        <>
            <PageHead title="Access map" subtitle="Who can reach what, across backends, and why." />
            <section class="card">
                <form class="access-ask" onsubmit={on_explain}>
                    <label for="access-subject">{ "Subject" }</label>
                    <input id="access-subject" data-search="true" type="search" placeholder="person, service, group or credential…"
                           value={(*subject_text).clone()}
                           oninput={{ let s = subject_text.clone(); Callback::from(move |e: InputEvent| s.set(value(&e.into()))) }} />
                    <button id="access-explain" type="submit" class="primary">{ "Explain" }</button>
                </form>
                { explain_body }
            </section>
            <section class="card">
                <h2>{ "Map" }</h2>
                { graph_body }
            </section>
            { why_body }
            <section class="card">
                <h2>{ "Who can…" }</h2>
                <form class="access-ask" onsubmit={on_who_can}>
                    <select id="whocan-action" aria-label="Action"
                            onchange={{ let a = action_text.clone(); Callback::from(move |e: Event| a.set(value(&e))) }}>
                        { for ["read", "write", "admin", "execute", "any"].iter().map(|a| html! {
                            <option value={*a} selected={*action_text == *a}>{ *a }</option>
                        }) }
                    </select>
                    <input id="whocan-resource" type="text" placeholder="resource: secret/payments/*, public.payments, a scope, client hx-portal: orders-editor…"
                           value={(*resource_text).clone()}
                           oninput={{ let r = resource_text.clone(); Callback::from(move |e: InputEvent| r.set(value(&e.into()))) }} />
                    <button id="whocan-ask" type="submit" class="primary">{ "Ask" }</button>
                </form>
                { who_can_body }
            </section>
            <section class="card">
                <h2>{ "Matrix: principals × permissions" }</h2>
                <div class="filters matrix-filters">
                    <input id="matrix-backend" type="text" placeholder="backend" value={f.backend.clone()} onchange={set(|f, v| f.backend = v)} />
                    <select id="matrix-action" aria-label="Action" onchange={set(|f, v| f.action = v)}>
                        { for ["", "read", "write", "admin", "execute"].iter().map(|a| html! {
                            <option value={*a} selected={f.action == *a}>{ if a.is_empty() { "any action" } else { a } }</option>
                        }) }
                    </select>
                    <select id="matrix-risk" aria-label="Risk" onchange={set(|f, v| f.risk = v)}>
                        { for ["", "high", "medium", "low"].iter().map(|a| html! {
                            <option value={*a} selected={f.risk == *a}>{ if a.is_empty() { "any risk" } else { a } }</option>
                        }) }
                    </select>
                    <input id="matrix-search" type="text" placeholder="principal" value={f.search.clone()} onchange={set(|f, v| f.search = v)} />
                    <select id="matrix-sort" aria-label="Sort rows" onchange={set(|f, v| f.sort = v)}>
                        { for [("name", "by name"), ("granted", "most granted"), ("unused", "most unused"), ("risk", "highest risk")].iter().map(|(v, l)| html! {
                            <option value={*v} selected={f.sort == *v || (f.sort.is_empty() && *v == "name")}>{ *l }</option>
                        }) }
                    </select>
                </div>
                { matrix_body }
            </section>
            { target_revoke_dialog(&revoke) }
        </>
    }
}

fn explanation_view(
    x: &Explanation,
    on_revoke: &Callback<(portcullis_model::RevocationTarget, String)>,
    on_show: &Callback<Vec<String>>,
    ask_why: &Callback<(String, String)>,
) -> Html {
    if x.subjects.is_empty() {
        return html! {
            <EmptyState title="Nobody by that name" testid="access-none">
                <p>{ x.hint.clone().unwrap_or_else(|| "Check the spelling, or sync the backends on the Backends page.".into()) }</p>
            </EmptyState>
        };
    }
    html! { <div data-testid="explanation">{ for x.subjects.iter().map(|s| subject_view(s, on_revoke, on_show, ask_why)) }</div> }
}

fn subject_view(
    s: &SubjectAccess,
    on_revoke: &Callback<(portcullis_model::RevocationTarget, String)>,
    on_show: &Callback<Vec<String>>,
    ask_why: &Callback<(String, String)>,
) -> Html {
    let reach = &s.blast_radius;
    let backends = reach.per_backend.iter().map(|b| {
        html! {
            <span class="tag" data-testid="reach-backend" data-backend={b.backend.clone()}>
                { format!("{}: {} permissions ({} write, {} admin)", b.backend, b.pairs, b.write, b.admin) }
            </span>
        }
    });
    let rows = s
        .permissions
        .iter()
        .map(|p| perm_row(&s.subject.id, p, on_revoke, on_show, ask_why));
    html! {
        <div class="subject" data-testid="subject" data-subject={s.subject.id.clone()}>
            <h3>
                { &s.subject.label }
                <span class="muted">{ format!(" · {} on {}", s.subject.principal_kind.map(|k| k.as_str()).unwrap_or(s.subject.kind.as_str()), s.subject.backend) }</span>
                if s.subject.enabled == Some(false) { <span class="badge bad">{ "disabled" }</span> }
            </h3>
            <p class="reach">{ format!("Reaches {} permissions: ", s.permissions.len()) }{ for backends }</p>
            if s.permissions.is_empty() {
                <p class="muted">{ "No permission reaches this subject in the cache." }</p>
            } else {
                <table class="table perm-table" data-testid="permissions">
                    <thead><tr><th>{ "Permission" }</th><th>{ "Backend" }</th><th>{ "Action" }</th><th>{ "Risk" }</th><th>{ "Last used" }</th><th>{ "Why (grant path)" }</th></tr></thead>
                    <tbody>{ for rows }</tbody>
                </table>
            }
            if s.paths_truncated { <p class="muted">{ "Some permissions have more paths than listed." }</p> }
        </div>
    }
}

fn perm_row(
    subject: &str,
    p: &EffectivePermission,
    on_revoke: &Callback<(portcullis_model::RevocationTarget, String)>,
    on_show: &Callback<Vec<String>>,
    ask_why: &Callback<(String, String)>,
) -> Html {
    let n = &p.permission;
    let why = {
        let (cb, s, id) = (ask_why.clone(), subject.to_string(), n.id.clone());
        Callback::from(move |_: MouseEvent| cb.emit((s.clone(), id.clone())))
    };
    html! {
        <tr data-testid="permission-row" data-backend={n.backend.clone()}>
            <td><button type="button" class="link" onclick={why} title="Show every path in the why panel">{ &n.label }</button></td>
            <td>{ &n.backend }</td>
            <td>{ n.action.map(|a| a.as_str()).unwrap_or("") }</td>
            <td>{ risk_badge(n.risk) }</td>
            <td>
                if let Some(at) = p.last_used_at { <Time at={at} compact=true />{ format!(" · {}×", p.uses) } }
                else { <span class="muted">{ "no use seen" }</span> }
            </td>
            <td>{ for p.paths.iter().take(1).map(|path| html! {
                <PathView path={path.clone()} on_revoke={on_revoke.clone()} on_show={on_show.clone()} />
            }) }
            if p.paths.len() > 1 { <span class="muted">{ format!(" (+{} more paths)", p.paths.len() - 1) }</span> }
            </td>
        </tr>
    }
}

fn risk_badge(r: Option<Risk>) -> Html {
    match r {
        Some(r) => {
            html! { <span class={classes!("badge", format!("risk-{}", r.as_str()))}>{ r.as_str() }</span> }
        }
        None => html! {},
    }
}

fn who_can_view(
    a: &WhoCanAnswer,
    on_revoke: &Callback<(portcullis_model::RevocationTarget, String)>,
    on_show: &Callback<Vec<String>>,
) -> Html {
    if a.allowed.is_empty() && a.denied.is_empty() {
        return html! {
            <p class="muted" data-testid="whocan-none">
                { a.hint.clone().unwrap_or_else(|| format!("Nobody can {} {} in {}.", a.action, a.resource, a.backends_searched.join(", "))) }
            </p>
        };
    }
    // Two principals may share a name (an entity and the account that logs in as it): then
    // their ids tell them apart.
    let shared = |label: &str| {
        a.allowed
            .iter()
            .filter(|x| x.principal.label == label)
            .count()
            > 1
    };
    let entries = a.allowed.iter().map(|e| {
        html! {
            <li data-testid="whocan-entry" data-principal={e.principal.id.clone()}>
                <strong>{ &e.principal.label }</strong>
                if shared(&e.principal.label) && e.principal.external_id != e.principal.label {
                    <span class="muted">{ format!(" ({})", e.principal.external_id) }</span>
                }
                <span class="muted">{ format!(" · {} on {}", e.principal.principal_kind.map(|k| k.as_str()).unwrap_or("principal"), e.principal.backend) }</span>
                if !e.credentials.is_empty() {
                    <div class="muted" data-testid="whocan-credentials">
                        { format!("through its credential(s) {}, each by its own rights", e.credentials.iter().map(|c| c.label.as_str()).collect::<Vec<_>>().join(", ")) }
                    </div>
                }
                <ul>{ for e.matches.iter().map(|m| html! {
                    <li>
                        <code>{ &m.permission.label }</code>
                        if m.coverage == portcullis_model::Coverage::Partial { <span class="badge">{ "partial" }</span> }
                        { for m.paths.iter().take(2).map(|p| html! { <div><PathView path={p.clone()} on_revoke={on_revoke.clone()} on_show={on_show.clone()} /></div> }) }
                    </li>
                }) }</ul>
            </li>
        }
    });
    html! {
        <div data-testid="whocan-result">
            <p>{ format!("{} principal(s) can {} {} (searched {}):", a.allowed.len(), a.action, a.resource, a.backends_searched.join(", ")) }</p>
            <ul class="whocan">{ for entries }</ul>
            if !a.denied.is_empty() {
                <p class="muted">{ format!("{} more hold a matching grant that a deny rule overrides: ", a.denied.len()) }
                    { a.denied.iter().map(|d| d.principal.label.clone()).collect::<Vec<_>>().join(", ") }</p>
            }
        </div>
    }
}

fn why_view(
    w: &WhyAnswer,
    on_revoke: &Callback<(portcullis_model::RevocationTarget, String)>,
    on_show: &Callback<Vec<String>>,
) -> Html {
    html! {
        <section class="card why" data-testid="why-panel">
            <h2>{ format!("Why {} → {}", w.principal.label, w.permission.label) }</h2>
            if !w.granted {
                <p>{ "Not granted: no path leads from this principal to this permission." }</p>
            } else {
                <>
                    <p>
                        { format!("{} path(s)", w.paths.len()) }
                        { " · " }
                        if let Some(at) = w.last_used_at { { "last used " }<Time at={at} />{ format!(" ({}×)", w.uses) } }
                        else { { "not used in the cache's audit data" } }
                    </p>
                    <ul>{ for w.paths.iter().map(|p| html! { <li><PathView path={p.clone()} on_revoke={on_revoke.clone()} on_show={on_show.clone()} /></li> }) }</ul>
                </>
            }
        </section>
    }
}

fn matrix_view(
    m: &MatrixView,
    ask_why: &Callback<(String, String)>,
    prev: Callback<MouseEvent>,
    next: Callback<MouseEvent>,
    offset: u32,
) -> Html {
    let p = &m.page;
    if p.rows.is_empty() {
        return html! {
            <p class="muted" data-testid="matrix-empty">
                { p.hint.clone().unwrap_or_else(|| "No principal holds a permission under these filters: clear a filter, or sync the backends.".into()) }
            </p>
        };
    }
    let mut state = vec![CellState::NotGranted; p.rows.len() * p.columns.len()];
    for c in &p.cells {
        if let Some(s) = state.get_mut(c.row as usize * p.columns.len() + c.col as usize) {
            *s = c.state;
        }
    }
    let cols = p.columns.len();
    let t = &p.totals;
    let shared_row = |n: &portcullis_model::AccessNode| {
        n.external_id != n.label
            && p.rows
                .iter()
                .filter(|r| r.principal.label == n.label && r.principal.backend == n.backend)
                .count()
                > 1
    };
    html! {
        <div class="matrix" data-testid="matrix">
            <p class="legend">
                <span class="cell granted_used" />{ format!(" used ({}) ", t.granted_used) }
                <span class="cell granted_unused" />{ format!(" granted, unused since {} ({}) ", crate::components::time::local(&p.window_start).split(' ').next().unwrap_or(""), t.granted_unused) }
                <span class="cell not_granted" />{ " not granted" }
            </p>
            <div class="matrix-split">
                // The SVG is drawn by our own engine (plotters), from cache data.
                <div class="chart" data-testid="matrix-heatmap">{ Html::from_html_unchecked(m.svg.clone().into()) }</div>
                <div class="matrix-grid-wrap">
                    <table class="matrix-grid" data-testid="matrix-grid">
                        <thead><tr><th />{ for p.columns.iter().map(|c| html! {
                            <th class="col" title={format!("{} ({} holders, {} use it)", c.permission.id, c.holders, c.used_by)}><span>{ crate::components::copy::short(&c.permission.label, 18) }</span></th>
                        }) }</tr></thead>
                        <tbody>{ for p.rows.iter().enumerate().map(|(r, row)| html! {
                            <tr>
                                <th title={row.principal.id.clone()}>{ crate::components::copy::short(&row.principal.label, 16) }
                                    // Rows sharing a name (an entity and the account that logs in
                                    // as it) are told apart by their ids.
                                    if shared_row(&row.principal) {
                                        <span class="muted">{ format!(" ({})", crate::components::copy::short(&row.principal.external_id, 14)) }</span>
                                    }
                                    <span class="muted">{ format!(" {}", row.principal.backend) }</span></th>
                                { for p.columns.iter().enumerate().map(|(c, col)| {
                                    let s = state[r * cols + c];
                                    let name = match s { CellState::GrantedUsed => "granted_used", CellState::GrantedUnused => "granted_unused", CellState::NotGranted => "not_granted" };
                                    let (cb, pid, cid) = (ask_why.clone(), row.principal.id.clone(), col.permission.id.clone());
                                    let title = format!("{} · {} · {}", row.principal.label, col.permission.label, name.replace('_', " "));
                                    html! { <td class={classes!("cell", name)} title={title} data-testid="matrix-cell" data-state={name}
                                                onclick={move |_| cb.emit((pid.clone(), cid.clone()))} /> }
                                }) }
                            </tr>
                        }) }</tbody>
                    </table>
                </div>
            </div>
            <p class="pager">
                { format!("Principals {}–{} of {} · permissions 1–{} of {} ", offset + 1, offset as usize + p.rows.len(), p.total_rows, p.columns.len(), p.total_columns) }
                <button type="button" class="ghost" disabled={offset == 0} onclick={prev}>{ "← Previous" }</button>
                <button type="button" class="ghost" disabled={offset as usize + p.rows.len() >= p.total_rows as usize} onclick={next}>{ "Next →" }</button>
            </p>
        </div>
    }
}
