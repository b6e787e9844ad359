//! hoop gateway API payloads (`hoop/inventory.rs`, `hoop/audit.rs`): the body is read as every
//! answer the connector reads (users, service accounts, keys, connections, the access_control
//! plugin, rules, attributes, sessions, audit log entries), and a JSON array drawn from the data
//! with hoop's field names is tried too. The inventory is then walked by the access model (the
//! one every screen reads), on the rows a sync would store. Invariants: no panic; every event
//! keeps the bounds of `check_event`, loses a planted key and keeps no session input; every
//! access path runs from its principal to the permission it explains.
#![no_main]

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use portcullis_connectors::hoop::audit::{map_log, map_session};
use portcullis_connectors::hoop::inventory::{
    map_inventory, Attribute, Connection, Key, Plugin, Rule, ServiceAccount, Session, Snapshot,
    User,
};
use portcullis_fuzz::{check_access_paths, check_event, object, Vocab};
use serde_json::Value;

const KEY: &str = "hpk_Q2hhbmdlLW1lLXRoaXMtaXMtbm90LWEtcmVhbC1rZXkx_-A";

const VOCAB: Vocab = Vocab {
    keys: &[
        "id",
        "email",
        "name",
        "status",
        "role",
        "groups",
        "subject",
        "masked_key",
        "last_used_at",
        "created_at",
        "name",
        "access_mode_connect",
        "access_mode_exec",
        "access_mode_runbooks",
        "access_schema",
        "reviewers",
        "attributes",
        "connections",
        "config",
        "access_type",
        "connection_names",
        "approval_required_groups",
        "skip_review_groups",
        "access_control_group_names",
        "user_id",
        "connection",
        "verb",
        "start_date",
        "end_date",
        "exit_code",
        "review",
        "type",
        "revoke_at",
        "access_duration",
        "script",
        "actor_subject",
        "http_path",
        "outcome",
        "http_status",
        "data",
        "pages",
        "total",
    ],
    strings: &[
        "active",
        "inactive",
        "revoked",
        "enabled",
        "disabled",
        "admin",
        "auditor",
        "dba",
        "pgdemo",
        "exec",
        "connect",
        "jit",
        "command",
        "jit_command",
        "APPROVED",
        "REVOKED",
        "open",
        "done",
        "2026-01-02T03:04:05.678Z",
        KEY,
    ],
};

fn list<T: serde::de::DeserializeOwned>(body: &[u8]) -> Vec<T> {
    serde_json::from_slice(body).unwrap_or_default()
}

fn events(body: &[u8]) {
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    for raw in &items {
        for ev in [map_session(raw), map_log(raw)].into_iter().flatten() {
            check_event(&ev, body.len());
            let text = serde_json::to_string(&ev).unwrap_or_default();
            assert!(!text.contains(KEY), "{text}");
            assert!(ev.raw.get("script").is_none(), "session input kept");
        }
    }
}

fn check(body: &[u8]) {
    events(body);
    let snapshot = Snapshot {
        users: list::<User>(body),
        service_accounts: list::<ServiceAccount>(body),
        api_keys: list::<Key>(body),
        ai_agents: Vec::new(),
        connections: list::<Connection>(body),
        access_control: serde_json::from_slice::<Plugin>(body).ok(),
        rules: list::<Rule>(body),
        attributes: list::<Attribute>(body),
        sessions: list::<Session>(body),
    };
    let inv = map_inventory(&snapshot, chrono::Utc::now());
    check_access_paths("hoop", &inv, true);
}

fuzz_target!(|data: &[u8]| {
    check(data);
    let mut u = Unstructured::new(data);
    let mut items = Vec::new();
    for _ in 0..u.int_in_range(0..=4u8).unwrap_or(0) {
        let Ok(o) = object(&mut u, &VOCAB, 1) else {
            break;
        };
        items.push(o);
    }
    check(&serde_json::to_vec(&Value::Array(items)).unwrap_or_default());
});
