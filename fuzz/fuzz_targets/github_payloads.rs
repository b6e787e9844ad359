//! GitHub REST API payloads (`github/inventory.rs`, `github/audit.rs`): the body is read as every
//! listing the connector reads (members, PAT grants and requests, SSO credential authorizations,
//! App installations, audit log entries), and a JSON array drawn from the data with GitHub's
//! field names is tried too. The inventory is then walked by the access model (the one every
//! screen reads), on the rows a sync would store.
//! Invariants: no panic; every event keeps the bounds of `check_event` and loses a planted
//! token; every access path runs from its principal to the permission it explains.
#![no_main]

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use portcullis_connectors::github::audit::map_event;
use portcullis_connectors::github::inventory::{
    map_inventory, CredentialAuthorization, Installation, InstallationsPage, PatGrant, SimpleUser,
    Snapshot,
};
use portcullis_fuzz::{check_access_paths, check_event, object, Vocab};
use serde_json::Value;

const PLANTED: &str = "ghp_abcdefghijklmnopqrstuvwxyz0123456789AB";

const VOCAB: Vocab = Vocab {
    keys: &[
        "id",
        "login",
        "type",
        "owner",
        "repository_selection",
        "permissions",
        "organization",
        "repository",
        "other",
        "access_granted_at",
        "token_id",
        "token_name",
        "token_expired",
        "token_expires_at",
        "token_last_used_at",
        "credential_id",
        "credential_type",
        "credential_accessed_at",
        "authorized_credential_expires_at",
        "scopes",
        "app_slug",
        "suspended_at",
        "installations",
        "@timestamp",
        "_document_id",
        "action",
        "actor",
        "repo",
        "user",
        "org",
        "created_at",
        "hashed_token",
    ],
    strings: &[
        "octocat",
        "Bot",
        "User",
        "all",
        "subset",
        "selected",
        "read",
        "write",
        "admin",
        "repo",
        "admin:org",
        "SSH key",
        "personal access token",
        "2023-11-16T08:47:09.000-07:00",
        "octo-org/octo-repo",
        "team.add_member",
        PLANTED,
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
                assert!(!text.contains(PLANTED), "{text}");
            }
        }
    }
    let members: Vec<SimpleUser> = list(body);
    let mut installations: Vec<Installation> = list(body);
    if let Ok(page) = serde_json::from_slice::<InstallationsPage>(body) {
        installations.extend(page.installations);
    }
    let snapshot = Snapshot {
        org: "octo-org".into(),
        admins: members.iter().take(1).map(|m| m.login.clone()).collect(),
        members,
        grants: Some(list::<PatGrant>(body)),
        requests: Some(list::<PatGrant>(body)),
        authorizations: Some(list::<CredentialAuthorization>(body)),
        installations: Some(installations),
    };
    let inv = map_inventory(&snapshot, chrono::Utc::now());
    check_access_paths("github", &inv, true);
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
