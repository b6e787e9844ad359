//! Contract tests of the GitLab connector against the REST API v4 endpoints it uses.
//!
//! GitLab cannot run on our machines: a local mock HTTP server (wiremock) serves the example
//! responses of GitLab's own API documentation (`tests/fixtures/gitlab/`, verbatim, see its
//! `PROVENANCE.md`). Where the documentation has no usable example (a single token, a revoked
//! token, the project list) the test says what it serves instead. Each test pins the method,
//! path, query, `PRIVATE-TOKEN` header, pagination to the last page and the mapping of error
//! statuses to error codes.

use portcullis_connectors::gitlab::GitLab;
use portcullis_connectors::{BackendConfig, Connector, RevokeTarget, VecAuditSink};
use portcullis_model::{
    BackendKind, CredentialKind, CredentialStatus, ErrorCode, NodeKind, PrincipalKind,
};
use secrecy::SecretString;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "glpat-token-for-tests";

fn fixture(name: &str) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/gitlab")
        .join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

fn gitlab(uri: &str) -> GitLab {
    GitLab::new(BackendConfig {
        name: "gl".into(),
        kind: BackendKind::GitLab,
        url: uri.into(),
        secret: Some(SecretString::from(TOKEN.to_string())),
        timeout: Duration::from_secs(5),
        audit_log: None,
    })
    .unwrap()
}

/// Page `page` of listing `p` (per_page=100, the token): `items`, and `next` in x-next-page.
async fn page(server: &MockServer, p: &str, page: u32, items: Value, next: &str) {
    Mock::given(method("GET"))
        .and(path(format!("/api/v4{p}")))
        .and(query_param("per_page", "100"))
        .and(query_param("page", page.to_string()))
        .and(header("PRIVATE-TOKEN", TOKEN))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-next-page", next)
                .set_body_json(items),
        )
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn inventory_reads_every_page_and_maps_the_documented_payloads() {
    let server = MockServer::start().await;
    let users = fixture("users.list-as-administrator.json");
    // Two pages of users: the connector must follow x-next-page to the last one.
    page(&server, "/users", 1, json!([users[0]]), "2").await;
    page(&server, "/users", 2, json!([users[1]]), "").await;
    let groups = fixture("groups.list.json");
    page(&server, "/groups", 1, groups, "").await;
    page(
        &server,
        "/groups/1/members",
        1,
        fixture("members.list-direct.json"),
        "",
    )
    .await;
    // No valid project listing example exists in the docs: an empty instance of projects.
    page(&server, "/projects", 1, json!([]), "").await;
    let mut tokens = fixture("personal_access_tokens.list.json");
    let project_tokens = fixture("project_access_tokens.list.json");
    tokens
        .as_array_mut()
        .unwrap()
        .extend(project_tokens.as_array().unwrap().iter().cloned());
    page(&server, "/personal_access_tokens", 1, tokens, "").await;

    let inv = gitlab(&server.uri()).inventory(&|_| {}).await.unwrap();
    let john = inv
        .principals
        .iter()
        .find(|p| p.external_id == "1")
        .unwrap();
    assert_eq!(
        (john.name.as_str(), john.enabled, john.kind),
        ("john_smith", true, PrincipalKind::User)
    );
    let jack = inv
        .principals
        .iter()
        .find(|p| p.external_id == "2")
        .unwrap();
    assert!(!jack.enabled, "state blocked cannot sign in");
    // Both members are Developers of foo-bar: the role grants view, read and write there.
    let role = "group:foo-bar:30";
    assert!(inv
        .grants
        .iter()
        .any(|g| g.from_id == "1" && g.to_kind == NodeKind::Role && g.to_id == role));
    let rights: Vec<&str> = inv
        .grants
        .iter()
        .filter(|g| g.from_id == role)
        .map(|g| g.to_id.as_str())
        .collect();
    assert_eq!(
        rights,
        [
            "group:foo-bar:view",
            "group:foo-bar:read",
            "group:foo-bar:write"
        ]
    );
    let t4 = inv
        .credentials
        .iter()
        .find(|c| c.external_id == "4")
        .unwrap();
    assert_eq!(t4.kind, CredentialKind::Pat);
    assert_eq!(t4.principal_external_id.as_deref(), Some("3"));
    assert_eq!(t4.scopes, vec!["api".to_string()]);
    assert_eq!(t4.status, CredentialStatus::Active);
    assert!(t4.last_used_at.is_some());
    // The project access token example expired in 2021.
    let t42 = inv
        .credentials
        .iter()
        .find(|c| c.external_id == "42")
        .unwrap();
    assert_eq!(t42.status, CredentialStatus::Expired);
    assert_eq!(t42.attrs["access_level"], 40);
}

#[tokio::test]
async fn check_names_the_rights_and_the_console_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v4/user"))
        .and(header("PRIVATE-TOKEN", TOKEN))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("user.current-as-administrator.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    // No example of the single-token answer exists: the listing's item is the same object.
    let me = fixture("personal_access_tokens.list.json")[0].clone();
    Mock::given(method("GET"))
        .and(path("/api/v4/personal_access_tokens/self"))
        .respond_with(ResponseTemplate::new(200).set_body_json(me))
        .mount(&server)
        .await;
    // GitLab Free: no audit events API.
    Mock::given(method("GET"))
        .and(path("/api/v4/audit_events"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "404 Not Found"})))
        .mount(&server)
        .await;
    let report = gitlab(&server.uri()).check().await.unwrap();
    assert_eq!(
        report.identity.as_deref(),
        Some("john_smith (token Test Token)")
    );
    let granted = |r: &str| {
        report
            .rights
            .iter()
            .find(|x| x.right == r)
            .map(|x| (x.granted, x.optional))
    };
    assert_eq!(granted("administrator"), Some((true, false)));
    assert_eq!(granted("read_api scope (or api)"), Some((true, false)));
    assert_eq!(granted("api scope"), Some((true, true)));
    assert_eq!(granted("GET /audit_events"), Some((false, true)));
}

#[tokio::test]
async fn audit_events_map_resume_after_the_newest_and_a_missing_api_is_no_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v4/audit_events"))
        .and(query_param_is_missing("created_after"))
        .and(header("PRIVATE-TOKEN", TOKEN))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("audit_events.instance-list.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let gl = gitlab(&server.uri());
    let mut sink = VecAuditSink::default();
    let cursor = gl.audit(None, &mut sink).await.unwrap().unwrap();
    assert_eq!(sink.events.len(), 4);
    assert!(cursor.starts_with("2023-08-01T11:29:44"), "{cursor}");
    let first = &sink.events[0];
    assert_eq!(first.dedup_key, "gitlab-audit:3", "oldest first");
    let listed = fixture("audit_events.instance-list.json");
    let third = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == 3)
        .unwrap();
    assert_eq!(first.actor, Some(third["author_id"].to_string()));
    assert_eq!(
        first.resource.as_deref(),
        third["details"]["entity_path"].as_str()
    );
    assert!(sink
        .events
        .iter()
        .any(|e| e.action == "audit_events_streaming_instance_headers_create"));

    // The next sync asks only for newer events; an instance without the API answers 404.
    let free = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v4/audit_events"))
        .and(query_param("created_after", cursor.as_str()))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&free)
        .await;
    let mut sink = VecAuditSink::default();
    let again = gitlab(&free.uri())
        .audit(Some(cursor.clone()), &mut sink)
        .await
        .unwrap();
    assert_eq!(
        again.as_deref(),
        Some(cursor.as_str()),
        "the cursor is kept"
    );
    assert!(sink.events.is_empty());
}

#[tokio::test]
async fn revoking_a_token_deletes_it_and_verification_reads_it_back() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/api/v4/personal_access_tokens/4"))
        .and(header("PRIVATE-TOKEN", TOKEN))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    // The listing's example token as GitLab answers after the revocation (revoked, inactive).
    let mut revoked = fixture("personal_access_tokens.list.json")[0].clone();
    revoked["revoked"] = json!(true);
    revoked["active"] = json!(false);
    Mock::given(method("GET"))
        .and(path("/api/v4/personal_access_tokens/4"))
        .respond_with(ResponseTemplate::new(200).set_body_json(revoked))
        .mount(&server)
        .await;
    let gl = gitlab(&server.uri());
    let target = RevokeTarget::Credential {
        kind: CredentialKind::Pat,
        external_id: "4".into(),
    };
    let receipt = gl.revoke(&target).await.unwrap();
    assert_eq!(receipt.action, "DELETE /personal_access_tokens/4");
    let v = gl.verify_revoked(&target).await.unwrap();
    assert!(v.dead, "{}", v.evidence);

    // A token still active is not dead.
    let live = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v4/personal_access_tokens/4"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture("personal_access_tokens.list.json")[0].clone()),
        )
        .mount(&live)
        .await;
    assert!(
        !gitlab(&live.uri())
            .verify_revoked(&target)
            .await
            .unwrap()
            .dead
    );
}

#[tokio::test]
async fn error_statuses_keep_their_codes_and_a_looping_listing_is_refused() {
    for (status, code) in [
        (401, ErrorCode::Unauthorized),
        (403, ErrorCode::Forbidden),
        (429, ErrorCode::RateLimited),
        (500, ErrorCode::BackendError),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v4/user"))
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({"message": "no"})))
            .mount(&server)
            .await;
        let err = gitlab(&server.uri()).check().await.unwrap_err();
        assert_eq!(err.code(), code, "{status}: {err}");
    }
    // A server that keeps answering "next page: 1" would make the listing loop.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v4/users"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-next-page", "1")
                .set_body_json(json!([{"id": 1, "username": "a"}])),
        )
        .mount(&server)
        .await;
    let err = gitlab(&server.uri()).inventory(&|_| {}).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Malformed, "{err}");
}
