//! Incident mode: a [`RevocationSelector`] → a [`RevocationPlan`] over the cache, in phases:
//! the backends in scope, the principals the selection names and the holders of the rights it
//! names (both asked of the access model, [`crate::access::AccessIndex`], so the planner answers
//! as `explain` and `who-can` do), where credentials were used from, the credentials selected,
//! then the login and grant items a principal-only selection adds.
//!
//! A credential is selected when it passes every criterion given: whose it is (`principal=`,
//! resolved as `explain` resolves a name), what it records (`client=` its client or, for a
//! Keycloak session, any of its clients; `scope=`; `fingerprint=`; `since`/`until` its issue
//! time; `source=` an address it records, see [`CREDENTIAL_ADDRESS_ATTRS`]), what it or its
//! principal holds (`permission=`), and where the audit trail saw it or its principal
//! (`source=`).
//!
//! [`CREDENTIAL_ADDRESS_ATTRS`]: portcullis_model::CREDENTIAL_ADDRESS_ATTRS

use portcullis_model::{
    ip_in_cidr, parse_cidr, BackendKind, CredentialKind, CredentialView, Grant, NodeKind,
    PrincipalKind, RevocationPlan, RevocationPlanItem, RevocationSelector, RevocationTarget,
};
use portcullis_store::BackendRow;
use secrecy::SecretString;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use super::plan::{build_item, credential_item, finish, link_collateral, protect, TokenValues};
use super::spec::TargetSpec;
use crate::access::{AccessIndex, Holders, NamedPrincipal, PrincipalSet};
use crate::{EngineError, Result, Workspace};

type Rows<'a> = HashMap<&'a str, &'a BackendRow>;

/// The backends a selection covers (`backend=` names or kinds; all when none is given).
pub(super) fn scope_backends<'a>(
    sel: &RevocationSelector,
    backends: &'a [BackendRow],
) -> Result<Rows<'a>> {
    let names = |r: &BackendRow, b: &str| r.name == b || r.kind.as_str() == b;
    if let Some(b) = sel
        .backend
        .iter()
        .find(|b| !backends.iter().any(|r| names(r, b)))
    {
        return Err(EngineError::InvalidInput(format!(
            "backend=`{b}` names no registered backend or kind: `portcullis backend list` shows them"
        )));
    }
    Ok(backends
        .iter()
        .filter(|r| sel.backend.is_empty() || sel.backend.iter().any(|b| names(r, b)))
        .map(|r| (r.name.as_str(), r))
        .collect())
}

/// What the access model says about the selection's names (no index when it names none: a
/// selection by address, client or time does not pay for building one).
#[derive(Default)]
pub(super) struct Named {
    index: Option<Arc<AccessIndex>>,
    principals: Option<PrincipalSet>,
    holders: Option<Holders>,
}

impl Named {
    fn resolve(index: Arc<AccessIndex>, sel: &RevocationSelector) -> Named {
        Named {
            principals: (!sel.principal.is_empty()).then(|| index.principals_named(&sel.principal)),
            holders: (!sel.permission.is_empty()).then(|| index.holders(&sel.permission)),
            index: Some(index),
        }
    }

    /// `principal=`: the credential is held by a named principal.
    fn owns(&self, c: &CredentialView) -> bool {
        match (&self.index, &self.principals) {
            (Some(ix), Some(set)) => ix.credential_of(c.id, set),
            _ => true,
        }
    }

    /// `permission=`: the credential, or its principal, holds a named right.
    fn holds(&self, c: &CredentialView) -> bool {
        match (&self.index, &self.holders) {
            (Some(ix), Some(h)) => ix.credential_holds(c.id, h),
            _ => true,
        }
    }

    fn principal_list(&self) -> Vec<NamedPrincipal> {
        match (&self.index, &self.principals) {
            (Some(ix), Some(set)) => ix.principal_list(set),
            _ => Vec::new(),
        }
    }
}

/// Address blocks of `source=`, and what the audit trail saw used from them.
#[derive(Default)]
pub(super) struct Sources {
    blocks: Vec<(IpAddr, u8)>,
    /// (backend id, credential external id).
    credentials: HashSet<(i64, String)>,
    /// (backend id, actor).
    actors: HashSet<(i64, String)>,
}

impl Sources {
    fn contains(&self, ip: &str) -> bool {
        self.blocks.iter().any(|b| ip_in_cidr(ip, *b))
    }

    /// Seen from a block: in the audit trail (the credential, or for a login or session its
    /// principal), or in an address the credential records.
    fn selects(&self, row: &BackendRow, c: &CredentialView) -> bool {
        let by_use = self.credentials.contains(&(row.id, c.external_id.clone()));
        let by_actor = matches!(c.kind, CredentialKind::Login | CredentialKind::Session)
            && c.principal
                .as_ref()
                .is_some_and(|p| self.actors.contains(&(row.id, p.clone())));
        by_use || by_actor || c.recorded_addresses().any(|a| self.contains(a))
    }
}

/// One criterion per selector key; a credential is selected when every given one holds.
pub(super) fn selects(
    sel: &RevocationSelector,
    named: &Named,
    sources: &Sources,
    row: &BackendRow,
    c: &CredentialView,
) -> bool {
    let by_principal = named.owns(c);
    let by_client = sel.client.is_empty() || any_of(&sel.client, c.recorded_clients());
    let by_scope = sel.scope.is_empty() || any_of(&sel.scope, c.scopes.iter().map(String::as_str));
    let by_permission = named.holds(c);
    let by_source = sources.blocks.is_empty() || sources.selects(row, c);
    by_principal
        && by_client
        && by_scope
        && by_permission
        && by_fingerprint(sel, c)
        && by_source
        && issued_within(sel, c)
}

fn any_of<'a>(wanted: &[String], mut have: impl Iterator<Item = &'a str>) -> bool {
    have.any(|h| wanted.iter().any(|w| w == h))
}

fn by_fingerprint(sel: &RevocationSelector, c: &CredentialView) -> bool {
    if sel.fingerprint.is_empty() {
        return true;
    }
    let id = c.external_id.to_ascii_lowercase();
    let is_fp = id.len() == 64 && id.chars().all(|ch| ch.is_ascii_hexdigit());
    is_fp
        && sel
            .fingerprint
            .iter()
            .any(|f| id.starts_with(&f.to_ascii_lowercase()))
}

/// `since`/`until` bound the issue time; a credential that records none is not selected by them.
fn issued_within(sel: &RevocationSelector, c: &CredentialView) -> bool {
    if sel.since.is_none() && sel.until.is_none() {
        return true;
    }
    c.issued_at
        .is_some_and(|at| sel.since.is_none_or(|s| at >= s) && sel.until.is_none_or(|u| at <= u))
}

/// Whether the selection names principals and nothing else: "everything alice can use", her
/// logins included.
fn principal_only(sel: &RevocationSelector) -> bool {
    !sel.principal.is_empty()
        && sel.client.is_empty()
        && sel.scope.is_empty()
        && sel.permission.is_empty()
        && sel.fingerprint.is_empty()
        && sel.source.is_empty()
        && sel.since.is_none()
        && sel.until.is_none()
}

/// The login an incident ends for a principal: Keycloak logs a user out of every session; where
/// no API ends a login (Vault, an OAuth 2.0 account) a blocked item says so, once per person and
/// backend. None where the backend has no login apart from the credentials.
fn login_target(kind: BackendKind, p: &NamedPrincipal) -> Option<String> {
    let pk = p.kind?;
    match kind {
        _ if pk == PrincipalKind::Group => None,
        BackendKind::Keycloak if pk == PrincipalKind::User => Some(p.external_id.clone()),
        BackendKind::Vault | BackendKind::Oauth2 if pk != PrincipalKind::Client => {
            Some(p.name.clone())
        }
        _ => None,
    }
}

pub(super) fn login_items(
    rows: &Rows<'_>,
    principals: &[NamedPrincipal],
    tokens: &TokenValues,
) -> Vec<RevocationPlanItem> {
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut items = Vec::new();
    for p in principals {
        let Some(row) = rows.get(p.backend.as_str()) else {
            continue;
        };
        let Some(principal) = login_target(row.kind, p) else {
            continue;
        };
        if !seen.insert((row.name.clone(), p.name.to_ascii_lowercase())) {
            continue;
        }
        let spec = TargetSpec::Login {
            principal: principal.clone(),
        };
        let target = RevocationTarget::Login {
            backend: row.name.clone(),
            principal,
        };
        let mut item = build_item(row, target, &spec, Some(p.name.clone()), tokens);
        protect(row, &mut item, Some(&p.external_id), None);
        items.push(item);
    }
    items
}

/// The direct grants (memberships, privileges) of `p` as the cache lists them, as plan items.
fn grant_items_of(
    row: &BackendRow,
    p: &NamedPrincipal,
    edges: &[(String, String, String, String)],
    tokens: &TokenValues,
) -> Vec<RevocationPlanItem> {
    let kind = |s: &str| serde_json::from_value::<NodeKind>(serde_json::Value::String(s.into()));
    edges
        .iter()
        .filter(|(fk, fi, _, _)| fk == "principal" && *fi == p.external_id)
        .filter_map(|(_, fi, tk, ti)| {
            let grant = Grant {
                from_kind: NodeKind::Principal,
                from_id: fi.clone(),
                to_kind: kind(tk).ok()?,
                to_id: ti.clone(),
            };
            let spec = TargetSpec::Grant {
                grant: grant.clone(),
            };
            let target = RevocationTarget::Grant {
                backend: row.name.clone(),
                grant,
            };
            let mut item = build_item(row, target, &spec, Some(p.name.clone()), tokens);
            protect(row, &mut item, Some(&p.external_id), None);
            Some(item)
        })
        .collect()
}

impl Workspace {
    /// Incident mode: every action the selection implies, with its collateral, as a dry run.
    pub async fn plan_incident(
        &self,
        selector: &RevocationSelector,
        tokens: &[SecretString],
    ) -> Result<RevocationPlan> {
        if selector.is_empty() {
            return Err(EngineError::InvalidInput(
                "an empty selection would select everything: name a principal, client, scope, permission, backend, fingerprint, source or time window".into(),
            ));
        }
        let snap = self.snapshot().await?;
        let rows = scope_backends(selector, &snap.backends)?;
        let tokens = TokenValues::new(tokens);
        let named = if selector.principal.is_empty() && selector.permission.is_empty() {
            Named::default()
        } else {
            Named::resolve(self.access_index().await?, selector)
        };
        let sources = self.sources(selector).await?;

        let mut items: Vec<RevocationPlanItem> = snap
            .credentials
            .iter()
            .filter_map(|c| Some((*rows.get(c.backend.as_str())?, c)))
            .filter(|(row, c)| selects(selector, &named, &sources, row, c))
            .map(|(row, c)| {
                let mut item = credential_item(row, c, &tokens);
                protect(row, &mut item, c.principal.as_deref(), c.client.as_deref());
                item
            })
            .collect();
        let principals = named.principal_list();
        if principal_only(selector) {
            items.extend(login_items(&rows, &principals, &tokens));
        }
        if selector.include_grants {
            items.extend(self.grant_items(&rows, &principals, &tokens).await?);
        }
        link_collateral(&mut items, &snap);
        Ok(finish(Some(selector.to_string()), items, &tokens))
    }

    /// Where the audit trail saw credentials and principals used from the selection's blocks.
    async fn sources(&self, sel: &RevocationSelector) -> Result<Sources> {
        let mut s = Sources {
            blocks: sel.source.iter().filter_map(|b| parse_cidr(b)).collect(),
            ..Sources::default()
        };
        if s.blocks.is_empty() {
            return Ok(s);
        }
        for u in self.store.audit_source_uses().await? {
            if s.contains(&u.source_ip) {
                if let Some(c) = u.credential {
                    s.credentials.insert((u.backend_id, c));
                }
                if let Some(a) = u.actor {
                    s.actors.insert((u.backend_id, a));
                }
            }
        }
        Ok(s)
    }

    /// The direct grants of the selected principals (`grants=yes`).
    async fn grant_items(
        &self,
        rows: &Rows<'_>,
        principals: &[NamedPrincipal],
        tokens: &TokenValues,
    ) -> Result<Vec<RevocationPlanItem>> {
        let mut edges: HashMap<i64, Vec<(String, String, String, String)>> = HashMap::new();
        let mut items = Vec::new();
        for p in principals {
            let Some(row) = rows.get(p.backend.as_str()) else {
                continue;
            };
            let list = match edges.entry(row.id) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => e.insert(self.store.grant_edges(row.id).await?),
            };
            items.extend(grant_items_of(row, p, list, tokens));
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_model::{CredentialRef, CredentialStatus};
    use serde_json::json;

    fn row(id: i64, name: &str, kind: BackendKind) -> BackendRow {
        BackendRow {
            id,
            name: name.into(),
            kind,
            url: "http://127.0.0.1:1".into(),
            credential_ref: CredentialRef::Env { var: "X".into() },
            config: json!({}),
            created_at: chrono::Utc::now(),
            last_check: None,
            console_ids: Vec::new(),
        }
    }

    fn cred(kind: CredentialKind, attrs: serde_json::Value) -> CredentialView {
        CredentialView {
            id: 1,
            backend: "kc".into(),
            backend_kind: BackendKind::Keycloak,
            external_id: "u1/s1".into(),
            kind,
            principal: Some("u1".into()),
            principal_name: None,
            client: None,
            scopes: vec![],
            issued_at: None,
            expires_at: None,
            last_used_at: None,
            status: CredentialStatus::Active,
            origin: "sync".into(),
            attrs,
        }
    }

    fn sel(text: &str) -> RevocationSelector {
        RevocationSelector::parse(
            text,
            chrono::Utc::now(),
            chrono::FixedOffset::east_opt(0).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn backends_are_scoped_by_name_or_kind_and_an_unknown_one_is_refused() {
        let rows = [
            row(1, "kc", BackendKind::Keycloak),
            row(2, "pg", BackendKind::Postgres),
        ];
        assert_eq!(
            scope_backends(&sel("backend=keycloak"), &rows)
                .unwrap()
                .len(),
            1
        );
        assert_eq!(scope_backends(&sel("principal=x"), &rows).unwrap().len(), 2);
        assert!(scope_backends(&sel("backend=vault"), &rows).is_err());
    }

    #[test]
    fn an_address_the_credential_records_selects_it_and_nothing_else_does() {
        let s = Sources {
            blocks: vec![parse_cidr("10.9.0.0/16").unwrap()],
            ..Sources::default()
        };
        let kc = row(1, "kc", BackendKind::Keycloak);
        let inside = cred(CredentialKind::Session, json!({"ip_address": "10.9.3.4"}));
        let outside = cred(CredentialKind::Session, json!({"ip_address": "10.8.3.4"}));
        let pg = cred(CredentialKind::Session, json!({"client_addr": "10.9.0.1"}));
        let unrelated = cred(CredentialKind::Session, json!({"source": "10.9.0.1"}));
        assert!(s.selects(&kc, &inside));
        assert!(!s.selects(&kc, &outside));
        assert!(s.selects(&kc, &pg));
        assert!(
            !s.selects(&kc, &unrelated),
            "only the attrs that record an address"
        );
    }

    #[test]
    fn the_issue_window_needs_an_issue_time() {
        let mut c = cred(CredentialKind::Session, json!({}));
        let window = sel("since=2026-01-01 until=2026-02-01");
        assert!(
            !issued_within(&window, &c),
            "no issue time: not in any window"
        );
        c.issued_at = chrono::DateTime::from_timestamp(1_768_000_000, 0); // 2026-01-09
        assert!(issued_within(&window, &c));
        assert!(!issued_within(&sel("since=2026-01-10"), &c));
        assert!(issued_within(&sel("principal=x"), &c));
    }

    #[test]
    fn logins_are_ended_where_the_backend_can_and_listed_where_it_cannot() {
        let p = |kind: PrincipalKind| NamedPrincipal {
            backend: "b".into(),
            external_id: "id-1".into(),
            name: "kim".into(),
            kind: Some(kind),
        };
        assert_eq!(
            login_target(BackendKind::Keycloak, &p(PrincipalKind::User)).as_deref(),
            Some("id-1")
        );
        assert_eq!(
            login_target(BackendKind::Keycloak, &p(PrincipalKind::Client)),
            None
        );
        assert_eq!(
            login_target(BackendKind::Vault, &p(PrincipalKind::User)).as_deref(),
            Some("kim")
        );
        assert_eq!(
            login_target(BackendKind::Vault, &p(PrincipalKind::Group)),
            None
        );
        assert_eq!(
            login_target(BackendKind::Postgres, &p(PrincipalKind::User)),
            None
        );
    }
}
