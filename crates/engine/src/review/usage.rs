//! Who holds what, and what they actually used: one backend's inventory and aggregated audit use,
//! resolved into review *subjects*, their grants, their credentials, and which grants each use
//! exercised.
//!
//! This is the seam to the access graph: grant reach is computed here from the cached edges (and
//! explained with `views::grant_paths`); when `access/` lands, [`BackendModel::build`] is the one
//! place to switch. Backend semantics live here too, each where a rule would otherwise guess:
//! what counts as a use (an OAuth `token.used` at the resource server, not the token's issue; a
//! Vault request, not the login that created the token), which grants are built in (Vault
//! `default`, PostgreSQL `PUBLIC`, OIDC protocol scopes), what predefined roles mean
//! (`pg_read_all_data` reads everything, SUPERUSER covers all), and how a use matches a permission
//! (Vault path globs, PostgreSQL column and function privileges).

use chrono::{DateTime, Utc};
use portcullis_model::{
    Action, BackendKind, CredentialKind, CredentialStatus, Grant, GrantPath, NodeKind, Outcome,
    PrincipalKind,
};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use crate::access::dialect::{vault_root_permission, Dialect, PermMeta, PgPredefined};
use crate::access::usage::most_specific;
use crate::pg_statement::called_functions;

/// A principal as the cache holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct PrincipalIn {
    pub external_id: String,
    pub kind: PrincipalKind,
    pub name: String,
    pub enabled: bool,
    /// The principal this one is an account of (`portcullis_model::ACCOUNT_OF_KEY`).
    pub account_of: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PermissionIn {
    pub external_id: String,
    pub name: String,
    pub resource: String,
    pub action: Action,
    pub raw: Value,
}

/// What kind of credential: the cache's kinds, or one a reviewer declared.
#[derive(Debug, Clone, PartialEq)]
pub enum CredKind {
    Cached(CredentialKind),
    Declared(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CredentialIn {
    /// Cache row id (None for declared credentials).
    pub id: Option<i64>,
    pub external_id: String,
    pub kind: CredKind,
    pub principal: Option<String>,
    pub client: Option<String>,
    pub scopes: Vec<String>,
    pub issued_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub status: CredentialStatus,
    pub attrs: Value,
    /// `sync`, `triage` or `declared`.
    pub origin: String,
}

/// Aggregated events (see `portcullis_store::reviews::UsageRow`).
#[derive(Debug, Clone, PartialEq)]
pub struct UseIn {
    pub credential: Option<String>,
    pub actor: Option<String>,
    pub action: String,
    pub resource: Option<String>,
    pub outcome: Outcome,
    pub source_ip: Option<String>,
    pub count: u64,
    pub first_id: i64,
    pub last_id: i64,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
}

/// One event's raw fact (see `portcullis_store::reviews::AuditFactRow`).
#[derive(Debug, Clone, PartialEq)]
pub struct FactIn {
    pub event_id: i64,
    pub at: DateTime<Utc>,
    pub credential: Option<String>,
    pub actor: Option<String>,
    pub action: String,
    pub outcome: Outcome,
    pub periodic: bool,
    pub created_accessor: Option<String>,
    pub text: Option<String>,
}

/// Everything a findings run reads about one backend.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendInput {
    pub name: String,
    pub kind: BackendKind,
    pub principals: Vec<PrincipalIn>,
    /// (external id, name)
    pub roles: Vec<(String, String)>,
    pub permissions: Vec<PermissionIn>,
    pub grants: Vec<Grant>,
    pub credentials: Vec<CredentialIn>,
    pub usage: Vec<UseIn>,
    pub facts: Vec<FactIn>,
    /// Events older than the window exist (the log covers the whole window).
    pub has_older_events: bool,
    /// Verified revocations from the journal: target description → time.
    pub revocations: Vec<(String, DateTime<Utc>)>,
}

/// How a use counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UseClass {
    /// A request that exercised permissions (and the credential it named).
    Access,
    /// An authentication (password login, refresh): activity, not a permission use.
    Login,
    /// Not a use (issuance, introspection, a refusal, the server's own bookkeeping).
    None,
}

/// A permission as rules judge it.
#[derive(Debug, Clone)]
pub struct Perm {
    pub id: String,
    pub label: String,
    pub resource: String,
    pub action: Action,
    /// PostgreSQL privilege (SELECT, EXECUTE, SUPERUSER, OWNER...) or Vault capability list.
    pub privilege: Option<String>,
    /// Covers every request (SUPERUSER, Vault root, `*`).
    pub all: bool,
    /// Kubernetes `*` / Vault `*` / other wildcard the connector marked.
    pub wildcard: bool,
    /// Kubernetes: reads Secrets.
    pub secret_reader: bool,
    /// Exists only by the backend's documented semantics (predefined roles), not the inventory.
    pub virtual_: bool,
    /// What it means in its backend's terms: the access map's matcher reads the same.
    pub meta: PermMeta,
}

/// How a principal holds a grant.
#[derive(Debug, Clone, PartialEq)]
pub struct GrantHold {
    pub to_kind: NodeKind,
    pub to_id: String,
    pub label: String,
    /// The cached edges (from a member principal) that give it.
    pub edges: Vec<Grant>,
    /// Credentials that carry it as a scope or policy (indices into `BackendModel::creds`).
    pub carriers: Vec<usize>,
    /// Permissions reachable through it (indices into `BackendModel::perms`).
    pub perms: Vec<usize>,
    /// Uses (indices into `BackendInput::usage` or synthetic uses) that exercised it.
    pub used_by: Vec<usize>,
    /// Permissions of `perms` those uses exercised.
    pub exercised: BTreeSet<usize>,
}

/// One reviewable identity: the cached principals that are the same account (an OpenBao identity
/// entity and its userpass user share a name and kind).
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    pub name: String,
    pub kind: PrincipalKind,
    /// Indices into `BackendInput::principals`; the first is the primary.
    pub members: Vec<usize>,
    pub enabled: bool,
    /// The backend refused the account (OAuth `invalid_grant: account not found`): the event.
    pub refused_by: Option<usize>,
    pub exempt: Option<String>,
    pub grants: Vec<GrantHold>,
    pub creds: Vec<usize>,
    /// Allowed uses attributed to it.
    pub uses: Vec<usize>,
    /// Synthetic: a principal that exists only because a credential or grant names it.
    pub phantom: bool,
}

impl Subject {
    pub fn active(&self, uses: &[Use]) -> bool {
        self.uses.iter().any(|u| uses[*u].class != UseClass::None)
    }
}

/// A use, resolved: which credential and subject, how it counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Use {
    /// Index into `BackendInput::usage`, or past its end into the model's synthetic uses.
    pub row: usize,
    pub class: UseClass,
    pub cred: Option<usize>,
    pub subject: Option<usize>,
}

/// Expiry as far as the data tells.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Expiry {
    Never,
    At(DateTime<Utc>),
    /// The backend's data does not say (OAuth tokens read from an event log).
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CredModel {
    pub input: CredentialIn,
    pub subject: usize,
    pub expiry: Expiry,
    /// Vault: periodic without an explicit max TTL (renewable forever), per the token lookup the
    /// connector recorded (`attrs.periodic_forever`), or for a credential synced before lookups
    /// recorded `period`, per the audit log's record of its creation.
    pub periodic: bool,
    /// Members of its family (OAuth tokens of one account through one client); itself included.
    pub family: Vec<usize>,
    /// Whether this credential speaks for its family (the refresh token, else the newest).
    pub head: bool,
    /// Uses naming this credential (allowed, counted as a credential use).
    pub uses: Vec<usize>,
    /// When it was revoked, per the journal or the backend's log.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl CredModel {
    pub fn live(&self, as_of: DateTime<Utc>) -> bool {
        self.input.status == CredentialStatus::Active
            && !matches!(self.expiry, Expiry::At(t) if t <= as_of)
    }

    pub fn is_session(&self) -> bool {
        self.input.kind == CredKind::Cached(CredentialKind::Session)
    }

    pub fn label(&self) -> String {
        let kind = match &self.input.kind {
            CredKind::Cached(k) => k.as_str().replace('_', " "),
            CredKind::Declared(k) => k.replace('_', " "),
        };
        let id = &self.input.external_id;
        let short = if id.len() > 24 && id.chars().all(|c| c.is_ascii_hexdigit()) {
            format!("{}…", &id[..12])
        } else {
            id.clone()
        };
        match &self.input.client {
            Some(c) => format!("{kind} {short} (client {c})"),
            None => format!("{kind} {short}"),
        }
    }
}

/// One backend, resolved for the rules.
#[derive(Debug, Clone)]
pub struct BackendModel<'a> {
    pub input: &'a BackendInput,
    pub subjects: Vec<Subject>,
    pub creds: Vec<CredModel>,
    pub perms: Vec<Perm>,
    pub uses: Vec<Use>,
    synthetic: Vec<UseIn>,
    out_edges: HashMap<(NodeKind, String), Vec<(NodeKind, String)>>,
    pub principal_ids: HashSet<String>,
    pub role_ids: HashSet<String>,
}

/// Scopes that are part of the OAuth/OIDC protocol, not API permissions.
const PROTOCOL_SCOPES: &[&str] = &[
    "openid",
    "offline_access",
    "profile",
    "email",
    "address",
    "phone",
    "roles",
    "web-origins",
    "acr",
    "basic",
];

/// Grants every principal of the kind holds by construction: never judged.
pub fn builtin_ignored(kind: BackendKind, to_id: &str) -> bool {
    match kind {
        BackendKind::Vault => to_id == "default",
        BackendKind::Postgres => to_id == "PUBLIC",
        BackendKind::Oauth2 | BackendKind::Keycloak => PROTOCOL_SCOPES.contains(&to_id),
        _ => false,
    }
}

/// Principals and roles that exist without being listed.
fn builtin_node(kind: BackendKind, id: &str) -> bool {
    match kind {
        BackendKind::Postgres => id == "PUBLIC" || id.starts_with("pg_"),
        BackendKind::Vault => id == "root" || id == "default",
        BackendKind::Kubernetes => id.starts_with("system:"),
        _ => false,
    }
}

/// How an allowed event counts, by backend kind.
pub fn classify(kind: BackendKind, row: &UseIn) -> UseClass {
    if row.outcome != Outcome::Allow {
        return UseClass::None;
    }
    let action = row.action.as_str();
    match kind {
        BackendKind::Oauth2 => match action {
            "token.used" => UseClass::Access,
            // A refresh (the fingerprint names the refresh token) is the refresh token's use.
            "grant.success" if row.credential.is_some() => UseClass::Login,
            _ => UseClass::None,
        },
        BackendKind::Vault => {
            let path = row.resource.as_deref().unwrap_or("");
            if is_vault_login(path) {
                UseClass::Login
            } else {
                UseClass::Access
            }
        }
        BackendKind::Postgres => {
            if action.eq_ignore_ascii_case("login") {
                UseClass::Login
            } else {
                UseClass::Access
            }
        }
        BackendKind::Keycloak => {
            let a = action.to_ascii_uppercase();
            if a.starts_with("LOGIN") || a.starts_with("REFRESH") || a == "CODE_TO_TOKEN" {
                UseClass::Login
            } else {
                UseClass::Access
            }
        }
        BackendKind::Kong | BackendKind::Kubernetes => UseClass::Access,
    }
}

fn is_vault_login(path: &str) -> bool {
    let mut parts = path.split('/');
    parts.next() == Some("auth") && parts.nth(1) == Some("login")
}

/// Whether a use counts as a use *of the credential it names*. A Vault login event names the
/// token it created, which the login did not use.
fn uses_credential(kind: BackendKind, class: UseClass) -> bool {
    match class {
        UseClass::Access => true,
        UseClass::Login => kind != BackendKind::Vault,
        UseClass::None => false,
    }
}

fn perm_of(kind: BackendKind, p: &PermissionIn) -> Perm {
    let privilege = p
        .raw
        .get("privilege")
        .and_then(Value::as_str)
        .or_else(|| p.raw.get("verb").and_then(Value::as_str))
        .map(str::to_string);
    let k8s_resource = p.raw.get("resource").and_then(Value::as_str);
    let verb = p.raw.get("verb").and_then(Value::as_str).unwrap_or("");
    let meta = PermMeta::parse(
        Dialect::for_kind(Some(kind)),
        &p.external_id,
        &p.resource,
        p.action,
        &p.raw,
    );
    Perm {
        id: p.external_id.clone(),
        label: p.name.clone(),
        resource: p.resource.clone(),
        action: p.action,
        meta,
        all: (kind == BackendKind::Postgres && privilege.as_deref() == Some("SUPERUSER"))
            || (kind == BackendKind::Vault && p.resource == "*" && p.action != Action::Deny),
        wildcard: p.resource == "*"
            || (kind == BackendKind::Kubernetes
                && p.raw.get("wildcard").and_then(Value::as_bool) == Some(true)),
        secret_reader: kind == BackendKind::Kubernetes
            && k8s_resource == Some("secrets")
            && matches!(verb, "get" | "list" | "watch" | "*"),
        privilege,
        virtual_: false,
    }
}

/// A permission the backend's documentation implies (predefined roles, `root`), as the access
/// map's graph has it.
fn virtual_perm(
    kind: BackendKind,
    id: &str,
    label: &str,
    resource: &str,
    action: Action,
    raw: &Value,
) -> Perm {
    Perm {
        id: id.to_string(),
        label: label.to_string(),
        resource: resource.to_string(),
        action,
        privilege: None,
        all: raw.get("superuser") == Some(&Value::Bool(true)),
        wildcard: true,
        secret_reader: false,
        virtual_: true,
        meta: PermMeta::parse(Dialect::for_kind(Some(kind)), id, resource, action, raw),
    }
}

impl<'a> BackendModel<'a> {
    /// Resolves one backend. `exempt` maps principal external id or name to the reason;
    /// `ignored` holds extra grant ids never judged.
    pub fn build(
        input: &'a BackendInput,
        exempt: &HashMap<String, String>,
        ignored: &HashSet<String>,
    ) -> BackendModel<'a> {
        let kind = input.kind;
        let dialect = Dialect::for_kind(Some(kind));
        // Permissions, and virtual ones for documented roles.
        let mut perms: Vec<Perm> = input.permissions.iter().map(|p| perm_of(kind, p)).collect();
        let mut perm_index: HashMap<String, usize> = perms
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        let role_ids: HashSet<String> = input.roles.iter().map(|(id, _)| id.clone()).collect();
        let role_names: HashMap<&str, &str> = input
            .roles
            .iter()
            .map(|(id, n)| (id.as_str(), n.as_str()))
            .collect();
        let principal_ids: HashSet<String> = input
            .principals
            .iter()
            .map(|p| p.external_id.clone())
            .collect();

        let mut out_edges: HashMap<(NodeKind, String), Vec<(NodeKind, String)>> = HashMap::new();
        for g in &input.grants {
            out_edges
                .entry((g.from_kind, g.from_id.clone()))
                .or_default()
                .push((g.to_kind, g.to_id.clone()));
        }
        // Documented semantics become edges to virtual permissions.
        let mut add_virtual = |node: (NodeKind, String), perm: Perm| {
            let idx = *perm_index.entry(perm.id.clone()).or_insert_with(|| {
                perms.push(perm.clone());
                perms.len() - 1
            });
            out_edges
                .entry(node)
                .or_default()
                .push((NodeKind::Permission, perms[idx].id.clone()));
        };
        let mut targets: Vec<(NodeKind, String)> = input
            .grants
            .iter()
            .map(|g| (g.to_kind, g.to_id.clone()))
            .collect();
        targets.sort_by(|a, b| (a.0.as_str(), &a.1).cmp(&(b.0.as_str(), &b.1)));
        targets.dedup();
        for (tk, tid) in &targets {
            if kind == BackendKind::Postgres && *tk == NodeKind::Principal {
                if let Some(pre) = PgPredefined::of(tid) {
                    let (id, label, resource, raw) = pre.permission();
                    add_virtual(
                        (*tk, tid.clone()),
                        virtual_perm(kind, &id, &label, resource, pre.action, &raw),
                    );
                }
            }
        }
        let root_policy = kind == BackendKind::Vault
            && (role_ids.contains("root")
                || input
                    .credentials
                    .iter()
                    .any(|c| c.scopes.iter().any(|s| s == "root")));
        if root_policy {
            let (id, label, resource, raw) = vault_root_permission();
            add_virtual(
                (NodeKind::Role, "root".into()),
                virtual_perm(kind, id, label, resource, Action::Admin, &raw),
            );
        }

        // Subjects: one per account as the backend links them (an account joins the subject of
        // the principal it is an account of); never by a shared name.
        let mut subjects: Vec<Subject> = Vec::new();
        let mut subject_of_root: HashMap<usize, usize> = HashMap::new();
        let mut principal_subject: HashMap<&str, usize> = HashMap::new();
        let roots = account_roots(&input.principals);
        for (i, p) in input.principals.iter().enumerate() {
            let root = roots[i];
            let s = *subject_of_root.entry(root).or_insert_with(|| {
                let r = &input.principals[root];
                subjects.push(Subject {
                    name: r.name.clone(),
                    kind: r.kind,
                    members: Vec::new(),
                    enabled: true,
                    refused_by: None,
                    exempt: None,
                    grants: Vec::new(),
                    creds: Vec::new(),
                    uses: Vec::new(),
                    phantom: false,
                });
                subjects.len() - 1
            });
            subjects[s].members.push(i);
            subjects[s].enabled &= p.enabled;
            principal_subject.insert(p.external_id.as_str(), s);
        }
        // Primary member: the account root, then the one holding most grant edges.
        for s in &mut subjects {
            s.members.sort_by_key(|m| {
                let id = &input.principals[*m].external_id;
                let n = out_edges
                    .get(&(NodeKind::Principal, id.clone()))
                    .map_or(0, Vec::len);
                (roots[*m] != *m, std::cmp::Reverse(n), id.clone())
            });
        }
        let mut names: HashMap<String, Option<usize>> = HashMap::new();
        for (i, s) in subjects.iter().enumerate() {
            names
                .entry(s.name.clone())
                .and_modify(|v| {
                    if *v != Some(i) {
                        *v = None
                    }
                })
                .or_insert(Some(i));
        }
        let resolve = |id: &str| -> Option<usize> {
            principal_subject
                .get(id)
                .copied()
                .or_else(|| names.get(id).copied().flatten())
                .or_else(|| {
                    principal_subject
                        .get(format!("account:{id}").as_str())
                        .copied()
                })
                .or_else(|| {
                    principal_subject
                        .get(format!("client:{id}").as_str())
                        .copied()
                })
        };

        // Credentials.
        let mut creds: Vec<CredModel> = Vec::new();
        let mut phantoms: HashMap<String, usize> = HashMap::new();
        let periodic_by_audit: HashSet<&str> = input
            .facts
            .iter()
            .filter(|f| f.periodic)
            .filter_map(|f| f.created_accessor.as_deref())
            .collect();
        for c in &input.credentials {
            // A client-credentials token has no subject but its client (OAuth introspection).
            let owner = c.principal.as_deref().or(c.client.as_deref());
            let subject = match owner.and_then(&resolve) {
                Some(s) => s,
                None => {
                    let id = c
                        .principal
                        .clone()
                        .unwrap_or_else(|| format!("(no principal: {})", c.external_id));
                    *phantoms.entry(id.clone()).or_insert_with(|| {
                        subjects.push(Subject {
                            name: id.clone(),
                            kind: PrincipalKind::Service,
                            members: Vec::new(),
                            enabled: true,
                            refused_by: None,
                            exempt: None,
                            grants: Vec::new(),
                            creds: Vec::new(),
                            uses: Vec::new(),
                            phantom: true,
                        });
                        subjects.len() - 1
                    })
                }
            };
            let expiry = match (c.expires_at, &c.kind) {
                (Some(t), _) => Expiry::At(t),
                (None, CredKind::Declared(_)) => Expiry::Never,
                (None, CredKind::Cached(k)) => match k {
                    CredentialKind::AccessToken | CredentialKind::RefreshToken => {
                        // An event log does not record expiry; introspection (triage) does.
                        if c.origin == "triage"
                            || c.attrs.get("source").and_then(Value::as_str) == Some("triage")
                        {
                            Expiry::Never
                        } else {
                            Expiry::Unknown
                        }
                    }
                    CredentialKind::Session => Expiry::Unknown,
                    _ => Expiry::Never,
                },
            };
            let periodic = match c.attrs.get("period") {
                // The lookup's own answer (null: not periodic).
                Some(_) => c
                    .attrs
                    .get("periodic_forever")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                None => c
                    .attrs
                    .get("audit_hash")
                    .and_then(Value::as_str)
                    .is_some_and(|h| periodic_by_audit.contains(h)),
            };
            let idx = creds.len();
            creds.push(CredModel {
                input: c.clone(),
                subject,
                expiry,
                periodic,
                family: vec![idx],
                head: true,
                uses: Vec::new(),
                revoked_at: None,
            });
            subjects[subject].creds.push(idx);
        }
        // OAuth families: one account's (or client's) tokens through one client are one grant.
        if kind == BackendKind::Oauth2 {
            let mut fams: HashMap<(usize, Option<String>), Vec<usize>> = HashMap::new();
            for (i, c) in creds.iter().enumerate() {
                // Tokens only: a client secret is the client's, not one of its grant's tokens.
                if matches!(
                    c.input.kind,
                    CredKind::Cached(CredentialKind::AccessToken | CredentialKind::RefreshToken)
                ) {
                    fams.entry((c.subject, c.input.client.clone()))
                        .or_default()
                        .push(i);
                }
            }
            for members in fams.into_values() {
                let head = members
                    .iter()
                    .copied()
                    .max_by_key(|i| {
                        let c = &creds[*i].input;
                        (
                            c.kind == CredKind::Cached(CredentialKind::RefreshToken),
                            c.issued_at,
                            c.external_id.clone(),
                        )
                    })
                    .unwrap_or(members[0]);
                for m in &members {
                    creds[*m].family = members.clone();
                    creds[*m].head = *m == head;
                }
            }
        }

        // Uses: attribute each to a credential and a subject.
        let cred_index: HashMap<String, usize> = creds
            .iter()
            .enumerate()
            .map(|(i, c)| (c.input.external_id.clone(), i))
            .collect();
        let cred_subject: Vec<usize> = creds.iter().map(|c| c.subject).collect();
        let mut uses: Vec<Use> = Vec::with_capacity(input.usage.len());
        let mut synthetic: Vec<UseIn> = Vec::new();
        let push_use = |uses: &mut Vec<Use>, idx: usize, row: &UseIn| {
            let class = classify(kind, row);
            let cred = row
                .credential
                .as_deref()
                .and_then(|c| cred_index.get(c).copied());
            let subject = cred
                .map(|c| cred_subject[c])
                .or_else(|| row.actor.as_deref().and_then(&resolve));
            uses.push(Use {
                row: idx,
                class,
                cred,
                subject,
            });
        };
        for (i, row) in input.usage.iter().enumerate() {
            push_use(&mut uses, i, row);
        }
        // PostgreSQL statements that call functions: one synthetic EXECUTE use per function.
        let mut functions_of: HashMap<usize, Vec<String>> = HashMap::new();
        if kind == BackendKind::Postgres {
            for f in input.facts.iter().filter(|f| f.outcome == Outcome::Allow) {
                let Some(text) = &f.text else { continue };
                for func in called_functions(text) {
                    let i = uses.len();
                    synthetic.push(UseIn {
                        credential: f.credential.clone(),
                        actor: f.actor.clone(),
                        action: "EXECUTE".into(),
                        resource: Some(func.clone()),
                        outcome: Outcome::Allow,
                        source_ip: None,
                        count: 1,
                        first_id: f.event_id,
                        last_id: f.event_id,
                        first_at: f.at,
                        last_at: f.at,
                    });
                    if let Some(row) = synthetic.last() {
                        push_use(&mut uses, i, row);
                    }
                    functions_of.entry(i).or_default().push(func);
                }
            }
        }
        for (i, u) in uses.iter().enumerate() {
            if u.class == UseClass::None {
                continue;
            }
            if let Some(s) = u.subject {
                subjects[s].uses.push(i);
            }
            if let Some(c) = u.cred {
                if uses_credential(kind, u.class) {
                    creds[c].uses.push(i);
                }
            }
        }
        let row_of = |i: usize| -> &UseIn {
            input
                .usage
                .get(i)
                .unwrap_or_else(|| &synthetic[i - input.usage.len()])
        };
        // Revocation times: the journal's verified revocations, the backend's own log.
        if !input.revocations.is_empty() {
            for c in creds.iter_mut() {
                let id = c.input.external_id.as_str();
                c.revoked_at = input
                    .revocations
                    .iter()
                    .filter(|(target, _)| target.contains(id))
                    .map(|(_, t)| *t)
                    .min();
            }
        }
        for u in &uses {
            let Some(c) = u.cred else { continue };
            let row = row_of(u.row);
            let a = row.action.as_str();
            let revoking = a.ends_with(".destroyed")
                || (a == "revocation.request" && row.outcome == Outcome::Allow);
            if revoking {
                let at = &mut creds[c].revoked_at;
                *at = Some(at.map_or(row.first_at, |t| t.min(row.first_at)));
            }
        }
        // Refusals that say the account is gone (OAuth servers keep no disabled flag we can read).
        for (fi, f) in input.facts.iter().enumerate() {
            let refused = f.outcome == Outcome::Deny
                && f.text.as_deref().is_some_and(|t| {
                    let t = t.to_ascii_lowercase();
                    t.contains("account not found")
                        || t.contains("account is disabled")
                        || t.contains("user is disabled")
                        || t.contains("account disabled")
                });
            if !refused {
                continue;
            }
            let s = f
                .credential
                .as_deref()
                .and_then(|c| cred_index.get(c))
                .map(|c| cred_subject[*c])
                .or_else(|| f.actor.as_deref().and_then(&resolve));
            if let Some(s) = s {
                let later_use = subjects[s].uses.iter().any(|u| {
                    uses[*u].class != UseClass::None && row_of(uses[*u].row).last_at > f.at
                });
                if !later_use {
                    subjects[s].refused_by = Some(fi);
                }
            }
        }

        // Grants per subject: member edges, plus scopes/policies carried by credentials.
        let mut reach_cache: HashMap<(NodeKind, String), Vec<usize>> = HashMap::new();
        let perm_lookup: HashMap<String, usize> = perms
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        #[allow(clippy::needless_range_loop)] // `add` borrows the subject's grants mutably
        for s in 0..subjects.len() {
            let mut holds: Vec<GrantHold> = Vec::new();
            let mut add = |to_kind: NodeKind, to_id: &str, edge: Option<Grant>, carrier| {
                if builtin_ignored(kind, to_id) || ignored.contains(to_id) {
                    return;
                }
                let pos = holds
                    .iter()
                    .position(|h| h.to_kind == to_kind && h.to_id == to_id);
                let h = match pos {
                    Some(p) => &mut holds[p],
                    None => {
                        let label = match to_kind {
                            NodeKind::Role => role_names.get(to_id).unwrap_or(&to_id).to_string(),
                            NodeKind::Permission => perm_lookup
                                .get(to_id)
                                .map(|i| short_perm_label(kind, &perms[*i]))
                                .unwrap_or_else(|| to_id.to_string()),
                            NodeKind::Principal => to_id.to_string(),
                        };
                        holds.push(GrantHold {
                            to_kind,
                            to_id: to_id.to_string(),
                            label,
                            edges: Vec::new(),
                            carriers: Vec::new(),
                            perms: Vec::new(),
                            used_by: Vec::new(),
                            exercised: BTreeSet::new(),
                        });
                        let last = holds.len() - 1;
                        &mut holds[last]
                    }
                };
                if let Some(e) = edge {
                    if !h.edges.contains(&e) {
                        h.edges.push(e);
                    }
                }
                if let Some(c) = carrier {
                    if !h.carriers.contains(&c) {
                        h.carriers.push(c);
                    }
                }
            };
            for m in &subjects[s].members {
                let pid = &input.principals[*m].external_id;
                for (tk, tid) in out_edges
                    .get(&(NodeKind::Principal, pid.clone()))
                    .into_iter()
                    .flatten()
                {
                    // An account's link to its own subject (userpass user → entity) is who it
                    // is, not a grant to review.
                    if *tk == NodeKind::Principal && principal_subject.get(tid.as_str()) == Some(&s)
                    {
                        continue;
                    }
                    add(
                        *tk,
                        tid,
                        Some(Grant {
                            from_kind: NodeKind::Principal,
                            from_id: pid.clone(),
                            to_kind: *tk,
                            to_id: tid.clone(),
                        }),
                        None,
                    );
                }
            }
            for c in &subjects[s].creds {
                for scope in &creds[*c].input.scopes {
                    if role_ids.contains(scope) || (kind == BackendKind::Vault && scope == "root") {
                        add(NodeKind::Role, scope, None, Some(*c));
                    } else if perm_lookup.contains_key(scope) {
                        add(NodeKind::Permission, scope, None, Some(*c));
                    }
                }
            }
            for h in &mut holds {
                h.perms = reach(
                    &out_edges,
                    &perm_lookup,
                    &mut reach_cache,
                    h.to_kind,
                    &h.to_id,
                );
            }
            subjects[s].grants = holds;
        }

        // Which grants each use exercised.
        #[allow(clippy::needless_range_loop)] // grants are mutated while uses are read
        for s in 0..subjects.len() {
            let use_ids = subjects[s].uses.clone();
            // Everything the subject holds, once per subject (not per use).
            let mut held: Vec<usize> = subjects[s]
                .grants
                .iter()
                .flat_map(|h| h.perms.iter().copied())
                .collect();
            held.sort_unstable();
            held.dedup();
            for u in use_ids {
                let use_ = &uses[u];
                if use_.class != UseClass::Access {
                    continue;
                }
                let funcs = functions_of.get(&u).map(Vec::as_slice).unwrap_or(&[]);
                let row = row_of(use_.row);
                let mut events = vec![dialect.event(&row.action, row.resource.as_deref())];
                // A PostgreSQL statement's function calls are EXECUTE uses of them.
                events.extend(
                    funcs
                        .iter()
                        .map(|f| dialect.event("EXECUTE", Some(f.as_str()))),
                );
                // The subject's permissions that the use exercised: the most specific ones, by
                // the access map's own rule (a broad grant held beside the narrow one that was
                // needed stays unused).
                let mut hit: BTreeSet<usize> = BTreeSet::new();
                for e in &events {
                    let candidates = held
                        .iter()
                        .map(|&p| (p, &perms[p].meta, perms[p].id.as_str()));
                    hit.extend(most_specific(dialect, candidates, e));
                }
                for h in &mut subjects[s].grants {
                    let exercised: Vec<usize> = h
                        .perms
                        .iter()
                        .copied()
                        .filter(|p| hit.contains(p))
                        .collect();
                    if !exercised.is_empty() {
                        h.exercised.extend(exercised);
                        h.used_by.push(u);
                    }
                }
            }
        }

        // Exemptions.
        for s in &mut subjects {
            let ids = s
                .members
                .iter()
                .map(|m| input.principals[*m].external_id.as_str())
                .chain(std::iter::once(s.name.as_str()));
            s.exempt = ids.clone().find_map(|id| exempt.get(id).cloned());
        }

        BackendModel {
            input,
            subjects,
            creds,
            perms,
            uses,
            synthetic,
            out_edges,
            principal_ids,
            role_ids,
        }
    }

    /// The aggregated events behind use `u`.
    pub fn row(&self, u: usize) -> &UseIn {
        let i = self.uses[u].row;
        self.input
            .usage
            .get(i)
            .unwrap_or_else(|| &self.synthetic[i - self.input.usage.len()])
    }

    pub fn primary_id(&self, s: &Subject) -> String {
        s.members
            .first()
            .map(|m| self.input.principals[*m].external_id.clone())
            .unwrap_or_else(|| s.name.clone())
    }

    pub fn member_ids(&self, s: &Subject) -> Vec<String> {
        s.members
            .iter()
            .map(|m| self.input.principals[*m].external_id.clone())
            .collect()
    }

    /// Why the subject holds `hold`: shortest paths from the member principal through it, at
    /// most `limit` (for broad grants, those that reach a broad permission first).
    pub fn paths(&self, s: &Subject, hold: &GrantHold, limit: usize) -> Vec<GrantPath> {
        let mut out = Vec::new();
        for e in &hold.edges {
            // Only the hold's own subgraph: the principal's other grants are not on these paths.
            let mut sub = vec![(
                e.from_kind.as_str().to_string(),
                e.from_id.clone(),
                hold.to_kind.as_str().to_string(),
                hold.to_id.clone(),
            )];
            sub.extend(self.reachable_edges(hold.to_kind, &hold.to_id));
            let first = format!("{} {}", hold.to_kind.as_str(), hold.to_id);
            let mut paths: Vec<GrantPath> = crate::views::grant_paths(&e.from_id, &sub)
                .into_iter()
                .filter(|p| p.hops.get(1) == Some(&first))
                .collect();
            paths.sort_by_key(|p| {
                let broad = self
                    .perms
                    .iter()
                    .find(|x| x.id == p.permission)
                    .is_some_and(|x| x.action == Action::Admin || x.wildcard || x.all);
                (!broad, p.hops.len())
            });
            out.extend(paths);
            if hold.to_kind == NodeKind::Permission && out.is_empty() {
                out.push(GrantPath {
                    permission: hold.to_id.clone(),
                    hops: vec![
                        format!("principal {}", e.from_id),
                        format!("permission {}", hold.to_id),
                    ],
                });
            }
        }
        for c in &hold.carriers {
            let cred = &self.creds[*c];
            out.push(GrantPath {
                permission: hold.to_id.clone(),
                hops: vec![
                    format!("principal {}", self.primary_id(s)),
                    format!("credential {}", cred.input.external_id),
                    format!("{} {}", hold.to_kind.as_str(), hold.to_id),
                ],
            });
        }
        out.truncate(limit);
        out
    }

    /// The edges reachable from one node (what `grant_paths` needs to see, and no more).
    fn reachable_edges(&self, kind: NodeKind, id: &str) -> Vec<(String, String, String, String)> {
        let mut out = Vec::new();
        let mut seen: HashSet<(NodeKind, String)> = HashSet::from([(kind, id.to_string())]);
        let mut queue = VecDeque::from([(kind, id.to_string())]);
        while let Some(node) = queue.pop_front() {
            for next in self.out_edges.get(&node).into_iter().flatten() {
                out.push((
                    node.0.as_str().to_string(),
                    node.1.clone(),
                    next.0.as_str().to_string(),
                    next.1.clone(),
                ));
                if seen.insert(next.clone()) {
                    queue.push_back(next.clone());
                }
            }
        }
        out
    }
}

/// For each principal, the principal its account chain ends at (itself when it is no account of
/// another; a chain that loops or leaves the backend ends where it breaks).
fn account_roots(principals: &[PrincipalIn]) -> Vec<usize> {
    let index: HashMap<&str, usize> = principals
        .iter()
        .enumerate()
        .map(|(i, p)| (p.external_id.as_str(), i))
        .collect();
    (0..principals.len())
        .map(|start| {
            let mut at = start;
            for _ in 0..principals.len() {
                match principals[at]
                    .account_of
                    .as_deref()
                    .and_then(|t| index.get(t))
                {
                    Some(&next) if next != start => at = next,
                    _ => break,
                }
            }
            at
        })
        .collect()
}

/// A permission's short name in findings: the scope, the PostgreSQL privilege, the Vault rule.
pub fn short_perm_label(kind: BackendKind, p: &Perm) -> String {
    match kind {
        BackendKind::Postgres => match (&p.privilege, p.resource.as_str()) {
            (Some(priv_), "cluster") => priv_.clone(),
            _ => p.label.clone(),
        },
        BackendKind::Oauth2 | BackendKind::Keycloak => p.id.clone(),
        _ => p.label.clone(),
    }
}

/// Permissions reachable from a node (memoised: roles are shared by many principals).
fn reach(
    out_edges: &HashMap<(NodeKind, String), Vec<(NodeKind, String)>>,
    perm_lookup: &HashMap<String, usize>,
    cache: &mut HashMap<(NodeKind, String), Vec<usize>>,
    kind: NodeKind,
    id: &str,
) -> Vec<usize> {
    let key = (kind, id.to_string());
    if let Some(v) = cache.get(&key) {
        return v.clone();
    }
    let mut out = BTreeSet::new();
    let mut seen = HashSet::from([key.clone()]);
    let mut queue = VecDeque::from([key.clone()]);
    while let Some(node) = queue.pop_front() {
        if node.0 == NodeKind::Permission {
            if let Some(i) = perm_lookup.get(&node.1) {
                out.insert(*i);
            }
            continue;
        }
        for next in out_edges.get(&node).into_iter().flatten() {
            if seen.insert(next.clone()) {
                queue.push_back(next.clone());
            }
        }
    }
    let v: Vec<usize> = out.into_iter().collect();
    cache.insert(key, v.clone());
    v
}

/// Whether a grant edge's ends exist (for bindings to nobody).
pub fn node_exists(model: &BackendModel<'_>, kind: NodeKind, id: &str) -> bool {
    builtin_node(model.input.kind, id)
        || match kind {
            NodeKind::Principal => model.principal_ids.contains(id),
            NodeKind::Role => model.role_ids.contains(id),
            NodeKind::Permission => true,
        }
}
