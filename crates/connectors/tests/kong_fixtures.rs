//! Mapping tests over EVERY file in `tests/fixtures/kong/`.
//!
//! Kong Gateway cannot run on our machines: these are authentic Admin API and log-serializer
//! payloads copied from Kong's documentation (plus a few `*.handwritten.*` ones for shapes the docs
//! do not show; see `PROVENANCE.md`). Each must map, or — for the upstream-invalid `.txt` ones —
//! fail with an error naming the line and column; no parser may panic on any truncation of any
//! of them.

use chrono::{TimeZone, Utc};
use portcullis_connectors::kong::admin::{parse_json, parse_page};
use portcullis_connectors::kong::inventory::{
    map_inventory, Acl, BasicAuth, Consumer, ConsumerGroup, GroupMembers, HmacAuth, Jwt, KeyAuth,
    OAuth2App, OAuth2Token, Plugin, Route, Service, Snapshot,
};
use portcullis_connectors::kong::parse_kong_log_line;
use portcullis_connectors::{fingerprint, jsonl};
use portcullis_model::{
    Action, CredentialKind, CredentialStatus, Grant, Inventory, NodeKind, Outcome, PrincipalKind,
};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kong")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The Admin API doc wraps its list fragments as `{ <fragment> "next": ... }`.
fn wrap_fragment(fragment: &str) -> String {
    format!("{{\n{fragment}\n\"next\": null\n}}")
}

fn page<T: serde::de::DeserializeOwned>(name: &str) -> Vec<T> {
    parse_page::<T>(read(name).as_bytes())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .data
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap()
}

fn map(s: Snapshot) -> Inventory {
    map_inventory(&s, now())
}

fn has_grant(inv: &Inventory, fk: NodeKind, f: &str, tk: NodeKind, t: &str) -> bool {
    inv.grants.contains(&Grant {
        from_kind: fk,
        from_id: f.into(),
        to_kind: tk,
        to_id: t.into(),
    })
}

/// No key material in the serialised inventory.
fn assert_no_secret(inv: &Inventory, secrets: &[&str]) {
    let text = serde_json::to_string(inv).unwrap();
    for s in secrets {
        assert!(!text.contains(s), "secret {s} leaked into the inventory");
    }
}

fn expect_position(name: &str, err: &str, line: usize, column: usize) {
    let want = format!("line {line} column {column}");
    assert!(err.contains(&want), "{name}: `{err}` should name {want}");
}

/// One check per fixture; an unknown file fails the test so a new fixture cannot go unmapped.
fn check_fixture(name: &str) {
    let text = read(name);
    match name {
        "kong-acl-consumer.response.json" | "kong-key-auth-consumer.response.json" => {
            let c: Consumer = parse_json(text.as_bytes()).unwrap();
            let inv = map(Snapshot {
                consumers: vec![c],
                ..Snapshot::default()
            });
            let p = &inv.principals[0];
            assert_eq!(p.external_id, "c0d92ba9-8306-482a-b60d-0cfdd2f0e880");
            assert_eq!(p.name, "foo");
            assert_eq!(p.kind, PrincipalKind::Client);
            // Millisecond created_at of old payloads.
            assert_eq!(p.attrs["created_at"], json!("2017-10-13T23:17:19Z"));
        }
        "kong-acl-plugin-config.example.yaml" => {
            let v: Value = serde_norway::from_str(&text).unwrap();
            let plugin: Plugin = serde_json::from_value(json!({
                "id": "example-acl", "name": v["name"], "config": v["config"],
            }))
            .unwrap();
            let inv = map(Snapshot {
                plugins: vec![plugin],
                ..Snapshot::default()
            });
            let p = &inv.permissions[0];
            assert_eq!(p.external_id, "acl-plugin/example-acl/allow");
            assert_eq!(p.resource, "global");
            assert_eq!(p.action, Action::Other);
            assert_eq!(p.raw["hide_groups_header"], true);
            for g in ["acl/group1", "acl/group2"] {
                assert!(has_grant(
                    &inv,
                    NodeKind::Role,
                    g,
                    NodeKind::Permission,
                    &p.external_id
                ));
            }
        }
        "kong-acls-list.response.json" | "kong-consumer-acls-list.response.json" => {
            let acls: Vec<Acl> = page(name);
            let n = acls.len();
            let inv = map(Snapshot {
                acls,
                ..Snapshot::default()
            });
            assert_eq!(inv.grants.len(), n);
            assert!(has_grant(
                &inv,
                NodeKind::Principal,
                "c0d92ba9-8306-482a-b60d-0cfdd2f0e880",
                NodeKind::Role,
                "acl/bar-group"
            ));
            assert!(inv.roles.iter().all(|r| r.external_id.starts_with("acl/")));
        }
        "kong-consumer-acl-read.response.json" => {
            let acl: Acl = parse_json(text.as_bytes()).unwrap();
            let inv = map(Snapshot {
                acls: vec![acl],
                ..Snapshot::default()
            });
            assert!(has_grant(
                &inv,
                NodeKind::Principal,
                "89a41fef-3b40-4bb0-b5af-33da57a7ffcf",
                NodeKind::Role,
                "acl/foo-group"
            ));
        }
        "kong-admin-consumer-list-data.fragment.txt" => {
            let consumers: Vec<Consumer> =
                parse_page(wrap_fragment(&text).as_bytes()).unwrap().data;
            let inv = map(Snapshot {
                consumers,
                ..Snapshot::default()
            });
            assert_eq!(inv.principals.len(), 2);
            assert_eq!(
                inv.principals[1].attrs["tags"],
                json!(["admin", "high-priority", "critical"])
            );
            assert_eq!(inv.principals[0].attrs["custom_id"], "my-custom-id");
        }
        "kong-admin-consumer-object.doc-example.json" => {
            let c: Consumer = parse_json(text.as_bytes()).unwrap();
            assert_eq!(c.display_name(), "my-username");
            let inv = map(Snapshot {
                consumers: vec![c],
                ..Snapshot::default()
            });
            assert_eq!(
                inv.principals[0].external_id,
                "ec1a1f6f-2aa4-4e58-93ff-b56368f19b27"
            );
        }
        "kong-admin-plugin-list-data.fragment.txt" => {
            let plugins: Vec<Plugin> = parse_page(wrap_fragment(&text).as_bytes()).unwrap().data;
            assert_eq!(plugins.len(), 2);
            let inv = map(Snapshot {
                plugins,
                ..Snapshot::default()
            });
            assert!(inv.permissions.is_empty(), "rate-limiting grants nothing");
        }
        "kong-admin-plugin-object.doc-example.upstream-invalid.json.txt" => {
            let err = parse_json::<Plugin>(text.as_bytes()).unwrap_err();
            expect_position(name, &err, 9, 22);
        }
        "kong-admin-route-object.doc-example.json" => {
            let route: Route = parse_json(text.as_bytes()).unwrap();
            let plugin: Plugin = serde_json::from_value(json!({
                "id": "p-route", "name": "acl", "route": {"id": route.id},
                "config": {"allow": ["readers"]},
            }))
            .unwrap();
            let inv = map(Snapshot {
                routes: vec![route],
                plugins: vec![plugin],
                ..Snapshot::default()
            });
            let p = &inv.permissions[0];
            assert_eq!(p.resource, "route:my-route");
            // GET and POST: not read-only.
            assert_eq!(p.action, Action::Other);
            assert_eq!(p.raw["route"]["paths"], json!(["/foo", "/bar"]));
        }
        "kong-admin-service-object.doc-example.json" => {
            let service: Service = parse_json(text.as_bytes()).unwrap();
            let plugin: Plugin = serde_json::from_value(json!({
                "id": "p-svc", "name": "acl", "service": {"id": service.id},
                "config": {"deny": ["blocked"]},
            }))
            .unwrap();
            let inv = map(Snapshot {
                services: vec![service],
                plugins: vec![plugin],
                ..Snapshot::default()
            });
            let p = &inv.permissions[0];
            assert_eq!(p.resource, "service:my-service");
            assert_eq!(p.action, Action::Deny);
            assert_eq!(p.raw["service"]["host"], "example.com");
        }
        "kong-consumer-jwt-list.response.json" | "kong-jwt-create.response.json" => {
            let jwts: Vec<Jwt> = if name.contains("list") {
                page(name)
            } else {
                vec![parse_json(text.as_bytes()).unwrap()]
            };
            let inv = map(Snapshot {
                jwts,
                ..Snapshot::default()
            });
            let c = &inv.credentials[0];
            assert_eq!(c.external_id, "0701ad83-949c-423f-b553-091d5a6bae52");
            assert_eq!(c.kind, CredentialKind::ApiKey);
            assert_eq!(
                c.principal_external_id.as_deref(),
                Some("8a21c1fa-e65e-4558-8673-540e85e67b33")
            );
            assert_eq!(
                c.attrs["secret_sha256"],
                fingerprint("C50k0bcahDhLNhLKSUBSR1OMiFGzNZ7X")
            );
            assert_eq!(c.attrs["algorithm"], "HS256");
            assert_no_secret(
                &inv,
                &[
                    "C50k0bcahDhLNhLKSUBSR1OMiFGzNZ7X",
                    "YJdmaDvVTJxtcWRCvkMikc8oELgAVNcz",
                ],
            );
        }
        "kong-jwt-create-rs256.response.json" => {
            let jwt: Jwt = parse_json(text.as_bytes()).unwrap();
            let inv = map(Snapshot {
                jwts: vec![jwt],
                ..Snapshot::default()
            });
            let c = &inv.credentials[0];
            assert!(c.attrs["secret_sha256"].is_null());
            assert_eq!(
                c.attrs["rsa_public_key_sha256"],
                fingerprint("-----BEGIN PUBLIC KEY----- ...")
            );
            assert_no_secret(&inv, &["a36c3049b36249a3c9f8891cb127243c"]);
        }
        "kong-consumer-key-auth-list.response.upstream-invalid.json.txt"
        | "kong-key-auths-list.response.upstream-invalid.json.txt" => {
            let err = parse_page::<KeyAuth>(text.as_bytes()).unwrap_err();
            // Upstream starts with `...`.
            expect_position(name, &err, 1, 1);
            // Without it, the missing comma before "next" is still named precisely.
            let rest = text.trim_start_matches("...\n");
            let err = parse_page::<KeyAuth>(rest.as_bytes()).unwrap_err();
            let (line, text_line) = rest
                .lines()
                .enumerate()
                .find(|(_, l)| l.contains("\"next\""))
                .unwrap();
            let column = text_line.find('"').unwrap() + 1;
            expect_position(name, &err, line + 1, column);
        }
        "kong-key-auth-create.response.json" => {
            let k: KeyAuth = parse_json(text.as_bytes()).unwrap();
            let inv = map(Snapshot {
                key_auths: vec![k],
                ..Snapshot::default()
            });
            let c = &inv.credentials[0];
            assert_eq!(c.external_id, "0103844a-0b40-42c8-aa71-64e98e2e525f");
            assert_eq!(
                c.attrs["key_sha256"],
                fingerprint("5SRmk6gLnTy1SyQ1Cl9GzoRXJbjYGGbZ")
            );
            assert!(c.expires_at.is_none(), "ttl null: the key never expires");
            assert_eq!(c.issued_at, Some(Utc.timestamp_opt(1655412883, 0).unwrap()));
            assert_no_secret(&inv, &["5SRmk6gLnTy1SyQ1Cl9GzoRXJbjYGGbZ"]);
        }
        "kong-file-log-line.3.4.jsonl" => {
            let summary_lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            assert_eq!(summary_lines.len(), 1);
            let ev = parse_kong_log_line(summary_lines[0], 1).unwrap();
            check_log_event(&ev);
            // The pretty-printed 3.4 entry is the same content: same dedup key.
            let pretty =
                parse_kong_log_line(&read("kong-log-serializer-entry.3.4.json"), 1).unwrap();
            assert_eq!(ev.dedup_key, pretty.dedup_key);
        }
        "kong-log-serializer-entry.3.4.json" | "kong-log-serializer-entry.lte3.3.json" => {
            let ev = parse_kong_log_line(&text, 1).unwrap();
            check_log_event(&ev);
            assert_eq!(ev.raw.get("workspace_name").is_some(), name.contains("3.4"));
        }
        "kong-oauth2-tokens-list.response.json" => {
            let tokens: Vec<OAuth2Token> = page(name);
            let apps: Vec<OAuth2App> = page("kong-oauth2-apps-list.handwritten.json");
            let inv = map(Snapshot {
                oauth2_tokens: tokens,
                oauth2_apps: apps,
                ..Snapshot::default()
            });
            let t = inv
                .credentials
                .iter()
                .find(|c| c.external_id == "610740e5-700a-45f0-889a-5c7f0422c48d")
                .unwrap();
            assert_eq!(t.kind, CredentialKind::AccessToken);
            // Legacy shape: flat credential_id, ms created_at; expiry = created_at + expires_in.
            assert_eq!(t.issued_at, Some(Utc.timestamp_opt(1523386491, 0).unwrap()));
            assert_eq!(
                t.expires_at,
                Some(Utc.timestamp_opt(1523386491 + 7200, 0).unwrap())
            );
            assert_eq!(t.status, CredentialStatus::Expired);
            assert_eq!(
                t.principal_external_id.as_deref(),
                Some("89a41fef-3b40-4bb0-b5af-33da57a7ffcf")
            );
            assert_eq!(t.client.as_deref(), Some("SOME-CLIENT-ID"));
            assert_eq!(t.scopes, vec!["email".to_string()]);
            assert_eq!(
                t.attrs["service_id"],
                "898dfc5f-20f9-4315-a028-2ecb0193f834"
            );
            assert_eq!(
                t.attrs["access_token_sha256"],
                fingerprint("FOEtUHwg0das9PhsasVmgMGbZn7nWSgK")
            );
            assert_no_secret(
                &inv,
                &[
                    "FOEtUHwg0das9PhsasVmgMGbZn7nWSgK",
                    "58eat7UHEiPOmjNb16uQAxt4vu3fbu95",
                ],
            );
        }
        "kong-oauth2-tokens-list.3x.handwritten.json" => {
            let inv = map(Snapshot {
                oauth2_tokens: page(name),
                oauth2_apps: page("kong-oauth2-apps-list.handwritten.json"),
                ..Snapshot::default()
            });
            let t = inv
                .credentials
                .iter()
                .find(|c| c.kind == CredentialKind::AccessToken)
                .unwrap();
            assert!(t.expires_at.is_none(), "expires_in 0");
            assert_eq!(t.status, CredentialStatus::Active);
            assert_eq!(t.scopes, vec!["email".to_string(), "profile".to_string()]);
            assert_eq!(t.attrs["has_refresh_token"], true);
            assert_eq!(
                t.attrs["service_id"],
                "9748f662-7711-4a90-8186-dc02f10eb0f5"
            );
            assert_no_secret(
                &inv,
                &[
                    "handwritten-access-token-0001",
                    "handwritten-refresh-token-0001",
                    "handwritten-client-secret-0001",
                ],
            );
        }
        "kong-oauth2-apps-list.handwritten.json" => {
            let inv = map(Snapshot {
                oauth2_apps: page(name),
                ..Snapshot::default()
            });
            let c = &inv.credentials[0];
            assert_eq!(c.client.as_deref(), Some("SOME-CLIENT-ID"));
            assert_eq!(
                c.attrs["client_secret_sha256"],
                fingerprint("handwritten-client-secret-0001")
            );
            assert_no_secret(&inv, &["handwritten-client-secret-0001"]);
        }
        "kong-basic-auths-list.handwritten.json" => {
            let auths: Vec<BasicAuth> = page(name);
            let inv = map(Snapshot {
                basic_auths: auths,
                ..Snapshot::default()
            });
            let c = &inv.credentials[0];
            assert_eq!(c.kind, CredentialKind::Login);
            assert_eq!(c.attrs["username"], "foo-basic");
            assert_eq!(c.attrs["has_password"], true);
            assert_no_secret(&inv, &["2f1e6a0fb9a2c3d1e0f9a8b7c6d5e4f3a2b1c0d9"]);
        }
        "kong-hmac-auths-list.handwritten.json" => {
            let auths: Vec<HmacAuth> = page(name);
            let inv = map(Snapshot {
                hmac_auths: auths,
                ..Snapshot::default()
            });
            let c = &inv.credentials[0];
            assert_eq!(
                c.attrs["secret_sha256"],
                fingerprint("handwritten-hmac-secret-value-0001")
            );
            assert_no_secret(&inv, &["handwritten-hmac-secret-value-0001"]);
        }
        "kong-consumer-groups-list.handwritten.json"
        | "kong-consumer-group-consumers.handwritten.json" => {
            let groups: Vec<ConsumerGroup> = page("kong-consumer-groups-list.handwritten.json");
            let members: Value =
                serde_json::from_str(&read("kong-consumer-group-consumers.handwritten.json"))
                    .unwrap();
            let ids = members["consumers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_string())
                .collect();
            let inv = map(Snapshot {
                consumer_groups: vec![GroupMembers {
                    group: groups[0].clone(),
                    consumer_ids: ids,
                }],
                ..Snapshot::default()
            });
            let g = &inv.principals[0];
            assert_eq!(g.kind, PrincipalKind::Group);
            assert_eq!(g.name, "gold-tier");
            assert!(has_grant(
                &inv,
                NodeKind::Principal,
                "c0d92ba9-8306-482a-b60d-0cfdd2f0e880",
                NodeKind::Principal,
                "consumer_group/5f1c0d3e-7a2b-4c9d-8e1f-0a1b2c3d4e5f"
            ));
        }
        "kong-acl-plugins-list.handwritten.json" => {
            let inv = map(Snapshot {
                plugins: page(name),
                routes: vec![parse_json(
                    read("kong-admin-route-object.doc-example.json").as_bytes(),
                )
                .unwrap()],
                services: vec![parse_json(
                    read("kong-admin-service-object.doc-example.json").as_bytes(),
                )
                .unwrap()],
                ..Snapshot::default()
            });
            let ids: Vec<&str> = inv
                .permissions
                .iter()
                .map(|p| p.external_id.as_str())
                .collect();
            assert_eq!(
                ids,
                vec![
                    "acl-plugin/a1c1f0e2-0000-4000-8000-000000000001/allow",
                    "acl-plugin/a1c1f0e2-0000-4000-8000-000000000002/deny",
                    "acl-plugin/a1c1f0e2-0000-4000-8000-000000000003/allow",
                ],
                "a disabled acl plugin and a key-auth plugin grant nothing"
            );
            assert_eq!(inv.permissions[1].resource, "service:my-service");
            assert_eq!(inv.permissions[1].action, Action::Deny);
            assert_eq!(inv.permissions[2].raw["groups"], json!(["legacy-admins"]));
            assert!(has_grant(
                &inv,
                NodeKind::Role,
                "acl/baz-group",
                NodeKind::Permission,
                ids[1]
            ));
            assert!(!inv.roles.iter().any(|r| r.name == "nobody-anymore"));
        }
        other => panic!("fixture {other} has no mapping test: add one"),
    }
}

fn check_log_event(ev: &portcullis_model::AuditEvent) {
    assert_eq!(
        ev.actor.as_deref(),
        Some("ae974d6c-0f8a-4dc5-b701-fa0aa38592bd")
    );
    assert_eq!(
        ev.credential.as_deref(),
        Some("c62c1455-9b1d-4f2d-8797-509ba83b8ae8")
    );
    assert_eq!(ev.action, "GET");
    assert_eq!(
        ev.resource.as_deref(),
        Some("route:78f79740-c410-4fd9-a998-d0a60a99dc9b")
    );
    assert_eq!(ev.outcome, Outcome::Allow);
    assert_eq!(ev.source_ip.as_deref(), Some("192.168.144.1"));
    assert_eq!(ev.at, Utc.timestamp_millis_opt(1614232668342).unwrap());
    assert!(ev.dedup_key.starts_with("kong:"));
    assert_eq!(ev.raw["redacted"], true);
    assert_eq!(
        ev.raw["request"]["headers"]["kept"]["user-agent"],
        "HTTPie/2.4.0"
    );
}

fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_kong_fixture_maps_or_fails_with_a_position() {
    let names = fixture_names();
    assert!(names.len() >= 22, "{names:?}");
    for name in names {
        check_fixture(&name);
    }
}

#[test]
fn a_whole_node_maps_to_a_connected_graph() {
    let inv = map(Snapshot {
        consumers: vec![
            parse_json(read("kong-acl-consumer.response.json").as_bytes()).unwrap(),
            parse_json(read("kong-admin-consumer-object.doc-example.json").as_bytes()).unwrap(),
        ],
        acls: page("kong-acls-list.response.json"),
        plugins: page("kong-acl-plugins-list.handwritten.json"),
        routes: vec![
            parse_json(read("kong-admin-route-object.doc-example.json").as_bytes()).unwrap(),
        ],
        services: vec![
            parse_json(read("kong-admin-service-object.doc-example.json").as_bytes()).unwrap(),
        ],
        ..Snapshot::default()
    });
    // bar-group lets consumer foo call route my-route; baz-group denies it service my-service.
    let foo = "c0d92ba9-8306-482a-b60d-0cfdd2f0e880";
    assert!(has_grant(
        &inv,
        NodeKind::Principal,
        foo,
        NodeKind::Role,
        "acl/bar-group"
    ));
    assert!(has_grant(
        &inv,
        NodeKind::Principal,
        foo,
        NodeKind::Role,
        "acl/baz-group"
    ));
    let roles: std::collections::HashSet<&str> =
        inv.roles.iter().map(|r| r.external_id.as_str()).collect();
    let perms: std::collections::HashSet<&str> = inv
        .permissions
        .iter()
        .map(|p| p.external_id.as_str())
        .collect();
    for g in &inv.grants {
        match g.to_kind {
            NodeKind::Role => assert!(roles.contains(g.to_id.as_str()), "{g:?}"),
            NodeKind::Permission => assert!(perms.contains(g.to_id.as_str()), "{g:?}"),
            NodeKind::Principal => {}
        }
    }
    assert_eq!(roles.len(), 4, "{roles:?}");
}

/// The parser each fixture goes through, for the truncation sweep.
fn parse_any(name: &str, text: &str) {
    if name.ends_with(".jsonl") || name.starts_with("kong-log-serializer") {
        for (i, line) in text.lines().enumerate() {
            let _ = parse_kong_log_line(line, i as u64 + 1);
        }
        let _ = parse_kong_log_line(text, 1);
    } else if name.ends_with(".yaml") {
        let _ = serde_norway::from_str::<Value>(text);
    } else {
        let body = if name.contains("fragment") {
            wrap_fragment(text)
        } else {
            text.to_string()
        };
        let _ = parse_page::<Value>(body.as_bytes());
        let _ = parse_page::<Consumer>(body.as_bytes());
        let _ = parse_page::<KeyAuth>(body.as_bytes());
        let _ = parse_page::<OAuth2Token>(body.as_bytes());
        let _ = parse_page::<Plugin>(body.as_bytes());
        let _ = parse_json::<Jwt>(body.as_bytes());
        let _ = parse_json::<Acl>(body.as_bytes());
    }
}

#[test]
fn no_parser_panics_on_any_truncation_of_any_fixture() {
    for name in fixture_names() {
        let text = read(&name);
        for cut in (0..=text.len()).filter(|i| text.is_char_boundary(*i)) {
            parse_any(&name, &text[..cut]);
        }
    }
}

#[test]
fn log_parser_uses_the_shared_rejection_type() {
    let r: jsonl::Rejection = parse_kong_log_line("garbage", 41).unwrap_err();
    assert_eq!(r.line, 41);
    assert!(r.reason.contains("line 1 column 1"), "{}", r.reason);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn log_lines_never_panic(line in ".{0,400}") {
        let _ = parse_kong_log_line(&line, 1);
    }

    #[test]
    fn admin_pages_never_panic(body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_page::<KeyAuth>(&body);
        let _ = parse_page::<OAuth2Token>(&body);
    }

    #[test]
    fn log_status_decides_the_outcome(status in 100u16..600) {
        let line = format!(
            r#"{{"request":{{"method":"POST"}},"response":{{"status":{status}}},"started_at":1614232668342}}"#
        );
        let ev = parse_kong_log_line(&line, 1).unwrap();
        let want = match status {
            200..=399 => Outcome::Allow,
            401 | 403 => Outcome::Deny,
            _ => Outcome::Error,
        };
        prop_assert_eq!(ev.outcome, want);
    }
}
