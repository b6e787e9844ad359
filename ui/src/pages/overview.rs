//! Overview: the morning glance — totals, each backend's last check and sync, and the engine's chart.

use portcullis_model::{BackendCounts, CheckSummary, Counts, Overview, SyncRunInfo};
use yew::prelude::*;

use super::welcome::Welcome;
use super::PageHead;
use crate::components::{ErrorNote, Time};
use crate::hooks::overview::use_overview;
use crate::hooks::Remote;

#[component]
pub fn OverviewPage() -> Html {
    let overview = use_overview();
    let refresh = overview.reload.reform(|_: MouseEvent| ());
    let body = match &*overview.data {
        Remote::Loading => {
            html! { <p class="loading" data-testid="loading">{ "Loading the overview…" }</p> }
        }
        Remote::Failed(e) => {
            html! { <ErrorNote error={e.clone()} context="Could not load the overview" /> }
        }
        // The first run (no backend yet) is a welcome page, not an empty overview.
        Remote::Ready(o) if o.backends.is_empty() => return html! { <Welcome /> },
        Remote::Ready(o) => view(o),
    };
    html! {
        <>
            <PageHead title="Overview" subtitle="Principals, grants and credentials across your backends, from the local cache.">
                <button id="overview-refresh" class="ghost" onclick={refresh}>{ "Refresh" }</button>
            </PageHead>
            { body }
        </>
    }
}

/// Where a total leads: the list it counts, filtered the same way (the Credentials page's
/// `active` and never-expiring filters are the counts' own definitions), or the Access map for
/// the model's totals, which have no list of their own.
fn tile_href(id: &str) -> String {
    use crate::hooks::credentials::CredentialQuery;
    use portcullis_model::CredentialStatus;
    let credentials = |status: Option<CredentialStatus>, never_expires: bool| {
        CredentialQuery {
            status,
            never_expires,
            ..CredentialQuery::default()
        }
        .href()
    };
    match id {
        "credentials" => credentials(None, false),
        "active" => credentials(Some(CredentialStatus::Active), false),
        "never-expiring" => credentials(Some(CredentialStatus::Active), true),
        "audit-events" => "#/audit".into(),
        _ => "#/access".into(),
    }
}

fn view(o: &Overview) -> Html {
    let t = &o.totals;
    let tiles: [(&str, u64, &str); 8] = [
        ("Principals", t.principals, "principals"),
        ("Roles", t.roles, "roles"),
        ("Permissions", t.permissions, "permissions"),
        ("Grants", t.grants, "grants"),
        ("Credentials", t.credentials, "credentials"),
        ("Active", t.active_credentials, "active"),
        (
            "Never expiring",
            t.never_expiring_credentials,
            "never-expiring",
        ),
        ("Audit events", t.audit_events, "audit-events"),
    ];
    html! {
        <>
            <section class="tiles" aria-label="Totals">
                { for tiles.iter().map(|(label, n, id)| html! {
                    <a class={classes!("tile", (*id == "never-expiring" && *n > 0).then_some("warn"))}
                       href={tile_href(id)} data-testid={format!("total-{id}")}>
                        <span class="n">{ n }</span>
                        <span class="label">{ *label }</span>
                    </a>
                }) }
            </section>
            <section class="card">
                <h2>{ "Backends" }</h2>
                <table class="table" data-testid="overview-backends">
                    <thead><tr>
                        <th>{ "Backend" }</th><th>{ "Kind" }</th>
                        <th class="num">{ "Principals" }</th><th class="num">{ "Grants" }</th>
                        <th class="num">{ "Credentials" }</th><th class="num">{ "Active" }</th>
                        <th class="num">{ "Audit events" }</th>
                        <th>{ "Last check" }</th><th>{ "Last sync" }</th>
                    </tr></thead>
                    <tbody>{ for o.backends.iter().map(row) }</tbody>
                </table>
            </section>
            if !o.chart_svg.trim().is_empty() {
                <section class="card">
                    <h2>{ "Credentials per backend" }</h2>
                    // The SVG is produced by our own engine (plotters), never by a backend.
                    <div class="chart" data-testid="overview-chart">
                        { Html::from_html_unchecked(o.chart_svg.clone().into()) }
                    </div>
                </section>
            }
        </>
    }
}

fn row(b: &BackendCounts) -> Html {
    let Counts {
        principals,
        grants,
        credentials,
        active_credentials,
        audit_events,
        ..
    } = b.counts;
    html! {
        <tr>
            <td><a href="#/backends">{ &b.backend }</a></td>
            <td>{ b.kind.label() }</td>
            <td class="num">{ principals }</td>
            <td class="num">{ grants }</td>
            <td class="num">{ credentials }</td>
            <td class="num">{ active_credentials }</td>
            <td class="num">{ audit_events }</td>
            <td>{ last_check(b.last_check.as_ref(), true) }</td>
            <td>{ last_sync(b.last_sync.as_ref(), true) }</td>
        </tr>
    }
}

/// The last check of a backend; `compact` (tables) drops the word when the dot says it all.
pub fn last_check(c: Option<&CheckSummary>, compact: bool) -> Html {
    match c {
        None => html! { <span class="muted">{ "never checked" }</span> },
        Some(c) => html! {
            <span class={classes!("status", if c.ok { "ok" } else { "bad" })} title={c.message.clone()}>
                <span class="dot" />
                { match (c.ok, compact) { (true, true) => "", (true, false) => "passed ", (false, _) => "failed " } }
                <Time at={c.at} />
            </span>
        },
    }
}

/// The last sync of a backend; `compact` as for [`last_check`].
pub fn last_sync(s: Option<&SyncRunInfo>, compact: bool) -> Html {
    match s {
        None => html! { <span class="muted">{ "never synced" }</span> },
        Some(s) => {
            let at = s.finished_at.unwrap_or(s.started_at);
            let (class, word) = match (s.ok, &s.audit_gap) {
                (Some(true), Some(_)) => ("warn", "synced, no audit trail, "),
                (Some(true), None) if compact => ("ok", ""),
                (Some(true), None) => ("ok", "synced "),
                (Some(false), _) => ("bad", "sync failed "),
                (None, _) => ("running", "syncing since "),
            };
            let title = s
                .error
                .as_ref()
                .or(s.audit_gap.as_ref())
                .map(|e| format!("{} ({})", e.message, e.code))
                .unwrap_or_default();
            let counts = (!compact && s.ok == Some(true)).then(|| {
                let c = &s.counts;
                format!(
                    "{} principals · {} credentials · {} new audit events",
                    c.principals, c.credentials, c.audit_events
                )
            });
            html! {
                <>
                    <span class={classes!("status", class)} title={title}>
                        <span class="dot" />{ word }<Time at={at} />
                    </span>
                    if let Some(counts) = counts { <span class="muted counts">{ counts }</span> }
                </>
            }
        }
    }
}
