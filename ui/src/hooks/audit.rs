//! Audit page state: the search (kept in the URL as `q`), the result loaded page by page with the
//! engine's keyset cursor as the table scrolls (a reducer, so a page that arrives after the query
//! changed is dropped by its generation), the timeline of the same query, the selected event's
//! detail, the highlights, export and import.

use std::rc::Rc;

use portcullis_model::{
    AuditEventDetail, AuditEventView, AuditFormat, AuditPage, AuditTimeline, ExportFormat,
    ImportReport, IpcError, Progress, SavedView, TotalEstimate,
};
use yew::platform::spawn_local;
use yew::prelude::*;

use super::Remote;
use crate::ipc;

/// Events per call to the shell.
pub const PAGE: u32 = 500;
/// Row height in pixels: the windowed table positions rows by index, so every row has this height.
pub const ROW_HEIGHT: f64 = 30.0;
/// Rows rendered above and below the visible ones.
pub const BUFFER_ROWS: usize = 20;

/// The rows loaded so far for one query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Results {
    pub generation: u32,
    pub rows: Vec<AuditEventView>,
    pub next_cursor: Option<String>,
    pub total: Option<TotalEstimate>,
    /// The query as the engine understood it.
    pub normalised: String,
    pub loading: bool,
    pub error: Option<IpcError>,
}

pub enum ResultsAction {
    /// A new query: forget the rows.
    Reset(u32),
    Loading(u32),
    Page(u32, Result<AuditPage, IpcError>),
}

impl Reducible for Results {
    type Action = ResultsAction;

    fn reduce(self: Rc<Self>, action: ResultsAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            ResultsAction::Reset(g) => {
                next = Results {
                    generation: g,
                    loading: true,
                    ..Results::default()
                }
            }
            ResultsAction::Loading(g) if g == next.generation => next.loading = true,
            ResultsAction::Page(g, result) if g == next.generation => {
                next.loading = false;
                match result {
                    Ok(page) => {
                        next.rows.extend(page.events);
                        next.next_cursor = page.next_cursor;
                        next.total = Some(page.total);
                        next.normalised = page.query;
                        next.error = None;
                    }
                    Err(e) => next.error = Some(e),
                }
            }
            // A page of an older query.
            _ => return self,
        }
        Rc::new(next)
    }
}

/// The rows to render for a scroll position: `[first, last)` with a buffer on both sides.
pub fn window(scroll_top: f64, viewport: f64, rows: usize) -> (usize, usize) {
    let first = (scroll_top / ROW_HEIGHT).floor().max(0.0) as usize;
    let visible = (viewport / ROW_HEIGHT).ceil() as usize + 1;
    let start = first.saturating_sub(BUFFER_ROWS).min(rows);
    let end = (first + visible + BUFFER_ROWS).min(rows);
    (start, end)
}

/// Whether the next page should be fetched: the window reaches within a page of the loaded end.
pub fn wants_more(end: usize, loaded: usize) -> bool {
    end + (PAGE as usize) / 2 >= loaded
}

/// The query with every `since:`/`until:` (and aliases) removed, then the range appended: what a
/// range picked on the timeline does.
pub fn with_range(query: &str, since: &str, until: &str) -> String {
    let mut words: Vec<String> = query
        .split_whitespace()
        .filter(|w| {
            let lower = w.to_ascii_lowercase();
            !["since:", "until:", "from:", "to:"]
                .iter()
                .any(|p| lower.starts_with(p))
        })
        .map(str::to_string)
        .collect();
    words.push(format!("since:{since}"));
    words.push(format!("until:{until}"));
    words.join(" ")
}

/// The query with one more term (a pivot); a term already present is not added twice.
pub fn add_term(query: &str, term: &str) -> String {
    if query.split_whitespace().any(|w| w == term) {
        return query.to_string();
    }
    let q = query.trim();
    if q.is_empty() {
        term.to_string()
    } else {
        format!("{q} {term}")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ImportState {
    Idle,
    Running(Option<Progress>),
    Done(Result<ImportReport, IpcError>),
}

#[derive(Clone, PartialEq)]
pub struct AuditHandle {
    pub results: UseReducerHandle<Results>,
    pub timeline: UseStateHandle<Remote<AuditTimeline>>,
    pub detail: UseStateHandle<Option<Remote<AuditEventDetail>>>,
    pub highlights: UseStateHandle<Remote<Vec<SavedView>>>,
    pub exported: UseStateHandle<Option<Remote<(String, u64)>>>,
    pub import: UseStateHandle<ImportState>,
    /// Fetches the next page if there is one and none is in flight.
    pub more: Callback<()>,
    pub open: Callback<i64>,
    pub close: Callback<()>,
    pub export: Callback<ExportFormat>,
    /// (backend, format, path)
    pub run_import: Callback<(String, AuditFormat, String)>,
}

fn fetch(results: UseReducerHandle<Results>, query: String, cursor: Option<String>, g: u32) {
    results.dispatch(ResultsAction::Loading(g));
    spawn_local(async move {
        let page = ipc::audit_search(&query, cursor.as_deref(), PAGE).await;
        results.dispatch(ResultsAction::Page(g, page));
    });
}

/// Everything the Audit page shows for `query`; reloaded when the query or `revision` changes.
#[hook]
pub fn use_audit(query: String, revision: u32) -> AuditHandle {
    let results = use_reducer(Results::default);
    let timeline = use_state(|| Remote::Loading);
    let detail = use_state(|| None);
    let highlights = use_state(|| Remote::Loading);
    let exported = use_state(|| None);
    let import = use_state(|| ImportState::Idle);
    let generation = use_mut_ref(|| 0u32);
    {
        let (results, timeline, exported, generation) = (
            results.clone(),
            timeline.clone(),
            exported.clone(),
            generation.clone(),
        );
        use_effect_with((query.clone(), revision), move |(query, _)| {
            let g = {
                let mut g = generation.borrow_mut();
                *g = g.wrapping_add(1);
                *g
            };
            results.dispatch(ResultsAction::Reset(g));
            exported.set(None);
            fetch(results, query.clone(), None, g);
            let query = query.clone();
            spawn_local(async move {
                timeline.set(Remote::from_result(ipc::audit_timeline(&query, 60).await));
            });
        });
    }
    {
        let highlights = highlights.clone();
        use_effect_with(revision, move |_| {
            spawn_local(async move {
                highlights.set(Remote::from_result(ipc::audit_highlights().await));
            });
        });
    }
    let more = {
        let (results, query) = (results.clone(), query.clone());
        Callback::from(move |()| {
            if results.loading || results.error.is_some() {
                return;
            }
            if let Some(cursor) = results.next_cursor.clone() {
                fetch(
                    results.clone(),
                    query.clone(),
                    Some(cursor),
                    results.generation,
                );
            }
        })
    };
    let open = {
        let detail = detail.clone();
        Callback::from(move |id: i64| {
            let detail = detail.clone();
            detail.set(Some(Remote::Loading));
            spawn_local(async move {
                detail.set(Some(Remote::from_result(ipc::audit_event(id).await)));
            });
        })
    };
    let close = {
        let detail = detail.clone();
        Callback::from(move |()| detail.set(None))
    };
    let export = {
        let (exported, query) = (exported.clone(), query.clone());
        Callback::from(move |format: ExportFormat| {
            let (exported, query) = (exported.clone(), query.clone());
            exported.set(Some(Remote::Loading));
            spawn_local(async move {
                exported.set(Some(Remote::from_result(
                    ipc::audit_export(&query, format).await,
                )));
            });
        })
    };
    let run_import = {
        let import = import.clone();
        Callback::from(
            move |(backend, format, path): (String, AuditFormat, String)| {
                let import = import.clone();
                import.set(ImportState::Running(None));
                let progress = {
                    let import = import.clone();
                    move |p: Result<Progress, IpcError>| {
                        if let Ok(p) = p {
                            import.set(ImportState::Running(Some(p)));
                        }
                    }
                };
                spawn_local(async move {
                    let r = ipc::audit_import(&backend, format, &path, progress).await;
                    import.set(ImportState::Done(r));
                });
            },
        )
    };
    AuditHandle {
        results,
        timeline,
        detail,
        highlights,
        exported,
        import,
        more,
        open,
        close,
        export,
        run_import,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_renders_visible_rows_plus_buffer() {
        assert_eq!(window(0.0, 300.0, 1_000_000), (0, 11 + BUFFER_ROWS));
        let (s, e) = window(30_000.0, 300.0, 1_000_000);
        assert_eq!(s, 1000 - BUFFER_ROWS);
        assert_eq!(e, 1000 + 11 + BUFFER_ROWS);
        assert_eq!(window(30_000.0, 300.0, 5), (5, 5));
        assert!(wants_more(480, 500));
        assert!(!wants_more(10, 1000));
    }

    #[test]
    fn ranges_replace_time_terms_and_pivots_do_not_repeat() {
        assert_eq!(
            with_range(
                "actor:alice since:-1h outcome:deny",
                "2026-11-22T07:00:00Z",
                "2026-11-22T08:00:00Z"
            ),
            "actor:alice outcome:deny since:2026-11-22T07:00:00Z until:2026-11-22T08:00:00Z"
        );
        assert_eq!(add_term("", "actor:alice"), "actor:alice");
        assert_eq!(
            add_term("outcome:deny", "actor:alice"),
            "outcome:deny actor:alice"
        );
        assert_eq!(
            add_term("outcome:deny actor:alice", "actor:alice"),
            "outcome:deny actor:alice"
        );
    }

    #[test]
    fn pages_of_an_old_query_are_dropped() {
        let page = |n: usize| AuditPage {
            events: (0..n)
                .map(|i| AuditEventView {
                    id: (1i64 << 60) + i as i64,
                    backend: "b".into(),
                    at: chrono::Utc::now(),
                    actor: None,
                    credential: None,
                    action: "a".into(),
                    resource: None,
                    outcome: portcullis_model::Outcome::Deny,
                    source_ip: None,
                })
                .collect(),
            next_cursor: Some("v1.1".into()),
            total: TotalEstimate {
                count: 10,
                exact: true,
            },
            query: "q".into(),
        };
        let r = Rc::new(Results::default()).reduce(ResultsAction::Reset(2));
        let r = r.reduce(ResultsAction::Page(1, Ok(page(3))));
        assert!(r.rows.is_empty() && r.loading, "stale page ignored");
        let r = r.reduce(ResultsAction::Page(2, Ok(page(3))));
        let r = r.reduce(ResultsAction::Page(2, Ok(page(2))));
        assert_eq!(r.rows.len(), 5);
        assert_eq!(r.rows[0].id, 1 << 60, "ids stay exact");
        assert!(!r.loading);
    }
}
