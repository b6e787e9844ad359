//! Contract tests of the hoop connector against the gateway API endpoints it uses.
//!
//! hoop cannot run on our machines (its gateway needs a Go toolchain the registries here do
//! not carry). So this is a **mock**: a local HTTP server (wiremock) serves the answers in
//! `tests/fixtures/hoop/`, which are instances of hoop's published OpenAPI 3 description
//! (`openapi-subset.json`, reduced from `gateway/api/openapi/openapiv3.json`; see
//! `PROVENANCE.md`). The first test holds every fixture to that schema, so the mock cannot
//! drift from what hoop documents. Each other test pins the method, path, query, the
//! `Authorization: Bearer` key, paging to the last page and the mapping of error statuses.

use portcullis_connectors::hoop::Hoop;
use portcullis_connectors::{BackendConfig, Connector, RevokeTarget, VecAuditSink};
use portcullis_model::{
    BackendKind, CredentialKind, CredentialStatus, ErrorCode, NodeKind, PrincipalKind,
};
use secrecy::SecretString;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "hpk_dGVzdC1rZXktZm9yLXRoZS1jb250cmFjdC10ZXN0cy1vbmx5";

fn fixture(name: &str) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hoop")
        .join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

fn hoop(uri: &str) -> Hoop {
    Hoop::new(BackendConfig {
        name: "hoop".into(),
        kind: BackendKind::Hoop,
        url: uri.into(),
        secret: Some(SecretString::from(KEY.to_string())),
        timeout: Duration::from_secs(5),
        audit_log: None,
    })
    .unwrap()
}

/// Problems of `value` against `schema` (an OpenAPI schema object of `schemas`): unknown
/// properties, wrong types, values outside an enum. `null` is accepted anywhere, as hoop's Go
/// encoder writes nil pointers and slices as `null`.
fn violations(schemas: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or_default();
        return violations(schemas, &schemas[name], value, at, out);
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            violations(schemas, s, value, at, out);
        }
    }
    if value.is_null() {
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            out.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
    }
    let ok = match schema.get("type").and_then(Value::as_str) {
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        Some("array") => value.is_array(),
        Some("object") => value.is_object(),
        _ => true,
    };
    if !ok {
        out.push(format!("{at}: {value} is not {}", schema["type"]));
        return;
    }
    if let (Some(items), Some(list)) = (schema.get("items"), value.as_array()) {
        for (i, v) in list.iter().enumerate() {
            violations(schemas, items, v, &format!("{at}[{i}]"), out);
        }
    }
    if let (Some(props), Some(obj)) = (
        schema.get("properties").and_then(Value::as_object),
        value.as_object(),
    ) {
        for (k, v) in obj {
            match props.get(k) {
                Some(p) => violations(schemas, p, v, &format!("{at}.{k}"), out),
                None => out.push(format!("{at}.{k}: not in the schema")),
            }
        }
    }
}

fn schema_problems(fixture_value: &Value, schema_name: &str, list: bool) -> Vec<String> {
    let subset = fixture("openapi-subset.json");
    let schemas = &subset["components"]["schemas"];
    let one = json!({ "$ref": format!("#/components/schemas/{schema_name}") });
    let schema = if list {
        json!({"type": "array", "items": one})
    } else {
        one
    };
    let mut out = Vec::new();
    violations(schemas, &schema, fixture_value, schema_name, &mut out);
    out
}

#[test]
fn fixtures_follow_hoops_published_schema() {
    for (file, schema, list) in [
        ("users.json", "openapi.User", true),
        ("serviceaccounts.json", "openapi.ServiceAccount", true),
        ("api-keys.json", "openapi.APIKeyResponse", true),
        ("ai-agents.json", "openapi.AIAgentResponse", true),
        ("connections.json", "openapi.Connection", true),
        ("plugin.access_control.json", "openapi.Plugin", false),
        (
            "access-requests.rules.json",
            "openapi.PaginatedResponse-openapi_AccessRequestRule",
            false,
        ),
        (
            "attributes.json",
            "openapi.PaginatedResponse-openapi_Attributes",
            false,
        ),
        ("sessions.page-1.json", "openapi.SessionList", false),
        ("sessions.page-2.json", "openapi.SessionList", false),
        (
            "audit.logs.json",
            "openapi.PaginatedResponse-openapi_SecurityAuditLogResponse",
            false,
        ),
        ("userinfo.json", "openapi.UserInfo", false),
    ] {
        let problems = schema_problems(&fixture(file), schema, list);
        assert!(problems.is_empty(), "{file}: {problems:#?}");
    }
    // The check can fail: a misspelt field and a status hoop does not have are caught.
    let mut bad = fixture("users.json");
    bad[0]["stauts"] = json!("active");
    bad[1]["status"] = json!("suspended");
    assert_eq!(schema_problems(&bad, "openapi.User", true).len(), 2);
}

/// `GET /api{p}` with the key, answering `body`.
async fn serve(server: &MockServer, p: &str, body: Value) {
    Mock::given(method("GET"))
        .and(path(format!("/api{p}")))
        .and(header("Authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

/// The gateway the fixtures describe, sessions on two pages.
async fn gateway() -> MockServer {
    let server = MockServer::start().await;
    for (p, file) in [
        ("/users", "users.json"),
        ("/serviceaccounts", "serviceaccounts.json"),
        ("/api-keys", "api-keys.json"),
        ("/ai-agents", "ai-agents.json"),
        ("/connections", "connections.json"),
        ("/plugins/access_control", "plugin.access_control.json"),
        ("/access-requests/rules", "access-requests.rules.json"),
        ("/attributes", "attributes.json"),
        ("/audit/logs", "audit.logs.json"),
        ("/userinfo", "userinfo.json"),
    ] {
        serve(&server, p, fixture(file)).await;
    }
    for (offset, file) in [("0", "sessions.page-1.json"), ("2", "sessions.page-2.json")] {
        Mock::given(method("GET"))
            .and(path("/api/sessions"))
            .and(query_param("limit", "100"))
            .and(query_param("offset", offset))
            .and(header("Authorization", format!("Bearer {KEY}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(fixture(file)))
            .mount(&server)
            .await;
    }
    server
}

fn grants_of(inv: &portcullis_model::Inventory, role: &str) -> Vec<String> {
    let mut v: Vec<String> = inv
        .grants
        .iter()
        .filter(|g| g.from_id == role && g.to_kind == NodeKind::Permission)
        .map(|g| g.to_id.clone())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn inventory_maps_the_gateway_as_hoop_decides_access() {
    let server = gateway().await;
    let inv = hoop(&server.uri()).inventory(&|_| {}).await.unwrap();
    // 4 users, 1 service account, 3 API keys and 1 AI agent (keys are principals too).
    assert_eq!(inv.principals.len(), 9);
    let analyst = inv
        .principals
        .iter()
        .find(|p| p.name == "analyst@example.com")
        .unwrap();
    assert!(!analyst.enabled, "an inactive user is disabled");
    let bot = inv
        .principals
        .iter()
        .find(|p| p.external_id == "6F0A3C52-1B7E-4D2A-9C11-2E6B7A9D1F01")
        .unwrap();
    assert_eq!(bot.kind, PrincipalKind::Service);
    // The access_control plugin lists dba for pgdemo, engineering and sre for bash; the
    // `production` attribute binds sre to pgdemo; mysql-prod is bound to no group.
    let pg = [
        "pgdemo|connect",
        "pgdemo|exec",
        "pgdemo|runbooks",
        "pgdemo|schema",
    ];
    assert_eq!(grants_of(&inv, "dba"), pg);
    assert_eq!(
        grants_of(&inv, "engineering"),
        ["bash|exec", "bash|runbooks"]
    );
    let mut sre: Vec<&str> = pg.to_vec();
    sre.extend(["bash|exec", "bash|runbooks"]);
    sre.sort();
    assert_eq!(grants_of(&inv, "sre"), sre);
    assert!(!inv
        .grants
        .iter()
        .any(|g| g.to_id.starts_with("mysql-prod|")));
    assert_eq!(grants_of(&inv, "admin"), ["*|admin"]);
    // Approval: the rule covers mysql-prod by name and pgdemo by its attribute (exec only, a
    // `command` rule); the review plugin's reviewers too.
    let approval = |id: &str| {
        inv.permissions
            .iter()
            .find(|p| p.external_id == id)
            .map(|p| p.raw["approval"].clone())
            .unwrap()
    };
    assert_eq!(
        approval("pgdemo|exec")["rule"],
        "default-access-request-rule"
    );
    assert_eq!(
        approval("mysql-prod|exec")["rule"],
        "default-access-request-rule"
    );
    assert!(approval("pgdemo|connect").is_null());
    // Credentials: 4 keys by id, the open session, and its (long expired) JIT approval.
    let cred = |id: &str| inv.credentials.iter().find(|c| c.external_id == id);
    let key = cred("api-key:6F0A3C52-1B7E-4D2A-9C11-2E6B7A9D1F01").unwrap();
    assert_eq!(key.kind, CredentialKind::ApiKey);
    assert_eq!(key.status, CredentialStatus::Active);
    assert_eq!(key.expires_at, None);
    assert!(key.last_used_at.is_some());
    assert_eq!(
        cred("api-key:7A1B4D63-2C8F-4E3B-8D22-3F7C8B0E2A02")
            .unwrap()
            .status,
        CredentialStatus::Revoked
    );
    assert!(cred("ai-agent:9C3D6F85-4EA1-4A5D-8F44-5B9EAD204C04").is_some());
    let open = cred("session:2DCD9EC6-0C09-4304-9F46-60B7FFB51318").unwrap();
    assert_eq!(open.scopes, ["pgdemo|connect"]);
    assert_eq!(
        cred("review:9F9745B4-C77B-4D52-84D3-E24F67E3623C")
            .unwrap()
            .status,
        CredentialStatus::Expired
    );
    assert_eq!(inv.credentials.len(), 6);
    // No key value, no session input anywhere in what the cache would store.
    let stored = serde_json::to_string(&inv).unwrap();
    assert!(!stored.contains("hpk_Q2hh") && !stored.contains("SELECT NOW()"));
}

#[tokio::test]
async fn a_gateway_without_access_control_opens_every_connection_to_everyone() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/plugins/access_control"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "not found"})))
        .mount(&server)
        .await;
    for (p, body) in [
        ("/users", fixture("users.json")),
        ("/serviceaccounts", json!([])),
        ("/api-keys", json!([])),
        ("/ai-agents", json!([])),
        ("/connections", fixture("connections.json")),
        (
            "/access-requests/rules",
            json!({"data": [], "pages": {"total": 0}}),
        ),
        ("/attributes", json!({"data": [], "pages": {"total": 0}})),
        ("/sessions", json!({"data": [], "has_next_page": false})),
    ] {
        serve(&server, p, body).await;
    }
    let inv = hoop(&server.uri()).inventory(&|_| {}).await.unwrap();
    let everyone = portcullis_model::HOOP_EVERYONE;
    assert_eq!(grants_of(&inv, everyone).len(), 4 + 2 + 2);
    let members = inv
        .grants
        .iter()
        .filter(|g| g.to_id == everyone && g.from_kind == NodeKind::Principal)
        .count();
    assert_eq!(members, 4);
}

#[tokio::test]
async fn check_names_the_rights_of_the_keys_groups() {
    let server = gateway().await;
    let report = hoop(&server.uri()).check().await.unwrap();
    assert_eq!(
        report.identity.as_deref(),
        Some("portcullis (groups: admin)")
    );
    assert!(
        report.rights.iter().all(|r| r.granted),
        "{:?}",
        report.rights
    );
    // An auditor key: reads, but no API keys, no audit log, no revocation.
    let server = MockServer::start().await;
    serve(
        &server,
        "/userinfo",
        json!({"id": "k2", "email": "review", "groups": ["auditor"]}),
    )
    .await;
    serve(&server, "/users", json!([])).await;
    for p in ["/api/api-keys", "/api/audit/logs"] {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(
                ResponseTemplate::new(403).set_body_json(json!({"message": "access denied"})),
            )
            .mount(&server)
            .await;
    }
    let report = hoop(&server.uri()).check().await.unwrap();
    let granted: Vec<(bool, bool)> = report
        .rights
        .iter()
        .map(|r| (r.granted, r.optional))
        .collect();
    assert_eq!(
        granted,
        [(true, false), (false, true), (false, true), (false, true)]
    );
}

#[tokio::test]
async fn sessions_and_the_audit_log_become_events_without_their_contents() {
    let server = gateway().await;
    let mut sink = VecAuditSink::default();
    let since = Some("2024-01-01T00:00:00Z".to_string());
    let cursor = hoop(&server.uri()).audit(since, &mut sink).await.unwrap();
    let events: Vec<_> = sink.events.iter().collect();
    // 3 sessions over two pages, 2 audit log entries.
    assert_eq!(events.len(), 5);
    let exec = events
        .iter()
        .find(|e| e.dedup_key == "hoop-session:1CBC8DB5-FBF8-4293-8E35-59A6EEA40207")
        .unwrap();
    assert_eq!(
        (exec.action.as_str(), exec.resource.as_deref()),
        ("exec", Some("pgdemo"))
    );
    assert_eq!(
        exec.actor.as_deref(),
        Some("nJ1xV3ASWGTi7L8Y6zvnKqxNlnZM2TxV1bRdc0706vZ")
    );
    let denied = events
        .iter()
        .find(|e| e.dedup_key == "hoop-audit:6475fdaa-764c-42cb-9276-78347f9a5001")
        .unwrap();
    assert_eq!(denied.outcome, portcullis_model::Outcome::Deny);
    let stored = serde_json::to_string(&events).unwrap();
    assert!(
        !stored.contains("hpk_Q2hh"),
        "a key typed into a session leaked"
    );
    assert!(!stored.contains("[REDACTED]") && !stored.contains("SELECT NOW()"));
    assert_eq!(cursor.as_deref(), Some("2024-07-26T09:12:00+00:00"));
}

#[tokio::test]
async fn an_auditor_key_syncs_sessions_without_the_audit_log() {
    let server = MockServer::start().await;
    serve(&server, "/sessions", fixture("sessions.page-2.json")).await;
    Mock::given(method("GET"))
        .and(path("/api/audit/logs"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"message": "access denied"})))
        .mount(&server)
        .await;
    let mut sink = VecAuditSink::default();
    let since = Some("2024-01-01T00:00:00Z".to_string());
    hoop(&server.uri()).audit(since, &mut sink).await.unwrap();
    assert_eq!(sink.events.len(), 1);
}

#[tokio::test]
async fn revocations_use_hoops_own_calls_and_are_read_back() {
    let server = MockServer::start().await;
    let key = "6F0A3C52-1B7E-4D2A-9C11-2E6B7A9D1F01";
    Mock::given(method("DELETE"))
        .and(path(format!("/api/api-keys/{key}")))
        .and(header("Authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let mut revoked = fixture("api-keys.json")[0].clone();
    revoked["status"] = json!("revoked");
    serve(&server, &format!("/api-keys/{key}"), revoked).await;
    let session = "2DCD9EC6-0C09-4304-9F46-60B7FFB51318";
    Mock::given(method("POST"))
        .and(path(format!("/api/sessions/{session}/kill")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let mut done = fixture("sessions.page-1.json")["data"][1].clone();
    done["status"] = json!("done");
    serve(&server, &format!("/sessions/{session}"), done).await;
    let review = "9F9745B4-C77B-4D52-84D3-E24F67E3623C";
    let mut gone = fixture("sessions.page-1.json")["data"][1]["review"].clone();
    gone["status"] = json!("REVOKED");
    Mock::given(method("PUT"))
        .and(path(format!("/api/reviews/{review}")))
        .and(body_partial_json(json!({"status": "REVOKED"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(gone.clone()))
        .expect(1)
        .mount(&server)
        .await;
    serve(&server, &format!("/reviews/{review}"), gone).await;
    let h = hoop(&server.uri());
    for id in [
        format!("api-key:{key}"),
        format!("session:{session}"),
        format!("review:{review}"),
    ] {
        let target = RevokeTarget::Credential {
            kind: CredentialKind::ApiKey,
            external_id: id.clone(),
        };
        let receipt = h.revoke(&target).await.unwrap();
        assert!(!receipt.action.is_empty());
        let proof = h.verify_revoked(&target).await.unwrap();
        assert!(proof.dead, "{id}: {}", proof.evidence);
    }
}

#[tokio::test]
async fn deactivating_a_user_sends_the_record_back_inactive() {
    let server = MockServer::start().await;
    let user = fixture("users.json")[1].clone();
    let id = user["id"].as_str().unwrap().to_string();
    serve(&server, &format!("/users/{id}"), user.clone()).await;
    let mut inactive = user.clone();
    inactive["status"] = json!("inactive");
    // hoop's PUT replaces the record: the groups and role must go back as they were.
    Mock::given(method("PUT"))
        .and(path(format!("/api/users/{id}")))
        .and(body_partial_json(
            json!({"status": "inactive", "groups": ["developers"], "role": "standard"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(inactive))
        .expect(1)
        .mount(&server)
        .await;
    let target = RevokeTarget::Login { principal: id };
    hoop(&server.uri()).revoke(&target).await.unwrap();
    // Verification reads hoop's answer, which (this mock's GET) still says active: not dead.
    let proof = hoop(&server.uri()).verify_revoked(&target).await.unwrap();
    assert!(!proof.dead, "{}", proof.evidence);
}

#[tokio::test]
async fn error_statuses_keep_their_codes_and_redirects_carry_no_key() {
    for (status, code) in [
        (401, ErrorCode::Unauthorized),
        (403, ErrorCode::Forbidden),
        (500, ErrorCode::BackendError),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/userinfo"))
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({"message": "no"})))
            .mount(&server)
            .await;
        let err = hoop(&server.uri()).check().await.unwrap_err();
        assert_eq!(err.code(), code, "{status}: {err}");
    }
    let elsewhere = MockServer::start().await;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/userinfo"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("Location", format!("{}/api/userinfo", elsewhere.uri())),
        )
        .mount(&server)
        .await;
    let err = hoop(&server.uri()).check().await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Redirected, "{err}");
    let asked = elsewhere.received_requests().await.unwrap_or_default();
    assert!(asked.is_empty(), "the key went to another origin");
}

#[tokio::test]
async fn removing_a_membership_puts_the_record_back_without_the_group() {
    let server = MockServer::start().await;
    let john = fixture("users.json")[0].clone();
    let id = john["id"].as_str().unwrap().to_string();
    // The first read (the revocation's) sees both groups; later ones what hoop kept.
    Mock::given(method("GET"))
        .and(path(format!("/api/users/{id}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(john.clone()))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let mut kept = john.clone();
    kept["groups"] = json!(["sre"]);
    serve(&server, &format!("/users/{id}"), kept.clone()).await;
    Mock::given(method("PUT"))
        .and(path(format!("/api/users/{id}")))
        .and(body_partial_json(
            json!({"groups": ["sre"], "status": "active", "email": "john.wick@bad.org"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(kept))
        .expect(1)
        .mount(&server)
        .await;
    let target = RevokeTarget::Grant(portcullis_model::Grant {
        from_kind: NodeKind::Principal,
        from_id: id,
        to_kind: NodeKind::Role,
        to_id: "dba".into(),
    });
    let h = hoop(&server.uri());
    let receipt = h.revoke(&target).await.unwrap();
    assert!(
        receipt.action.contains("without group dba"),
        "{}",
        receipt.action
    );
    let proof = h.verify_revoked(&target).await.unwrap();
    assert!(proof.dead, "{}", proof.evidence);
    // A connection's access control and the everyone role are not memberships.
    let everyone = RevokeTarget::Grant(portcullis_model::Grant {
        from_kind: NodeKind::Principal,
        from_id: "x".into(),
        to_kind: NodeKind::Role,
        to_id: portcullis_model::HOOP_EVERYONE.into(),
    });
    assert_eq!(
        h.revoke(&everyone).await.unwrap_err().code(),
        ErrorCode::Unsupported
    );
}
