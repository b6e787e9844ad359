//! Contract tests of the Kong connector against the Admin API endpoints it uses.
//!
//! Kong Gateway cannot run on our machines: a local mock HTTP server (wiremock) serves authentic
//! payloads from Kong's documentation (`tests/fixtures/kong/`, see `PROVENANCE.md`). Each test
//! pins the method, path, query, `Kong-Admin-Token` header, pagination to the last page and the
//! mapping of error statuses to error codes.

use portcullis_connectors::kong::Kong;
use portcullis_connectors::{BackendConfig, Connector, RevokeTarget, VecAuditSink};
use portcullis_model::{
    BackendKind, CredentialKind, ErrorCode, Grant, NodeKind, Outcome, PrincipalKind,
};
use secrecy::SecretString;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "kong-admin-token-for-tests";
const FOO: &str = "c0d92ba9-8306-482a-b60d-0cfdd2f0e880";

fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kong")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn json_fixture(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap()
}

fn page(items: Vec<Value>, next: Option<&str>) -> Value {
    json!({ "data": items, "next": next })
}

fn kong(uri: &str, audit_log: Option<PathBuf>) -> Kong {
    Kong::new(BackendConfig {
        name: "kong".into(),
        kind: BackendKind::Kong,
        url: uri.into(),
        secret: Some(SecretString::from(TOKEN.to_string())),
        timeout: Duration::from_secs(5),
        audit_log,
    })
    .unwrap()
}

/// GET `p` with `size=1000`, the admin token, no `offset`; answers `body` and must be hit once.
async fn list(server: &MockServer, p: &str, body: Value) {
    Mock::given(method("GET"))
        .and(path(p))
        .and(query_param("size", "1000"))
        .and(query_param_is_missing("offset"))
        .and(header("Kong-Admin-Token", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(server)
        .await;
}

/// A Kong node serving every collection from the fixtures; `/consumers` has two pages.
async fn full_node() -> MockServer {
    let server = MockServer::start().await;
    let consumers_p1: Value = serde_json::from_str(&format!(
        "{{{}\"next\": null}}",
        fixture("kong-admin-consumer-list-data.fragment.txt")
    ))
    .unwrap();
    list(
        &server,
        "/consumers",
        page(
            consumers_p1["data"].as_array().unwrap().clone(),
            Some("/consumers?offset=WyJwYWdlMiJd&size=1000"),
        ),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/consumers"))
        .and(query_param("offset", "WyJwYWdlMiJd"))
        .and(query_param("size", "1000"))
        .and(header("Kong-Admin-Token", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            vec![
                json_fixture("kong-acl-consumer.response.json"),
                json!({"id": "89a41fef-3b40-4bb0-b5af-33da57a7ffcf", "username": "bar", "created_at": 1507936639}),
                json!({"id": "8a21c1fa-e65e-4558-8673-540e85e67b33", "custom_id": "jwt-user"}),
            ],
            None,
        )))
        .expect(1)
        .mount(&server)
        .await;
    list(
        &server,
        "/plugins",
        json_fixture("kong-acl-plugins-list.handwritten.json"),
    )
    .await;
    list(
        &server,
        "/routes",
        page(
            vec![json_fixture("kong-admin-route-object.doc-example.json")],
            None,
        ),
    )
    .await;
    list(
        &server,
        "/services",
        page(
            vec![json_fixture("kong-admin-service-object.doc-example.json")],
            None,
        ),
    )
    .await;
    list(
        &server,
        "/acls",
        json_fixture("kong-acls-list.response.json"),
    )
    .await;
    list(
        &server,
        "/key-auths",
        page(
            vec![json_fixture("kong-key-auth-create.response.json")],
            None,
        ),
    )
    .await;
    list(
        &server,
        "/jwts",
        json_fixture("kong-consumer-jwt-list.response.json"),
    )
    .await;
    list(
        &server,
        "/basic-auths",
        json_fixture("kong-basic-auths-list.handwritten.json"),
    )
    .await;
    list(
        &server,
        "/hmac-auths",
        json_fixture("kong-hmac-auths-list.handwritten.json"),
    )
    .await;
    list(
        &server,
        "/oauth2",
        json_fixture("kong-oauth2-apps-list.handwritten.json"),
    )
    .await;
    list(
        &server,
        "/oauth2_tokens",
        json_fixture("kong-oauth2-tokens-list.response.json"),
    )
    .await;
    list(
        &server,
        "/consumer_groups",
        json_fixture("kong-consumer-groups-list.handwritten.json"),
    )
    .await;
    list(
        &server,
        "/consumer_groups/5f1c0d3e-7a2b-4c9d-8e1f-0a1b2c3d4e5f/consumers",
        json_fixture("kong-consumer-group-consumers.handwritten.json"),
    )
    .await;
    server
}

#[tokio::test]
async fn inventory_reads_every_collection_to_the_last_page() {
    let server = full_node().await;
    let progress_events = std::sync::Mutex::new(Vec::new());
    let inv = kong(&server.uri(), None)
        .inventory(&|p| progress_events.lock().unwrap().push(p))
        .await
        .unwrap();
    let consumers = inv
        .principals
        .iter()
        .filter(|p| p.kind == PrincipalKind::Client)
        .count();
    assert_eq!(consumers, 5, "two pages of consumers");
    assert!(inv
        .principals
        .iter()
        .any(|p| p.external_id == "consumer_group/5f1c0d3e-7a2b-4c9d-8e1f-0a1b2c3d4e5f"));
    // key-auth, jwt, basic-auth, hmac-auth, oauth2 app, 2 oauth2 tokens.
    assert_eq!(inv.credentials.len(), 7);
    let tokens: Vec<_> = inv
        .credentials
        .iter()
        .filter(|c| c.kind == CredentialKind::AccessToken)
        .collect();
    assert_eq!(tokens.len(), 2);
    assert!(tokens.iter().all(
        |t| t.principal_external_id.as_deref() == Some("89a41fef-3b40-4bb0-b5af-33da57a7ffcf")
    ));
    assert_eq!(inv.permissions.len(), 3);
    assert!(inv.grants.contains(&Grant {
        from_kind: NodeKind::Principal,
        from_id: FOO.into(),
        to_kind: NodeKind::Role,
        to_id: "acl/bar-group".into(),
    }));
    let text = serde_json::to_string(&inv).unwrap();
    for secret in [
        "5SRmk6gLnTy1SyQ1Cl9GzoRXJbjYGGbZ",
        "C50k0bcahDhLNhLKSUBSR1OMiFGzNZ7X",
        "FOEtUHwg0das9PhsasVmgMGbZn7nWSgK",
        "handwritten-hmac-secret-value-0001",
        "handwritten-client-secret-0001",
        TOKEN,
    ] {
        assert!(!text.contains(secret), "{secret} leaked");
    }
    let events = progress_events.lock().unwrap();
    assert!(matches!(
        events.last(),
        Some(portcullis_model::Progress::Finished { ok: true, .. })
    ));
}

#[tokio::test]
async fn plugins_that_are_not_loaded_are_skipped() {
    let server = MockServer::start().await;
    for p in ["/consumers", "/plugins", "/routes", "/services"] {
        list(&server, p, page(vec![], None)).await;
    }
    // Everything else: wiremock's default 404, as Kong answers for an unloaded plugin's endpoint.
    let inv = kong(&server.uri(), None).inventory(&|_| {}).await.unwrap();
    assert!(inv.credentials.is_empty());
}

#[tokio::test]
async fn error_statuses_map_to_codes() {
    for (status, code) in [
        (401, ErrorCode::Unauthorized),
        (403, ErrorCode::Forbidden),
        (500, ErrorCode::BackendError),
        (429, ErrorCode::RateLimited),
    ] {
        let server = MockServer::start().await;
        let mut resp = ResponseTemplate::new(status)
            .set_body_json(json!({"message": format!("status {status}")}));
        if status == 429 {
            resp = resp.insert_header("Retry-After", "120");
        }
        Mock::given(method("GET"))
            .and(path("/consumers"))
            .respond_with(resp)
            .mount(&server)
            .await;
        let err = kong(&server.uri(), None)
            .inventory(&|_| {})
            .await
            .unwrap_err();
        assert_eq!(err.code(), code, "{status}: {err}");
        if status == 403 {
            assert!(err.to_string().contains("GET /consumers"), "{err}");
        }
    }
}

#[tokio::test]
async fn forbidden_optional_collection_fails_the_sync_with_the_right_named() {
    let server = MockServer::start().await;
    for p in ["/consumers", "/plugins", "/routes", "/services", "/acls"] {
        list(&server, p, page(vec![], None)).await;
    }
    Mock::given(method("GET"))
        .and(path("/key-auths"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"message": "Forbidden"})))
        .mount(&server)
        .await;
    let err = kong(&server.uri(), None)
        .inventory(&|_| {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Forbidden);
    assert!(err.to_string().contains("GET /key-auths"), "{err}");
}

#[tokio::test]
async fn upstream_invalid_json_is_a_positioned_malformed_error() {
    for (name, position) in [
        (
            "kong-key-auths-list.response.upstream-invalid.json.txt",
            "line 1 column 1",
        ),
        (
            "kong-consumer-key-auth-list.response.upstream-invalid.json.txt",
            "line 1 column 1",
        ),
    ] {
        let server = MockServer::start().await;
        for p in ["/consumers", "/plugins", "/routes", "/services", "/acls"] {
            list(&server, p, page(vec![], None)).await;
        }
        Mock::given(method("GET"))
            .and(path("/key-auths"))
            .respond_with(ResponseTemplate::new(200).set_body_string(fixture(name)))
            .mount(&server)
            .await;
        let err = kong(&server.uri(), None)
            .inventory(&|_| {})
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Malformed, "{name}");
        assert!(err.to_string().contains(position), "{name}: {err}");
    }
    // The plugin object's unquoted value, served as the plugins page.
    let server = MockServer::start().await;
    list(&server, "/consumers", page(vec![], None)).await;
    let plugin = fixture("kong-admin-plugin-object.doc-example.upstream-invalid.json.txt");
    Mock::given(method("GET"))
        .and(path("/plugins"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(format!("{{\"data\": [{plugin}], \"next\": null}}")),
        )
        .mount(&server)
        .await;
    let err = kong(&server.uri(), None)
        .inventory(&|_| {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Malformed);
    assert!(err.to_string().contains("line 9 column"), "{err}");
}

#[tokio::test]
async fn a_repeating_next_link_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/consumers"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(page(vec![], Some("/consumers?offset=same"))),
        )
        .mount(&server)
        .await;
    let err = kong(&server.uri(), None)
        .inventory(&|_| {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Malformed);
    assert!(err.to_string().contains("repeats"), "{err}");
}

#[tokio::test]
async fn check_reports_version_and_which_collections_are_readable() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/"))
        .and(header("Kong-Admin-Token", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"version": "3.4.2", "hostname": "kong-1", "tagline": "Welcome to kong"}),
        ))
        .mount(&server)
        .await;
    for p in [
        "/consumers",
        "/plugins",
        "/routes",
        "/services",
        "/acls",
        "/key-auths",
    ] {
        Mock::given(method("GET"))
            .and(path(p))
            .and(query_param("size", "1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(page(vec![], None)))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/jwts"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"message": "Forbidden"})))
        .mount(&server)
        .await;
    let report = kong(&server.uri(), None).check().await.unwrap();
    assert_eq!(report.server.as_deref(), Some("Kong 3.4.2 on kong-1"));
    let right = |r: &str| report.rights.iter().find(|x| x.right == r).unwrap().clone();
    assert!(right("GET /consumers").granted);
    assert!(!right("GET /jwts").granted);
    let groups = right("GET /consumer_groups");
    assert!(!groups.granted);
    assert!(groups.needed_for.contains("not served"), "{groups:?}");
}

#[tokio::test]
async fn check_with_a_rejected_token_is_unauthorized() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"message": "Invalid credentials. Token or User credentials required"}),
        ))
        .mount(&server)
        .await;
    let err = kong(&server.uri(), None).check().await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unauthorized);
    assert!(err.to_string().contains("Invalid credentials"), "{err}");
}

#[tokio::test]
async fn revoking_a_key_finds_its_consumer_then_deletes_through_it() {
    let server = MockServer::start().await;
    let key = json_fixture("kong-key-auth-create.response.json");
    let id = key["id"].as_str().unwrap().to_string();
    let consumer = key["consumer"]["id"].as_str().unwrap().to_string();
    Mock::given(method("GET"))
        .and(path(format!("/key-auths/{id}")))
        .and(header("Kong-Admin-Token", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(key))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/consumers/{consumer}/key-auth/{id}")))
        .and(header("Kong-Admin-Token", TOKEN))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let target = RevokeTarget::Credential {
        kind: CredentialKind::ApiKey,
        external_id: id.clone(),
    };
    let receipt = kong(&server.uri(), None).revoke(&target).await.unwrap();
    assert_eq!(
        receipt.action,
        format!("DELETE /consumers/{consumer}/key-auth/{id}")
    );
    assert!(!receipt.caveats.is_empty());
}

#[tokio::test]
async fn a_deleted_credential_verifies_dead_and_a_live_one_does_not() {
    let server = MockServer::start().await;
    // Every collection answers wiremock's default 404 for the dead id.
    let v = kong(&server.uri(), None)
        .verify_revoked(&RevokeTarget::Credential {
            kind: CredentialKind::ApiKey,
            external_id: "0103844a-0b40-42c8-aa71-64e98e2e525f".into(),
        })
        .await
        .unwrap();
    assert!(v.dead, "{}", v.evidence);
    let jwt = json_fixture("kong-jwt-create.response.json");
    Mock::given(method("GET"))
        .and(path("/jwts/0701ad83-949c-423f-b553-091d5a6bae52"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwt))
        .mount(&server)
        .await;
    let v = kong(&server.uri(), None)
        .verify_revoked(&RevokeTarget::Credential {
            kind: CredentialKind::ApiKey,
            external_id: "0701ad83-949c-423f-b553-091d5a6bae52".into(),
        })
        .await
        .unwrap();
    assert!(!v.dead);
    assert!(v.evidence.contains("GET /jwts/"), "{}", v.evidence);
}

#[tokio::test]
async fn revoking_an_oauth2_token_deletes_it_by_id() {
    let server = MockServer::start().await;
    let id = "610740e5-700a-45f0-889a-5c7f0422c48d";
    let token = json_fixture("kong-oauth2-tokens-list.response.json")["data"][0].clone();
    Mock::given(method("GET"))
        .and(path(format!("/oauth2_tokens/{id}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(token))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/oauth2_tokens/{id}")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let receipt = kong(&server.uri(), None)
        .revoke(&RevokeTarget::Credential {
            kind: CredentialKind::AccessToken,
            external_id: id.into(),
        })
        .await
        .unwrap();
    assert_eq!(receipt.action, format!("DELETE /oauth2_tokens/{id}"));
}

#[tokio::test]
async fn revoking_an_acl_membership_deletes_by_group_and_verifies_by_listing() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(format!("/consumers/{FOO}/acls/foo-group")))
        .and(header("Kong-Admin-Token", TOKEN))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    list(
        &server,
        &format!("/consumers/{FOO}/acls"),
        json_fixture("kong-consumer-acls-list.response.json"),
    )
    .await;
    let k = kong(&server.uri(), None);
    let grant = |group: &str| {
        RevokeTarget::Grant(Grant {
            from_kind: NodeKind::Principal,
            from_id: FOO.into(),
            to_kind: NodeKind::Role,
            to_id: format!("acl/{group}"),
        })
    };
    let receipt = k.revoke(&grant("foo-group")).await.unwrap();
    assert_eq!(
        receipt.action,
        format!("DELETE /consumers/{FOO}/acls/foo-group")
    );
    // The consumer's list now holds bar-group only.
    let v = k.verify_revoked(&grant("foo-group")).await.unwrap();
    assert!(v.dead, "{}", v.evidence);
    server.reset().await;
    list(
        &server,
        &format!("/consumers/{FOO}/acls"),
        json_fixture("kong-consumer-acls-list.response.json"),
    )
    .await;
    let v = k.verify_revoked(&grant("bar-group")).await.unwrap();
    assert!(!v.dead, "{}", v.evidence);
}

#[tokio::test]
async fn consumer_group_membership_is_revoked_and_verified() {
    let server = MockServer::start().await;
    let gid = "5f1c0d3e-7a2b-4c9d-8e1f-0a1b2c3d4e5f";
    Mock::given(method("DELETE"))
        .and(path(format!("/consumers/{FOO}/consumer_groups/{gid}")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/consumers/{FOO}/consumer_groups")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"consumer_groups": []})))
        .mount(&server)
        .await;
    let target = RevokeTarget::Grant(Grant {
        from_kind: NodeKind::Principal,
        from_id: FOO.into(),
        to_kind: NodeKind::Principal,
        to_id: format!("consumer_group/{gid}"),
    });
    let k = kong(&server.uri(), None);
    k.revoke(&target).await.unwrap();
    assert!(k.verify_revoked(&target).await.unwrap().dead);
}

#[tokio::test]
async fn what_kong_cannot_revoke_is_unsupported_and_a_gone_target_is_not_found() {
    let server = MockServer::start().await;
    let k = kong(&server.uri(), None);
    let plugin_grant = RevokeTarget::Grant(Grant {
        from_kind: NodeKind::Role,
        from_id: "acl/foo-group".into(),
        to_kind: NodeKind::Permission,
        to_id: "acl-plugin/p/allow".into(),
    });
    assert_eq!(
        k.revoke(&plugin_grant).await.unwrap_err().code(),
        ErrorCode::Unsupported
    );
    let login = RevokeTarget::Login {
        principal: FOO.into(),
    };
    assert_eq!(
        k.revoke(&login).await.unwrap_err().code(),
        ErrorCode::Unsupported
    );
    let gone = RevokeTarget::Credential {
        kind: CredentialKind::ApiKey,
        external_id: "00000000-0000-4000-8000-000000000000".into(),
    };
    assert_eq!(
        k.revoke(&gone).await.unwrap_err().code(),
        ErrorCode::NotFound
    );
    // DELETE of a membership Kong no longer has.
    let acl = RevokeTarget::Grant(Grant {
        from_kind: NodeKind::Principal,
        from_id: FOO.into(),
        to_kind: NodeKind::Role,
        to_id: "acl/none".into(),
    });
    assert_eq!(
        k.revoke(&acl).await.unwrap_err().code(),
        ErrorCode::NotFound
    );
}

#[tokio::test]
async fn audit_reads_the_file_log_named_in_the_backend() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("file-log.jsonl");
    std::fs::write(&log, fixture("kong-file-log-line.3.4.jsonl")).unwrap();
    let server = MockServer::start().await;
    let k = kong(&server.uri(), Some(log.clone()));
    let mut sink = VecAuditSink::default();
    let cursor = k.audit(None, &mut sink).await.unwrap();
    assert_eq!(sink.events.len(), 1);
    assert_eq!(sink.events[0].outcome, Outcome::Allow);
    // Nothing new on the second read.
    let mut again = VecAuditSink::default();
    k.audit(cursor, &mut again).await.unwrap();
    assert!(again.events.is_empty());
    // No audit log configured: nothing to read, no error.
    assert!(kong(&server.uri(), None)
        .audit(None, &mut VecAuditSink::default())
        .await
        .unwrap()
        .is_none());
}

#[test]
fn url_with_a_workspace_prefix_is_accepted() {
    assert!(Kong::new(BackendConfig {
        name: "kong".into(),
        kind: BackendKind::Kong,
        url: "http://127.0.0.1:8001/team-a".into(),
        secret: None,
        timeout: Duration::from_secs(1),
        audit_log: None,
    })
    .is_ok());
}
