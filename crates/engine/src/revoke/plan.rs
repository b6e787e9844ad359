//! Planning: from named targets (or, through `incident`, a selection) to a [`RevocationPlan`],
//! over the cache only (nothing is sent, nothing is written): the item for each target, what
//! its backend will and will not do, the console's own access protected, OAuth 2.0 grant
//! collateral, and the plan's notes.
//!
//! What "everything alice holds" means, decided in `incident` and documented in the CLI help:
//! every credential of hers (tokens, sessions, PostgreSQL LOGIN), plus, where the backend can end
//! a login as such (Keycloak logout) an item for it, and where it cannot (Vault userpass, an
//! OAuth 2.0 account) a blocked item that says so and what to do instead. Memberships and
//! privileges are NOT revoked unless asked (`grants=yes`): NOLOGIN plus terminated sessions
//! already shut a PostgreSQL role out, and keeping its grants keeps the record of what it had for
//! the review that follows an incident, and lets access be restored by one `ALTER ROLE … LOGIN`.

use chrono::Utc;
use portcullis_model::{
    BackendKind, Collateral, CredentialKind, CredentialStatus, CredentialView, Grant, NodeKind,
    Readiness, RevocationPlan, RevocationPlanItem, RevocationTarget,
};
use portcullis_store::BackendRow;
use secrecy::{ExposeSecret, SecretString};
use std::collections::{HashMap, HashSet};

use super::preview::knowledge;
use super::spec::TargetSpec;
use crate::{EngineError, Result, Workspace};

/// Token values a reviewer brought for this run, by fingerprint. Held only in memory.
#[derive(Default)]
pub(crate) struct TokenValues {
    by_fingerprint: HashMap<String, SecretString>,
}

impl TokenValues {
    pub(crate) fn new(tokens: &[SecretString]) -> TokenValues {
        let by_fingerprint = tokens
            .iter()
            .filter(|t| !t.expose_secret().trim().is_empty())
            .map(|t| {
                let v = SecretString::from(t.expose_secret().trim().to_string());
                (portcullis_connectors::fingerprint(v.expose_secret()), v)
            })
            .collect();
        TokenValues { by_fingerprint }
    }

    pub(crate) fn get(&self, fingerprint: &str) -> Option<&SecretString> {
        self.by_fingerprint.get(fingerprint)
    }

    pub(crate) fn fingerprints(&self) -> impl Iterator<Item = &String> {
        self.by_fingerprint.keys()
    }
}

/// The cache as the planner reads it, loaded once per plan.
pub(super) struct Snapshot {
    pub(super) backends: Vec<BackendRow>,
    pub(super) credentials: Vec<CredentialView>,
}

impl Snapshot {
    fn backend(&self, name: &str) -> Result<&BackendRow> {
        self.backends
            .iter()
            .find(|b| b.name == name)
            .ok_or_else(|| {
                EngineError::InvalidInput(format!(
                    "no backend named `{name}`: `portcullis backend list` shows the registered ones"
                ))
            })
    }
}

/// The role (or client id) a backend's URL names as the console's own identity.
pub(crate) fn console_identity(row: &BackendRow) -> Option<String> {
    let url = url::Url::parse(&row.url).ok()?;
    Some(url.username().to_string()).filter(|u| !u.is_empty())
}

fn item_key(backend: &str, spec: &TargetSpec) -> String {
    match spec {
        TargetSpec::Credential { kind, external_id } => {
            let prefix = format!("{}:", kind.as_str());
            if external_id.starts_with(&prefix) {
                format!("{backend}:{external_id}")
            } else {
                format!("{backend}:{prefix}{external_id}")
            }
        }
        TargetSpec::Login { principal } => format!("{backend}:login:{principal}"),
        TargetSpec::Grant { grant } => {
            format!("{backend}:grant:{}>{}", grant.from_id, grant.to_id)
        }
        TargetSpec::Token { fingerprint, kind } => format!(
            "{backend}:{}:{fingerprint}",
            kind.map(|k| k.as_str()).unwrap_or("token")
        ),
    }
}

/// The spec a cached credential is revoked through: OAuth 2.0 tokens by value, the rest by id.
fn credential_spec(kind: BackendKind, c: &CredentialView) -> TargetSpec {
    let by_value = kind == BackendKind::Oauth2
        && matches!(
            c.kind,
            CredentialKind::AccessToken | CredentialKind::RefreshToken
        );
    if by_value {
        TargetSpec::Token {
            fingerprint: c.external_id.clone(),
            kind: Some(c.kind),
        }
    } else {
        TargetSpec::Credential {
            kind: c.kind,
            external_id: c.external_id.clone(),
        }
    }
}

pub(super) fn build_item(
    row: &BackendRow,
    target: RevocationTarget,
    spec: &TargetSpec,
    principal: Option<String>,
    tokens: &TokenValues,
) -> RevocationPlanItem {
    let fingerprint = match spec {
        TargetSpec::Token { fingerprint, .. } => Some(fingerprint.clone()),
        _ => None,
    };
    let has_value = fingerprint
        .as_deref()
        .is_some_and(|f| tokens.get(f).is_some());
    let k = knowledge(row.kind, spec, has_value);
    let what = spec.describe();
    let description = match &principal {
        Some(p) if !what.ends_with(&format!(" of {p}")) => format!("{} {what} of {p}", row.name),
        _ => format!("{} {what}", row.name),
    };
    let credential_id = match &target {
        RevocationTarget::Credential { id } => Some(*id),
        _ => None,
    };
    RevocationPlanItem {
        key: item_key(&row.name, spec),
        target,
        backend: row.name.clone(),
        backend_kind: row.kind,
        description,
        principal,
        action: k.action,
        will: k.will,
        will_not: k.will_not,
        verify: k.verify,
        readiness: k.readiness,
        blocked_reason: k.blocked_reason,
        alternatives: k.alternatives,
        collateral: Vec::new(),
        covered_by: None,
        resend: k.resend,
        fingerprint,
        credential_id,
    }
}

pub(super) fn credential_item(
    row: &BackendRow,
    c: &CredentialView,
    tokens: &TokenValues,
) -> RevocationPlanItem {
    let spec = credential_spec(row.kind, c);
    let principal = c.principal_name.clone().or_else(|| c.principal.clone());
    let mut item = build_item(
        row,
        RevocationTarget::Credential { id: c.id },
        &spec,
        principal,
        tokens,
    );
    // A lapsed PostgreSQL VALID UNTIL is undone by one ALTER ROLE: NOLOGIN still matters.
    let lapsed_login = row.kind == BackendKind::Postgres && c.kind == CredentialKind::Login;
    let inactive = match c.status {
        CredentialStatus::Revoked => Some("the cache records it as revoked already"),
        CredentialStatus::Deleted => Some("the backend no longer lists it"),
        CredentialStatus::Expired if !lapsed_login => Some("it has expired"),
        _ => None,
    };
    if let Some(why) = inactive {
        item.readiness = Readiness::AlreadyInactive;
        item.blocked_reason = Some(format!(
            "{why}: nothing to send ({} refreshes the cache if you doubt it)",
            crate::shell::suggestion(&["portcullis", "sync", &row.name])
        ));
    }
    item
}

/// Marks the console's own access (by the identity in the backend URL, or the one its last sync
/// recorded from the backend) as protected.
pub(super) fn protect(
    row: &BackendRow,
    item: &mut RevocationPlanItem,
    owner: Option<&str>,
    client: Option<&str>,
) {
    // What the last sync learnt from the backend itself (a Vault token's accessor, a GitLab
    // user id): the credential itself, or for a login the account, is the console's. Another
    // token of the same account is not: revoking it leaves the console working.
    let login = item.key.contains(":login:");
    let recorded = item
        .key
        .rsplit(':')
        .next()
        .into_iter()
        .chain(owner.filter(|_| login))
        .find(|id| row.console_ids.iter().any(|c| c == id));
    let Some(me) = recorded
        .map(str::to_string)
        .or_else(|| console_identity(row))
    else {
        return;
    };
    let own = recorded.is_some()
        || match row.kind {
            BackendKind::Postgres => owner == Some(me.as_str()),
            BackendKind::Oauth2 | BackendKind::Keycloak => client == Some(me.as_str()),
            // The URL names the console's own access key id, which is the credential's id.
            BackendKind::AwsIam => item.key.rsplit(':').next() == Some(me.as_str()),
            _ => false,
        };
    if own && item.readiness != Readiness::AlreadyInactive {
        item.readiness = Readiness::Protected;
        item.blocked_reason = Some(format!(
            "this is the console's own access to {} (`{me}`): revoking it would lock Portcullis out in the middle of the incident; revoke it last, by hand",
            row.name
        ));
    }
}

/// Links OAuth 2.0 tokens of one grant: the refresh token's revocation ends the grant and the
/// access tokens derived from it (collateral); those in the plan are covered by it when it will
/// be sent.
pub(super) fn link_collateral(items: &mut [RevocationPlanItem], snapshot: &Snapshot) {
    let grant_of = |id: i64| -> Option<(String, String)> {
        let c = snapshot.credentials.iter().find(|c| c.id == id)?;
        let g = c.attrs.get("grant_id")?.as_str()?.to_string();
        Some((c.backend.clone(), g))
    };
    let mut refresh_by_grant: HashMap<(String, String), (String, bool)> = HashMap::new();
    for item in items.iter_mut() {
        if item.backend_kind != BackendKind::Oauth2 || !item.key.contains(":refresh_token:") {
            continue;
        }
        let Some(id) = item.credential_id else {
            continue;
        };
        let Some(grant) = grant_of(id) else { continue };
        for c in &snapshot.credentials {
            if c.id != id
                && c.backend == grant.0
                && c.attrs.get("grant_id").and_then(|g| g.as_str()) == Some(grant.1.as_str())
                && !matches!(
                    c.status,
                    CredentialStatus::Revoked | CredentialStatus::Deleted
                )
            {
                item.collateral.push(Collateral {
                    description: format!(
                        "{} {} {} (same grant {})",
                        c.backend,
                        c.kind.as_str(),
                        super::spec::short(&c.external_id),
                        super::spec::short(&grant.1)
                    ),
                    credential_id: Some(c.id),
                });
            }
        }
        if !item.collateral.is_empty() {
            item.will.push(format!(
                "{} other token(s) of the same grant die with it (listed as collateral)",
                item.collateral.len()
            ));
        }
        refresh_by_grant.insert(grant, (item.key.clone(), item.is_ready()));
    }
    for item in items.iter_mut() {
        if !item.key.contains(":access_token:") || item.is_ready() {
            continue;
        }
        let Some(grant) = item.credential_id.and_then(grant_of) else {
            continue;
        };
        if let Some((key, true)) = refresh_by_grant.get(&grant) {
            item.readiness = Readiness::Covered;
            item.covered_by = Some(key.clone());
            item.blocked_reason = Some(format!(
                "revoking {key} ends this token's grant: it dies with it (the server cannot be asked to prove it without the value)"
            ));
        }
    }
}

pub(super) fn finish(
    selection: Option<String>,
    mut items: Vec<RevocationPlanItem>,
    tokens: &TokenValues,
) -> RevocationPlan {
    // One action per key: a login named twice (as a credential and as a principal) is one NOLOGIN.
    let mut seen = HashSet::new();
    items.retain(|i| seen.insert(i.key.clone()));
    // What will be sent first, then what will not; by backend within each.
    items.sort_by(|a, b| {
        (!a.is_ready(), &a.backend, &a.key).cmp(&(!b.is_ready(), &b.backend, &b.key))
    });
    let ready = items.iter().filter(|i| i.is_ready()).count() as u32;
    let blocked = items.len() as u32 - ready;
    let mut notes = Vec::new();
    if items.is_empty() {
        notes.push("nothing matched: check the selection, or sync first (`portcullis sync`) so the cache knows what the backends hold".into());
    }
    let needs = items
        .iter()
        .filter(|i| i.readiness == Readiness::NeedsTokenValue)
        .count();
    if needs > 0 {
        notes.push(format!(
            "{needs} token(s) can be revoked only with their value: pass them with --tokens-from FILE (one per line, matched by fingerprint, never stored)"
        ));
    }
    let used: HashSet<&str> = items
        .iter()
        .filter_map(|i| i.fingerprint.as_deref())
        .collect();
    let unused = tokens
        .fingerprints()
        .filter(|f| !used.contains(f.as_str()))
        .count();
    if unused > 0 {
        notes.push(format!(
            "{unused} supplied token(s) match nothing in this plan: revoke them with `portcullis token revoke --backend NAME`"
        ));
    }
    if items
        .iter()
        .any(|i| i.backend_kind == BackendKind::Vault && i.is_ready())
    {
        notes.push("the console's own Vault/OpenBao token is never revoked: it is looked up and skipped when the run starts".into());
    }
    RevocationPlan {
        selection,
        confirm_phrase: RevocationPlan::confirm_phrase_for(ready),
        items,
        ready,
        blocked,
        notes,
        planned_at: Utc::now(),
    }
}

impl Workspace {
    /// The whole cache's credentials and backends (principals are the access index's).
    pub(super) async fn snapshot(&self) -> Result<Snapshot> {
        let credentials = self
            .store
            .list_credentials(&portcullis_model::CredentialFilter {
                limit: Some(u32::MAX),
                ..Default::default()
            })
            .await?;
        Ok(Snapshot {
            backends: self.store.list_backends().await?,
            credentials,
        })
    }

    /// Only what named targets need: their credentials, and for an OAuth 2.0 refresh token the
    /// other tokens of its backend (to name what dies with its grant). A one-click revocation
    /// must not read the whole cache.
    async fn targets_snapshot(&self, targets: &[RevocationTarget]) -> Result<Snapshot> {
        let ids: Vec<i64> = targets
            .iter()
            .filter_map(|t| match t {
                RevocationTarget::Credential { id } => Some(*id),
                _ => None,
            })
            .collect();
        let mut credentials = self.store.credentials_by_ids(&ids).await?;
        let oauth2: HashSet<String> = credentials
            .iter()
            .filter(|c| {
                c.backend_kind == BackendKind::Oauth2 && c.kind == CredentialKind::RefreshToken
            })
            .map(|c| c.backend.clone())
            .collect();
        let mut have: HashSet<i64> = credentials.iter().map(|c| c.id).collect();
        for backend in oauth2 {
            let more = self
                .store
                .list_credentials(&portcullis_model::CredentialFilter {
                    backend: Some(backend),
                    limit: Some(u32::MAX),
                    ..Default::default()
                })
                .await?;
            credentials.extend(more.into_iter().filter(|c| have.insert(c.id)));
        }
        Ok(Snapshot {
            backends: self.store.list_backends().await?,
            credentials,
        })
    }

    /// What revoking one target will do and will not do, before anything is sent: the
    /// confirmation dialog of a per-row Revoke button.
    pub async fn preview_revocation(
        &self,
        target: &RevocationTarget,
    ) -> Result<RevocationPlanItem> {
        let plan = self
            .plan_revocation(std::slice::from_ref(target), &[])
            .await?;
        plan.items
            .into_iter()
            .next()
            .ok_or_else(|| EngineError::Internal("a plan of one target came back empty".into()))
    }

    /// A plan for explicitly named targets (rows the reviewer picked). `tokens`: values the
    /// reviewer brought for tokens a backend revokes only by value; matched by fingerprint.
    pub async fn plan_revocation(
        &self,
        targets: &[RevocationTarget],
        tokens: &[SecretString],
    ) -> Result<RevocationPlan> {
        Ok(self.plan_with_specs(targets, tokens).await?.0)
    }

    /// [`Workspace::plan_revocation`], plus the spec each item is sent as, by item key.
    pub(crate) async fn plan_with_specs(
        &self,
        targets: &[RevocationTarget],
        tokens: &[SecretString],
    ) -> Result<(RevocationPlan, HashMap<String, TargetSpec>)> {
        let snap = self.targets_snapshot(targets).await?;
        let tokens = TokenValues::new(tokens);
        let by_id: HashMap<i64, &CredentialView> =
            snap.credentials.iter().map(|c| (c.id, c)).collect();
        let mut items = Vec::new();
        let mut specs = HashMap::new();
        for t in targets {
            let (item, spec) = match t {
                RevocationTarget::Credential { id } => {
                    let c =
                        by_id
                            .get(id)
                            .ok_or_else(|| portcullis_store::StoreError::NotFound {
                                what: "credential",
                                name: id.to_string(),
                            })?;
                    let row = snap.backend(&c.backend)?;
                    let mut item = credential_item(row, c, &tokens);
                    protect(row, &mut item, c.principal.as_deref(), c.client.as_deref());
                    (item, credential_spec(row.kind, c))
                }
                RevocationTarget::Login { backend, principal } => {
                    let row = snap.backend(backend)?;
                    let spec = TargetSpec::Login {
                        principal: principal.clone(),
                    };
                    let mut item =
                        build_item(row, t.clone(), &spec, Some(principal.clone()), &tokens);
                    protect(row, &mut item, Some(principal), None);
                    (item, spec)
                }
                RevocationTarget::Grant { backend, grant } => {
                    let row = snap.backend(backend)?;
                    let grant = self.resolve_grant(row, grant).await?;
                    let spec = TargetSpec::Grant {
                        grant: grant.clone(),
                    };
                    let target = RevocationTarget::Grant {
                        backend: backend.clone(),
                        grant: grant.clone(),
                    };
                    let item = build_item(row, target, &spec, Some(grant.from_id.clone()), &tokens);
                    (item, spec)
                }
            };
            specs.insert(item.key.clone(), spec);
            items.push(item);
        }
        link_collateral(&mut items, &snap);
        Ok((finish(None, items, &tokens), specs))
    }

    /// Finds a grant edge in the cache by its ids (the command line names edges without kinds).
    async fn resolve_grant(&self, row: &BackendRow, g: &Grant) -> Result<Grant> {
        let edges = self.store.grant_edges(row.id).await?;
        let kind = |s: &str| -> Option<NodeKind> {
            serde_json::from_value(serde_json::Value::String(s.into())).ok()
        };
        let found: Vec<Grant> = edges
            .iter()
            .filter(|(_, fi, _, ti)| *fi == g.from_id && *ti == g.to_id)
            .filter_map(|(fk, fi, tk, ti)| {
                Some(Grant {
                    from_kind: kind(fk)?,
                    from_id: fi.clone(),
                    to_kind: kind(tk)?,
                    to_id: ti.clone(),
                })
            })
            .collect();
        if let Some(exact) = found.iter().find(|f| *f == g) {
            return Ok(exact.clone());
        }
        match found.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(EngineError::InvalidInput(format!(
                "{} has no cached grant {} → {}: {} lists grants (sync first if it is new)",
                row.name,
                g.from_id,
                g.to_id,
                crate::shell::suggestion(&["portcullis", "principals", "--backend", &row.name])
            ))),
            many => Ok(many
                .iter()
                .find(|f| f.from_kind == NodeKind::Principal)
                .unwrap_or(&many[0])
                .clone()),
        }
    }
}
