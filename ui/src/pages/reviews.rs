//! Least-privilege reviews: findings over a review window grouped by rule and severity, each with
//! its evidence (events, grant path, facts), recommendation and confidence — and plainly when a
//! backend has no usage data. Revoke / reduce from a finding goes through the revocation engine's
//! preview → confirm → verify. Campaigns: create from a scope, decide keep / revoke / reduce with
//! a note and the reviewer's name (singly or in bulk), sign off, export evidence.

use std::collections::BTreeSet;

use portcullis_model::{
    AuditField, Campaign, CampaignScope, CampaignStatus, CampaignSummary, ConfidenceLevel,
    DecisionInput, Finding, FindingsRun, NewCampaign, RecommendedAction, RevocationTarget, Verdict,
};
use wasm_bindgen::JsCast;
use yew::prelude::*;

use super::PageHead;
use crate::components::access_path::target_revoke_dialog;
use crate::components::{EmptyState, ErrorNote, Time};
use crate::hooks::access::use_target_revoke;
use crate::hooks::reviews::{use_reviews, CampaignAction, ReviewsHandle};
use crate::hooks::Remote;
use crate::route::{href_with, Page};

#[derive(Properties, PartialEq)]
pub struct ReviewsProps {
    /// The URL's state (`window`, `campaign`).
    #[prop_or_default]
    pub params: Vec<(String, String)>,
}

fn param(params: &[(String, String)], key: &str) -> Option<String> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
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
        let _ = w.location().set_hash(&href_with(Page::Reviews, params));
    }
}

const WINDOWS: [u32; 4] = [30, 90, 180, 365];

/// What a finding's one-click action revokes: its credential, or the grant it is about.
fn finding_target(f: &Finding) -> Option<RevocationTarget> {
    if let Some(id) = f.credential_id {
        return Some(RevocationTarget::Credential { id });
    }
    f.grant_edges.first().map(|g| RevocationTarget::Grant {
        backend: f.backend.clone(),
        grant: g.clone(),
    })
}

#[component]
pub fn ReviewsPage(props: &ReviewsProps) -> Html {
    let window: u32 = param(&props.params, "window")
        .and_then(|w| w.parse().ok())
        .filter(|w| (1..=3650).contains(w))
        .unwrap_or(90);
    let open_id: Option<i64> = param(&props.params, "campaign").and_then(|c| c.parse().ok());
    let reviews = use_reviews(window);
    let revoke = {
        let run = reviews.run.clone();
        use_target_revoke(Callback::from(move |()| run.emit(window)))
    };
    {
        let open = reviews.open.clone();
        use_effect_with(open_id, move |id| {
            if let Some(id) = id {
                open.emit(*id);
            }
        });
    }
    let name = use_state(String::new);
    let scope_backends = use_state(String::new);
    // Remembered across pages and sessions: the same person decides a whole campaign.
    let reviewer = use_state(|| crate::prefs::load(crate::prefs::REVIEWER).unwrap_or_default());
    let note = use_state(String::new);
    let selected = use_state(BTreeSet::<String>::new);

    let on_window = Callback::from(move |e: Event| {
        go(&[("window", value(&e))]);
    });
    let on_create = {
        let (create, name, scope_backends) =
            (reviews.create.clone(), name.clone(), scope_backends.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let backends = scope_backends
                .split(',')
                .map(|b| b.trim().to_string())
                .filter(|b| !b.is_empty())
                .collect();
            create.emit(NewCampaign {
                name: name.trim().to_string(),
                scope: CampaignScope {
                    backends,
                    window_days: Some(window),
                    ..CampaignScope::default()
                },
                due_at: None,
            });
        })
    };

    let findings_body = match &*reviews.findings {
        None | Some(Remote::Loading) => {
            html! { <p class="loading" data-testid="loading">{ "Running the rules over the cache…" }</p> }
        }
        Some(Remote::Failed(e)) => {
            html! { <ErrorNote error={e.clone()} context="Could not run the review" /> }
        }
        Some(Remote::Ready(run)) => findings_view(run, &revoke.start),
    };
    let campaigns_body = match &*reviews.campaigns {
        None | Some(Remote::Loading) => html! { <p class="loading">{ "Loading campaigns…" }</p> },
        Some(Remote::Failed(e)) => {
            html! { <ErrorNote error={e.clone()} context="Could not list campaigns" /> }
        }
        Some(Remote::Ready(list)) if list.is_empty() => html! {
            <p class="muted" data-testid="campaigns-empty">{ "No campaign yet: name one above (and optionally the backends it covers) to snapshot today's findings for review." }</p>
        },
        Some(Remote::Ready(list)) => campaigns_table(list, window),
    };
    let campaign_body = match &*reviews.campaign {
        None => html! {},
        Some(Remote::Loading) => {
            html! { <section class="card"><p class="loading">{ "Opening the campaign…" }</p></section> }
        }
        Some(Remote::Failed(e)) => {
            html! { <section class="card"><ErrorNote error={e.clone()} context="Could not open the campaign" /></section> }
        }
        Some(Remote::Ready(c)) => {
            let id = c.summary.id;
            let decide = {
                let (decide, reviewer, note) =
                    (reviews.decide.clone(), reviewer.clone(), note.clone());
                Callback::from(move |(keys, verdict): (Vec<String>, Verdict)| {
                    let n = (!note.trim().is_empty()).then(|| note.trim().to_string());
                    let decisions = keys
                        .into_iter()
                        .map(|item_key| DecisionInput {
                            item_key,
                            verdict,
                            note: n.clone(),
                        })
                        .collect();
                    decide.emit((id, reviewer.trim().to_string(), decisions));
                    // A note belongs to the decision it was typed for, not to the next one.
                    note.set(String::new());
                })
            };
            let bulk = {
                let (decide, selected) = (decide.clone(), selected.clone());
                Callback::from(move |verdict: Verdict| {
                    decide.emit((selected.iter().cloned().collect(), verdict));
                    selected.set(BTreeSet::new());
                })
            };
            let toggle = {
                let selected = selected.clone();
                Callback::from(move |key: String| {
                    let mut s = (*selected).clone();
                    if !s.remove(&key) {
                        s.insert(key);
                    }
                    selected.set(s);
                })
            };
            let select_undecided = {
                let selected = selected.clone();
                let keys: BTreeSet<String> = c
                    .items
                    .iter()
                    .filter(|i| i.decision.is_none())
                    .map(|i| i.finding.key.clone())
                    .collect();
                Callback::from(move |_: MouseEvent| selected.set(keys.clone()))
            };
            let sign = {
                let (sign_off, reviewer) = (reviews.sign_off.clone(), reviewer.clone());
                Callback::from(move |_: MouseEvent| {
                    sign_off.emit((id, reviewer.trim().to_string()))
                })
            };
            let export = {
                let ex = reviews.export_evidence.clone();
                Callback::from(move |_: MouseEvent| ex.emit(id))
            };
            html! {
                <section class="card campaign" data-testid="campaign" data-status={c.summary.status.as_str()}>
                    { campaign_head(&c.summary) }
                    <div class="filters campaign-actions">
                        <input id="reviewer" type="text" placeholder="your name (recorded with each decision)" value={(*reviewer).clone()}
                               oninput={{ let r = reviewer.clone(); Callback::from(move |e: InputEvent| {
                                   let v = value(&e.into());
                                   crate::prefs::save(crate::prefs::REVIEWER, v.trim());
                                   r.set(v)
                               }) }} />
                        <input id="decision-note" type="text" placeholder="note (optional, e.g. why you keep it)" value={(*note).clone()}
                               oninput={{ let n = note.clone(); Callback::from(move |e: InputEvent| n.set(value(&e.into()))) }} />
                        <button type="button" class="ghost" id="select-undecided" disabled={c.summary.status == CampaignStatus::SignedOff}
                                onclick={select_undecided}>{ "Select undecided" }</button>
                        <span class="muted">{ format!("{} selected:", selected.len()) }</span>
                        { for [Verdict::Keep, Verdict::Reduce, Verdict::Revoke].into_iter().map(|v| {
                            let bulk = bulk.clone();
                            html! { <button type="button" class="ghost" id={format!("bulk-{}", v.as_str())} disabled={selected.is_empty()}
                                            onclick={move |_| bulk.emit(v)}>{ format!("{} selected", v.as_str()) }</button> }
                        }) }
                    </div>
                    { action_error(&reviews, CampaignAction::Decide, "The decision was not recorded") }
                    { campaign_items(c, &selected, &toggle, &decide) }
                    <footer class="campaign-foot">
                        <button id="sign-off" type="button" class="primary" disabled={c.summary.status == CampaignStatus::SignedOff} onclick={sign}>
                            { "Sign off" }
                        </button>
                        <button id="export-evidence" type="button" class="ghost" onclick={export}>{ "Export evidence" }</button>
                    </footer>
                    { action_error(&reviews, CampaignAction::SignOff, "Not signed off") }
                    { match &*reviews.export {
                        None => html! {},
                        Some(Remote::Loading) => html! { <p class="loading">{ "Writing the evidence…" }</p> },
                        Some(Remote::Failed(e)) => html! { <ErrorNote error={e.clone()} context="Could not export" /> },
                        Some(Remote::Ready(x)) => html! {
                            <dl class="facts" data-testid="export-result">
                                <dt>{ "Written to" }</dt><dd><code data-testid="export-dir">{ &x.dir }</code></dd>
                                <dt>{ "Files" }</dt><dd>{ x.manifest.files.iter().map(|f| f.name.clone()).collect::<Vec<_>>().join(", ") }{ ", manifest.json" }</dd>
                                <dt>{ "manifest.json SHA-256" }</dt><dd><code data-testid="manifest-hash">{ &x.manifest_sha256 }</code></dd>
                                <dt>{ "Journal head" }</dt><dd><code>{ x.manifest.journal_head.clone().unwrap_or_else(|| "(empty journal)".into()) }</code></dd>
                                <dt>{ "Check" }</dt><dd><code>{ format!("portcullis evidence verify {}", x.dir) }</code></dd>
                            </dl>
                        },
                    } }
                </section>
            }
        }
    };

    html! {
        <>
            <PageHead title="Reviews" subtitle="Least-privilege findings from real usage, and review campaigns with sign-off.">
                <label for="review-window" class="muted">{ "Window" }</label>
                <select id="review-window" onchange={on_window}>
                    { for WINDOWS.iter().map(|w| html! { <option value={w.to_string()} selected={*w == window}>{ format!("{w} days") }</option> }) }
                </select>
            </PageHead>
            <section class="card">
                <h2>{ "Campaigns" }</h2>
                <form class="access-ask" onsubmit={on_create}>
                    <input id="campaign-name" type="text" placeholder="campaign name, e.g. Q4 production review" value={(*name).clone()}
                           oninput={{ let n = name.clone(); Callback::from(move |e: InputEvent| n.set(value(&e.into()))) }} />
                    <input id="campaign-backends" type="text" placeholder="backends (comma-separated; empty: all)" value={(*scope_backends).clone()}
                           oninput={{ let b = scope_backends.clone(); Callback::from(move |e: InputEvent| b.set(value(&e.into()))) }} />
                    <button id="campaign-create" type="submit" class="primary" disabled={name.trim().is_empty()}>
                        { format!("Start campaign ({window} days)") }
                    </button>
                </form>
                { action_error(&reviews, CampaignAction::Create, "Could not start the campaign") }
                { campaigns_body }
            </section>
            { campaign_body }
            { findings_body }
            { target_revoke_dialog(&revoke) }
        </>
    }
}

/// The last action's error, where `action`'s control is, and nowhere else.
fn action_error(reviews: &ReviewsHandle, action: CampaignAction, context: &'static str) -> Html {
    match &*reviews.action_error {
        Some((a, e)) if *a == action => html! { <ErrorNote error={e.clone()} context={context} /> },
        _ => html! {},
    }
}

fn campaigns_table(list: &[CampaignSummary], window: u32) -> Html {
    html! {
        <table class="table" data-testid="campaigns">
            <thead><tr><th>{ "Campaign" }</th><th>{ "Created" }</th><th>{ "Status" }</th><th>{ "Progress" }</th><th>{ "Keep · reduce · revoke" }</th></tr></thead>
            <tbody>{ for list.iter().map(|c| html! {
                <tr data-testid="campaign-row" data-id={c.id.to_string()}>
                    <td><a href={href_with(Page::Reviews, &[("window", window.to_string()), ("campaign", c.id.to_string())])}>{ &c.name }</a></td>
                    <td><Time at={c.created_at} compact=true /></td>
                    <td>{ status_badge(c.status) }</td>
                    <td>{ progress(c) }</td>
                    <td>{ format!("{} · {} · {}", c.keep, c.reduce, c.revoke) }</td>
                </tr>
            }) }</tbody>
        </table>
    }
}

fn status_badge(s: CampaignStatus) -> Html {
    match s {
        CampaignStatus::Open => html! { <span class="badge">{ "open" }</span> },
        CampaignStatus::SignedOff => html! { <span class="badge ok">{ "signed off" }</span> },
    }
}

fn progress(c: &CampaignSummary) -> Html {
    let pct = (c.decided * 100).checked_div(c.items).unwrap_or(100);
    html! {
        <span class="progress" data-testid="campaign-progress" data-decided={c.decided.to_string()} data-items={c.items.to_string()}>
            <progress max="100" value={pct.to_string()} />{ format!(" {}/{} decided", c.decided, c.items) }
        </span>
    }
}

fn campaign_head(s: &CampaignSummary) -> Html {
    let scope = if s.scope.backends.is_empty() {
        "all backends".to_string()
    } else {
        s.scope.backends.join(", ")
    };
    html! {
        <header>
            <h2>{ &s.name }{ " " }{ status_badge(s.status) }</h2>
            <p class="muted">
                { format!("{scope} · {} days · started ", s.scope.window_days.unwrap_or(90)) }<Time at={s.created_at} />
                { " · " }{ progress(s) }
                if let (Some(by), Some(at)) = (&s.signed_off_by, s.signed_off_at) {
                    <span data-testid="signed-off">{ format!(" · signed off by {by} ") }<Time at={at} /></span>
                }
            </p>
        </header>
    }
}

fn campaign_items(
    c: &Campaign,
    selected: &BTreeSet<String>,
    toggle: &Callback<String>,
    decide: &Callback<(Vec<String>, Verdict)>,
) -> Html {
    if c.items.is_empty() {
        return html! { <p class="muted">{ "This campaign has no items: nothing in its scope was found wrong when it started." }</p> };
    }
    let open = c.summary.status == CampaignStatus::Open;
    html! {
        <table class="table" data-testid="campaign-items">
            <thead><tr><th /><th>{ "Severity" }</th><th>{ "Finding" }</th><th>{ "Recommendation" }</th><th>{ "Decision" }</th></tr></thead>
            <tbody>{ for c.items.iter().map(|i| {
                let f = &i.finding;
                let key = f.key.clone();
                let onchange = { let (t, k) = (toggle.clone(), key.clone()); Callback::from(move |_: Event| t.emit(k.clone())) };
                let buttons = [Verdict::Keep, Verdict::Reduce, Verdict::Revoke].into_iter().map(|v| {
                    let (d, k) = (decide.clone(), key.clone());
                    html! { <button type="button" class="ghost small" data-testid={format!("decide-{}", v.as_str())} disabled={!open}
                                    onclick={move |_| d.emit((vec![k.clone()], v))}>{ v.as_str() }</button> }
                });
                html! {
                    <tr data-testid="campaign-item" data-key={key.clone()} data-verdict={i.decision.as_ref().map(|d| d.verdict.as_str()).unwrap_or("")}>
                        <td><input type="checkbox" aria-label="select" checked={selected.contains(&key)} disabled={!open} onchange={onchange} /></td>
                        <td>{ sev_badge(f) }</td>
                        <td><strong>{ &f.title }</strong><div class="muted">{ format!("{} · {} · {}", f.rule, f.backend, f.principal.name) }</div></td>
                        <td>{ &f.recommendation.text }</td>
                        <td>
                            if let Some(d) = &i.decision {
                                <div data-testid="decision"><strong>{ d.verdict.as_str() }</strong>{ format!(" by {} ", d.reviewer) }<Time at={d.at} compact=true />
                                    if let Some(n) = &d.note { <div class="muted">{ n }</div> }</div>
                            }
                            <div class="decide">{ for buttons }</div>
                        </td>
                    </tr>
                }
            }) }</tbody>
        </table>
    }
}

/// The Audit page's search for one evidence row: the group's backend, action, resource,
/// outcome and source over the time it spans (its last event included), so the link finds
/// every event the row counts.
fn evidence_events_href(backend: &str, e: &portcullis_model::EvidenceEvent) -> String {
    let at =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut terms = vec![
        AuditField::Backend.term(backend),
        AuditField::Action.term(&e.action),
    ];
    if let Some(r) = &e.resource {
        terms.push(AuditField::Resource.term(r));
    }
    terms.push(AuditField::Outcome.term(e.outcome.as_str()));
    if let Some(ip) = &e.source_ip {
        terms.push(AuditField::Source.term(ip));
    }
    terms.push(format!("since:{}", at(e.first_at)));
    terms.push(format!(
        "until:{}",
        at(e.last_at + chrono::Duration::milliseconds(1))
    ));
    crate::route::Route {
        page: Page::Audit,
        query: terms.join(" "),
    }
    .href()
}

fn sev_badge(f: &Finding) -> Html {
    html! { <span class={classes!("badge", format!("sev-{}", f.severity.as_str()))}>{ f.severity.as_str() }</span> }
}

fn findings_view(run: &FindingsRun, on_revoke: &Callback<(RevocationTarget, String)>) -> Html {
    let coverage = run.coverage.iter().map(|c| {
        let class = match c.level {
            ConfidenceLevel::Complete => "ok",
            ConfidenceLevel::Partial => "warn",
            ConfidenceLevel::Unavailable => "bad",
        };
        html! {
            <li data-testid="coverage" data-backend={c.backend.clone()} data-level={c.level.as_str()}>
                <span class={classes!("status", class)}><span class="dot" />{ format!("{} — usage data {}", c.backend, match c.level {
                    ConfidenceLevel::Complete => "covers the window",
                    ConfidenceLevel::Partial => "covers part of the window",
                    ConfidenceLevel::Unavailable => "NONE: findings about unused access cannot be made here",
                }) }</span>
                { format!(" · {} events in window", c.events_in_window) }
                if !c.notes.is_empty() { <ul class="muted">{ for c.notes.iter().map(|n| html! { <li>{ n }</li> }) }</ul> }
            </li>
        }
    });
    // Rules in order of their most severe finding.
    let mut rules: Vec<(&str, Vec<&Finding>)> = Vec::new();
    for f in &run.findings {
        match rules.iter_mut().find(|(r, _)| *r == f.rule) {
            Some((_, list)) => list.push(f),
            None => rules.push((f.rule.as_str(), vec![f])),
        }
    }
    let groups = rules.iter().map(|(rule, list)| {
        let info = run.rules.iter().find(|r| r.id == *rule);
        html! {
            <section class="card rule-group" data-testid="rule-group" data-rule={rule.to_string()}>
                <h2>{ info.map(|i| i.title.clone()).unwrap_or_else(|| rule.to_string()) }
                    <span class="muted">{ format!(" · {} finding(s) · {}", list.len(), rule) }</span></h2>
                if let Some(i) = info { <p class="muted">{ &i.description }</p> }
                { for list.iter().map(|f| finding_view(f, on_revoke)) }
            </section>
        }
    });
    html! {
        <>
            <section class="card">
                <h2>{ format!("Findings · {} days from ", run.window_days) }<Time at={run.window_start} /></h2>
                <p>{ format!("{} finding(s); {} high or critical.", run.findings.len(), run.at_or_above(portcullis_model::Severity::High)) }</p>
                <ul class="coverage">{ for coverage }</ul>
            </section>
            if run.findings.is_empty() {
                <EmptyState title="No findings" testid="findings-empty">
                    <p>{ "Nothing in the cache breaks a rule in this window. If you expected some, sync the backends (Backends page) so the review sees their latest grants and audit data." }</p>
                </EmptyState>
            }
            { for groups }
        </>
    }
}

fn finding_view(f: &Finding, on_revoke: &Callback<(RevocationTarget, String)>) -> Html {
    let ev = &f.evidence;
    let action = finding_target(f).filter(|_| {
        matches!(
            f.recommendation.action,
            RecommendedAction::Revoke | RecommendedAction::RemoveGrant | RecommendedAction::Reduce
        )
    });
    let button = action.map(|t| {
        let label = format!("{} ({}, {})", f.subject.label, f.principal.name, f.backend);
        let cb = on_revoke.clone();
        let word = if f.recommendation.action == RecommendedAction::Reduce { "Reduce: remove this grant" } else { "Revoke" };
        html! { <button type="button" class="danger small" data-testid="finding-revoke" onclick={move |_| cb.emit((t.clone(), label.clone()))}>{ word }</button> }
    });
    html! {
        <article class="finding" data-testid="finding" data-rule={f.rule.clone()} data-severity={f.severity.as_str()} data-backend={f.backend.clone()}>
            <header>
                { sev_badge(f) }{ " " }<strong>{ &f.title }</strong>
                <span class="muted">{ format!(" · {} ({}) on {}", f.principal.name, f.principal.kind.as_str(), f.backend) }</span>
                if !f.principal.enabled { <span class="badge bad">{ "disabled" }</span> }
            </header>
            <div class="finding-body">
                <p class="rec" data-testid="recommendation"><strong>{ "Recommendation: " }</strong>{ &f.recommendation.text }
                    if !f.recommendation.proposed.is_empty() {
                        <span>{ " Keep instead: " }<code>{ f.recommendation.proposed.join(", ") }</code></span>
                    }
                </p>
                <p class="confidence" data-testid="confidence" data-level={f.confidence.level.as_str()}>
                    <strong>{ format!("Confidence {}: ", f.confidence.level.as_str()) }</strong>{ &f.confidence.note }
                </p>
                <details class="evidence" data-testid="evidence">
                    <summary>{ format!("Evidence: {} event group(s), {} grant path(s), {} fact(s)", ev.events.len(), ev.paths.len(), ev.facts.len()) }</summary>
                    if !ev.facts.is_empty() { <ul>{ for ev.facts.iter().map(|x| html! { <li>{ x }</li> }) }</ul> }
                    if !ev.paths.is_empty() {
                        <ul>{ for ev.paths.iter().map(|p| html! { <li class="access-path">{ p.hops.join(" → ") }</li> }) }</ul>
                    }
                    if !ev.events.is_empty() {
                        <table class="table compact">
                            <thead><tr><th>{ "Action" }</th><th>{ "Resource" }</th><th>{ "Outcome" }</th><th class="num">{ "Count" }</th><th>{ "Last" }</th><th>{ "From" }</th></tr></thead>
                            <tbody>{ for ev.events.iter().map(|e| html! {
                                <tr><td>{ &e.action }</td><td><code>{ e.resource.clone().unwrap_or_default() }</code></td>
                                    <td>{ e.outcome.as_str() }</td>
                                    <td class="num">
                                        <a href={evidence_events_href(&f.backend, e)} data-testid="evidence-events"
                                           data-count={e.count.to_string()} title="Show these events on the Audit page">{ e.count }</a>
                                    </td>
                                    <td><Time at={e.last_at} compact=true /></td><td>{ e.source_ip.clone().unwrap_or_default() }</td></tr>
                            }) }</tbody>
                        </table>
                    }
                </details>
                { for button }
            </div>
        </article>
    }
}
