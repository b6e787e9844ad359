//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing` only).
//!
//! The Keycloak representations and their mapping are crate-private, so the fuzzer reaches them
//! through these functions, which run a response body through the same deserialisation and
//! mapping the connector applies to what the Admin REST API returns.

use portcullis_model::{AuditEvent, Inventory, NodeKind};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashMap;

use super::audit::{admin_event, event_key, user_event};
use super::map::{self, Builder};
use super::reps::{
    ClientRep, ClientScopeRef, ClientScopeRep, ConsentRep, EventsConfigRep, GlobalRequestResult,
    GroupRep, IntrospectionRep, MappingsRep, RoleRep, TokenResponse, UserRep, UserSessionRep,
};

fn list<T: DeserializeOwned>(body: &[u8]) -> Vec<T> {
    serde_json::from_slice(body).unwrap_or_default()
}

fn groups(b: &mut Builder, gs: &[GroupRep], parent: Option<&str>, depth: usize) {
    for g in gs {
        let id = map::group_principal_id(&g.id);
        if let Some(p) = parent {
            b.grant(NodeKind::Principal, &id, NodeKind::Principal, p);
        }
        if depth < 64 {
            groups(b, &g.sub_groups, Some(&id), depth + 1);
        }
    }
}

/// Reads `body` as each listing the inventory reads (users, roles, role mappings, groups, clients,
/// client scopes, sessions, consents) and maps what parses into one inventory.
pub fn inventory_from_body(body: &[u8]) -> Inventory {
    let mut b = Builder::default();
    let clients: Vec<ClientRep> = list(body);
    let by_uuid: HashMap<String, String> = clients
        .iter()
        .map(|c| (c.id.clone(), c.client_id.clone()))
        .collect();
    for c in &clients {
        let me = map::client_principal_id(&c.client_id);
        for s in list::<ClientScopeRef>(body) {
            b.grant(
                NodeKind::Principal,
                &me,
                NodeKind::Permission,
                &map::scope_permission_id(&s.name),
            );
        }
    }
    for u in list::<UserRep>(body) {
        b.principal(map::user_principal(&u));
    }
    for r in list::<RoleRep>(body) {
        let id = map::role_id(&r, &by_uuid, Some("fallback"));
        b.role_from(&r, &id);
    }
    if let Ok(m) = serde_json::from_slice::<MappingsRep>(body) {
        b.mappings("user", &m, &by_uuid);
    }
    let gs: Vec<GroupRep> = list(body);
    groups(&mut b, &gs, None, 0);
    for s in list::<ClientScopeRep>(body) {
        b.permission(map::scope_permission(&s));
    }
    for s in list::<UserSessionRep>(body) {
        for offline in [None, Some(("client-uuid", "client-id"))] {
            if let Some(c) = map::session_credential(&s, offline) {
                b.credential(c);
            }
        }
    }
    for c in list::<ConsentRep>(body) {
        b.credential(map::consent_credential("user", &c));
    }
    if let Ok(i) = serde_json::from_slice::<IntrospectionRep>(body) {
        let _ = (i.issued_to(), i.session());
    }
    let _ = serde_json::from_slice::<EventsConfigRep>(body);
    let _ = serde_json::from_slice::<TokenResponse>(body);
    let _ = serde_json::from_slice::<GlobalRequestResult>(body);
    b.finish()
}

/// Reads `body` as a page of user events and as a page of admin events, normalised as a sync
/// normalises them; entries that do not parse are left out, as the connector rejects them.
pub fn events_from_body(body: &[u8]) -> Vec<AuditEvent> {
    let Ok(values) = serde_json::from_slice::<Vec<Value>>(body) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for v in &values {
        if let Ok((_, e)) = user_event(event_key("event", v), v) {
            out.push(e);
        }
        if let Ok((_, e)) = admin_event(event_key("admin", v), v) {
            out.push(e);
        }
    }
    out
}
