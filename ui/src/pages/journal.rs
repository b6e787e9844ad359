//! The journal: every state-changing action, recorded before it was sent and after each step,
//! newest first, with the hash chain an auditor can verify from here.

use std::collections::BTreeSet;

use portcullis_model::{JournalEntry, JournalState, JournalVerification};
use wasm_bindgen::JsCast;
use yew::prelude::*;

use super::PageHead;
use crate::app::replace_href;
use crate::components::copy::CopyId;
use crate::components::{EmptyState, ErrorNote, Time};
use crate::hooks::journal::{
    final_states, page_of, use_journal, visible, JournalQuery, PAGE_SIZE, STATES,
};
use crate::hooks::triage::TriageContext;
use crate::hooks::Remote;

#[derive(Properties, PartialEq)]
pub struct JournalProps {
    /// The URL's filters (`#/journal?q=…&state=…&seq=…`).
    #[prop_or_default]
    pub params: Vec<(String, String)>,
}

pub fn state_pill(s: JournalState) -> Html {
    html! { <span class={classes!("pill", "jstate", s.as_str())} data-state={s.as_str()}>{ s.as_str() }</span> }
}

#[component]
pub fn JournalPage(props: &JournalProps) -> Html {
    let query = use_state(|| JournalQuery::from_params(&props.params));
    {
        let query = query.clone();
        use_effect_with(props.params.clone(), move |p| {
            let q = JournalQuery::from_params(p);
            if *query != q {
                query.set(q);
            }
        });
    }
    let revision = use_context::<TriageContext>()
        .map(|t| t.revision)
        .unwrap_or(0);
    let journal = use_journal(revision);
    let expanded = use_state(BTreeSet::<i64>::new);

    let set_query = {
        let query = query.clone();
        Callback::from(move |q: JournalQuery| {
            replace_href(&q.href());
            query.set(q);
        })
    };
    let on_text = {
        let (query, set_query) = (query.clone(), set_query.clone());
        Callback::from(move |e: InputEvent| {
            let text = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
                .map(|i| i.value())
                .unwrap_or_default();
            set_query.emit(JournalQuery {
                text,
                page: None,
                ..(*query).clone()
            });
        })
    };
    let on_state = {
        let (query, set_query) = (query.clone(), set_query.clone());
        Callback::from(move |e: Event| {
            let v = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok())
                .map(|s| s.value())
                .unwrap_or_default();
            set_query.emit(JournalQuery {
                state: JournalState::parse(&v),
                page: None,
                ..(*query).clone()
            });
        })
    };
    // A link to an entry scrolls it into view once its page is shown.
    {
        let target = query.seq;
        let ready = matches!(&*journal.entries, Remote::Ready(_));
        use_effect_with((target, ready), |(target, ready)| {
            if let (Some(seq), true) = (target, ready) {
                let el = web_sys::window().and_then(|w| w.document()).and_then(|d| {
                    d.query_selector(&format!("[data-testid=journal-row][data-seq=\"{seq}\"]"))
                        .ok()
                        .flatten()
                });
                if let Some(el) = el {
                    el.scroll_into_view_with_bool(false);
                }
            }
        });
    }

    let q = &*query;
    let verifying = matches!(&*journal.verification, Some(Remote::Loading));
    let body = match &*journal.entries {
        Remote::Loading => {
            html! { <p class="loading" data-testid="loading">{ "Reading the journal…" }</p> }
        }
        Remote::Failed(e) => {
            html! { <ErrorNote error={e.clone()} context="Could not read the journal" /> }
        }
        Remote::Ready(entries) if entries.is_empty() => html! {
            <EmptyState title="Nothing in the journal yet" testid="journal-empty">
                <p>{ "Every revocation and review decision is written here before it is sent, then updated as the backend answers (planned → sent → confirmed → verified or failed)." }</p>
                <p>{ "Revoke a credential from the " }<a href="#/credentials">{ "Credentials page" }</a>{ ", or triage a leaked token (T), and its trail appears here." }</p>
            </EmptyState>
        },
        Remote::Ready(entries) => table(entries, q, &set_query, &expanded),
    };
    let count = match &*journal.entries {
        Remote::Ready(entries) => {
            let shown = visible(entries, q).len();
            if shown == entries.len() {
                format!("{} entr{}", shown, if shown == 1 { "y" } else { "ies" })
            } else {
                format!("{shown} of {} entries", entries.len())
            }
        }
        _ => String::new(),
    };
    html! {
        <>
            <PageHead title="Journal" subtitle="Every change Portcullis made, recorded before it was sent: append-only, hash-chained and sealed with a key kept in your OS keychain.">
                <input id="journal-search" class="search" type="search" data-search="true"
                       placeholder="Search  ( / )" aria-label="Search the journal: actor, target, seq, hash or detail"
                       value={q.text.clone()} oninput={on_text} />
                <select id="journal-state" class="compact" aria-label="State" onchange={on_state}>
                    <option value="" selected={q.state.is_none()}>{ "Every state" }</option>
                    { for STATES.iter().map(|s| html! { <option value={s.as_str()} selected={q.state == Some(*s)}>{ s.as_str() }</option> }) }
                </select>
                <button id="journal-refresh" class="ghost" onclick={journal.reload.reform(|_| ())}>{ "Refresh" }</button>
                <button id="verify-chain" class="primary" disabled={verifying} onclick={journal.verify.reform(|_| ())}
                        title="Recompute every entry's hash and check each link to the one before">
                    { if verifying { "Verifying…" } else { "Verify chain" } }
                </button>
            </PageHead>
            if let Some(v) = &*journal.verification { { verification(v) } }
            <p class="count muted" data-testid="journal-count">{ count }</p>
            { body }
        </>
    }
}

/// Whether the entries carry the keychain key's seal: a chain alone can be recomputed by anyone
/// holding the cache file; the seal cannot. The full sentence is the verification's message.
fn seal_status(v: &JournalVerification) -> Html {
    let (n, s) = (v.entries, v.sealed);
    let (class, text) = if n == 0 {
        return html! {};
    } else if s == n {
        ("good", "all sealed".to_string())
    } else if s > 0 {
        ("warn", format!("{s} sealed, {} older unsealed", n - s))
    } else {
        ("warn", "not sealed".to_string())
    };
    html! {
        <span class={classes!("seal", class)} data-testid="journal-sealed" data-sealed={s.to_string()}
              title={v.message.clone()}>{ text }</span>
    }
}

fn verification(v: &Remote<JournalVerification>) -> Html {
    match v {
        Remote::Loading => html! {
            <section class="bulk running" data-testid="journal-verification" data-ok="pending" aria-live="polite">
                <span class="spinner" /><span class="msg">{ "Checking every link of the chain…" }</span>
            </section>
        },
        Remote::Failed(e) => {
            html! { <ErrorNote error={e.clone()} context="The chain could not be verified" /> }
        }
        Remote::Ready(v) if v.ok => html! {
            <section class="bulk ok verification" data-testid="journal-verification" data-ok="true" aria-live="polite"
                     title={v.message.clone()}>
                <strong class="good">{ "✓ Chain intact" }</strong>
                <span class="msg">{ format!("{} entr{} verified", v.entries, if v.entries == 1 { "y" } else { "ies" }) }</span>
                { seal_status(v) }
                if let Some(head) = &v.head {
                    <span class="head">{ "head " }<CopyId value={head.clone()} what="head hash" keep={16} testid="journal-head" /></span>
                }
            </section>
        },
        Remote::Ready(v) => html! {
            <section class="bulk bad verification" data-testid="journal-verification" data-ok="false" aria-live="polite">
                <strong class="bad">{
                    match v.broken_at { Some(n) => format!("✗ Chain broken at seq {n}"), None => "✗ Chain broken".to_string() }
                }</strong>
                <span class="msg">{ &v.message }</span>
                if let Some(n) = v.broken_at {
                    <a href={JournalQuery::entry(n).href()}>{ format!("Show entry #{n}") }</a>
                }
            </section>
        },
    }
}

fn table(
    entries: &[JournalEntry],
    q: &JournalQuery,
    set_query: &Callback<JournalQuery>,
    expanded: &UseStateHandle<BTreeSet<i64>>,
) -> Html {
    let shown = visible(entries, q);
    if shown.is_empty() {
        let clear = set_query.reform(|_: MouseEvent| JournalQuery::default());
        return html! {
            <EmptyState title="No entry matches" testid="journal-no-match">
                <p>{ "Search for an actor, a backend, a target, a seq (#12) or the start of a hash." }</p>
                <button class="primary" onclick={clear}>{ "Clear filters" }</button>
            </EmptyState>
        };
    }
    let finals = final_states(entries);
    let pages = shown.len().div_ceil(PAGE_SIZE).max(1);
    let page = page_of(&shown, q);
    let start = (page - 1) * PAGE_SIZE;
    let slice = &shown[start..(start + PAGE_SIZE).min(shown.len())];
    let go = |p: usize| {
        let next = JournalQuery {
            page: Some(p),
            ..q.clone()
        };
        set_query.reform(move |_: MouseEvent| next.clone())
    };
    let row = |e: &&JournalEntry| {
        let open = expanded.contains(&e.seq);
        let toggle = {
            let (expanded, seq) = (expanded.clone(), e.seq);
            Callback::from(move |_: MouseEvent| {
                let mut next = (*expanded).clone();
                if !next.remove(&seq) {
                    next.insert(seq);
                }
                expanded.set(next);
            })
        };
        let first = match e.action_seq {
            Some(n) => html! {
                <a href={JournalQuery::entry(n).href()} data-testid="journal-first-link"
                   title="The action's first (planned) entry" onclick={Callback::from(|e: MouseEvent| e.stop_propagation())}>
                    { format!("#{n}") }
                </a>
            },
            None => match finals.get(&e.seq).filter(|s| **s != e.state) {
                Some(last) => {
                    html! { <span class="muted" title="This is the action's first entry; its latest state">{ "→ " }{ state_pill(*last) }</span> }
                }
                None => html! { <span class="muted">{ "first" }</span> },
            },
        };
        let detail = serde_json::to_string_pretty(&e.detail).unwrap_or_default();
        html! {
            <>
                <tr data-testid="journal-row" data-seq={e.seq.to_string()} data-state={e.state.as_str()}
                    class={classes!("clickable", (q.seq == Some(e.seq)).then_some("highlight"), open.then_some("open"))}
                    onclick={toggle} title="Show the entry's detail">
                    <td class="num seq">{ format!("#{}", e.seq) }</td>
                    <td class="when"><Time at={e.at} /></td>
                    <td class="actor">{ &e.actor }</td>
                    <td><code>{ &e.action }</code></td>
                    <td class="target">{ &e.target }</td>
                    <td>{ state_pill(e.state) }</td>
                    <td class="first">{ first }</td>
                    <td class="hash"><code title={e.hash.clone()}>{ crate::components::copy::short(&e.hash, 10) }</code></td>
                </tr>
                if open {
                    <tr class="detail-row" data-testid="journal-detail">
                        <td colspan="8">
                            <dl class="facts inline">
                                <dt>{ "Hash" }</dt><dd><CopyId value={e.hash.clone()} what="hash" keep={24} /></dd>
                                <dt>{ "Previous" }</dt><dd><code title={e.prev_hash.clone()}>{ crate::components::copy::short(&e.prev_hash, 24) }</code></dd>
                            </dl>
                            <pre class="json">{ detail }</pre>
                        </td>
                    </tr>
                }
            </>
        }
    };
    html! {
        <>
            <div class="card table-card">
                <table class="table journal" id="journal-table">
                    <thead><tr>
                        <th class="num">{ "Seq" }</th><th>{ "When" }</th><th>{ "Actor" }</th><th>{ "Action" }</th>
                        <th>{ "Target" }</th><th>{ "State" }</th><th title="The action's first (planned) entry">{ "Started" }</th><th>{ "Hash" }</th>
                    </tr></thead>
                    <tbody>{ for slice.iter().map(row) }</tbody>
                </table>
            </div>
            if pages > 1 {
                <nav class="pager" aria-label="Pages">
                    <button type="button" id="journal-prev" class="ghost" disabled={page <= 1} onclick={go(page.saturating_sub(1))}>{ "‹ Newer" }</button>
                    <span>{ format!("{}–{} of {}", start + 1, start + slice.len(), shown.len()) }</span>
                    <button type="button" id="journal-next" class="ghost" disabled={page >= pages} onclick={go(page + 1)}>{ "Older ›" }</button>
                </nav>
            }
        </>
    }
}
