//! Who holds what, and what they actually used: one backend's input resolved into review
//! *subjects* (one per account, as the backend links them), their grants, their credentials, and
//! which grants each use exercised.
//!
//! The backend semantics are the access map's, not this module's: the input is built into the
//! access graph (`access::graph`) and read from there — permissions with the ones the backends'
//! documentation implies, what each grant reaches (`access::walk::grant_reach`), what counts as
//! a use and which permissions an event exercised (`access::usage::Attribution`), which grants
//! are built in (`Dialect::builtin_grant`). What stays here is what a review adds: accounts as
//! subjects, credential lifetimes and families, revocation times, refusals, exemptions.
//! [`BackendModel::build`] runs those as named phases.

use chrono::{DateTime, Utc};
use portcullis_model::{
    AccessNodeKind, Action, BackendKind, CredentialKind, CredentialStatus, Grant, GrantPath,
    NodeKind, Outcome, PrincipalKind,
};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use super::input::{BackendInput, CredKind, CredentialIn, PermissionIn, PrincipalIn, UseIn};
use crate::access::dialect::{Dialect, PermMeta, UseClass};
use crate::access::graph::{Graph, NodeId};
use crate::access::index::LazyRights;
use crate::access::usage::{Attribution, UseEvent};
use crate::access::walk::grant_reach;
use crate::pg_statement::called_functions;

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
    /// The subject's permissions (indices into `BackendModel::perms`) it exercised, most
    /// specific only, as the access map credits them.
    pub perms: Vec<usize>,
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
    out_edges: Edges,
    pub principal_ids: HashSet<String>,
    pub role_ids: HashSet<String>,
    dialect: Dialect,
}

/// Grant edges by their source node, as (kind, external id) pairs.
type Edges = HashMap<(NodeKind, String), Vec<(NodeKind, String)>>;

/// The one backend of a review's access rows.
const BACKEND: u16 = 0;

impl<'a> BackendModel<'a> {
    /// Resolves one backend. `exempt` maps principal external id or name to the reason;
    /// `ignored` holds extra grant ids never judged.
    pub fn build(
        input: &'a BackendInput,
        exempt: &HashMap<String, String>,
        ignored: &HashSet<String>,
    ) -> BackendModel<'a> {
        let dialect = Dialect::for_kind(Some(input.kind));
        let graph = Graph::build(&input.access_rows());
        let g = &graph;
        let rights = LazyRights::new(g);
        let (perms, perm_at) = permissions(input, g);
        let out_edges = grant_edges(g);
        let (mut subjects, principal_subject) = subjects(input, &out_edges);
        let attribution = Attribution::new(g);
        let resolve = |id: &str| -> Option<usize> {
            attribution
                .actor(BACKEND, id)
                .into_iter()
                .find_map(|n| principal_subject.get(&g.nodes[n as usize].external_id))
                .copied()
        };
        let mut creds = credentials(input, &mut subjects, &resolve);
        if input.kind == BackendKind::Oauth2 {
            oauth_families(&mut creds);
        }
        let cred_at: HashMap<&str, usize> = input
            .credentials
            .iter()
            .enumerate()
            .map(|(i, c)| (c.external_id.as_str(), i))
            .collect();
        let synthetic = function_calls(input);
        let node_subject = node_subjects(g, &principal_subject, &creds, &cred_at);
        let mut uses = Vec::with_capacity(input.usage.len() + synthetic.len());
        for (i, row) in input.usage.iter().chain(&synthetic).enumerate() {
            let mut u = attribute(dialect, row, i, &creds, &cred_at, &resolve);
            if u.class == UseClass::Access {
                u.perms = exercised(&attribution, &rights, &node_subject, &perm_at, row, &u);
            }
            uses.push(u);
        }
        link_uses(dialect, &uses, &mut subjects, &mut creds);
        let row_of = |i: usize| {
            input
                .usage
                .get(i)
                .unwrap_or_else(|| &synthetic[i - input.usage.len()])
        };
        revocation_times(input, &uses, &row_of, &mut creds);
        refusals(
            input,
            &uses,
            &row_of,
            &creds,
            &cred_at,
            &resolve,
            &mut subjects,
        );
        let hold_ctx = HoldCtx {
            input,
            dialect,
            g,
            perms: &perms,
            perm_at: &perm_at,
            role_names: input
                .roles
                .iter()
                .map(|(id, n)| (id.as_str(), n.as_str()))
                .collect(),
            ignored,
            principal_subject: &principal_subject,
            out_edges: &out_edges,
            reach: Default::default(),
        };
        for (s, subject) in subjects.iter_mut().enumerate() {
            subject.grants = hold_ctx.holds(s, subject, &creds);
            exercise(subject, &uses);
        }
        for s in &mut subjects {
            s.exempt = exemption(input, s, exempt);
        }
        BackendModel {
            input,
            subjects,
            creds,
            perms,
            uses,
            synthetic,
            out_edges,
            principal_ids: input
                .principals
                .iter()
                .map(|p| p.external_id.clone())
                .collect(),
            role_ids: input.roles.iter().map(|(id, _)| id.clone()).collect(),
            dialect,
        }
    }
}

/// Phase 1: the backend's permissions as the access graph has them (with those its
/// documentation implies: predefined roles, `root`), and each one's graph node.
fn permissions(input: &BackendInput, g: &Graph) -> (Vec<Perm>, HashMap<NodeId, usize>) {
    let listed: HashMap<&str, &PermissionIn> = input
        .permissions
        .iter()
        .map(|p| (p.external_id.as_str(), p))
        .collect();
    let mut perms = Vec::new();
    let mut at = HashMap::new();
    for (i, node) in g.nodes.iter().enumerate() {
        let Some(meta) = node.perm.as_ref() else {
            continue;
        };
        at.insert(i as NodeId, perms.len());
        perms.push(match listed.get(node.external_id.as_str()) {
            Some(p) => perm_of(input.kind, p, meta),
            None => Perm {
                id: node.external_id.clone(),
                label: node.label.clone(),
                resource: meta.resource.clone(),
                action: meta.action,
                privilege: None,
                all: meta.superuser,
                wildcard: true,
                secret_reader: false,
                meta: meta.clone(),
            },
        });
    }
    (perms, at)
}

fn perm_of(kind: BackendKind, p: &PermissionIn, meta: &PermMeta) -> Perm {
    let privilege = p
        .raw
        .get("privilege")
        .and_then(Value::as_str)
        .or_else(|| p.raw.get("verb").and_then(Value::as_str))
        .map(str::to_string);
    let k8s_resource = p.raw.get("resource").and_then(Value::as_str);
    let verb = p.raw.get("verb").and_then(Value::as_str).unwrap_or("");
    Perm {
        id: p.external_id.clone(),
        label: p.name.clone(),
        resource: p.resource.clone(),
        action: p.action,
        meta: meta.clone(),
        all: meta.superuser
            || (kind == BackendKind::Vault && p.resource == "*" && p.action != Action::Deny),
        wildcard: p.resource == "*"
            || (kind == BackendKind::Kubernetes
                && p.raw.get("wildcard").and_then(Value::as_bool) == Some(true)),
        secret_reader: kind == BackendKind::Kubernetes
            && k8s_resource == Some("secrets")
            && matches!(verb, "get" | "list" | "watch" | "*"),
        privilege,
    }
}

/// Phase 2: the graph's grant edges between principals, roles and permissions (implied ones
/// included, none into a built-in grant), for holds and their paths.
fn grant_edges(g: &Graph) -> Edges {
    let mut out: Edges = HashMap::new();
    for (i, n) in g.nodes.iter().enumerate() {
        let Some(from) = model_kind(n.kind) else {
            continue;
        };
        for (t, _) in g.out.of(i as NodeId) {
            let to = &g.nodes[t as usize];
            let Some(to_kind) = model_kind(to.kind) else {
                continue;
            };
            let builtin = to_kind != NodeKind::Permission
                && g.backends[to.backend as usize]
                    .dialect
                    .builtin_grant(&to.external_id);
            if !builtin {
                out.entry((from, n.external_id.clone()))
                    .or_default()
                    .push((to_kind, to.external_id.clone()));
            }
        }
    }
    out
}

fn model_kind(k: AccessNodeKind) -> Option<NodeKind> {
    match k {
        AccessNodeKind::Principal => Some(NodeKind::Principal),
        AccessNodeKind::Role => Some(NodeKind::Role),
        AccessNodeKind::Permission => Some(NodeKind::Permission),
        AccessNodeKind::Credential => None,
    }
}

fn empty_subject(name: String, kind: PrincipalKind, phantom: bool) -> Subject {
    Subject {
        name,
        kind,
        members: Vec::new(),
        enabled: true,
        refused_by: None,
        exempt: None,
        grants: Vec::new(),
        creds: Vec::new(),
        uses: Vec::new(),
        phantom,
    }
}

/// Phase 3: one subject per account as the backend links them (an account joins the subject of
/// the principal it is an account of); never by a shared name. The primary member is the
/// account root, then the one holding most grant edges.
fn subjects(input: &BackendInput, out_edges: &Edges) -> (Vec<Subject>, HashMap<String, usize>) {
    let mut subjects: Vec<Subject> = Vec::new();
    let mut subject_of_root: HashMap<usize, usize> = HashMap::new();
    let mut principal_subject: HashMap<String, usize> = HashMap::new();
    let roots = account_roots(&input.principals);
    for (i, p) in input.principals.iter().enumerate() {
        let s = *subject_of_root.entry(roots[i]).or_insert_with(|| {
            let r = &input.principals[roots[i]];
            subjects.push(empty_subject(r.name.clone(), r.kind, false));
            subjects.len() - 1
        });
        subjects[s].members.push(i);
        subjects[s].enabled &= p.enabled;
        principal_subject.insert(p.external_id.clone(), s);
    }
    for s in &mut subjects {
        s.members.sort_by_key(|m| {
            let id = &input.principals[*m].external_id;
            let n = out_edges
                .get(&(NodeKind::Principal, id.clone()))
                .map_or(0, Vec::len);
            (roots[*m] != *m, std::cmp::Reverse(n), id.clone())
        });
    }
    (subjects, principal_subject)
}

/// Phase 4: credentials, each with the subject it belongs to (a client-credentials token has no
/// subject but its client; one naming nobody known gets a phantom subject), its expiry as far
/// as the data tells, and whether it renews forever.
fn credentials(
    input: &BackendInput,
    subjects: &mut Vec<Subject>,
    resolve: &dyn Fn(&str) -> Option<usize>,
) -> Vec<CredModel> {
    let mut creds: Vec<CredModel> = Vec::new();
    let mut phantoms: HashMap<String, usize> = HashMap::new();
    let periodic_by_audit: HashSet<&str> = input
        .facts
        .iter()
        .filter(|f| f.periodic)
        .filter_map(|f| f.created_accessor.as_deref())
        .collect();
    for c in &input.credentials {
        let owner = c.principal.as_deref().or(c.client.as_deref());
        let subject = match owner.and_then(resolve) {
            Some(s) => s,
            None => {
                let id = c
                    .principal
                    .clone()
                    .unwrap_or_else(|| format!("(no principal: {})", c.external_id));
                *phantoms.entry(id.clone()).or_insert_with(|| {
                    subjects.push(empty_subject(id, PrincipalKind::Service, true));
                    subjects.len() - 1
                })
            }
        };
        let idx = creds.len();
        creds.push(CredModel {
            input: c.clone(),
            subject,
            expiry: expiry(c),
            periodic: periodic(c, &periodic_by_audit),
            family: vec![idx],
            head: true,
            uses: Vec::new(),
            revoked_at: None,
        });
        subjects[subject].creds.push(idx);
    }
    creds
}

fn expiry(c: &CredentialIn) -> Expiry {
    match (c.expires_at, &c.kind) {
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
    }
}

/// Vault: periodic without an explicit max TTL, per the token lookup's own answer (`period`
/// null: not periodic), else per the audit log's record of the token's creation.
fn periodic(c: &CredentialIn, periodic_by_audit: &HashSet<&str>) -> bool {
    match c.attrs.get("period") {
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
    }
}

/// Phase 5 (OAuth): one account's (or client's) tokens through one client are one grant, spoken
/// for by its refresh token, else its newest token. A client secret is the client's own.
fn oauth_families(creds: &mut [CredModel]) {
    let mut fams: HashMap<(usize, Option<String>), Vec<usize>> = HashMap::new();
    for (i, c) in creds.iter().enumerate() {
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

/// PostgreSQL statements that call functions: one synthetic EXECUTE use per function called, as
/// the access map makes them.
fn function_calls(input: &BackendInput) -> Vec<UseIn> {
    if input.kind != BackendKind::Postgres {
        return Vec::new();
    }
    let mut out = Vec::new();
    for f in input.facts.iter().filter(|f| f.outcome == Outcome::Allow) {
        let Some(text) = &f.text else { continue };
        for func in called_functions(text) {
            out.push(UseIn {
                credential: f.credential.clone(),
                actor: f.actor.clone(),
                action: "EXECUTE".into(),
                resource: Some(func),
                outcome: Outcome::Allow,
                source_ip: None,
                count: 1,
                first_id: f.event_id,
                last_id: f.event_id,
                first_at: f.at,
                last_at: f.at,
            });
        }
    }
    out
}

/// Which subject each graph node (member principal, credential) speaks for.
fn node_subjects(
    g: &Graph,
    principal_subject: &HashMap<String, usize>,
    creds: &[CredModel],
    cred_at: &HashMap<&str, usize>,
) -> HashMap<NodeId, usize> {
    let mut out = HashMap::new();
    for (i, n) in g.nodes.iter().enumerate() {
        let s = match n.kind {
            AccessNodeKind::Principal => principal_subject.get(&n.external_id).copied(),
            AccessNodeKind::Credential => cred_at
                .get(n.external_id.as_str())
                .map(|c| creds[*c].subject),
            _ => None,
        };
        if let Some(s) = s {
            out.insert(i as NodeId, s);
        }
    }
    out
}

/// Phase 6: a use's class, credential and subject (the credential's, else the actor's).
fn attribute(
    dialect: Dialect,
    row: &UseIn,
    i: usize,
    creds: &[CredModel],
    cred_at: &HashMap<&str, usize>,
    resolve: &dyn Fn(&str) -> Option<usize>,
) -> Use {
    let class = if row.outcome == Outcome::Allow {
        dialect.use_class(
            &row.action,
            row.resource.as_deref(),
            row.credential.is_some(),
        )
    } else {
        UseClass::None
    };
    let cred = row
        .credential
        .as_deref()
        .and_then(|c| cred_at.get(c).copied());
    let subject = cred
        .map(|c| creds[c].subject)
        .or_else(|| row.actor.as_deref().and_then(resolve));
    Use {
        row: i,
        class,
        cred,
        subject,
        perms: Vec::new(),
    }
}

/// The permissions of the use's subject that the use exercised, as the access map credits them.
fn exercised(
    attribution: &Attribution<'_>,
    rights: &LazyRights<'_>,
    node_subject: &HashMap<NodeId, usize>,
    perm_at: &HashMap<NodeId, usize>,
    row: &UseIn,
    u: &Use,
) -> Vec<usize> {
    let Some(subject) = u.subject else {
        return Vec::new();
    };
    let event = UseEvent {
        backend: BACKEND,
        credential: row.credential.as_deref(),
        actor: row.actor.as_deref(),
        action: &row.action,
        resource: row.resource.as_deref(),
    };
    let mut out: Vec<usize> = attribution
        .credit(&event, &|n| rights.rights(n))
        .into_iter()
        .filter(|(n, _)| node_subject.get(n) == Some(&subject))
        .filter_map(|(_, p)| perm_at.get(&p).copied())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Uses to their subjects and to the credentials they were uses of.
fn link_uses(dialect: Dialect, uses: &[Use], subjects: &mut [Subject], creds: &mut [CredModel]) {
    for (i, u) in uses.iter().enumerate() {
        if u.class == UseClass::None {
            continue;
        }
        if let Some(s) = u.subject {
            subjects[s].uses.push(i);
        }
        if let Some(c) = u.cred {
            if dialect.uses_named_credential(u.class) {
                creds[c].uses.push(i);
            }
        }
    }
}

/// Phase 7: when each credential was revoked, per the journal's verified revocations and the
/// backend's own log.
fn revocation_times<'r>(
    input: &BackendInput,
    uses: &[Use],
    row_of: &dyn Fn(usize) -> &'r UseIn,
    creds: &mut [CredModel],
) {
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
    for u in uses {
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
}

/// Phase 8: refusals that say the account is gone (OAuth servers keep no disabled flag to read),
/// unless the subject was used after them.
fn refusals<'r>(
    input: &BackendInput,
    uses: &[Use],
    row_of: &dyn Fn(usize) -> &'r UseIn,
    creds: &[CredModel],
    cred_at: &HashMap<&str, usize>,
    resolve: &dyn Fn(&str) -> Option<usize>,
    subjects: &mut [Subject],
) {
    for (fi, f) in input.facts.iter().enumerate() {
        let refused = f.outcome == Outcome::Deny
            && f.text.as_deref().is_some_and(|t| {
                let t = t.to_ascii_lowercase();
                [
                    "account not found",
                    "account is disabled",
                    "user is disabled",
                    "account disabled",
                ]
                .iter()
                .any(|x| t.contains(x))
            });
        if !refused {
            continue;
        }
        let s = f
            .credential
            .as_deref()
            .and_then(|c| cred_at.get(c))
            .map(|c| creds[*c].subject)
            .or_else(|| f.actor.as_deref().and_then(resolve));
        if let Some(s) = s {
            let later_use = subjects[s]
                .uses
                .iter()
                .any(|u| uses[*u].class != UseClass::None && row_of(uses[*u].row).last_at > f.at);
            if !later_use {
                subjects[s].refused_by = Some(fi);
            }
        }
    }
}

/// What a review needs to know to list one subject's holds.
struct HoldCtx<'m> {
    input: &'m BackendInput,
    dialect: Dialect,
    g: &'m Graph,
    perms: &'m [Perm],
    perm_at: &'m HashMap<NodeId, usize>,
    role_names: HashMap<&'m str, &'m str>,
    ignored: &'m HashSet<String>,
    principal_subject: &'m HashMap<String, usize>,
    out_edges: &'m Edges,
    /// What each grant target reaches, once per target (many subjects share a role).
    reach: std::cell::RefCell<HashMap<NodeId, Vec<usize>>>,
}

impl HoldCtx<'_> {
    /// Phase 9: the grants one subject holds, each with the permissions it reaches: its member
    /// principals' edges (not the link of an account to its own subject, which is who it is),
    /// and the roles or permissions its credentials carry as scopes or policies. Built-in and
    /// ignored grants are not judged.
    fn holds(&self, s: usize, subject: &Subject, creds: &[CredModel]) -> Vec<GrantHold> {
        let mut holds: Vec<GrantHold> = Vec::new();
        for m in &subject.members {
            let pid = &self.input.principals[*m].external_id;
            let edges = self.out_edges.get(&(NodeKind::Principal, pid.clone()));
            for (tk, tid) in edges.into_iter().flatten() {
                if *tk == NodeKind::Principal && self.principal_subject.get(tid) == Some(&s) {
                    continue;
                }
                let edge = Grant {
                    from_kind: NodeKind::Principal,
                    from_id: pid.clone(),
                    to_kind: *tk,
                    to_id: tid.clone(),
                };
                self.add(&mut holds, *tk, tid, Some(edge), None);
            }
        }
        for &c in &subject.creds {
            for scope in &creds[c].input.scopes {
                if let Some((kind, id)) = self.scope_target(scope) {
                    self.add(&mut holds, kind, &id, None, Some(c));
                }
            }
        }
        for h in &mut holds {
            h.perms = self.reach(h.to_kind, &h.to_id);
        }
        holds
    }

    /// What a credential's scope names in the graph (a role, else a permission), as the access
    /// graph links it.
    fn scope_target(&self, scope: &str) -> Option<(NodeKind, String)> {
        if !self.dialect.scopes_name_nodes() {
            return None;
        }
        let role = self.dialect.scopes_name_roles() && self.node(NodeKind::Role, scope).is_some();
        if role {
            Some((NodeKind::Role, scope.to_string()))
        } else {
            self.node(NodeKind::Permission, scope)
                .map(|_| (NodeKind::Permission, scope.to_string()))
        }
    }

    fn node(&self, kind: NodeKind, id: &str) -> Option<NodeId> {
        let k = match kind {
            NodeKind::Principal => AccessNodeKind::Principal,
            NodeKind::Role => AccessNodeKind::Role,
            NodeKind::Permission => AccessNodeKind::Permission,
        };
        self.g.by_key.get(&(BACKEND, k, id.to_string())).copied()
    }

    fn reach(&self, kind: NodeKind, id: &str) -> Vec<usize> {
        let Some(n) = self.node(kind, id) else {
            return Vec::new();
        };
        if let Some(v) = self.reach.borrow().get(&n) {
            return v.clone();
        }
        let mut v: Vec<usize> = grant_reach(self.g, n)
            .into_iter()
            .filter_map(|p| self.perm_at.get(&p).copied())
            .collect();
        v.sort_unstable();
        self.reach.borrow_mut().insert(n, v.clone());
        v
    }

    fn add(
        &self,
        holds: &mut Vec<GrantHold>,
        to_kind: NodeKind,
        to_id: &str,
        edge: Option<Grant>,
        carrier: Option<usize>,
    ) {
        if self.dialect.builtin_grant(to_id) || self.ignored.contains(to_id) {
            return;
        }
        let pos = holds
            .iter()
            .position(|h| h.to_kind == to_kind && h.to_id == to_id);
        let h = match pos {
            Some(p) => &mut holds[p],
            None => {
                holds.push(GrantHold {
                    to_kind,
                    to_id: to_id.to_string(),
                    label: self.label(to_kind, to_id),
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
    }

    fn label(&self, kind: NodeKind, id: &str) -> String {
        match kind {
            NodeKind::Role => self.role_names.get(id).unwrap_or(&id).to_string(),
            NodeKind::Permission => self
                .node(kind, id)
                .and_then(|n| self.perm_at.get(&n))
                .map(|i| short_perm_label(self.input.kind, &self.perms[*i]))
                .unwrap_or_else(|| id.to_string()),
            NodeKind::Principal => id.to_string(),
        }
    }
}

/// Phase 10: which of a subject's grants its uses exercised.
fn exercise(subject: &mut Subject, uses: &[Use]) {
    for &u in &subject.uses {
        if uses[u].class != UseClass::Access || uses[u].perms.is_empty() {
            continue;
        }
        for h in &mut subject.grants {
            let hit: Vec<usize> = h
                .perms
                .iter()
                .copied()
                .filter(|p| uses[u].perms.binary_search(p).is_ok())
                .collect();
            if !hit.is_empty() {
                h.exercised.extend(hit);
                h.used_by.push(u);
            }
        }
    }
}

/// Phase 11: the reason a subject is exempt, by any member's id or the subject's name.
fn exemption(
    input: &BackendInput,
    s: &Subject,
    exempt: &HashMap<String, String>,
) -> Option<String> {
    s.members
        .iter()
        .map(|m| input.principals[*m].external_id.as_str())
        .chain(std::iter::once(s.name.as_str()))
        .find_map(|id| exempt.get(id).cloned())
}

impl<'a> BackendModel<'a> {
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
            // A grant that reaches no listed permission (a predefined role whose rights no
            // catalog states) is still explained by its own edge.
            if out.is_empty() {
                out.push(GrantPath {
                    permission: hold.to_id.clone(),
                    hops: vec![
                        format!("principal {}", e.from_id),
                        format!("{} {}", hold.to_kind.as_str(), hold.to_id),
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

/// Whether a grant edge's ends exist (for bindings to nobody).
pub fn node_exists(model: &BackendModel<'_>, kind: NodeKind, id: &str) -> bool {
    model.dialect.builtin_node(id)
        || match kind {
            NodeKind::Principal => model.principal_ids.contains(id),
            NodeKind::Role => model.role_ids.contains(id),
            NodeKind::Permission => true,
        }
}
