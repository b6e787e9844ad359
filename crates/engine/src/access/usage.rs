//! Which grants were used: allowed audit events mapped to the principal (through the credential
//! they name, else their actor) and to the permissions they exercised.
//!
//! An event credits only the most specific permissions that explain it (Vault's most specific
//! path rule, a SQL table grant before ownership before SUPERUSER), so a broad grant held next to
//! a narrow one shows as unused when only the narrow one was needed.
//!
//! A PostgreSQL function call is logged without an object; the functions its statement calls
//! (parsed as review parses them) count as uses of EXECUTE on them, matched like any event.

use portcullis_model::AccessNodeKind;
use portcullis_store::access::{AccessStatementRow, AccessUsageRow};
use std::cmp::Ordering;
use std::collections::HashMap;

use super::dialect::{Dialect, Event, PermMeta, UseClass};
use super::graph::{CredMode, Graph, NodeId};
use crate::pg_statement::called_functions;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Use {
    pub last_ms: i64,
    pub count: u64,
}

impl Use {
    fn add(&mut self, last_ms: i64, count: u64) {
        self.last_ms = if self.count == 0 {
            last_ms
        } else {
            self.last_ms.max(last_ms)
        };
        self.count += count;
    }
}

#[derive(Debug, Clone, Default)]
pub struct Usage {
    /// (principal or credential, permission) → use.
    pub by_subject: HashMap<(NodeId, NodeId), Use>,
}

impl Usage {
    pub fn get(&self, subject: NodeId, perm: NodeId) -> Option<Use> {
        self.by_subject.get(&(subject, perm)).copied()
    }

    /// `eff(n)`: the effective permissions of principal or credential `n`. `statements`: the
    /// statement texts of PostgreSQL events without an object (function calls).
    pub fn build(
        g: &Graph,
        rows: &[AccessUsageRow],
        statements: &[AccessStatementRow],
        backend_of: &HashMap<i64, u16>,
        eff: &dyn Fn(NodeId) -> Vec<NodeId>,
    ) -> Usage {
        let calls = function_calls(g, statements, backend_of);
        let mut usage = Usage::default();
        let attribution = Attribution::new(g);
        for row in rows.iter().chain(&calls) {
            let Some(&backend) = backend_of.get(&row.backend_id) else {
                continue;
            };
            let event = UseEvent {
                backend,
                credential: row.credential.as_deref(),
                actor: row.actor.as_deref(),
                action: &row.action,
                resource: row.resource.as_deref(),
            };
            for (s, perm) in attribution.credit(&event, eff) {
                usage
                    .by_subject
                    .entry((s, perm))
                    .or_default()
                    .add(row.last_at_ms, row.count);
            }
        }
        usage
    }
}

/// One allowed audit event (or a group of identical ones), as attribution reads it.
#[derive(Debug, Clone, Copy)]
pub struct UseEvent<'a> {
    pub backend: u16,
    pub credential: Option<&'a str>,
    pub actor: Option<&'a str>,
    pub action: &'a str,
    pub resource: Option<&'a str>,
}

/// Who an allowed event is credited to and which permissions it exercised: the one rule that
/// the access map's last use and reviews both ask.
pub struct Attribution<'g> {
    g: &'g Graph,
    /// (backend, principal external id) → principal.
    by_id: HashMap<(u16, &'g str), NodeId>,
    /// (backend, the id after a `kind:` prefix) → principals (`account:alice`, `client:app`).
    by_suffix: HashMap<(u16, &'g str), Vec<NodeId>>,
    /// (backend, name) → principals with that name.
    by_name: HashMap<(u16, &'g str), Vec<NodeId>>,
    /// Each source's permissions by bucket, built on its first event.
    buckets: std::cell::RefCell<HashMap<NodeId, Buckets>>,
}

impl<'g> Attribution<'g> {
    pub fn new(g: &'g Graph) -> Attribution<'g> {
        let mut a = Attribution {
            g,
            by_id: HashMap::new(),
            by_suffix: HashMap::new(),
            by_name: HashMap::new(),
            buckets: Default::default(),
        };
        for (i, n) in g.nodes.iter().enumerate() {
            if n.kind != AccessNodeKind::Principal {
                continue;
            }
            let i = i as NodeId;
            a.by_id.insert((n.backend, n.external_id.as_str()), i);
            if let Some((_, s)) = n.external_id.rsplit_once(':') {
                a.by_suffix.entry((n.backend, s)).or_default().push(i);
            }
            a.by_name
                .entry((n.backend, n.label.as_str()))
                .or_default()
                .push(i);
        }
        a
    }

    /// The principals an event's actor names, best first: the one with that external id, those
    /// whose id is `KIND:actor`, and the one principal of the backend with that name (a name
    /// several principals share names none of them).
    pub fn actor(&self, backend: u16, actor: &str) -> Vec<NodeId> {
        let mut out: Vec<NodeId> = self
            .by_id
            .get(&(backend, actor))
            .copied()
            .into_iter()
            .collect();
        for &p in self.by_suffix.get(&(backend, actor)).into_iter().flatten() {
            if !out.contains(&p) {
                out.push(p);
            }
        }
        if let Some([p]) = self.by_name.get(&(backend, actor)).map(Vec::as_slice) {
            if !out.contains(p) {
                out.push(*p);
            }
        }
        out
    }

    /// (credited node, exercised permission) pairs of one allowed event; none unless the event
    /// is a use of rights ([`Dialect::use_class`]). The credential it names is credited with its
    /// principal, matched against the credential's own rights (its principal's when it acts as
    /// its principal); the actor's principals are credited too, each against its own rights,
    /// because one identity may appear as several principals (a Vault userpass user and the
    /// entity its token belongs to). Only the most specific permissions get the credit.
    pub fn credit(
        &self,
        ev: &UseEvent<'_>,
        eff: &dyn Fn(NodeId) -> Vec<NodeId>,
    ) -> Vec<(NodeId, NodeId)> {
        let g = self.g;
        let dialect = g.backends[ev.backend as usize].dialect;
        if dialect.use_class(ev.action, ev.resource, ev.credential.is_some()) != UseClass::Access {
            return Vec::new();
        }
        let mut subjects: Vec<(NodeId, Vec<NodeId>)> = Vec::new();
        if let Some(c) = self.credential(ev.backend, ev.credential) {
            let info = g.nodes[c as usize].cred.as_ref();
            let mut credit = vec![c];
            if let Some(p) = info.and_then(|i| i.principal) {
                credit.push(p);
            }
            let source = match info.map(|i| (i.mode, i.principal)) {
                Some((CredMode::Principal, Some(p))) => p,
                _ => c,
            };
            subjects.push((source, credit));
        }
        if let Some(actor) = ev.actor {
            for p in self.actor(ev.backend, actor) {
                if !subjects.iter().any(|(_, credit)| credit.contains(&p)) {
                    subjects.push((p, vec![p]));
                }
            }
        }
        let event = dialect.event(ev.action, ev.resource);
        let mut out = Vec::new();
        let mut buckets = self.buckets.borrow_mut();
        for (source, credit) in subjects {
            let b = buckets
                .entry(source)
                .or_insert_with(|| Buckets::of(g, dialect, &eff(source)));
            let mut candidates = b.wide.clone();
            if let Some(keyed) = event.key.as_ref().and_then(|k| b.keyed.get(k)) {
                candidates.extend_from_slice(keyed);
            }
            for perm in best_matches(g, dialect, &candidates, &event) {
                out.extend(credit.iter().map(|&s| (s, perm)));
            }
        }
        out
    }

    /// The credential node an event names, if the graph has it.
    pub fn credential(&self, backend: u16, credential: Option<&str>) -> Option<NodeId> {
        let c = credential?;
        self.g
            .by_key
            .get(&(backend, AccessNodeKind::Credential, c.to_string()))
            .copied()
    }
}

/// One EXECUTE use of each function a PostgreSQL statement calls, by whoever ran it: the same
/// synthetic use review makes, so both credit the grant on `schema.name(args)` alike.
fn function_calls(
    g: &Graph,
    statements: &[AccessStatementRow],
    backend_of: &HashMap<i64, u16>,
) -> Vec<AccessUsageRow> {
    let mut out = Vec::new();
    for st in statements {
        let postgres = backend_of
            .get(&st.backend_id)
            .is_some_and(|&b| g.backends[b as usize].dialect == Dialect::Postgres);
        if !postgres {
            continue;
        }
        for func in called_functions(&st.text) {
            out.push(AccessUsageRow {
                backend_id: st.backend_id,
                credential: st.credential.clone(),
                actor: st.actor.clone(),
                action: "EXECUTE".into(),
                resource: Some(func),
                last_at_ms: st.last_at_ms,
                count: st.count,
            });
        }
    }
    out
}

/// A subject's permissions by the bucket of events they could match.
struct Buckets {
    keyed: HashMap<String, Vec<NodeId>>,
    wide: Vec<NodeId>,
}

impl Buckets {
    fn of(g: &Graph, dialect: Dialect, perms: &[NodeId]) -> Buckets {
        let mut b = Buckets {
            keyed: HashMap::new(),
            wide: Vec::new(),
        };
        for &p in perms {
            match g.perm(p).and_then(|m| dialect.perm_key(m)) {
                Some(k) => b.keyed.entry(k).or_default().push(p),
                None => b.wide.push(p),
            }
        }
        b
    }
}

/// The permissions among `perms` that explain the event, most specific only.
pub fn best_matches(
    g: &Graph,
    dialect: Dialect,
    perms: &[NodeId],
    event: &Event<'_>,
) -> Vec<NodeId> {
    let candidates = perms.iter().filter_map(|&p| {
        let node = &g.nodes[p as usize];
        node.perm
            .as_ref()
            .map(|m| (p, m, node.external_id.as_str()))
    });
    most_specific(dialect, candidates, event)
}

/// The one rule for which permissions an event exercised, for the access map and reviews alike:
/// among the candidates that match it, those of the best match score (a SQL table grant before
/// ownership before SUPERUSER; a named scope before a wildcard), and for Vault only the single
/// path pattern of highest priority, as Vault itself decides.
pub fn most_specific<'a, K: Copy>(
    dialect: Dialect,
    candidates: impl Iterator<Item = (K, &'a PermMeta, &'a str)>,
    event: &Event<'_>,
) -> Vec<K> {
    let mut best: Vec<(K, &PermMeta)> = Vec::new();
    let mut best_score = i64::MIN;
    for (k, meta, id) in candidates {
        let Some(score) = dialect.event_match(meta, id, event) else {
            continue;
        };
        match score.cmp(&best_score) {
            Ordering::Greater => {
                best_score = score;
                best.clear();
                best.push((k, meta));
            }
            Ordering::Equal => best.push((k, meta)),
            Ordering::Less => {}
        }
    }
    if dialect == Dialect::Vault && best.len() > 1 {
        let top = best
            .iter()
            .filter_map(|(_, m)| m.vault.clone())
            .max_by(|a, b| a.priority_cmp(b));
        if let Some(top) = top {
            best.retain(|(_, m)| m.vault.as_ref() == Some(&top));
        }
    }
    best.into_iter().map(|(k, _)| k).collect()
}
