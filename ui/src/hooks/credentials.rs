//! Credentials page state: the filters (kept in the URL), the list, the open detail panel and the
//! revocations started from the page.
//!
//! The list is fetched from the cache with the filters applied by the engine, capped at
//! [`LIST_CAP`] rows and paged here ([`PAGE_SIZE`] rows in the DOM at a time). A reducer keeps
//! the answers in order: an answer to an older request (a search typed faster than the cache
//! answers) is dropped, and a revocation's outcome stays with its row.

use std::collections::BTreeMap;
use std::rc::Rc;

use portcullis_model::{
    BackendInfo, BackendKind, CredentialDetail, CredentialFilter, CredentialKind, CredentialStatus,
    CredentialView, IpcError, RevocationOutcome, RevocationPlanItem,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yew::platform::spawn_local;
use yew::prelude::*;

use super::Remote;
use crate::ipc;
use crate::route::{href_with, Page};

/// Rows shown per page.
pub const PAGE_SIZE: usize = 100;
/// Rows fetched per query; beyond it the page says to narrow the filters.
pub const LIST_CAP: usize = 5_000;

pub const KINDS: [CredentialKind; 7] = [
    CredentialKind::AccessToken,
    CredentialKind::RefreshToken,
    CredentialKind::ApiKey,
    CredentialKind::Session,
    CredentialKind::Pat,
    CredentialKind::Accessor,
    CredentialKind::Login,
];

pub const STATUSES: [CredentialStatus; 5] = [
    CredentialStatus::Active,
    CredentialStatus::Expired,
    CredentialStatus::Revoked,
    CredentialStatus::Deleted,
    CredentialStatus::Unknown,
];

/// A person's word for a credential kind.
pub fn kind_label(kind: CredentialKind) -> &'static str {
    match kind {
        CredentialKind::AccessToken => "Access token",
        CredentialKind::RefreshToken => "Refresh token",
        CredentialKind::ApiKey => "API key",
        CredentialKind::Session => "Session",
        CredentialKind::Pat => "Personal access token",
        CredentialKind::Accessor => "Token (accessor)",
        CredentialKind::Login => "Login",
    }
}

/// Who holds a credential, in a person's words: the principal's name, else its id.
pub fn holder(c: &CredentialView) -> Option<String> {
    c.principal_name.clone().or_else(|| c.principal.clone())
}

fn parse_kind(s: &str) -> Option<CredentialKind> {
    KINDS.into_iter().find(|k| k.as_str() == s)
}

fn parse_status(s: &str) -> Option<CredentialStatus> {
    STATUSES.into_iter().find(|k| k.as_str() == s)
}

/// The columns the engine sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// Backend, then principal: the engine's default order.
    #[default]
    Backend,
    Principal,
    Issued,
    Expires,
    LastUsed,
    Status,
}

impl SortKey {
    pub const ALL: [SortKey; 6] = [
        SortKey::Backend,
        SortKey::Principal,
        SortKey::Issued,
        SortKey::Expires,
        SortKey::LastUsed,
        SortKey::Status,
    ];

    /// The engine's name (also the URL's); `backend` is the default and not sent.
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Backend => "backend",
            SortKey::Principal => "principal",
            SortKey::Issued => "issued",
            SortKey::Expires => "expires",
            SortKey::LastUsed => "last_used",
            SortKey::Status => "status",
        }
    }

    fn parse(s: &str) -> Option<SortKey> {
        SortKey::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What the page shows, as the URL says it (`#/credentials?q=…&backend=…&sort=expires&id=12`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CredentialQuery {
    pub search: String,
    /// Backend name; empty: every backend.
    pub backend: String,
    pub kind: Option<CredentialKind>,
    pub status: Option<CredentialStatus>,
    pub never_expires: bool,
    pub sort: SortKey,
    pub descending: bool,
    /// 1-based.
    pub page: usize,
    /// The credential whose detail panel is open.
    pub selected: Option<i64>,
}

impl CredentialQuery {
    pub fn from_params(params: &[(String, String)]) -> Self {
        let mut q = CredentialQuery {
            page: 1,
            ..Default::default()
        };
        for (k, v) in params {
            match k.as_str() {
                "q" => q.search = v.clone(),
                "backend" => q.backend = v.clone(),
                "kind" => q.kind = parse_kind(v),
                "status" => q.status = parse_status(v),
                "never" => q.never_expires = v == "1",
                "sort" => q.sort = SortKey::parse(v).unwrap_or_default(),
                "desc" => q.descending = v == "1",
                "page" => q.page = v.parse().ok().filter(|p| *p >= 1).unwrap_or(1),
                "id" => q.selected = v.parse().ok(),
                _ => {}
            }
        }
        q
    }

    pub fn href(&self) -> String {
        let flag = |b: bool| if b { "1".to_string() } else { String::new() };
        href_with(
            Page::Credentials,
            &[
                ("q", self.search.clone()),
                ("backend", self.backend.clone()),
                (
                    "kind",
                    self.kind
                        .map(|k| k.as_str().to_string())
                        .unwrap_or_default(),
                ),
                (
                    "status",
                    self.status
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                ),
                ("never", flag(self.never_expires)),
                (
                    "sort",
                    match self.sort {
                        SortKey::Backend => String::new(),
                        s => s.as_str().to_string(),
                    },
                ),
                ("desc", flag(self.descending)),
                (
                    "page",
                    if self.page > 1 {
                        self.page.to_string()
                    } else {
                        String::new()
                    },
                ),
                (
                    "id",
                    self.selected.map(|i| i.to_string()).unwrap_or_default(),
                ),
            ],
        )
    }

    /// The engine's filter (one row more than the cap, to know whether there are more).
    pub fn filter(&self) -> CredentialFilter {
        CredentialFilter {
            backend: (!self.backend.is_empty()).then(|| self.backend.clone()),
            principal: None,
            kind: self.kind,
            status: self.status,
            never_expires: self.never_expires,
            search: (!self.search.trim().is_empty()).then(|| self.search.trim().to_string()),
            sort: match self.sort {
                SortKey::Backend => None,
                s => Some(s.as_str().to_string()),
            },
            descending: self.descending,
            limit: Some(LIST_CAP as u32 + 1),
        }
    }

    /// Any filter narrowing the list (sorting and paging do not).
    pub fn is_filtered(&self) -> bool {
        !self.search.trim().is_empty()
            || !self.backend.is_empty()
            || self.kind.is_some()
            || self.status.is_some()
            || self.never_expires
    }

    /// The same view with every filter cleared.
    pub fn cleared(&self) -> Self {
        CredentialQuery {
            sort: self.sort,
            descending: self.descending,
            page: 1,
            ..Default::default()
        }
    }

    /// Clicking a column header: sort by it, or flip the direction if it already sorts.
    pub fn sorted_by(&self, key: SortKey) -> Self {
        let mut next = self.clone();
        if self.sort == key {
            next.descending = !self.descending;
        } else {
            next.sort = key;
            next.descending = false;
        }
        next.page = 1;
        next
    }
}

/// Whether a credential can be revoked from its row, and if not, why (said on the button).
pub fn revocable(c: &CredentialView) -> Result<(), &'static str> {
    if c.status == CredentialStatus::Revoked {
        Err("Already revoked.")
    } else if c.status == CredentialStatus::Deleted {
        Err("The backend no longer lists it: nothing left to revoke.")
    } else if c.backend_kind == BackendKind::Oauth2 {
        Err("An OAuth 2.0 server revokes a token only by its value, which Portcullis never keeps: paste the token into triage (T) to revoke it.")
    } else {
        Ok(())
    }
}

/// How a revocation ended, from the reviewer's side.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The backend proved it dead.
    Verified { evidence: String },
    /// Sent and confirmed, but nothing proves it dead (no error either).
    Unverified,
    /// Not revoked, or not proven: the error says what and why.
    Failed(IpcError),
}

pub fn verdict(o: &RevocationOutcome) -> Verdict {
    match (&o.verification, &o.error) {
        (Some(v), None) if v.dead => Verdict::Verified {
            evidence: v.evidence.clone(),
        },
        (_, Some(e)) => Verdict::Failed(e.clone()),
        (Some(v), None) => Verdict::Failed(IpcError::new(
            portcullis_model::ErrorCode::BackendError,
            format!("{} still accepts it: {}", o.backend, v.evidence),
        )),
        (None, None) => Verdict::Unverified,
    }
}

/// A revocation started from this page.
// One lives per revocation on screen: boxing the outcome would save nothing worth the
// indirection (the lint fires on 64-bit targets only, not on wasm32).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Revocation {
    Running,
    Done(Result<RevocationOutcome, IpcError>),
}

/// The fetched list and whether the cap cut it.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    pub rows: Vec<CredentialView>,
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CredentialsState {
    pub backends: Remote<Vec<BackendInfo>>,
    pub list: Remote<Listing>,
    /// A newer request is in flight (the list still shows the last answer).
    pub refreshing: bool,
    /// The request whose answer the list will show.
    pub request: u32,
    pub detail: Option<(i64, Remote<CredentialDetail>)>,
    pub revocations: BTreeMap<i64, Revocation>,
}

impl Default for CredentialsState {
    fn default() -> Self {
        Self {
            backends: Remote::Loading,
            list: Remote::Loading,
            refreshing: false,
            request: 0,
            detail: None,
            revocations: BTreeMap::new(),
        }
    }
}

pub enum Action {
    Backends(Result<Vec<BackendInfo>, IpcError>),
    Requested(u32),
    Listed(u32, Result<Vec<CredentialView>, IpcError>),
    DetailRequested(i64),
    Detail(i64, Result<CredentialDetail, IpcError>),
    DetailClosed,
    RevokeStarted(i64),
    Revoked(i64, Result<RevocationOutcome, IpcError>),
}

fn mark_revoked(c: &mut CredentialView) {
    c.status = CredentialStatus::Revoked;
}

impl Reducible for CredentialsState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Action::Backends(r) => next.backends = Remote::from_result(r),
            Action::Requested(n) => {
                next.request = n;
                next.refreshing = true;
            }
            Action::Listed(n, _) if n != next.request => return self,
            Action::Listed(_, r) => {
                next.refreshing = false;
                next.list = Remote::from_result(r.map(|mut rows| {
                    let truncated = rows.len() > LIST_CAP;
                    rows.truncate(LIST_CAP);
                    Listing { rows, truncated }
                }));
            }
            Action::DetailRequested(id) => {
                // Keep showing the same credential's detail while it reloads.
                if !matches!(&next.detail, Some((i, Remote::Ready(_))) if *i == id) {
                    next.detail = Some((id, Remote::Loading));
                }
            }
            Action::Detail(id, r) => {
                if next.detail.as_ref().is_some_and(|(i, _)| *i == id) {
                    next.detail = Some((id, Remote::from_result(r)));
                }
            }
            Action::DetailClosed => next.detail = None,
            Action::RevokeStarted(id) => {
                next.revocations.insert(id, Revocation::Running);
            }
            Action::Revoked(id, r) => {
                let dead = matches!(&r, Ok(o) if matches!(verdict(o), Verdict::Verified { .. }));
                if dead {
                    if let Remote::Ready(l) = &mut next.list {
                        l.rows
                            .iter_mut()
                            .filter(|c| c.id == id)
                            .for_each(mark_revoked);
                    }
                    if let Some((i, Remote::Ready(d))) = &mut next.detail {
                        if *i == id {
                            mark_revoked(&mut d.credential);
                        }
                    }
                }
                next.revocations.insert(id, Revocation::Done(r));
            }
        }
        Rc::new(next)
    }
}

/// Everything the Credentials page can see and do.
#[derive(Clone, PartialEq)]
pub struct CredentialsHandle {
    pub state: UseReducerHandle<CredentialsState>,
    pub reload: Callback<()>,
    /// Asks what revoking a credential will do; the callback gets the plan item.
    pub preview: Callback<(i64, Callback<Result<RevocationPlanItem, IpcError>>)>,
    /// (credential id, reason or ticket)
    pub revoke: Callback<(i64, Option<String>)>,
}

/// `value`, once it has stopped changing for `ms` milliseconds (typing in a search box).
#[hook]
pub fn use_debounced<T: Clone + PartialEq + 'static>(value: T, ms: i32) -> T {
    let settled = use_state(|| value.clone());
    {
        let settled = settled.clone();
        use_effect_with(value, move |value| {
            let value = value.clone();
            let window = web_sys::window();
            let cb = Closure::<dyn FnMut()>::new(move || settled.set(value.clone()));
            let id = window.as_ref().and_then(|w| {
                w.set_timeout_with_callback_and_timeout_and_arguments_0(
                    cb.as_ref().unchecked_ref(),
                    ms,
                )
                .ok()
            });
            move || {
                if let (Some(w), Some(id)) = (window, id) {
                    w.clear_timeout_with_handle(id);
                }
                drop(cb);
            }
        });
    }
    (*settled).clone()
}

/// The list for `query` (the search debounced), the detail of its selected credential, and
/// revocations. `revision` changes when something elsewhere (triage) changed the cache.
#[hook]
pub fn use_credentials(query: &CredentialQuery, revision: u32) -> CredentialsHandle {
    let state = use_reducer(CredentialsState::default);
    let dispatch = state.dispatcher();
    let generation = use_state(|| 0u32);
    let counter = use_mut_ref(|| 0u32);
    let search = use_debounced(query.search.clone(), 180);
    let filter = CredentialFilter {
        search: (!search.trim().is_empty()).then(|| search.trim().to_string()),
        ..query.filter()
    };

    {
        let dispatch = dispatch.clone();
        use_effect_with((revision, *generation), move |_| {
            spawn_local(
                async move { dispatch.dispatch(Action::Backends(ipc::list_backends().await)) },
            );
        });
    }
    {
        let (dispatch, counter) = (dispatch.clone(), counter.clone());
        use_effect_with((filter, revision, *generation), move |(filter, _, _)| {
            let n = {
                let mut c = counter.borrow_mut();
                *c = c.wrapping_add(1);
                *c
            };
            dispatch.dispatch(Action::Requested(n));
            let filter = filter.clone();
            spawn_local(async move {
                let r = ipc::list_credentials(&filter).await;
                dispatch.dispatch(Action::Listed(n, r));
            });
        });
    }
    {
        let dispatch = dispatch.clone();
        use_effect_with(
            (query.selected, revision, *generation),
            move |(selected, _, _)| match *selected {
                Some(id) => {
                    dispatch.dispatch(Action::DetailRequested(id));
                    spawn_local(async move {
                        let r = ipc::credential_detail(id).await;
                        dispatch.dispatch(Action::Detail(id, r));
                    });
                }
                None => dispatch.dispatch(Action::DetailClosed),
            },
        );
    }
    let reload = {
        let generation = generation.clone();
        Callback::from(move |()| generation.set(generation.wrapping_add(1)))
    };
    let preview = Callback::from(
        |(id, done): (i64, Callback<Result<RevocationPlanItem, IpcError>>)| {
            spawn_local(async move { done.emit(ipc::preview_revocation(id).await) });
        },
    );
    let revoke = {
        let (dispatch, generation) = (dispatch.clone(), generation.clone());
        Callback::from(move |(id, reason): (i64, Option<String>)| {
            let (dispatch, generation) = (dispatch.clone(), generation.clone());
            dispatch.dispatch(Action::RevokeStarted(id));
            spawn_local(async move {
                let r = ipc::revoke_credential(id, reason.as_deref()).await;
                dispatch.dispatch(Action::Revoked(id, r));
                // The cache now says what the backend said: show it (statuses, the detail).
                generation.set(generation.wrapping_add(1));
            });
        })
    };
    CredentialsHandle {
        state,
        reload,
        preview,
        revoke,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use portcullis_model::{ErrorCode, Verification};

    fn cred(id: i64, kind: BackendKind) -> CredentialView {
        CredentialView {
            id,
            backend: "b".into(),
            backend_kind: kind,
            external_id: format!("x{id}"),
            kind: CredentialKind::Accessor,
            principal: Some("p".into()),
            principal_name: None,
            client: None,
            scopes: vec![],
            issued_at: None,
            expires_at: None,
            last_used_at: None,
            status: CredentialStatus::Active,
            origin: "sync".into(),
            attrs: serde_json::Value::Null,
        }
    }

    fn outcome(dead: Option<bool>, error: Option<IpcError>) -> RevocationOutcome {
        RevocationOutcome {
            backend: "b".into(),
            target: "b accessor x1".into(),
            journal_seq: 1,
            receipt: None,
            verification: dead.map(|dead| Verification {
                dead,
                evidence: "lookup-accessor answered 400".into(),
                at: Utc::now(),
            }),
            error,
        }
    }

    #[test]
    fn the_url_round_trips_every_filter() {
        let q = CredentialQuery {
            search: "svc billing".into(),
            backend: "openbao".into(),
            kind: Some(CredentialKind::Session),
            status: Some(CredentialStatus::Expired),
            never_expires: true,
            sort: SortKey::LastUsed,
            descending: true,
            page: 3,
            selected: Some(42),
        };
        let params = crate::route::params(&q.href());
        assert_eq!(CredentialQuery::from_params(&params), q);
        let plain = CredentialQuery::from_params(&[]);
        assert_eq!(plain.page, 1);
        assert_eq!(plain.href(), "#/credentials");
        // Junk in a hand-edited URL falls back to the defaults.
        let junk: Vec<(String, String)> = [("kind", "nope"), ("page", "0"), ("sort", "x")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let q = CredentialQuery::from_params(&junk);
        assert_eq!((q.kind, q.page, q.sort), (None, 1, SortKey::Backend));
    }

    #[test]
    fn headers_sort_then_flip_and_filters_map_to_the_engine() {
        let q = CredentialQuery {
            page: 4,
            ..CredentialQuery::from_params(&[])
        };
        let by_expiry = q.sorted_by(SortKey::Expires);
        assert_eq!(
            (by_expiry.sort, by_expiry.descending, by_expiry.page),
            (SortKey::Expires, false, 1)
        );
        assert!(by_expiry.sorted_by(SortKey::Expires).descending);
        let f = by_expiry.filter();
        assert_eq!(f.sort.as_deref(), Some("expires"));
        assert_eq!(f.limit, Some(LIST_CAP as u32 + 1));
        assert_eq!(
            q.filter().sort,
            None,
            "backend order is the engine's default"
        );
        assert!(!q.is_filtered());
        let narrowed = CredentialQuery {
            never_expires: true,
            ..q.clone()
        };
        assert!(narrowed.is_filtered());
        assert!(!narrowed.cleared().is_filtered());
    }

    #[test]
    fn oauth2_tokens_are_revoked_from_triage_only() {
        assert!(revocable(&cred(1, BackendKind::Vault)).is_ok());
        let why = revocable(&cred(1, BackendKind::Oauth2)).unwrap_err();
        assert!(why.contains("triage"), "{why}");
        let mut gone = cred(1, BackendKind::Postgres);
        gone.status = CredentialStatus::Revoked;
        assert!(revocable(&gone).is_err());
    }

    #[test]
    fn verdicts_say_dead_only_with_proof() {
        assert!(matches!(
            verdict(&outcome(Some(true), None)),
            Verdict::Verified { .. }
        ));
        assert_eq!(verdict(&outcome(None, None)), Verdict::Unverified);
        let e = IpcError::new(ErrorCode::Forbidden, "needs sudo");
        assert_eq!(
            verdict(&outcome(None, Some(e.clone()))),
            Verdict::Failed(e.clone())
        );
        assert_eq!(
            verdict(&outcome(Some(true), Some(e.clone()))),
            Verdict::Failed(e)
        );
        assert!(matches!(
            verdict(&outcome(Some(false), None)),
            Verdict::Failed(err) if err.message.contains("still accepts")
        ));
    }

    #[test]
    fn late_answers_are_dropped_and_revoked_rows_update_in_place() {
        let s = Rc::new(CredentialsState::default());
        let s = s.reduce(Action::Requested(1));
        let s = s.reduce(Action::Requested(2));
        let s = s.reduce(Action::Listed(2, Ok(vec![cred(1, BackendKind::Vault)])));
        // The answer to request 1 arrives last: ignored.
        let s = s.reduce(Action::Listed(1, Ok(vec![])));
        let rows = |s: &CredentialsState| match &s.list {
            Remote::Ready(l) => l.rows.clone(),
            _ => vec![],
        };
        assert_eq!(rows(&s).len(), 1);
        assert!(!s.refreshing);

        let s = s.reduce(Action::RevokeStarted(1));
        assert_eq!(s.revocations.get(&1), Some(&Revocation::Running));
        let s = s.reduce(Action::Revoked(1, Ok(outcome(Some(true), None))));
        assert_eq!(rows(&s)[0].status, CredentialStatus::Revoked);

        // A failed revocation leaves the row as it was.
        let s = s.reduce(Action::Listed(2, Ok(vec![cred(2, BackendKind::Vault)])));
        let s = s.reduce(Action::Revoked(
            2,
            Ok(outcome(
                None,
                Some(IpcError::new(ErrorCode::Unreachable, "down")),
            )),
        ));
        assert_eq!(rows(&s)[0].status, CredentialStatus::Active);
        assert!(matches!(
            s.revocations.get(&2),
            Some(Revocation::Done(Ok(_)))
        ));
    }

    #[test]
    fn the_cap_is_reported_not_hidden() {
        let many: Vec<CredentialView> = (0..=LIST_CAP as i64)
            .map(|i| cred(i, BackendKind::Vault))
            .collect();
        let s = Rc::new(CredentialsState::default())
            .reduce(Action::Requested(1))
            .reduce(Action::Listed(1, Ok(many)));
        match &s.list {
            Remote::Ready(l) => {
                assert!(l.truncated);
                assert_eq!(l.rows.len(), LIST_CAP);
            }
            other => panic!("{other:?}"),
        }
    }
}
