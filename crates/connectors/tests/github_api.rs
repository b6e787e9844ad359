//! Contract tests of the GitHub connector against the REST API endpoints it uses.
//!
//! GitHub cannot run on our machines: a local mock HTTP server (wiremock) serves the example
//! responses of GitHub's published REST API description (`tests/fixtures/github/`, see
//! `PROVENANCE.md`). Where a test needs more than an example holds (a second page, a second
//! member, an empty listing after a revocation) it says what it serves instead. Each test pins
//! the method, path, query, the headers GitHub documents (`Authorization: Bearer`,
//! `X-GitHub-Api-Version`, `Accept`), paging by `Link` to the last page, the mapping of error
//! statuses to error codes, and that a next page on another origin never receives the token.

use portcullis_connectors::github::GitHub;
use portcullis_connectors::{BackendConfig, Connector, RevokeTarget, VecAuditSink};
use portcullis_model::{
    Action, BackendKind, CredentialKind, CredentialStatus, ErrorCode, PrincipalKind,
};
use secrecy::SecretString;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "ghs_tokenfortestsonly";
const ORG: &str = "octo-org";

fn fixture(name: &str) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/github")
        .join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

fn github(uri: &str) -> GitHub {
    GitHub::new(BackendConfig {
        name: "gh".into(),
        kind: BackendKind::GitHub,
        url: format!("{uri}/orgs/{ORG}"),
        secret: Some(SecretString::from(TOKEN.to_string())),
        timeout: Duration::from_secs(5),
        audit_log: None,
    })
    .unwrap()
}

/// A GET of `/orgs/octo-org{p}` with the documented headers.
fn get(p: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path(format!("/orgs/{ORG}{p}")))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("x-github-api-version", "2022-11-28"))
        .and(header("accept", "application/vnd.github+json"))
}

/// A listing answered in one page (per_page=100).
async fn one_page(server: &MockServer, p: &str, body: Value) {
    get(p)
        .and(query_param("per_page", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(server)
        .await;
}

/// The documented octocat member, renamed: the description's members example has one member.
fn second_member() -> Value {
    let mut u = fixture("members.simple-user-items.json")[0].clone();
    u["login"] = json!("hubot");
    u["id"] = json!(2);
    u["type"] = json!("Bot");
    u
}

async fn mount_inventory(server: &MockServer) {
    let members = fixture("members.simple-user-items.json");
    // Two pages of members: the connector must follow Link rel="next" to the last one.
    let next = format!(
        "<{}/orgs/{ORG}/members?role=all&per_page=100&page=2>; rel=\"next\", <{}/orgs/{ORG}/members?role=all&per_page=100&page=2>; rel=\"last\"",
        server.uri(),
        server.uri()
    );
    get("/members")
        .and(query_param("role", "all"))
        .and(query_param_is_missing("page"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", next.as_str())
                .set_body_json(members.clone()),
        )
        .expect(1)
        .mount(server)
        .await;
    get("/members")
        .and(query_param("role", "all"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([second_member()])))
        .expect(1)
        .mount(server)
        .await;
    get("/members")
        .and(query_param("role", "admin"))
        .respond_with(ResponseTemplate::new(200).set_body_json(members))
        .expect(1)
        .mount(server)
        .await;
    let grants = fixture("personal-access-tokens.list-pat-grants.json");
    one_page(server, "/personal-access-tokens", grants).await;
    let requests = fixture("personal-access-token-requests.list-pat-grant-requests.json");
    one_page(server, "/personal-access-token-requests", requests).await;
    let auths = fixture("credential-authorizations.list-saml-sso-authorizations.json");
    one_page(server, "/credential-authorizations", auths).await;
    let installations = fixture("installations.list-app-installations.json");
    one_page(server, "/installations", installations).await;
}

#[tokio::test]
async fn inventory_reads_every_page_and_maps_the_documented_payloads() {
    let server = MockServer::start().await;
    mount_inventory(&server).await;
    let inv = github(&server.uri()).inventory(&|_| {}).await.unwrap();

    let p = |id: &str| inv.principals.iter().find(|p| p.external_id == id).unwrap();
    assert_eq!(p("octocat").kind, PrincipalKind::User);
    assert_eq!(p("hubot").kind, PrincipalKind::Service, "type Bot");
    assert_eq!(p("octocat").attrs["org_owner"], true);
    // The pending request is shown on its owner, and is no credential.
    assert_eq!(p("octocat").attrs["pat_requests"][0]["id"], 25381);
    assert_eq!(
        p("octocat").attrs["pat_requests"][0]["token_name"],
        "Some Token"
    );
    let held = |from: &str| -> Vec<&str> {
        inv.grants
            .iter()
            .filter(|g| g.from_id == from)
            .map(|g| g.to_id.as_str())
            .collect()
    };
    assert_eq!(held("octocat"), ["org:octo-org:admin"]);
    assert_eq!(held("hubot"), ["org:octo-org:member"]);

    let grant = inv
        .credentials
        .iter()
        .find(|c| c.external_id == "pat-grant:25381")
        .unwrap();
    assert_eq!(grant.kind, CredentialKind::Pat);
    assert_eq!(grant.principal_external_id.as_deref(), Some("octocat"));
    assert_eq!(
        grant.scopes,
        ["organization:members:read", "repository:metadata:read"]
    );
    assert_eq!(grant.status, CredentialStatus::Expired, "expired in 2023");
    assert_eq!(grant.last_used_at, None);
    assert_eq!(grant.attrs["token_id"], 98716);
    assert_eq!(
        grant.expires_at.map(|t| t.to_rfc3339()).as_deref(),
        Some("2023-11-16T15:47:09+00:00")
    );

    let sso: Vec<_> = inv
        .credentials
        .iter()
        .filter(|c| c.external_id.starts_with("sso:"))
        .collect();
    assert_eq!(sso.len(), 5);
    let first = sso.iter().find(|c| c.external_id == "sso:161195").unwrap();
    assert_eq!(first.scopes, ["user", "repo"]);
    assert!(first.last_used_at.is_some());
    let key = sso.iter().find(|c| c.external_id == "sso:161199").unwrap();
    assert_eq!(key.kind, CredentialKind::ApiKey, "an SSH key");
    assert_eq!(key.attrs["name"], "my ssh key");
    // The token's last eight characters are part of its value: never kept.
    let all = serde_json::to_string(&inv.credentials).unwrap();
    assert!(!all.contains("71c3fc11"), "{all}");

    let app = p("installation:25381");
    assert_eq!((app.kind, app.enabled), (PrincipalKind::Service, true));
    assert_eq!(app.name, "github-actions");
    let perm = inv
        .permissions
        .iter()
        .find(|p| p.external_id == "octo-org:app:deployments:write")
        .unwrap();
    assert_eq!(perm.action, Action::Write);
    assert_eq!(
        perm.raw["inherited"], false,
        "repository_selection selected"
    );
}

#[tokio::test]
async fn a_next_page_on_another_origin_is_refused_and_never_sees_the_token() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    let next = format!(
        "<{}/orgs/{ORG}/members?page=2>; rel=\"next\"",
        elsewhere.uri()
    );
    get("/members")
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", next.as_str())
                .set_body_json(fixture("members.simple-user-items.json")),
        )
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let err = github(&server.uri()).inventory(&|_| {}).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Redirected, "{err}");
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_not_followed() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    get("")
        .respond_with(ResponseTemplate::new(301).insert_header(
            "location",
            format!("{}/orgs/{ORG}", elsewhere.uri()).as_str(),
        ))
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"login": ORG})))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let err = github(&server.uri()).check().await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Redirected, "{err}");
}

#[tokio::test]
async fn check_names_each_right_it_could_probe() {
    let server = MockServer::start().await;
    get("")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"login": ORG})))
        .expect(1)
        .mount(&server)
        .await;
    for (p, status) in [
        ("/members", 200),
        ("/personal-access-tokens", 200),
        ("/installations", 403),
        ("/credential-authorizations", 404),
        ("/audit-log", 404),
    ] {
        get(p)
            .and(query_param("per_page", "1"))
            .respond_with(ResponseTemplate::new(status).set_body_json(json!([])))
            .expect(1)
            .mount(&server)
            .await;
    }
    let report = github(&server.uri()).check().await.unwrap();
    assert_eq!(report.identity.as_deref(), Some("organisation octo-org"));
    let granted: Vec<(bool, bool)> = report
        .rights
        .iter()
        .map(|r| (r.granted, r.optional))
        .collect();
    assert_eq!(
        granted,
        [
            (true, false),
            (true, false),
            (false, true),
            (false, true),
            (false, true),
            (false, true)
        ]
    );
    assert_eq!(report.rights.len(), portcullis_model::GITHUB_RIGHTS.len());
}

#[tokio::test]
async fn audit_log_maps_resumes_after_the_newest_and_a_missing_api_is_no_error() {
    let server = MockServer::start().await;
    get("/audit-log")
        .and(query_param("include", "all"))
        .and(query_param("order", "asc"))
        .and(query_param_is_missing("phrase"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("audit-log.get-audit-log.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut sink = VecAuditSink::default();
    let cursor = github(&server.uri())
        .audit(None, &mut sink)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sink.events.len(), 3);
    let first = &sink.events[0];
    assert_eq!(
        first.dedup_key, "github-audit:LwW2vpJZCDS-WUmo9Z-ifw",
        "oldest first"
    );
    assert_eq!(first.actor.as_deref(), Some("monalisa"));
    assert_eq!(first.resource.as_deref(), Some("mona-org/mona-test-repo"));
    assert_eq!(first.action, "repo.destroy");
    assert!(cursor.starts_with("2020-12-02T17:24:34.512"), "{cursor}");

    // The next sync asks only for newer entries; an organisation without the API answers 404.
    let free = MockServer::start().await;
    get("/audit-log")
        .and(query_param("phrase", "created:>=2020-12-02T17:24:34Z"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .expect(1)
        .mount(&free)
        .await;
    let mut sink = VecAuditSink::default();
    let again = github(&free.uri())
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
async fn revoking_a_pat_grant_posts_the_bulk_revoke_and_verification_rereads_the_listing() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/orgs/{ORG}/personal-access-tokens")))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("x-github-api-version", "2022-11-28"))
        .and(body_json(json!({"action": "revoke", "pat_ids": [25381]})))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    // After the revocation the listing no longer names the grant.
    one_page(&server, "/personal-access-tokens", json!([])).await;
    let gh = github(&server.uri());
    let target = RevokeTarget::Credential {
        kind: CredentialKind::Pat,
        external_id: "pat-grant:25381".into(),
    };
    let receipt = gh.revoke(&target).await.unwrap();
    assert!(receipt
        .action
        .contains("POST /orgs/octo-org/personal-access-tokens"));
    assert!(receipt.caveats.iter().any(|c| c.contains("lives on")));
    let v = gh.verify_revoked(&target).await.unwrap();
    assert!(v.dead, "{}", v.evidence);

    // A grant still listed is not dead.
    let live = MockServer::start().await;
    one_page(
        &live,
        "/personal-access-tokens",
        fixture("personal-access-tokens.list-pat-grants.json"),
    )
    .await;
    let v = github(&live.uri()).verify_revoked(&target).await.unwrap();
    assert!(!v.dead, "{}", v.evidence);
}

#[tokio::test]
async fn removing_an_sso_authorization_deletes_it_and_verification_rereads_the_listing() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(format!(
            "/orgs/{ORG}/credential-authorizations/161195"
        )))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let mut left = fixture("credential-authorizations.list-saml-sso-authorizations.json");
    left.as_array_mut().unwrap().remove(0);
    one_page(&server, "/credential-authorizations", left).await;
    let gh = github(&server.uri());
    let target = RevokeTarget::Credential {
        kind: CredentialKind::Pat,
        external_id: "sso:161195".into(),
    };
    let receipt = gh.revoke(&target).await.unwrap();
    assert_eq!(
        receipt.action,
        "DELETE /orgs/octo-org/credential-authorizations/161195"
    );
    assert!(gh.verify_revoked(&target).await.unwrap().dead);

    // Anything but a grant or an authorization is refused before a request is sent.
    for t in [
        RevokeTarget::Login {
            principal: "octocat".into(),
        },
        RevokeTarget::Credential {
            kind: CredentialKind::Pat,
            external_id: "25381".into(),
        },
    ] {
        let err = gh.revoke(&t).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::Unsupported, "{err}");
    }
}

#[tokio::test]
async fn error_statuses_keep_their_codes_and_a_looping_listing_is_refused() {
    for (status, code) in [
        (401, ErrorCode::Unauthorized),
        (403, ErrorCode::Forbidden),
        (404, ErrorCode::NotFound),
        (500, ErrorCode::BackendError),
    ] {
        let server = MockServer::start().await;
        get("")
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({"message": "no"})))
            .mount(&server)
            .await;
        let err = github(&server.uri()).check().await.unwrap_err();
        assert_eq!(err.code(), code, "{status}: {err}");
    }
    // Members refused: the inventory cannot be made, and says so with the code.
    let server = MockServer::start().await;
    get("/members")
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"message": "no"})))
        .mount(&server)
        .await;
    let err = github(&server.uri()).inventory(&|_| {}).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Forbidden, "{err}");
    // A server whose pages lead back to one read before would make the listing loop: page 2
    // names page 1 as next.
    let server = MockServer::start().await;
    let first = format!("{}/orgs/{ORG}/members?role=all&per_page=100", server.uri());
    let second = format!("{first}&page=2");
    get("/members")
        .and(query_param_is_missing("page"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", format!("<{second}>; rel=\"next\"").as_str())
                .set_body_json(fixture("members.simple-user-items.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    get("/members")
        .and(query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", format!("<{first}>; rel=\"next\"").as_str())
                .set_body_json(json!([second_member()])),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = github(&server.uri()).inventory(&|_| {}).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Malformed, "{err}");
}
