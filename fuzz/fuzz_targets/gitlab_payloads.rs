//! GitLab REST API v4 payloads (`gitlab/inventory.rs`, `gitlab/audit.rs`): the body is read as
//! every listing the connector reads (users, members, access tokens, audit events), and a JSON
//! array drawn from the data with GitLab's field names is tried too. The inventory is then
//! walked by the access model (the one every screen reads), on the rows a sync would store.
//! Invariants: no panic; every event keeps the bounds of `check_event` and loses a planted
//! token; every access path runs from its principal to the permission it explains.
#![no_main]

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use portcullis_connectors::gitlab::audit::map_event;
use portcullis_connectors::gitlab::inventory::{
    map_inventory, Member, Namespace, NamespaceKind, Snapshot, Token, User,
};
use portcullis_fuzz::{check_access_paths, check_event, object, Vocab};
use serde_json::Value;

const VOCAB: Vocab = Vocab {
    keys: &[
        "id",
        "username",
        "name",
        "state",
        "is_admin",
        "bot",
        "full_path",
        "path_with_namespace",
        "access_level",
        "expires_at",
        "revoked",
        "active",
        "scopes",
        "user_id",
        "created_at",
        "last_used_at",
        "author_id",
        "entity_id",
        "entity_type",
        "event_name",
        "event_type",
        "details",
        "custom_message",
        "entity_path",
        "ip_address",
        "token",
        "private_token",
    ],
    strings: &[
        "active",
        "blocked",
        "deactivated",
        "api",
        "read_api",
        "write_repository",
        "read_user",
        "acme",
        "acme/api",
        "acme/",
        "/",
        "2026-12-31",
        "2026-01-02T03:04:05.678Z",
        "glpat-abcdefghijklmnopqrstuvwxyz012345",
        "Project",
        "Group",
    ],
};

fn list<T: serde::de::DeserializeOwned>(body: &[u8]) -> Vec<T> {
    serde_json::from_slice(body).unwrap_or_default()
}

fn check(body: &[u8]) {
    if let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(body) {
        for raw in items {
            if let Some(ev) = map_event(raw) {
                check_event(&ev, body.len());
                let text = serde_json::to_string(&ev.raw).unwrap_or_default();
                assert!(
                    !text.contains("glpat-abcdefghijklmnopqrstuvwxyz012345"),
                    "{text}"
                );
            }
        }
    }
    let members: Vec<Member> = list(body);
    let snapshot = Snapshot {
        users: list::<User>(body),
        memberships: vec![
            (
                NamespaceKind::Group,
                Namespace {
                    id: 1,
                    full_path: "acme".into(),
                },
                members.clone(),
            ),
            (
                NamespaceKind::Project,
                Namespace {
                    id: 2,
                    full_path: "acme/api".into(),
                },
                members,
            ),
        ],
        tokens: list::<Token>(body),
    };
    let inv = map_inventory(&snapshot, chrono::Utc::now());
    check_access_paths("gitlab", &inv, true);
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
